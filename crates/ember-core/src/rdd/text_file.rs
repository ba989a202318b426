//! Text input: `text_file` and `whole_text_files` (Spark's `HadoopRDD` with `TextInputFormat`,
//! and `WholeTextFileRDD`).
//!
//! Paths may be files, directories (their files, skipping names starting with `_` or `.` as
//! Hadoop does), glob patterns, or several of those separated by commas. `hdfs://`, `s3://`,
//! `s3a://` and `file://` URLs are read; a bare path is resolved against `fs.defaultFS`, as in
//! Spark, so it means HDFS when `HADOOP_CONF_DIR` says so and the local disk otherwise. Local
//! files are read directly, remote ones through `ember-hadoop`'s object stores. Gzip files
//! (`.gz`) are read whole by one task, since gzip cannot be split.
//!
//! Splits follow Hadoop's `FileInputFormat`: the goal size is the total size over the requested
//! minimum partitions, capped at the file's block size (`dfs.blocksize` on HDFS,
//! `fs.s3a.block.size` on S3, `fs.local.block.size` locally, 32 MiB by default) and at `ember.files.maxPartitionBytes`; a file's
//! last split may be up to 10% larger. Lines follow `LineRecordReader`: a split that does not start at
//! the beginning of the file skips its first (partial) line, and every split reads the line
//! that starts at its end, so each line is read exactly once.

use super::remote_input::{list_remote, RangeReader};
use super::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use crate::data::Data;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::task_context::{abort, TaskContext};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Hadoop lets a file's last split be this much larger than the split size.
const SPLIT_SLOP: f64 = 1.1;

/// An input file: a local path, or the URL of a remote one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFile {
    pub path: String,
    pub len: u64,
    /// Splits are at most this long.
    pub block_size: u64,
    /// HDFS blocks: where each byte range has replicas. Empty elsewhere.
    pub blocks: Vec<ember_hadoop::BlockLocation>,
}

impl InputFile {
    fn is_remote(path: &str) -> bool {
        path.contains("://")
    }
}

/// A byte range of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileSplit {
    /// A local path, or the URL of a remote file.
    pub path: String,
    pub start: u64,
    pub length: u64,
    /// Gzip: read the whole file, decompressed.
    pub gzip: bool,
    /// Hosts holding the split's bytes, those with the most first.
    pub hosts: Vec<String>,
}

/// Expands a user's path argument into the input files, sorted.
///
/// # Errors
/// A path that matches nothing: `input path does not exist: ...`.
pub(crate) fn list_input_files(paths: &str, env: &Env) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for raw in paths.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let url = ember_hadoop::object_stores::qualify(raw, &env.hadoop)?;
        let before = files.len();
        match url.strip_prefix("file://") {
            Some(local) => list_local(local, raw, env.block_size(&url), &mut files)?,
            None => files.extend(list_remote(env, &url)?),
        }
        let empty_dir = url.strip_prefix("file://").is_some_and(matches_empty_dir);
        if files.len() == before && !empty_dir && !InputFile::is_remote_dir(env, &url) {
            return Err(Error::Input(format!("input path does not exist: {raw}")));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

impl InputFile {
    /// The hosts with replicas of bytes `start..start + length`, those holding the most first
    /// (Hadoop's `getSplitHosts`).
    fn hosts_of(&self, start: u64, length: u64) -> Vec<String> {
        let end = start + length;
        let mut bytes: Vec<(String, u64)> = Vec::new();
        for block in &self.blocks {
            let overlap = end
                .min(block.offset + block.length)
                .saturating_sub(start.max(block.offset));
            if overlap == 0 {
                continue;
            }
            for host in &block.hosts {
                match bytes.iter_mut().find(|(h, _)| h == host) {
                    Some((_, n)) => *n += overlap,
                    None => bytes.push((host.clone(), overlap)),
                }
            }
        }
        bytes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        bytes.into_iter().map(|(h, _)| h).collect()
    }

    /// Whether remote `url` is a directory (which may be empty).
    fn is_remote_dir(env: &Env, url: &str) -> bool {
        if !InputFile::is_remote(url) || url.contains(['*', '?', '[']) {
            return false;
        }
        env.resolve(url).is_ok_and(|r| {
            crate::network::runtime()
                .block_on(r.store.list_with_delimiter(Some(&r.path)))
                .is_ok_and(|l| !l.objects.is_empty() || !l.common_prefixes.is_empty())
        })
    }
}

/// The local files of `path` (a file, a directory or a glob).
fn list_local(path: &str, raw: &str, block_size: u64, files: &mut Vec<InputFile>) -> Result<()> {
    let matches: Vec<PathBuf> = if path.contains(['*', '?', '[']) {
        glob::glob(path)
            .map_err(|e| Error::Input(format!("bad glob pattern {raw}: {e}")))?
            .filter_map(std::result::Result::ok)
            .collect()
    } else {
        vec![PathBuf::from(path)]
    };
    let mut found = Vec::new();
    for m in matches {
        collect_files(&m, &mut found)?;
    }
    files.extend(found.into_iter().map(|(path, len)| InputFile {
        path: path.to_string_lossy().into_owned(),
        len,
        block_size,
        blocks: Vec::new(),
    }));
    Ok(())
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
        if super::file_status::is_hidden(&name) {
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

/// Splits files as Hadoop's `FileInputFormat.getSplits` does, no split longer than
/// `max_split_bytes` (`ember.files.maxPartitionBytes`).
pub(crate) fn compute_splits(
    files: &[InputFile],
    min_partitions: usize,
    max_split_bytes: u64,
) -> Vec<FileSplit> {
    split_files(files, min_partitions, max_split_bytes, 1, true)
}

/// As [`compute_splits`], no split shorter than `min_split_bytes` (Hadoop's `minSplitSize`,
/// which `SequenceFileInputFormat` sets to its sync interval); `whole_gzip` reads `.gz` files
/// whole, as text input does.
pub(crate) fn split_files(
    files: &[InputFile],
    min_partitions: usize,
    max_split_bytes: u64,
    min_split_bytes: u64,
    whole_gzip: bool,
) -> Vec<FileSplit> {
    let total: u64 = files.iter().map(|f| f.len).sum();
    let goal = total / min_partitions.max(1) as u64;
    let mut splits = Vec::new();
    for file in files {
        let split = |start: u64, length: u64, gzip: bool| FileSplit {
            path: file.path.clone(),
            start,
            length,
            gzip,
            hosts: file.hosts_of(start, if gzip { file.len } else { length }),
        };
        let gzip = whole_gzip && file.path.ends_with(".gz");
        if gzip || file.len == 0 {
            splits.push(split(0, file.len, gzip));
            continue;
        }
        let split_size = goal
            .min(file.block_size)
            .min(max_split_bytes)
            .max(min_split_bytes)
            .max(1);
        let mut remaining = file.len;
        while remaining as f64 / split_size as f64 > SPLIT_SLOP {
            splits.push(split(file.len - remaining, split_size, false));
            remaining -= split_size;
        }
        if remaining > 0 {
            splits.push(split(file.len - remaining, remaining, false));
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
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.splits[partition].hosts.clone()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddCompute<String> for TextFileRdd {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<String>> {
        Ok(Box::new(LineReader::open(
            &self.splits[partition],
            tc.env(),
        )?))
    }
}

/// Reads the lines of one split.
struct LineReader {
    input: Box<dyn BufRead>,
    path: String,
    position: u64,
    end: u64,
    buffer: Vec<u8>,
}

impl LineReader {
    fn open(split: &FileSplit, env: &Env) -> Result<Self> {
        if split.gzip {
            let decoder = flate2::read::MultiGzDecoder::new(open_from(&split.path, 0, env)?);
            return Ok(LineReader {
                input: Box::new(BufReader::with_capacity(1 << 20, decoder)),
                path: split.path.clone(),
                position: 0,
                end: u64::MAX,
                buffer: Vec::new(),
            });
        }
        let mut reader = LineReader {
            input: Box::new(BufReader::with_capacity(
                1 << 20,
                open_from(&split.path, split.start, env)?,
            )),
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

/// `path` (local or remote) as a byte stream from offset `start`.
pub(crate) fn open_from(path: &str, start: u64, env: &Env) -> Result<Box<dyn Read + Send>> {
    if InputFile::is_remote(path) {
        return Ok(Box::new(RangeReader::open(env, path, start)?));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(path, e))?;
    Ok(Box::new(file))
}

/// Whole files as `(path, contents)`, files grouped into partitions of similar size: their
/// text (`whole_text_files`) or their bytes (`binary_files`).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct WholeFilesRdd<C> {
    core: RddCore,
    groups: Vec<Vec<String>>,
    #[serde(skip)]
    _c: PhantomData<fn() -> C>,
}

/// `whole_text_files`.
pub(crate) type WholeTextFilesRdd = WholeFilesRdd<String>;

impl<C> WholeFilesRdd<C> {
    /// Reads `groups` of files, one partition per group.
    pub(crate) fn new(core: RddCore, groups: Vec<Vec<String>>) -> Self {
        WholeFilesRdd {
            core,
            groups,
            _c: PhantomData,
        }
    }
}

/// What a whole file becomes in a [`WholeFilesRdd`].
pub(crate) trait WholeFile: Data {
    /// The contents of `path`.
    fn read(path: &str, env: &Env) -> Result<Self>;
}

impl WholeFile for String {
    /// The text, gzip decompressed, bytes that are not UTF-8 replaced.
    fn read(path: &str, env: &Env) -> Result<Self> {
        let bytes = read_whole(path, env, path.ends_with(".gz"))?;
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

impl WholeFile for Vec<u8> {
    /// The bytes as stored: a `.gz` file stays compressed.
    fn read(path: &str, env: &Env) -> Result<Self> {
        read_whole(path, env, false)
    }
}

/// Groups files into at most `partitions` groups of similar total size (greedy, largest first).
pub(crate) fn group_files(mut files: Vec<InputFile>, partitions: usize) -> Vec<Vec<String>> {
    let groups = partitions.clamp(1, files.len().max(1));
    files.sort_by(|a, b| b.len.cmp(&a.len).then_with(|| a.path.cmp(&b.path)));
    let mut out: Vec<(u64, Vec<String>)> = vec![(0, Vec::new()); groups];
    for InputFile { path, len, .. } in files {
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

impl<C: WholeFile> RddBase for WholeFilesRdd<C> {
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

impl<C: WholeFile> RddCompute<(String, C)> for WholeFilesRdd<C> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<(String, C)>> {
        let group = self.groups[partition].clone();
        let env = tc.env().clone();
        Ok(Box::new(group.into_iter().map(move |path| {
            let contents = C::read(&path, &env).unwrap_or_else(|e| abort(e));
            (display_path(&path), contents)
        })))
    }
}

/// How Spark names a file in `whole_text_files`: `file:/absolute/path`, or the URL.
fn display_path(path: &str) -> String {
    if InputFile::is_remote(path) {
        return path.to_string();
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
    format!("file:{}", absolute.display())
}

/// The bytes of `path`, decompressed as gzip if `gunzip`.
fn read_whole(path: &str, env: &Env, gunzip: bool) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let input = open_from(path, 0, env)?;
    let read = if gunzip {
        flate2::read::MultiGzDecoder::new(input).read_to_end(&mut bytes)
    } else {
        BufReader::new(input).read_to_end(&mut bytes)
    };
    read.map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::new(&crate::EmberConf::empty(), "driver", 1).unwrap()
    }

    fn local(path: &std::path::Path, len: u64) -> InputFile {
        InputFile {
            path: path.to_string_lossy().into_owned(),
            len,
            block_size: 32 << 20,
            blocks: Vec::new(),
        }
    }

    fn read_all(files: &[InputFile], min_partitions: usize) -> Vec<String> {
        let env = env();
        compute_splits(files, min_partitions, u64::MAX)
            .iter()
            .flat_map(|s| LineReader::open(s, &env).unwrap())
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
            let got = read_all(&[local(&path, len)], parts);
            assert_eq!(got, lines, "{parts} partitions");
        }
    }

    #[test]
    fn hidden_files_are_skipped_and_missing_paths_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        std::fs::write(dir.path().join(".a.crc"), "x").unwrap();
        let files = list_input_files(dir.path().to_str().unwrap(), &env()).unwrap();
        assert_eq!(files.len(), 1);
        let missing = dir.path().join("nope");
        let err = list_input_files(missing.to_str().unwrap(), &env()).unwrap_err();
        assert!(
            err.to_string().contains("input path does not exist"),
            "{err}"
        );
    }

    #[test]
    fn a_split_prefers_the_hosts_holding_most_of_its_bytes() {
        let block = |offset: u64, hosts: &[&str]| ember_hadoop::BlockLocation {
            offset,
            length: 100,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        };
        let file = InputFile {
            path: "hdfs://nn/f".into(),
            len: 300,
            block_size: 100,
            blocks: vec![
                block(0, &["a", "b"]),
                block(100, &["b", "c"]),
                block(200, &["c"]),
            ],
        };
        assert_eq!(file.hosts_of(0, 100), ["a", "b"]);
        assert_eq!(file.hosts_of(50, 100), ["b", "a", "c"]);
        assert_eq!(file.hosts_of(120, 150), ["c", "b"]);
        let splits = compute_splits(&[file], 3, u64::MAX);
        assert_eq!(splits.len(), 3);
        assert_eq!(splits[2].hosts, ["c"]);
    }

    #[test]
    fn max_partition_bytes_cuts_splits_shorter_than_blocks() {
        let file = InputFile {
            path: "hdfs://nn/f".into(),
            len: 1000,
            block_size: 400,
            blocks: Vec::new(),
        };
        let lengths = |max: u64| -> Vec<u64> {
            compute_splits(std::slice::from_ref(&file), 1, max)
                .iter()
                .map(|s| s.length)
                .collect()
        };
        assert_eq!(lengths(u64::MAX), [400, 400, 200]);
        assert_eq!(lengths(250), [250, 250, 250, 250]);
        assert_eq!(lengths(1), vec![1; 1000]);
    }

    #[test]
    fn files_are_grouped_by_size() {
        let files = (0..10)
            .map(|i| local(std::path::Path::new(&format!("f{i}")), 10 * i))
            .collect();
        let groups = group_files(files, 3);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 10);
    }
}
