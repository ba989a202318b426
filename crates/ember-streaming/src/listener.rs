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
        format!(
            "batch {}: {} output operations{failed}, scheduling delay {} ms, processing delay {} ms, total delay {} ms",
            self.batch_time,
            self.output_operations,
            self.scheduling_delay().as_millis(),
            self.processing_delay().as_millis(),
            self.total_delay().as_millis()
        )
    }
}

/// Told of each batch as it completes, on the thread that ran it (Spark's
/// `StreamingListener`); keep it quick.
pub trait StreamingListener: Send + Sync + 'static {
    /// A batch's jobs have all ended.
    fn on_batch_completed(&self, batch: &BatchInfo);
}
