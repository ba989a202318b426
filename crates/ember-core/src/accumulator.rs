//! Accumulators: values that tasks add to and the driver reads (Spark's `AccumulatorV2`).
//!
//! A task adds to its own local copy; the copy travels back with the task's result, and the
//! driver merges it only when the attempt succeeded. A failed attempt's additions are dropped and
//! a retried task is merged once, so an update inside an action counts exactly once. (As in
//! Spark, additions made in transformations of a stage that is recomputed later, say after a
//! lost shuffle output, are merged again by the recomputation.)

use crate::data::{Data, Func};
use crate::error::{Error, Result};
use crate::task_context::TaskContext;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// How an accumulator adds inputs and merges partial values.
pub trait AccumulatorParam: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// What tasks add.
    type Input;
    /// What is accumulated.
    type Value: Data;
    /// The neutral value.
    fn zero(&self) -> Self::Value;
    /// Adds one input.
    fn add(&self, value: &mut Self::Value, input: Self::Input);
    /// Merges another partial value in.
    fn merge(&self, value: &mut Self::Value, other: Self::Value);
}

/// Sums `i64`s (Spark's `LongAccumulator`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LongSum;

impl AccumulatorParam for LongSum {
    type Input = i64;
    type Value = i64;
    fn zero(&self) -> i64 {
        0
    }
    fn add(&self, value: &mut i64, input: i64) {
        *value += input;
    }
    fn merge(&self, value: &mut i64, other: i64) {
        *value += other;
    }
}

/// Sums `f64`s (Spark's `DoubleAccumulator`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DoubleSum;

impl AccumulatorParam for DoubleSum {
    type Input = f64;
    type Value = f64;
    fn zero(&self) -> f64 {
        0.0
    }
    fn add(&self, value: &mut f64, input: f64) {
        *value += input;
    }
    fn merge(&self, value: &mut f64, other: f64) {
        *value += other;
    }
}

/// Collects elements into a list (Spark's `CollectionAccumulator`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Collection<T>(pub(crate) std::marker::PhantomData<fn() -> T>);

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection(std::marker::PhantomData)
    }
}

impl<T: Data> AccumulatorParam for Collection<T> {
    type Input = T;
    type Value = Vec<T>;
    fn zero(&self) -> Vec<T> {
        Vec::new()
    }
    fn add(&self, value: &mut Vec<T>, input: T) {
        value.push(input);
    }
    fn merge(&self, value: &mut Vec<T>, other: Vec<T>) {
        value.extend(other);
    }
}

/// A user-defined accumulator: a zero and an associative, commutative merge function.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Merge<V: Data, F: Func<(V, V), Output = V> + Clone> {
    zero: V,
    merge: F,
}

impl<V: Data, F: Func<(V, V), Output = V> + Clone> AccumulatorParam for Merge<V, F> {
    type Input = V;
    type Value = V;
    fn zero(&self) -> V {
        self.zero.clone()
    }
    fn add(&self, value: &mut V, input: V) {
        let current = std::mem::replace(value, self.zero.clone());
        *value = self.merge.call((current, input));
    }
    fn merge(&self, value: &mut V, other: V) {
        self.add(value, other);
    }
}

/// A value that tasks add to and the driver reads.
///
/// Capture it in a closure (it serializes as its id) and call [`add`](Self::add) in tasks; read
/// [`value`](Self::value) on the driver after an action.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Accumulator<P: AccumulatorParam> {
    id: u64,
    param: P,
    #[serde(skip)]
    driver: Option<Arc<Mutex<P::Value>>>,
}

impl<P: AccumulatorParam> Clone for Accumulator<P> {
    fn clone(&self) -> Self {
        Accumulator {
            id: self.id,
            param: self.param.clone(),
            driver: self.driver.clone(),
        }
    }
}

impl<P: AccumulatorParam> std::fmt::Debug for Accumulator<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accumulator").field("id", &self.id).finish()
    }
}

impl<P: AccumulatorParam> Accumulator<P> {
    /// Adds `input`: to the running task's local copy inside a task, to the total on the driver.
    pub fn add(&self, input: P::Input) {
        if let Some(tc) = TaskContext::get() {
            tc.update_accumulator(
                self.id,
                || self.param.zero(),
                encode::<P::Value>,
                |v| self.param.add(v, input),
            );
        } else if let Some(driver) = &self.driver {
            self.param.add(&mut driver.lock(), input);
        }
    }

    /// The merged value of every successful task so far (driver only; a task sees the zero).
    pub fn value(&self) -> P::Value {
        match &self.driver {
            Some(driver) => driver.lock().clone(),
            None => self.param.zero(),
        }
    }

    /// Sets the value back to the zero.
    pub fn reset(&self) {
        if let Some(driver) = &self.driver {
            *driver.lock() = self.param.zero();
        }
    }
}

fn encode<V: Data>(value: &(dyn Any + Send)) -> Result<Vec<u8>> {
    let value = value
        .downcast_ref::<V>()
        .ok_or_else(|| Error::Internal("accumulator holds another type".into()))?;
    Ok(bincode::serialize(value)?)
}

/// Merges serialized task updates into a driver-side value.
trait DriverAccumulator: Send + Sync {
    fn merge_bytes(&self, bytes: &[u8]) -> Result<()>;
}

struct DriverValue<P: AccumulatorParam> {
    param: P,
    value: Arc<Mutex<P::Value>>,
}

impl<P: AccumulatorParam> DriverAccumulator for DriverValue<P> {
    fn merge_bytes(&self, bytes: &[u8]) -> Result<()> {
        let other: P::Value = bincode::deserialize(bytes)?;
        self.param.merge(&mut self.value.lock(), other);
        Ok(())
    }
}

/// The driver's accumulators, by id; updates are merged here when a task succeeds.
#[derive(Default)]
pub(crate) struct AccumulatorRegistry {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Weak<dyn DriverAccumulator>>>,
    // Keeps the merge targets alive as long as the Context: tasks may report after the user
    // dropped the handle.
    owned: Mutex<Vec<Arc<dyn DriverAccumulator>>>,
}

impl AccumulatorRegistry {
    pub(crate) fn register<P: AccumulatorParam>(&self, param: P) -> Accumulator<P> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(Mutex::new(param.zero()));
        let driver: Arc<dyn DriverAccumulator> = Arc::new(DriverValue {
            param: param.clone(),
            value: value.clone(),
        });
        self.live.lock().insert(id, Arc::downgrade(&driver));
        self.owned.lock().push(driver);
        Accumulator {
            id,
            param,
            driver: Some(value),
        }
    }

    /// Merges one successful task's updates.
    pub(crate) fn merge(&self, updates: &[(u64, Vec<u8>)]) -> Result<()> {
        for (id, bytes) in updates {
            let target = self.live.lock().get(id).and_then(Weak::upgrade);
            if let Some(target) = target {
                target.merge_bytes(bytes)?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for AccumulatorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccumulatorRegistry")
            .finish_non_exhaustive()
    }
}

pub(crate) fn user_merge<V: Data, F: Func<(V, V), Output = V> + Clone>(
    zero: V,
    merge: F,
) -> Merge<V, F> {
    Merge { zero, merge }
}
