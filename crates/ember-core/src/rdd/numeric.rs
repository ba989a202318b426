//! Statistics over RDDs of numbers (Spark's `DoubleRDDFunctions` and `StatCounter`).

use super::{BoxIter, Rdd};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::PartitionFunc;
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Element types that statistics can be computed over.
pub trait Numeric: Data + Copy {
    /// The value as `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
numeric!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, f32, f64);

/// Count, mean, variance, min and max in one pass, mergeable across partitions (Spark's
/// `StatCounter`, using Welford's updates so that large sums lose no precision).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatCounter {
    count: u64,
    // Kept apart from the mean: mean * count loses the low digits of large integer sums.
    sum: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for StatCounter {
    fn default() -> Self {
        StatCounter {
            count: 0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl StatCounter {
    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        self.count += 1;
        self.sum += x;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = nan_min(self.min, x);
        self.max = nan_max(self.max, x);
    }

    /// Merges another counter in.
    pub fn merge(&mut self, other: &StatCounter) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n = (self.count + other.count) as f64;
        let delta = other.mean - self.mean;
        self.mean += delta * other.count as f64 / n;
        self.m2 += other.m2 + delta * delta * self.count as f64 * other.count as f64 / n;
        self.count += other.count;
        self.sum += other.sum;
        self.min = nan_min(self.min, other.min);
        self.max = nan_max(self.max, other.max);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// Their mean (NaN when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }
    /// Their sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }
    /// Population variance (NaN when empty).
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.m2 / self.count as f64
        }
    }
    /// Population standard deviation, as Spark's `stdev`.
    pub fn stdev(&self) -> f64 {
        self.variance().sqrt()
    }
    /// Sample variance (divided by n - 1), as Spark's `sampleVariance` (NaN below two values).
    pub fn sample_variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }
    /// Sample standard deviation (n - 1), as Spark's `sampleStdev`.
    pub fn sample_stdev(&self) -> f64 {
        self.sample_variance().sqrt()
    }
    /// The smallest value (+inf when empty, NaN when a value was NaN, as in Spark).
    pub fn min(&self) -> f64 {
        self.min
    }
    /// The largest value (-inf when empty, NaN when a value was NaN, as in Spark).
    pub fn max(&self) -> f64 {
        self.max
    }
}

/// The smaller of two numbers, NaN if either is (where `f64::min` would drop the NaN).
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The larger of two numbers, NaN if either is.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

impl<T: Numeric> Rdd<T> {
    /// Count, mean, stdev, min and max in one job.
    ///
    /// # Errors
    /// The job failed.
    pub fn stats(&self) -> Result<StatCounter> {
        let parts = self.context().run_job(self, StatsFn, None)?;
        let mut total = StatCounter::default();
        for p in &parts {
            total.merge(p);
        }
        Ok(total)
    }

    /// The sum, as `f64`.
    ///
    /// # Errors
    /// The job failed.
    pub fn sum(&self) -> Result<f64> {
        let parts = self.context().run_job(self, SumFn, None)?;
        Ok(parts.into_iter().sum())
    }

    /// The mean (NaN when empty).
    ///
    /// # Errors
    /// The job failed.
    pub fn mean(&self) -> Result<f64> {
        Ok(self.stats()?.mean())
    }

    /// The population variance (NaN when empty).
    ///
    /// # Errors
    /// The job failed.
    pub fn variance(&self) -> Result<f64> {
        Ok(self.stats()?.variance())
    }

    /// The population standard deviation (NaN when empty).
    ///
    /// # Errors
    /// The job failed.
    pub fn stdev(&self) -> Result<f64> {
        Ok(self.stats()?.stdev())
    }

    /// The sample variance, divided by n - 1 (NaN below two elements).
    ///
    /// # Errors
    /// The job failed.
    pub fn sample_variance(&self) -> Result<f64> {
        Ok(self.stats()?.sample_variance())
    }

    /// The sample standard deviation (NaN below two elements).
    ///
    /// # Errors
    /// The job failed.
    pub fn sample_stdev(&self) -> Result<f64> {
        Ok(self.stats()?.sample_stdev())
    }

    /// How many elements fall in each bucket: bucket `i` is `[buckets[i], buckets[i + 1])`, the
    /// last one closed `[.., buckets[n]]`. Elements outside every bucket, and NaN, are not
    /// counted (Spark's `histogram(buckets)`).
    ///
    /// ```
    /// # let ctx = ember_core::Context::with_master("local[2]").unwrap();
    /// let xs = ctx.parallelize(vec![1, 5, 10, 10, 11, -3], 2);
    /// assert_eq!(xs.histogram_with_buckets(&[0.0, 5.0, 10.0]).unwrap(), vec![1, 3]);
    /// ```
    ///
    /// # Errors
    /// Fewer than two buckets, bounds not sorted or NaN, or the job failed.
    pub fn histogram_with_buckets(&self, buckets: &[f64]) -> Result<Vec<u64>> {
        if buckets.len() < 2 {
            return Err(Error::Input(format!(
                "histogram needs at least two bucket bounds, got {}: pass [low, high] for one \
                 bucket",
                buckets.len()
            )));
        }
        if buckets.iter().any(|b| b.is_nan()) || buckets.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::Input(format!(
                "histogram bucket bounds must be sorted numbers, got {buckets:?}"
            )));
        }
        self.count_buckets(Buckets::Given(buckets.to_vec()), buckets.len() - 1)
    }

    /// `bucket_count` buckets of equal width from the smallest element to the largest, and how
    /// many elements fall in each (Spark's `histogram(bucketCount)`). All elements equal give
    /// the one bucket `[x, x]`.
    ///
    /// ```
    /// # let ctx = ember_core::Context::with_master("local[2]").unwrap();
    /// let xs = ctx.parallelize(vec![0.0, 1.0, 2.5, 4.0], 2);
    /// let (bounds, counts) = xs.histogram(2).unwrap();
    /// assert_eq!((bounds, counts), (vec![0.0, 2.0, 4.0], vec![2, 2]));
    /// ```
    ///
    /// # Errors
    /// `bucket_count` is 0; the RDD is empty or holds an infinity or NaN; a job failed.
    pub fn histogram(&self, bucket_count: usize) -> Result<(Vec<f64>, Vec<u64>)> {
        if bucket_count == 0 {
            return Err(Error::Input(
                "histogram needs at least one bucket, got 0".into(),
            ));
        }
        let stats = self.stats()?;
        let (min, max) = (stats.min(), stats.max());
        if !min.is_finite() || !max.is_finite() {
            return Err(Error::Input(
                "histogram of an empty RDD or of one holding +/-infinity or NaN: filter those \
                 out first, or pass the buckets with histogram_with_buckets"
                    .into(),
            ));
        }
        if min == max {
            let counts = self.count_buckets(Buckets::Even { min, max, count: 1 }, 1)?;
            return Ok((vec![min, max], counts));
        }
        let span = max - min;
        let mut bounds: Vec<f64> = (0..bucket_count)
            .map(|i| min + i as f64 * span / bucket_count as f64)
            .collect();
        bounds.push(max);
        let even = Buckets::Even {
            min,
            max,
            count: bucket_count,
        };
        Ok((bounds, self.count_buckets(even, bucket_count)?))
    }

    fn count_buckets(&self, buckets: Buckets, count: usize) -> Result<Vec<u64>> {
        let parts = self
            .context()
            .run_job(self, HistogramFn { buckets, count }, None)?;
        let mut total = vec![0; count];
        for part in parts {
            total.iter_mut().zip(part).for_each(|(t, n)| *t += n);
        }
        Ok(total)
    }
}

/// Which bucket a value falls in.
#[derive(Serialize, Deserialize)]
enum Buckets {
    /// Bounds as given: a binary search.
    Given(Vec<f64>),
    /// `count` buckets of equal width: arithmetic.
    Even { min: f64, max: f64, count: usize },
}

impl Buckets {
    fn of(&self, x: f64) -> Option<usize> {
        match self {
            Buckets::Given(bounds) => {
                let last = bounds.len() - 1;
                if x.is_nan() || x < bounds[0] || x > bounds[last] {
                    None
                } else if x == bounds[last] {
                    Some(last - 1)
                } else {
                    Some(bounds.partition_point(|b| *b <= x) - 1)
                }
            }
            Buckets::Even { min, max, count } => {
                if x.is_nan() || x < *min || x > *max {
                    None
                } else if max == min {
                    Some(0)
                } else {
                    // The ratio first, for precision; the maximum is in the last bucket.
                    let i = ((x - min) / (max - min) * *count as f64) as usize;
                    Some(i.min(count - 1))
                }
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HistogramFn {
    buckets: Buckets,
    count: usize,
}

impl<T: Numeric> PartitionFunc<T, Vec<u64>> for HistogramFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<Vec<u64>> {
        let mut counts = vec![0; self.count];
        for x in elements {
            if let Some(i) = self.buckets.of(x.to_f64()) {
                counts[i] += 1;
            }
        }
        Ok(counts)
    }
}

#[derive(Serialize, Deserialize)]
struct StatsFn;

impl<T: Numeric> PartitionFunc<T, StatCounter> for StatsFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<StatCounter> {
        let mut s = StatCounter::default();
        elements.for_each(|x| s.add(x.to_f64()));
        Ok(s)
    }
}

#[derive(Serialize, Deserialize)]
struct SumFn;

impl<T: Numeric> PartitionFunc<T, f64> for SumFn {
    fn apply(&self, _: &Arc<TaskContext>, _: usize, elements: BoxIter<T>) -> Result<f64> {
        Ok(elements.map(Numeric::to_f64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_counters_equal_one_pass() {
        let xs: Vec<f64> = (0..100).map(|i| (i * 7 % 13) as f64 - 3.5).collect();
        let mut one = StatCounter::default();
        xs.iter().for_each(|&x| one.add(x));
        let (mut a, mut b) = (StatCounter::default(), StatCounter::default());
        xs[..30].iter().for_each(|&x| a.add(x));
        xs[30..].iter().for_each(|&x| b.add(x));
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert!((a.mean() - one.mean()).abs() < 1e-12);
        assert_eq!(a.sum(), xs.iter().sum::<f64>());
        assert!((a.stdev() - one.stdev()).abs() < 1e-12);
        assert_eq!((a.min(), a.max()), (one.min(), one.max()));
    }
}
