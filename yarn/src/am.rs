//! The ApplicationMaster: the first container of an ember application on YARN (Spark's
//! `ApplicationMaster`).
//!
//! YARN starts it as `__ember__ application-master -- <driver command>` in a container holding
//! the application binary, the `ember` binary and the settings file. It
//!
//! 1. registers with the ResourceManager's scheduler, authenticated by the AMRMToken YARN put
//!    in the container's token file;
//! 2. in cluster mode starts the driver, the application itself, as a child process in its own
//!    container, and waits for it to say where executors reach it (client mode: the driver's
//!    address comes from `ember submit`, and the application ends when the driver stops
//!    answering there);
//! 3. heartbeats `allocate`, starting `ember.executor.instances` executors in the containers it
//!    is granted, and replacing those that end, until `ember.executor.maxFailures` is reached;
//! 4. when the driver ends, unregisters with SUCCEEDED or FAILED and the reason. A failed
//!    attempt that is not the last one ends without unregistering, so that YARN tries again.

use crate::allocator::{Allocator, ExecutorTemplate};
use crate::driver_file::{wait_for_address, DRIVER_FILE_ENV};
use crate::error::{Error, Result};
use crate::launch::ExecutorMemory;
use crate::proto;
use crate::records::ContainerId;
use crate::staging::Staging;
use ember_core::conf::keys;
use ember_core::EmberConf;
use ember_hadoop::ipc::{Auth, Protection, RpcClient};
use ember_hadoop::tokens::Credentials;
use ember_hadoop::HadoopConf;
use std::time::Duration;

const PROTOCOL: &str = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB";
/// The kind of the token that admits an ApplicationMaster to the scheduler.
const AMRM_TOKEN_KIND: &str = "YARN_AM_RM_TOKEN";
/// Set by `ember submit`: the ResourceManager's scheduler address (YARN does not tell
/// containers).
pub const SCHEDULER_ENV: &str = "EMBER_YARN_SCHEDULER";
/// Set by `ember submit`: the application's staging directory.
pub const STAGING_ENV: &str = "EMBER_YARN_STAGING_DIR";
/// Set by `ember submit`: the staged name of the application binary.
pub const APP_BINARY_ENV: &str = "EMBER_YARN_APP_BINARY";
/// Set by `ember submit`: the staged names of `--files`, comma-separated.
pub const FILES_ENV: &str = "EMBER_YARN_FILES";
/// Where the driver writes its address, in the container's working directory.
const DRIVER_FILE: &str = "driver.address";

/// The exit status of an attempt that failed.
pub const EXIT_FAILED: i32 = 1;

/// Where the application's driver is.
#[derive(Debug, Clone)]
pub enum Driver {
    /// Cluster mode: the command that starts it, here.
    Command(Vec<String>),
    /// Client mode: the address where it serves executors, outside the cluster.
    Remote(String),
}

/// Runs the ApplicationMaster of this container for `driver`; returns the process's exit
/// status.
pub fn run(driver: Driver) -> i32 {
    // The whole ApplicationMaster is I/O (the ResourceManager, NodeManagers, HDFS, the
    // driver's RPC): it runs on the process's one I/O runtime, from this thread.
    let runtime = match ember_hadoop::io_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ApplicationMaster: {e}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(ApplicationMaster::start()) {
        Ok(am) => runtime.block_on(am.run(driver)),
        Err(e) => {
            eprintln!("ApplicationMaster: {e}");
            EXIT_FAILED
        }
    }
}

/// An attempt's settings and its connection to the scheduler.
struct ApplicationMaster {
    conf: EmberConf,
    hadoop: HadoopConf,
    container: ContainerId,
    host: String,
    rm: RpcClient,
    last_attempt: bool,
}

impl ApplicationMaster {
    /// Reads this container's environment and registers with the scheduler.
    async fn start() -> Result<Self> {
        let conf = EmberConf::new().map_err(|e| Error::Environment(e.to_string()))?;
        let hadoop = HadoopConf::from_env()?.with_overrides(conf.iter());
        let container: ContainerId = env("CONTAINER_ID")?.parse()?;
        let host = env("NM_HOST")?;
        let credentials = Credentials::from_env()?
            .ok_or_else(|| Error::Environment("YARN gave this container no token file".into()))?;
        let token = credentials
            .token_of_kind(AMRM_TOKEN_KIND)
            .cloned()
            .ok_or_else(|| {
                Error::Environment(format!("the container's tokens hold no {AMRM_TOKEN_KIND}"))
            })?;
        let rm = RpcClient::new(&env(SCHEDULER_ENV)?, PROTOCOL, Auth::Token(token))
            .with_protection(Protection::of(&hadoop)?);
        let max_attempts = match conf.get(&crate::keys::MAX_APP_ATTEMPTS) {
            Ok(Some(n)) => n,
            _ => hadoop
                .get("yarn.resourcemanager.am.max-attempts")
                .and_then(|n| n.parse().ok())
                .unwrap_or(2),
        };
        let am = ApplicationMaster {
            last_attempt: container.attempt as usize >= max_attempts,
            conf,
            hadoop,
            container,
            host,
            rm,
        };
        am.register().await?;
        Ok(am)
    }

    async fn register(&self) -> Result<()> {
        let request = proto::RegisterApplicationMasterRequest {
            host: Some(self.host.clone()),
            rpc_port: Some(-1),
            tracking_url: Some(String::new()),
        };
        let _: proto::RegisterApplicationMasterResponse =
            self.rm.call("registerApplicationMaster", &request).await?;
        tracing::info!(
            "ApplicationMaster of {} registered from {}",
            self.container.application,
            self.host
        );
        Ok(())
    }

    /// Runs the attempt to its end; the process's exit status.
    async fn run(self, driver: Driver) -> i32 {
        let outcome = self.supervise(driver).await;
        let (status, diagnostics) = match &outcome {
            Ok(()) => (proto::FinalApplicationStatus::AppSucceeded, String::new()),
            Err(e) => (proto::FinalApplicationStatus::AppFailed, e.to_string()),
        };
        if outcome.is_err() && !self.last_attempt {
            eprintln!("ApplicationMaster: {diagnostics}; YARN will try again");
            return EXIT_FAILED;
        }
        if let Err(e) = self.unregister(status, &diagnostics).await {
            eprintln!("ApplicationMaster: cannot unregister: {e}");
            return EXIT_FAILED;
        }
        self.remove_staging().await;
        if outcome.is_ok() {
            0
        } else {
            eprintln!("ApplicationMaster: {diagnostics}");
            EXIT_FAILED
        }
    }

    /// Keeps the driver in executors until it ends.
    async fn supervise(&self, driver: Driver) -> Result<()> {
        match driver {
            Driver::Command(command) => self.run_driver(command).await,
            Driver::Remote(address) => {
                let gone = driver_gone(address.clone());
                self.keep_executors(address, gone).await
            }
        }
    }

    /// Cluster mode: starts the driver as a child and runs until it exits.
    async fn run_driver(&self, command: Vec<String>) -> Result<()> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| Error::Usage("the ApplicationMaster needs a driver command".into()))?;
        let _ = std::fs::remove_file(DRIVER_FILE);
        let mut driver = tokio::process::Command::new(program)
            .args(args)
            .env(DRIVER_FILE_ENV, DRIVER_FILE)
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Failed(format!("cannot start the driver {program}: {e}")))?;
        let last_words = DriverStderr::follow(driver.stderr.take());
        let address = tokio::select! {
            status = driver.wait() => return Err(last_words.ended(status).await),
            address = wait_for_address(std::path::Path::new(DRIVER_FILE)) => address?,
        };
        let ended = async move {
            match driver.wait().await {
                Ok(s) if s.success() => Ok(()),
                other => Err(last_words.ended(other).await),
            }
        };
        self.keep_executors(address, ended).await
    }

    /// Heartbeats the scheduler, starting and replacing executors for the driver at `address`,
    /// until `ended` says how the driver ended.
    async fn keep_executors(
        &self,
        address: String,
        ended: impl std::future::Future<Output = Result<()>>,
    ) -> Result<()> {
        tracing::info!("the driver serves executors at {address}");
        let mut allocator = Allocator::new(
            self.executor_template(address).await?,
            self.conf
                .require(&keys::EXECUTOR_INSTANCES)
                .map_err(|e| Error::Usage(e.to_string()))?,
            self.max_executor_failures(),
            ember_hadoop::RackResolver::new(&self.hadoop),
            Protection::of(&self.hadoop)?,
        );
        tokio::pin!(ended);
        let mut backoff = 200;
        loop {
            let pause = allocator.interval(&mut backoff);
            tokio::select! {
                outcome = &mut ended => return outcome,
                _ = tokio::time::sleep(pause) => allocator.heartbeat(&self.rm, 0.5).await?,
            }
        }
    }

    async fn executor_template(&self, driver_address: String) -> Result<ExecutorTemplate> {
        let staging = Staging::open(&self.hadoop, &env(STAGING_ENV)?)?;
        let memory = ExecutorMemory::of(&self.conf)?;
        let environment = ["EMBER_LOG", "RUST_BACKTRACE"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        let mut files = Vec::new();
        for name in env(FILES_ENV)?.split(',').filter(|n| !n.is_empty()) {
            files.push((name.to_string(), staging.resource_of(name).await?));
        }
        Ok(ExecutorTemplate {
            driver_address,
            binary: staging.resource_of(&env(APP_BINARY_ENV)?).await?,
            files,
            cores: self
                .conf
                .require(&keys::EXECUTOR_CORES)
                .map_err(|e| Error::Usage(e.to_string()))?,
            container_mib: memory.container_mib,
            environment,
        })
    }

    /// `ember.executor.maxFailures`, by default twice the executors and at least 3.
    fn max_executor_failures(&self) -> usize {
        let executors = self.conf.require(&keys::EXECUTOR_INSTANCES).unwrap_or(2);
        match self.conf.get(&crate::keys::EXECUTOR_MAX_FAILURES) {
            Ok(Some(n)) => n,
            _ => (2 * executors).max(3),
        }
    }

    async fn unregister(
        &self,
        status: proto::FinalApplicationStatus,
        diagnostics: &str,
    ) -> Result<()> {
        let request = proto::FinishApplicationMasterRequest {
            diagnostics: Some(diagnostics.to_string()),
            tracking_url: None,
            final_application_status: Some(status as i32),
        };
        // The ResourceManager says so once the final state is stored.
        loop {
            let answer: proto::FinishApplicationMasterResponse =
                self.rm.call("finishApplicationMaster", &request).await?;
            if answer.is_unregistered() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn remove_staging(&self) {
        let removed = match env(STAGING_ENV) {
            Ok(dir) => match Staging::open(&self.hadoop, &dir) {
                Ok(staging) => staging.delete().await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            tracing::warn!("cannot remove the staging directory: {e}");
        }
    }
}

/// Client mode: resolves when the driver no longer answers at `address` (three tries a
/// second apart). A driver that went away ended the application: as in Spark, with success,
/// since how its job went is the client's to report.
async fn driver_gone(address: String) -> Result<()> {
    let mut misses = 0;
    while misses < 3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match tokio::net::TcpStream::connect(&address).await {
            Ok(_) => misses = 0,
            Err(_) => misses += 1,
        }
    }
    tracing::info!("the driver at {address} is gone; the application ends");
    Ok(())
}

/// The driver's stderr, passed on to the container's and kept in part: its last lines say
/// why a failed driver failed, and become the application's diagnostics.
struct DriverStderr {
    lines: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    done: tokio::task::JoinHandle<()>,
}

impl DriverStderr {
    /// Lines kept.
    const KEEP: usize = 20;

    fn follow(stderr: Option<tokio::process::ChildStderr>) -> Self {
        use tokio::io::AsyncBufReadExt;
        let lines = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let kept = lines.clone();
        let done = tokio::spawn(async move {
            let Some(stderr) = stderr else { return };
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                eprintln!("{line}");
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == Self::KEEP {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        DriverStderr { lines, done }
    }

    /// Why the driver ended as it did, with its last words.
    async fn ended(self, status: std::io::Result<std::process::ExitStatus>) -> Error {
        // Everything it wrote before it ended.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.done).await;
        let last: Vec<String> = self
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|l| !l.trim().is_empty())
            .cloned()
            .collect();
        let status = match status {
            Ok(status) => status.to_string(),
            Err(e) => format!("an unknown status ({e})"),
        };
        Error::Failed(format!(
            "the driver ended with {status}; its last messages:\n{}",
            last.join("\n")
        ))
    }
}

/// A variable YARN or `ember submit` sets in the container.
fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| {
        Error::Environment(format!(
            "{name} is not set: the ApplicationMaster runs in a YARN container started by \
             `ember submit --master yarn`"
        ))
    })
}
