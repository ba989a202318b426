//! Per-key state with a function over each record (Spark's `mapWithState`): the function
//! sees the key, the record's value and the key's [`State`], may update or remove the state,
//! and returns a mapped value; keys idle for the spec's timeout get one last call.
//!
//! Each batch's RDD holds, per key, the state after the batch (with the time it was last
//! updated) and the values the function returned in that batch. It is the cogroup of the
//! previous batch's state with the batch's records, laid out by one hash partitioner, so the
//! state is read in place; kept in memory and checkpointed, like `update_state_by_key`'s.

use super::{state_partitions, DStream};
use crate::time::Time;
use ember_core::{Data, Fn, Func, HashPartitioner, Key, Rdd};
use serde::{Deserialize, Serialize};
use std::ops::Deref;
use std::time::Duration;

/// A key's state as the mapping function sees it (Spark's `State`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State<S> {
    value: Option<S>,
    updated: bool,
    timing_out: bool,
}

impl<S> State<S> {
    /// Whether the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The key's state, if any.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the key's state.
    ///
    /// # Panics
    /// The key is timing out: its state cannot be kept.
    pub fn update(&mut self, value: S) {
        assert!(
            !self.timing_out,
            "cannot update the state of a key that is timing out"
        );
        self.value = Some(value);
        self.updated = true;
    }

    /// Removes the key's state.
    pub fn remove(&mut self) {
        self.value = None;
        self.updated = true;
    }

    /// Whether this call is the key's last, because it has been idle for the timeout.
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

/// What `map_with_state` runs (Spark's `StateSpec`): the function, and how the state is
/// partitioned, started and timed out.
pub struct StateSpec<F, K: Key, S: Data> {
    function: F,
    partitions: usize,
    timeout: Option<Duration>,
    initial: Option<Rdd<(K, S)>>,
}

impl<F, K: Key, S: Data> StateSpec<F, K, S> {
    /// A spec of `function(key, value, state) -> mapped value`, called once per record, and
    /// once with no value for a key timing out.
    pub fn function(function: F) -> Self {
        StateSpec {
            function,
            partitions: 0,
            timeout: None,
            initial: None,
        }
    }

    /// Partitions the state into `partitions` (default: the default parallelism).
    pub fn num_partitions(mut self, partitions: usize) -> Self {
        self.partitions = partitions;
        self
    }

    /// Keys without records for `timeout` get a last call and lose their state.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts from `initial` state.
    pub fn initial_state(mut self, initial: Rdd<(K, S)>) -> Self {
        self.initial = Some(initial);
        self
    }
}

/// A key's state after a batch, and the values its records mapped to in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry<S, M> {
    /// The state, with the batch time (ms) it was last updated.
    state: Option<(S, i64)>,
    mapped: Vec<M>,
}

/// The mapped values of [`DStream::map_with_state`], a stream itself, with the state beside.
pub struct MapWithStateDStream<K: Key, S: Data, M: Data> {
    mapped: DStream<M>,
    snapshots: DStream<(K, S)>,
}

impl<K: Key, S: Data, M: Data> MapWithStateDStream<K, S, M> {
    /// Every key's state after each batch (Spark's `stateSnapshots`).
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        self.snapshots.clone()
    }
}

impl<K: Key, S: Data, M: Data> Deref for MapWithStateDStream<K, S, M> {
    type Target = DStream<M>;
    fn deref(&self) -> &DStream<M> {
        &self.mapped
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Runs `spec`'s function on every record with its key's state (see the module's docs).
    /// Needs [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint).
    pub fn map_with_state<S: Data, M: Data, F>(
        &self,
        spec: StateSpec<F, K, S>,
    ) -> MapWithStateDStream<K, S, M>
    where
        F: for<'a> Func<(K, Option<V>, &'a mut State<S>), Output = M> + Clone,
    {
        let partitions = state_partitions(self.ssc.context(), spec.partitions);
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let slide = self.slide_duration();
        let timeout_ms = spec.timeout.map(crate::time::millis);
        let (function, initial) = (spec.function, spec.initial);
        let entries = self.derive(
            "map_with_state",
            slide,
            slide,
            vec![],
            move |this, t: Time| {
                let now = t.millis();
                let previous: Rdd<(K, (S, i64))> = match this.get_or_compute(t - slide)? {
                    Some(entries) => entries.flat_map_values(Fn!(|e: Entry<S, M>| e.state)),
                    None => match &initial {
                        Some(rdd) => rdd.map_values(Fn!(move |s: S| (s, now))),
                        None => ctx.empty(),
                    },
                };
                let values = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
                let function = function.clone();
                Ok(Some(
                    previous
                        .cogroup_in(&values, HashPartitioner::new(partitions))
                        .flat_map(Fn!(move |(k, (state, values)): (
                            K,
                            (Vec<(S, i64)>, Vec<V>)
                        )| {
                            step(
                                &function,
                                k,
                                state.into_iter().next(),
                                values,
                                now,
                                timeout_ms,
                            )
                        })),
                ))
            },
        );
        entries.node.base.set_must_checkpoint();
        MapWithStateDStream {
            mapped: entries.flat_map(Fn!(|(_, e): (K, Entry<S, M>)| e.mapped)),
            snapshots: entries
                .flat_map(Fn!(|(k, e): (K, Entry<S, M>)| e.state.map(|(s, _)| (k, s)))),
        }
    }
}

/// One key's batch: the function on each of its values in turn, or its timeout call.
fn step<K: Clone, V, S, M, F>(
    function: &F,
    key: K,
    state: Option<(S, i64)>,
    values: Vec<V>,
    now: i64,
    timeout_ms: Option<i64>,
) -> Option<(K, Entry<S, M>)>
where
    F: for<'a> Func<(K, Option<V>, &'a mut State<S>), Output = M>,
{
    let (value, mut last) = match state {
        Some((s, at)) => (Some(s), at),
        None => (None, now),
    };
    let mut state = State {
        value,
        updated: false,
        timing_out: false,
    };
    let mut mapped = Vec::new();
    if values.is_empty() {
        let idle = timeout_ms.is_some_and(|timeout| now - last >= timeout);
        if idle && state.exists() {
            state.timing_out = true;
            mapped.push(function.call((key.clone(), None, &mut state)));
            state.value = None;
        }
    }
    for value in values {
        mapped.push(function.call((key.clone(), Some(value), &mut state)));
        // Under a timeout, a record keeps its key's state alive even if left as it was.
        if state.updated || (state.exists() && timeout_ms.is_some()) {
            last = now;
        }
        state.updated = false;
    }
    let entry = Entry {
        state: state.value.map(|s| (s, last)),
        mapped,
    };
    (entry.state.is_some() || !entry.mapped.is_empty()).then_some((key, entry))
}
