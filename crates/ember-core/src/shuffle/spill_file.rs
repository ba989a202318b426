//! Sorted runs spilled to disk by the reduce side, and reading them back as streams.

use super::codec::{ChunkReader, ChunkWriter};
use crate::error::{Error, Result};
use crate::task_context::{TaskContext, TaskMetrics};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::sync::Arc;

/// Writes `records` (already in run order) to a new spill file of the task.
pub(crate) fn spill_run<R: Serialize>(
    records: impl Iterator<Item = R>,
    tc: &Arc<TaskContext>,
) -> Result<tempfile::NamedTempFile> {
    let manager = &tc.env().shuffle_manager;
    let dir = manager.spill_dir()?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    let path = file.path().to_path_buf();
    let mut chunks = ChunkWriter::new(manager.compress());
    let mut bytes = 0;
    {
        let mut out = BufWriter::with_capacity(1 << 16, file.as_file_mut());
        for record in records {
            chunks.write(&record)?;
            if chunks.memory_bytes() >= 1 << 20 {
                bytes += chunks.drain_to(&mut out).map_err(|e| Error::io(&path, e))?;
            }
        }
        bytes += chunks.drain_to(&mut out).map_err(|e| Error::io(&path, e))?;
        out.flush().map_err(|e| Error::io(&path, e))?;
    }
    let metrics = tc.metrics();
    TaskMetrics::add(&metrics.spill_bytes, bytes);
    TaskMetrics::add(&metrics.spill_count, 1);
    Ok(file)
}

/// Reads a spilled run back; the file is deleted when the reader is dropped.
pub(crate) fn read_run<R: DeserializeOwned>(
    file: tempfile::NamedTempFile,
) -> Result<ChunkReader<R, SpillSource>> {
    let path = file.path().to_path_buf();
    let mut handle = file.reopen().map_err(|e| Error::io(&path, e))?;
    handle
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(&path, e))?;
    Ok(ChunkReader::new(SpillSource {
        reader: BufReader::with_capacity(1 << 16, handle),
        _file: file,
    }))
}

/// A spill file being read; owns the file so it lives exactly as long as the reader.
pub(crate) struct SpillSource {
    reader: BufReader<File>,
    _file: tempfile::NamedTempFile,
}

impl std::io::Read for SpillSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}
