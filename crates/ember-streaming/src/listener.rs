//! What a running stream tells about its batches (Spark's `StreamingListener` and
//! `BatchInfo`).

use crate::time::Time;
use std::time::Duration;

/// A completed batch: when it was due, queued, run, and what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// When its jobs were made and queued.
    pub submission_time: Time,
    /// When its first job started.
    pub processing_start_time: Time,
    /// When its last job ended.
    pub processing_end_time: Time,
    /// Records the application's receivers received in it (Spark's `numRecords`); `None`
    /// when it has no receiver (files and queues are not counted).
    pub num_records: Option<u64>,
    /// How many output operations ran a job in it.
    pub output_operations: usize,
    /// The errors of the jobs that failed, in order.
    pub failures: Vec<String>,
}

impl BatchInfo {
    /// From the batch's time to the start of its processing: time spent queued behind
    /// earlier batches.
    pub fn scheduling_delay(&self) -> Duration {
        self.processing_start_time - self.batch_time
    }

    /// From the start to the end of its processing.
    pub fn processing_delay(&self) -> Duration {
        self.processing_end_time - self.processing_start_time
    }

    /// From the batch's time to the end of its processing.
    pub fn total_delay(&self) -> Duration {
        self.processing_end_time - self.batch_time
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
        format!(
            "batch {}: {records}{} output operations{failed}, scheduling delay {} ms, processing delay {} ms, total delay {} ms",
            self.batch_time,
            self.output_operations,
            self.scheduling_delay().as_millis(),
            self.processing_delay().as_millis(),
            self.total_delay().as_millis()
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

/// Told of each batch as it completes, on the thread that ran it, and of receivers starting,
/// failing and stopping (Spark's `StreamingListener`); keep it quick. Every method but
/// `on_batch_completed` does nothing unless implemented.
pub trait StreamingListener: Send + Sync + 'static {
    /// A batch's jobs have all ended.
    fn on_batch_completed(&self, batch: &BatchInfo);

    /// A receiver started on an executor.
    fn on_receiver_started(&self, _receiver: &ReceiverInfo) {}

    /// A receiver reported an error, asked to restart, or its task failed.
    fn on_receiver_error(&self, _receiver: &ReceiverInfo) {}

    /// A receiver stopped.
    fn on_receiver_stopped(&self, _receiver: &ReceiverInfo) {}
}
