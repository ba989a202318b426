//! `cogroup` over two, three or four pair RDDs (Spark's `CoGroupedRDD`).
//!
//! Each side's values are tagged with the side they came from, the tagged RDDs are unioned and
//! shuffled once by key, and a key's tagged values are sorted back into one list per side. Two
//! sides use [`Side`]; three or four use [`Side4`], a fourth side of `()` standing for none.

use super::map_partitions::{PartitionOp, Side, TagLeftOp, TagRightOp};
use super::pair::CoGroup;
use super::{BoxIter, Rdd, RddBase};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::partitioner::Partitioner;
use crate::shuffle::Unordered;
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
        let left: Rdd<(K, Side<V, W>)> = this.with_op("cogroup", TagLeftOp);
        let right: Rdd<(K, Side<V, W>)> = self.with_op("cogroup", TagRightOp);
        left.union(&right)
            .shuffle(partitioner, CoGroup::default(), Unordered, true)
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
        let tagged: Rdd<(K, Side4<V, B, C, ()>)> = this
            .with_op("cogroup", Tag::<0>)
            .union(&self.0.with_op("cogroup", Tag::<1>))
            .union(&self.1.with_op("cogroup", Tag::<2>));
        tagged
            .shuffle(partitioner, CoGroup4::default(), Unordered, true)
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
        let tagged: Rdd<(K, Side4<V, B, C, D>)> = this
            .with_op("cogroup", Tag::<0>)
            .union(&self.0.with_op("cogroup", Tag::<1>))
            .union(&self.1.with_op("cogroup", Tag::<2>))
            .union(&self.2.with_op("cogroup", Tag::<3>));
        tagged.shuffle(partitioner, CoGroup4::default(), Unordered, true)
    }
    fn parents(&self) -> Vec<Arc<dyn RddBase>> {
        vec![
            self.0.lineage().base(),
            self.1.lineage().base(),
            self.2.lineage().base(),
        ]
    }
}

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
