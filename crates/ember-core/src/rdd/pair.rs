//! Operations on RDDs of key-value pairs (Spark's `PairRDDFunctions`).

use super::actions::{CountByKeyFn, LookupFn, SketchFn};
use super::cogroup::CoGroupWith;
use super::map_partitions::{FlatMapValuesOp, KeysOp, MapValuesOp, PartitionOp, Side, ValuesOp};
use super::{BoxIter, Rdd};
use crate::aggregator::{Aggregator, Combine, GroupValues, NoAggregation, Reduce, WithZero};
use crate::data::{Data, Func, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, Partitioning, RangePartitioner};
use crate::scheduler::PartitionFunc;
use crate::shuffle::{SortByKey, Unordered};
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// A key with its values from both sides of a `cogroup`.
pub type CoGrouped<K, V, W> = (K, (Vec<V>, Vec<W>));

/// A key with a value from either or both sides of a `full_outer_join`.
pub type FullJoined<K, V, W> = (K, (Option<V>, Option<W>));

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// Applies `f` to every value, keeping the keys.
    pub fn map_values<U: Data, F: Func<(V,), Output = U>>(&self, f: F) -> Rdd<(K, U)> {
        self.with_op_keeping_partitioner("map_values", MapValuesOp(f))
    }

    /// Applies `f` to every value and pairs the key with each result.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> Rdd<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(V,), Output = I>,
    {
        self.with_op_keeping_partitioner("flat_map_values", FlatMapValuesOp(f))
    }

    /// The keys.
    pub fn keys(&self) -> Rdd<K> {
        self.with_op("keys", KeysOp)
    }

    /// The values.
    pub fn values(&self) -> Rdd<V> {
        self.with_op("values", ValuesOp)
    }

    /// Merges the values of each key with `f` (associative and commutative), combining on the
    /// map side first.
    pub fn reduce_by_key<F: Func<(V, V), Output = V> + Clone>(&self, f: F) -> Rdd<(K, V)> {
        self.reduce_by_key_in(f, 0)
    }

    /// [`reduce_by_key`](Self::reduce_by_key) into `partitioning`: a number of hash partitions
    /// (`0`: the default, see [`Partitioning`]) or a [`Partitioner`]. Every operation by key
    /// has such an `_in` twin.
    ///
    /// ```
    /// # use ember_core::{Context, Fn, HashPartitioner};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let pairs = ctx.parallelize(vec![('a', 1), ('b', 2), ('a', 3)], 2);
    /// assert_eq!(pairs.reduce_by_key_in(Fn!(|x: i32, y: i32| x + y), 5).num_partitions(), 5);
    /// let placed = pairs.partition_by(HashPartitioner::new(3));
    /// // Already laid out by the partitioner it would use: no shuffle, the same partitioner.
    /// let sums = placed.reduce_by_key(Fn!(|x: i32, y: i32| x + y));
    /// assert_eq!(sums.partitioner(), placed.partitioner());
    /// ```
    pub fn reduce_by_key_in<F, P>(&self, f: F, partitioning: P) -> Rdd<(K, V)>
    where
        F: Func<(V, V), Output = V> + Clone,
        P: Partitioning<K>,
    {
        self.combine_in(Reduce::new(f), partitioning, &[])
    }

    /// Like [`reduce_by_key`](Self::reduce_by_key), starting each key from `zero`.
    pub fn fold_by_key<F: Func<(V, V), Output = V> + Clone>(&self, zero: V, f: F) -> Rdd<(K, V)> {
        self.fold_by_key_in(zero, f, 0)
    }

    /// [`fold_by_key`](Self::fold_by_key) into `partitioning`.
    pub fn fold_by_key_in<F, P>(&self, zero: V, f: F, partitioning: P) -> Rdd<(K, V)>
    where
        F: Func<(V, V), Output = V> + Clone,
        P: Partitioning<K>,
    {
        self.combine_in(WithZero::new(zero, f.clone(), f), partitioning, &[])
    }

    /// Aggregates each key's values into a `U`: `seq` adds a value, `comb` merges two partial
    /// results; each key starts from `zero`.
    pub fn aggregate_by_key<U: Data, F2, F3>(&self, zero: U, seq: F2, comb: F3) -> Rdd<(K, U)>
    where
        F2: Func<(U, V), Output = U> + Clone,
        F3: Func<(U, U), Output = U> + Clone,
    {
        self.aggregate_by_key_in(zero, seq, comb, 0)
    }

    /// [`aggregate_by_key`](Self::aggregate_by_key) into `partitioning`.
    pub fn aggregate_by_key_in<U: Data, F2, F3, P>(
        &self,
        zero: U,
        seq: F2,
        comb: F3,
        partitioning: P,
    ) -> Rdd<(K, U)>
    where
        F2: Func<(U, V), Output = U> + Clone,
        F3: Func<(U, U), Output = U> + Clone,
        P: Partitioning<K>,
    {
        self.combine_in(WithZero::new(zero, seq, comb), partitioning, &[])
    }

    /// The general aggregation: `create` starts a combined value from a key's first value,
    /// `merge_value` adds a value, `merge_combiners` merges two combined values.
    pub fn combine_by_key<C: Data, F1, F2, F3>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
    ) -> Rdd<(K, C)>
    where
        F1: Func<(V,), Output = C> + Clone,
        F2: Func<(C, V), Output = C> + Clone,
        F3: Func<(C, C), Output = C> + Clone,
    {
        self.combine_by_key_in(create, merge_value, merge_combiners, 0)
    }

    /// [`combine_by_key`](Self::combine_by_key) into `partitioning`.
    pub fn combine_by_key_in<C: Data, F1, F2, F3, P>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
        partitioning: P,
    ) -> Rdd<(K, C)>
    where
        F1: Func<(V,), Output = C> + Clone,
        F2: Func<(C, V), Output = C> + Clone,
        F3: Func<(C, C), Output = C> + Clone,
        P: Partitioning<K>,
    {
        let aggregator = Combine::new(create, merge_value, merge_combiners);
        self.combine_in(aggregator, partitioning, &[])
    }

    /// All values of each key.
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_in(0)
    }

    /// [`group_by_key`](Self::group_by_key) into `partitioning`.
    pub fn group_by_key_in<P: Partitioning<K>>(&self, partitioning: P) -> Rdd<(K, Vec<V>)> {
        self.combine_in(GroupValues::default(), partitioning, &[])
    }

    /// Merges the values of each key with `f` into a map on the driver, without a shuffle
    /// (Spark's `reduceByKeyLocally`): for few keys.
    ///
    /// # Errors
    /// The job failed.
    pub fn reduce_by_key_locally<F>(&self, f: F) -> Result<HashMap<K, V>>
    where
        F: Func<(V, V), Output = V> + Clone,
    {
        let parts = self
            .context()
            .run_job(self, ReduceLocallyFn { f: f.clone() }, None)?;
        let mut merged: HashMap<K, V> = HashMap::new();
        for (k, v) in parts.into_iter().flatten() {
            let v = match merged.remove(&k) {
                Some(old) => f.call((old, v)),
                None => v,
            };
            merged.insert(k, v);
        }
        Ok(merged)
    }

    /// The pairs whose key lies in `lower..=upper` (Spark's `filterByRange`). On an RDD laid
    /// out by a [`RangePartitioner`] (as `sort_by_key` leaves it) only the partitions whose
    /// ranges meet `lower..=upper` are read; otherwise every pair is tested, and the partitioner,
    /// if any, is kept.
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let sorted = ctx
    ///     .parallelize((0..100).map(|i| (i, i * i)).collect::<Vec<(i32, i32)>>(), 4)
    ///     .sort_by_key(true, 10)
    ///     .unwrap();
    /// let some = sorted.filter_by_range(20, 29);
    /// assert!(some.num_partitions() < 10, "partitions outside the range are not read");
    /// assert_eq!(some.keys().collect().unwrap(), (20..30).collect::<Vec<_>>());
    /// ```
    pub fn filter_by_range(&self, lower: K, upper: K) -> Rdd<(K, V)>
    where
        K: Ord,
    {
        let ranges = self
            .partitioner()
            .and_then(|p| p.downcast::<RangePartitioner<K>>());
        let op = KeyRangeOp { lower, upper };
        match ranges {
            Some(ranges) => {
                let (a, b) = (ranges.partition(&op.lower), ranges.partition(&op.upper));
                let kept = (a.min(b)..=a.max(b)).map(|p| vec![p]).collect();
                self.regrouped("filter_by_range", kept)
                    .with_op("filter_by_range", op)
            }
            None => self.with_op_keeping_partitioner("filter_by_range", op),
        }
    }

    /// Moves each pair to the partition `partitioner` gives its key and sorts every partition
    /// by key in the shuffle itself (Spark's `repartitionAndSortWithinPartitions`): cheaper
    /// than `partition_by` followed by a sort.
    pub fn repartition_and_sort_within_partitions<P: Partitioner<K>>(
        &self,
        partitioner: P,
    ) -> Rdd<(K, V)>
    where
        K: Ord,
    {
        self.shuffle(
            partitioner,
            NoAggregation::default(),
            SortByKey { ascending: true },
            false,
        )
    }

    /// Moves each pair to the partition `partitioner` gives its key.
    pub fn partition_by<P: Partitioner<K>>(&self, partitioner: P) -> Rdd<(K, V)> {
        self.shuffle(partitioner, NoAggregation::default(), Unordered, false)
    }

    /// Sorts by key into `partitions` ranges (the current number when 0), each sorted; partition
    /// `i` holds smaller keys than partition `i + 1` (larger when descending). The ranges come
    /// from a sample of the keys, as in Spark.
    ///
    /// # Errors
    /// The sampling job failed.
    pub fn sort_by_key(&self, ascending: bool, partitions: usize) -> Result<Rdd<(K, V)>>
    where
        K: Ord,
    {
        let partitions = if partitions == 0 {
            self.num_partitions().max(1)
        } else {
            partitions
        };
        let partitioner = self.range_partitioner(partitions, ascending)?;
        Ok(self.shuffle(
            partitioner,
            NoAggregation::default(),
            SortByKey { ascending },
            false,
        ))
    }

    fn range_partitioner(&self, partitions: usize, ascending: bool) -> Result<RangePartitioner<K>>
    where
        K: Ord,
    {
        if partitions <= 1 || self.num_partitions() == 0 {
            return Ok(RangePartitioner::from_bounds(Vec::new(), ascending));
        }
        let sample_size = (20 * partitions).min(1_000_000);
        let per_partition = (3 * sample_size).div_ceil(self.num_partitions());
        let sketches = self
            .context()
            .run_job(self, SketchFn::new(per_partition), None)?;
        let weighted = sketches
            .into_iter()
            .flat_map(|(count, keys)| {
                let weight = count as f64 / keys.len().max(1) as f64;
                keys.into_iter().map(move |k| (k, weight))
            })
            .collect();
        Ok(RangePartitioner::from_weighted_samples(
            weighted, partitions, ascending,
        ))
    }

    /// For each key in any of the RDDs, its values in this one and in the others: `others` is
    /// one pair RDD with the same key type (`&b`: `(K, (Vec<V>, Vec<W>))`) or a tuple of two or
    /// three (`(&b, &c)`: `(K, (Vec<V>, Vec<W1>, Vec<W2>))`).
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let a = ctx.parallelize(vec![(1, 'a')], 1);
    /// let b = ctx.parallelize(vec![(1, 10), (2, 20)], 2);
    /// let c = ctx.parallelize(vec![(2, "two".to_string())], 1);
    /// let mut grouped = a.cogroup((&b, &c)).collect().unwrap();
    /// grouped.sort_by_key(|g| g.0);
    /// assert_eq!(grouped[0], (1, (vec!['a'], vec![10], vec![])));
    /// assert_eq!(grouped[1], (2, (vec![], vec![20], vec!["two".to_string()])));
    /// ```
    pub fn cogroup<O: CoGroupWith<K, V>>(&self, others: O) -> Rdd<(K, O::Grouped)> {
        self.cogroup_in(others, 0)
    }

    /// [`cogroup`](Self::cogroup) into `partitioning`.
    pub fn cogroup_in<O: CoGroupWith<K, V>, P: Partitioning<K>>(
        &self,
        others: O,
        partitioning: P,
    ) -> Rdd<(K, O::Grouped)> {
        let partitioner = partitioning.into_partitioner(|| {
            let mut parents = vec![self.lineage().base()];
            parents.extend(others.parents());
            self.context().default_partitioner(&parents)
        });
        others.cogroup_of(self, partitioner)
    }

    /// Another name of [`cogroup`](Self::cogroup), as in Spark.
    pub fn group_with<O: CoGroupWith<K, V>>(&self, others: O) -> Rdd<(K, O::Grouped)> {
        self.cogroup(others)
    }

    /// Pairs of values for keys present in both RDDs.
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.join_in(other, 0)
    }

    /// [`join`](Self::join) into `partitioning`.
    pub fn join_in<W: Data, P: Partitioning<K>>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: P,
    ) -> Rdd<(K, (V, W))> {
        self.cogroup_in(other, partitioning)
            .with_op_keeping_partitioner("join", InnerJoinOp)
    }

    /// Every value of this RDD, with each matching value of `other` or `None`.
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.left_outer_join_in(other, 0)
    }

    /// [`left_outer_join`](Self::left_outer_join) into `partitioning`.
    pub fn left_outer_join_in<W: Data, P: Partitioning<K>>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: P,
    ) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup_in(other, partitioning)
            .with_op_keeping_partitioner("left_outer_join", LeftOuterJoinOp)
    }

    /// Every value of `other`, with each matching value of this RDD or `None`.
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.right_outer_join_in(other, 0)
    }

    /// [`right_outer_join`](Self::right_outer_join) into `partitioning`.
    pub fn right_outer_join_in<W: Data, P: Partitioning<K>>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: P,
    ) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup_in(other, partitioning)
            .with_op_keeping_partitioner("right_outer_join", RightOuterJoinOp)
    }

    /// Every value of both RDDs, matched where the keys allow.
    pub fn full_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<FullJoined<K, V, W>> {
        self.full_outer_join_in(other, 0)
    }

    /// [`full_outer_join`](Self::full_outer_join) into `partitioning`.
    pub fn full_outer_join_in<W: Data, P: Partitioning<K>>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: P,
    ) -> Rdd<FullJoined<K, V, W>> {
        self.cogroup_in(other, partitioning)
            .with_op_keeping_partitioner("full_outer_join", FullOuterJoinOp)
    }

    /// The pairs whose key is not in `other`.
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        self.subtract_by_key_in(other, 0)
    }

    /// [`subtract_by_key`](Self::subtract_by_key) into `partitioning`.
    pub fn subtract_by_key_in<W: Data, P: Partitioning<K>>(
        &self,
        other: &Rdd<(K, W)>,
        partitioning: P,
    ) -> Rdd<(K, V)> {
        self.cogroup_in(other, partitioning)
            .with_op_keeping_partitioner("subtract_by_key", SubtractByKeyOp)
    }

    /// How many pairs have each key (an action).
    ///
    /// # Errors
    /// The job failed.
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        let parts = self
            .context()
            .run_job(self, CountByKeyFn::default(), None)?;
        let mut counts: HashMap<K, u64> = HashMap::new();
        for (k, n) in parts.into_iter().flatten() {
            *counts.entry(k).or_default() += n;
        }
        Ok(counts)
    }

    /// The values of `key` (an action).
    ///
    /// # Errors
    /// The job failed.
    pub fn lookup(&self, key: K) -> Result<Vec<V>> {
        let parts = self.context().run_job(self, LookupFn { key }, None)?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// The pairs as a map; a later value of a repeated key wins (an action).
    ///
    /// # Errors
    /// The job failed.
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        Ok(self.collect()?.into_iter().collect())
    }
}

/// `reduce_by_key_locally` within a partition.
#[derive(Serialize, Deserialize)]
struct ReduceLocallyFn<F> {
    f: F,
}

impl<K: Key, V: Data, F: Func<(V, V), Output = V>> PartitionFunc<(K, V), Vec<(K, V)>>
    for ReduceLocallyFn<F>
{
    fn apply(
        &self,
        _: &Arc<TaskContext>,
        _: usize,
        elements: BoxIter<(K, V)>,
    ) -> Result<Vec<(K, V)>> {
        let mut merged: rustc_hash::FxHashMap<K, V> = Default::default();
        for (k, v) in elements {
            let v = match merged.remove(&k) {
                Some(old) => self.f.call((old, v)),
                None => v,
            };
            merged.insert(k, v);
        }
        Ok(merged.into_iter().collect())
    }
}

/// `filter_by_range`.
#[derive(Serialize, Deserialize)]
struct KeyRangeOp<K> {
    lower: K,
    upper: K,
}

impl<K: Data + Ord, V: Data> PartitionOp<(K, V), (K, V)> for KeyRangeOp<K> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, V)> {
        Box::new(input.filter(move |(k, _)| self.lower <= *k && *k <= self.upper))
    }
}

/// `cogroup`'s aggregator: the values of each side, in lists.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct CoGroup<V, W>(PhantomData<fn() -> (V, W)>);

impl<V, W> Default for CoGroup<V, W> {
    fn default() -> Self {
        CoGroup(PhantomData)
    }
}

impl<V, W> Clone for CoGroup<V, W> {
    fn clone(&self) -> Self {
        CoGroup(PhantomData)
    }
}

impl<V: Data, W: Data> Aggregator<Side<V, W>> for CoGroup<V, W> {
    type Combined = (Vec<V>, Vec<W>);
    fn create_combiner(&self, value: Side<V, W>) -> Self::Combined {
        self.merge_value((Vec::new(), Vec::new()), value)
    }
    fn merge_value(&self, (mut vs, mut ws): Self::Combined, value: Side<V, W>) -> Self::Combined {
        match value {
            Side::Left(v) => vs.push(v),
            Side::Right(w) => ws.push(w),
        }
        (vs, ws)
    }
    fn merge_combiners(
        &self,
        (mut vs, mut ws): Self::Combined,
        (v2, w2): Self::Combined,
    ) -> Self::Combined {
        vs.extend(v2);
        ws.extend(w2);
        (vs, ws)
    }
}

type Grouped<K, V, W> = (K, (Vec<V>, Vec<W>));

/// `join` after `cogroup`.
#[derive(Serialize, Deserialize)]
pub(crate) struct InnerJoinOp;

impl<K: Data, V: Data, W: Data> PartitionOp<Grouped<K, V, W>, (K, (V, W))> for InnerJoinOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<Grouped<K, V, W>>) -> BoxIter<(K, (V, W))> {
        Box::new(input.flat_map(|(k, (vs, ws))| pairs(k, vs, ws)))
    }
}

/// `left_outer_join` after `cogroup`.
#[derive(Serialize, Deserialize)]
pub(crate) struct LeftOuterJoinOp;

impl<K: Data, V: Data, W: Data> PartitionOp<Grouped<K, V, W>, (K, (V, Option<W>))>
    for LeftOuterJoinOp
{
    fn apply(
        self: Arc<Self>,
        _: usize,
        input: BoxIter<Grouped<K, V, W>>,
    ) -> BoxIter<(K, (V, Option<W>))> {
        Box::new(input.flat_map(|(k, (vs, ws))| pairs(k, vs, optional(ws))))
    }
}

/// `right_outer_join` after `cogroup`.
#[derive(Serialize, Deserialize)]
pub(crate) struct RightOuterJoinOp;

impl<K: Data, V: Data, W: Data> PartitionOp<Grouped<K, V, W>, (K, (Option<V>, W))>
    for RightOuterJoinOp
{
    fn apply(
        self: Arc<Self>,
        _: usize,
        input: BoxIter<Grouped<K, V, W>>,
    ) -> BoxIter<(K, (Option<V>, W))> {
        Box::new(input.flat_map(|(k, (vs, ws))| pairs(k, optional(vs), ws)))
    }
}

/// `full_outer_join` after `cogroup`.
#[derive(Serialize, Deserialize)]
pub(crate) struct FullOuterJoinOp;

impl<K: Data, V: Data, W: Data> PartitionOp<Grouped<K, V, W>, (K, (Option<V>, Option<W>))>
    for FullOuterJoinOp
{
    fn apply(
        self: Arc<Self>,
        _: usize,
        input: BoxIter<Grouped<K, V, W>>,
    ) -> BoxIter<(K, (Option<V>, Option<W>))> {
        Box::new(input.flat_map(|(k, (vs, ws))| pairs(k, optional(vs), optional(ws))))
    }
}

/// `[None]` for an empty side, else every value as `Some`.
fn optional<T>(values: Vec<T>) -> Vec<Option<T>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.into_iter().map(Some).collect()
    }
}

/// Every `(k, (a, b))` for `a` in `left` and `b` in `right`.
fn pairs<K: Data, A: Data, B: Data>(
    k: K,
    left: Vec<A>,
    right: Vec<B>,
) -> impl Iterator<Item = (K, (A, B))> {
    left.into_iter().flat_map(move |a| {
        let k = k.clone();
        right
            .clone()
            .into_iter()
            .map(move |b| (k.clone(), (a.clone(), b)))
    })
}

/// `intersection` after `cogroup`: keys present on both sides.
#[derive(Serialize, Deserialize)]
pub(crate) struct IntersectOp;

impl<T: Data> PartitionOp<Grouped<T, (), ()>, T> for IntersectOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<Grouped<T, (), ()>>) -> BoxIter<T> {
        Box::new(
            input
                .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
                .map(|(k, _)| k),
        )
    }
}

/// `subtract_by_key` after `cogroup`: left values of keys absent on the right.
#[derive(Serialize, Deserialize)]
pub(crate) struct SubtractByKeyOp;

impl<K: Data, V: Data, W: Data> PartitionOp<Grouped<K, V, W>, (K, V)> for SubtractByKeyOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<Grouped<K, V, W>>) -> BoxIter<(K, V)> {
        Box::new(
            input
                .filter(|(_, (_, ws))| ws.is_empty())
                .flat_map(|(k, (vs, _))| vs.into_iter().map(move |v| (k.clone(), v))),
        )
    }
}
