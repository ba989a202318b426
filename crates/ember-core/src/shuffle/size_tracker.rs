//! Cheap size estimates for growing collections (Spark's `SizeTracker`).
//!
//! Measuring every record would cost as much as serializing it. Instead the tracker measures
//! the record touched by some operations (inserts and in-place updates alike, since merged
//! values grow), keeps a moving average of entry sizes, and multiplies by the number of entries.
//! Measurements start dense and thin out geometrically, up to one in 4096 operations, so large
//! merged values (long `group_by_key` lists) are not measured over and over. Callers compare the
//! estimate with their memory grant only every [`CHECK_EVERY`] operations: the bookkeeping must
//! cost next to nothing per record.

use serde::Serialize;

/// Bytes an entry costs beyond its serialized size: pointers, hash table slots, allocator slack.
const ENTRY_OVERHEAD: f64 = 48.0;
const MAX_INTERVAL: u64 = 4096;
/// Operations between two memory checks.
pub(crate) const CHECK_EVERY: u64 = 64;

/// Estimates the bytes held by a collection of records.
#[derive(Debug, Default)]
pub(crate) struct SizeTracker {
    entries: u64,
    ops: u64,
    next_sample: u64,
    average: f64,
}

impl SizeTracker {
    /// Counts a new entry; true when it is time to check the estimate against memory.
    #[inline]
    pub(crate) fn inserted<R: Serialize + ?Sized>(&mut self, record: &R) -> bool {
        self.entries += 1;
        self.touched(record)
    }

    /// Counts a new entry (`new`) or an update of one, now `record`; true when it is time to
    /// check the estimate against memory.
    #[inline]
    pub(crate) fn upserted<R: Serialize + ?Sized>(&mut self, new: bool, record: &R) -> bool {
        self.entries += u64::from(new);
        self.touched(record)
    }

    #[inline]
    fn touched<R: Serialize + ?Sized>(&mut self, record: &R) -> bool {
        self.ops += 1;
        if self.ops >= self.next_sample {
            self.sample(record);
        }
        self.ops.is_multiple_of(CHECK_EVERY)
    }

    #[cold]
    fn sample<R: Serialize + ?Sized>(&mut self, record: &R) {
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
