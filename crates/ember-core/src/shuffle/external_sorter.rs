//! Sorting records by key on the reduce side, with spilling (Spark's `ExternalSorter`).
//!
//! Records are buffered; when the task's memory share is used up the buffer is sorted and
//! spilled as a run. At the end the sorted buffer and the runs are merged with a heap. The sort is
//! stable within a run, and runs are merged in spill order for equal keys.

use super::size_tracker::SizeTracker;
use super::spill_file::{read_run, spill_run};
use crate::data::Data;
use crate::error::Result;
use crate::rdd::BoxIter;
use crate::storage::TaskMemory;
use crate::task_context::TaskContext;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::iter::Peekable;
use std::sync::Arc;

/// A sort buffer that spills sorted runs when memory runs out.
pub(crate) struct ExternalSorter<K: Data, C: Data> {
    buffer: Vec<(K, C)>,
    compare: fn(&K, &K) -> Ordering,
    size: SizeTracker,
    memory: TaskMemory,
    runs: Vec<tempfile::NamedTempFile>,
    tc: Arc<TaskContext>,
}

impl<K: Data, C: Data> ExternalSorter<K, C> {
    pub(crate) fn new(compare: fn(&K, &K) -> Ordering, tc: &Arc<TaskContext>) -> Self {
        ExternalSorter {
            buffer: Vec::new(),
            compare,
            size: SizeTracker::default(),
            memory: TaskMemory::for_task(tc),
            runs: Vec::new(),
            tc: tc.clone(),
        }
    }

    pub(crate) fn insert(&mut self, k: K, c: C) -> Result<()> {
        let check = self.size.inserted(&(&k, &c));
        self.buffer.push((k, c));
        if check && !self.memory.try_grow_to(self.size.estimate()) {
            let run = self.take_sorted();
            self.runs.push(spill_run(run.into_iter(), &self.tc)?);
            self.size.reset();
            self.memory.release_all();
        }
        Ok(())
    }

    fn take_sorted(&mut self) -> Vec<(K, C)> {
        let compare = self.compare;
        let mut run = std::mem::take(&mut self.buffer);
        run.sort_by(|a, b| compare(&a.0, &b.0));
        run
    }

    /// Every record, sorted by key.
    pub(crate) fn into_iter(mut self) -> Result<BoxIter<(K, C)>> {
        let last = self.take_sorted();
        if self.runs.is_empty() {
            return Ok(Box::new(last.into_iter()));
        }
        let mut runs: Vec<BoxIter<(K, C)>> = Vec::with_capacity(self.runs.len() + 1);
        for file in std::mem::take(&mut self.runs) {
            runs.push(Box::new(read_run::<(K, C)>(file)?));
        }
        runs.push(Box::new(last.into_iter()));
        Ok(Box::new(SortedMerge::new(runs, self.compare)))
    }
}

/// The head record of one run, ordered so that `BinaryHeap` pops the smallest key first and, for
/// equal keys, the earliest run.
struct Head<K> {
    key: K,
    run: usize,
    compare: fn(&K, &K) -> Ordering,
}

impl<K> PartialEq for Head<K> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K> Eq for Head<K> {}
impl<K> PartialOrd for Head<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Head<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.compare)(&other.key, &self.key).then(other.run.cmp(&self.run))
    }
}

struct SortedMerge<K: Data, C: Data> {
    runs: Vec<Peekable<BoxIter<(K, C)>>>,
    heads: BinaryHeap<Head<K>>,
    compare: fn(&K, &K) -> Ordering,
}

impl<K: Data, C: Data> SortedMerge<K, C> {
    fn new(runs: Vec<BoxIter<(K, C)>>, compare: fn(&K, &K) -> Ordering) -> Self {
        let mut merge = SortedMerge {
            runs: runs.into_iter().map(Iterator::peekable).collect(),
            heads: BinaryHeap::new(),
            compare,
        };
        for run in 0..merge.runs.len() {
            merge.push_head(run);
        }
        merge
    }

    fn push_head(&mut self, run: usize) {
        if let Some((k, _)) = self.runs[run].peek() {
            self.heads.push(Head {
                key: k.clone(),
                run,
                compare: self.compare,
            });
        }
    }
}

impl<K: Data, C: Data> Iterator for SortedMerge<K, C> {
    type Item = (K, C);
    fn next(&mut self) -> Option<(K, C)> {
        let head = self.heads.pop()?;
        let record = self.runs[head.run].next();
        self.push_head(head.run);
        record
    }
}
