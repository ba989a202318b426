//! Operations on RDDs of key-value pairs (Spark's `PairRDDFunctions`).

use super::actions::{CountByKeyFn, LookupFn, SketchFn};
use super::map_partitions::{
    FlatMapValuesOp, KeysOp, MapValuesOp, PartitionOp, Side, TagLeftOp, TagRightOp, ValuesOp,
};
use super::{BoxIter, Rdd};
use crate::aggregator::{Aggregator, Combine, GroupValues, NoAggregation, Reduce, WithZero};
use crate::data::{Data, Func, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, RangePartitioner};
use crate::shuffle::{SortByKey, Unordered};
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
        self.with_op("map_values", MapValuesOp(f))
    }

    /// Applies `f` to every value and pairs the key with each result.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> Rdd<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(V,), Output = I>,
    {
        self.with_op("flat_map_values", FlatMapValuesOp(f))
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
        self.reduce_by_key_with(Reduce::new(f), 0)
    }

    /// Like [`reduce_by_key`](Self::reduce_by_key), starting each key from `zero`.
    pub fn fold_by_key<F: Func<(V, V), Output = V> + Clone>(&self, zero: V, f: F) -> Rdd<(K, V)> {
        self.reduce_by_key_with(WithZero::new(zero, f.clone(), f), 0)
    }

    /// Aggregates each key's values into a `U`: `seq` adds a value, `comb` merges two partial
    /// results; each key starts from `zero`.
    pub fn aggregate_by_key<U: Data, F2, F3>(&self, zero: U, seq: F2, comb: F3) -> Rdd<(K, U)>
    where
        F2: Func<(U, V), Output = U> + Clone,
        F3: Func<(U, U), Output = U> + Clone,
    {
        self.reduce_by_key_with(WithZero::new(zero, seq, comb), 0)
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
        self.reduce_by_key_with(Combine::new(create, merge_value, merge_combiners), 0)
    }

    /// All values of each key.
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        self.reduce_by_key_with(GroupValues::default(), 0)
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

    /// For each key in either RDD, its values in this one and in `other`.
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<CoGrouped<K, V, W>> {
        let left: Rdd<(K, Side<V, W>)> = self.with_op("cogroup", TagLeftOp);
        let right: Rdd<(K, Side<V, W>)> = other.with_op("cogroup", TagRightOp);
        let partitions = self
            .context()
            .shuffle_partitions(&[self.num_partitions(), other.num_partitions()]);
        left.union(&right)
            .reduce_by_key_with(CoGroup::default(), partitions)
    }

    /// Pairs of values for keys present in both RDDs.
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.cogroup(other).with_op("join", InnerJoinOp)
    }

    /// Every value of this RDD, with each matching value of `other` or `None`.
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup(other)
            .with_op("left_outer_join", LeftOuterJoinOp)
    }

    /// Every value of `other`, with each matching value of this RDD or `None`.
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup(other)
            .with_op("right_outer_join", RightOuterJoinOp)
    }

    /// Every value of both RDDs, matched where the keys allow.
    pub fn full_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<FullJoined<K, V, W>> {
        self.cogroup(other)
            .with_op("full_outer_join", FullOuterJoinOp)
    }

    /// The pairs whose key is not in `other`.
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        self.cogroup(other)
            .with_op("subtract_by_key", SubtractByKeyOp)
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
