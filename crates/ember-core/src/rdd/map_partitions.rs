//! One partition in, one partition out: every narrow one-parent transformation (Spark's
//! `MapPartitionsRDD`), with the per-partition operation as a type parameter so that it is
//! monomorphized, inlined and shipped with the task.

use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore, RddRef};
use crate::data::{Data, Func};
use crate::error::Result;
use crate::partitioner::PartitionerInfo;
use crate::task_context::TaskContext;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// What a [`MapPartitionsRdd`] does to each partition.
pub trait PartitionOp<T, U>: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Turns partition `partition`'s elements into the output's.
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<U>;
}

/// An RDD computed partition by partition from one parent.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct MapPartitionsRdd<T: Data, U: Data, Op: PartitionOp<T, U>> {
    pub core: RddCore,
    pub parent: RddRef<T>,
    pub op: Arc<Op>,
    /// The parent's, for operations that leave keys where they are.
    #[serde(skip)]
    pub partitioner: Option<PartitionerInfo>,
    #[serde(skip)]
    pub _tu: PhantomData<fn(T) -> U>,
}

impl<T: Data, U: Data, Op: PartitionOp<T, U>> RddBase for MapPartitionsRdd<T, U, Op> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.parent.0.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.parent.0.preferred_locations(partition)
    }
    fn partitioner(&self) -> Option<PartitionerInfo> {
        self.partitioner.clone()
    }
}

impl<T: Data, U: Data, Op: PartitionOp<T, U>> RddCompute<U> for MapPartitionsRdd<T, U, Op> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<U>> {
        let input = self.parent.iterator(partition, tc)?;
        Ok(self.op.clone().apply(partition, input))
    }
}

/// `map(f)`.
#[derive(Serialize, Deserialize)]
pub struct MapOp<F>(pub F);

impl<T: Data, U: Data, F: Func<(T,), Output = U>> PartitionOp<T, U> for MapOp<F> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(input.map(move |x| self.0.call((x,))))
    }
}

/// `filter(f)`.
#[derive(Serialize, Deserialize)]
pub struct FilterOp<F>(pub F);

impl<T: Data, F: for<'a> Func<(&'a T,), Output = bool>> PartitionOp<T, T> for FilterOp<F> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<T> {
        Box::new(input.filter(move |x| self.0.call((x,))))
    }
}

/// `flat_map(f)`.
#[derive(Serialize, Deserialize)]
pub struct FlatMapOp<F>(pub F);

impl<T: Data, U: Data, I, F> PartitionOp<T, U> for FlatMapOp<F>
where
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: 'static,
    F: Func<(T,), Output = I>,
{
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(input.flat_map(move |x| self.0.call((x,))))
    }
}

/// `map_partitions_with_index(f)`; `map_partitions(f)` ignores the index.
#[derive(Serialize, Deserialize)]
pub struct MapPartitionsOp<F>(pub F);

impl<T: Data, U: Data, I, F> PartitionOp<T, U> for MapPartitionsOp<F>
where
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: 'static,
    F: Func<(usize, BoxIter<T>), Output = I>,
{
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(self.0.call((partition, input)).into_iter())
    }
}

/// `map_partitions(f)`.
#[derive(Serialize, Deserialize)]
pub struct MapPartitionsNoIndexOp<F>(pub F);

impl<T: Data, U: Data, I, F> PartitionOp<T, U> for MapPartitionsNoIndexOp<F>
where
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: 'static,
    F: Func<(BoxIter<T>,), Output = I>,
{
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(self.0.call((input,)).into_iter())
    }
}

/// `glom()`: a partition becomes one vector.
#[derive(Serialize, Deserialize)]
pub struct GlomOp;

impl<T: Data> PartitionOp<T, Vec<T>> for GlomOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<Vec<T>> {
        Box::new(std::iter::once(input.collect()))
    }
}

/// `sample(with_replacement, fraction, seed)`: Bernoulli or Poisson sampling, seeded per
/// partition so that a recomputed partition gives the same sample.
#[derive(Serialize, Deserialize)]
pub struct SampleOp {
    /// Poisson (true) or Bernoulli (false).
    pub with_replacement: bool,
    /// Expected share kept (without replacement) or expected copies (with).
    pub fraction: f64,
    /// The user's seed.
    pub seed: u64,
}

/// The random numbers of partition `partition` under the user's `seed`.
pub(crate) fn partition_rng(seed: u64, partition: usize) -> rand::rngs::SmallRng {
    rand::rngs::SmallRng::seed_from_u64(
        seed ^ (partition as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

impl<T: Data> PartitionOp<T, T> for SampleOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<T> {
        let mut rng = partition_rng(self.seed, partition);
        if self.with_replacement {
            let lambda = self.fraction;
            Box::new(input.flat_map(move |x| {
                let copies = poisson(&mut rng, lambda);
                std::iter::repeat_n(x, copies)
            }))
        } else {
            let fraction = self.fraction;
            Box::new(input.filter(move |_| rng.random::<f64>() < fraction))
        }
    }
}

/// One part of `random_split`: the elements whose draw falls in `[lower, upper)`. Every part
/// draws the same numbers (same seed), so the parts are disjoint and cover the RDD.
#[derive(Serialize, Deserialize)]
pub struct SplitOp {
    /// Where the part's share starts, in [0, 1].
    pub lower: f64,
    /// Where it ends.
    pub upper: f64,
    /// The user's seed.
    pub seed: u64,
}

impl<T: Data> PartitionOp<T, T> for SplitOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<T> {
        let mut rng = partition_rng(self.seed, partition);
        Box::new(input.filter(move |_| {
            let draw = rng.random::<f64>();
            self.lower <= draw && draw < self.upper
        }))
    }
}

/// `zip_with_unique_id()`: the k-th element of partition p gets `k * partitions + p`.
#[derive(Serialize, Deserialize)]
pub struct ZipWithUniqueIdOp {
    /// The RDD's partitions.
    pub partitions: usize,
}

impl<T: Data> PartitionOp<T, (T, u64)> for ZipWithUniqueIdOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<(T, u64)> {
        let step = self.partitions as u64;
        Box::new(input.zip((partition as u64..).step_by(step.max(1) as usize)))
    }
}

/// A Poisson draw by Knuth's method; fine for the small means sampling uses.
pub(crate) fn poisson(rng: &mut impl Rng, lambda: f64) -> usize {
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// `zip_with_index()`: partition `p` numbers its elements from `starts[p]`.
#[derive(Serialize, Deserialize)]
pub struct ZipWithIndexOp {
    /// The index of each partition's first element.
    pub starts: Vec<u64>,
}

impl<T: Data> PartitionOp<T, (T, u64)> for ZipWithIndexOp {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<T>) -> BoxIter<(T, u64)> {
        let start = self.starts[partition];
        Box::new(input.zip(start..))
    }
}

/// `map_values(f)`.
#[derive(Serialize, Deserialize)]
pub struct MapValuesOp<F>(pub F);

impl<K: Data, V: Data, U: Data, F: Func<(V,), Output = U>> PartitionOp<(K, V), (K, U)>
    for MapValuesOp<F>
{
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, U)> {
        Box::new(input.map(move |(k, v)| (k, self.0.call((v,)))))
    }
}

/// `flat_map_values(f)`.
#[derive(Serialize, Deserialize)]
pub struct FlatMapValuesOp<F>(pub F);

impl<K: Data, V: Data, U: Data, I, F> PartitionOp<(K, V), (K, U)> for FlatMapValuesOp<F>
where
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: 'static,
    F: Func<(V,), Output = I>,
{
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, U)> {
        Box::new(
            input
                .flat_map(move |(k, v)| self.0.call((v,)).into_iter().map(move |u| (k.clone(), u))),
        )
    }
}

/// `key_by(f)`.
#[derive(Serialize, Deserialize)]
pub struct KeyByOp<F>(pub F);

impl<T: Data, K: Data, F: for<'a> Func<(&'a T,), Output = K>> PartitionOp<T, (K, T)>
    for KeyByOp<F>
{
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<(K, T)> {
        Box::new(input.map(move |x| (self.0.call((&x,)), x)))
    }
}

/// `keys()`.
#[derive(Serialize, Deserialize)]
pub struct KeysOp;

impl<K: Data, V: Data> PartitionOp<(K, V), K> for KeysOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<K> {
        Box::new(input.map(|(k, _)| k))
    }
}

/// `values()`.
#[derive(Serialize, Deserialize)]
pub struct ValuesOp;

impl<K: Data, V: Data> PartitionOp<(K, V), V> for ValuesOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<V> {
        Box::new(input.map(|(_, v)| v))
    }
}

/// Pairs each element with `()`, the first step of set operations built on shuffles.
#[derive(Serialize, Deserialize)]
pub struct WithUnitOp;

impl<T: Data> PartitionOp<T, (T, ())> for WithUnitOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<(T, ())> {
        Box::new(input.map(|x| (x, ())))
    }
}

/// A value of one side of a cogroup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Side<V, W> {
    /// From the left RDD.
    Left(V),
    /// From the right RDD.
    Right(W),
}

/// Tags left-side values of a cogroup.
#[derive(Serialize, Deserialize)]
pub struct TagLeftOp;

impl<K: Data, V: Data, W: Data> PartitionOp<(K, V), (K, Side<V, W>)> for TagLeftOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, Side<V, W>)> {
        Box::new(input.map(|(k, v)| (k, Side::Left(v))))
    }
}

/// Tags right-side values of a cogroup.
#[derive(Serialize, Deserialize)]
pub struct TagRightOp;

impl<K: Data, V: Data, W: Data> PartitionOp<(K, W), (K, Side<V, W>)> for TagRightOp {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<(K, W)>) -> BoxIter<(K, Side<V, W>)> {
        Box::new(input.map(|(k, w)| (k, Side::Right(w))))
    }
}
