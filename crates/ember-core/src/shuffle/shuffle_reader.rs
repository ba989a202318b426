//! The reduce side of a shuffle (Spark's `BlockStoreShuffleReader`).

use super::codec::ChunkReader;
use super::external_map::ExternalAppendOnlyMap;
use super::external_sorter::ExternalSorter;
use super::{KeyOrdering, ShuffleSpec};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::network::block_transfer::{plan_requests, SegmentFetcher};
use crate::partitioner::Partitioner;
use crate::rdd::BoxIter;
use crate::task_context::{abort, TaskContext, TaskMetrics};
use std::io::{BufReader, Read};
use std::sync::Arc;

/// Reads reduce partition `reduce` of the shuffle: fetches every map output's segment, merges
/// values by key when the aggregator merges, and sorts by key when the spec orders.
///
/// # Errors
/// [`Error::FetchFailed`] when a map output is not registered; unreadable segments abort the task
/// with the same error while iterating.
pub fn read_shuffle<K, V, A, P, O>(
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
    if !O::SORTS {
        return Ok(records);
    }
    let mut sorter = ExternalSorter::new(spec.ordering.clone(), tc);
    for (k, c) in records {
        sorter.insert(k, c)?;
    }
    sorter.into_iter()
}

/// The bytes of the records every map output of shuffle `shuffle` holds, all reduce partitions
/// together, as encoded before compression; `None` while an output is missing or the shuffle is
/// unknown. What a reader of the whole shuffle would hold once read, known before fetching, and
/// the same whether `ember.shuffle.compress` is on or off.
///
/// # Errors
/// The driver cannot be reached.
pub fn shuffle_bytes(shuffle: usize, tc: &Arc<TaskContext>) -> Result<Option<u64>> {
    let Some(statuses) = tc.env().map_statuses(shuffle)? else {
        return Ok(None);
    };
    Ok(statuses
        .iter()
        .map(|status| status.as_ref().map(|s| s.record_bytes))
        .sum())
}

/// The records of every map output's segment for `reduce`: this executor's own first, read from
/// disk, then the others' as they arrive over the network.
fn fetch<R: Data>(shuffle: usize, reduce: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<R>> {
    let env = tc.env().clone();
    let statuses = env
        .map_statuses(shuffle)?
        .ok_or_else(|| Error::Internal(format!("shuffle {shuffle} was never registered")))?;
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for (map, status) in statuses.into_iter().enumerate() {
        let Some(status) = status else {
            return Err(Error::FetchFailed {
                shuffle_id: shuffle,
                map_index: map,
                reduce_id: reduce,
                message: "map output is missing".into(),
            });
        };
        let size = status.sizes.get(reduce).copied().unwrap_or(0);
        if status.executor_id == env.executor_id {
            local.push(map);
        } else {
            remote.push((status.address, map, size));
        }
    }
    let remote = match env.link.get() {
        Some(link) if !remote.is_empty() => {
            let target = (link.fetch.max_bytes_in_flight / 5).max(1);
            let requests = plan_requests(remote, target);
            Some(SegmentFetcher::start(link, shuffle, reduce, requests))
        }
        _ if !remote.is_empty() => {
            return Err(Error::Internal(format!(
                "shuffle {shuffle} has outputs on other executors but this one cannot reach them"
            )))
        }
        _ => None,
    };
    let disk_env = env.clone();
    let from_disk = local.into_iter().map(move |map| {
        let (segment, len) = disk_env
            .shuffle_manager
            .open_segment(shuffle, map, reduce)?;
        let reader: Box<dyn Read + Send> =
            Box::new(BufReader::with_capacity(SEGMENT_BUFFER, segment));
        Ok((reader, len))
    });
    let from_network = remote.into_iter().flatten().map(move |(map, result)| {
        let bytes = result.map_err(|message| Error::FetchFailed {
            shuffle_id: shuffle,
            map_index: map,
            reduce_id: reduce,
            message,
        })?;
        let len = bytes.len() as u64;
        let reader: Box<dyn Read + Send> = Box::new(bytes::Buf::reader(bytes));
        Ok((reader, len))
    });
    let tc = tc.clone();
    Ok(Box::new(from_disk.chain(from_network).flat_map(
        move |segment: Result<(Box<dyn Read + Send>, u64)>| {
            let (reader, len) = segment.unwrap_or_else(|e| abort(e));
            TaskMetrics::add(&tc.metrics().shuffle_bytes_read, len);
            ChunkReader::<R, _>::new(reader)
        },
    )))
}

/// Bytes read from a local segment at a time: local segments stream from disk rather than
/// being read whole, so a reducer holds one buffer per segment it is reading.
const SEGMENT_BUFFER: usize = 64 * 1024;
