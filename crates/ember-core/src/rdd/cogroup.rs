//! `cogroup` over two, three or four pair RDDs (Spark's `CoGroupedRDD`).
//!
//! Each side's values are tagged with the side they came from. A side already laid out by the
//! cogroup's partitioner (say by an earlier `partition_by` or `reduce_by_key` with the same
//! partitioner) is used as it is; any other side is shuffled by that partitioner. Partition i of
//! the cogroup then reads partition i of every side in one task, a narrow dependency on each, and
//! sorts each key's tagged values back into one list per side (Spark's `CoGroupedRDD`, whose
//! dependencies are narrow for co-partitioned parents). Joins of RDDs partitioned alike thus
//! shuffle nothing. Two sides use [`Side`]; three or four use [`Side4`], a fourth side of `()`
//! standing for none.

use super::map_partitions::{PartitionOp, Side, TagLeftOp, TagRightOp};
use super::pair::CoGroup;
use super::{BoxIter, Dependency, Rdd, RddBase, RddCompute, RddCore, RddRef};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::{Partitioner, PartitionerInfo};
use crate::shuffle::ExternalAppendOnlyMap;
use crate::task_context::TaskContext;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// What [`Rdd::cogroup`] groups a pair RDD with: another pair RDD with the same key type
/// (`&b`), or a tuple of two or three (`(&b, &c)`, `(&b, &c, &d)`).
pub trait CoGroupWith<K: Key, V: Data> {
    /// A key's values on every side, this RDD's first.
    type Grouped: Data;
    /// The grouped RDD of `this` and these, partitioned by `partitioner`.
    #[doc(hidden)]
    fn cogroup_of<P: Partitioner<K>>(
        self,
        this: &Rdd<(K, V)>,
        partitioner: P,
    ) -> Rdd<(K, Self::Grouped)>;
    /// The other RDDs, for the default partitioner.
    #[doc(hidden)]
    fn parents(&self) -> Vec<Arc<dyn RddBase>>;
}

impl<K: Key, V: Data, W: Data> CoGroupWith<K, V> for &Rdd<(K, W)> {
    type Grouped = (Vec<V>, Vec<W>);
    fn cogroup_of<P: Partitioner<K>>(
        self,
        this: &Rdd<(K, V)>,
        partitioner: P,
    ) -> Rdd<(K, Self::Grouped)> {
        let left: Rdd<(K, Side<V, W>)> = this.with_op_keeping_partitioner("cogroup", TagLeftOp);
        let right: Rdd<(K, Side<V, W>)> = self.with_op_keeping_partitioner("cogroup", TagRightOp);
        cogrouped(vec![left, right], partitioner, CoGroup::default())
    }
    fn parents(&self) -> Vec<Arc<dyn RddBase>> {
        vec![self.lineage().base()]
    }
}

impl<K: Key, V: Data, B: Data, C: Data> CoGroupWith<K, V> for (&Rdd<(K, B)>, &Rdd<(K, C)>) {
    type Grouped = (Vec<V>, Vec<B>, Vec<C>);
    fn cogroup_of<P: Partitioner<K>>(
        self,
        this: &Rdd<(K, V)>,
        partitioner: P,
    ) -> Rdd<(K, Self::Grouped)> {
        let sides: Vec<Tagged<K, V, B, C, ()>> = vec![
            this.with_op_keeping_partitioner("cogroup", Tag::<0>),
            self.0.with_op_keeping_partitioner("cogroup", Tag::<1>),
            self.1.with_op_keeping_partitioner("cogroup", Tag::<2>),
        ];
        cogrouped(sides, partitioner, CoGroup4::default())
            .with_op_keeping_partitioner("cogroup", DropFourthOp)
    }
    fn parents(&self) -> Vec<Arc<dyn RddBase>> {
        vec![self.0.lineage().base(), self.1.lineage().base()]
    }
}

impl<K: Key, V: Data, B: Data, C: Data, D: Data> CoGroupWith<K, V>
    for (&Rdd<(K, B)>, &Rdd<(K, C)>, &Rdd<(K, D)>)
{
    type Grouped = (Vec<V>, Vec<B>, Vec<C>, Vec<D>);
    fn cogroup_of<P: Partitioner<K>>(
        self,
        this: &Rdd<(K, V)>,
        partitioner: P,
    ) -> Rdd<(K, Self::Grouped)> {
        let sides: Vec<Tagged<K, V, B, C, D>> = vec![
            this.with_op_keeping_partitioner("cogroup", Tag::<0>),
            self.0.with_op_keeping_partitioner("cogroup", Tag::<1>),
            self.1.with_op_keeping_partitioner("cogroup", Tag::<2>),
            self.2.with_op_keeping_partitioner("cogroup", Tag::<3>),
        ];
        cogrouped(sides, partitioner, CoGroup4::default())
    }
    fn parents(&self) -> Vec<Arc<dyn RddBase>> {
        vec![
            self.0.lineage().base(),
            self.1.lineage().base(),
            self.2.lineage().base(),
        ]
    }
}

/// The cogroup of tagged `sides`: each laid out by `partitioner` (shuffled there unless it is
/// already), then merged partition by partition.
fn cogrouped<K: Key, S: Data, A: Aggregator<S>, P: Partitioner<K>>(
    sides: Vec<Rdd<(K, S)>>,
    partitioner: P,
    aggregator: A,
) -> Rdd<(K, A::Combined)> {
    let info = PartitionerInfo::of(&partitioner);
    let ctx = sides[0].context().clone();
    let parents = sides
        .iter()
        .map(|side| match side.partitioner() {
            Some(laid) if laid == info => side.lineage().clone(),
            _ => side.partition_by(partitioner.clone()).lineage().clone(),
        })
        .collect();
    Rdd::from_compute(
        &ctx,
        CoGroupedRdd {
            core: ctx.new_rdd_core("cogroup"),
            parents,
            aggregator,
            partitions: partitioner.num_partitions(),
            partitioner: Some(info),
        },
    )
}

/// Partition i of every side, merged by key (the sides share one partitioner).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct CoGroupedRdd<K: Key, S: Data, A: Aggregator<S>> {
    core: RddCore,
    parents: Vec<RddRef<(K, S)>>,
    aggregator: A,
    partitions: usize,
    /// The sides' partitioner, known on the driver.
    #[serde(skip)]
    partitioner: Option<PartitionerInfo>,
}

impl<K: Key, S: Data, A: Aggregator<S>> RddBase for CoGroupedRdd<K, S, A> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.base()))
            .collect()
    }
    fn partitioner(&self) -> Option<PartitionerInfo> {
        self.partitioner.clone()
    }
}

impl<K: Key, S: Data, A: Aggregator<S>> RddCompute<(K, A::Combined)> for CoGroupedRdd<K, S, A> {
    fn compute(
        &self,
        partition: usize,
        tc: &Arc<TaskContext>,
    ) -> Result<BoxIter<(K, A::Combined)>> {
        let mut map = ExternalAppendOnlyMap::<K, S, A>::new(self.aggregator.clone(), tc);
        for parent in &self.parents {
            for (k, s) in parent.iterator(partition, tc)? {
                map.insert_value(k, s)?;
            }
        }
        map.into_iter()
    }
}

/// One side of a cogroup of three or four, its values tagged.
type Tagged<K, A, B, C, D> = Rdd<(K, Side4<A, B, C, D>)>;

/// A value of one of four cogrouped RDDs, tagged with its side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Side4<A, B, C, D> {
    /// From the RDD `cogroup` was called on.
    A(A),
    /// From the first other.
    B(B),
    /// From the second other.
    C(C),
    /// From the third other.
    D(D),
}

/// Tags the values of side `I` (0 to 3).
#[derive(Serialize, Deserialize)]
struct Tag<const I: usize>;

macro_rules! tag {
    ($i:literal, $side:ident, $t:ident) => {
        impl<K: Data, A: Data, B: Data, C: Data, D: Data>
            PartitionOp<(K, $t), (K, Side4<A, B, C, D>)> for Tag<$i>
        {
            fn apply(
                self: Arc<Self>,
                _: usize,
                input: BoxIter<(K, $t)>,
            ) -> BoxIter<(K, Side4<A, B, C, D>)> {
                Box::new(input.map(|(k, v)| (k, Side4::$side(v))))
            }
        }
    };
}
tag!(0, A, A);
tag!(1, B, B);
tag!(2, C, C);
tag!(3, D, D);

type Lists<A, B, C, D> = (Vec<A>, Vec<B>, Vec<C>, Vec<D>);

/// The aggregator of a cogroup of three or four: a list per side.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct CoGroup4<A, B, C, D>(PhantomData<Makes<Side4<A, B, C, D>>>);

/// A marker that names a type without owning one, so the aggregator is `Send` and `Sync`.
type Makes<T> = fn() -> T;

impl<A, B, C, D> Default for CoGroup4<A, B, C, D> {
    fn default() -> Self {
        CoGroup4(PhantomData)
    }
}

impl<A, B, C, D> Clone for CoGroup4<A, B, C, D> {
    fn clone(&self) -> Self {
        CoGroup4(PhantomData)
    }
}

impl<A: Data, B: Data, C: Data, D: Data> Aggregator<Side4<A, B, C, D>> for CoGroup4<A, B, C, D> {
    type Combined = Lists<A, B, C, D>;
    fn create_combiner(&self, value: Side4<A, B, C, D>) -> Self::Combined {
        self.merge_value(Default::default(), value)
    }
    fn merge_value(&self, mut lists: Self::Combined, value: Side4<A, B, C, D>) -> Self::Combined {
        match value {
            Side4::A(a) => lists.0.push(a),
            Side4::B(b) => lists.1.push(b),
            Side4::C(c) => lists.2.push(c),
            Side4::D(d) => lists.3.push(d),
        }
        lists
    }
    fn merge_combiners(&self, mut lists: Self::Combined, more: Self::Combined) -> Self::Combined {
        lists.0.extend(more.0);
        lists.1.extend(more.1);
        lists.2.extend(more.2);
        lists.3.extend(more.3);
        lists
    }
}

/// A cogroup of three: the unused fourth list dropped.
#[derive(Serialize, Deserialize)]
struct DropFourthOp;

impl<K: Data, A: Data, B: Data, C: Data>
    PartitionOp<(K, Lists<A, B, C, ()>), (K, (Vec<A>, Vec<B>, Vec<C>))> for DropFourthOp
{
    fn apply(
        self: Arc<Self>,
        _: usize,
        input: BoxIter<(K, Lists<A, B, C, ()>)>,
    ) -> BoxIter<(K, (Vec<A>, Vec<B>, Vec<C>))> {
        Box::new(input.map(|(k, (a, b, c, _))| (k, (a, b, c))))
    }
}
