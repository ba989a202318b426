//! Statistics over RDDs of numbers (Spark's `DoubleRDDFunctions` and `StatCounter`).

use super::{BoxIter, Rdd};
use crate::data::Data;
use crate::error::Result;
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
        self.min = self.min.min(x);
        self.max = self.max.max(x);
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
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
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
    /// Sample standard deviation (n - 1), as Spark's `sampleStdev`.
    pub fn sample_stdev(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            (self.m2 / (self.count - 1) as f64).sqrt()
        }
    }
    /// The smallest value (+inf when empty).
    pub fn min(&self) -> f64 {
        self.min
    }
    /// The largest value (-inf when empty).
    pub fn max(&self) -> f64 {
        self.max
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
