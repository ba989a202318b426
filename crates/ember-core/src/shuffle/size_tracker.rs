//! Cheap size estimates for growing collections (Spark's `SizeTracker`).
//!
//! Measuring every record would cost as much as serializing it. Instead the tracker measures
//! every 64th record's serialized size, adds a fixed per-entry overhead for the collection and
//! the object headers it does not see, and extrapolates.

use serde::Serialize;

const SAMPLE_EVERY: u64 = 64;
/// Bytes an entry costs beyond its serialized size: pointers, hash table slots, allocator slack.
const ENTRY_OVERHEAD: u64 = 48;

/// Estimates the bytes held by a collection of records.
#[derive(Debug, Default)]
pub(crate) struct SizeTracker {
    count: u64,
    sampled: u64,
    sampled_bytes: u64,
}

impl SizeTracker {
    /// Counts one more record, measuring it now and then.
    pub(crate) fn observe<R: Serialize + ?Sized>(&mut self, record: &R) {
        if self.count % SAMPLE_EVERY == 0 {
            self.sampled += 1;
            self.sampled_bytes += bincode::serialized_size(record).unwrap_or(64) + ENTRY_OVERHEAD;
        }
        self.count += 1;
    }

    /// Estimated bytes of all records counted.
    pub(crate) fn estimate(&self) -> u64 {
        if self.sampled == 0 {
            0
        } else {
            self.count * self.sampled_bytes / self.sampled
        }
    }

    /// Forgets every record (after a spill).
    pub(crate) fn reset(&mut self) {
        self.count = 0;
    }
}
