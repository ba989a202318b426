//! Submitting an application in cluster mode and following it to its end (Spark's YARN
//! `Client`).
//!
//! The client asks the ResourceManager for an application id, checks that the containers it
//! will ask for fit the cluster, stages the `ember` binary (which runs the ApplicationMaster),
//! the application binary and the settings on HDFS, submits the ApplicationMaster's launch
//! context, then reports the application's state as it changes, like spark-submit. It returns
//! the final report; the application succeeded only if it FINISHED with SUCCEEDED.

use crate::am::{APP_BINARY_ENV, FILES_ENV, SCHEDULER_ENV, STAGING_ENV};
use crate::client::{resource_manager_address, NewApplication, YarnClient};
use crate::error::{Error, Result};
use crate::launch::EMBER_BINARY;
use crate::launch::{
    container_memory, launch_context, logged_command, ExecutorMemory, APP_BINARY, CONF_FILE,
};
use crate::proto::{self, YarnApplicationState as State};
use crate::records::ApplicationId;
use crate::staging::Staging;
use ember_core::conf::{keys, SUBMIT_CONF_FILE_ENV};
use ember_core::EmberConf;
use ember_hadoop::{user_name, HadoopConf, HADOOP_KEY_PREFIX};
use std::path::PathBuf;
use std::time::Duration;

/// How often the client asks for the application's report.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// An application to run on YARN with its driver in the cluster.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The application binary: the driver and every executor run it.
    pub app_binary: PathBuf,
    /// The `ember` binary, which runs the ApplicationMaster.
    pub ember_binary: PathBuf,
    /// The driver's arguments to the application binary.
    pub driver_args: Vec<String>,
    /// The application's settings (`ember.*`, with `ember.hadoop.*` overrides).
    pub settings: Vec<(String, String)>,
    /// Where the driver runs.
    pub driver: DriverPlace,
}

impl Submission {
    /// The submission with `ember.app.id` set to `id`, so that the driver knows it (for its
    /// event log, and its `application_id`).
    pub fn for_application(&self, id: ApplicationId) -> Submission {
        let mut settings: Vec<(String, String)> = self
            .settings
            .iter()
            .filter(|(k, _)| k != keys::APP_ID.key)
            .cloned()
            .collect();
        settings.push((keys::APP_ID.key.to_string(), id.to_string()));
        Submission {
            settings,
            ..self.clone()
        }
    }
}

/// Where an application's driver runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverPlace {
    /// In the ApplicationMaster's container, started by it (cluster mode).
    InCluster,
    /// Outside the cluster, serving executors at this address (client mode): the
    /// ApplicationMaster only starts executors.
    Client {
        /// `host:port`.
        address: String,
    },
}

/// How an application ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its id.
    pub id: ApplicationId,
    /// YARN's state: FINISHED, FAILED or KILLED.
    pub state: State,
    /// The ApplicationMaster's verdict.
    pub final_status: proto::FinalApplicationStatus,
    /// Why, when it did not succeed.
    pub diagnostics: String,
}

impl Outcome {
    /// FINISHED with SUCCEEDED.
    pub fn succeeded(&self) -> bool {
        self.state == State::Finished
            && self.final_status == proto::FinalApplicationStatus::AppSucceeded
    }
}

/// Submits `submission` and waits for its end, printing its progress on stderr.
///
/// # Errors
/// Bad settings, containers larger than the cluster grants, or YARN or HDFS refused.
pub fn submit_and_wait(submission: &Submission) -> Result<Outcome> {
    // The process's one I/O runtime, which the staging directory's HDFS store uses too.
    ember_hadoop::io_runtime()?.block_on(async {
        let (conf, hadoop, client) = connect(submission)?;
        let app = client.new_application().await?;
        let (id, staging) = submit(app, submission, &conf, &hadoop, &client).await?;
        let outcome = follow(&client, id).await?;
        // The ApplicationMaster removes it; it may not have run. An interrupted client leaves
        // it: the application runs on, and a later attempt of its ApplicationMaster needs it.
        if staging.exists().await {
            let _ = staging.delete().await;
        }
        Ok(outcome)
    })
}

/// The submission's settings, its Hadoop configuration (`HADOOP_CONF_DIR` with the
/// `ember.hadoop.*` settings), and a client of the cluster's ResourceManager.
pub(crate) fn connect(submission: &Submission) -> Result<(EmberConf, HadoopConf, YarnClient)> {
    let conf = submission
        .settings
        .iter()
        .fold(EmberConf::empty(), |conf, (k, v)| conf.set(k, v));
    let hadoop = HadoopConf::from_env()?.with_overrides(conf.iter());
    let client = YarnClient::new(&hadoop)?;
    Ok((conf, hadoop, client))
}

/// Stages the files and submits the ApplicationMaster of `app` (a new application of
/// `client`'s ResourceManager).
pub(crate) async fn submit(
    app: NewApplication,
    submission: &Submission,
    conf: &EmberConf,
    hadoop: &HadoopConf,
    client: &YarnClient,
) -> Result<(ApplicationId, Staging)> {
    let submission = &submission.for_application(app.id);
    let sizes = Sizes::of(conf, &submission.driver)?;
    sizes.check(&app)?;
    let dir = Staging::default_dir(
        conf.get(&crate::keys::STAGING_DIR)
            .ok()
            .flatten()
            .as_deref(),
        &user_name(),
        &app.id.to_string(),
    );
    let staging = Staging::open(hadoop, &dir)?;
    staging.create().await?;
    let staged = stage(submission, hadoop, &staging).await;
    let context = match staged {
        Ok(resources) => am_launch_context(submission, hadoop, &staging, &resources)?,
        Err(e) => {
            let _ = staging.delete().await;
            return Err(e);
        }
    };
    let name = conf
        .get_raw(keys::APP_NAME.key)
        .unwrap_or("ember")
        .to_string();
    let submission_context = proto::ApplicationSubmissionContext {
        application_id: Some(app.id.to_proto()),
        application_name: Some(name),
        queue: Some(conf.require(&crate::keys::QUEUE).map_err(usage)?),
        priority: None,
        am_container_spec: Some(context),
        cancel_tokens_when_complete: Some(true),
        unmanaged_am: Some(false),
        max_app_attempts: conf
            .get(&crate::keys::MAX_APP_ATTEMPTS)
            .map_err(usage)?
            .map(|n| n as i32),
        resource: Some(crate::records::resource(sizes.am_mib, sizes.am_cores)),
        application_type: Some("EMBER".into()),
        application_tags: Vec::new(),
    };
    if let Err(e) = client.submit(submission_context).await {
        let _ = staging.delete().await;
        return Err(e);
    }
    eprintln!("Submitted application {}", app.id);
    Ok((app.id, staging))
}

fn usage(e: ember_core::Error) -> Error {
    Error::Usage(e.to_string())
}

/// The container sizes an application asks for.
struct Sizes {
    am_mib: u64,
    am_cores: usize,
    executor: ExecutorMemory,
    executor_cores: usize,
}

impl Sizes {
    /// The sizes `conf` asks for: in cluster mode the ApplicationMaster's container holds the
    /// driver; in client mode it only starts executors (`ember.yarn.am.memory`).
    fn of(conf: &EmberConf, driver: &DriverPlace) -> Result<Self> {
        let mib = |entry| -> Result<Option<u64>> {
            Ok(conf
                .get(entry)
                .map_err(usage)?
                .map(|bytes: u64| bytes >> 20))
        };
        let (am_mib, am_cores) = match driver {
            DriverPlace::InCluster => (
                container_memory(
                    conf.require(&keys::DRIVER_MEMORY).map_err(usage)? >> 20,
                    mib(&crate::keys::DRIVER_MEMORY_OVERHEAD)?,
                ),
                conf.require(&keys::DRIVER_CORES).map_err(usage)?,
            ),
            DriverPlace::Client { .. } => (
                container_memory(
                    conf.require(&crate::keys::AM_MEMORY).map_err(usage)? >> 20,
                    None,
                ),
                1,
            ),
        };
        Ok(Sizes {
            am_mib,
            am_cores,
            executor: ExecutorMemory::of(conf)?,
            executor_cores: conf.require(&keys::EXECUTOR_CORES).map_err(usage)?,
        })
    }

    /// Refuses containers the cluster will never grant, before anything is submitted.
    fn check(&self, app: &crate::client::NewApplication) -> Result<()> {
        let max = app.max_memory_mib;
        if self.executor.container_mib > max {
            return Err(Error::Usage(format!(
                "executors need {} MiB of memory plus {} MiB of overhead, more than the {max} \
                 MiB this cluster can give a container; lower {} (or --executor-memory), or \
                 raise yarn.scheduler.maximum-allocation-mb and yarn.nodemanager.resource.memory-mb",
                self.executor.memory_mib,
                self.executor.overhead_mib(),
                keys::EXECUTOR_MEMORY.key,
            )));
        }
        if self.am_mib > max {
            return Err(Error::Usage(format!(
                "the driver's container needs {} MiB, more than the {max} MiB this cluster \
                 can give a container; lower {} (or --driver-memory)",
                self.am_mib,
                keys::DRIVER_MEMORY.key,
            )));
        }
        let cores = self.executor_cores.max(self.am_cores);
        if app.max_cores > 0 && cores > app.max_cores {
            return Err(Error::Usage(format!(
                "containers of {cores} cores are more than the {} this cluster can give; \
                 lower {} or {}",
                app.max_cores,
                keys::EXECUTOR_CORES.key,
                keys::DRIVER_CORES.key,
            )));
        }
        Ok(())
    }
}

/// The staged files by link name.
type Resources = Vec<(String, proto::LocalResource)>;

/// Uploads the binaries, the settings and the files of `ember.yarn.dist.files`.
async fn stage(
    submission: &Submission,
    hadoop: &HadoopConf,
    staging: &Staging,
) -> Result<Resources> {
    let ember = staging
        .upload(&submission.ember_binary, EMBER_BINARY)
        .await?;
    let same = std::fs::canonicalize(&submission.ember_binary).ok()
        == std::fs::canonicalize(&submission.app_binary).ok();
    let settings = tempfile_with(&settings_text(submission, hadoop))?;
    let conf = staging.upload(settings.path(), CONF_FILE).await?;
    let mut resources = vec![
        (EMBER_BINARY.to_string(), ember),
        (CONF_FILE.to_string(), conf),
    ];
    // YARN links a file once however many names it is given: an application that is the
    // `ember` binary itself runs as `__ember__`.
    if !same {
        let app = staging.upload(&submission.app_binary, APP_BINARY).await?;
        resources.push((APP_BINARY.to_string(), app));
    }
    for (name, path) in dist_files(submission)? {
        let file = staging.upload(&path, &name).await?;
        resources.push((name, file));
    }
    Ok(resources)
}

/// The files of `ember.yarn.dist.files` (`--files`), by the name each has in a container's
/// working directory.
fn dist_files(submission: &Submission) -> Result<Vec<(String, PathBuf)>> {
    let listed = submission
        .settings
        .iter()
        .rev()
        .find(|(k, _)| k == crate::keys::DIST_FILES.key)
        .map_or("", |(_, v)| v.as_str());
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for path in listed.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path.strip_prefix("file://").unwrap_or(path));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Usage(format!("--files: {} names no file", path.display())))?;
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "--files: {} is not a file on this machine",
                path.display()
            )));
        }
        if name.starts_with("__") || files.iter().any(|(n, _)| *n == name) {
            return Err(Error::Usage(format!(
                "--files: two files, or one of ember's own, would be named {name} in containers"
            )));
        }
        files.push((name, path));
    }
    Ok(files)
}

/// The staged name of the application binary.
fn app_name(resources: &Resources) -> &'static str {
    if resources.iter().any(|(name, _)| name == APP_BINARY) {
        APP_BINARY
    } else {
        EMBER_BINARY
    }
}

/// The names of the `--files` among `resources`, for the ApplicationMaster to give executors.
fn dist_names(resources: &Resources) -> String {
    resources
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("__"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The application's settings with every Hadoop setting of this client, so that containers
/// need no Hadoop configuration of their own.
fn settings_text(submission: &Submission, hadoop: &HadoopConf) -> String {
    let mut text = String::new();
    for key in hadoop.keys() {
        if let Some(value) = hadoop.get(key) {
            let value = value.replace(['\n', '\r'], " ");
            text.push_str(&format!("{HADOOP_KEY_PREFIX}{key}={}\n", value.trim()));
        }
    }
    for (k, v) in &submission.settings {
        text.push_str(&format!("{k}={}\n", v.replace(['\n', '\r'], " ")));
    }
    text
}

fn tempfile_with(text: &str) -> Result<TempFile> {
    let path = std::env::temp_dir().join(format!(
        "ember-submit-{}-{}.conf",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::write(&path, text).map_err(|e| Error::Staging {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(TempFile(path))
}

/// A local file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The ApplicationMaster's container: `ember application-master -- ./__app__ <args>`.
fn am_launch_context(
    submission: &Submission,
    hadoop: &HadoopConf,
    staging: &Staging,
    resources: &Resources,
) -> Result<proto::ContainerLaunchContext> {
    let scheduler =
        resource_manager_address(hadoop, "yarn.resourcemanager.scheduler.address", 8030)?;
    let app = app_name(resources);
    let mut environment = vec![
        (SUBMIT_CONF_FILE_ENV.to_string(), CONF_FILE.to_string()),
        (SCHEDULER_ENV.to_string(), scheduler),
        (STAGING_ENV.to_string(), staging.url()),
        (APP_BINARY_ENV.to_string(), app.to_string()),
        (FILES_ENV.to_string(), dist_names(resources)),
    ];
    environment.extend(
        ["EMBER_LOG", "RUST_BACKTRACE"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))),
    );
    let args = match &submission.driver {
        DriverPlace::InCluster => {
            let mut args = vec![
                "application-master".to_string(),
                "--".into(),
                format!("./{app}"),
            ];
            args.extend(submission.driver_args.iter().cloned());
            args
        }
        DriverPlace::Client { address } => vec![
            "application-master".to_string(),
            "--driver-address".into(),
            address.clone(),
        ],
    };
    Ok(launch_context(
        resources,
        &environment,
        logged_command(EMBER_BINARY, &args),
    ))
}

/// Reports state changes until the application ends.
pub(crate) async fn follow(client: &YarnClient, id: ApplicationId) -> Result<Outcome> {
    let mut last: Option<State> = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let report = client.report(id).await?;
        let state = report.yarn_application_state();
        if last != Some(state) {
            print_report(id, &report);
            last = Some(state);
        }
        if matches!(state, State::Finished | State::Failed | State::Killed) {
            return Ok(Outcome {
                id,
                state,
                final_status: report.final_application_status(),
                diagnostics: report.diagnostics().to_string(),
            });
        }
        tokio::select! {
            _ = &mut interrupted => {
                return Err(Error::Failed(format!(
                    "interrupted: {id} keeps running in the cluster; `ember status {id}` \
                     follows it and `ember kill {id}` stops it"
                )));
            }
            _ = tokio::time::sleep(REPORT_INTERVAL) => {}
        }
    }
}

pub(crate) fn print_report(id: ApplicationId, report: &proto::ApplicationReport) {
    let state = report.yarn_application_state();
    eprintln!(
        "Application report for {id} (state: {})",
        state.as_str_name()
    );
    match state {
        State::Running => eprintln!(
            "\t ApplicationMaster host: {}\n\t tracking URL: {}",
            report.host(),
            report.tracking_url()
        ),
        State::Finished | State::Failed | State::Killed => eprintln!(
            "\t final status: {}\n\t diagnostics: {}",
            report
                .final_application_status()
                .as_str_name()
                .trim_start_matches("APP_"),
            report.diagnostics()
        ),
        _ => {}
    }
}
