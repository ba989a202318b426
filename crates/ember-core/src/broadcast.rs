//! Broadcast variables: read-only values shipped to each executor once (Spark's `Broadcast`).
//!
//! A [`Broadcast`] serializes as its id only, so closures that capture it stay small. The value
//! lives in the [`BroadcastManager`] of the driver; an executor fetches it the first time one of
//! its tasks asks and keeps it for every later task. In local mode the driver's manager is the
//! executor's, so tasks read the driver's value directly.

use crate::data::Data;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::task_context::{abort, TaskContext};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// A read-only value available to every task.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Broadcast<T: Data> {
    id: u64,
    #[serde(skip)]
    value: OnceLock<Arc<T>>,
    /// The driver's services, on the handle the driver made: what `unpersist` and `destroy`
    /// reach. Tasks' copies have none.
    #[serde(skip)]
    driver: Weak<Env>,
}

impl<T: Data> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        let value = OnceLock::new();
        if let Some(v) = self.value.get() {
            let _ = value.set(v.clone());
        }
        Broadcast {
            id: self.id,
            value,
            driver: self.driver.clone(),
        }
    }
}

impl<T: Data> std::fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast").field("id", &self.id).finish()
    }
}

impl<T: Data> Broadcast<T> {
    /// The value.
    ///
    /// # Panics
    /// Inside a task, aborts the task (it is retried) when the value cannot be fetched, for
    /// example after [`BroadcastManager::remove`].
    pub fn value(&self) -> &T {
        self.value.get_or_init(|| {
            let tc = TaskContext::get().unwrap_or_else(|| {
                abort(Error::Internal(
                    "broadcast value read outside a task".into(),
                ))
            });
            tc.env()
                .broadcast_value::<T>(self.id)
                .unwrap_or_else(|e| abort(e))
        })
    }

    /// The value, shared.
    pub(crate) fn shared(&self) -> Arc<T> {
        self.value();
        self.value
            .get()
            .cloned()
            .unwrap_or_else(|| abort(Error::Internal("broadcast value vanished".into())))
    }

    /// The broadcast's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Drops the executors' copies (Spark's `unpersist`): memory back now, the value fetched
    /// again by the next task that reads it. The driver keeps the value. Does nothing on a
    /// task's copy of the handle.
    pub fn unpersist(&self) {
        if let Some(env) = self.driver.upgrade() {
            env.broadcast_manager.unpersist(self.id);
        }
    }

    /// Removes the value everywhere (Spark's `destroy`): tasks that read it afterwards fail.
    /// Does nothing on a task's copy of the handle.
    pub fn destroy(&self) {
        if let Some(env) = self.driver.upgrade() {
            env.broadcast_manager.remove(self.id);
        }
    }

    pub(crate) fn held_by(mut self, driver: &Arc<Env>) -> Self {
        self.driver = Arc::downgrade(driver);
        self
    }
}

/// A held value and how to serialize it for an executor that asks.
struct Held {
    value: Arc<dyn Any + Send + Sync>,
    encode: fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>>,
}

fn encode<T: Data>(value: &(dyn Any + Send + Sync)) -> Result<Vec<u8>> {
    let value = value
        .downcast_ref::<T>()
        .ok_or_else(|| Error::Internal("broadcast holds another type".into()))?;
    Ok(bincode::serialize(value)?)
}

/// Called with the id of each removed broadcast, so that executors drop their copies.
type RemovalListener = Box<dyn Fn(u64) + Send + Sync>;

/// The broadcast values an executor holds.
#[derive(Default)]
pub struct BroadcastManager {
    next_id: AtomicU64,
    values: Mutex<HashMap<u64, Held>>,
    /// Serializes fetches from the driver, so that each value is fetched once per executor.
    fetching: Mutex<()>,
    on_remove: OnceLock<RemovalListener>,
}

impl std::fmt::Debug for BroadcastManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastManager").finish_non_exhaustive()
    }
}

impl BroadcastManager {
    /// Registers `value` and returns its handle (driver side).
    pub fn new_broadcast<T: Data>(&self, value: T) -> Broadcast<T> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(value);
        self.insert(id, value.clone());
        let cell = OnceLock::new();
        let _ = cell.set(value);
        Broadcast {
            id,
            value: cell,
            driver: Weak::new(),
        }
    }

    fn insert<T: Data>(&self, id: u64, value: Arc<T>) {
        let held = Held {
            value,
            encode: encode::<T>,
        };
        self.values.lock().insert(id, held);
    }

    /// The value of broadcast `id`.
    ///
    /// # Errors
    /// The broadcast was removed, or never existed here.
    pub fn get<T: Data>(&self, id: u64) -> Result<Arc<T>> {
        let any = self
            .values
            .lock()
            .get(&id)
            .map(|held| held.value.clone())
            .ok_or_else(|| destroyed(id))?;
        any.downcast::<T>()
            .map_err(|_| Error::Internal(format!("broadcast {id} holds another type")))
    }

    /// The value of broadcast `id`, fetched with `fetch` if this executor has no copy yet.
    pub(crate) fn get_or_fetch<T: Data>(
        &self,
        id: u64,
        fetch: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Arc<T>> {
        if let Ok(value) = self.get::<T>(id) {
            return Ok(value);
        }
        let _one_fetch = self.fetching.lock();
        if let Ok(value) = self.get::<T>(id) {
            return Ok(value);
        }
        let value: Arc<T> = Arc::new(bincode::deserialize(&fetch()?)?);
        self.insert(id, value.clone());
        Ok(value)
    }

    /// Broadcast `id` serialized, for an executor that asks.
    ///
    /// # Errors
    /// The broadcast was removed.
    pub(crate) fn serialized(&self, id: u64) -> Result<Vec<u8>> {
        let (value, encode) = self
            .values
            .lock()
            .get(&id)
            .map(|held| (held.value.clone(), held.encode))
            .ok_or_else(|| destroyed(id))?;
        encode(&*value)
    }

    /// Has `listener` told of every removal from now on.
    pub(crate) fn on_remove(&self, listener: RemovalListener) {
        let _ = self.on_remove.set(listener);
    }

    /// How many broadcast values are held.
    pub fn len(&self) -> usize {
        self.values.lock().len()
    }

    /// Whether no broadcast value is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets broadcast `id` (Spark's `destroy`), here and on executors.
    pub fn remove(&self, id: u64) {
        self.values.lock().remove(&id);
        self.unpersist(id);
    }

    /// Has executors forget their copies of broadcast `id`; this manager keeps the value.
    pub fn unpersist(&self, id: u64) {
        if let Some(listener) = self.on_remove.get() {
            listener(id);
        }
    }

    /// Forgets this executor's copy of broadcast `id`.
    pub(crate) fn remove_copy(&self, id: u64) {
        self.values.lock().remove(&id);
    }
}

fn destroyed(id: u64) -> Error {
    Error::Input(format!(
        "broadcast {id} was destroyed; keep it alive while jobs use it"
    ))
}
