//! The map side of a shuffle (Spark's `SortShuffleWriter`).
//!
//! Records go to per-reduce-partition chunk streams. With map-side combine they first meet in a
//! hash map of key to combined value. Whenever the task's memory share is used up, the hash map
//! is flushed into the streams and the streams are spilled to one file, with each partition's
//! byte range remembered. The final data file is, for each partition in order, its ranges from
//! every spill followed by what is still in memory; since chunk streams concatenate, nothing is
//! decoded again.
//!
//! A shuffle without map-side combine into at most `ember.shuffle.sort.bypassMergeThreshold`
//! partitions skips the buffers: see `bypass_merge_sort_shuffle_writer`.

use super::bypass_merge_sort_shuffle_writer::write_bypassing_merge;
use super::codec::ChunkWriter;
use super::combine_map::CombineMap;
use super::size_tracker::SizeTracker;
use super::{KeyOrdering, MapStatus, ShuffleSpec};
use crate::aggregator::Aggregator;
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::partitioner::Partitioner;
use crate::rdd::BoxIter;
use crate::storage::TaskMemory;
use crate::task_context::{TaskContext, TaskMetrics};
use serde::Serialize;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

/// Runs map task `map`: shuffles `records` by `spec` and commits the output files.
pub(crate) fn write_map_output<K, V, A, P, O>(
    spec: &ShuffleSpec<K, V, A, P, O>,
    map: usize,
    records: BoxIter<(K, V)>,
    tc: &Arc<TaskContext>,
) -> Result<MapStatus>
where
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
{
    let env = tc.env();
    let partitions = spec.partitioner.num_partitions();
    let bypass = partitions <= env.shuffle_manager.bypass_merge_threshold();
    let output = if !spec.map_side_combine && bypass {
        write_bypassing_merge(spec, map, records, tc)?
    } else {
        write_sorted(spec, map, records, tc)?
    };
    let metrics = tc.metrics();
    TaskMetrics::add(&metrics.shuffle_bytes_written, output.sizes.iter().sum());
    TaskMetrics::add(&metrics.records_written, output.records);
    Ok(MapStatus {
        executor_id: env.executor_id.clone(),
        address: env.block_address(),
        sizes: output.sizes,
        record_bytes: output.record_bytes,
    })
}

/// What a map task wrote.
pub(crate) struct MapOutput {
    /// Bytes of each reduce partition's segment, as stored.
    pub(crate) sizes: Vec<u64>,
    /// Bytes of the records as encoded, before compression.
    pub(crate) record_bytes: u64,
    pub(crate) records: u64,
}

/// Writes map task `map`'s records through per-partition buffers that spill.
fn write_sorted<K, V, A, P, O>(
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
    let partitions = spec.partitioner.num_partitions();
    let mut out = PartitionedSpillBuffer::new(partitions, tc);
    if spec.map_side_combine {
        combine_into(spec, records, &mut out, tc)?;
    } else {
        for (k, v) in records {
            let p = spec.partitioner.partition(&k);
            out.write(p, &(k, spec.aggregator.create_combiner(v)))?;
        }
    }
    let sizes =
        tc.env()
            .shuffle_manager
            .commit_map_output(spec.shuffle_id, map, partitions, |r, w| {
                out.write_partition(r, w)
            })?;
    Ok(MapOutput {
        sizes,
        record_bytes: out.record_bytes,
        records: out.records,
    })
}

fn combine_into<K, V, A, P, O>(
    spec: &ShuffleSpec<K, V, A, P, O>,
    records: BoxIter<(K, V)>,
    out: &mut PartitionedSpillBuffer,
    tc: &Arc<TaskContext>,
) -> Result<()>
where
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
{
    let agg = &spec.aggregator;
    let mut map: CombineMap<K, A::Combined> = CombineMap::new();
    let mut size = SizeTracker::default();
    let mut memory = TaskMemory::for_task(tc);
    let mut batch = Vec::with_capacity(BATCH);
    let mut records = records;
    loop {
        // Pulling a batch first and merging it in a tight loop lets the processor overlap the
        // cache misses of consecutive lookups, which virtual calls between them would prevent.
        batch.extend(records.by_ref().take(BATCH));
        if batch.is_empty() {
            break;
        }
        for (k, v) in batch.drain(..) {
            let check = map.upsert(
                k,
                v,
                |v| agg.create_combiner(v),
                |c, v| agg.merge_value(c, v),
                |new, k, c| size.upserted(new, &(k, c)),
            );
            if check && !memory.try_grow_to(size.estimate()) {
                flush(&mut map, spec, out)?;
                out.spill()?;
                size.reset();
                memory.release_all();
            }
        }
    }
    flush(&mut map, spec, out)
}

fn flush<K, V, A, P, O>(
    map: &mut CombineMap<K, A::Combined>,
    spec: &ShuffleSpec<K, V, A, P, O>,
    out: &mut PartitionedSpillBuffer,
) -> Result<()>
where
    K: Key,
    V: Data,
    A: Aggregator<V>,
    P: Partitioner<K>,
    O: KeyOrdering<K>,
{
    for (k, c) in map.drain() {
        out.write(spec.partitioner.partition(&k), &(k, c))?;
    }
    Ok(())
}

/// One spill file and the byte range of each partition in it.
struct Spill {
    file: tempfile::NamedTempFile,
    ranges: Vec<(u64, u64)>,
}

/// Per-partition chunk streams that spill to disk when the task's memory share is used up.
struct PartitionedSpillBuffer {
    writers: Vec<ChunkWriter>,
    spills: Vec<Spill>,
    memory: TaskMemory,
    tc: Arc<TaskContext>,
    records: u64,
    record_bytes: u64,
    bytes_since_check: usize,
}

/// Records pulled from the parent iterator at a time by map-side combine.
const BATCH: usize = 256;

/// Memory is re-checked after this many bytes of records, not after every record.
const CHECK_EVERY_BYTES: usize = 256 * 1024;

impl PartitionedSpillBuffer {
    fn new(partitions: usize, tc: &Arc<TaskContext>) -> Self {
        let compress = tc.env().shuffle_manager.compress();
        PartitionedSpillBuffer {
            writers: (0..partitions)
                .map(|_| ChunkWriter::new(compress))
                .collect(),
            spills: Vec::new(),
            memory: TaskMemory::for_task(tc),
            tc: tc.clone(),
            records: 0,
            record_bytes: 0,
            bytes_since_check: 0,
        }
    }

    fn write<R: Serialize>(&mut self, partition: usize, record: &R) -> Result<()> {
        let size = self.writers[partition].write(record)?;
        self.bytes_since_check += size;
        self.record_bytes += size as u64;
        self.records += 1;
        if self.bytes_since_check >= CHECK_EVERY_BYTES {
            self.bytes_since_check = 0;
            let held: usize = self.writers.iter().map(ChunkWriter::memory_bytes).sum();
            if !self.memory.try_grow_to(held as u64) {
                self.spill()?;
            }
        }
        Ok(())
    }

    /// Writes every partition's chunks to a new spill file.
    fn spill(&mut self) -> Result<()> {
        let dir = self.tc.env().shuffle_manager.spill_dir()?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        let path = file.path().to_path_buf();
        let mut ranges = Vec::with_capacity(self.writers.len());
        let mut offset = 0;
        {
            let mut out = BufWriter::with_capacity(1 << 16, file.as_file_mut());
            for w in &mut self.writers {
                let len = w.drain_to(&mut out).map_err(|e| Error::io(&path, e))?;
                ranges.push((offset, len));
                offset += len;
            }
            out.flush().map_err(|e| Error::io(&path, e))?;
        }
        let metrics = self.tc.metrics();
        TaskMetrics::add(&metrics.spill_bytes, offset);
        TaskMetrics::add(&metrics.spill_count, 1);
        self.spills.push(Spill { file, ranges });
        self.memory.release_all();
        Ok(())
    }

    /// Writes partition `r`: its range of every spill, then its chunks in memory.
    fn write_partition(&mut self, r: usize, out: &mut dyn Write) -> Result<u64> {
        let mut total = 0;
        for spill in &mut self.spills {
            let (offset, len) = spill.ranges[r];
            let path = spill.file.path().to_path_buf();
            let file = spill.file.as_file_mut();
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::io(&path, e))?;
            let copied =
                std::io::copy(&mut (&mut *file).take(len), out).map_err(|e| Error::io(&path, e))?;
            total += copied;
        }
        let path = std::path::Path::new("shuffle output");
        total += self.writers[r]
            .drain_to(out)
            .map_err(|e| Error::io(path, e))?;
        Ok(total)
    }
}
