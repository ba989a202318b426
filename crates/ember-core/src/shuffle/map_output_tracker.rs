//! Where every map task's shuffle output is (Spark's `MapOutputTracker`).

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where one map task's output is and how large each reduce partition's segment is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MapStatus {
    /// The executor holding the files.
    pub executor_id: String,
    /// Where that executor serves them (`host:port`); empty in local mode.
    pub address: String,
    /// Bytes of each reduce partition's segment, as stored (compressed when
    /// `ember.shuffle.compress` is on).
    pub sizes: Vec<u64>,
    /// Bytes of all the segments' records as encoded, before compression: what a reader
    /// holds once it has read them, whatever the codec.
    pub record_bytes: u64,
}

/// The map outputs of every shuffle, by map partition.
#[derive(Debug, Default)]
pub struct MapOutputTracker {
    shuffles: Mutex<HashMap<usize, Vec<Option<MapStatus>>>>,
}

impl MapOutputTracker {
    /// Makes room for `maps` outputs of `shuffle`; keeps outputs already registered.
    pub fn register_shuffle(&self, shuffle: usize, maps: usize) {
        self.shuffles
            .lock()
            .entry(shuffle)
            .or_insert_with(|| vec![None; maps]);
    }

    /// Records map `map`'s output.
    pub fn register_map_output(&self, shuffle: usize, map: usize, status: MapStatus) {
        if let Some(slot) = self
            .shuffles
            .lock()
            .get_mut(&shuffle)
            .and_then(|v| v.get_mut(map))
        {
            *slot = Some(status);
        }
    }

    /// Forgets map `map`'s output (it was lost).
    pub fn unregister_map_output(&self, shuffle: usize, map: usize) {
        if let Some(slot) = self
            .shuffles
            .lock()
            .get_mut(&shuffle)
            .and_then(|v| v.get_mut(map))
        {
            *slot = None;
        }
    }

    /// Map partitions of `shuffle` with no output.
    pub fn missing(&self, shuffle: usize) -> Vec<usize> {
        match self.shuffles.lock().get(&shuffle) {
            Some(v) => (0..v.len()).filter(|&i| v[i].is_none()).collect(),
            None => Vec::new(),
        }
    }

    /// Every map output of `shuffle`; `None` where one is missing.
    pub fn statuses(&self, shuffle: usize) -> Option<Vec<Option<MapStatus>>> {
        self.shuffles.lock().get(&shuffle).cloned()
    }

    /// Forgets every output of `executor` (it was lost); returns how many there were.
    pub fn remove_outputs_on_executor(&self, executor: &str) -> usize {
        self.remove_where(|_, status| status.executor_id == executor)
    }

    /// Forgets the outputs of `shuffle` held by the executor that holds map `map`'s (a fetch
    /// from it failed, so the others are suspect too, as in Spark).
    pub fn remove_outputs_like(&self, shuffle: usize, map: usize) -> usize {
        let holder = self
            .shuffles
            .lock()
            .get(&shuffle)
            .and_then(|v| v.get(map).cloned().flatten())
            .map(|s| s.executor_id);
        match holder {
            Some(executor) => {
                self.remove_where(|s, status| s == shuffle && status.executor_id == executor)
            }
            None => 0,
        }
    }

    fn remove_where(&self, lost: impl Fn(usize, &MapStatus) -> bool) -> usize {
        let mut removed = 0;
        for (&shuffle, outputs) in self.shuffles.lock().iter_mut() {
            for slot in outputs.iter_mut() {
                if slot.as_ref().is_some_and(|status| lost(shuffle, status)) {
                    *slot = None;
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Forgets `shuffle` entirely.
    pub fn unregister_shuffle(&self, shuffle: usize) {
        self.shuffles.lock().remove(&shuffle);
    }
}
