//! Streaming events in the application's event log (`ember.eventLog.enabled`): a listener that
//! writes what every [`StreamingListener`] hears, one JSON line each, beside the scheduler's
//! jobs, stages and tasks.
//!
//! Events carry the names of Spark's streaming listener events
//! (`"Event": "org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted"`) and their
//! fields the names of Spark's `BatchInfo` and `ReceiverInfo` (`batchTime`, `numRecords`,
//! `schedulingDelay`, ...; times in milliseconds since the epoch). Spark keeps these events off
//! its own event log; ember writes them so that a finished streaming application's batches can
//! be read back.

use crate::listener::{BatchInfo, ReceiverInfo, StreamingListener};
use crate::time::Time;
use ember_core::Context;
use serde::Serialize;

/// Writes every streaming event to `ctx`'s event log.
pub(crate) struct EventLogListener {
    pub(crate) ctx: Context,
}

const PREFIX: &str = "org.apache.spark.streaming.scheduler.";

#[derive(Serialize)]
struct Event<'a, B: Serialize> {
    #[serde(rename = "Event")]
    event: String,
    #[serde(flatten)]
    body: &'a B,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamingStarted {
    time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    batch_info: BatchJson,
}

#[derive(Serialize)]
struct Millis {
    milliseconds: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchJson {
    batch_time: Millis,
    submission_time: i64,
    processing_start_time: Option<i64>,
    processing_end_time: Option<i64>,
    num_records: u64,
    scheduling_delay: Option<u128>,
    processing_delay: Option<u128>,
    total_delay: Option<u128>,
    num_output_operations: usize,
    failure_reasons: Vec<String>,
}

impl From<&BatchInfo> for BatchJson {
    fn from(b: &BatchInfo) -> Self {
        BatchJson {
            batch_time: Millis {
                milliseconds: b.batch_time.millis(),
            },
            submission_time: b.submission_time.millis(),
            processing_start_time: b.processing_start_time.map(Time::millis),
            processing_end_time: b.processing_end_time.map(Time::millis),
            num_records: b.num_records.unwrap_or(0),
            scheduling_delay: b.scheduling_delay().map(|d| d.as_millis()),
            processing_delay: b.processing_delay().map(|d| d.as_millis()),
            total_delay: b.total_delay().map(|d| d.as_millis()),
            num_output_operations: b.output_operations,
            failure_reasons: b.failures.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Receiver<'a> {
    receiver_info: ReceiverJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiverJson<'a> {
    stream_id: usize,
    name: &'a str,
    active: bool,
    executor_id: &'a str,
    last_error_message: &'a str,
}

impl EventLogListener {
    fn log(&self, name: &str, body: &impl Serialize) {
        self.ctx.log_event(&Event {
            event: format!("{PREFIX}{name}"),
            body,
        });
    }

    fn batch(&self, name: &str, batch: &BatchInfo) {
        let body = Batch {
            batch_info: batch.into(),
        };
        self.log(name, &body);
    }

    fn receiver(&self, name: &str, r: &ReceiverInfo) {
        let body = Receiver {
            receiver_info: ReceiverJson {
                stream_id: r.stream_id,
                name: &r.name,
                active: r.active,
                executor_id: &r.executor_id,
                last_error_message: r.last_error.as_deref().unwrap_or(""),
            },
        };
        self.log(name, &body);
    }
}

impl StreamingListener for EventLogListener {
    fn on_streaming_started(&self, first_batch: Time) {
        let body = StreamingStarted {
            time: first_batch.millis(),
        };
        self.log("StreamingListenerStreamingStarted", &body);
    }

    fn on_batch_submitted(&self, batch: &BatchInfo) {
        self.batch("StreamingListenerBatchSubmitted", batch);
    }

    fn on_batch_started(&self, batch: &BatchInfo) {
        self.batch("StreamingListenerBatchStarted", batch);
    }

    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.batch("StreamingListenerBatchCompleted", batch);
    }

    fn on_receiver_started(&self, receiver: &ReceiverInfo) {
        self.receiver("StreamingListenerReceiverStarted", receiver);
    }

    fn on_receiver_error(&self, receiver: &ReceiverInfo) {
        self.receiver("StreamingListenerReceiverError", receiver);
    }

    fn on_receiver_stopped(&self, receiver: &ReceiverInfo) {
        self.receiver("StreamingListenerReceiverStopped", receiver);
    }
}
