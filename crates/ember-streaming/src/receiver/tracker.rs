//! The driver's side of receivers (Spark's `ReceiverTracker` and `ReceivedBlockTracker`):
//! launches each receiver as a job and launches it again when it fails, takes their reports
//! through a driver endpoint, and hands the blocks reported to batches.

use super::block_rdd::ReceivedBlock;
use super::SupervisorSettings;
use crate::dstream::GraphNode;
use crate::listener::{ReceiverInfo, StreamingListener};
use crate::time::Time;
use ember_core::{Context, Error, Rdd, Result};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a receiver's task asks the tracker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum TrackerRequest {
    /// The receiver is starting on the asking executor.
    Register { stream: usize },
    /// Blocks stored and errors met since the last report.
    Report(Report),
}

/// A receiver's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) stream: usize,
    pub(crate) blocks: Vec<ReceivedBlock>,
    pub(crate) errors: Vec<String>,
    /// Set in the last report of a receiver that stopped, with why.
    pub(crate) stopped: Option<String>,
}

/// The tracker's answer to every request.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TrackerReply {
    /// The streaming context is stopping: stop receiving.
    pub(crate) stop: bool,
    /// The rate backpressure set, records a second.
    pub(crate) rate: Option<u64>,
    /// On registration: the number of the receiver's first block (unique across restarts).
    pub(crate) first_block: u64,
}

/// Blocks received and the batches they went to; the endpoint's state. Shared by the
/// receiver streams (which take blocks per batch), the tracker and the batch runner.
pub(crate) struct ReceivedBlocks {
    state: Mutex<State>,
    listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>>,
}

#[derive(Default)]
struct State {
    stopping: bool,
    registrations: u64,
    names: HashMap<usize, String>,
    unallocated: HashMap<usize, Vec<ReceivedBlock>>,
    /// Each stream's blocks by the batch they went to, until no stream needs them.
    allocated: HashMap<usize, BTreeMap<Time, Vec<ReceivedBlock>>>,
    rates: HashMap<usize, u64>,
    receivers: HashMap<usize, ReceiverInfo>,
    /// Receivers that stopped of their own accord: not launched again.
    done: HashSet<usize>,
}

impl ReceivedBlocks {
    pub(crate) fn new(listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>>) -> Self {
        ReceivedBlocks {
            state: Mutex::default(),
            listeners,
        }
    }

    /// Names stream `stream` for logs and listeners.
    pub(crate) fn add_stream(&self, stream: usize, name: &str) {
        self.state.lock().names.insert(stream, name.to_string());
    }

    /// Answers a receiver's request.
    fn handle(&self, executor: &str, request: TrackerRequest) -> TrackerReply {
        let mut guard = self.state.lock();
        // Fields borrowed apart: the receiver's entry and the block lists.
        let state = &mut *guard;
        let stream = match &request {
            TrackerRequest::Register { stream } => *stream,
            TrackerRequest::Report(report) => report.stream,
        };
        let name = state.names.get(&stream).cloned().unwrap_or_default();
        let info = state
            .receivers
            .entry(stream)
            .or_insert_with(|| ReceiverInfo::new(stream, &name));
        let mut events = Vec::new();
        let mut first_block = 0;
        match request {
            TrackerRequest::Register { .. } => {
                info.active = true;
                info.executor_id = executor.to_string();
                events.push((Event::Started, info.clone()));
                tracing::info!(
                    "receiver of stream {stream} ({name}) started on executor {executor}"
                );
                state.registrations += 1;
                first_block = state.registrations << 32;
            }
            TrackerRequest::Report(report) => {
                for error in report.errors {
                    tracing::warn!("receiver of stream {stream} ({name}): {error}");
                    info.last_error = Some(error);
                    events.push((Event::Error, info.clone()));
                }
                if let Some(why) = &report.stopped {
                    info.active = false;
                    events.push((Event::Stopped, info.clone()));
                    tracing::info!("receiver of stream {stream} ({name}) stopped: {why}");
                    if !state.stopping {
                        state.done.insert(stream);
                    }
                }
                state
                    .unallocated
                    .entry(stream)
                    .or_default()
                    .extend(report.blocks);
            }
        }
        let reply = TrackerReply {
            stop: state.stopping,
            rate: state.rates.get(&stream).copied(),
            first_block,
        };
        drop(guard);
        self.tell(events);
        reply
    }

    /// Receiver `stream`'s job failed with `why`.
    fn failed(&self, stream: usize, why: &str) {
        let info = {
            let mut state = self.state.lock();
            let name = state.names.get(&stream).cloned().unwrap_or_default();
            let info = state
                .receivers
                .entry(stream)
                .or_insert_with(|| ReceiverInfo::new(stream, &name));
            info.active = false;
            info.last_error = Some(why.to_string());
            info.clone()
        };
        self.tell(vec![(Event::Error, info)]);
    }

    fn tell(&self, events: Vec<(Event, ReceiverInfo)>) {
        if events.is_empty() {
            return;
        }
        let listeners = self.listeners.lock().clone();
        for (event, info) in events {
            for listener in &listeners {
                match event {
                    Event::Started => listener.on_receiver_started(&info),
                    Event::Error => listener.on_receiver_error(&info),
                    Event::Stopped => listener.on_receiver_stopped(&info),
                }
            }
        }
    }

    /// Gives batch `time` every block reported so far (Spark's `allocateBlocksToBatch`),
    /// whether or not a stream reads the batch then: a window reads its batches only every
    /// slide, yet each batch holds what arrived before its time.
    pub(crate) fn allocate_batch(&self, time: Time) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        for (&stream, blocks) in state.unallocated.iter_mut() {
            let batches = state.allocated.entry(stream).or_default();
            batches.entry(time).or_default().append(blocks);
        }
    }

    /// The blocks of `stream` that went to batch `time`.
    pub(crate) fn blocks_of(&self, stream: usize, time: Time) -> Vec<ReceivedBlock> {
        let state = self.state.lock();
        let batch = state.allocated.get(&stream).and_then(|b| b.get(&time));
        batch.cloned().unwrap_or_default()
    }

    /// Records received by every receiver in batch `time`.
    pub(crate) fn records_of(&self, time: Time) -> u64 {
        let state = self.state.lock();
        let batches = state.allocated.values().filter_map(|b| b.get(&time));
        batches.flatten().map(|b| b.records).sum()
    }

    /// Removes the blocks `stream` took for batches before `time`, everywhere.
    pub(crate) fn forget_before(&self, ctx: &Context, stream: usize, time: Time) {
        let old = {
            let mut state = self.state.lock();
            let Some(batches) = state.allocated.get_mut(&stream) else {
                return;
            };
            let keep = batches.split_off(&time);
            std::mem::replace(batches, keep)
        };
        let blocks: Vec<ReceivedBlock> = old.into_values().flatten().collect();
        if blocks.is_empty() {
            return;
        }
        ctx.remove_blocks(&blocks.iter().map(|b| b.id).collect::<Vec<_>>());
        for log in blocks.iter().filter_map(|b| b.log.as_deref()) {
            if let Err(e) = ctx.env().delete_file(log) {
                tracing::warn!("write-ahead log file {log} not deleted: {e}");
            }
        }
    }

    /// Sets every receiver's rate (backpressure).
    pub(crate) fn set_rate(&self, rate: u64) {
        let mut state = self.state.lock();
        let streams: Vec<usize> = state.names.keys().copied().collect();
        for stream in streams {
            state.rates.insert(stream, rate);
        }
    }

    fn is_stopping(&self) -> bool {
        self.state.lock().stopping
    }

    fn should_relaunch(&self, stream: usize) -> bool {
        let state = self.state.lock();
        !state.stopping && !state.done.contains(&stream)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Started,
    Error,
    Stopped,
}

/// Makes the one-task RDD that runs a receiver, once.
pub(crate) type MakeReceiverRdd = Box<dyn FnOnce(&SupervisorSettings) -> Rdd<()> + Send>;

/// A receiver stream's receiver, ready to be launched.
pub(crate) struct ReceiverLauncher {
    pub(crate) stream: usize,
    pub(crate) name: String,
    /// The stream's node: how long it remembers its batches says when their blocks can go.
    pub(crate) node: Arc<dyn GraphNode>,
    pub(crate) make: Mutex<Option<MakeReceiverRdd>>,
}

/// The job group of every receiver's job.
const RECEIVER_GROUP: &str = "ember-streaming-receivers";

/// The running receivers of a started context.
pub(crate) struct ReceiverTracker {
    ctx: Context,
    blocks: Arc<ReceivedBlocks>,
    endpoint: String,
    threads: Vec<JoinHandle<()>>,
}

impl ReceiverTracker {
    /// Sets up the endpoint and launches every receiver.
    ///
    /// # Errors
    /// The system refused a thread.
    pub(crate) fn start(
        ctx: &Context,
        blocks: Arc<ReceivedBlocks>,
        launchers: &[Arc<ReceiverLauncher>],
        settings: SupervisorSettings,
    ) -> Result<ReceiverTracker> {
        let handler = blocks.clone();
        ctx.set_endpoint(&settings.endpoint, move |executor: &str, request| {
            Ok(handler.handle(executor, request))
        });
        let mut threads = Vec::new();
        for launcher in launchers {
            let Some(make) = launcher.make.lock().take() else {
                continue;
            };
            let rdd = make(&settings);
            let (ctx, blocks, launcher) = (ctx.clone(), blocks.clone(), launcher.clone());
            let delay = settings.restart_delay;
            let thread = std::thread::Builder::new()
                .name(format!("ember-streaming-receiver-{}", launcher.stream))
                .spawn(move || keep_running(&ctx, &blocks, &launcher, &rdd, delay))
                .map_err(|e| Error::io("a streaming receiver thread", e))?;
            threads.push(thread);
        }
        Ok(ReceiverTracker {
            ctx: ctx.clone(),
            blocks,
            endpoint: settings.endpoint,
            threads,
        })
    }

    /// Stops every receiver: they store what they hold and report it. A `graceful` stop
    /// waits up to ten seconds for that; otherwise, or after that, their tasks are killed.
    pub(crate) fn stop(self, graceful: bool) {
        self.blocks.state.lock().stopping = true;
        let deadline = Instant::now() + Duration::from_secs(if graceful { 10 } else { 0 });
        while Instant::now() < deadline && self.threads.iter().any(|t| !t.is_finished()) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.threads.iter().any(|t| !t.is_finished()) {
            self.ctx.cancel_job_group(RECEIVER_GROUP);
        }
        for thread in self.threads {
            let _ = thread.join();
        }
        self.ctx.remove_endpoint(&self.endpoint);
    }
}

/// Runs a receiver's job, again after each failure, until the context stops or the receiver
/// stops of its own accord.
fn keep_running(
    ctx: &Context,
    blocks: &ReceivedBlocks,
    launcher: &ReceiverLauncher,
    rdd: &Rdd<()>,
    restart_delay: Duration,
) {
    ctx.set_job_group(
        RECEIVER_GROUP,
        &format!("receiver of {}", launcher.name),
        true,
    );
    while blocks.should_relaunch(launcher.stream) {
        let ended = rdd.count();
        if !blocks.should_relaunch(launcher.stream) {
            break;
        }
        let why = match ended {
            Ok(_) => "its task ended".to_string(),
            Err(e) => e.to_string(),
        };
        blocks.failed(launcher.stream, &why);
        tracing::warn!(
            "receiver of stream {} ({}) failed, launching it again in {} ms: {why}",
            launcher.stream,
            launcher.name,
            restart_delay.as_millis()
        );
        let until = Instant::now() + restart_delay;
        while Instant::now() < until && !blocks.is_stopping() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
