//! What a streaming query reports after each batch (Spark's `StreamingQueryProgress`), with
//! Spark's JSON field names, so that tools that read Spark's progress read ember's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One batch of a streaming query: how many rows, how fast, how long each step took, the
/// event-time watermark, and the state it keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamingQueryProgress {
    /// The query's id, the same across restarts from one checkpoint.
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// The query's name, if it has one.
    pub name: Option<String>,
    /// When the trigger began, ISO 8601 in UTC.
    pub timestamp: String,
    /// The batch's id.
    pub batch_id: i64,
    /// The rows the batch read, over all sources.
    pub num_input_rows: u64,
    /// Rows read per second since the previous trigger began.
    pub input_rows_per_second: f64,
    /// Rows read per second of this batch's processing.
    pub processed_rows_per_second: f64,
    /// Milliseconds per step: `latestOffset`, `walCommit`, `getBatch`, `queryPlanning`,
    /// `addBatch`, `commitOffsets`, `triggerExecution`.
    pub duration_ms: BTreeMap<String, u64>,
    /// `max`, `min`, `avg` of the batch's event times and the `watermark`, ISO 8601, when the
    /// query has a watermark.
    pub event_time: BTreeMap<String, String>,
    /// Each stateful operator's state.
    pub state_operators: Vec<StateOperatorProgress>,
    /// Each source's offsets and rows.
    pub sources: Vec<SourceProgress>,
    /// The sink.
    pub sink: SinkProgress,
}

/// A stateful operator in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOperatorProgress {
    /// `stateStoreSave` for an aggregation, as Spark names it.
    pub operator_name: String,
    /// Groups held after the batch.
    pub num_rows_total: u64,
    /// Groups the batch set.
    pub num_rows_updated: u64,
    /// Groups the batch removed (the watermark passed them).
    pub num_rows_removed: u64,
    /// Partial rows too late for the watermark, dropped.
    pub num_rows_dropped_by_watermark: u64,
    /// About how many bytes the state takes.
    pub memory_used_bytes: u64,
    /// The state's partitions.
    pub num_shuffle_partitions: u64,
}

/// A source in one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceProgress {
    /// What it reads.
    pub description: String,
    /// Where the batch started (JSON), if anywhere yet.
    pub start_offset: Option<serde_json::Value>,
    /// Where it ended.
    pub end_offset: Option<serde_json::Value>,
    /// The newest offset the source had.
    pub latest_offset: Option<serde_json::Value>,
    /// Rows read.
    pub num_input_rows: u64,
    /// Rows read per second since the previous trigger began.
    pub input_rows_per_second: f64,
    /// Rows read per second of processing.
    pub processed_rows_per_second: f64,
}

/// The sink in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkProgress {
    /// What it writes.
    pub description: String,
    /// Rows written.
    pub num_output_rows: i64,
}

impl StreamingQueryProgress {
    /// The progress as Spark's JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("progress is JSON")
    }
}

/// `ms` since the epoch as ISO 8601 in UTC with milliseconds (`2026-12-06T10:00:00.000Z`).
pub(crate) fn iso_time(ms: i64) -> String {
    match datafusion::arrow::temporal_conversions::timestamp_ms_to_datetime(ms) {
        Some(time) => time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}
