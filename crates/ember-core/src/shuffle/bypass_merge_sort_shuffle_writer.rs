//! The map side of a shuffle without map-side combine into few reduce partitions (Spark's
//! `BypassMergeSortShuffleWriter`).
//!
//! Each record is encoded into the chunk stream of its partition's own temporary file as it
//! comes; at the end the files are joined, in partition order, into the map output's data file.
//! A map task holds one open chunk and one write buffer per partition, whatever it writes:
//! nothing waits in memory, so nothing spills, and large records (a SQL exchange's Arrow
//! batches) reach the file without a copy in between. The price is an open file per partition,
//! which `ember.shuffle.sort.bypassMergeThreshold` bounds.

use super::codec::ChunkWriter;
use super::sort_shuffle_writer::MapOutput;
use super::{KeyOrdering, ShuffleSpec};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::partitioner::Partitioner;
use crate::rdd::BoxIter;
use crate::task_context::TaskContext;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// Bytes each partition's file gathers before a write (Spark's `spark.shuffle.file.buffer`).
const FILE_BUFFER: usize = 32 * 1024;

/// Writes map task `map`'s records, a file per partition joined at the end.
pub(crate) fn write_bypassing_merge<K, V, A, P, O>(
    spec: &ShuffleSpec<K, V, A, P, O>,
    map: usize,
    records: BoxIter<(K, V)>,
    tc: &Arc<TaskContext>,
) -> Result<MapOutput>
where
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
{
    let manager = &tc.env().shuffle_manager;
    let dir = manager.spill_dir()?;
    let partitions = spec.partitioner.num_partitions();
    let mut writers = (0..partitions)
        .map(|_| {
            let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
            let out = BufWriter::with_capacity(FILE_BUFFER, file);
            Ok(ChunkWriter::to(out, manager.compress(), dir.to_path_buf()))
        })
        .collect::<Result<Vec<_>>>()?;
    let (mut written, mut record_bytes) = (0, 0);
    for (k, v) in records {
        let p = spec.partitioner.partition(&k);
        record_bytes += writers[p].write(&(k, spec.aggregator.create_combiner(v)))? as u64;
        written += 1;
    }
    let mut files = writers
        .into_iter()
        .map(|w| {
            let out = w.finish()?;
            out.into_inner().map_err(|e| Error::io(dir, e.into_error()))
        })
        .collect::<Result<Vec<File>>>()?;
    let sizes = manager.commit_map_output(spec.shuffle_id, map, partitions, |r, out| {
        append(&mut files[r], out, dir)
    })?;
    Ok(MapOutput {
        sizes,
        record_bytes,
        records: written,
    })
}

/// Copies all of `part` to the end of `out`, inside the kernel where it can.
fn append(part: &mut File, out: &mut BufWriter<&File>, dir: &Path) -> Result<u64> {
    out.flush().map_err(|e| Error::io(dir, e))?;
    part.seek(SeekFrom::Start(0))
        .and_then(|_| std::io::copy(part, out.get_mut()))
        .map_err(|e| Error::io(dir, e))
}
