//! `ember submit --master yarn --deploy-mode cluster`, `ember status` and `ember kill`.

use crate::args::CliError;
use ember_yarn::submit::{submit_and_wait, DriverPlace, Submission};
use ember_yarn::{ApplicationId, YarnClient};
use std::path::PathBuf;
use std::process::ExitCode;

impl From<ember_yarn::Error> for CliError {
    fn from(e: ember_yarn::Error) -> Self {
        match e {
            ember_yarn::Error::Usage(m) => CliError::Usage(m),
            other => CliError::Failed(other.to_string()),
        }
    }
}

pub use ember_yarn::driver_file::is_yarn_driver;

/// What `ember submit` hands to YARN: `app` (an application binary, or `None` for a
/// built-in example run by this binary) with the driver's arguments.
pub fn submission(
    app: Option<PathBuf>,
    driver_args: Vec<String>,
    settings: &[(String, String)],
    driver: DriverPlace,
) -> Result<Submission, CliError> {
    let ember = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the ember binary: {e}")))?;
    Ok(Submission {
        app_binary: app.unwrap_or_else(|| ember.clone()),
        ember_binary: ember,
        driver_args,
        settings: settings.to_vec(),
        driver,
    })
}

/// Runs `submission` with its driver in the cluster, and waits for its end: exit status 0
/// only if it FINISHED with SUCCEEDED.
pub fn submit_cluster(submission: &Submission) -> Result<ExitCode, CliError> {
    let outcome = submit_and_wait(submission)?;
    if outcome.succeeded() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::Failed(format!(
        "application {} ended {} ({}): {}",
        outcome.id,
        outcome.state.as_str_name(),
        outcome
            .final_status
            .as_str_name()
            .trim_start_matches("APP_"),
        outcome.diagnostics
    )))
}

/// Runs `submission`'s driver here and its executors on YARN: the driver's exit status.
pub fn submit_client(submission: &Submission) -> Result<ExitCode, CliError> {
    let outcome = ember_yarn::client_mode::run(submission)?;
    if let Some(app) = &outcome.application {
        if !app.succeeded() {
            eprintln!(
                "ember: application {} ended {}: {}",
                app.id,
                app.state.as_str_name(),
                app.diagnostics
            );
        }
    }
    Ok(match outcome.driver.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// The application's client, its id, and the process's I/O runtime to run calls on.
fn client_and_id(
    app_id: &str,
) -> Result<(YarnClient, ApplicationId, &'static tokio::runtime::Runtime), CliError> {
    let id: ApplicationId = app_id.parse()?;
    let conf = ember_hadoop::HadoopConf::from_env().map_err(|e| CliError::Failed(e.to_string()))?;
    let client = YarnClient::new(&conf)?;
    let runtime = ember_hadoop::io_runtime().map_err(|e| CliError::Failed(e.to_string()))?;
    Ok((client, id, runtime))
}

/// `ember status <appId>`: prints the application's state; exit status 0.
pub fn status(app_id: &str) -> Result<ExitCode, CliError> {
    let (client, id, runtime) = client_and_id(app_id)?;
    let report = runtime.block_on(client.report(id))?;
    println!(
        "{id}\t{}\t{}\t{}",
        report.yarn_application_state().as_str_name(),
        report
            .final_application_status()
            .as_str_name()
            .trim_start_matches("APP_"),
        report.diagnostics()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ember kill <appId>`: kills the application and waits until YARN has.
pub fn kill(app_id: &str) -> Result<ExitCode, CliError> {
    let (client, id, runtime) = client_and_id(app_id)?;
    runtime.block_on(async {
        while !client.kill(id, "killed by ember kill").await? {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok::<_, ember_yarn::Error>(())
    })?;
    eprintln!("killed {id}");
    Ok(ExitCode::SUCCESS)
}
