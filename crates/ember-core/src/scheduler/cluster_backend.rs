//! Task slots in executor processes (Spark's `CoarseGrainedSchedulerBackend` and its
//! `DriverEndpoint`).
//!
//! # Key concepts
//! - The driver serves the [`Driver`] RPC service. Each executor opens one long-lived control
//!   channel (`Register`): its first message names it and its build; the driver refuses a build
//!   other than its own, otherwise answers with the application's settings and from then on sends
//!   tasks down the channel and hears status updates and heartbeats back.
//! - Which attempt runs in which slot is the [`TaskScheduler`]'s decision (locality, exclusion,
//!   the registration hold); this backend is its transport and its registry of executors. It
//!   tells the task scheduler what happens (executors registered or lost, attempts finished)
//!   and sends the launches it decides.
//! - Large task results arrive as blocks stored on the executor; the driver takes them before
//!   the job sees the attempt finish.
//!
//! # Executor lifecycle
//! ```text
//!  started ──Register──▶ registered ──channel closed / heartbeats stop / process exited──▶ lost
//!     │                      │
//!     └─ other build: refused └─ application ends: Shutdown, then the process is stopped
//! ```
//! A lost executor's attempts finish as failed with [`Error::ExecutorLost`], and its map outputs
//! are unregistered so that the stages needing them run again. Whoever started it (the
//! [`ExecutorLauncher`] of `local-cluster` or of a cluster manager) hears of it and may start a
//! replacement.
//!
//! # Threading
//! State sits behind one mutex, taken by RPC handlers on the network runtime and by the DAG
//! scheduler's thread launching attempts; it is never held across an `.await`. Reports to the
//! DAG scheduler go through its unbounded channel and never block.

use super::events::{RemoteTaskResult, TaskEvent, TaskFailure, TaskPlace, TaskUpdate};
use super::output_commit_coordinator::CommitAsk;
use super::scheduler_backend::{ExecutorInfo, Launch, SchedulerBackend};
use super::task::TaskOutput;
use super::task_scheduler::{Assignment, TaskScheduler, TaskSchedulerSettings};
use crate::conf::{keys, EmberConf};
use crate::deploy::{DriverEndpointRef, ExecutorLauncher};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::block_transfer::read_block;
use crate::network::rpc::driver_message::Kind as ToExecutor;
use crate::network::rpc::driver_server::{Driver, DriverServer};
use crate::network::rpc::executor_message::Kind as FromExecutor;
use crate::network::rpc::{
    AskCommitReply, AskCommitRequest, BlockLocation, BlockLocations, BlockLocationsRequest,
    BroadcastReply, BroadcastRequest, Bytes as BytesMessage, DriverMessage, EndpointRequest,
    ExecutorMessage, KillTask, LaunchTask, MapStatusesRequest, PendingTasks as PendingTasksReply,
    PendingTasksRequest, RegisterExecutor, Registered, RemoveBlocks, RemoveBroadcast, RemoveRdd,
    Shutdown, TaskState, TaskStatus,
};
use crate::network::{channel, runtime, serve, MAX_MESSAGE};
use crate::storage::BlockId;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::service::Routes;
use tonic::{Request, Response, Status, Streaming};

/// Settings read once from the configuration.
#[derive(Debug, Clone)]
struct ClusterSettings {
    network_timeout: Duration,
}

/// Messages to one executor, in order.
type ExecutorSender = mpsc::UnboundedSender<Result<DriverMessage, Status>>;

/// A registered executor's connection.
struct ExecutorData {
    info: ExecutorInfo,
    tx: ExecutorSender,
    last_heard: Instant,
}

struct State {
    /// Which attempt runs in which slot: the decisions.
    scheduler: TaskScheduler,
    /// The registered executors' connections: the transport.
    executors: HashMap<String, ExecutorData>,
    /// Why executors were refused or could not start, for the application to report.
    refused: Vec<String>,
    /// Every executor that ever registered.
    registered: std::collections::HashSet<String>,
}

/// What the RPC handlers and the backend share.
struct Shared {
    env: Arc<Env>,
    build_id: String,
    conf: HashMap<String, String>,
    settings: ClusterSettings,
    state: Mutex<State>,
    /// Signalled when executors register or are refused.
    changed: Condvar,
    broadcast_fetches: AtomicU64,
    /// Executors holding each broadcast value, for others to fetch it from.
    broadcast_holders: Mutex<HashMap<u64, Vec<String>>>,
    /// What started the executors: told of lost ones, stopped with the application.
    launcher: Mutex<Option<Arc<dyn ExecutorLauncher>>>,
}

/// The driver's side of a cluster of executor processes.
pub(crate) struct ClusterBackend {
    shared: Arc<Shared>,
    address: SocketAddr,
    stop_server: parking_lot::Mutex<Option<oneshot::Sender<()>>>,
}

/// What executors are told: the application's settings, and the driver's Hadoop
/// configuration as `ember.hadoop.*` settings, so that an executor in a container without
/// `HADOOP_CONF_DIR` sees the file systems the driver sees. Explicit `ember.hadoop.*`
/// settings are in both and agree.
fn executor_settings(
    conf: &EmberConf,
    hadoop: &ember_hadoop::HadoopConf,
) -> HashMap<String, String> {
    let mut settings: HashMap<String, String> = hadoop
        .keys()
        .filter_map(|k| {
            Some((
                format!("{}{k}", ember_hadoop::HADOOP_KEY_PREFIX),
                hadoop.get(k)?,
            ))
        })
        .collect();
    settings.extend(conf.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    settings
}

impl ClusterBackend {
    /// Serves executors on `host` (any free port) with the application's `conf`.
    ///
    /// # Errors
    /// Bad settings, or no port to listen on.
    pub(crate) fn start(conf: &EmberConf, env: Arc<Env>, host: &str) -> Result<Self> {
        let settings = ClusterSettings {
            network_timeout: conf.require(&keys::NETWORK_TIMEOUT)?,
        };
        let racks = env.clone();
        let task_settings = TaskSchedulerSettings::from_conf(conf)?;
        let speculation_interval = task_settings.speculation.map(|s| s.interval);
        let scheduler = TaskScheduler::new(
            task_settings,
            Arc::new(move |host: &str| racks.racks.rack_of(host)),
        );
        let heartbeat: Duration = conf.require(&keys::EXECUTOR_HEARTBEAT_INTERVAL)?;
        let shared = Arc::new(Shared {
            env: env.clone(),
            build_id: crate::ship::build_id()?,
            conf: executor_settings(conf, &env.hadoop),
            settings,
            state: Mutex::new(State {
                scheduler,
                executors: HashMap::new(),
                refused: Vec::new(),
                registered: Default::default(),
            }),
            changed: Condvar::new(),
            broadcast_fetches: AtomicU64::new(0),
            broadcast_holders: Mutex::new(HashMap::new()),
            launcher: Mutex::new(None),
        });
        let listener = runtime()
            .block_on(tokio::net::TcpListener::bind((host, 0)))
            .map_err(|e| Error::io(format!("driver port on {host}"), e))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io(format!("driver port on {host}"), e))?;
        let (stop_server, stopped) = oneshot::channel::<()>();
        let service = DriverServer::new(DriverEndpoint {
            shared: shared.clone(),
        })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
        let stopped = async {
            let _ = stopped.await;
        };
        serve(
            listener,
            Routes::new(service),
            stopped,
            "driver's RPC server",
        );
        // Often enough for both the heartbeat timeout and the locality wait.
        let mut revive = heartbeat
            .min(Duration::from_secs(1))
            .max(Duration::from_millis(50));
        if let Some(interval) = speculation_interval {
            revive = revive.min(interval);
        }
        runtime().spawn(watch_executors(Arc::downgrade(&shared), revive));
        let weak = Arc::downgrade(&shared);
        env.broadcast_manager.on_remove(Box::new(move |id| {
            if let Some(shared) = weak.upgrade() {
                shared.broadcast_holders.lock().remove(&id);
                shared.tell_all(ToExecutor::RemoveBroadcast(RemoveBroadcast {
                    broadcast_id: id,
                }));
            }
        }));
        tracing::debug!("driver listening for executors on {address}");
        Ok(ClusterBackend {
            shared,
            address,
            stop_server: parking_lot::Mutex::new(Some(stop_server)),
        })
    }

    /// Where executors reach the driver.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// The handle a cluster manager drives this backend through; it does not keep it alive.
    pub(crate) fn endpoint_ref(self: &Arc<Self>) -> DriverEndpointRef {
        DriverEndpointRef::new(Arc::downgrade(self), self.address)
    }

    /// Keeps `launcher` told of lost executors, and stops it with the application.
    pub(crate) fn attach(&self, launcher: Arc<dyn ExecutorLauncher>) {
        *self.shared.launcher.lock() = Some(launcher);
    }

    /// Waits until `count` executors have registered.
    ///
    /// # Errors
    /// An executor was refused or died before registering, or `timeout` passed.
    pub(crate) fn wait_for_executors(&self, count: usize, timeout: Duration) -> Result<()> {
        let registered = self.await_executors(count, timeout)?;
        if registered >= count {
            return Ok(());
        }
        Err(Error::Input(format!(
            "only {registered} of {count} executors registered within {} s ({}); see their \
             messages above",
            timeout.as_secs(),
            keys::EXECUTOR_REGISTRATION_TIMEOUT.key
        )))
    }

    /// Runs no task until `wanted` of the `total` executors asked for have registered or
    /// `wait` passed; tasks launched meanwhile queue, their preferred hosts known to
    /// [`pending tasks`](crate::deploy::pending_tasks).
    pub(crate) fn hold_scheduling(&self, wanted: usize, total: usize, wait: Duration) {
        let until = Instant::now() + wait;
        self.shared
            .state
            .lock()
            .scheduler
            .hold_until(wanted, total, until);
    }

    /// Waits until `count` executors have registered or `timeout` passed; how many did.
    ///
    /// # Errors
    /// An executor was refused or died before registering.
    pub(crate) fn await_executors(&self, count: usize, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock();
        loop {
            if let Some(reason) = state.refused.first() {
                return Err(Error::Input(reason.clone()));
            }
            let registered = state.executors.len();
            if registered >= count
                || self
                    .shared
                    .changed
                    .wait_until(&mut state, deadline)
                    .timed_out()
            {
                return Ok(registered.max(state.executors.len()));
            }
        }
    }

    /// An executor process ended: a registered one is lost; one that never registered could
    /// not start, which the application reports.
    pub(crate) fn executor_exited(&self, executor_id: &str, reason: &str) {
        let never_registered = !self.shared.state.lock().registered.contains(executor_id);
        if never_registered {
            let why = format!(
                "executor {executor_id} ended before registering with the driver: {reason}; \
                 its messages are above"
            );
            self.shared.state.lock().refused.push(why);
            self.shared.changed.notify_all();
        } else {
            self.shared.executor_lost(executor_id, reason);
        }
    }

    /// No executor is left and none will come: every waiting and future attempt fails.
    pub(crate) fn no_more_executors(&self, reason: String) {
        tracing::error!("{reason}");
        let mut state = self.shared.state.lock();
        state.scheduler.no_more_executors(reason);
        self.shared.schedule(&mut state);
    }
}

impl SchedulerBackend for ClusterBackend {
    fn launch(&self, launch: Launch) {
        let mut state = self.shared.state.lock();
        state.scheduler.submit(launch);
        self.shared.schedule(&mut state);
    }

    fn executors(&self) -> Vec<ExecutorInfo> {
        let state = self.shared.state.lock();
        let mut infos: Vec<ExecutorInfo> =
            state.executors.values().map(|e| e.info.clone()).collect();
        infos.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        infos
    }

    fn remove_rdd(&self, id: usize) {
        self.shared
            .tell_all(ToExecutor::RemoveRdd(RemoveRdd { rdd_id: id as u64 }));
    }

    fn remove_blocks(&self, ids: &[BlockId]) {
        let block_ids = ids.iter().map(BlockId::name).collect();
        self.shared
            .tell_all(ToExecutor::RemoveBlocks(RemoveBlocks { block_ids }));
    }

    fn stage_ended(&self, id: usize) {
        self.shared.state.lock().scheduler.stage_ended(id);
    }

    fn kill_stage_tasks(&self, id: usize) {
        let state = self.shared.state.lock();
        let reason = format!("no job needs stage {id} any more");
        for (executor, task_attempt_id) in state.scheduler.kill_stage(id) {
            tell_kill(&state, &executor, task_attempt_id, &reason);
        }
    }

    fn kill_attempt(&self, task_attempt_id: u64) {
        let mut state = self.shared.state.lock();
        if let Some(executor) = state.scheduler.kill_attempt(task_attempt_id) {
            let reason = "another attempt of its task finished first";
            tell_kill(&state, &executor, task_attempt_id, reason);
        }
    }

    fn broadcast_fetches(&self) -> u64 {
        self.shared.broadcast_fetches.load(Ordering::Relaxed)
    }

    fn driver_address(&self) -> Option<String> {
        Some(self.address.to_string())
    }

    fn stop(&self) {
        self.shared.tell_all(ToExecutor::Shutdown(Shutdown {}));
        let running: Vec<Launch> = {
            let mut state = self.shared.state.lock();
            let ids: Vec<String> = state.executors.drain().map(|(id, _)| id).collect();
            ids.iter()
                .flat_map(|id| state.scheduler.executor_removed(id))
                .collect()
        };
        // Jobs wait for their attempts before they return, so none should be running; should one
        // be, its job hears that it ended.
        for launch in running {
            finish(
                &launch,
                Err(Error::Internal("the application stopped".into())),
            );
        }
        if let Some(stop) = self.stop_server.lock().take() {
            let _ = stop.send(());
        }
        let launcher = self.shared.launcher.lock().take();
        if let Some(launcher) = launcher {
            launcher.stop();
        }
    }
}

impl Drop for ClusterBackend {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    /// Hands queued attempts to executors with free slots as the task scheduler places them
    /// (see [`TaskScheduler`]), and reports those that will never run.
    fn schedule(&self, state: &mut State) {
        // A refused executor ends a hold, and the application, which would wait for it in vain.
        if state.scheduler.is_holding() {
            if let Some(reason) = state.refused.first() {
                state.scheduler.no_more_executors(reason.clone());
            }
        }
        let offers = state.scheduler.resource_offers(Instant::now());
        for (launch, error) in offers.dropped {
            finish(&launch, Err(error));
        }
        for assignment in offers.assigned {
            if let Err(assignment) = send_launch(state, assignment) {
                let executor = assignment.executor.clone();
                if let Some(launch) = state.scheduler.launch_failed(assignment) {
                    let reason = "its connection is closing".to_string();
                    finish(
                        &launch,
                        Err(Error::ExecutorLost {
                            executor_id: executor,
                            reason,
                        }),
                    );
                }
            }
        }
    }

    /// A status update from `executor`.
    fn task_status(self: &Arc<Self>, executor: &str, status: TaskStatus) {
        let mut state = self.state.lock();
        let Some(data) = state.executors.get_mut(executor) else {
            return;
        };
        data.last_heard = Instant::now();
        let (host, address) = (executor_host(&data.info), data.info.address.clone());
        let id = status.task_attempt_id;
        if status.state() == TaskState::Running {
            if let Some(launch) = state.scheduler.running(executor, id) {
                let place = TaskPlace {
                    executor_id: executor.to_string(),
                    host,
                    locality: launch.locality,
                };
                launch.reply.send(TaskUpdate::Started(launch.id, place));
            }
            return;
        }
        let result = match bincode::deserialize::<RemoteTaskResult>(&status.payload) {
            Ok(result) => result,
            Err(e) => RemoteTaskResult::Failure((&Error::from(e)).into()),
        };
        let failed = matches!(result, RemoteTaskResult::Failure(_));
        let finished = state
            .scheduler
            .status_update(executor, id, failed, Instant::now());
        let Some(launch) = finished else {
            return;
        };
        match result {
            RemoteTaskResult::Success(mut success) => {
                if let TaskOutput::Stored { block, size } = &success.output {
                    // Taken from the executor off this lock; the slot is free already.
                    let (block, size) = (block.clone(), *size);
                    runtime().spawn(async move {
                        let taken = match channel(&address) {
                            Ok(c) => read_block(c, block.clone()).await.map_err(|s| {
                                Error::Remote(format!(
                                    "could not fetch task result {block} ({size} B) from \
                                     {address}: {}",
                                    s.message()
                                ))
                            }),
                            Err(e) => Err(e),
                        };
                        let result = taken.map(|bytes| {
                            success.output = TaskOutput::Value(bytes.to_vec());
                            success
                        });
                        finish(&launch, result);
                    });
                } else {
                    finish(&launch, Ok(success));
                }
            }
            RemoteTaskResult::Failure(error) => {
                // Fetch failures keep their fields: the scheduler acts on them.
                let error = match Error::from(error) {
                    e @ Error::FetchFailed { .. } => e,
                    e => Error::Remote(format!("{e} (executor {executor})")),
                };
                finish(&launch, Err(error));
            }
        }
        self.schedule(&mut state);
    }

    /// Forgets `executor` and fails what it ran; its starter hears of it.
    fn executor_lost(&self, executor: &str, reason: &str) {
        let was_live = {
            let mut state = self.state.lock();
            let was_live = self.remove_executor(&mut state, executor, reason);
            self.schedule(&mut state);
            was_live
        };
        self.changed.notify_all();
        if was_live {
            let launcher = self.launcher.lock().clone();
            if let Some(launcher) = launcher {
                launcher.executor_lost(executor);
            }
        }
    }

    /// Removes `executor` under the lock; returns whether it was registered.
    fn remove_executor(&self, state: &mut State, executor: &str, reason: &str) -> bool {
        if state.executors.remove(executor).is_none() {
            return false;
        }
        tracing::warn!("lost executor {executor}: {reason}");
        for launch in state.scheduler.executor_removed(executor) {
            finish(
                &launch,
                Err(Error::ExecutorLost {
                    executor_id: executor.into(),
                    reason: reason.into(),
                }),
            );
        }
        let outputs = self
            .env
            .map_output_tracker
            .remove_outputs_on_executor(executor);
        if outputs > 0 {
            tracing::info!("{outputs} shuffle outputs of executor {executor} are lost");
        }
        true
    }

    fn tell_all(&self, message: ToExecutor) {
        let state = self.state.lock();
        for data in state.executors.values() {
            let _ = data.tx.send(Ok(DriverMessage {
                kind: Some(message.clone()),
            }));
        }
    }

    /// Checks a registration; returns the reason to refuse it.
    fn refusal(&self, register: &RegisterExecutor) -> Option<String> {
        if register.build_id != self.build_id {
            return Some(format!(
                "executor {} runs a different build of the application (build {}, the driver \
                 runs {}); every executor must start the driver's own binary",
                register.executor_id, register.build_id, self.build_id
            ));
        }
        if self
            .state
            .lock()
            .executors
            .contains_key(&register.executor_id)
        {
            return Some(format!(
                "executor {} is already registered",
                register.executor_id
            ));
        }
        None
    }
}

/// Sends an assigned attempt to its executor; gives it back if it cannot go.
fn send_launch(state: &State, assignment: Assignment) -> std::result::Result<(), Assignment> {
    let Some(data) = state.executors.get(&assignment.executor) else {
        return Err(assignment);
    };
    let id = assignment.id;
    let message = LaunchTask {
        task_attempt_id: id.task_attempt_id,
        stage_id: id.stage_id as u64,
        stage_attempt: id.stage_attempt as u64,
        partition: id.partition as u64,
        rdd_partition: id.rdd_partition as u64,
        attempt: id.attempt as u64,
        task: assignment.bytes.clone().into(),
    };
    let sent = data.tx.send(Ok(DriverMessage {
        kind: Some(ToExecutor::Launch(message)),
    }));
    if sent.is_err() {
        // The channel is closing; the executor is about to be removed.
        return Err(assignment);
    }
    Ok(())
}

/// Tells `executor` to stop attempt `task_attempt_id` at its next record.
fn tell_kill(state: &State, executor: &str, task_attempt_id: u64, reason: &str) {
    if let Some(data) = state.executors.get(executor) {
        let kill = KillTask {
            task_attempt_id,
            reason: reason.to_string(),
        };
        let _ = data.tx.send(Ok(DriverMessage {
            kind: Some(ToExecutor::KillTask(kill)),
        }));
    }
}

/// The host of an executor: where its block server listens.
fn executor_host(info: &ExecutorInfo) -> String {
    info.address
        .rsplit_once(':')
        .map_or(info.address.as_str(), |(host, _)| host)
        .to_string()
}

fn finish(launch: &Launch, result: Result<super::events::TaskSuccess>) {
    let result = result.map_err(|error| TaskFailure { error });
    let _ = launch.reply.send(TaskUpdate::Finished(TaskEvent {
        id: launch.id,
        result,
    }));
}

/// Every so often: declares executors lost whose last word is older than
/// `ember.network.timeout`, offers free slots again to attempts whose locality wait ran out
/// (Spark's `spark.scheduler.revive.interval`), and asks for copies of slow attempts when
/// `ember.speculation` is on.
async fn watch_executors(shared: Weak<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        {
            let mut state = shared.state.lock();
            for slow in state.scheduler.speculatable(Instant::now()) {
                tracing::info!(
                    "task {} in stage {}.{} (TID {}) on executor {} is slow: speculating",
                    slow.id.partition,
                    slow.id.stage_id,
                    slow.id.stage_attempt,
                    slow.id.task_attempt_id,
                    slow.executor
                );
                slow.reply
                    .send(TaskUpdate::SpeculationWanted(slow.id, slow.executor));
            }
            shared.schedule(&mut state);
        }
        let timeout = shared.settings.network_timeout;
        let silent: Vec<String> = shared
            .state
            .lock()
            .executors
            .values()
            .filter(|e| e.last_heard.elapsed() > timeout)
            .map(|e| e.info.executor_id.clone())
            .collect();
        for id in silent {
            let reason = format!(
                "no heartbeat for more than {} ms ({})",
                timeout.as_millis(),
                keys::NETWORK_TIMEOUT.key
            );
            shared.executor_lost(&id, &reason);
        }
    }
}

/// The driver's RPC service.
struct DriverEndpoint {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Driver for DriverEndpoint {
    type RegisterStream = UnboundedReceiverStream<Result<DriverMessage, Status>>;

    async fn register(
        &self,
        request: Request<Streaming<ExecutorMessage>>,
    ) -> Result<Response<Self::RegisterStream>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.and_then(|m| m.kind);
        let Some(FromExecutor::Register(register)) = first else {
            return Err(Status::invalid_argument(
                "the first message must be a registration",
            ));
        };
        if let Some(reason) = self.shared.refusal(&register) {
            tracing::error!("refused an executor: {reason}");
            self.shared.state.lock().refused.push(reason.clone());
            self.shared.changed.notify_all();
            return Err(Status::failed_precondition(reason));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Ok(DriverMessage {
            kind: Some(ToExecutor::Registered(Registered {
                conf: self.shared.conf.clone(),
            })),
        }));
        let id = register.executor_id.clone();
        let info = ExecutorInfo {
            executor_id: id.clone(),
            address: format!("{}:{}", register.host, register.block_port),
            cores: register.cores as usize,
            pid: register.pid,
        };
        tracing::info!(
            "registered executor {id} (pid {}, {} cores, blocks at {})",
            info.pid,
            info.cores,
            info.address
        );
        {
            let mut state = self.shared.state.lock();
            state.registered.insert(id.clone());
            let host = executor_host(&info);
            state.scheduler.executor_added(&id, &host, info.cores);
            state.executors.insert(
                id.clone(),
                ExecutorData {
                    info,
                    tx,
                    last_heard: Instant::now(),
                },
            );
            self.shared.schedule(&mut state);
        }
        self.shared.changed.notify_all();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let reason = loop {
                match inbound.message().await {
                    Ok(Some(message)) => shared.executor_said(&id, message),
                    Ok(None) => break "its connection to the driver closed".to_string(),
                    Err(status) => break format!("its connection failed: {}", status.message()),
                }
            };
            shared.executor_lost(&id, &reason);
        });
        Ok(Response::new(UnboundedReceiverStream::new(rx)))
    }

    async fn get_broadcast(
        &self,
        request: Request<BroadcastRequest>,
    ) -> Result<Response<BroadcastReply>, Status> {
        let request = request.into_inner();
        let id = request.broadcast_id;
        if !request.from_driver {
            let holders = self.shared.live_broadcast_holders(id, &request.executor_id);
            if !holders.is_empty() {
                return Ok(Response::new(BroadcastReply {
                    data: Default::default(),
                    holders,
                }));
            }
        }
        let data = self
            .shared
            .env
            .broadcast_manager
            .serialized(id)
            .map_err(|e| Status::not_found(e.to_string()))?;
        self.shared
            .broadcast_fetches
            .fetch_add(1, Ordering::Relaxed);
        let mut holders = self.shared.broadcast_holders.lock();
        let known = holders.entry(id).or_default();
        if !known.contains(&request.executor_id) {
            known.push(request.executor_id);
        }
        Ok(Response::new(BroadcastReply {
            data: data.into(),
            holders: Vec::new(),
        }))
    }

    async fn get_block_locations(
        &self,
        request: Request<BlockLocationsRequest>,
    ) -> Result<Response<BlockLocations>, Status> {
        let request = request.into_inner();
        let holders = self
            .shared
            .env
            .block_manager_master
            .locations(request.rdd_id as usize, request.partition as usize);
        let state = self.shared.state.lock();
        let locations = holders
            .into_iter()
            .filter_map(|id| state.executors.get(&id))
            .map(|e| BlockLocation {
                executor_id: e.info.executor_id.clone(),
                address: e.info.address.clone(),
            })
            .collect();
        Ok(Response::new(BlockLocations { locations }))
    }

    async fn get_pending_tasks(
        &self,
        _request: Request<PendingTasksRequest>,
    ) -> Result<Response<PendingTasksReply>, Status> {
        let (tasks, per_host) = self.shared.state.lock().scheduler.tasks_per_host();
        Ok(Response::new(PendingTasksReply {
            tasks: tasks as u64,
            tasks_per_host: per_host
                .into_iter()
                .map(|(host, n)| (host, n as u64))
                .collect(),
        }))
    }

    async fn ask_commit(
        &self,
        request: Request<AskCommitRequest>,
    ) -> Result<Response<AskCommitReply>, Status> {
        let r = request.into_inner();
        let ask = CommitAsk {
            stage: r.stage_id as usize,
            stage_attempt: r.stage_attempt as usize,
            partition: r.partition as usize,
            task_attempt_id: r.task_attempt_id,
        };
        let allowed = self.shared.env.output_commits.can_commit(&ask);
        Ok(Response::new(AskCommitReply { allowed }))
    }

    async fn ask_endpoint(
        &self,
        request: Request<EndpointRequest>,
    ) -> Result<Response<BytesMessage>, Status> {
        let r = request.into_inner();
        let env = self.shared.env.clone();
        // Handlers may take a lock: off the threads that serve every connection.
        let reply = tokio::task::spawn_blocking(move || {
            env.endpoints.ask(&r.endpoint, &r.executor_id, &r.payload)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::failed_precondition(e.to_string()))?;
        Ok(Response::new(BytesMessage { data: reply.into() }))
    }

    async fn get_map_statuses(
        &self,
        request: Request<MapStatusesRequest>,
    ) -> Result<Response<BytesMessage>, Status> {
        let shuffle = request.into_inner().shuffle_id as usize;
        let statuses = self.shared.env.map_output_tracker.statuses(shuffle);
        let data = bincode::serialize(&statuses).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(BytesMessage { data: data.into() }))
    }
}

impl Shared {
    /// The live executors other than `asker` holding broadcast `id`.
    fn live_broadcast_holders(&self, id: u64, asker: &str) -> Vec<BlockLocation> {
        let holders = self
            .broadcast_holders
            .lock()
            .get(&id)
            .cloned()
            .unwrap_or_default();
        let state = self.state.lock();
        holders
            .iter()
            .filter(|h| h.as_str() != asker)
            .filter_map(|h| state.executors.get(h))
            .map(|e| BlockLocation {
                executor_id: e.info.executor_id.clone(),
                address: e.info.address.clone(),
            })
            .collect()
    }

    fn executor_said(self: &Arc<Self>, executor: &str, message: ExecutorMessage) {
        match message.kind {
            Some(FromExecutor::Status(status)) => self.task_status(executor, status),
            Some(FromExecutor::Heartbeat(_)) => {
                if let Some(data) = self.state.lock().executors.get_mut(executor) {
                    data.last_heard = Instant::now();
                }
            }
            Some(FromExecutor::Register(_)) | None => {}
        }
    }
}
