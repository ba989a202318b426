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

    /// How many partitions it makes.
    pub fn num_partitions(&self) -> usize {
        self.partitions
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

/// The partitioner that laid out an RDD's partitions, as [`Rdd::partitioner`] tells it (Spark's
/// `rdd.partitioner`): RDDs read from a shuffle have one, and `map_values`, `flat_map_values`
/// and `filter` keep their parent's.
///
/// Two are equal when they are the same type in the same state, that is when they send every
/// key to the same partition. Operations by key on an RDD whose partitioner equals the one they
/// would use run without a shuffle.
///
/// ```
/// use ember_core::{Context, Fn, HashPartitioner};
/// let ctx = Context::with_master("local[2]").unwrap();
/// let pairs = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
/// assert!(pairs.partitioner().is_none());
/// let placed = pairs.partition_by(HashPartitioner::new(3));
/// let info = placed.partitioner().unwrap();
/// assert_eq!(info.num_partitions(), 3);
/// assert!(info.is::<HashPartitioner>());
/// assert_eq!(placed.map_values(Fn!(|c: char| c as u32)).partitioner(), Some(info));
/// ```
///
/// [`Rdd::partitioner`]: crate::Rdd::partitioner
#[derive(Clone)]
pub struct PartitionerInfo {
    partitioner: std::sync::Arc<dyn std::any::Any + Send + Sync>,
    type_name: &'static str,
    partitions: usize,
    state: Vec<u8>,
}

impl PartitionerInfo {
    /// The description of `partitioner`.
    pub fn of<K, P: Partitioner<K>>(partitioner: &P) -> Self {
        PartitionerInfo {
            partitioner: std::sync::Arc::new(partitioner.clone()),
            type_name: std::any::type_name::<P>(),
            partitions: partitioner.num_partitions(),
            // Serializing a partitioner into memory cannot fail; an empty state would only make
            // two partitioners of one type compare equal by their partition count.
            state: bincode::serialize(partitioner).unwrap_or_default(),
        }
    }

    /// How many partitions it makes.
    pub fn num_partitions(&self) -> usize {
        self.partitions
    }

    /// Its type's name, such as `ember_core::partitioner::HashPartitioner`.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether it is a `P`.
    pub fn is<P: 'static>(&self) -> bool {
        self.partitioner.is::<P>()
    }

    /// The partitioner itself, when it is a `P`.
    pub fn downcast<P: Clone + 'static>(&self) -> Option<P> {
        self.partitioner.downcast_ref::<P>().cloned()
    }
}

impl PartialEq for PartitionerInfo {
    fn eq(&self, other: &Self) -> bool {
        self.type_name == other.type_name
            && self.partitions == other.partitions
            && self.state == other.state
    }
}

impl Eq for PartitionerInfo {}

impl std::fmt::Debug for PartitionerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.type_name.rsplit("::").next().unwrap_or(self.type_name);
        write!(f, "{short}({} partitions)", self.partitions)
    }
}

/// Where the output of an operation by key goes, for the `_in` twins of those operations
/// (`reduce_by_key_in`, `join_in`, ...): a number of hash partitions, a [`HashPartitioner`] or
/// [`RangePartitioner`], or a reference to any [`Partitioner`] (`&mine`).
///
/// The number `0` means the default, as in Spark's `Partitioner.defaultPartitioner`: the hash
/// partitioner of the parent laid out by one with the most partitions, when it has at least a
/// tenth of the partitions of the largest parent (or at least `ember.default.parallelism`);
/// else `ember.default.parallelism` hash partitions if that is set; else as many as the parent
/// with the most partitions. The operations without `_in` use that default.
pub trait Partitioning<K> {
    /// The partitioner it stands for.
    type Partitioner: Partitioner<K>;
    /// Its partitioner, given a default made from the parents.
    fn into_partitioner(self, default: impl FnOnce() -> HashPartitioner) -> Self::Partitioner;
}

impl<K: Hash> Partitioning<K> for usize {
    type Partitioner = HashPartitioner;
    fn into_partitioner(self, default: impl FnOnce() -> HashPartitioner) -> HashPartitioner {
        if self == 0 {
            default()
        } else {
            HashPartitioner::new(self)
        }
    }
}

impl<K: Hash> Partitioning<K> for HashPartitioner {
    type Partitioner = HashPartitioner;
    fn into_partitioner(self, _: impl FnOnce() -> HashPartitioner) -> HashPartitioner {
        self
    }
}

impl<K: Data + Ord> Partitioning<K> for RangePartitioner<K> {
    type Partitioner = RangePartitioner<K>;
    fn into_partitioner(self, _: impl FnOnce() -> HashPartitioner) -> Self {
        self
    }
}

/// Any partitioner, a user's own included, by reference: `reduce_by_key_in(f, &mine)`.
impl<K, P: Partitioner<K>> Partitioning<K> for &P {
    type Partitioner = P;
    fn into_partitioner(self, _: impl FnOnce() -> HashPartitioner) -> P {
        self.clone()
    }
}
