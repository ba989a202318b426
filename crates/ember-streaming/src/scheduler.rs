//! Running batches (Spark's `JobGenerator` and `JobScheduler`).
//!
//! Two threads per running [`StreamingContext`](crate::StreamingContext):
//!
//! 1. `ember-streaming-generator` waits on the context's clock for each batch time (the first
//!    multiple of the batch interval after `start`, then one interval apart), asks every
//!    output for its job of that time, and queues the batch. Making a batch's jobs makes its
//!    RDDs (and pops a queue stream's RDDs), but runs nothing.
//! 2. `ember-streaming-jobs` runs the queued batches one at a time, in order, each output's
//!    job in registration order; each is an ordinary ember job on the application's scheduler,
//!    in a job group of its own so that a forced stop can cancel it. After a batch it forgets
//!    the RDDs no stream needs any more, logs the batch's line and tells the listeners.
//!
//! Batches queue when processing is slower than the interval: the scheduling delay of each
//! batch's line then grows, and it is the sign to give the application more cores or a longer
//! interval.
//!
//! # Stopping
//!
//! A graceful stop generates the batches already due and runs every queued batch; a forced
//! one generates nothing more, drops the queued batches and cancels the running one's jobs.

use crate::checkpoint::Checkpointer;
use crate::clock::Clock;
use crate::listener::{BatchInfo, StreamingListener};
use crate::output::{OutputJob, OutputOp};
use crate::receiver::{RateController, ReceivedBlocks, ReceiverLauncher, ReceiverTracker};
use crate::time::Time;
use ember_core::{Context, Error, Result};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A batch's jobs, waiting to run, and what listeners hear of it.
struct JobSet {
    jobs: Vec<OutputJob>,
    info: BatchInfo,
}

/// What both threads share with the context.
pub(crate) struct Shared {
    pub(crate) ctx: Context,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) batch: Duration,
    pub(crate) outputs: Vec<Arc<OutputOp>>,
    pub(crate) receivers: Option<Receivers>,
    /// Writes the metadata checkpoint after every batch, when a directory is set.
    pub(crate) checkpointer: Option<Checkpointer>,
    pub(crate) listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>>,
    /// Called with every job's error; the context hands the first to `await_termination`.
    pub(crate) report_error: Box<dyn Fn(Error) + Send + Sync>,
}

/// The receivers of a started context and what batches do with what they received.
pub(crate) struct Receivers {
    /// Taken when the context stops.
    pub(crate) tracker: Mutex<Option<ReceiverTracker>>,
    pub(crate) received: Arc<ReceivedBlocks>,
    pub(crate) launchers: Vec<Arc<ReceiverLauncher>>,
    /// Under backpressure: the rate each batch sets.
    pub(crate) rate: Option<Mutex<RateController>>,
    /// `ember.streaming.receiver.maxRate`: backpressure sets no higher rate (0: no limit).
    pub(crate) max_rate: u64,
}

impl Receivers {
    /// After batch `info`: drops the blocks no stream reads any more, and sets the rate.
    fn batch_completed(&self, ctx: &Context, info: &BatchInfo) {
        for launcher in &self.launchers {
            let remember = launcher.node.base().remember_duration();
            let oldest_kept = info.batch_time - remember + Duration::from_millis(1);
            self.received
                .forget_before(ctx, launcher.stream, oldest_kept);
        }
        let Some(controller) = &self.rate else {
            return;
        };
        let rate = controller.lock().compute(
            info.batch_time.millis(),
            info.num_records.unwrap_or(0),
            info.processing_delay().unwrap_or_default(),
            info.scheduling_delay().unwrap_or_default(),
        );
        if let Some(rate) = rate {
            let rate = match self.max_rate {
                0 => rate,
                max => rate.min(max),
            };
            tracing::debug!("backpressure: receivers may store {rate} records a second");
            self.received.set_rate(rate);
        }
    }
}

/// The running threads of a started context.
pub(crate) struct Running {
    /// The last batch time to generate, in ms: `i64::MAX` while running.
    stop_after: Arc<AtomicI64>,
    drop_pending: Arc<AtomicBool>,
    generator: JoinHandle<()>,
    runner: JoinHandle<()>,
    shared: Arc<Shared>,
}

/// Starts generating batches from `start` on (the first batch time).
///
/// # Errors
/// The system refused a thread.
pub(crate) fn start(shared: Arc<Shared>, start: Time) -> Result<Running> {
    let (queue, batches) = mpsc::channel::<JobSet>();
    let stop_after = Arc::new(AtomicI64::new(i64::MAX));
    let drop_pending = Arc::new(AtomicBool::new(false));
    let generator = {
        let (shared, stop) = (shared.clone(), stop_after.clone());
        spawn("ember-streaming-generator", move || {
            generate(&shared, start, &stop, &queue)
        })?
    };
    let runner = {
        let (shared, drop_pending) = (shared.clone(), drop_pending.clone());
        spawn("ember-streaming-jobs", move || {
            for set in batches {
                if drop_pending.load(Ordering::SeqCst) {
                    tracing::info!("dropped batch {} on stop", set.info.batch_time);
                    continue;
                }
                run_batch(&shared, set);
            }
        })?
    };
    Ok(Running {
        stop_after,
        drop_pending,
        generator,
        runner,
        shared,
    })
}

impl Running {
    /// Stops receiving and generating batches. A `graceful` stop lets receivers store and
    /// report what they hold, generates the batches due by now (one more when there are
    /// receivers, so that it takes their last blocks) and runs every queued batch; otherwise
    /// receivers are stopped at once, queued batches are dropped and the running one's jobs
    /// cancelled. Returns when every thread has ended.
    pub(crate) fn stop(self, graceful: bool) {
        let shared = &self.shared;
        let tracker = shared
            .receivers
            .as_ref()
            .and_then(|r| r.tracker.lock().take());
        let had_receivers = tracker.is_some();
        if let Some(tracker) = tracker {
            tracker.stop(graceful);
        }
        let now = shared.clock.now();
        let last = match (graceful, had_receivers) {
            (false, _) => i64::MIN,
            (true, false) => now.millis(),
            (true, true) => (now.floor(shared.batch) + shared.batch).millis(),
        };
        self.stop_after.store(last, Ordering::SeqCst);
        if !graceful {
            self.drop_pending.store(true, Ordering::SeqCst);
            shared.ctx.cancel_job_group(JOB_GROUP);
        }
        // The generator owns the queue's sender: once it ends, the runner ends after the
        // batches left in the queue.
        let _ = self.generator.join();
        let _ = self.runner.join();
    }
}

/// The job group of every streaming job.
const JOB_GROUP: &str = "ember-streaming";

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| Error::io(format!("{name} thread"), e))
}

fn generate(shared: &Shared, start: Time, stop_after: &AtomicI64, queue: &mpsc::Sender<JobSet>) {
    let mut time = start;
    loop {
        let past_the_last = || time.millis() > stop_after.load(Ordering::SeqCst);
        let now = shared.clock.wait_till(time, &past_the_last);
        // Woken before the batch was due, or past the last batch a stop lets through.
        if now < time || time.millis() > stop_after.load(Ordering::SeqCst) {
            return;
        }
        if let Some(receivers) = &shared.receivers {
            receivers.received.allocate_batch(time);
        }
        let mut jobs = Vec::new();
        for output in &shared.outputs {
            match output.generate_job(time) {
                Ok(job) => jobs.extend(job),
                Err(e) => (shared.report_error)(e),
            }
        }
        let info = BatchInfo {
            batch_time: time,
            submission_time: shared.clock.now(),
            processing_start_time: None,
            processing_end_time: None,
            num_records: shared
                .receivers
                .as_ref()
                .map(|r| r.received.records_of(time)),
            output_operations: jobs.len(),
            failures: Vec::new(),
        };
        shared.tell(|l| l.on_batch_submitted(&info));
        if queue.send(JobSet { jobs, info }).is_err() {
            return;
        }
        time = time + shared.batch;
    }
}

impl Shared {
    /// Tells every listener, in the order they were added.
    pub(crate) fn tell(&self, event: impl Fn(&dyn StreamingListener)) {
        for listener in self.listeners.lock().clone() {
            event(&*listener);
        }
    }
}

fn run_batch(shared: &Shared, set: JobSet) {
    let JobSet { jobs, mut info } = set;
    let time = info.batch_time;
    info.processing_start_time = Some(shared.clock.now());
    shared.tell(|l| l.on_batch_started(&info));
    let ctx = &shared.ctx;
    ctx.set_job_group(JOB_GROUP, &format!("streaming batch {time}"), true);
    for job in jobs {
        if let Err(e) = run_job(job) {
            tracing::error!("a job of batch {time} failed: {e}");
            info.failures.push(e.to_string());
            (shared.report_error)(e);
        }
    }
    ctx.clear_job_group();
    for output in &shared.outputs {
        output.stream.clear_metadata(time);
    }
    if let Some(checkpointer) = &shared.checkpointer {
        checkpointer.write(ctx, time);
    }
    info.processing_end_time = Some(shared.clock.now());
    tracing::info!("{}", info.summary());
    if let Some(receivers) = &shared.receivers {
        receivers.batch_completed(ctx, &info);
    }
    shared.tell(|l| l.on_batch_completed(&info));
}

/// Runs one output's job; a panic in the application's output function fails the job (and
/// reaches `await_termination`) instead of ending the thread that runs every batch.
fn run_job(job: OutputJob) -> Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Err(Error::UserCode(format!(
            "an output operation panicked: {message}"
        )))
    })
}
