//! Receivers: long-running tasks that take records in from outside (a socket, a message bus)
//! and store them in blocks on their executor (Spark's `Receiver` and its supervisor).
//!
//! # How received records become batches
//!
//! ```text
//!  executor                                        driver
//!  ┌───────────────────────────────┐              ┌──────────────────────────────────────┐
//!  │ receiver task                 │  report      │ receiver tracker (an endpoint)       │
//!  │  on_start ─> store(record)    │─────────────>│  blocks received, not yet in a batch │
//!  │  every ember.streaming.       │  stop, rate  │                │ at batch time t      │
//!  │  blockInterval: a block       │<─────────────│                v                     │
//!  │  input-<stream>-<n> in the    │              │  batch t's BlockRdd: one partition   │
//!  │  block manager                │              │  per block, run where it is stored   │
//!  └───────────────────────────────┘              └──────────────────────────────────────┘
//! ```
//!
//! 1. At [`StreamingContext::start`](crate::StreamingContext::start) every receiver is
//!    launched as a job of one task, which takes a task slot for as long as the stream runs:
//!    an application needs more slots than receivers, or nothing is left to process batches.
//! 2. The task calls [`Receiver::on_start`], which starts the receiver's own threads; they
//!    hand records to [`ReceiverContext::store`]. Every block interval the task stores what
//!    came as one block in its executor's block manager and reports it to the driver's
//!    receiver tracker, whose reply carries the receiver's rate limit and whether to stop.
//! 3. At each batch time the stream takes every block reported since the last batch: the
//!    batch's RDD has a partition per block, whose task prefers the executor holding it.
//! 4. Blocks are removed once no stream can read their batch any more.
//!
//! A receiver that fails (its task ends with an error, its executor is lost) is launched again
//! after `ember.streaming.receiverRestartDelay`, on any executor; a receiver may also ask to be
//! restarted ([`ReceiverContext::restart`]), for example when its connection drops.
//!
//! # The write-ahead log
//!
//! A block lives in its executor's memory (or disk) only, so it is lost with the executor
//! until its batch has run. With `ember.streaming.receiver.writeAheadLog.enable=true` (and a
//! checkpoint directory) each block is also written whole to
//! `<checkpoint dir>/receivedData/<stream>/input-<stream>-<n>` before it is reported, and a
//! batch whose block is gone reads that file instead: what a receiver stored survives its
//! executor. The file goes when the block does. Records a receiver took but had not yet
//! stored as a block (within one block interval) are still lost unless its source sends them
//! again, as in Spark; a reliable receiver acknowledges its source only after a block is
//! stored. Writing every block to HDFS or S3 costs throughput: Spark's advice stands, keep the
//! log for sources that cannot replay.

mod block_rdd;
mod rate;
mod socket;
mod supervisor;
mod tracker;

pub(crate) use block_rdd::BlockRdd;
pub(crate) use rate::RateController;
pub use socket::SocketReceiver;
pub(crate) use supervisor::{ReceiverRdd, SupervisorSettings};
pub(crate) use tracker::{ReceivedBlocks, ReceiverLauncher, ReceiverTracker};

use ember_core::{Data, StorageLevel};
use parking_lot::{Condvar, Mutex};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Takes records in from outside the application (Spark's `Receiver`).
///
/// A receiver is made on the driver and shipped to the executor that runs it, so it is
/// serializable; what it opens there (sockets, threads) belongs in fields it skips
/// (`#[serde(skip)]`). [`on_start`](Receiver::on_start) must return soon: the receiving
/// happens on threads it starts, which pass records to [`ReceiverContext::store`] until
/// [`ReceiverContext::is_stopped`].
///
/// # Example
///
/// A receiver of the numbers from 0 up, as fast as they are stored:
///
/// ```
/// use ember_streaming::{Receiver, ReceiverContext};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Counter;
///
/// impl Receiver<u64> for Counter {
///     fn on_start(&self, context: &ReceiverContext<u64>) {
///         let context = context.clone();
///         std::thread::spawn(move || {
///             let mut n = 0;
///             while !context.is_stopped() {
///                 context.store(n);
///                 n += 1;
///             }
///         });
///     }
///
///     fn on_stop(&self) {}
/// }
/// ```
pub trait Receiver<T: Data>: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Starts receiving, on threads of its own; called again after each restart.
    fn on_start(&self, context: &ReceiverContext<T>);

    /// Releases what `on_start` opened; its threads see [`ReceiverContext::is_stopped`].
    fn on_stop(&self);

    /// How its blocks are stored. Spark keeps two serialized copies; ember keeps one, in
    /// memory or on disk.
    fn storage_level(&self) -> StorageLevel {
        StorageLevel::MEMORY_AND_DISK_SER
    }

    /// The host it should run on, if any.
    fn preferred_location(&self) -> Option<String> {
        None
    }
}

/// What a running receiver's threads store records into and take orders from (the part of
/// Spark's `Receiver` that talks to its supervisor). Cheap to clone.
pub struct ReceiverContext<T: Data> {
    shared: Arc<Shared<T>>,
    /// Set when this start of the receiver is over (stopped or restarting).
    stopped: Arc<AtomicBool>,
}

impl<T: Data> Clone for ReceiverContext<T> {
    fn clone(&self) -> Self {
        ReceiverContext {
            shared: self.shared.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

/// What the supervisor is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Restart(String),
    Stop(String),
}

/// Shared by the supervisor and every start of its receiver.
pub(crate) struct Shared<T> {
    stream: usize,
    buffer: Mutex<Vec<T>>,
    limiter: rate::RateLimiter,
    request: Mutex<Option<Request>>,
    /// Whether `request` holds one: read by `is_stopped`, which receivers call per record.
    has_request: AtomicBool,
    errors: Mutex<Vec<String>>,
    /// Signalled when a request is made, so that the supervisor acts at once.
    requested: Condvar,
}

impl<T: Data> ReceiverContext<T> {
    pub(crate) fn new(stream: usize, max_rate: u64) -> ReceiverContext<T> {
        ReceiverContext {
            shared: Arc::new(Shared {
                stream,
                buffer: Mutex::new(Vec::new()),
                limiter: rate::RateLimiter::new(max_rate),
                request: Mutex::new(None),
                has_request: AtomicBool::new(false),
                errors: Mutex::new(Vec::new()),
                requested: Condvar::new(),
            }),
            stopped: Arc::default(),
        }
    }

    /// A context for the next start of the receiver: same buffer, no request, not stopped.
    pub(crate) fn restarted(&self) -> ReceiverContext<T> {
        self.stopped.store(true, Ordering::SeqCst);
        *self.shared.request.lock() = None;
        self.shared.has_request.store(false, Ordering::SeqCst);
        ReceiverContext {
            shared: self.shared.clone(),
            stopped: Arc::default(),
        }
    }

    /// The id of the receiver's input stream.
    pub fn stream_id(&self) -> usize {
        self.shared.stream
    }

    /// Stores one record; it joins the next block. Waits when the receiver's rate limit
    /// (`ember.streaming.receiver.maxRate`, or backpressure's) is reached.
    pub fn store(&self, record: T) {
        self.shared.limiter.acquire(1);
        self.shared.buffer.lock().push(record);
    }

    /// Stores several records at once, under the same rate limit.
    pub fn store_all(&self, records: impl IntoIterator<Item = T>) {
        let records: Vec<T> = records.into_iter().collect();
        self.shared.limiter.acquire(records.len() as u64);
        self.shared.buffer.lock().extend(records);
    }

    /// Asks for the receiver to be stopped and started again after
    /// `ember.streaming.receiverRestartDelay`, telling the driver `message` (Spark's
    /// `restart`): for a dropped connection, say.
    pub fn restart(&self, message: impl Into<String>) {
        self.ask(Request::Restart(message.into()));
    }

    /// Asks for the receiver to be stopped for good, telling the driver `message`.
    pub fn stop(&self, message: impl Into<String>) {
        self.ask(Request::Stop(message.into()));
    }

    /// Tells the driver of a problem without stopping (Spark's `reportError`).
    pub fn report_error(&self, message: impl Into<String>) {
        self.shared.errors.lock().push(message.into());
    }

    /// Whether this start of the receiver is over: its threads should end.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst) || self.shared.has_request.load(Ordering::SeqCst)
    }

    fn ask(&self, request: Request) {
        let mut current = self.shared.request.lock();
        // A stop outranks a restart; the first of each kind is kept.
        let replace = matches!(
            (&*current, &request),
            (None, _) | (Some(Request::Restart(_)), Request::Stop(_))
        );
        if replace {
            *current = Some(request);
            self.shared.has_request.store(true, Ordering::SeqCst);
        }
        self.shared.requested.notify_all();
    }

    /// Waits up to `timeout` for a request; the request then, if any.
    pub(crate) fn wait_for_request(&self, timeout: std::time::Duration) -> Option<Request> {
        let mut request = self.shared.request.lock();
        if request.is_none() {
            self.shared.requested.wait_for(&mut request, timeout);
        }
        request.clone()
    }

    pub(crate) fn take_records(&self) -> Vec<T> {
        std::mem::take(&mut *self.shared.buffer.lock())
    }

    pub(crate) fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *self.shared.errors.lock())
    }

    pub(crate) fn set_rate(&self, rate: u64) {
        self.shared.limiter.set_rate(rate);
    }
}
