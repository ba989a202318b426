//! Operations on streams of key-value pairs, batch by batch (Spark's `PairDStreamFunctions`).
//! Each batch is reduced, grouped or joined on its own; windows and state live in their own
//! modules.

use super::DStream;
use ember_core::rdd::{CoGrouped, FullJoined};
use ember_core::{Data, Func, Key};

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Applies `f` to every value, keeping keys (and the partitioner).
    pub fn map_values<U: Data, F: Func<(V,), Output = U> + Clone>(&self, f: F) -> DStream<(K, U)> {
        self.derive_each("map_values", move |rdd| rdd.map_values(f.clone()))
    }

    /// Applies `f` to every value and pairs each result with the value's key.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(V,), Output = I> + Clone,
    {
        self.derive_each("flat_map_values", move |rdd| rdd.flat_map_values(f.clone()))
    }

    /// The values of each key in each batch combined by `f`.
    pub fn reduce_by_key<F: Func<(V, V), Output = V> + Clone>(&self, f: F) -> DStream<(K, V)> {
        self.reduce_by_key_in(f, 0)
    }

    /// [`reduce_by_key`](Self::reduce_by_key) into `partitions` hash partitions (0: the
    /// default).
    pub fn reduce_by_key_in<F: Func<(V, V), Output = V> + Clone>(
        &self,
        f: F,
        partitions: usize,
    ) -> DStream<(K, V)> {
        self.derive_each("reduce_by_key", move |rdd| {
            rdd.reduce_by_key_in(f.clone(), partitions)
        })
    }

    /// All values of each key in each batch.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.derive_each("group_by_key", |rdd| rdd.group_by_key())
    }

    /// The values of each key in each batch combined as `combine_by_key` does on RDDs.
    pub fn combine_by_key<C: Data, F1, F2, F3>(
        &self,
        create: F1,
        merge_value: F2,
        merge_combiners: F3,
    ) -> DStream<(K, C)>
    where
        F1: Func<(V,), Output = C> + Clone,
        F2: Func<(C, V), Output = C> + Clone,
        F3: Func<(C, C), Output = C> + Clone,
    {
        self.derive_each("combine_by_key", move |rdd| {
            rdd.combine_by_key(create.clone(), merge_value.clone(), merge_combiners.clone())
        })
    }

    /// Each key's values in this stream's and `other`'s batches of the same time.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<CoGrouped<K, V, W>> {
        self.transform_with(other, |a, b, _| a.cogroup(b))
    }

    /// Pairs of values for keys present in both streams' batches of the same time.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        self.transform_with(other, |a, b, _| a.join(b))
    }

    /// Every pair of this stream's batch, with the other's values for its key if any.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.transform_with(other, |a, b, _| a.left_outer_join(b))
    }

    /// Every pair of the other stream's batch, with this one's values for its key if any.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.transform_with(other, |a, b, _| a.right_outer_join(b))
    }

    /// Every key of either batch, with the values each side has for it.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<FullJoined<K, V, W>> {
        self.transform_with(other, |a, b, _| a.full_outer_join(b))
    }
}
