//! Getting containers for executors from the ResourceManager and starting executors in them
//! (Spark's `YarnAllocator`).
//!
//! Each heartbeat is one `allocate` call. The ResourceManager keeps the latest request per
//! resource name (a host, a rack, `*`) and counts it down itself as it grants containers, so
//! the allocator asks again only when what it wants changed or containers came, and always for
//! whole numbers. Requests follow the driver's waiting tasks: hosts holding their input get
//! containers asked for there first (and their racks), `*` the rest.
//! Granted containers beyond what is wanted go back. An executor whose container ends while
//! the application runs is replaced; exits that are the application's fault count towards
//! `ember.executor.maxFailures`, those caused by YARN (preemption, a lost disk, a release) do
//! not.

use crate::error::{Error, Result};
use crate::keys;
use crate::launch::{launch_context, logged_command, APP_BINARY};
use crate::node_managers::NodeManagers;
use crate::proto;
use crate::records::ContainerId;
use ember_core::deploy::{pending_tasks, PendingTasks};
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
    /// Each container's memory, MiB: `ember.executor.memory` plus overhead. The executor
    /// reads its own budget from the configuration the driver registers it with.
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
    /// Containers asked for and not granted yet.
    outstanding: usize,
    /// The counts last asked for, by resource name (a host, a rack, or `*`).
    asked: HashMap<String, usize>,
    /// Whether containers came since the last ask: the ResourceManager counted them against
    /// its copy of the ask, which must be refreshed.
    granted_since_ask: bool,
    /// Executors starting or running, by container: their ids and hosts.
    executors: HashMap<ContainerId, (String, String)>,
    racks: ember_hadoop::RackResolver,
    release: Vec<proto::ContainerId>,
    response_id: i32,
    next_executor: usize,
    node_managers: Arc<NodeManagers>,
    started: mpsc::UnboundedSender<(ContainerId, Result<()>)>,
    start_results: mpsc::UnboundedReceiver<(ContainerId, Result<()>)>,
    /// When the allocator began: the first ask waits a while for the driver's first tasks.
    created: std::time::Instant,
    /// Whether the driver was asked about its tasks before the first ask.
    polled_driver: bool,
}

/// How long the first ask for containers waits for the driver's first tasks, so that they are
/// asked for where those tasks want to run rather than anywhere: a driver usually has its first
/// job's tasks waiting within a fraction of a second. An application that runs no job at once
/// (a shell) gets its executors this much later.
const FIRST_TASKS_GRACE: Duration = Duration::from_secs(2);
/// How often the driver is asked about its tasks meanwhile.
const FIRST_TASKS_POLL: Duration = Duration::from_millis(100);

impl Allocator {
    pub(crate) fn new(
        template: ExecutorTemplate,
        target: usize,
        max_failures: usize,
        racks: ember_hadoop::RackResolver,
        protection: ember_hadoop::ipc::Protection,
    ) -> Self {
        let (started, start_results) = mpsc::unbounded_channel();
        Allocator {
            template,
            target,
            max_failures,
            failures: 0,
            outstanding: 0,
            asked: HashMap::new(),
            granted_since_ask: false,
            executors: HashMap::new(),
            racks,
            release: Vec::new(),
            response_id: 0,
            next_executor: 1,
            node_managers: Arc::new(NodeManagers::new(protection)),
            started,
            start_results,
            created: std::time::Instant::now(),
            polled_driver: false,
        }
    }

    /// How long until the next heartbeat: none before the first (executors are asked for at
    /// once, as Spark's ApplicationMaster does), soon while containers are awaited.
    pub(crate) fn interval(&self, waiting_since_ms: &mut u64) -> Duration {
        if self.response_id == 0 && self.asked.is_empty() {
            // Before the first ask: at once, then often while the driver has no tasks yet.
            return if self.polled_driver {
                FIRST_TASKS_POLL
            } else {
                Duration::ZERO
            };
        }
        if self.outstanding == 0 {
            *waiting_since_ms = 200;
            return Duration::from_secs(3);
        }
        let wait = *waiting_since_ms;
        *waiting_since_ms = (wait * 2).min(3000);
        Duration::from_millis(wait)
    }

    /// One heartbeat: asks for what is missing, near the hosts the driver's waiting tasks
    /// prefer, starts executors in granted containers, accounts for those that ended.
    ///
    /// # Errors
    /// The ResourceManager cannot be reached, or too many executors failed.
    pub(crate) async fn heartbeat(&mut self, rm: &RpcClient, progress: f32) -> Result<()> {
        self.collect_start_results();
        let missing = self
            .target
            .saturating_sub(self.executors.len() + self.outstanding);
        let pending = if self.outstanding + missing > 0 {
            pending_tasks(&self.template.driver_address)
                .await
                .unwrap_or_default()
        } else {
            PendingTasks::default()
        };
        if self.awaiting_first_tasks(&pending) {
            self.polled_driver = true;
            return Ok(());
        }
        self.outstanding += missing;
        let request = proto::AllocateRequest {
            ask: self.asks(&pending),
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

    /// Whether the first ask should wait for the driver's first tasks (see
    /// [`FIRST_TASKS_GRACE`]).
    fn awaiting_first_tasks(&self, pending: &PendingTasks) -> bool {
        self.response_id == 0
            && self.asked.is_empty()
            && pending.tasks == 0
            && self.created.elapsed() < FIRST_TASKS_GRACE
    }

    /// The requests that changed since the last ask (all of them after a grant).
    fn asks(&mut self, pending: &PendingTasks) -> Vec<proto::ResourceRequest> {
        let wanted = self.wanted(pending);
        let mut names: Vec<&String> = wanted.keys().chain(self.asked.keys()).collect();
        names.sort();
        names.dedup();
        let asks: Vec<proto::ResourceRequest> = names
            .into_iter()
            .filter_map(|name| {
                let count = wanted.get(name).copied().unwrap_or(0);
                let changed = self.asked.get(name).copied().unwrap_or(0) != count;
                (changed || self.granted_since_ask).then(|| self.request(name, count))
            })
            .collect();
        self.asked = wanted;
        self.granted_since_ask = false;
        asks
    }

    /// How many containers to ask for where: all outstanding ones anywhere (`*`), and on each
    /// host the driver's waiting tasks prefer its share of them, less the executors it has
    /// (a simpler form of Spark's locality-preferred placement); racks sum their hosts.
    fn wanted(&self, pending: &PendingTasks) -> HashMap<String, usize> {
        let mut wanted = HashMap::from([("*".to_string(), self.outstanding)]);
        let preferring: usize = pending.per_host.iter().map(|(_, n)| n).sum();
        if self.outstanding == 0 || preferring == 0 {
            return wanted;
        }
        for (host, tasks) in &pending.per_host {
            let share = (self.target * tasks).div_ceil(preferring);
            let running = self.executors.values().filter(|(_, h)| h == host).count();
            let count = share.saturating_sub(running).min(self.outstanding);
            if count > 0 {
                *wanted.entry(host.clone()).or_default() += count;
                *wanted.entry(self.racks.rack_of(host)).or_default() += count;
            }
        }
        wanted
    }

    /// The request for `count` containers at `name` (a host, a rack or `*`), falling back to
    /// other places when the scheduler cannot place them there.
    fn request(&self, name: &str, count: usize) -> proto::ResourceRequest {
        proto::ResourceRequest {
            priority: Some(proto::Priority {
                priority: Some(PRIORITY),
            }),
            resource_name: Some(name.to_string()),
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
        self.granted_since_ask = true;
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
        self.executors
            .insert(container_id, (executor_id.clone(), host.clone()));
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
                if let Some((executor, _)) = self.executors.remove(&container) {
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
        let Some((executor, _)) = self.executors.remove(&id) else {
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
                "Max number of executor failures ({}) reached ({})",
                self.max_failures,
                keys::EXECUTOR_MAX_FAILURES.key,
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
                 consider raising {}",
                keys::EXECUTOR_MEMORY_OVERHEAD.key
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

    fn allocator(target: usize) -> Allocator {
        let template = ExecutorTemplate {
            driver_address: "127.0.0.1:1".into(),
            binary: proto::LocalResource::default(),
            files: Vec::new(),
            cores: 1,
            container_mib: 1024,
            environment: Vec::new(),
        };
        let racks = ember_hadoop::RackResolver::new(&ember_hadoop::HadoopConf::empty());
        Allocator::new(template, target, 3, racks, Default::default())
    }

    #[test]
    fn containers_are_asked_for_where_waiting_tasks_want_them() {
        let mut allocator = allocator(3);
        allocator.outstanding = 3;
        let pending = PendingTasks {
            tasks: 9,
            per_host: vec![("h1".into(), 6), ("h2".into(), 3)],
        };
        let wanted = allocator.wanted(&pending);
        assert_eq!(wanted["*"], 3);
        assert_eq!(wanted["h1"], 2);
        assert_eq!(wanted["h2"], 1);
        assert_eq!(wanted[ember_hadoop::DEFAULT_RACK], 3);
        let first = allocator.asks(&pending);
        assert_eq!(first.len(), 4);
        // Nothing changed, nothing granted: nothing to say.
        assert!(allocator.asks(&pending).is_empty());
        // After a grant the whole ask is sent again, with the host that got one wanting less.
        allocator.outstanding = 2;
        allocator.granted_since_ask = true;
        let id: ContainerId = "container_1_0001_01_000002".parse().unwrap();
        allocator.executors.insert(id, ("1".into(), "h1".into()));
        let again = allocator.asks(&pending);
        let h1 = again.iter().find(|r| r.resource_name() == "h1").unwrap();
        assert_eq!(h1.num_containers(), 1);
        assert_eq!(again.len(), 4);
    }

    #[test]
    fn the_first_ask_waits_a_while_for_the_drivers_first_tasks() {
        let mut allocator = allocator(2);
        let none = PendingTasks::default();
        let some = PendingTasks {
            tasks: 1,
            per_host: vec![("h1".into(), 1)],
        };
        assert_eq!(allocator.interval(&mut 200), Duration::ZERO);
        assert!(allocator.awaiting_first_tasks(&none));
        assert!(!allocator.awaiting_first_tasks(&some));
        allocator.polled_driver = true;
        assert_eq!(allocator.interval(&mut 200), FIRST_TASKS_POLL);
        allocator.created -= FIRST_TASKS_GRACE;
        assert!(!allocator.awaiting_first_tasks(&none), "not for ever");
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
