//! Text input: `text_file` and `whole_text_files` over local files (Spark's `HadoopRDD` with
//! `TextInputFormat`, and `WholeTextFileRDD`).
//!
//! Paths may be files, directories (their files, skipping names starting with `_` or `.` as
//! Hadoop does), glob patterns, or several of those separated by commas; `file://` prefixes are
//! accepted. Gzip files (`.gz`) are read whole by one task, since gzip cannot be split.
//!
//! Splits follow Hadoop's `FileInputFormat`: the goal size is the total size over the requested
//! minimum partitions, capped at the block size (`fs.local.block.size`, 32 MiB); a file's last
//! split may be up to 10% larger. Lines follow `LineRecordReader`: a split that does not start at
//! the beginning of the file skips its first (partial) line, and every split reads the line
//! that starts at its end, so each line is read exactly once.

use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use crate::error::{Error, Result};
use crate::task_context::{abort, TaskContext};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Hadoop's default block size for local files.
const LOCAL_BLOCK_SIZE: u64 = 32 << 20;
/// Hadoop lets a file's last split be this much larger than the split size.
const SPLIT_SLOP: f64 = 1.1;

/// A byte range of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSplit {
    pub path: PathBuf,
    pub start: u64,
    pub length: u64,
    /// Gzip: read the whole file, decompressed.
    pub gzip: bool,
}

/// Expands a user's path argument into the input files, sorted.
///
/// # Errors
/// A path that matches nothing: `input path does not exist: ...`.
pub(crate) fn list_input_files(paths: &str) -> Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    for raw in paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let path = raw.strip_prefix("file://").unwrap_or(raw);
        if let Some(scheme) = path.split_once("://").map(|(s, _)| s) {
            return Err(Error::Input(format!(
                "unsupported file system '{scheme}' in {raw}: only local paths (file://) are \
                 readable in this build"
            )));
        }
        let matches: Vec<PathBuf> = if path.contains(['*', '?', '[']) {
            glob::glob(path)
                .map_err(|e| Error::Input(format!("bad glob pattern {raw}: {e}")))?
                .filter_map(std::result::Result::ok)
                .collect()
        } else {
            vec![PathBuf::from(path)]
        };
        let before = files.len();
        for m in matches {
            collect_files(&m, &mut files)?;
        }
        if files.len() == before && !matches_empty_dir(path) {
            return Err(Error::Input(format!("input path does not exist: {raw}")));
        }
    }
    files.sort();
    Ok(files)
}

fn matches_empty_dir(path: &str) -> bool {
    Path::new(path).is_dir()
}

fn collect_files(path: &Path, out: &mut Vec<(PathBuf, u64)>) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.is_file() {
        out.push((path.to_path_buf(), meta.len()));
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let child = entry.path();
        if child.is_file() {
            let len = entry.metadata().map_err(|e| Error::io(&child, e))?.len();
            out.push((child, len));
        }
    }
    Ok(())
}

/// Splits files as Hadoop's `FileInputFormat.getSplits` does.
pub(crate) fn compute_splits(files: &[(PathBuf, u64)], min_partitions: usize) -> Vec<FileSplit> {
    let total: u64 = files.iter().map(|f| f.1).sum();
    let goal = total / min_partitions.max(1) as u64;
    let split_size = goal.clamp(1, LOCAL_BLOCK_SIZE);
    let mut splits = Vec::new();
    for (path, len) in files {
        let gzip = path.extension().is_some_and(|e| e == "gz");
        if gzip || *len == 0 {
            splits.push(FileSplit {
                path: path.clone(),
                start: 0,
                length: *len,
                gzip,
            });
            continue;
        }
        let mut remaining = *len;
        while remaining as f64 / split_size as f64 > SPLIT_SLOP {
            splits.push(FileSplit {
                path: path.clone(),
                start: len - remaining,
                length: split_size,
                gzip,
            });
            remaining -= split_size;
        }
        if remaining > 0 {
            splits.push(FileSplit {
                path: path.clone(),
                start: len - remaining,
                length: remaining,
                gzip,
            });
        }
    }
    splits
}

/// The lines of text files, one partition per split.
#[derive(Serialize, Deserialize)]
pub(crate) struct TextFileRdd {
    pub core: RddCore,
    pub splits: Vec<FileSplit>,
}

impl RddBase for TextFileRdd {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddCompute<String> for TextFileRdd {
    fn compute(&self, partition: usize, _: &Arc<TaskContext>) -> Result<BoxIter<String>> {
        Ok(Box::new(LineReader::open(&self.splits[partition])?))
    }
}

/// Reads the lines of one split.
struct LineReader {
    input: Box<dyn BufRead>,
    path: PathBuf,
    position: u64,
    end: u64,
    buffer: Vec<u8>,
}

impl LineReader {
    fn open(split: &FileSplit) -> Result<Self> {
        let file = File::open(&split.path).map_err(|e| Error::io(&split.path, e))?;
        if split.gzip {
            let decoder = flate2::read::MultiGzDecoder::new(file);
            return Ok(LineReader {
                input: Box::new(BufReader::with_capacity(1 << 20, decoder)),
                path: split.path.clone(),
                position: 0,
                end: u64::MAX,
                buffer: Vec::new(),
            });
        }
        let mut file = file;
        file.seek(SeekFrom::Start(split.start))
            .map_err(|e| Error::io(&split.path, e))?;
        let mut reader = LineReader {
            input: Box::new(BufReader::with_capacity(1 << 20, file)),
            path: split.path.clone(),
            position: split.start,
            end: split.start + split.length,
            buffer: Vec::new(),
        };
        if split.start != 0 {
            // The line that straddles our start belongs to the previous split.
            reader.read_line()?;
        }
        Ok(reader)
    }

    /// Reads one line into the buffer; false at the end of the file.
    fn read_line(&mut self) -> Result<bool> {
        self.buffer.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| Error::io(&self.path, e))?;
        self.position += n as u64;
        Ok(n > 0)
    }
}

impl Iterator for LineReader {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        if self.position > self.end {
            return None;
        }
        if !self.read_line().unwrap_or_else(|e| abort(e)) {
            return None;
        }
        let mut line = std::mem::take(&mut self.buffer);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Some(
            String::from_utf8(line)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }
}

/// Whole files as `(path, contents)`, files grouped into partitions of similar size.
#[derive(Serialize, Deserialize)]
pub(crate) struct WholeTextFilesRdd {
    pub core: RddCore,
    pub groups: Vec<Vec<PathBuf>>,
}

/// Groups files into at most `partitions` groups of similar total size (greedy, largest first).
pub(crate) fn group_files(mut files: Vec<(PathBuf, u64)>, partitions: usize) -> Vec<Vec<PathBuf>> {
    let groups = partitions.clamp(1, files.len().max(1));
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<(u64, Vec<PathBuf>)> = vec![(0, Vec::new()); groups];
    for (path, len) in files {
        if let Some(smallest) = out.iter_mut().min_by_key(|g| g.0) {
            smallest.0 += len;
            smallest.1.push(path);
        }
    }
    out.into_iter()
        .map(|(_, mut g)| {
            g.sort();
            g
        })
        .filter(|g| !g.is_empty())
        .collect()
}

impl RddBase for WholeTextFilesRdd {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddCompute<(String, String)> for WholeTextFilesRdd {
    fn compute(&self, partition: usize, _: &Arc<TaskContext>) -> Result<BoxIter<(String, String)>> {
        let group = self.groups[partition].clone();
        Ok(Box::new(group.into_iter().map(|path| {
            let contents = read_whole(&path).unwrap_or_else(|e| abort(e));
            let absolute = std::path::absolute(&path).unwrap_or(path);
            (format!("file:{}", absolute.display()), contents)
        })))
    }
}

fn read_whole(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        BufReader::new(file).read_to_end(&mut bytes)
    };
    read.map_err(|e| Error::io(path, e))?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(files: &[(PathBuf, u64)], min_partitions: usize) -> Vec<String> {
        compute_splits(files, min_partitions)
            .iter()
            .flat_map(|s| LineReader::open(s).unwrap())
            .collect()
    }

    #[test]
    fn every_line_is_read_once_whatever_the_split_points() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.txt");
        let lines: Vec<String> = (0..500)
            .map(|i| "x".repeat(i % 37) + &i.to_string())
            .collect();
        std::fs::write(&path, lines.join("\r\n") + "\n").unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        for parts in [1, 2, 3, 7, 64, 1000] {
            let got = read_all(&[(path.clone(), len)], parts);
            assert_eq!(got, lines, "{parts} partitions");
        }
    }

    #[test]
    fn hidden_files_are_skipped_and_missing_paths_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        std::fs::write(dir.path().join(".a.crc"), "x").unwrap();
        let files = list_input_files(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(files.len(), 1);
        let missing = dir.path().join("nope");
        let err = list_input_files(missing.to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("input path does not exist"),
            "{err}"
        );
    }

    #[test]
    fn files_are_grouped_by_size() {
        let files = (0..10)
            .map(|i| (PathBuf::from(format!("f{i}")), 10 * i))
            .collect();
        let groups = group_files(files, 3);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 10);
    }
}
