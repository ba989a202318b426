//! Client mode: the driver runs on the submitting machine, the executors in YARN containers
//! (spark-submit's `--deploy-mode client`).
//!
//! `ember submit` starts the driver as a child process, told to write where it serves
//! executors; then submits an ApplicationMaster that only starts executors for that address,
//! and follows both. The driver's exit status is the command's. When the driver ends, the
//! ApplicationMaster sees it gone and ends the application; should it not within a while, the
//! client kills the application. Interrupting the client stops both.

use crate::client::YarnClient;
use crate::driver_file::{wait_for_address, DRIVER_FILE_ENV};
use crate::error::{Error, Result};
use crate::proto::YarnApplicationState as State;
use crate::records::ApplicationId;
use crate::submit::{connect, print_report, submit, DriverPlace, Outcome, Submission};
use ember_core::conf::SUBMIT_CONF_ENV;
use std::process::ExitStatus;
use std::time::Duration;

/// How long the ApplicationMaster gets to end the application after the driver ended.
const WIND_DOWN: Duration = Duration::from_secs(30);

/// How a client-mode run ended.
#[derive(Debug)]
pub struct ClientOutcome {
    /// The driver's exit status.
    pub driver: ExitStatus,
    /// How the application ended, if it was submitted.
    pub application: Option<Outcome>,
}

/// Runs `submission`'s driver here and its executors on YARN.
///
/// # Errors
/// Bad settings, the driver cannot start, YARN or HDFS refused, the application ended while
/// the driver ran, or the client was interrupted.
pub fn run(submission: &Submission) -> Result<ClientOutcome> {
    ember_hadoop::io_runtime()?.block_on(run_async(submission))
}

async fn run_async(submission: &Submission) -> Result<ClientOutcome> {
    let (conf, hadoop, client) = connect(submission)?;
    // The application's id first, so that the driver knows it from its start.
    let app = client.new_application().await?;
    let submission = &submission.for_application(app.id);
    let scratch = Scratch::new()?;
    let address_file = scratch.0.join("driver.address");
    let settings: String = submission
        .settings
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    let mut driver = tokio::process::Command::new(&submission.app_binary)
        .args(&submission.driver_args)
        .env(SUBMIT_CONF_ENV, settings)
        .env(DRIVER_FILE_ENV, &address_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Error::Failed(format!(
                "cannot start the driver {}: {e}",
                submission.app_binary.display()
            ))
        })?;
    let address = tokio::select! {
        status = driver.wait() => {
            let status = status.map_err(|e| Error::Failed(format!("lost the driver: {e}")))?;
            return Ok(ClientOutcome { driver: status, application: None });
        }
        address = wait_for_address(&address_file) => address?,
    };
    let with_address = Submission {
        driver: DriverPlace::Client { address },
        ..submission.clone()
    };
    let (id, staging) = submit(app, &with_address, &conf, &hadoop, &client).await?;
    let ended = follow(&client, id, &mut driver).await;
    let ended = match ended {
        Ok(status) => wind_down(&client, id).await.map(|outcome| ClientOutcome {
            driver: status,
            application: Some(outcome),
        }),
        Err(e) => {
            let _ = driver.kill().await;
            let _ = client.kill(id, "the client stopped").await;
            Err(e)
        }
    };
    if staging.exists().await {
        let _ = staging.delete().await;
    }
    ended
}

/// Reports the application's state until the driver ends; its exit status.
async fn follow(
    client: &YarnClient,
    id: ApplicationId,
    driver: &mut tokio::process::Child,
) -> Result<ExitStatus> {
    let mut last = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            status = driver.wait() => {
                return status.map_err(|e| Error::Failed(format!("lost the driver: {e}")));
            }
            _ = &mut interrupted => {
                return Err(Error::Failed(format!("interrupted: stopped the driver and {id}")));
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                let report = client.report(id).await?;
                let state = report.yarn_application_state();
                if last != Some(state) {
                    print_report(id, &report);
                    last = Some(state);
                }
                if is_final(state) {
                    return Err(Error::Failed(format!(
                        "{id} ended {} while the driver ran: {}",
                        state.as_str_name(),
                        report.diagnostics()
                    )));
                }
            }
        }
    }
}

/// After the driver ended: waits for the ApplicationMaster to end the application, and kills
/// it if it does not.
async fn wind_down(client: &YarnClient, id: ApplicationId) -> Result<Outcome> {
    let deadline = tokio::time::Instant::now() + WIND_DOWN;
    loop {
        let report = client.report(id).await?;
        let state = report.yarn_application_state();
        if is_final(state) {
            print_report(id, &report);
            return Ok(Outcome {
                id,
                state,
                final_status: report.final_application_status(),
                diagnostics: report.diagnostics().to_string(),
            });
        }
        if tokio::time::Instant::now() > deadline {
            client.kill(id, "the driver ended").await?;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn is_final(state: State) -> bool {
    matches!(state, State::Finished | State::Failed | State::Killed)
}

/// A private directory for the driver's address, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "ember-driver-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).map_err(|e| Error::Staging {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
