//! Narrow RDDs over several parents or regrouped partitions: union, coalesce, cartesian, zip.

use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore, RddRef};
use crate::data::{Data, Func};
use crate::error::{Error, Result};
use crate::partitioner::PartitionerInfo;
use crate::task_context::{abort, TaskContext};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// The partitions of several RDDs (Spark's `UnionRDD` and `PartitionerAwareUnionRDD`): one
/// after another, or, when every parent is laid out by the same partitioner, partition `i` of
/// each together as partition `i`, so that the union keeps the partitioner and an operation by
/// key on it needs no shuffle.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct UnionRdd<T: Data> {
    pub core: RddCore,
    pub parents: Vec<RddRef<T>>,
    /// The parents' common partitioner, when the union is partitioner-aware; known on the
    /// driver only, so tasks go by `aware`.
    #[serde(skip)]
    pub partitioner: Option<PartitionerInfo>,
    pub aware: bool,
}

impl<T: Data> UnionRdd<T> {
    /// The union of `parents`, partitioner-aware when they share a partitioner.
    pub(crate) fn new(core: RddCore, parents: Vec<RddRef<T>>) -> Self {
        let first = parents.first().and_then(|p| p.0.partitioner());
        let shared = first.is_some() && parents.iter().all(|p| p.0.partitioner() == first);
        UnionRdd {
            core,
            parents,
            partitioner: if shared { first } else { None },
            aware: shared,
        }
    }

    fn locate(&self, mut partition: usize) -> Option<(&RddRef<T>, usize)> {
        for parent in &self.parents {
            let n = parent.0.num_partitions();
            if partition < n {
                return Some((parent, partition));
            }
            partition -= n;
        }
        None
    }
}

impl<T: Data> RddBase for UnionRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        match self.aware {
            true => self.parents.first().map_or(0, |p| p.0.num_partitions()),
            false => self.parents.iter().map(|p| p.0.num_partitions()).sum(),
        }
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        if !self.aware {
            return self
                .locate(partition)
                .map(|(p, i)| p.0.preferred_locations(i))
                .unwrap_or_default();
        }
        // Hosts preferred by the most parents for this partition, as Spark's does.
        let mut counts: Vec<(String, usize)> = Vec::new();
        for parent in &self.parents {
            for host in parent.0.preferred_locations(partition) {
                match counts.iter_mut().find(|(h, _)| *h == host) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((host, 1)),
                }
            }
        }
        let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        counts
            .into_iter()
            .filter(|(_, n)| *n == most)
            .map(|(h, _)| h)
            .collect()
    }
    fn partitioner(&self) -> Option<PartitionerInfo> {
        self.partitioner.clone()
    }
}

impl<T: Data> RddCompute<T> for UnionRdd<T> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        if self.aware {
            let parts = self
                .parents
                .iter()
                .map(|p| p.iterator(partition, tc))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Box::new(parts.into_iter().flatten()));
        }
        let (parent, index) = self
            .locate(partition)
            .ok_or_else(|| Error::Internal(format!("union has no partition {partition}")))?;
        parent.iterator(index, tc)
    }
}

/// Fewer partitions, each the concatenation of a group of the parent's (Spark's
/// `CoalescedRDD`, without a shuffle).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct CoalescedRdd<T: Data> {
    pub core: RddCore,
    pub parent: RddRef<T>,
    pub groups: Vec<Vec<usize>>,
}

/// Groups `parents` partitions into `target` contiguous runs of near-equal size.
pub(crate) fn coalesce_groups(parents: usize, target: usize) -> Vec<Vec<usize>> {
    let target = target.clamp(1, parents.max(1));
    (0..target)
        .map(|i| (i * parents / target..(i + 1) * parents / target).collect())
        .collect()
}

impl<T: Data> RddBase for CoalescedRdd<T> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
}

impl<T: Data> RddCompute<T> for CoalescedRdd<T> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<T>> {
        let parent = self.parent.clone();
        let tc = tc.clone();
        let group = self.groups[partition].clone();
        Ok(Box::new(group.into_iter().flat_map(move |p| {
            parent.iterator(p, &tc).unwrap_or_else(|e| abort(e))
        })))
    }
}

/// Every pair of an element of `a` and one of `b` (Spark's `CartesianRDD`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct CartesianRdd<T: Data, U: Data> {
    pub core: RddCore,
    pub a: RddRef<T>,
    pub b: RddRef<U>,
}

impl<T: Data, U: Data> RddBase for CartesianRdd<T, U> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.a.0.num_partitions() * self.b.0.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.a.base()),
            Dependency::Narrow(self.b.base()),
        ]
    }
}

impl<T: Data, U: Data> RddCompute<(T, U)> for CartesianRdd<T, U> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<(T, U)>> {
        let nb = self.b.0.num_partitions();
        let right: Arc<Vec<U>> = Arc::new(self.b.iterator(partition % nb, tc)?.collect());
        let left = self.a.iterator(partition / nb, tc)?;
        Ok(Box::new(left.flat_map(move |x| {
            let right = right.clone();
            (0..right.len()).map(move |i| (x.clone(), right[i].clone()))
        })))
    }
}

/// Partition i of two RDDs with the same number of partitions, computed together by `op`
/// (Spark's `ZippedPartitionsRDD2`): `zip` and `zip_partitions`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct ZippedRdd<T: Data, U: Data, V: Data, Op: ZipOp<T, U, V>> {
    pub core: RddCore,
    pub a: RddRef<T>,
    pub b: RddRef<U>,
    pub op: Arc<Op>,
    #[serde(skip)]
    pub _v: PhantomData<fn() -> V>,
}

/// What a [`ZippedRdd`] makes of the two partitions.
pub(crate) trait ZipOp<T, U, V>:
    Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The output partition of partitions `a` and `b`.
    fn apply(self: Arc<Self>, a: BoxIter<T>, b: BoxIter<U>) -> BoxIter<V>;
}

impl<T: Data, U: Data, V: Data, Op: ZipOp<T, U, V>> RddBase for ZippedRdd<T, U, V, Op> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.a.0.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.a.base()),
            Dependency::Narrow(self.b.base()),
        ]
    }
}

impl<T: Data, U: Data, V: Data, Op: ZipOp<T, U, V>> RddCompute<V> for ZippedRdd<T, U, V, Op> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<V>> {
        let a = self.a.iterator(partition, tc)?;
        let b = self.b.iterator(partition, tc)?;
        Ok(self.op.clone().apply(a, b))
    }
}

/// `zip`: the i-th elements paired.
#[derive(Serialize, Deserialize)]
pub(crate) struct PairUp;

impl<T: Data, U: Data> ZipOp<T, U, (T, U)> for PairUp {
    fn apply(self: Arc<Self>, mut a: BoxIter<T>, mut b: BoxIter<U>) -> BoxIter<(T, U)> {
        Box::new(std::iter::from_fn(move || match (a.next(), b.next()) {
            (Some(x), Some(y)) => Some((x, y)),
            (None, None) => None,
            _ => abort(Error::Input(
                "can only zip RDDs with the same number of elements in each partition".into(),
            )),
        }))
    }
}

/// `zip_partitions(f)`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ZipPartitionsOp<F>(pub F);

impl<T: Data, U: Data, V: Data, I, F> ZipOp<T, U, V> for ZipPartitionsOp<F>
where
    I: IntoIterator<Item = V> + 'static,
    I::IntoIter: 'static,
    F: Func<(BoxIter<T>, BoxIter<U>), Output = I>,
{
    fn apply(self: Arc<Self>, a: BoxIter<T>, b: BoxIter<U>) -> BoxIter<V> {
        Box::new(self.0.call((a, b)).into_iter())
    }
}

#[cfg(test)]
mod tests {
    use super::coalesce_groups;

    #[test]
    fn coalesce_groups_cover_every_partition_once() {
        let groups = coalesce_groups(10, 3);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups.concat(), (0..10).collect::<Vec<_>>());
        assert_eq!(coalesce_groups(2, 5).len(), 2);
    }
}
