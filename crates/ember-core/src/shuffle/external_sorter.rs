//! Sorting records by key on the reduce side, with spilling (Spark's `ExternalSorter`).
//!
//! Records are buffered; when the task's memory share is used up the buffer is sorted and
//! spilled as a run. At the end the sorted buffer and the runs are merged with a heap. Records
//! with equal keys come out in no particular order, as in Spark.

use super::size_tracker::SizeTracker;
use super::spill_file::{read_run, spill_run};
use super::KeyOrdering;
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
pub(crate) struct ExternalSorter<K: Data, C: Data, O: KeyOrdering<K>> {
    buffer: Vec<(K, C)>,
    ordering: O,
    size: SizeTracker,
    memory: TaskMemory,
    runs: Vec<tempfile::NamedTempFile>,
    tc: Arc<TaskContext>,
}

impl<K: Data, C: Data, O: KeyOrdering<K>> ExternalSorter<K, C, O> {
    pub(crate) fn new(ordering: O, tc: &Arc<TaskContext>) -> Self {
        ExternalSorter {
            buffer: Vec::new(),
            ordering,
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
        let mut run = std::mem::take(&mut self.buffer);
        let ordering = &self.ordering;
        run.sort_unstable_by(|a, b| ordering.compare(&a.0, &b.0));
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
        Ok(Box::new(SortedMerge::new(runs, self.ordering.clone())))
    }
}

/// The head record of one run, ordered so that `BinaryHeap` pops the smallest key first and, for
/// equal keys, the earliest run.
struct Head<K, O> {
    key: K,
    run: usize,
    ordering: O,
}

impl<K, O: KeyOrdering<K>> PartialEq for Head<K, O> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K, O: KeyOrdering<K>> Eq for Head<K, O> {}
impl<K, O: KeyOrdering<K>> PartialOrd for Head<K, O> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K, O: KeyOrdering<K>> Ord for Head<K, O> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ordering
            .compare(&other.key, &self.key)
            .then(other.run.cmp(&self.run))
    }
}

struct SortedMerge<K: Data, C: Data, O: KeyOrdering<K>> {
    runs: Vec<Peekable<BoxIter<(K, C)>>>,
    heads: BinaryHeap<Head<K, O>>,
    ordering: O,
}

impl<K: Data, C: Data, O: KeyOrdering<K>> SortedMerge<K, C, O> {
    fn new(runs: Vec<BoxIter<(K, C)>>, ordering: O) -> Self {
        let mut merge = SortedMerge {
            runs: runs.into_iter().map(Iterator::peekable).collect(),
            heads: BinaryHeap::new(),
            ordering,
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
                ordering: self.ordering.clone(),
            });
        }
    }
}

impl<K: Data, C: Data, O: KeyOrdering<K>> Iterator for SortedMerge<K, C, O> {
    type Item = (K, C);
    fn next(&mut self) -> Option<(K, C)> {
        let head = self.heads.pop()?;
        let record = self.runs[head.run].next();
        self.push_head(head.run);
        record
    }
}
