//! [`Rdd`]: the handle users hold, with the transformations (Spark's `RDD[T]`).

use super::combined::{coalesce_groups, CartesianRdd, CoalescedRdd, UnionRdd, ZippedRdd};
use super::map_partitions::{
    FilterOp, FlatMapOp, GlomOp, KeyByOp, KeysOp, MapOp, MapPartitionsNoIndexOp, MapPartitionsOp,
    MapPartitionsRdd, PartitionOp, SampleOp, WithUnitOp, ZipWithIndexOp,
};
use super::{BoxIter, RddCompute, RddRef};
use crate::aggregator::{Aggregator, NoAggregation};
use crate::context::Context;
use crate::data::{Data, Func, Key};
use crate::error::Result;
use crate::partitioner::{HashPartitioner, Partitioner};
use crate::rdd::shuffled::ShuffledRdd;
use crate::shuffle::{KeyOrdering, ShuffleSpec, Unordered};
use crate::storage::StorageLevel;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// A Resilient Distributed Dataset of `T`: partitioned, immutable, computed lazily from its
/// lineage (Spark's `RDD[T]`).
///
/// Transformations return new RDDs and run nothing; actions (`collect`, `count`, `reduce`,
/// `save_as_text_file`, ...) run a job. Closures are written with the [`Fn!`](crate::Fn) macro
/// so that they can be shipped with tasks:
///
/// ```
/// use ember_core::{Context, Fn};
/// let ctx = Context::with_master("local[2]").unwrap();
/// let words = ctx.parallelize(vec!["a b".to_string(), "b".to_string()], 2)
///     .flat_map(Fn!(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>()))
///     .map(Fn!(|w: String| (w, 1)))
///     .reduce_by_key(Fn!(|a: i32, b: i32| a + b));
/// let mut counts = words.collect().unwrap();
/// counts.sort();
/// assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
/// ```
pub struct Rdd<T: Data> {
    ctx: Context,
    rdd: RddRef<T>,
}

impl<T: Data> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd {
            ctx: self.ctx.clone(),
            rdd: self.rdd.clone(),
        }
    }
}

impl<T: Data> std::fmt::Debug for Rdd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Rdd[{}] {} ({} partitions)",
            self.id(),
            self.rdd.0.core().name(),
            self.num_partitions()
        )
    }
}

impl<T: Data> Rdd<T> {
    /// The handle of `rdd`, an RDD implemented outside this crate.
    pub fn from_compute(ctx: &Context, rdd: impl RddCompute<T>) -> Self {
        Rdd::from_impl(ctx, rdd)
    }

    pub(crate) fn from_impl(ctx: &Context, rdd: impl RddCompute<T>) -> Self {
        Rdd {
            ctx: ctx.clone(),
            rdd: RddRef(Arc::new(rdd)),
        }
    }

    pub(crate) fn from_ref(ctx: &Context, rdd: RddRef<T>) -> Self {
        Rdd {
            ctx: ctx.clone(),
            rdd,
        }
    }

    pub(crate) fn rdd_ref(&self) -> &RddRef<T> {
        &self.rdd
    }

    /// The RDD as other RDDs hold it as a parent, for RDDs made outside this crate.
    pub fn lineage(&self) -> &RddRef<T> {
        &self.rdd
    }

    /// The Context that made it.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Unique in its Context.
    pub fn id(&self) -> usize {
        self.rdd.0.core().id()
    }

    /// Partitions.
    pub fn num_partitions(&self) -> usize {
        self.rdd.0.num_partitions()
    }

    /// A one-parent RDD named `name` that applies `op` to each partition: how transformations
    /// outside this crate are made without a closure.
    pub fn with_op<U: Data, Op: PartitionOp<T, U>>(&self, name: &'static str, op: Op) -> Rdd<U> {
        Rdd::from_impl(
            &self.ctx,
            MapPartitionsRdd {
                core: self.ctx.new_rdd_core(name),
                parent: self.rdd.clone(),
                op: Arc::new(op),
                _tu: PhantomData,
            },
        )
    }

    /// Applies `f` to every element.
    pub fn map<U: Data, F: Func<(T,), Output = U>>(&self, f: F) -> Rdd<U> {
        self.with_op("map", MapOp(f))
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F: for<'a> Func<(&'a T,), Output = bool>>(&self, f: F) -> Rdd<T> {
        self.with_op("filter", FilterOp(f))
    }

    /// Applies `f` to every element and flattens the results.
    pub fn flat_map<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(T,), Output = I>,
    {
        self.with_op("flat_map", FlatMapOp(f))
    }

    /// Applies `f` to each partition's iterator, with the partition's index.
    pub fn map_partitions_with_index<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(usize, BoxIter<T>), Output = I>,
    {
        self.with_op("map_partitions_with_index", MapPartitionsOp(f))
    }

    /// Applies `f` to each partition's iterator.
    pub fn map_partitions<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(BoxIter<T>,), Output = I>,
    {
        self.with_op("map_partitions", MapPartitionsNoIndexOp(f))
    }

    /// Each partition as one vector.
    pub fn glom(&self) -> Rdd<Vec<T>> {
        self.with_op("glom", GlomOp)
    }

    /// A random sample: each element kept with probability `fraction`, or (with replacement)
    /// repeated a Poisson(`fraction`) number of times. The same seed gives the same sample.
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> Rdd<T> {
        self.with_op(
            "sample",
            SampleOp {
                with_replacement,
                fraction,
                seed,
            },
        )
    }

    /// This RDD's partitions followed by `other`'s; duplicates are kept.
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        Rdd::from_impl(
            &self.ctx,
            UnionRdd {
                core: self.ctx.new_rdd_core("union"),
                parents: vec![self.rdd.clone(), other.rdd.clone()],
            },
        )
    }

    /// Every pair `(a, b)` of an element of this RDD and one of `other`.
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        Rdd::from_impl(
            &self.ctx,
            CartesianRdd {
                core: self.ctx.new_rdd_core("cartesian"),
                a: self.rdd.clone(),
                b: other.rdd.clone(),
            },
        )
    }

    /// Pairs the i-th element of each partition with the i-th of `other`'s same partition.
    ///
    /// # Errors
    /// The RDDs have different numbers of partitions. (Different element counts in a partition
    /// fail the job that computes it.)
    pub fn zip<U: Data>(&self, other: &Rdd<U>) -> Result<Rdd<(T, U)>> {
        if self.num_partitions() != other.num_partitions() {
            return Err(crate::Error::Input(format!(
                "can only zip RDDs with the same number of partitions: {} and {}",
                self.num_partitions(),
                other.num_partitions()
            )));
        }
        Ok(Rdd::from_impl(
            &self.ctx,
            ZippedRdd {
                core: self.ctx.new_rdd_core("zip"),
                a: self.rdd.clone(),
                b: other.rdd.clone(),
            },
        ))
    }

    /// Pairs each element with its index in the RDD's order. Runs a job first to count the
    /// elements of every partition but the last, as Spark does.
    ///
    /// # Errors
    /// The counting job failed.
    pub fn zip_with_index(&self) -> Result<Rdd<(T, u64)>> {
        let n = self.num_partitions();
        let counted: Vec<usize> = (0..n.saturating_sub(1)).collect();
        let counts = self
            .ctx
            .run_job(self, crate::rdd::actions::CountFn, Some(&counted))?;
        let starts = std::iter::once(0)
            .chain(counts.iter().scan(0u64, |sum, c| {
                *sum += c;
                Some(*sum)
            }))
            .take(n)
            .collect();
        Ok(self.with_op("zip_with_index", ZipWithIndexOp { starts }))
    }

    /// Fewer partitions without a shuffle (neighbouring partitions concatenated); with
    /// `shuffle`, any number of partitions through a shuffle, like [`repartition`](Self::repartition).
    pub fn coalesce(&self, partitions: usize, shuffle: bool) -> Rdd<T> {
        if shuffle {
            return self.repartition(partitions);
        }
        Rdd::from_impl(
            &self.ctx,
            CoalescedRdd {
                core: self.ctx.new_rdd_core("coalesce"),
                parent: self.rdd.clone(),
                groups: coalesce_groups(self.num_partitions(), partitions),
            },
        )
    }

    /// Exactly `partitions` partitions of even size, through a shuffle.
    pub fn repartition(&self, partitions: usize) -> Rdd<T> {
        let keyed = self.with_op("repartition", RoundRobinKeyOp { partitions });
        keyed
            .shuffle(
                HashPartitioner::new(partitions),
                NoAggregation::default(),
                Unordered,
                false,
            )
            .with_op("repartition", super::map_partitions::ValuesOp)
    }

    /// Pairs each element with the key `f` gives it.
    pub fn key_by<K: Data, F: for<'a> Func<(&'a T,), Output = K>>(&self, f: F) -> Rdd<(K, T)> {
        self.with_op("key_by", KeyByOp(f))
    }

    /// Groups the elements by the key `f` gives them.
    pub fn group_by<K: Key, F: for<'a> Func<(&'a T,), Output = K>>(
        &self,
        f: F,
    ) -> Rdd<(K, Vec<T>)> {
        self.key_by(f).group_by_key()
    }

    /// Sorts by the key `f` gives each element, into `partitions` range partitions (the current
    /// number when 0).
    ///
    /// # Errors
    /// The sampling job that chooses the ranges failed.
    pub fn sort_by<K: Key + Ord, F: for<'a> Func<(&'a T,), Output = K>>(
        &self,
        f: F,
        ascending: bool,
        partitions: usize,
    ) -> Result<Rdd<T>> {
        Ok(self
            .key_by(f)
            .sort_by_key(ascending, partitions)?
            .with_op("sort_by", super::map_partitions::ValuesOp))
    }

    /// Hosts where partition `partition` is cheapest to compute (Spark's `preferredLocations`):
    /// for a file on HDFS, those holding most of its split's bytes; once checkpointed, those
    /// holding its checkpoint file.
    pub fn preferred_locations(&self, partition: usize) -> Vec<String> {
        super::preferred_locations_of(&*self.rdd_ref().base(), partition)
    }

    /// Keeps this RDD's partitions at `level` once computed, so later actions reuse them.
    /// Evicted or lost partitions are recomputed from the lineage.
    pub fn persist(&self, level: StorageLevel) -> Rdd<T> {
        self.rdd.0.core().set_storage_level(level);
        self.clone()
    }

    /// `persist(StorageLevel::MEMORY_ONLY)`.
    pub fn cache(&self) -> Rdd<T> {
        self.persist(StorageLevel::MEMORY_ONLY)
    }

    /// Stops keeping this RDD and drops its cached partitions.
    pub fn unpersist(&self) -> Rdd<T> {
        self.rdd.0.core().set_storage_level(StorageLevel::NONE);
        self.ctx.unpersist_rdd(self.id());
        self.clone()
    }

    /// The current storage level.
    pub fn storage_level(&self) -> StorageLevel {
        self.rdd.0.core().storage_level()
    }

    /// The distinct elements, in `partitions` partitions (the current number when 0).
    pub fn distinct(&self, partitions: usize) -> Rdd<T>
    where
        T: Key,
    {
        self.with_op("distinct", WithUnitOp)
            .reduce_by_key_with(KeepFirst::default(), partitions)
            .with_op("distinct", KeysOp)
    }

    /// The elements present in both RDDs, without duplicates.
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        let a = self.with_op("intersection", WithUnitOp);
        let b = other.with_op("intersection", WithUnitOp);
        a.cogroup(&b)
            .with_op("intersection", super::pair::IntersectOp)
    }

    /// The elements of this RDD not present in `other` (duplicates of this RDD kept).
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        let a = self.with_op("subtract", WithUnitOp);
        let b: Rdd<(T, ())> = other.with_op("subtract", WithUnitOp);
        a.subtract_by_key(&b).with_op("subtract", KeysOp)
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// Shuffles this pair RDD: the building block of every `*_by_key` operation.
    pub(crate) fn shuffle<A, P, O>(
        &self,
        partitioner: P,
        aggregator: A,
        ordering: O,
        map_side_combine: bool,
    ) -> Rdd<(K, A::Combined)>
    where
        A: Aggregator<V>,
        P: Partitioner<K>,
        O: KeyOrdering<K>,
    {
        let spec = ShuffleSpec::new(
            self.ctx.new_shuffle_id(),
            partitioner,
            aggregator,
            ordering,
            map_side_combine,
        );
        Rdd::from_impl(
            &self.ctx,
            ShuffledRdd {
                core: self.ctx.new_rdd_core("shuffle"),
                spec,
                parent: Some(self.rdd.clone()),
            },
        )
    }

    /// Merges values by key with `aggregator` into `partitions` hash partitions (default when 0).
    pub(crate) fn reduce_by_key_with<A: Aggregator<V>>(
        &self,
        aggregator: A,
        partitions: usize,
    ) -> Rdd<(K, A::Combined)> {
        let partitions = if partitions == 0 {
            self.ctx.shuffle_partitions(&[self.num_partitions()])
        } else {
            partitions
        };
        self.shuffle(
            HashPartitioner::new(partitions),
            aggregator,
            Unordered,
            true,
        )
    }
}

/// Keys elements by their position, starting each partition at a different offset so that the
/// hash partitioner spreads neighbours (Spark's `repartition` distributes round-robin).
#[derive(Serialize, Deserialize)]
pub(crate) struct RoundRobinKeyOp {
    partitions: usize,
}

impl<T: Data> PartitionOp<T, (u64, T)> for RoundRobinKeyOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<(u64, T)> {
        let start = (partition as u64).wrapping_mul(0x9e37_79b9) % self.partitions.max(1) as u64;
        Box::new(input.zip(start..).map(|(x, i)| (i, x)))
    }
}

/// Keeps one value per key: `distinct`'s aggregator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct KeepFirst<V>(PhantomData<fn() -> V>);

impl<V> Default for KeepFirst<V> {
    fn default() -> Self {
        KeepFirst(PhantomData)
    }
}

impl<V> Clone for KeepFirst<V> {
    fn clone(&self) -> Self {
        KeepFirst(PhantomData)
    }
}

impl<V: Data> Aggregator<V> for KeepFirst<V> {
    type Combined = V;
    fn create_combiner(&self, value: V) -> V {
        value
    }
    fn merge_value(&self, combined: V, _: V) -> V {
        combined
    }
    fn merge_combiners(&self, a: V, _: V) -> V {
        a
    }
}
