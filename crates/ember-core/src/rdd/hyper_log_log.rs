//! Approximate distinct counts: `count_approx_distinct` and `count_approx_distinct_by_key`
//! (Spark's `RDD.countApproxDistinct` and `PairRDDFunctions.countApproxDistinctByKey`), with a
//! dense HyperLogLog sketch.
//!
//! # The sketch
//!
//! 1. Each element is hashed to 64 bits with SipHash-1-3 under fixed keys (std's
//!    `DefaultHasher::new`): the same in the driver and in every executor, since they run one
//!    binary, and of good quality for any `Hash` type, strings included.
//! 2. The hash's top `p` bits choose one of `m = 2^p` registers; the register keeps the largest
//!    "rank" seen there: one plus the number of leading zeros of the other `64 - p` bits.
//! 3. Each task sketches its partition; the driver (or, by key, the shuffle) merges sketches by
//!    taking each register's maximum, so merging is exact: a merged sketch is the sketch of the
//!    union.
//! 4. The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
//!    HyperLogLog sketches", 2017) over the histogram of register values. It is unbiased from
//!    0 to beyond 2^40 without the empirical bias tables and the switch to linear counting
//!    that HyperLogLog++ uses for the same purpose, so small counts are as good as large ones.
//!
//! The relative standard error is about `1.04 / sqrt(m)`. As in Spark, `relative_sd` chooses
//! `p = ceil(2 * log2(1.054 / relative_sd))`, at least 4, so the error is at most
//! `relative_sd`. Unlike Spark there is no sparse representation: every sketch holds `m` bytes,
//! so `p` is capped at [`MAX_PRECISION`] (16 MiB per sketch).

use super::{BoxIter, PartitionOp, Rdd};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

/// The smallest precision (16 registers), as in Spark.
const MIN_PRECISION: u32 = 4;

/// The largest precision ember's dense sketch accepts: 2^24 registers of one byte each.
pub const MAX_PRECISION: u32 = 24;

/// Spark refuses relative standard deviations at or below this.
const MIN_RELATIVE_SD: f64 = 0.000017;

/// The precision `p` for `relative_sd`, as Spark chooses it.
///
/// # Errors
/// `relative_sd` is not above 0.000017 (or not a number), or needs more registers than
/// [`MAX_PRECISION`] allows.
pub(crate) fn precision_for(relative_sd: f64) -> Result<u32> {
    if relative_sd.is_nan() || relative_sd <= MIN_RELATIVE_SD {
        return Err(Error::Input(format!(
            "accuracy ({relative_sd}) must be greater than {MIN_RELATIVE_SD}: give \
             count_approx_distinct a relative standard deviation such as 0.05"
        )));
    }
    let p = (2.0 * (1.054 / relative_sd).log2()).ceil().max(0.0) as u32;
    if p > MAX_PRECISION {
        let least = 1.054 / f64::from(1u32 << (MAX_PRECISION / 2));
        return Err(Error::Input(format!(
            "accuracy ({relative_sd}) needs a sketch of 2^{p} registers per task, more than the \
             2^{MAX_PRECISION} ember's dense HyperLogLog holds; use a relative standard \
             deviation of at least {least:.6}"
        )));
    }
    Ok(p.max(MIN_PRECISION))
}

/// A dense HyperLogLog sketch (Spark uses stream-lib's `HyperLogLogPlus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HyperLogLog {
    p: u32,
    registers: Vec<u8>,
}

impl HyperLogLog {
    /// An empty sketch of `2^p` registers; `p` within 4..=[`MAX_PRECISION`].
    pub(crate) fn new(p: u32) -> Self {
        let p = p.clamp(MIN_PRECISION, MAX_PRECISION);
        HyperLogLog {
            p,
            registers: vec![0; 1 << p],
        }
    }

    /// Adds an element.
    pub(crate) fn add<T: Hash + ?Sized>(&mut self, x: &T) {
        let mut hasher = std::hash::DefaultHasher::new();
        x.hash(&mut hasher);
        self.add_hash(hasher.finish());
    }

    fn add_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - self.p)) as usize;
        let q = 64 - self.p;
        // The low q bits, shifted to the top, with a stop bit so that all-zero bits rank q + 1.
        let rest = (hash << self.p) | (1 << (self.p - 1));
        let rank = (rest.leading_zeros() + 1).min(q + 1) as u8;
        if self.registers[index] < rank {
            self.registers[index] = rank;
        }
    }

    /// Merges `other` in: the sketch of both inputs' union. Sketches of different precisions
    /// never meet (one action chooses one precision), so `other` is folded to this one's if so.
    pub(crate) fn merge(&mut self, other: &HyperLogLog) {
        if other.p != self.p {
            // Not reached by ember's own actions; kept correct rather than panicking.
            let mut folded = HyperLogLog::new(self.p.min(other.p));
            for sketch in [&*self, other] {
                folded.fold_in(sketch);
            }
            *self = folded;
            return;
        }
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Adds `sketch`, of a precision at least this one's, by folding its registers down.
    fn fold_in(&mut self, sketch: &HyperLogLog) {
        let shift = sketch.p - self.p;
        for (i, &rank) in sketch.registers.iter().enumerate() {
            if rank == 0 {
                continue;
            }
            let index = i >> shift;
            // The dropped index bits become leading bits of the rest.
            let dropped = (i as u64) & ((1 << shift) - 1);
            let rank = if dropped == 0 {
                u32::from(rank) + shift
            } else {
                dropped.leading_zeros() - (64 - shift) + 1
            };
            let rank = rank.min(64 - self.p + 1) as u8;
            self.registers[index] = self.registers[index].max(rank);
        }
    }

    /// The estimated number of distinct elements added.
    pub(crate) fn estimate(&self) -> u64 {
        let q = 64 - self.p as usize;
        let m = self.registers.len() as f64;
        let mut counts = vec![0u32; q + 2];
        for &r in &self.registers {
            counts[usize::from(r).min(q + 1)] += 1;
        }
        if counts[0] as f64 == m {
            return 0;
        }
        let mut z = m * tau(1.0 - f64::from(counts[q + 1]) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(counts[k]));
        }
        z += m * sigma(f64::from(counts[0]) / m);
        let alpha = 0.5 / std::f64::consts::LN_2;
        (alpha * m * m / z).round() as u64
    }
}

/// Ertl's sigma: the contribution of empty registers (`x` is their share, below 1).
fn sigma(mut x: f64) -> f64 {
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// Ertl's tau: the contribution of saturated registers (`x` is the share of the others).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

impl<T: Data + Hash> Rdd<T> {
    /// The approximate number of distinct elements (Spark's `countApproxDistinct`): one job in
    /// which each task sketches its partition in a HyperLogLog of `2^p` registers, `p` chosen
    /// from `relative_sd` as Spark chooses it; the driver merges the sketches. Elements are
    /// told apart by their `Hash`. See the `hyper_log_log` module for the sketch and its
    /// limits.
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let xs = ctx.range(0, 30_000, 1, 4).unwrap().map(Fn!(|x: i64| x % 10_000));
    /// let n = xs.count_approx_distinct(0.02).unwrap();
    /// assert!((9_400..=10_600).contains(&n), "{n}");
    /// // Spark's bound on the accuracy:
    /// assert!(xs.count_approx_distinct(0.00001).is_err());
    /// ```
    ///
    /// # Errors
    /// `relative_sd` is not above 0.000017, or below what ember's dense sketch holds (the
    /// message gives the least accepted); or the job failed.
    pub fn count_approx_distinct(&self, relative_sd: f64) -> Result<u64> {
        let p = precision_for(relative_sd)?;
        let sketches = self.context().run_job(self, SketchFn { p }, None)?;
        let mut all = HyperLogLog::new(p);
        for sketch in &sketches {
            all.merge(sketch);
        }
        Ok(all.estimate())
    }
}

impl<K: Key, V: Data + Hash> Rdd<(K, V)> {
    /// The approximate number of distinct values of each key (Spark's
    /// `countApproxDistinctByKey`), with one sketch per key merged through a shuffle into the
    /// default partitions. Each key's sketch holds `2^p` bytes, `p` chosen from `relative_sd`
    /// as in [`Rdd::count_approx_distinct`].
    ///
    /// ```
    /// # use ember_core::{Context, Fn};
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let pairs = ctx.parallelize((0..3000).map(|i| (i % 2, i % 1000)).collect::<Vec<(i32, i32)>>(), 3);
    /// let mut counts = pairs.count_approx_distinct_by_key(0.05).unwrap().collect().unwrap();
    /// counts.sort();
    /// assert_eq!(counts.len(), 2);
    /// assert!(counts.iter().all(|&(_, n)| (425..=575).contains(&n)), "{counts:?}");
    /// ```
    ///
    /// # Errors
    /// `relative_sd` is refused as by [`Rdd::count_approx_distinct`].
    pub fn count_approx_distinct_by_key(&self, relative_sd: f64) -> Result<Rdd<(K, u64)>> {
        let p = precision_for(relative_sd)?;
        let sketches = self.combine_in(SketchAggregator { p, _v: PhantomData }, 0, &[]);
        Ok(sketches.with_op_keeping_partitioner("count_approx_distinct_by_key", EstimateOp))
    }
}

/// A partition's sketch.
#[derive(Serialize, Deserialize)]
struct SketchFn {
    p: u32,
}

impl<T: Data + Hash> PartitionFunc<T, HyperLogLog> for SketchFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<HyperLogLog> {
        let mut sketch = HyperLogLog::new(self.p);
        elements.for_each(|x| sketch.add(&x));
        Ok(sketch)
    }
}

/// One sketch per key.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct SketchAggregator<V> {
    p: u32,
    #[serde(skip)]
    _v: PhantomData<fn(V)>,
}

impl<V> Clone for SketchAggregator<V> {
    fn clone(&self) -> Self {
        SketchAggregator {
            p: self.p,
            _v: PhantomData,
        }
    }
}

impl<V: Data + Hash> Aggregator<V> for SketchAggregator<V> {
    type Combined = HyperLogLog;
    fn create_combiner(&self, value: V) -> HyperLogLog {
        let mut sketch = HyperLogLog::new(self.p);
        sketch.add(&value);
        sketch
    }
    fn merge_value(&self, mut sketch: HyperLogLog, value: V) -> HyperLogLog {
        sketch.add(&value);
        sketch
    }
    fn merge_combiners(&self, mut a: HyperLogLog, b: HyperLogLog) -> HyperLogLog {
        a.merge(&b);
        a
    }
}

/// A key's sketch becomes its estimate.
#[derive(Serialize, Deserialize)]
struct EstimateOp;

impl<K: Data> PartitionOp<(K, HyperLogLog), (K, u64)> for EstimateOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, HyperLogLog)>) -> BoxIter<(K, u64)> {
        Box::new(input.map(|(k, sketch)| (k, sketch.estimate())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_follows_spark() {
        assert_eq!(precision_for(0.05).unwrap(), 9);
        assert_eq!(precision_for(0.01).unwrap(), 14);
        // 1.054 / sqrt(2^p) <= relative_sd at the chosen p.
        for sd in [0.3, 0.1, 0.05, 0.02, 0.005, 0.001] {
            let p = precision_for(sd).unwrap();
            assert!(1.054 / f64::from(1u32 << p).sqrt() <= sd, "{sd}");
        }
        assert_eq!(precision_for(0.9).unwrap(), MIN_PRECISION);
        for bad in [0.0, -1.0, 0.000017, f64::NAN] {
            let err = precision_for(bad).unwrap_err().to_string();
            assert!(err.contains("must be greater than 0.000017"), "{err}");
        }
        let err = precision_for(0.0001).unwrap_err().to_string();
        assert!(err.contains("at least 0.000257"), "{err}");
    }

    #[test]
    fn estimates_are_unbiased_from_tiny_to_large_counts() {
        for p in [4, 9, 14] {
            let se = 1.04 / f64::from(1u32 << p).sqrt();
            for n in [0u64, 1, 2, 10, 100, 1000, 10_000, 300_000] {
                let mut sketch = HyperLogLog::new(p);
                (0..n).for_each(|i| sketch.add(&i));
                (0..n).for_each(|i| sketch.add(&i));
                let e = sketch.estimate() as f64;
                let allowed = (4.0 * se * n as f64).max(1.0);
                assert!((e - n as f64).abs() <= allowed, "p={p} n={n}: {e}");
            }
        }
    }

    #[test]
    fn merging_is_the_sketch_of_the_union() {
        let (mut a, mut b, mut both) = (
            HyperLogLog::new(10),
            HyperLogLog::new(10),
            HyperLogLog::new(10),
        );
        for i in 0..5000u32 {
            if i % 3 == 0 {
                a.add(&i);
            } else {
                b.add(&i);
            }
            both.add(&i);
        }
        a.merge(&b);
        assert_eq!(a, both);
    }

    #[test]
    fn sketches_of_other_precisions_fold_down() {
        let (mut coarse, mut fine, mut want) = (
            HyperLogLog::new(8),
            HyperLogLog::new(12),
            HyperLogLog::new(8),
        );
        for i in 0..20_000u64 {
            if i % 2 == 0 {
                coarse.add(&i);
            } else {
                fine.add(&i);
            }
            want.add(&i);
        }
        coarse.merge(&fine);
        assert_eq!(coarse, want);
    }
}
