//! Cheap size estimates for growing collections (Spark's `SizeTracker`).
//!
//! Measuring every record would cost as much as serializing it. Instead the tracker measures
//! the record touched by some operations (inserts and in-place updates alike, since merged
//! values grow), keeps a moving average of entry sizes, and multiplies by the number of entries.
//! Measurements start dense and thin out geometrically, up to one in 4096 operations, so large
//! merged values (long `group_by_key` lists) are not measured over and over.

use serde::Serialize;

/// Bytes an entry costs beyond its serialized size: pointers, hash table slots, allocator slack.
const ENTRY_OVERHEAD: f64 = 48.0;
const MAX_INTERVAL: u64 = 4096;

/// Estimates the bytes held by a collection of records.
#[derive(Debug, Default)]
pub(crate) struct SizeTracker {
    entries: u64,
    ops: u64,
    next_sample: u64,
    average: f64,
}

impl SizeTracker {
    /// Counts a new entry.
    pub(crate) fn inserted<R: Serialize + ?Sized>(&mut self, record: &R) {
        self.entries += 1;
        self.touched(record);
    }

    /// Counts an update of an existing entry, now `record`.
    pub(crate) fn updated<R: Serialize + ?Sized>(&mut self, record: &R) {
        self.touched(record);
    }

    fn touched<R: Serialize + ?Sized>(&mut self, record: &R) {
        self.ops += 1;
        if self.ops < self.next_sample {
            return;
        }
        let size = bincode::serialized_size(record).unwrap_or(64) as f64 + ENTRY_OVERHEAD;
        self.average = if self.average == 0.0 {
            size
        } else {
            0.75 * self.average + 0.25 * size
        };
        self.next_sample = self.ops + (self.ops / 10).clamp(1, MAX_INTERVAL);
    }

    /// Estimated bytes of all entries.
    pub(crate) fn estimate(&self) -> u64 {
        (self.entries as f64 * self.average) as u64
    }

    /// Forgets every entry (after a spill); the average size is kept.
    pub(crate) fn reset(&mut self) {
        self.entries = 0;
        self.ops = 0;
        self.next_sample = 0;
    }
}
