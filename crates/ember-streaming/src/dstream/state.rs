//! State across batches (Spark's `updateStateByKey`): a stream of each key's state, where each
//! batch's state is made from the previous batch's and the batch's new values.
//!
//! The state RDD of batch `t` is the cogroup of the state of `t - slide` with batch `t`'s
//! values, laid out by one hash partitioner for every batch, so that the previous state is
//! read where it lies, without a shuffle, and only the new values move. It stays in memory
//! until the next batch has read it, and is checkpointed (every 10 s of batches by default)
//! so that its lineage does not grow by a batch every batch.

use super::{state_partitions, DStream};
use ember_core::{Data, Fn, Func, HashPartitioner, Key, Rdd};

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Each key's state, updated every batch by `update(new values, previous state)`; `update`
    /// runs for every key with new values or a state, and a `None` it returns removes the key.
    /// `partitions` (0: the default parallelism) partitions every batch's state alike. Needs
    /// [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint).
    pub fn update_state_by_key<S: Data, F>(&self, update: F, partitions: usize) -> DStream<(K, S)>
    where
        F: Func<(Vec<V>, Option<S>), Output = Option<S>> + Clone,
    {
        self.update_state_by_key_from(update, partitions, None)
    }

    /// [`update_state_by_key`](Self::update_state_by_key) starting from `initial` state.
    pub fn update_state_by_key_from<S: Data, F>(
        &self,
        update: F,
        partitions: usize,
        initial: Option<Rdd<(K, S)>>,
    ) -> DStream<(K, S)>
    where
        F: Func<(Vec<V>, Option<S>), Output = Option<S>> + Clone,
    {
        let partitions = state_partitions(self.ssc.context(), partitions);
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let slide = self.slide_duration();
        let stream = self.derive(
            "update_state_by_key",
            slide,
            slide,
            vec![],
            move |this, t| {
                let previous = match this.get_or_compute(t - slide)? {
                    Some(state) => state,
                    None => initial.clone().unwrap_or_else(|| ctx.empty()),
                };
                let values = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
                let update = update.clone();
                Ok(Some(
                    previous
                        .cogroup_in(&values, HashPartitioner::new(partitions))
                        .flat_map(Fn!(move |(k, (state, values)): (K, (Vec<S>, Vec<V>))| {
                            update
                                .call((values, state.into_iter().next()))
                                .map(|s| (k, s))
                        })),
                ))
            },
        );
        stream.node.base.set_must_checkpoint();
        stream
    }
}
