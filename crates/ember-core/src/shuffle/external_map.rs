//! Merging combined values by key on the reduce side, with spilling (Spark's
//! `ExternalAppendOnlyMap`).
//!
//! Values go into a hash map of key to combined value. When the task's memory share is used up,
//! the map's entries are sorted by key hash and spilled as a run. At the end the runs and the
//! sorted in-memory entries are merged by hash: entries with equal hashes from every run are
//! gathered, equal keys among them merged, and the results emitted. Only one hash's entries per
//! run are in memory during the merge.

use super::combine_map::CombineMap;
use super::size_tracker::SizeTracker;
use super::spill_file::{read_run, spill_run};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::partitioner::key_hash;
use crate::rdd::BoxIter;
use crate::storage::TaskMemory;
use crate::task_context::TaskContext;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::iter::Peekable;
use std::sync::Arc;

/// A key-to-combined-value map that spills sorted runs when memory runs out.
pub(crate) struct ExternalAppendOnlyMap<K: Key, V: Data, A: Aggregator<V>> {
    map: CombineMap<K, A::Combined>,
    aggregator: A,
    size: SizeTracker,
    memory: TaskMemory,
    runs: Vec<tempfile::NamedTempFile>,
    tc: Arc<TaskContext>,
}

type Run<K, C> = BoxIter<(u64, K, C)>;

impl<K: Key, V: Data, A: Aggregator<V>> ExternalAppendOnlyMap<K, V, A> {
    pub(crate) fn new(aggregator: A, tc: &Arc<TaskContext>) -> Self {
        ExternalAppendOnlyMap {
            map: CombineMap::new(),
            aggregator,
            size: SizeTracker::default(),
            memory: TaskMemory::for_task(tc),
            runs: Vec::new(),
            tc: tc.clone(),
        }
    }

    /// Merges combined value `c` into key `k`'s.
    pub(crate) fn insert(&mut self, k: K, c: A::Combined) -> Result<()> {
        let aggregator = &self.aggregator;
        let size = &mut self.size;
        let check = self.map.upsert(
            k,
            c,
            |c| c,
            |old, c| aggregator.merge_combiners(old, c),
            |new, k, c| size.upserted(new, &(k, c)),
        );
        self.spill_if_full(check)
    }

    /// Merges value `v` into key `k`'s combined value, as a task combining its own input does.
    pub(crate) fn insert_value(&mut self, k: K, v: V) -> Result<()> {
        let aggregator = &self.aggregator;
        let size = &mut self.size;
        let check = self.map.upsert(
            k,
            v,
            |v| aggregator.create_combiner(v),
            |old, v| aggregator.merge_value(old, v),
            |new, k, c| size.upserted(new, &(k, c)),
        );
        self.spill_if_full(check)
    }

    fn spill_if_full(&mut self, check: bool) -> Result<()> {
        if check && !self.memory.try_grow_to(self.size.estimate()) {
            let sorted = self.drain_sorted();
            self.runs.push(spill_run(sorted.into_iter(), &self.tc)?);
            self.size.reset();
            self.memory.release_all();
        }
        Ok(())
    }

    fn drain_sorted(&mut self) -> Vec<(u64, K, A::Combined)> {
        let mut entries: Vec<_> = self
            .map
            .drain()
            .map(|(k, c)| (key_hash(&k), k, c))
            .collect();
        entries.sort_unstable_by_key(|e| e.0);
        entries
    }

    /// Every key with its fully merged value.
    pub(crate) fn into_iter(mut self) -> Result<BoxIter<(K, A::Combined)>> {
        if self.runs.is_empty() {
            let map = std::mem::replace(&mut self.map, CombineMap::new());
            return Ok(Box::new(map.into_entries()));
        }
        let mut runs: Vec<Run<K, A::Combined>> = Vec::with_capacity(self.runs.len() + 1);
        runs.push(Box::new(self.drain_sorted().into_iter()));
        for file in std::mem::take(&mut self.runs) {
            runs.push(Box::new(read_run::<(u64, K, A::Combined)>(file)?));
        }
        Ok(Box::new(HashMerge::new(runs, self.aggregator.clone())))
    }
}

/// Merges runs sorted by key hash, combining equal keys.
struct HashMerge<K: Key, V: Data, A: Aggregator<V>> {
    runs: Vec<Peekable<Run<K, A::Combined>>>,
    heads: BinaryHeap<Reverse<(u64, usize)>>,
    aggregator: A,
    ready: VecDeque<(K, A::Combined)>,
}

impl<K: Key, V: Data, A: Aggregator<V>> HashMerge<K, V, A> {
    fn new(runs: Vec<Run<K, A::Combined>>, aggregator: A) -> Self {
        let mut runs: Vec<_> = runs.into_iter().map(Iterator::peekable).collect();
        let heads = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(i, r)| r.peek().map(|e| Reverse((e.0, i))))
            .collect();
        HashMerge {
            runs,
            heads,
            aggregator,
            ready: VecDeque::new(),
        }
    }

    /// Gathers every entry with the smallest hash and merges equal keys into `ready`.
    fn merge_next_hash(&mut self) {
        let Some(Reverse((hash, _))) = self.heads.peek().copied() else {
            return;
        };
        let mut group: Vec<(K, Option<A::Combined>)> = Vec::new();
        while let Some(Reverse((h, run))) = self.heads.peek().copied() {
            if h != hash {
                break;
            }
            self.heads.pop();
            while let Some((_, k, c)) = self.runs[run].next_if(|e| e.0 == hash) {
                match group.iter_mut().find(|(gk, _)| *gk == k) {
                    Some((_, slot)) => {
                        *slot = slot
                            .take()
                            .map(|old| self.aggregator.merge_combiners(old, c));
                    }
                    None => group.push((k, Some(c))),
                }
            }
            if let Some(e) = self.runs[run].peek() {
                self.heads.push(Reverse((e.0, run)));
            }
        }
        self.ready
            .extend(group.into_iter().filter_map(|(k, c)| c.map(|c| (k, c))));
    }
}

impl<K: Key, V: Data, A: Aggregator<V>> Iterator for HashMerge<K, V, A> {
    type Item = (K, A::Combined);
    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.is_empty() {
            self.merge_next_hash();
        }
        self.ready.pop_front()
    }
}
