//! The shuffle files of one executor: naming, committing and reading segments (Spark's
//! `IndexShuffleBlockResolver`).
//!
//! Data file: the segments of reduce partitions `0..n` back to back. Index file: `n + 1`
//! big-endian `u64` offsets into the data file, so segment `r` is `offsets[r]..offsets[r + 1]`.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The shuffle files of one executor.
#[derive(Debug)]
pub struct ShuffleManager {
    dir: PathBuf,
    compress: bool,
    bypass_merge_threshold: usize,
    // Serializes commits so that "is there a complete output already?" and the renames are one
    // step for concurrent attempts of the same map task.
    commit: Mutex<()>,
}

impl ShuffleManager {
    /// Shuffle files under `dir`; map tasks into at most `bypass_merge_threshold` partitions
    /// without map-side combine write a file per partition.
    pub fn new(dir: PathBuf, compress: bool, bypass_merge_threshold: usize) -> Self {
        ShuffleManager {
            dir,
            compress,
            bypass_merge_threshold,
            commit: Mutex::new(()),
        }
    }

    /// Whether shuffle streams are lz4-compressed.
    pub(crate) fn compress(&self) -> bool {
        self.compress
    }

    /// `ember.shuffle.sort.bypassMergeThreshold`.
    pub(crate) fn bypass_merge_threshold(&self) -> usize {
        self.bypass_merge_threshold
    }

    /// Where spills go (under `ember.local.dir`), created if need be.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn spill_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        Ok(&self.dir)
    }

    /// The data file of map `map` of `shuffle`.
    pub fn data_path(&self, shuffle: usize, map: usize) -> PathBuf {
        self.dir.join(format!("shuffle_{shuffle}_{map}_0.data"))
    }

    /// The index file of map `map` of `shuffle`.
    pub fn index_path(&self, shuffle: usize, map: usize) -> PathBuf {
        self.dir.join(format!("shuffle_{shuffle}_{map}_0.index"))
    }

    /// Writes map `map`'s output: `write_segment(r, out)` writes reduce partition `r`'s segment
    /// and returns its length. Returns the segment lengths.
    ///
    /// # Errors
    /// Disk I/O failures; nothing is left under the final names then.
    pub(crate) fn commit_map_output(
        &self,
        shuffle: usize,
        map: usize,
        partitions: usize,
        mut write_segment: impl FnMut(usize, &mut BufWriter<&File>) -> Result<u64>,
    ) -> Result<Vec<u64>> {
        let dir = self.spill_dir()?;
        let data = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        let mut sizes = Vec::with_capacity(partitions);
        {
            let mut out = BufWriter::with_capacity(1 << 16, data.as_file());
            for r in 0..partitions {
                sizes.push(write_segment(r, &mut out)?);
            }
            out.flush().map_err(|e| Error::io(data.path(), e))?;
        }
        let mut index = Vec::with_capacity((partitions + 1) * 8);
        let mut offset = 0u64;
        index.extend_from_slice(&offset.to_be_bytes());
        for size in &sizes {
            offset += size;
            index.extend_from_slice(&offset.to_be_bytes());
        }
        let index_tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        std::fs::write(index_tmp.path(), &index).map_err(|e| Error::io(index_tmp.path(), e))?;
        let _commit = self.commit.lock();
        // The first attempt to commit wins, as in Spark: a later one (a duplicate, or a second
        // job computing the same shuffle) leaves the files readers may already be using alone.
        if let Some(existing) = self.committed_sizes(shuffle, map, partitions) {
            return Ok(existing);
        }
        // Data first: an index is only ever visible next to its complete data file.
        let data_path = self.data_path(shuffle, map);
        data.persist(&data_path)
            .map_err(|e| Error::io(&data_path, e.error))?;
        let index_path = self.index_path(shuffle, map);
        index_tmp
            .persist(&index_path)
            .map_err(|e| Error::io(&index_path, e.error))?;
        Ok(sizes)
    }

    /// The segment sizes of a complete committed output of map `map`, if there is one.
    fn committed_sizes(&self, shuffle: usize, map: usize, partitions: usize) -> Option<Vec<u64>> {
        let index = std::fs::read(self.index_path(shuffle, map)).ok()?;
        let data_len = std::fs::metadata(self.data_path(shuffle, map)).ok()?.len();
        let offsets: Vec<u64> = index
            .chunks_exact(8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        let complete = offsets.len() == partitions + 1 && offsets.last() == Some(&data_len);
        complete.then(|| offsets.windows(2).map(|w| w[1] - w[0]).collect())
    }

    /// Reads reduce partition `reduce`'s segment of map `map`'s output.
    ///
    /// # Errors
    /// [`Error::FetchFailed`] when the files are missing or inconsistent.
    pub fn read_segment(&self, shuffle: usize, map: usize, reduce: usize) -> Result<Vec<u8>> {
        let (mut segment, len) = self.open_segment(shuffle, map, reduce)?;
        let mut bytes = vec![0u8; len as usize];
        segment.read_exact(&mut bytes).map_err(|e| {
            let path = self.data_path(shuffle, map);
            fetch_failed(shuffle, map, reduce, format!("{}: {e}", path.display()))
        })?;
        Ok(bytes)
    }

    /// Reduce partition `reduce`'s segment of map `map`'s output, to be read as a stream, and
    /// its length.
    ///
    /// # Errors
    /// [`Error::FetchFailed`] when the files are missing or inconsistent.
    pub(crate) fn open_segment(
        &self,
        shuffle: usize,
        map: usize,
        reduce: usize,
    ) -> Result<(std::io::Take<File>, u64)> {
        let fail = |message: String| fetch_failed(shuffle, map, reduce, message);
        let index_path = self.index_path(shuffle, map);
        let index = std::fs::read(&index_path)
            .map_err(|e| fail(format!("{}: {e}", index_path.display())))?;
        let offset = |i: usize| -> Option<u64> {
            index
                .get(i * 8..i * 8 + 8)
                .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
        };
        let (Some(start), Some(end)) = (offset(reduce), offset(reduce + 1)) else {
            return Err(fail(format!("{} is truncated", index_path.display())));
        };
        let data_path = self.data_path(shuffle, map);
        let mut file =
            File::open(&data_path).map_err(|e| fail(format!("{}: {e}", data_path.display())))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| fail(format!("{}: {e}", data_path.display())))?;
        let len = end.saturating_sub(start);
        Ok((file.take(len), len))
    }

    /// Deletes every file of `shuffle` (maps `0..maps`).
    pub fn remove_shuffle(&self, shuffle: usize, maps: usize) {
        for map in 0..maps {
            // Files already gone need no deleting.
            let _ = std::fs::remove_file(self.data_path(shuffle, map));
            let _ = std::fs::remove_file(self.index_path(shuffle, map));
        }
    }
}

fn fetch_failed(shuffle_id: usize, map_index: usize, reduce_id: usize, message: String) -> Error {
    Error::FetchFailed {
        shuffle_id,
        map_index,
        reduce_id,
        message,
    }
}
