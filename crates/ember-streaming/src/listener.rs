//! What a running stream tells about its batches (Spark's `StreamingListener` and
//! `BatchInfo`).

use crate::time::Time;
use std::time::Duration;

/// A batch: when it was due, queued, run, and what failed (Spark's `BatchInfo`). Listeners
/// hear of it when it is queued, when it starts and when it completes; the processing times
/// are set as it gets there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// When its jobs were made and queued.
    pub submission_time: Time,
    /// When its first job started; `None` while it is queued.
    pub processing_start_time: Option<Time>,
    /// When its last job ended; `None` until it completes.
    pub processing_end_time: Option<Time>,
    /// Records the application's receivers received in it (Spark's `numRecords`); `None`
    /// when it has no receiver (files and queues are not counted).
    pub num_records: Option<u64>,
    /// How many output operations run a job in it.
    pub output_operations: usize,
    /// The errors of the jobs that failed, in order.
    pub failures: Vec<String>,
}

impl BatchInfo {
    /// From the batch's time to the start of its processing: time spent queued behind
    /// earlier batches. `None` while it is queued.
    pub fn scheduling_delay(&self) -> Option<Duration> {
        Some(self.processing_start_time? - self.batch_time)
    }

    /// From the start to the end of its processing; `None` until it completes.
    pub fn processing_delay(&self) -> Option<Duration> {
        Some(self.processing_end_time? - self.processing_start_time?)
    }

    /// From the batch's time to the end of its processing; `None` until it completes.
    pub fn total_delay(&self) -> Option<Duration> {
        Some(self.processing_end_time? - self.batch_time)
    }

    /// The line the driver logs for the batch.
    pub fn summary(&self) -> String {
        let failed = match self.failures.len() {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        let records = match self.num_records {
            Some(n) => format!("{n} records received, "),
            None => String::new(),
        };
        let ms = |delay: Option<Duration>| delay.unwrap_or_default().as_millis();
        format!(
            "batch {}: {records}{} output operations{failed}, scheduling delay {} ms, processing delay {} ms, total delay {} ms",
            self.batch_time,
            self.output_operations,
            ms(self.scheduling_delay()),
            ms(self.processing_delay()),
            ms(self.total_delay())
        )
    }
}

/// What the driver knows of a receiver (Spark's `ReceiverInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverInfo {
    /// The id of its input stream.
    pub stream_id: usize,
    /// Its stream's name, such as `socket_text_stream localhost:9999`.
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The executor it runs (or last ran) on.
    pub executor_id: String,
    /// The last error it reported, or that ended its task.
    pub last_error: Option<String>,
}

impl ReceiverInfo {
    pub(crate) fn new(stream_id: usize, name: &str) -> ReceiverInfo {
        ReceiverInfo {
            stream_id,
            name: name.to_string(),
            active: false,
            executor_id: String::new(),
            last_error: None,
        }
    }
}

/// Told of the stream starting, of each batch as it is queued, starts and completes, on the
/// thread that queued or ran it, and of receivers starting, failing and stopping (Spark's
/// `StreamingListener`); keep it quick. Every method but `on_batch_completed` does nothing
/// unless implemented.
pub trait StreamingListener: Send + Sync + 'static {
    /// The context started; its first batch is due at `first_batch`.
    fn on_streaming_started(&self, _first_batch: Time) {}

    /// A batch's jobs were made and queued.
    fn on_batch_submitted(&self, _batch: &BatchInfo) {}

    /// A batch's first job is about to run.
    fn on_batch_started(&self, _batch: &BatchInfo) {}

    /// A batch's jobs have all ended.
    fn on_batch_completed(&self, batch: &BatchInfo);

    /// A receiver started on an executor.
    fn on_receiver_started(&self, _receiver: &ReceiverInfo) {}

    /// A receiver reported an error, asked to restart, or its task failed.
    fn on_receiver_error(&self, _receiver: &ReceiverInfo) {}

    /// A receiver stopped.
    fn on_receiver_stopped(&self, _receiver: &ReceiverInfo) {}
}
