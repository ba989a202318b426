//! Actions: the operations that run a job and bring a result to the driver.
//!
//! Each action is a [`PartitionFunc`] applied to every partition on the executors, and a merge of
//! the partition results on the driver.

use super::{BoxIter, Rdd};
use crate::data::{Data, Func, Key};
use crate::error::{Error, Result};
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BinaryHeap, HashMap};
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
        let parts = self
            .context()
            .run_job(self, ReduceFn { f: f.clone() }, None)?;
        parts
            .into_iter()
            .flatten()
            .reduce(|a, b| f.call((a, b)))
            .ok_or_else(|| empty_collection("reduce"))
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
        self.smallest(n, false)
    }

    /// The `n` largest elements, in descending order.
    ///
    /// # Errors
    /// The job failed.
    pub fn top(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        self.smallest(n, true)
    }

    fn smallest(&self, n: usize, reverse: bool) -> Result<Vec<T>>
    where
        T: Ord,
    {
        let parts = self
            .context()
            .run_job(self, SmallestFn { n, reverse }, None)?;
        let mut all: Vec<T> = parts.into_iter().flatten().collect();
        if reverse {
            all.sort_by(|a, b| b.cmp(a));
        } else {
            all.sort();
        }
        all.truncate(n);
        Ok(all)
    }

    /// The smallest element.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn min(&self) -> Result<T>
    where
        T: Ord,
    {
        self.take_ordered(1)?
            .pop()
            .ok_or_else(|| empty_collection("min"))
    }

    /// The largest element.
    ///
    /// # Errors
    /// The RDD is empty, or the job failed.
    pub fn max(&self) -> Result<T>
    where
        T: Ord,
    {
        self.top(1)?.pop().ok_or_else(|| empty_collection("max"))
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

/// `take_ordered` and `top` within a partition: the `n` smallest (or largest), kept in a
/// bounded heap.
#[derive(Serialize, Deserialize)]
pub(crate) struct SmallestFn {
    n: usize,
    reverse: bool,
}

impl<T: Data + Ord> PartitionFunc<T, Vec<T>> for SmallestFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<T>> {
        if self.n == 0 {
            return Ok(Vec::new());
        }
        if self.reverse {
            let mut heap = BinaryHeap::new();
            for x in elements {
                heap.push(std::cmp::Reverse(x));
                if heap.len() > self.n {
                    heap.pop();
                }
            }
            Ok(heap.into_iter().map(|r| r.0).collect())
        } else {
            let mut heap = BinaryHeap::new();
            for x in elements {
                heap.push(x);
                if heap.len() > self.n {
                    heap.pop();
                }
            }
            Ok(heap.into_vec())
        }
    }
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
