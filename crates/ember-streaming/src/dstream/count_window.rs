//! Count-based windows, which Spark lacks: windows of `size` records, one starting every
//! `slide` records, whatever the batches they arrive in.
//!
//! # Semantics
//!
//! Records are numbered from 0 in the order the stream delivers them: by batch, then by
//! partition, then by position in the partition. Window `k` holds records `k * slide ..
//! k * slide + size`. A window is emitted in the batch whose records complete it, each of its
//! records paired with `k`; a batch may complete several windows or none, and a window may
//! span many batches. Windows never emitted because the stream stopped are lost, as a
//! time window's last slide would be. With `slide == size` windows tumble; with `slide <
//! size` they overlap and a record is emitted once per window it is in.
//!
//! # How
//!
//! Each batch is numbered on from the records before it (one job counts its partitions, then
//! each partition numbers its records from its offset). The records that may still belong to
//! a window not yet complete are kept as an RDD from batch to batch, cached and checkpointed
//! as the batch is made, so that only they, not the whole stream, are read again.
//!
//! # Recovery
//!
//! What the stream knows after each batch (records numbered, next window, the kept records'
//! checkpoint) goes into the metadata checkpoint, so that a driver restarted with
//! [`StreamingContext::get_or_create`](crate::StreamingContext::get_or_create) numbers on
//! from the batch it recovers at: windows neither restart from 0 nor skip records.

use super::{DStream, SourceState};
use crate::checkpoint::{CountWindowCheckpoint, NodeCheckpoint};
use crate::time::Time;
use ember_core::{BoxIter, Context, Data, Error, Fn, Rdd, Result, StorageLevel};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What a count window stream knows after a batch.
struct AfterBatch<T: Data> {
    /// Records numbered so far.
    total: u64,
    /// The next window to emit.
    next: u64,
    /// Numbered records that may still fall in windows `next..`: cached while one of the
    /// [`CACHED`] newest, checkpointed for good.
    kept: Rdd<(T, u64)>,
}

/// What a count window knows after each of its latest batches, by batch time.
type History<T> = Arc<Mutex<BTreeMap<Time, AfterBatch<T>>>>;

/// How many batches' kept records stay cached.
const CACHED: usize = 3;

/// How many batches the history reaches back: the batches made but not yet run when a
/// checkpoint is written must be there for a restarted driver to go on from.
const REMEMBERED: usize = 16;

impl<T: Data> DStream<T> {
    /// Windows of `size` records, one starting every `slide` records (see the module's docs):
    /// each record of a completed window, paired with the window's number. Needs
    /// [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint).
    ///
    /// # Errors
    /// `size` or `slide` is zero.
    pub fn count_window(&self, size: u64, slide: u64) -> Result<DStream<(u64, T)>> {
        if size == 0 || slide == 0 {
            return Err(Error::Input(format!(
                "a count window needs a size and a slide of at least one record, not {size} \
                 and {slide}"
            )));
        }
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let history: History<T> = Arc::default();
        let batches = history.clone();
        let every = self.slide_duration();
        // Each batch is counted, then numbered: read twice.
        self.node.base.persist_by_default();
        let stream = self.derive(
            "count_window",
            every,
            Duration::ZERO,
            vec![],
            move |_, t| {
                let batch = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
                let mut history = batches.lock();
                let (total, next, records) = match history.get(&(t - every)) {
                    Some(before) => {
                        let (numbered, count) = number(&batch, before.total)?;
                        (
                            before.total + count,
                            before.next,
                            before.kept.union(&numbered),
                        )
                    }
                    None if history.is_empty() => {
                        let (numbered, count) = number(&batch, 0)?;
                        (count, 0, numbered)
                    }
                    None => return Err(missing(t - every)),
                };
                // Windows next..=last complete with this batch.
                let complete = (total >= size).then(|| (total - size) / slide);
                let (windows, next) = match complete {
                    Some(last) if last >= next => (Some((next, last)), last + 1),
                    _ => (None, next),
                };
                let keep_from = next * slide;
                let kept = records
                    .filter(Fn!(move |(_, i): &(T, u64)| *i >= keep_from))
                    .persist(StorageLevel::MEMORY_ONLY);
                // Checkpointed now, so that the metadata checkpoint of this batch can name it.
                kept.checkpoint()?;
                kept.count()?;
                history.insert(t, AfterBatch { total, next, kept });
                forget_old(&mut history);
                Ok(Some(match windows {
                    None => ctx.empty(),
                    Some((first, last)) => records.flat_map(Fn!(move |(x, i): (T, u64)| {
                        windows_of(i, size, slide, first, last)
                            .map(|k| (k, x.clone()))
                            .collect::<Vec<_>>()
                    })),
                }))
            },
        );
        stream.node.set_source(history);
        stream.node.base.set_must_checkpoint();
        Ok(stream)
    }
}

fn missing(time: Time) -> Error {
    Error::Input(format!(
        "a count window has no record of batch {time}, which the batch after it numbers on \
         from: the checkpoint it recovered from is older than the batches it kept; delete the \
         checkpoint directory to start the stream afresh"
    ))
}

/// Drops all but the newest [`REMEMBERED`] batches, and uncaches all but [`CACHED`].
fn forget_old<T: Data>(history: &mut BTreeMap<Time, AfterBatch<T>>) {
    while history.len() > REMEMBERED {
        history.pop_first();
    }
    if let Some(old) = history.values().rev().nth(CACHED) {
        old.kept.unpersist();
    }
}

impl<T: Data> SourceState<(u64, T)> for History<T> {
    fn save(&self, data: &mut NodeCheckpoint) {
        for (time, after) in self.lock().iter() {
            if let Some(kept) = after.kept.get_checkpoint_file() {
                let saved = CountWindowCheckpoint {
                    total: after.total,
                    next: after.next,
                    kept,
                };
                data.count_window.insert(time.millis(), saved);
            }
        }
    }

    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<Vec<(Time, Rdd<(u64, T)>)>> {
        let mut history = self.lock();
        for (&time, saved) in &data.count_window {
            let after = AfterBatch {
                total: saved.total,
                next: saved.next,
                kept: ctx.checkpoint_file(&saved.kept)?,
            };
            history.insert(Time::from_millis(time), after);
        }
        Ok(Vec::new())
    }
}

/// `batch`'s records paired with their numbers, counting from `base`, and how many there are.
///
/// # Errors
/// The job counting the batch's partitions failed.
fn number<T: Data>(batch: &Rdd<T>, base: u64) -> Result<(Rdd<(T, u64)>, u64)> {
    let counts = batch
        .map_partitions(Fn!(|xs: BoxIter<T>| [xs.count() as u64]))
        .collect()?;
    let starts: Vec<u64> = counts
        .iter()
        .scan(base, |next, n| {
            let start = *next;
            *next += n;
            Some(start)
        })
        .collect();
    let numbered = batch.map_partitions_with_index(Fn!(move |p: usize, xs: BoxIter<T>| {
        let start = starts[p];
        xs.enumerate().map(move |(i, x)| (x, start + i as u64))
    }));
    Ok((numbered, counts.iter().sum()))
}

/// The windows among `first..=last` that record `i` falls in.
fn windows_of(i: u64, size: u64, slide: u64, first: u64, last: u64) -> impl Iterator<Item = u64> {
    // Window k holds i when k * slide <= i < k * slide + size.
    let lowest = (i + 1).saturating_sub(size).div_ceil(slide);
    let highest = i / slide;
    lowest.max(first)..=highest.min(last)
}

#[cfg(test)]
mod tests {
    use super::windows_of;

    #[test]
    fn records_fall_in_the_windows_that_cover_them() {
        // Size 3, slide 2: windows 0 = 0..3, 1 = 2..5, 2 = 4..7.
        assert_eq!(windows_of(0, 3, 2, 0, 9).collect::<Vec<_>>(), [0]);
        assert_eq!(windows_of(2, 3, 2, 0, 9).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(windows_of(4, 3, 2, 0, 9).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(windows_of(4, 3, 2, 2, 9).collect::<Vec<_>>(), [2]);
        // Tumbling, size 4: record 5 is in window 1 only.
        assert_eq!(windows_of(5, 4, 4, 0, 9).collect::<Vec<_>>(), [1]);
        // Gaps (slide > size): record 3 of size 2, slide 3 is in window 1; record 2 in none.
        assert_eq!(windows_of(3, 2, 3, 0, 9).collect::<Vec<_>>(), [1]);
        assert_eq!(windows_of(2, 2, 3, 0, 9).count(), 0);
    }
}
