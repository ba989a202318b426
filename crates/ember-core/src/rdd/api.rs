//! [`Rdd`]: the handle users hold, with the transformations (Spark's `RDD[T]`).

use super::combined::{
    coalesce_groups, CartesianRdd, CoalescedRdd, PairUp, UnionRdd, ZipOp, ZipPartitionsOp,
    ZippedRdd,
};
use super::map_partitions::{
    FilterOp, FlatMapOp, GlomOp, KeyByOp, KeysOp, MapOp, MapPartitionsNoIndexOp, MapPartitionsOp,
    MapPartitionsRdd, PartitionOp, SampleOp, SplitOp, WithUnitOp, ZipWithIndexOp,
    ZipWithUniqueIdOp,
};
use super::{BoxIter, RddBase, RddCompute, RddRef};
use crate::aggregator::{Aggregator, NoAggregation};
use crate::context::Context;
use crate::data::{Data, Func, Key};
use crate::error::{Error, Result};
use crate::partitioner::{HashPartitioner, Partitioner, PartitionerInfo, Partitioning};
use crate::rdd::shuffled::ShuffledRdd;
use crate::shuffle::{ExternalAppendOnlyMap, KeyOrdering, ShuffleSpec, Unordered};
use crate::storage::StorageLevel;
use crate::task_context::{abort, TaskContext};
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

    /// Names the RDD for its lineage and the driver's logs (Spark's `setName`).
    pub fn set_name(&self, name: &str) -> Rdd<T> {
        self.rdd.0.core().set_label(name);
        self.clone()
    }

    /// The name given with [`set_name`](Self::set_name).
    pub fn name(&self) -> Option<String> {
        self.rdd.0.core().label()
    }

    /// The lineage as Spark's `toDebugString` prints it: one line per RDD, a deeper branch
    /// (`+-`) at each shuffle, that is at each stage boundary.
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let counts = ctx
    ///     .parallelize(vec!['a', 'b', 'a'], 4)
    ///     .set_name("letters")
    ///     .map(Fn!(|c: char| (c, 1)))
    ///     .reduce_by_key_in(Fn!(|a: i32, b: i32| a + b), 2);
    /// let lineage = counts.to_debug_string();
    /// let lines: Vec<&str> = lineage.lines().collect();
    /// assert!(lines[0].starts_with("(2) ShuffledRdd["), "{lineage}");
    /// assert!(lines[1].starts_with(" +-(4) MapPartitionsRdd["), "{lineage}");
    /// assert!(lines[2].starts_with("    |  letters ParallelCollectionRdd["), "{lineage}");
    /// ```
    pub fn to_debug_string(&self) -> String {
        super::lineage::debug_lines(self.rdd.0.as_ref()).join("\n")
    }

    /// A one-parent RDD named `name` that applies `op` to each partition: how transformations
    /// outside this crate are made without a closure.
    pub fn with_op<U: Data, Op: PartitionOp<T, U>>(&self, name: &'static str, op: Op) -> Rdd<U> {
        self.map_partitions_rdd(name, op, None)
    }

    /// Like [`with_op`](Self::with_op), for an `op` that leaves every key in its partition: the
    /// result keeps this RDD's [`partitioner`](Self::partitioner).
    pub fn with_op_keeping_partitioner<U: Data, Op: PartitionOp<T, U>>(
        &self,
        name: &'static str,
        op: Op,
    ) -> Rdd<U> {
        self.map_partitions_rdd(name, op, self.partitioner())
    }

    fn map_partitions_rdd<U: Data, Op: PartitionOp<T, U>>(
        &self,
        name: &'static str,
        op: Op,
        partitioner: Option<PartitionerInfo>,
    ) -> Rdd<U> {
        Rdd::from_impl(
            &self.ctx,
            MapPartitionsRdd {
                core: self.ctx.new_rdd_core(name),
                parent: self.rdd.clone(),
                op: Arc::new(op),
                partitioner,
                _tu: PhantomData,
            },
        )
    }

    /// The partitioner this RDD's partitions are laid out by: `Some` for an RDD read from a
    /// shuffle by key and for `map_values`, `flat_map_values` and `filter` of one (Spark's
    /// `partitioner`). See [`PartitionerInfo`].
    pub fn partitioner(&self) -> Option<PartitionerInfo> {
        self.rdd.0.partitioner()
    }

    /// Applies `f` to every element.
    pub fn map<U: Data, F: Func<(T,), Output = U>>(&self, f: F) -> Rdd<U> {
        self.with_op("map", MapOp(f))
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F: for<'a> Func<(&'a T,), Output = bool>>(&self, f: F) -> Rdd<T> {
        self.with_op_keeping_partitioner("filter", FilterOp(f))
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

    /// Applies `f` to each partition's iterator: for work done once per partition (opening a
    /// connection, building a lookup table) rather than once per element. The iterator is a
    /// [`BoxIter`] (`ember_core::BoxIter`, re-exported by `ember`); `f` returns anything
    /// iterable. As with every closure written with [`Fn!`](crate::Fn), the parameters need
    /// their types written out.
    ///
    /// ```
    /// use ember_core::{BoxIter, Context, Fn};
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let sums = ctx
    ///     .parallelize((1..=6).collect::<Vec<i64>>(), 2)
    ///     .map_partitions(Fn!(|xs: BoxIter<i64>| vec![xs.sum::<i64>()]))
    ///     .collect()
    ///     .unwrap();
    /// assert_eq!(sums, vec![6, 15]);
    /// ```
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

    /// This RDD's partitions followed by `other`'s; duplicates are kept. When both are laid
    /// out by the same partitioner, partition `i` of the union holds partition `i` of each, and
    /// the union keeps the partitioner (Spark's `PartitionerAwareUnionRDD`).
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        Rdd::from_impl(
            &self.ctx,
            UnionRdd::new(
                self.ctx.new_rdd_core("union"),
                vec![self.rdd.clone(), other.rdd.clone()],
            ),
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
        self.zipped("zip", other, PairUp)
    }

    /// Computes partition i of this RDD and of `other` together with `f`, which takes both
    /// partitions' iterators (Spark's `zipPartitions`): a merge of two RDDs partitioned alike,
    /// without a shuffle.
    ///
    /// ```
    /// # use ember_core::{BoxIter, Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let a = ctx.parallelize(vec![1, 2, 3, 4], 2);
    /// let b = ctx.parallelize(vec!["x".to_string(), "y".to_string()], 2);
    /// let sizes = a.zip_partitions(&b, Fn!(|xs: BoxIter<i32>, ys: BoxIter<String>| {
    ///     vec![(xs.count(), ys.count())]
    /// }));
    /// assert_eq!(sizes.unwrap().collect().unwrap(), vec![(2, 1), (2, 1)]);
    /// ```
    ///
    /// # Errors
    /// The RDDs have different numbers of partitions.
    pub fn zip_partitions<U: Data, V: Data, I, F>(&self, other: &Rdd<U>, f: F) -> Result<Rdd<V>>
    where
        I: IntoIterator<Item = V> + 'static,
        I::IntoIter: 'static,
        F: Func<(BoxIter<T>, BoxIter<U>), Output = I>,
    {
        self.zipped("zip_partitions", other, ZipPartitionsOp(f))
    }

    fn zipped<U: Data, V: Data, Op: ZipOp<T, U, V>>(
        &self,
        name: &'static str,
        other: &Rdd<U>,
        op: Op,
    ) -> Result<Rdd<V>> {
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
                core: self.ctx.new_rdd_core(name),
                a: self.rdd.clone(),
                b: other.rdd.clone(),
                op: Arc::new(op),
                _v: PhantomData,
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

    /// Pairs each element with a unique id without running a job: the k-th element of
    /// partition p gets `k * partitions + p`, so ids have gaps (Spark's `zipWithUniqueId`).
    pub fn zip_with_unique_id(&self) -> Rdd<(T, u64)> {
        let partitions = self.num_partitions();
        self.with_op("zip_with_unique_id", ZipWithUniqueIdOp { partitions })
    }

    /// Splits the RDD at random into parts whose sizes follow `weights` (normalized to sum to
    /// 1); every element lands in exactly one part, and the same seed gives the same parts
    /// (Spark's `randomSplit`).
    ///
    /// ```
    /// # use ember_core::Context;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let parts = ctx.parallelize((0..1000).collect::<Vec<i32>>(), 4).random_split(&[0.7, 0.3], 7).unwrap();
    /// let (train, test) = (parts[0].count().unwrap(), parts[1].count().unwrap());
    /// assert_eq!(train + test, 1000);
    /// assert!((600..800).contains(&train), "{train}");
    /// ```
    ///
    /// # Errors
    /// A weight is negative or not a number, or they sum to 0.
    pub fn random_split(&self, weights: &[f64], seed: u64) -> Result<Vec<Rdd<T>>> {
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::Input(format!(
                "random_split weights must be numbers of at least 0, got {weights:?}"
            )));
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(Error::Input(format!(
                "random_split weights must have a positive sum, got {weights:?}"
            )));
        }
        let mut lower = 0.0;
        Ok(weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                // The last part ends at exactly 1, whatever the rounding of the sums.
                let upper = if i + 1 == weights.len() {
                    1.0
                } else {
                    lower + w / total
                };
                let part = self.with_op("random_split", SplitOp { lower, upper, seed });
                lower = upper;
                part
            })
            .collect())
    }

    /// Fewer partitions without a shuffle (neighbouring partitions concatenated); with
    /// `shuffle`, any number of partitions through a shuffle, like [`repartition`](Self::repartition).
    pub fn coalesce(&self, partitions: usize, shuffle: bool) -> Rdd<T> {
        if shuffle {
            return self.repartition(partitions);
        }
        self.regrouped(
            "coalesce",
            coalesce_groups(self.num_partitions(), partitions),
        )
    }

    /// An RDD whose partition i is the concatenation of this RDD's partitions `groups[i]`,
    /// without a shuffle.
    pub(crate) fn regrouped(&self, name: &'static str, groups: Vec<Vec<usize>>) -> Rdd<T> {
        Rdd::from_impl(
            &self.ctx,
            CoalescedRdd {
                core: self.ctx.new_rdd_core(name),
                parent: self.rdd.clone(),
                groups,
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
        self.group_by_in(f, 0)
    }

    /// [`group_by`](Self::group_by) into `partitioning`: a number of hash partitions (`0`: the
    /// default) or a [`Partitioner`].
    pub fn group_by_in<K: Key, F, P: Partitioning<K>>(
        &self,
        f: F,
        partitioning: P,
    ) -> Rdd<(K, Vec<T>)>
    where
        F: for<'a> Func<(&'a T,), Output = K>,
    {
        self.key_by(f).group_by_key_in(partitioning)
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

    /// The distinct elements, in `partitioning`'s partitions: a number of hash partitions
    /// (`0`: the default, see [`Partitioning`]) or a [`Partitioner`].
    pub fn distinct<P: Partitioning<T>>(&self, partitioning: P) -> Rdd<T>
    where
        T: Key,
    {
        self.with_op("distinct", WithUnitOp)
            .combine_in(KeepFirst::default(), partitioning, &[])
            .with_op("distinct", KeysOp)
    }

    /// The elements present in both RDDs, without duplicates.
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        self.intersection_in(other, 0)
    }

    /// [`intersection`](Self::intersection) into `partitioning`.
    pub fn intersection_in<P: Partitioning<T>>(&self, other: &Rdd<T>, partitioning: P) -> Rdd<T>
    where
        T: Key,
    {
        let a = self.with_op("intersection", WithUnitOp);
        let b = other.with_op("intersection", WithUnitOp);
        a.cogroup_in(&b, partitioning)
            .with_op("intersection", super::pair::IntersectOp)
    }

    /// The elements of this RDD not present in `other` (duplicates of this RDD kept).
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        self.subtract_in(other, 0)
    }

    /// [`subtract`](Self::subtract) into `partitioning`.
    pub fn subtract_in<P: Partitioning<T>>(&self, other: &Rdd<T>, partitioning: P) -> Rdd<T>
    where
        T: Key,
    {
        let a = self.with_op("subtract", WithUnitOp);
        let b: Rdd<(T, ())> = other.with_op("subtract", WithUnitOp);
        a.subtract_by_key_in(&b, partitioning)
            .with_op("subtract", KeysOp)
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

    /// Merges values by key with `aggregator` into `partitioning`'s partitions; `others` are
    /// the RDDs `self` was made of, for the default. Without a shuffle when this RDD is laid out
    /// by that partitioner already.
    pub(crate) fn combine_in<A: Aggregator<V>, P: Partitioning<K>>(
        &self,
        aggregator: A,
        partitioning: P,
        others: &[Arc<dyn RddBase>],
    ) -> Rdd<(K, A::Combined)> {
        let partitioner = partitioning.into_partitioner(|| {
            let mut parents = vec![self.rdd.base()];
            parents.extend_from_slice(others);
            self.ctx.default_partitioner(&parents)
        });
        if self.partitioner() == Some(PartitionerInfo::of(&partitioner)) {
            return self.with_op_keeping_partitioner("combine", CombineInPlaceOp(aggregator));
        }
        self.shuffle(partitioner, aggregator, Unordered, true)
    }
}

/// Merges values by key within each partition, for an RDD whose partitioner already sent each
/// key to one partition.
#[derive(Serialize, Deserialize)]
pub(crate) struct CombineInPlaceOp<A>(A);

impl<K: Key, V: Data, A: Aggregator<V>> PartitionOp<(K, V), (K, A::Combined)>
    for CombineInPlaceOp<A>
{
    fn apply(self: Arc<Self>, _: usize, mut input: BoxIter<(K, V)>) -> BoxIter<(K, A::Combined)> {
        let Some(tc) = TaskContext::get() else {
            abort(Error::Internal(
                "a partition computed outside a task".into(),
            ));
        };
        let mut map = ExternalAppendOnlyMap::<K, V, A>::new(self.0.clone(), &tc);
        let combined = input
            .try_for_each(|(k, v)| map.insert_value(k, v))
            .and_then(|()| map.into_iter());
        combined.unwrap_or_else(|e| abort(e))
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
