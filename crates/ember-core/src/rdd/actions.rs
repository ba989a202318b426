//! Actions: the operations that run a job and bring a result to the driver.
//!
//! Each action is a [`PartitionFunc`] applied to every partition on the executors, and a merge of
//! the partition results on the driver.

use super::{BoxIter, PartitionOp, Rdd};
use crate::data::{Data, Func, Key};
use crate::error::{Error, Result};
use crate::order::{Natural, Order, Reversed};
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

fn empty_collection(action: &str) -> Error {
    Error::Input(format!(
        "empty collection: {action}() needs at least one element"
    ))
}

impl<T: Data> Rdd<T> {
    /// Every element, in partition order.
    ///
    /// # Errors
    /// The job failed.
    pub fn collect(&self) -> Result<Vec<T>> {
        let parts = self.context().run_job(self, CollectFn, None)?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// The number of elements.
    ///
    /// # Errors
    /// The job failed.
    pub fn count(&self) -> Result<u64> {
        let parts = self.context().run_job(self, CountFn, None)?;
        Ok(parts.into_iter().sum())
    }

    /// The first `n` elements, scanning as few partitions as possible: one first, then four
    /// times as many each round, like Spark.
    ///
    /// # Errors
    /// The job failed.
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let mut taken = Vec::new();
        let total = self.num_partitions();
        let mut scanned = 0;
        let mut batch = 1;
        while taken.len() < n && scanned < total {
            let end = (scanned + batch).min(total);
            let partitions: Vec<usize> = (scanned..end).collect();
            let want = n - taken.len();
            let parts = self
                .context()
                .run_job(self, TakeFn { n: want }, Some(&partitions))?;
            taken.extend(parts.into_iter().flatten().take(want));
            scanned = end;
            batch *= 4;
        }
        Ok(taken)
    }

    /// The first element.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn first(&self) -> Result<T> {
        self.take(1)?
            .into_iter()
            .next()
            .ok_or_else(|| empty_collection("first"))
    }

    /// Merges all elements with `f` (associative and commutative).
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn reduce<F: Func<(T, T), Output = T> + Clone>(&self, f: F) -> Result<T> {
        self.reduce_for("reduce", f)
    }

    fn reduce_for<F: Func<(T, T), Output = T> + Clone>(&self, action: &str, f: F) -> Result<T> {
        let parts = self
            .context()
            .run_job(self, ReduceFn { f: f.clone() }, None)?;
        parts
            .into_iter()
            .flatten()
            .reduce(|a, b| f.call((a, b)))
            .ok_or_else(|| empty_collection(action))
    }

    /// Merges all elements with `f`, starting each partition and the final merge from `zero`.
    ///
    /// # Errors
    /// The job failed.
    pub fn fold<F: Func<(T, T), Output = T> + Clone>(&self, zero: T, f: F) -> Result<T> {
        let func = AggregateFn {
            zero: zero.clone(),
            seq: f.clone(),
            _t: PhantomData,
        };
        let parts = self.context().run_job(self, func, None)?;
        Ok(parts.into_iter().fold(zero, |a, b| f.call((a, b))))
    }

    /// Aggregates into a `U`: `seq` adds an element within a partition, `comb` merges partition
    /// results; both start from `zero`.
    ///
    /// # Errors
    /// The job failed.
    pub fn aggregate<U: Data, F2, F3>(&self, zero: U, seq: F2, comb: F3) -> Result<U>
    where
        F2: Func<(U, T), Output = U> + Clone,
        F3: Func<(U, U), Output = U>,
    {
        let func = AggregateFn {
            zero: zero.clone(),
            seq,
            _t: PhantomData,
        };
        let parts = self.context().run_job(self, func, None)?;
        Ok(parts.into_iter().fold(zero, |a, b| comb.call((a, b))))
    }

    /// Runs `f` on every element, on the executors.
    ///
    /// # Errors
    /// The job failed.
    pub fn foreach<F: Func<(T,), Output = ()>>(&self, f: F) -> Result<()> {
        self.context().run_job(self, ForeachFn(f), None)?;
        Ok(())
    }

    /// Runs `f` on every partition's iterator, on the executors.
    ///
    /// # Errors
    /// The job failed.
    pub fn foreach_partition<F: Func<(BoxIter<T>,), Output = ()>>(&self, f: F) -> Result<()> {
        self.context().run_job(self, ForeachPartitionFn(f), None)?;
        Ok(())
    }

    /// How many times each distinct element occurs.
    ///
    /// # Errors
    /// The job failed.
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>>
    where
        T: Key,
    {
        let parts = self.context().run_job(self, CountByValueFn, None)?;
        let mut counts: HashMap<T, u64> = HashMap::new();
        for (k, n) in parts.into_iter().flatten() {
            *counts.entry(k).or_default() += n;
        }
        Ok(counts)
    }

    /// The `n` smallest elements, in ascending order.
    ///
    /// # Errors
    /// The job failed.
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        self.take_ordered_by(n, Natural)
    }

    /// The `n` largest elements, in descending order.
    ///
    /// # Errors
    /// The job failed.
    pub fn top(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        self.take_ordered_by(n, Reversed(Natural))
    }

    /// The smallest element.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn min(&self) -> Result<T>
    where
        T: Ord,
    {
        self.min_by(Natural)
    }

    /// The largest element.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn max(&self) -> Result<T>
    where
        T: Ord,
    {
        self.max_by(Natural)
    }

    /// The `n` first elements under `order` (a [`FloatOrder`](crate::order::FloatOrder), a
    /// comparator written with `Fn!`, ...), in that order. Each task keeps only its `n` first.
    ///
    /// # Errors
    /// The job failed.
    pub fn take_ordered_by<O: Order<T>>(&self, n: usize, order: O) -> Result<Vec<T>> {
        let parts = self.context().run_job(
            self,
            FirstFn {
                n,
                order: order.clone(),
            },
            None,
        )?;
        Ok(first_n(parts.into_iter().flatten().collect(), n, &order))
    }

    /// The `n` last elements under `order`, last first.
    ///
    /// # Errors
    /// The job failed.
    pub fn top_by<O: Order<T>>(&self, n: usize, order: O) -> Result<Vec<T>> {
        self.take_ordered_by(n, Reversed(order))
    }

    /// The first element under `order`.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn min_by<O: Order<T>>(&self, order: O) -> Result<T> {
        self.take_ordered_by(1, order)?
            .pop()
            .ok_or_else(|| empty_collection("min"))
    }

    /// The last element under `order`.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn max_by<O: Order<T>>(&self, order: O) -> Result<T> {
        self.top_by(1, order)?
            .pop()
            .ok_or_else(|| empty_collection("max"))
    }

    /// Whether the RDD has no element; runs jobs over as few partitions as `take(1)` does.
    ///
    /// # Errors
    /// The job failed.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.num_partitions() == 0 || self.take(1)?.is_empty())
    }

    /// The elements one partition at a time, in order: each partition is a job of its own, run
    /// when the iterator reaches it, so the driver holds one partition at most (Spark's
    /// `toLocalIterator`). An error ends the iteration.
    pub fn to_local_iterator(&self) -> impl Iterator<Item = Result<T>> + '_ {
        (0..self.num_partitions()).flat_map(move |p| {
            let items: Box<dyn Iterator<Item = Result<T>>> =
                match self.context().run_job(self, CollectFn, Some(&[p])) {
                    Ok(parts) => Box::new(parts.into_iter().flatten().map(Ok)),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                };
            items
        })
    }

    /// [`aggregate`](Self::aggregate) with the partial results merged in a tree of `depth`
    /// levels on the executors rather than all on the driver (Spark's `treeAggregate`): for
    /// many partitions with large partial results.
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let xs = ctx.parallelize((1..=1000).collect::<Vec<u64>>(), 40);
    /// let sum = xs.tree_aggregate(0, Fn!(|a: u64, x: u64| a + x), Fn!(|a: u64, b: u64| a + b), 2);
    /// assert_eq!(sum.unwrap(), 500_500);
    /// ```
    ///
    /// # Errors
    /// `depth` is 0, or a job failed.
    pub fn tree_aggregate<U: Data, F2, F3>(
        &self,
        zero: U,
        seq: F2,
        comb: F3,
        depth: usize,
    ) -> Result<U>
    where
        F2: Func<(U, T), Output = U> + Clone,
        F3: Func<(U, U), Output = U> + Clone,
    {
        check_depth(depth)?;
        if self.num_partitions() == 0 {
            return Ok(zero);
        }
        let partial = self.with_op("tree_aggregate", AggregateOp::new(zero.clone(), seq));
        tree_levels(partial, comb.clone(), depth).fold(zero, comb)
    }

    /// [`reduce`](Self::reduce) merged in a tree of `depth` levels, as
    /// [`tree_aggregate`](Self::tree_aggregate) (Spark's `treeReduce`).
    ///
    /// # Errors
    /// `depth` is 0, the RDD is empty, or a job failed.
    pub fn tree_reduce<F: Func<(T, T), Output = T> + Clone>(
        &self,
        f: F,
        depth: usize,
    ) -> Result<T> {
        check_depth(depth)?;
        let partial = self.with_op("tree_reduce", ReduceOp(f.clone()));
        tree_levels(partial, f.clone(), depth).reduce_for("tree_reduce", f)
    }

    /// `num` elements chosen at random (with or without replacement), the same for the same
    /// seed. Like Spark, it counts first, samples with a fraction that yields enough elements with
    /// high probability, and retries in the rare case it does not.
    ///
    /// # Errors
    /// The jobs failed.
    pub fn take_sample(&self, with_replacement: bool, num: usize, seed: u64) -> Result<Vec<T>> {
        let total = self.count()?;
        if num == 0 || total == 0 {
            return Ok(Vec::new());
        }
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        if !with_replacement && num as u64 >= total {
            let mut all = self.collect()?;
            all.shuffle(&mut rng);
            return Ok(all);
        }
        let fraction = sampling_fraction(num as u64, total, with_replacement);
        loop {
            let mut sample = self
                .sample(with_replacement, fraction, rng.random())
                .collect()?;
            if sample.len() >= num {
                sample.shuffle(&mut rng);
                sample.truncate(num);
                return Ok(sample);
            }
        }
    }
}

fn check_depth(depth: usize) -> Result<()> {
    if depth == 0 {
        return Err(Error::Input(
            "the depth of a tree aggregation must be at least 1, got 0".into(),
        ));
    }
    Ok(())
}

/// Merges `partial` (a result or none per partition) level by level: each level has `scale`
/// times fewer partitions, until one more level would not save the driver much (Spark's
/// `treeAggregate` loop).
fn tree_levels<U: Data, F: Func<(U, U), Output = U> + Clone>(
    mut partial: Rdd<U>,
    comb: F,
    depth: usize,
) -> Rdd<U> {
    let mut partitions = partial.num_partitions();
    let scale = ((partitions as f64).powf(1.0 / depth as f64).ceil() as usize).max(2);
    while partitions > scale + partitions.div_ceil(scale) {
        partitions /= scale;
        partial = partial
            .with_op("tree_level", KeyByPartitionOp { modulo: partitions })
            .reduce_by_key_in(comb.clone(), partitions)
            .values();
    }
    partial
}

/// A partition's aggregate, as one element.
#[derive(Serialize, Deserialize)]
struct AggregateOp<U, F> {
    zero: U,
    seq: F,
}

impl<U, F> AggregateOp<U, F> {
    fn new(zero: U, seq: F) -> Self {
        AggregateOp { zero, seq }
    }
}

impl<T: Data, U: Data, F: Func<(U, T), Output = U>> PartitionOp<T, U> for AggregateOp<U, F> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        let zero = self.zero.clone();
        Box::new(std::iter::once(
            input.fold(zero, |acc, x| self.seq.call((acc, x))),
        ))
    }
}

/// A partition's reduction, as one element or none for an empty partition.
#[derive(Serialize, Deserialize)]
struct ReduceOp<F>(F);

impl<T: Data, F: Func<(T, T), Output = T>> PartitionOp<T, T> for ReduceOp<F> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<T> {
        Box::new(input.reduce(|a, b| self.0.call((a, b))).into_iter())
    }
}

/// Keys every element by its partition's index modulo `modulo`.
#[derive(Serialize, Deserialize)]
struct KeyByPartitionOp {
    modulo: usize,
}

impl<U: Data> PartitionOp<U, (usize, U)> for KeyByPartitionOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<U>) -> BoxIter<(usize, U)> {
        let key = partition % self.modulo;
        Box::new(input.map(move |x| (key, x)))
    }
}

/// A sampling fraction that yields at least `num` of `total` elements with probability above
/// 99.99% (Spark's `SamplingUtils.computeFractionForSampleSize`).
fn sampling_fraction(num: u64, total: u64, with_replacement: bool) -> f64 {
    let fraction = num as f64 / total as f64;
    if with_replacement {
        let extra = if num < 12 { 9.0 } else { 5.0 };
        fraction + extra * (fraction / total as f64).sqrt()
    } else {
        let gamma = 1e-4f64;
        let q = -gamma.ln() / total as f64;
        (fraction + q + (q * q + 2.0 * q * fraction).sqrt()).min(1.0)
    }
}

/// `collect`.
#[derive(Serialize, Deserialize)]
pub(crate) struct CollectFn;

impl<T: Data> PartitionFunc<T, Vec<T>> for CollectFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<T>> {
        Ok(elements.collect())
    }
}

/// `count`.
#[derive(Serialize, Deserialize)]
pub(crate) struct CountFn;

impl<T: Data> PartitionFunc<T, u64> for CountFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<u64> {
        Ok(elements.count() as u64)
    }
}

/// `take`: the first `n` of a partition.
#[derive(Serialize, Deserialize)]
pub(crate) struct TakeFn {
    n: usize,
}

impl<T: Data> PartitionFunc<T, Vec<T>> for TakeFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<T>> {
        Ok(elements.take(self.n).collect())
    }
}

/// `reduce` within a partition; `None` for an empty one.
#[derive(Serialize, Deserialize)]
pub(crate) struct ReduceFn<F> {
    f: F,
}

impl<T: Data, F: Func<(T, T), Output = T>> PartitionFunc<T, Option<T>> for ReduceFn<F> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Option<T>> {
        Ok(elements.reduce(|a, b| self.f.call((a, b))))
    }
}

/// `fold` and `aggregate` within a partition.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "U: Serialize, F: Serialize",
    deserialize = "U: serde::de::DeserializeOwned, F: serde::de::DeserializeOwned"
))]
pub(crate) struct AggregateFn<U, T, F> {
    zero: U,
    seq: F,
    #[serde(skip)]
    _t: PhantomData<fn(T)>,
}

impl<T: Data, U: Data, F: Func<(U, T), Output = U>> PartitionFunc<T, U> for AggregateFn<U, T, F> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<U> {
        Ok(elements.fold(self.zero.clone(), |acc, x| self.seq.call((acc, x))))
    }
}

/// `foreach`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ForeachFn<F>(F);

impl<T: Data, F: Func<(T,), Output = ()>> PartitionFunc<T, ()> for ForeachFn<F> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<()> {
        elements.for_each(|x| self.0.call((x,)));
        Ok(())
    }
}

/// `foreach_partition`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ForeachPartitionFn<F>(F);

impl<T: Data, F: Func<(BoxIter<T>,), Output = ()>> PartitionFunc<T, ()> for ForeachPartitionFn<F> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<()> {
        self.0.call((elements,));
        Ok(())
    }
}

/// `count_by_value` within a partition.
#[derive(Serialize, Deserialize)]
pub(crate) struct CountByValueFn;

impl<T: Key> PartitionFunc<T, Vec<(T, u64)>> for CountByValueFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<(T, u64)>> {
        let mut counts: rustc_hash::FxHashMap<T, u64> = Default::default();
        for x in elements {
            *counts.entry(x).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }
}

/// `count_by_key` within a partition.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct CountByKeyFn<V>(PhantomData<fn(V)>);

impl<V> Default for CountByKeyFn<V> {
    fn default() -> Self {
        CountByKeyFn(PhantomData)
    }
}

impl<K: Key, V: Data> PartitionFunc<(K, V), Vec<(K, u64)>> for CountByKeyFn<V> {
    fn apply(
        &self,
        _: &Arc<TaskContext>,
        _: usize,
        elements: BoxIter<(K, V)>,
    ) -> Result<Vec<(K, u64)>> {
        let mut counts: rustc_hash::FxHashMap<K, u64> = Default::default();
        for (k, _) in elements {
            *counts.entry(k).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }
}

/// `lookup` within a partition.
#[derive(Serialize, Deserialize)]
pub(crate) struct LookupFn<K> {
    pub key: K,
}

impl<K: Key, V: Data> PartitionFunc<(K, V), Vec<V>> for LookupFn<K> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<(K, V)>) -> Result<Vec<V>> {
        Ok(elements
            .filter(|(k, _)| *k == self.key)
            .map(|(_, v)| v)
            .collect())
    }
}

/// `take_ordered_by` within a partition: the `n` first under `order`.
#[derive(Serialize, Deserialize)]
pub(crate) struct FirstFn<O> {
    n: usize,
    order: O,
}

impl<T: Data, O: Order<T>> PartitionFunc<T, Vec<T>> for FirstFn<O> {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<T>> {
        if self.n == 0 {
            return Ok(Vec::new());
        }
        // Up to 2n held at once; each time the buffer fills, the n first are selected in
        // linear time, so a partition costs O(len) comparisons however large n is.
        let full = self.n.saturating_mul(2);
        let mut kept = Vec::with_capacity(full.min(1 << 16));
        for x in elements {
            kept.push(x);
            if kept.len() == full {
                self.keep_first(&mut kept);
            }
        }
        // The driver sorts what the tasks send: here they need only be the n first.
        if kept.len() > self.n {
            self.keep_first(&mut kept);
        }
        Ok(kept)
    }
}

impl<O> FirstFn<O> {
    /// Leaves the `n` first of `kept` under the order, in no particular order.
    fn keep_first<T>(&self, kept: &mut Vec<T>)
    where
        O: Order<T>,
    {
        kept.select_nth_unstable_by(self.n - 1, |a, b| self.order.compare(a, b));
        kept.truncate(self.n);
    }
}

/// The `n` first of `all` under `order`, sorted.
fn first_n<T, O: Order<T>>(mut all: Vec<T>, n: usize, order: &O) -> Vec<T> {
    all.sort_by(|a, b| order.compare(a, b));
    all.truncate(n);
    all
}

/// The sample behind `sort_by_key`'s ranges: a partition's count and a reservoir sample of up
/// to `size` of its keys.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct SketchFn<V> {
    size: usize,
    _v: PhantomData<fn(V)>,
}

impl<V> SketchFn<V> {
    pub(crate) fn new(size: usize) -> Self {
        SketchFn {
            size,
            _v: PhantomData,
        }
    }
}

impl<K: Key, V: Data> PartitionFunc<(K, V), (u64, Vec<K>)> for SketchFn<V> {
    fn apply(
        &self,
        _: &Arc<TaskContext>,
        partition: usize,
        elements: BoxIter<(K, V)>,
    ) -> Result<(u64, Vec<K>)> {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(partition as u64);
        let mut reservoir = Vec::with_capacity(self.size);
        let mut seen = 0u64;
        for (k, _) in elements {
            seen += 1;
            if reservoir.len() < self.size {
                reservoir.push(k);
            } else {
                let j = rng.random_range(0..seen);
                if (j as usize) < self.size {
                    reservoir[j as usize] = k;
                }
            }
        }
        Ok((seen, reservoir))
    }
}

#[cfg(test)]
mod tests {
    use super::sampling_fraction;

    #[test]
    fn sampling_fraction_exceeds_the_plain_ratio() {
        assert!(sampling_fraction(10, 1000, false) > 0.01);
        assert!(sampling_fraction(10, 1000, true) > 0.01);
        assert!(sampling_fraction(999, 1000, false) <= 1.0);
    }
}
