//! Getting containers for executors from the ResourceManager and starting executors in them
//! (Spark's `YarnAllocator`).
//!
//! Each heartbeat is one `allocate` call. The ResourceManager keeps the latest request per
//! resource name and counts it down itself as it grants containers, so the allocator asks
//! only when the number it still wants changes, and asks for the whole number then.
//! Granted containers beyond what is wanted go back. An executor whose container ends while
//! the application runs is replaced; exits that are the application's fault count towards
//! `ember.executor.maxFailures`, those caused by YARN (preemption, a lost disk, a release) do
//! not.

use crate::error::{Error, Result};
use crate::launch::{launch_context, logged_command, APP_BINARY};
use crate::node_managers::NodeManagers;
use crate::proto;
use crate::records::ContainerId;
use ember_core::ExecutorArgs;
use ember_hadoop::ipc::RpcClient;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// YARN's exit statuses (`ContainerExitStatus`) that are not the application's fault.
const ABORTED: i32 = -100;
const DISKS_FAILED: i32 = -101;
const PREEMPTED: i32 = -102;
const KILLED_EXCEEDED_VMEM: i32 = -103;
const KILLED_EXCEEDED_PMEM: i32 = -104;
const KILLED_BY_APPMASTER: i32 = -105;
const KILLED_BY_RESOURCEMANAGER: i32 = -106;
const KILLED_AFTER_APP_COMPLETION: i32 = -107;

/// The priority of executor requests.
const PRIORITY: i32 = 1;

/// What every executor is started with.
#[derive(Debug, Clone)]
pub(crate) struct ExecutorTemplate {
    /// Where executors reach the driver.
    pub driver_address: String,
    /// The application binary's local resource.
    pub binary: proto::LocalResource,
    /// The `--files`, by name.
    pub files: Vec<(String, proto::LocalResource)>,
    /// Task slots per executor.
    pub cores: usize,
    /// Each executor's memory budget, MiB.
    pub memory_mib: u64,
    /// Its container's memory, MiB (budget plus overhead).
    pub container_mib: u64,
    /// Variables every executor gets beside its own (logging, say).
    pub environment: Vec<(String, String)>,
}

/// The allocator's state between heartbeats.
pub(crate) struct Allocator {
    template: ExecutorTemplate,
    target: usize,
    max_failures: usize,
    failures: usize,
    /// Containers asked for and not granted yet, as the ResourceManager counts them.
    outstanding: usize,
    /// The count last sent, so that an unchanged request is not sent again.
    last_asked: Option<usize>,
    /// Executors starting or running, by container.
    executors: HashMap<ContainerId, String>,
    release: Vec<proto::ContainerId>,
    response_id: i32,
    next_executor: usize,
    node_managers: Arc<NodeManagers>,
    started: mpsc::UnboundedSender<(ContainerId, Result<()>)>,
    start_results: mpsc::UnboundedReceiver<(ContainerId, Result<()>)>,
}

impl Allocator {
    pub(crate) fn new(template: ExecutorTemplate, target: usize, max_failures: usize) -> Self {
        let (started, start_results) = mpsc::unbounded_channel();
        Allocator {
            template,
            target,
            max_failures,
            failures: 0,
            outstanding: 0,
            last_asked: None,
            executors: HashMap::new(),
            release: Vec::new(),
            response_id: 0,
            next_executor: 1,
            node_managers: Arc::new(NodeManagers::default()),
            started,
            start_results,
        }
    }

    /// How long until the next heartbeat: soon while containers are awaited.
    pub(crate) fn interval(&self, waiting_since_ms: &mut u64) -> Duration {
        if self.outstanding == 0 {
            *waiting_since_ms = 200;
            return Duration::from_secs(3);
        }
        let wait = *waiting_since_ms;
        *waiting_since_ms = (wait * 2).min(3000);
        Duration::from_millis(wait)
    }

    /// One heartbeat: asks for what is missing, starts executors in granted containers,
    /// accounts for those that ended.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached, or too many executors failed.
    pub(crate) async fn heartbeat(&mut self, rm: &RpcClient, progress: f32) -> Result<()> {
        self.collect_start_results();
        let missing = self
            .target
            .saturating_sub(self.executors.len() + self.outstanding);
        self.outstanding += missing;
        let ask = if self.last_asked == Some(self.outstanding) {
            Vec::new()
        } else {
            self.last_asked = Some(self.outstanding);
            vec![self.request(self.outstanding)]
        };
        let request = proto::AllocateRequest {
            ask,
            release: std::mem::take(&mut self.release),
            response_id: Some(self.response_id),
            progress: Some(progress),
        };
        let answer: proto::AllocateResponse = rm.call("allocate", &request).await?;
        self.response_id = answer.response_id();
        self.node_managers.add_tokens(&answer.nm_tokens);
        for container in &answer.allocated_containers {
            self.granted(container);
        }
        for status in &answer.completed_container_statuses {
            self.completed(status);
        }
        self.check_failures()
    }

    /// The request for `count` containers anywhere.
    fn request(&self, count: usize) -> proto::ResourceRequest {
        proto::ResourceRequest {
            priority: Some(proto::Priority {
                priority: Some(PRIORITY),
            }),
            resource_name: Some("*".into()),
            capability: Some(crate::records::resource(
                self.template.container_mib,
                self.template.cores,
            )),
            num_containers: Some(count as i32),
            relax_locality: Some(true),
        }
    }

    /// A container was granted: an executor starts in it, or it goes back.
    fn granted(&mut self, container: &proto::Container) {
        let Some(id) = container.id else {
            return;
        };
        // The ResourceManager counted this grant against the request.
        self.last_asked = self.last_asked.map(|n| n.saturating_sub(1));
        if self.outstanding == 0 {
            self.release.push(id);
            return;
        }
        self.outstanding -= 1;
        let container_id = ContainerId::from_proto(&id);
        let executor_id = self.next_executor.to_string();
        self.next_executor += 1;
        let host = container
            .node_id
            .as_ref()
            .map(|n| n.host().to_string())
            .unwrap_or_default();
        tracing::info!("starting executor {executor_id} in {container_id} on {host}");
        self.executors.insert(container_id, executor_id.clone());
        let context = self.launch_context(executor_id, host);
        let node_managers = self.node_managers.clone();
        let started = self.started.clone();
        let container = container.clone();
        tokio::spawn(async move {
            let result = node_managers.start(&container, context).await;
            let _ = started.send((container_id, result));
        });
    }

    fn launch_context(&self, executor_id: String, host: String) -> proto::ContainerLaunchContext {
        let template = &self.template;
        let args = ExecutorArgs {
            driver_address: template.driver_address.clone(),
            executor_id,
            host,
            cores: template.cores,
            memory_mib: template.memory_mib,
        };
        let mut environment: Vec<(String, String)> = args
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        environment.extend(template.environment.iter().cloned());
        let mut resources = vec![(APP_BINARY.to_string(), template.binary.clone())];
        resources.extend(template.files.iter().cloned());
        launch_context(&resources, &environment, logged_command(APP_BINARY, &[]))
    }

    /// Containers a NodeManager would not start count as failed executors.
    fn collect_start_results(&mut self) {
        while let Ok((container, result)) = self.start_results.try_recv() {
            if let Err(e) = result {
                tracing::warn!("{e}");
                if let Some(executor) = self.executors.remove(&container) {
                    tracing::warn!("executor {executor} did not start");
                }
                self.failures += 1;
            }
        }
    }

    fn completed(&mut self, status: &proto::ContainerStatus) {
        let Some(id) = status.container_id.as_ref().map(ContainerId::from_proto) else {
            return;
        };
        let Some(executor) = self.executors.remove(&id) else {
            return;
        };
        let (counts, message) = classify(&id, status);
        if counts {
            self.failures += 1;
            tracing::warn!("executor {executor} failed: {message}");
        } else {
            tracing::info!("executor {executor} ended: {message}");
        }
    }

    fn check_failures(&self) -> Result<()> {
        if self.failures >= self.max_failures {
            return Err(Error::Failed(format!(
                "Max number of executor failures ({}) reached (ember.executor.maxFailures)",
                self.max_failures
            )));
        }
        Ok(())
    }
}

/// Whether a container's end counts as an executor failure, and why it ended.
fn classify(id: &ContainerId, status: &proto::ContainerStatus) -> (bool, String) {
    let exit = status.exit_status();
    let diagnostics = status.diagnostics();
    match exit {
        0 => (false, format!("{id} exited normally")),
        PREEMPTED => (false, format!("{id} was preempted")),
        KILLED_EXCEEDED_VMEM | KILLED_EXCEEDED_PMEM => (
            true,
            format!(
                "{id} was killed by YARN for exceeding its memory limit ({diagnostics}); \
                 consider raising ember.executor.memoryOverhead"
            ),
        ),
        ABORTED
        | DISKS_FAILED
        | KILLED_BY_APPMASTER
        | KILLED_BY_RESOURCEMANAGER
        | KILLED_AFTER_APP_COMPLETION => (
            false,
            format!("{id} ended by YARN (exit status {exit}): {diagnostics}"),
        ),
        _ => (
            true,
            format!("{id} failed with exit status {exit}. Diagnostics: {diagnostics}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(exit: i32) -> proto::ContainerStatus {
        proto::ContainerStatus {
            exit_status: Some(exit),
            diagnostics: Some("why".into()),
            ..Default::default()
        }
    }

    #[test]
    fn yarns_own_kills_do_not_count_but_memory_kills_and_crashes_do() {
        let id: ContainerId = "container_1_0001_01_000002".parse().unwrap();
        for exit in [0, PREEMPTED, ABORTED, KILLED_BY_APPMASTER, DISKS_FAILED] {
            assert!(!classify(&id, &status(exit)).0, "{exit}");
        }
        let (counts, message) = classify(&id, &status(KILLED_EXCEEDED_PMEM));
        assert!(counts && message.contains("memoryOverhead"), "{message}");
        assert!(classify(&id, &status(137)).0);
    }
}
