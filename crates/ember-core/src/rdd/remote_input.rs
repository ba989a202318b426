//! Input files on HDFS and S3: listing them, and reading them as byte streams, through the object
//! stores of `ember-hadoop`.
//!
//! Listing follows Hadoop's `FileInputFormat`: a file is itself; a directory is the files directly
//! in it, skipping names that start with `_` or `.`; a glob matches keys of its directory. A
//! [`RangeReader`] reads one object from an offset in large ranged requests, so the line reader
//! can treat it like a local file.

use super::text_file::InputFile;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::runtime;
use bytes::Bytes;
use ember_hadoop::object_stores::explain;
use ember_hadoop::ResolvedPath;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::io::Read;
use std::sync::Arc;

/// Bytes asked of the store at a time.
const RANGE_BYTES: u64 = 4 << 20;

/// The input files of one remote path, glob or directory.
///
/// # Errors
/// The store cannot be listed.
pub(crate) fn list_remote(env: &Env, url: &str) -> Result<Vec<InputFile>> {
    let block_size = env.block_size(url);
    let (base, pattern) = match url.find(['*', '?', '[']) {
        Some(at) => {
            let dir = url[..at].rfind('/').map_or(url, |slash| &url[..slash]);
            let pattern = glob::Pattern::new(url)
                .map_err(|e| Error::Input(format!("bad glob pattern {url}: {e}")))?;
            (dir.to_string(), Some(pattern))
        }
        None => (url.to_string(), None),
    };
    let resolved = env.resolve(&base)?;
    let file = |meta: &object_store::ObjectMeta| {
        let path = join_url(&resolved, &meta.location);
        let blocks = hdfs_blocks(env, &path, meta.size);
        InputFile {
            block_size: blocks.first().map_or(block_size, |b| b.length.max(1)),
            path,
            len: meta.size,
            blocks,
        }
    };
    let store = resolved.store.clone();
    let location = resolved.path.clone();
    if pattern.is_none() {
        if let Ok(meta) = runtime().block_on(store.head(&location)) {
            return Ok(vec![file(&meta)]);
        }
    }
    let listing = runtime()
        .block_on(store.list_with_delimiter(Some(&location)))
        .map_err(|e| Error::Input(format!("cannot list {}", explain(&base, &e))))?;
    let mut files: Vec<InputFile> = listing
        .objects
        .iter()
        .filter(|meta| !super::file_status::is_hidden(meta.location.filename().unwrap_or("")))
        .map(file)
        .filter(|f| pattern.as_ref().is_none_or(|p| p.matches(&f.path)))
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The blocks of an HDFS file, for splits to prefer the hosts holding them. Locations are a
/// hint: when the NameNode will not tell, the file is read without them (and a warning says so).
fn hdfs_blocks(env: &Env, url: &str, len: u64) -> Vec<ember_hadoop::BlockLocation> {
    let Some(rest) = url.strip_prefix("hdfs://") else {
        return Vec::new();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let asked = ember_hadoop::block_locations(&env.hadoop, authority, path, len);
    match runtime().block_on(asked) {
        Ok(blocks) => blocks,
        Err(e) => {
            tracing::warn!("{e}; its splits get no preferred locations");
            Vec::new()
        }
    }
}

/// The full URL of `location` in the store of `resolved`.
pub(crate) fn join_url(resolved: &ResolvedPath, location: &ObjectPath) -> String {
    let root = resolved
        .url
        .split_once("://")
        .map(|(scheme, rest)| {
            let authority = rest.split('/').next().unwrap_or("");
            format!("{scheme}://{authority}")
        })
        .unwrap_or_default();
    format!("{root}/{location}")
}

/// One object read from an offset, as `Read`, in ranged requests of a few MiB.
pub(crate) struct RangeReader {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    url: String,
    position: u64,
    len: u64,
    chunk: Bytes,
    /// Bytes asked of the store at a time.
    range_bytes: u64,
}

impl RangeReader {
    /// `url` from byte `start`.
    ///
    /// # Errors
    /// The store cannot be reached or the object does not exist.
    pub(crate) fn open(env: &Env, url: &str, start: u64) -> Result<Self> {
        let resolved = env.resolve(url)?;
        let meta = runtime()
            .block_on(resolved.store.head(&resolved.path))
            .map_err(|e| Error::Input(format!("cannot read {}", explain(url, &e))))?;
        Ok(RangeReader {
            store: resolved.store,
            path: resolved.path,
            url: url.to_string(),
            position: start,
            len: meta.size,
            chunk: Bytes::new(),
            range_bytes: RANGE_BYTES,
        })
    }

    /// Asks the store for `bytes` at a time: for a reader that wants only the head of an
    /// object (a sequence file's header), not the first few MiB.
    pub(crate) fn with_range_bytes(mut self, bytes: u64) -> Self {
        self.range_bytes = bytes.max(1);
        self
    }
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.chunk.is_empty() {
            if self.position >= self.len {
                return Ok(0);
            }
            let end = (self.position + self.range_bytes).min(self.len);
            let range = self.position..end;
            self.chunk = runtime()
                .block_on(self.store.get_range(&self.path, range))
                .map_err(|e| std::io::Error::other(explain(&self.url, &e)))?;
            self.position = end;
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Keeps the stores of one process, one per scheme and authority.
#[derive(Default)]
pub(crate) struct StoreCache(
    parking_lot::Mutex<std::collections::HashMap<String, Arc<dyn ObjectStore>>>,
);

impl std::fmt::Debug for StoreCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCache").finish_non_exhaustive()
    }
}

impl StoreCache {
    /// `url` resolved, reusing the store of an earlier URL with the same scheme and authority.
    pub(crate) fn resolve(
        &self,
        url: &str,
        conf: &ember_hadoop::HadoopConf,
    ) -> Result<ResolvedPath> {
        let location = ember_hadoop::object_stores::locate(url, conf)?;
        let cached = self.0.lock().get(&location.store_url).cloned();
        let store = match cached {
            Some(store) => store,
            None => {
                let store = ember_hadoop::object_stores::store_for(&location.store_url, conf)?;
                self.0
                    .lock()
                    .insert(location.store_url.clone(), store.clone());
                store
            }
        };
        Ok(ResolvedPath {
            store,
            path: location.path,
            url: location.url,
        })
    }
}
