//! The executor role: this binary started to run tasks for a driver (Spark's
//! `CoarseGrainedExecutorBackend`).
//!
//! An application is one binary in three roles. Whoever starts an executor (the driver of a
//! `local-cluster` application, or what a cluster manager drives, such as a node of the
//! cluster) runs the application's own executable
//! with the variables of [`ExecutorArgs`]. Before `main` runs, a constructor in this module sees
//! them and turns the process into an executor, so the user's `main` never runs there and every
//! binary that links ember (test binaries included) can serve as its own executor.
//!
//! # Protocol
//! 1. Bind the block server's port, then open the control channel to the driver and register:
//!    id, build id, host, block port, cores, pid. A driver of another build refuses; the executor
//!    prints why and exits with status 1.
//! 2. Build the [`Env`] from the settings the driver sends back (memory and cores as given to
//!    the executor), start the block server and the task slots.
//! 3. Run each task the driver sends on a slot; report RUNNING, then FINISHED with the result
//!    (results over `ember.task.maxDirectResultSize` stay here as blocks the driver takes) or
//!    FAILED with the error. Heartbeat every `ember.executor.heartbeatInterval`.
//! 4. Exit when the driver says so or the channel ends: a driver that went away leaves no
//!    executor behind.
//!
//! # Threads
//! The main thread reads the control channel; one `ember-task-<i>` thread per core runs tasks;
//! `ember-status` sends their reports; the block server, the heartbeat and every fetch run on
//! the process's I/O runtime (`ember-io`). `docs/threads-and-runtimes.md` has them all and the
//! rules of what may block where.

pub(crate) mod task_runner;

use crate::conf::{keys, EmberConf};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::block_transfer::{BlockTransferService, StoredResults};
use crate::network::executor_link::{ExecutorLink, FetchSettings};
use crate::network::rpc::block_transfer_server::BlockTransferServer;
use crate::network::rpc::driver_client::DriverClient;
use crate::network::rpc::driver_message::Kind as FromDriver;
use crate::network::rpc::executor_message::Kind as ToDriver;
use crate::network::rpc::{
    DriverMessage, ExecutorMessage, Heartbeat, LaunchTask, RegisterExecutor, TaskState, TaskStatus,
};
use crate::network::{channel, runtime, serve, MAX_MESSAGE};
use crate::scheduler::{RemoteTaskResult, TaskEvent, TaskId, TaskOutput};
use crate::storage::BlockId;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use task_runner::{StatusReporter, TaskDescription, TaskRunner};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::service::Routes;

const DRIVER_ENV: &str = "EMBER_EXECUTOR_DRIVER";
const ID_ENV: &str = "EMBER_EXECUTOR_ID";
const HOST_ENV: &str = "EMBER_EXECUTOR_HOST";
const CORES_ENV: &str = "EMBER_EXECUTOR_CORES";

/// What an executor is told when it starts, through environment variables: enough to reach
/// the driver. Everything else, its memory included, comes in the driver's answer to its
/// registration, so each setting has one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorArgs {
    /// The driver's `host:port`.
    pub driver_address: String,
    /// This executor's id, unique in the application.
    pub executor_id: String,
    /// The address other processes reach this executor at.
    pub host: String,
    /// Task slots.
    pub cores: usize,
}

impl ExecutorArgs {
    /// Sets the variables that make `command` start an executor.
    pub fn apply(&self, command: &mut Command) {
        command.envs(self.env());
    }

    /// The variables that make this binary start as an executor, for launchers that do not
    /// start it themselves (a cluster's node agent, told what to run).
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            (DRIVER_ENV, self.driver_address.clone()),
            (ID_ENV, self.executor_id.clone()),
            (HOST_ENV, self.host.clone()),
            (CORES_ENV, self.cores.to_string()),
        ]
    }

    /// The arguments of this process, if it was started as an executor.
    ///
    /// # Errors
    /// The variables are there but malformed.
    fn from_env() -> Option<std::result::Result<Self, String>> {
        let driver_address = std::env::var(DRIVER_ENV).ok()?;
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let number = |name: &str| -> std::result::Result<usize, String> {
            var(name)?
                .parse()
                .map_err(|_| format!("{name} is not a number"))
        };
        Some((|| {
            Ok(ExecutorArgs {
                driver_address,
                executor_id: var(ID_ENV)?,
                host: var(HOST_ENV)?,
                cores: number(CORES_ENV)?,
            })
        })())
    }
}

// Runs before `main`: a process started as an executor never reaches the application's `main`.
#[ctor::ctor(unsafe)]
fn become_executor_if_asked() {
    let Some(args) = ExecutorArgs::from_env() else {
        return;
    };
    // Processes this executor's tasks start are not executors.
    for name in [DRIVER_ENV, ID_ENV, HOST_ENV, CORES_ENV] {
        std::env::remove_var(name);
    }
    ignore_sigpipe();
    let code = match args {
        Ok(args) => {
            crate::logging::init("warn");
            // A constructor must not unwind: a panic here ends the process with a message.
            match std::panic::catch_unwind(|| run(&args)) {
                Ok(Ok(())) => 0,
                Ok(Err(e)) => {
                    eprintln!("ember: executor {}: {e}", args.executor_id);
                    1
                }
                Err(_) => {
                    eprintln!(
                        "ember: executor {} failed; see the panic above",
                        args.executor_id
                    );
                    1
                }
            }
        }
        Err(reason) => {
            eprintln!("ember: cannot start as an executor: {reason}");
            2
        }
    };
    std::process::exit(code);
}

/// Ignores SIGPIPE, as Rust's `main` does before it starts: this process never reaches `main`,
/// and without it a write to a pipe whose reader has gone (a `pipe` command that exits without
/// reading its input) would kill the executor instead of failing one task.
#[cfg(unix)]
fn ignore_sigpipe() {
    // SAFETY: sets the disposition of one signal to "ignore", which runs no code of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
fn ignore_sigpipe() {}

/// Serves the driver until it lets go. Returns only on errors before the first task; once
/// registered, the process exits from here.
fn run(args: &ExecutorArgs) -> Result<()> {
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind((args.host.as_str(), 0)))
        .map_err(|e| Error::io(format!("block server port on {}", args.host), e))?;
    let block_port = listener
        .local_addr()
        .map_err(|e| Error::io("block server port", e))?
        .port();
    let (to_driver, outbound) = mpsc::unbounded_channel::<ExecutorMessage>();
    let _ = to_driver.send(message(ToDriver::Register(RegisterExecutor {
        executor_id: args.executor_id.clone(),
        build_id: crate::ship::build_id()?,
        host: args.host.clone(),
        block_port: block_port as u32,
        cores: args.cores as u32,
        pid: std::process::id(),
    })));
    let mut driver = DriverClient::new(channel(&args.driver_address)?)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let mut inbound = rt
        .block_on(driver.register(UnboundedReceiverStream::new(outbound)))
        .map_err(|s| Error::Rpc {
            peer: format!("driver {}", args.driver_address),
            message: s.message().to_string(),
        })?
        .into_inner();
    let conf = match rt.block_on(inbound.message()) {
        Ok(Some(DriverMessage {
            kind: Some(FromDriver::Registered(r)),
        })) => r.conf,
        _ => {
            return Err(Error::Input(
                "the driver did not answer the registration".into(),
            ))
        }
    };
    let conf = conf
        .into_iter()
        .fold(EmberConf::empty(), |c, (k, v)| c.set(k, v));
    let env = Arc::new(Env::new(&conf, &args.executor_id, args.cores)?);
    let link = ExecutorLink::new(
        &args.driver_address,
        format!("{}:{block_port}", args.host),
        FetchSettings::from_conf(&conf)?,
    )?;
    let _ = env.link.set(Arc::new(link));
    // The driver checked that it runs this very build: its tasks' code offsets are ours.
    crate::ship::trust_same_build();
    let stored = Arc::new(StoredResults::default());
    serve_blocks(listener, env.clone(), stored.clone());
    let reporter = report_updates(
        to_driver.clone(),
        stored,
        conf.require(&keys::TASK_MAX_DIRECT_RESULT_SIZE)?,
    )?;
    let slots = TaskRunner::start(args.cores, env.clone(), reporter.clone(), "ember-task")?;
    rt.spawn(heartbeat(
        to_driver,
        conf.require(&keys::EXECUTOR_HEARTBEAT_INTERVAL)?,
    ));
    loop {
        let kind = match rt.block_on(inbound.message()) {
            Ok(Some(m)) => m.kind,
            Ok(None) | Err(_) => break,
        };
        match kind {
            Some(FromDriver::Launch(task)) => {
                let task = description(task);
                reporter
                    .kill_flags
                    .lock()
                    .insert(task.id.task_attempt_id, task.killed.clone());
                // The queue closes only when this process exits.
                let _ = slots.submit(task);
            }
            Some(FromDriver::KillTask(kill)) => {
                if let Some(flag) = reporter.kill_flags.lock().get(&kill.task_attempt_id) {
                    tracing::info!("killing task {}: {}", kill.task_attempt_id, kill.reason);
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Some(FromDriver::RemoveBroadcast(b)) => {
                env.broadcast_manager.remove_copy(b.broadcast_id)
            }
            Some(FromDriver::RemoveRdd(r)) => env.block_manager.remove_rdd(r.rdd_id as usize),
            Some(FromDriver::RemoveBlocks(r)) => {
                for id in r.block_ids.iter().filter_map(|b| BlockId::parse(b)) {
                    env.block_manager.remove(id);
                }
            }
            Some(FromDriver::Shutdown(_)) => break,
            Some(FromDriver::Registered(_)) | None => {}
        }
    }
    tracing::debug!("executor {} stopping", args.executor_id);
    // Running tasks are abandoned with the process; the driver no longer wants them. Their
    // files are not: `exit` runs no destructors, so the scratch directory goes by hand.
    env.remove_scratch();
    std::process::exit(0)
}

fn message(kind: ToDriver) -> ExecutorMessage {
    ExecutorMessage { kind: Some(kind) }
}

fn serve_blocks(listener: tokio::net::TcpListener, env: Arc<Env>, stored: Arc<StoredResults>) {
    let service = BlockTransferServer::new(BlockTransferService { env, stored })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    // It serves until the process exits.
    let forever = std::future::pending::<()>();
    serve(listener, Routes::new(service), forever, "block server");
}

fn description(task: LaunchTask) -> TaskDescription {
    TaskDescription {
        id: TaskId {
            stage_id: task.stage_id as usize,
            stage_attempt: task.stage_attempt as usize,
            partition: task.partition as usize,
            rdd_partition: task.rdd_partition as usize,
            attempt: task.attempt as usize,
            task_attempt_id: task.task_attempt_id,
        },
        bytes: task.task.to_vec(),
        killed: Arc::new(AtomicBool::new(false)),
    }
}

/// What the slots report, on its way to the driver.
enum SlotUpdate {
    Started(TaskId),
    Finished(TaskEvent),
}

/// Hands the slots' reports to the thread that sends them to the driver.
struct Reporter {
    updates: crossbeam_channel::Sender<SlotUpdate>,
    /// The kill flag of each attempt here, until it finishes.
    kill_flags: parking_lot::Mutex<std::collections::HashMap<u64, Arc<AtomicBool>>>,
}

impl StatusReporter for Reporter {
    fn started(&self, id: TaskId) {
        let _ = self.updates.send(SlotUpdate::Started(id));
    }
    fn finished(&self, event: TaskEvent) {
        self.kill_flags.lock().remove(&event.id.task_attempt_id);
        let _ = self.updates.send(SlotUpdate::Finished(event));
    }
}

/// Forwards the slots' updates to the driver, storing large results as blocks.
fn report_updates(
    to_driver: mpsc::UnboundedSender<ExecutorMessage>,
    stored: Arc<StoredResults>,
    max_direct: u64,
) -> Result<Arc<Reporter>> {
    let (reports, updates) = crossbeam_channel::unbounded::<SlotUpdate>();
    std::thread::Builder::new()
        .name("ember-status".into())
        .spawn(move || {
            for update in updates {
                let status = match update {
                    SlotUpdate::Started(id) => TaskStatus {
                        task_attempt_id: id.task_attempt_id,
                        state: TaskState::Running.into(),
                        payload: Default::default(),
                    },
                    SlotUpdate::Finished(event) => {
                        finished_status(event.id, event.result.into(), &stored, max_direct)
                    }
                };
                if to_driver.send(message(ToDriver::Status(status))).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| Error::io("executor status thread", e))?;
    Ok(Arc::new(Reporter {
        updates: reports,
        kill_flags: Default::default(),
    }))
}

fn finished_status(
    id: TaskId,
    mut result: RemoteTaskResult,
    stored: &StoredResults,
    max_direct: u64,
) -> TaskStatus {
    if let RemoteTaskResult::Success(success) = &mut result {
        if let TaskOutput::Value(bytes) = &mut success.output {
            if bytes.len() as u64 > max_direct {
                let block = format!("taskresult_{}", id.task_attempt_id);
                let size = bytes.len() as u64;
                stored.put(block.clone(), std::mem::take(bytes));
                success.output = TaskOutput::Stored { block, size };
            }
        }
    }
    let state = match result {
        RemoteTaskResult::Success(_) => TaskState::Finished,
        RemoteTaskResult::Failure(_) => TaskState::Failed,
    };
    let payload = bincode::serialize(&result).unwrap_or_else(|e| {
        let failure = RemoteTaskResult::Failure((&Error::from(e)).into());
        bincode::serialize(&failure).unwrap_or_default()
    });
    TaskStatus {
        task_attempt_id: id.task_attempt_id,
        state: state.into(),
        payload: payload.into(),
    }
}

async fn heartbeat(to_driver: mpsc::UnboundedSender<ExecutorMessage>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        if to_driver
            .send(message(ToDriver::Heartbeat(Heartbeat::default())))
            .is_err()
        {
            return;
        }
    }
}
