//! The reduce side of a shuffle (Spark's `BlockStoreShuffleReader`).

use super::codec::ChunkReader;
use super::external_map::ExternalAppendOnlyMap;
use super::external_sorter::ExternalSorter;
use super::{KeyOrdering, ShuffleSpec};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::partitioner::Partitioner;
use crate::rdd::BoxIter;
use crate::task_context::{abort, TaskContext, TaskMetrics};
use std::sync::Arc;

/// Reads reduce partition `reduce` of the shuffle: fetches every map output's segment, merges
/// values by key when the aggregator merges, and sorts by key when the spec orders.
///
/// # Errors
/// [`Error::FetchFailed`] when a map output is not registered; unreadable segments abort the task
/// with the same error while iterating.
pub(crate) fn read_shuffle<K, V, A, P, O>(
    spec: &ShuffleSpec<K, V, A, P, O>,
    reduce: usize,
    tc: &Arc<TaskContext>,
) -> Result<BoxIter<(K, A::Combined)>>
where
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
{
    let records = fetch(spec.shuffle_id, reduce, tc)?;
    let records: BoxIter<(K, A::Combined)> = if A::MERGES {
        let mut map = ExternalAppendOnlyMap::<K, V, A>::new(spec.aggregator.clone(), tc);
        for (k, c) in records {
            map.insert(k, c)?;
        }
        map.into_iter()?
    } else {
        records
    };
    match spec.ordering.comparator() {
        Some(compare) => {
            let mut sorter = ExternalSorter::new(compare, tc);
            for (k, c) in records {
                sorter.insert(k, c)?;
            }
            sorter.into_iter()
        }
        None => Ok(records),
    }
}

/// The records of every map output's segment for `reduce`, one map output at a time.
fn fetch<R: Data>(shuffle: usize, reduce: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<R>> {
    let env = tc.env().clone();
    let statuses = env
        .map_output_tracker
        .statuses(shuffle)
        .ok_or_else(|| Error::Internal(format!("shuffle {shuffle} was never registered")))?;
    if let Some(map) = statuses.iter().position(Option::is_none) {
        return Err(Error::FetchFailed {
            shuffle_id: shuffle,
            map_index: map,
            reduce_id: reduce,
            message: "map output is missing".into(),
        });
    }
    let tc = tc.clone();
    let maps = statuses.len();
    Ok(Box::new((0..maps).flat_map(move |map| {
        let segment = env
            .shuffle_manager
            .read_segment(shuffle, map, reduce)
            .unwrap_or_else(|e| abort(e));
        TaskMetrics::add(&tc.metrics().shuffle_bytes_read, segment.len() as u64);
        ChunkReader::<R, _>::from_bytes(segment)
    })))
}
