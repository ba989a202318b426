//! Which executor holds which cached partition (Spark's `BlockManagerMaster`), kept by the
//! driver from what tasks report.
//!
//! Evictions are not reported: a location may be stale, which costs a fetch that finds nothing
//! and a recomputation, never a wrong result.

use parking_lot::Mutex;
use std::collections::HashMap;

/// The cached partitions `(rdd, partition)` of an application, by executor.
#[derive(Debug, Default)]
pub struct BlockManagerMaster {
    locations: Mutex<HashMap<(usize, usize), Vec<String>>>,
}

impl BlockManagerMaster {
    /// `executor` cached `blocks`.
    pub fn record(&self, executor: &str, blocks: &[(usize, usize)]) {
        let mut locations = self.locations.lock();
        for &block in blocks {
            let holders = locations.entry(block).or_default();
            if !holders.iter().any(|h| h == executor) {
                holders.push(executor.to_string());
            }
        }
    }

    /// Executors holding partition `partition` of RDD `rdd`.
    pub fn locations(&self, rdd: usize, partition: usize) -> Vec<String> {
        self.locations
            .lock()
            .get(&(rdd, partition))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether nothing is cached anywhere.
    pub fn is_empty(&self) -> bool {
        self.locations.lock().is_empty()
    }

    /// RDD `rdd` was unpersisted.
    pub fn remove_rdd(&self, rdd: usize) {
        self.locations.lock().retain(|(r, _), _| *r != rdd);
    }

    /// `executor` was lost, and its blocks with it.
    pub fn remove_executor(&self, executor: &str) {
        self.locations.lock().retain(|_, holders| {
            holders.retain(|h| h != executor);
            !holders.is_empty()
        });
    }
}
