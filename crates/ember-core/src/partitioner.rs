//! Partitioners: which reduce partition a key goes to (Spark's `Partitioner`).

use crate::data::Data;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// Maps keys to partitions `0..num_partitions()`.
pub trait Partitioner<K>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// How many partitions.
    fn num_partitions(&self) -> usize;
    /// The partition of `key`.
    fn partition(&self, key: &K) -> usize;
}

/// Partitions by the key's hash (Spark's `HashPartitioner`).
///
/// The hash is fixed for a build (not randomized per process), so every executor agrees.
///
/// ```
/// use ember_core::{HashPartitioner, Partitioner};
/// let p = HashPartitioner::new(4);
/// assert_eq!(p.partition(&"word"), p.partition(&"word"));
/// assert!(p.partition(&17u64) < 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// A partitioner into `partitions` (at least 1) partitions.
    pub fn new(partitions: usize) -> Self {
        HashPartitioner {
            partitions: partitions.max(1),
        }
    }
}

/// The hash every part of ember uses for keys: fast and the same in every process.
pub(crate) fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    // Fx leaves low bits weak for small integers; mix before taking a modulus.
    let x = h.finish();
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 32)
}

impl<K: Hash> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        (key_hash(key) % self.partitions as u64) as usize
    }
}

/// Partitions sortable keys into ranges of roughly equal size (Spark's `RangePartitioner`); the
/// bounds come from a sample of the data, see `Rdd::sort_by_key`.
///
/// ```
/// use ember_core::{RangePartitioner, Partitioner};
/// let p = RangePartitioner::from_bounds(vec![10, 20], true);
/// assert_eq!((p.partition(&5), p.partition(&10), p.partition(&15), p.partition(&99)), (0, 0, 1, 2));
/// let down = RangePartitioner::from_bounds(vec![10, 20], false);
/// assert_eq!(down.partition(&99), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RangePartitioner<K: Data + Ord> {
    bounds: Vec<K>,
    ascending: bool,
}

impl<K: Data + Ord> RangePartitioner<K> {
    /// A partitioner with the given upper bounds (inclusive) of all partitions but the last.
    pub fn from_bounds(mut bounds: Vec<K>, ascending: bool) -> Self {
        bounds.sort();
        bounds.dedup();
        RangePartitioner { bounds, ascending }
    }

    /// Chooses up to `partitions - 1` bounds from weighted samples: each sample stands for
    /// `weight` elements, and bounds fall where the cumulative weight crosses equal steps.
    pub(crate) fn from_weighted_samples(
        mut samples: Vec<(K, f64)>,
        partitions: usize,
        ascending: bool,
    ) -> Self {
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        let total: f64 = samples.iter().map(|s| s.1).sum();
        let step = total / partitions.max(1) as f64;
        let mut bounds = Vec::new();
        let mut cumulative = 0.0;
        let mut target = step;
        for (key, weight) in samples {
            cumulative += weight;
            if bounds.len() + 1 >= partitions {
                break;
            }
            if cumulative >= target && bounds.last() != Some(&key) {
                bounds.push(key);
                target += step;
            }
        }
        RangePartitioner { bounds, ascending }
    }
}

impl<K: Data + Ord> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }
    fn partition(&self, key: &K) -> usize {
        let p = self.bounds.partition_point(|b| b < key);
        if self.ascending {
            p
        } else {
            self.bounds.len() - p
        }
    }
}
