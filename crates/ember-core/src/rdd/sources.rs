//! RDDs made from data the driver holds: `parallelize`, `range`, `empty`.

use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use crate::broadcast::Broadcast;
use crate::data::Data;
use crate::env::Env;
use crate::error::Result;
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

/// The slices of a driver-side collection (Spark's `ParallelCollectionRDD`).
///
/// Each slice travels as a broadcast value, so a task carries only the ids of the slices, and
/// each executor fetches the slices it computes once. The driver's copy owns the slices: when
/// the last handle to the RDD goes, they are destroyed (Spark's `ContextCleaner` does this for
/// RDDs that are garbage collected).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct ParallelCollectionRdd<T: Data> {
    pub core: RddCore,
    pub slices: Vec<Broadcast<Vec<T>>>,
    #[serde(skip)]
    // Held for its Drop: destroys the slices with the driver's RDD.
    pub _owner: Option<SliceOwner>,
}

/// Destroys the slices' broadcast values when the driver's RDD is dropped.
pub(crate) struct SliceOwner {
    pub env: Weak<Env>,
    pub ids: Vec<u64>,
}

impl Drop for SliceOwner {
    fn drop(&mut self) {
        if let Some(env) = self.env.upgrade() {
            for id in &self.ids {
                env.broadcast_manager.remove(*id);
            }
        }
    }
}

impl<T: Data> RddBase for ParallelCollectionRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.slices.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddCompute<T> for ParallelCollectionRdd<T> {
    fn compute(&self, partition: usize, _: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        let slice = self.slices[partition].shared();
        Ok(Box::new((0..slice.len()).map(move |i| slice[i].clone())))
    }
}

/// Splits `values` into `slices` contiguous slices of near-equal length, as Spark does.
pub(crate) fn slice<T>(mut values: Vec<T>, slices: usize) -> Vec<Vec<T>> {
    let n = values.len();
    let mut out: Vec<Vec<T>> = Vec::with_capacity(slices);
    for i in (0..slices).rev() {
        let start = i * n / slices;
        out.push(values.split_off(start));
    }
    out.reverse();
    out
}

/// `start..end` by `step`, sliced evenly (Spark's `SparkContext.range`).
#[derive(Serialize, Deserialize)]
pub(crate) struct RangeRdd {
    pub core: RddCore,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub slices: usize,
}

impl RangeRdd {
    fn len(&self) -> u64 {
        // In i128: the span of two i64s can exceed i64::MAX (but never u64::MAX).
        let (start, end) = (i128::from(self.start), i128::from(self.end));
        let span = if self.step > 0 {
            end - start
        } else {
            start - end
        };
        if span <= 0 {
            0
        } else {
            (span as u64).div_ceil(self.step.unsigned_abs())
        }
    }
}

impl RddBase for RangeRdd {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.slices
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddCompute<i64> for RangeRdd {
    fn compute(&self, partition: usize, _: &Arc<TaskContext>) -> Result<BoxIter<i64>> {
        let n = self.len() as u128;
        let slices = self.slices as u128;
        let from = (partition as u128 * n / slices) as u64;
        let to = ((partition as u128 + 1) * n / slices) as u64;
        let (start, step) = (self.start, self.step);
        // Every element lies between start and end, so the result of this modular arithmetic is
        // exact even where `i * step` alone would overflow.
        Ok(Box::new((from..to).map(move |i| {
            start.wrapping_add((i as i64).wrapping_mul(step))
        })))
    }
}

/// An RDD with no partitions (Spark's `EmptyRDD`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct EmptyRdd<T: Data> {
    pub core: RddCore,
    #[serde(skip)]
    pub _t: PhantomData<fn() -> T>,
}

impl<T: Data> RddBase for EmptyRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        0
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddCompute<T> for EmptyRdd<T> {
    fn compute(&self, _: usize, _: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        Ok(Box::new(std::iter::empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_contiguous_and_even() {
        let s = slice((0..10).collect::<Vec<_>>(), 3);
        assert_eq!(s, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8, 9]]);
        assert_eq!(
            slice(Vec::<u8>::new(), 2),
            vec![Vec::<u8>::new(), Vec::new()]
        );
    }
}
