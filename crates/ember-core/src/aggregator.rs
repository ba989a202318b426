//! Aggregators: how a shuffle merges the values of one key (Spark's `Aggregator`).
//!
//! `reduce_by_key`, `fold_by_key`, `aggregate_by_key`, `combine_by_key` and `group_by_key` are
//! all one shuffle with a different aggregator; shuffles that only move records
//! (`partition_by`, `sort_by_key`, `repartition`) use [`NoAggregation`].

use crate::data::{Data, Func};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// Merges values of one key into a combined value.
pub trait Aggregator<V>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The combined value.
    type Combined: Data;
    /// False for shuffles that pass records through unmerged.
    const MERGES: bool = true;
    /// Starts a combined value from a key's first value.
    fn create_combiner(&self, value: V) -> Self::Combined;
    /// Adds a value.
    fn merge_value(&self, combined: Self::Combined, value: V) -> Self::Combined;
    /// Merges two combined values of the same key (from different map tasks or spills).
    fn merge_combiners(&self, a: Self::Combined, b: Self::Combined) -> Self::Combined;
}

/// Records pass through a shuffle unmerged.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct NoAggregation<V>(PhantomData<fn() -> V>);

impl<V> Default for NoAggregation<V> {
    fn default() -> Self {
        NoAggregation(PhantomData)
    }
}

impl<V> Clone for NoAggregation<V> {
    fn clone(&self) -> Self {
        NoAggregation(PhantomData)
    }
}

impl<V: Data> Aggregator<V> for NoAggregation<V> {
    type Combined = V;
    const MERGES: bool = false;
    fn create_combiner(&self, value: V) -> V {
        value
    }
    // Never called: MERGES is false, so the shuffle never looks for a second value.
    fn merge_value(&self, _: V, value: V) -> V {
        value
    }
    fn merge_combiners(&self, _: V, b: V) -> V {
        b
    }
}

/// `reduce_by_key(f)`: the combined value is a value, merged with `f`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Reduce<V, F: Func<(V, V), Output = V> + Clone> {
    f: F,
    _v: PhantomData<fn() -> V>,
}

impl<V, F: Func<(V, V), Output = V> + Clone> Reduce<V, F> {
    pub(crate) fn new(f: F) -> Self {
        Reduce { f, _v: PhantomData }
    }
}

impl<V: Data, F: Func<(V, V), Output = V> + Clone> Aggregator<V> for Reduce<V, F> {
    type Combined = V;
    fn create_combiner(&self, value: V) -> V {
        value
    }
    fn merge_value(&self, combined: V, value: V) -> V {
        self.f.call((combined, value))
    }
    fn merge_combiners(&self, a: V, b: V) -> V {
        self.f.call((a, b))
    }
}

/// `group_by_key`: the combined value is the list of values.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct GroupValues<V>(PhantomData<fn() -> V>);

impl<V> Default for GroupValues<V> {
    fn default() -> Self {
        GroupValues(PhantomData)
    }
}

impl<V> Clone for GroupValues<V> {
    fn clone(&self) -> Self {
        GroupValues(PhantomData)
    }
}

impl<V: Data> Aggregator<V> for GroupValues<V> {
    type Combined = Vec<V>;
    fn create_combiner(&self, value: V) -> Vec<V> {
        vec![value]
    }
    fn merge_value(&self, mut combined: Vec<V>, value: V) -> Vec<V> {
        combined.push(value);
        combined
    }
    fn merge_combiners(&self, mut a: Vec<V>, b: Vec<V>) -> Vec<V> {
        a.extend(b);
        a
    }
}

/// `combine_by_key(create, merge_value, merge_combiners)`: three user functions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Combine<V, C, F1, F2, F3>
where
    F1: Func<(V,), Output = C> + Clone,
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    create: F1,
    merge_value: F2,
    merge_combiners: F3,
    _vc: PhantomData<fn() -> (V, C)>,
}

impl<V, C, F1, F2, F3> Combine<V, C, F1, F2, F3>
where
    F1: Func<(V,), Output = C> + Clone,
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    pub(crate) fn new(create: F1, merge_value: F2, merge_combiners: F3) -> Self {
        Combine {
            create,
            merge_value,
            merge_combiners,
            _vc: PhantomData,
        }
    }
}

impl<V: Data, C: Data, F1, F2, F3> Aggregator<V> for Combine<V, C, F1, F2, F3>
where
    F1: Func<(V,), Output = C> + Clone,
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    type Combined = C;
    fn create_combiner(&self, value: V) -> C {
        self.create.call((value,))
    }
    fn merge_value(&self, combined: C, value: V) -> C {
        self.merge_value.call((combined, value))
    }
    fn merge_combiners(&self, a: C, b: C) -> C {
        self.merge_combiners.call((a, b))
    }
}

/// `aggregate_by_key(zero, seq, comb)` and `fold_by_key(zero, f)`: a zero value per key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct WithZero<V, C: Data, F2, F3>
where
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    zero: C,
    seq: F2,
    comb: F3,
    _v: PhantomData<fn() -> V>,
}

impl<V, C: Data, F2, F3> WithZero<V, C, F2, F3>
where
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    pub(crate) fn new(zero: C, seq: F2, comb: F3) -> Self {
        WithZero {
            zero,
            seq,
            comb,
            _v: PhantomData,
        }
    }
}

impl<V: Data, C: Data, F2, F3> Aggregator<V> for WithZero<V, C, F2, F3>
where
    F2: Func<(C, V), Output = C> + Clone,
    F3: Func<(C, C), Output = C> + Clone,
{
    type Combined = C;
    fn create_combiner(&self, value: V) -> C {
        self.seq.call((self.zero.clone(), value))
    }
    fn merge_value(&self, combined: C, value: V) -> C {
        self.seq.call((combined, value))
    }
    fn merge_combiners(&self, a: C, b: C) -> C {
        self.comb.call((a, b))
    }
}
