//! Windows: each RDD of a windowed stream holds its parent's batches of the last `window`
//! duration, and there is one every `slide` (sliding when `window > slide`, tumbling when they
//! are equal).
//!
//! `reduce_by_key_and_window` with an inverse function is incremental, as Spark's
//! `ReducedWindowedDStream`: each window's RDD is the previous window's, minus the batches that
//! left it (through the inverse function), plus those that entered. Each batch is reduced once,
//! however many windows it falls in, and only the batches at the window's two edges are read
//! again. The previous window's RDD stays in memory, and since every window depends on the one
//! before, the stream is checkpointed (every 10 s of batches by default) to cut that chain.

use super::{state_partitions, union_of, DStream};
use crate::time::is_whole_multiple;
use ember_core::{Data, Error, Fn, Func, HashPartitioner, Key, Result};
use std::time::Duration;

impl<T: Data> DStream<T> {
    /// Every `slide`, the elements of the batches of the last `window` (Spark's `window`).
    ///
    /// # Errors
    /// `window` or `slide` is not a whole multiple of this stream's slide.
    pub fn window(&self, window: Duration, slide: Duration) -> Result<DStream<T>> {
        self.check_window(window, slide)?;
        self.node.base.persist_by_default();
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        Ok(self.derive("window", slide, window, vec![], move |_, t| {
            let rdds = parent.slice(t - window, t)?;
            Ok(Some(union_of(&ctx, rdds)))
        }))
    }

    /// Every `slide`, the number of elements of the last `window`.
    ///
    /// # Errors
    /// As [`window`](Self::window).
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> Result<DStream<u64>> {
        Ok(self.window(window, slide)?.count())
    }

    /// Every `slide`, the elements of the last `window` combined by `f`.
    ///
    /// # Errors
    /// As [`window`](Self::window).
    pub fn reduce_by_window<F: Func<(T, T), Output = T> + Clone>(
        &self,
        f: F,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>> {
        Ok(self.reduce(f.clone()).window(window, slide)?.reduce(f))
    }

    fn check_window(&self, window: Duration, slide: Duration) -> Result<()> {
        let unit = self.slide_duration();
        for (what, d) in [("window duration", window), ("slide duration", slide)] {
            if !is_whole_multiple(d, unit) {
                return Err(Error::Input(format!(
                    "the {what} {d:?} must be a whole multiple of the parent's slide {unit:?} \
                     (the batch interval, for a stream read from a source)"
                )));
            }
        }
        Ok(())
    }
}

impl<T: Key> DStream<T> {
    /// Every `slide`, each distinct element of the last `window` with its count.
    ///
    /// # Errors
    /// As [`window`](Self::window).
    pub fn count_by_value_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(T, u64)>> {
        self.map(Fn!(|x: T| (x, 1u64))).reduce_by_key_and_window(
            Fn!(|a: u64, b: u64| a + b),
            window,
            slide,
        )
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Every `slide`, the values of each key over the last `window` combined by `f`: each batch
    /// reduced, the window's batches unioned and reduced again.
    ///
    /// # Errors
    /// As [`window`](Self::window).
    pub fn reduce_by_key_and_window<F: Func<(V, V), Output = V> + Clone>(
        &self,
        f: F,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>> {
        Ok(self
            .reduce_by_key(f.clone())
            .window(window, slide)?
            .reduce_by_key(f))
    }

    /// The incremental form (see the module's docs): `inverse(a, b)` undoes `f(a', b) = a`, so
    /// that batches leaving the window are taken out of the previous window's values instead of
    /// the whole window being reduced again. Keys for which `keep` is false are dropped from the
    /// window (a count that fell to zero, say), so that the window does not keep every key it
    /// ever saw. `partitions` (0: the default parallelism) partitions every window alike. Needs
    /// [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint).
    ///
    /// # Errors
    /// As [`window`](Self::window).
    pub fn reduce_by_key_and_window_inv<F, G, P>(
        &self,
        f: F,
        inverse: G,
        window: Duration,
        slide: Duration,
        partitions: usize,
        keep: P,
    ) -> Result<DStream<(K, V)>>
    where
        F: Func<(V, V), Output = V> + Clone,
        G: Func<(V, V), Output = V> + Clone,
        P: for<'a> Func<(&'a (K, V),), Output = bool> + Clone,
    {
        self.check_window(window, slide)?;
        let partitions = state_partitions(self.ssc.context(), partitions);
        let reduced = self.reduce_by_key_in(f.clone(), partitions);
        reduced.node.base.persist_by_default();
        let parent = reduced.node.clone();
        let ctx = self.ssc.context().clone();
        let stream = reduced.derive("reduce_by_key_and_window", slide, window + slide, vec![], {
            move |this, t| {
                let previous = match this.get_or_compute(t - slide)? {
                    Some(rdd) => rdd,
                    None => ctx.empty(),
                };
                let old = union_of(&ctx, parent.slice(t - slide - window, t - window)?);
                let new = union_of(&ctx, parent.slice(t - slide, t)?);
                let step = WindowStep {
                    f: f.clone(),
                    inverse: inverse.clone(),
                };
                Ok(Some(
                    previous
                        .cogroup_in((&old, &new), HashPartitioner::new(partitions))
                        .flat_map(Fn!(move |(k, (prev, old, new)): (
                            K,
                            (Vec<V>, Vec<V>, Vec<V>)
                        )| {
                            step.apply(prev, old, new).map(|v| (k, v))
                        }))
                        .filter(keep.clone()),
                ))
            }
        });
        stream.node.base.set_must_checkpoint();
        Ok(stream)
    }
}

/// One slide of an incremental window, for one key.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct WindowStep<F, G> {
    f: F,
    inverse: G,
}

impl<F, G> WindowStep<F, G> {
    /// The key's value in the new window from its value in the previous one and the values of
    /// the batches that left and entered.
    fn apply<V>(&self, previous: Vec<V>, old: Vec<V>, new: Vec<V>) -> Option<V>
    where
        F: Func<(V, V), Output = V>,
        G: Func<(V, V), Output = V>,
    {
        let reduce = |values: Vec<V>| values.into_iter().reduce(|a, b| self.f.call((a, b)));
        let mut value = previous.into_iter().next();
        if let Some(left) = reduce(old) {
            // A key with values leaving must have had them in the previous window; if the
            // previous window dropped it (`keep`), there is nothing to take them out of.
            value = value.map(|v| self.inverse.call((v, left)));
        }
        match (value, reduce(new)) {
            (Some(v), Some(entered)) => Some(self.f.call((v, entered))),
            (v, None) => v,
            (None, entered) => entered,
        }
    }
}
