//! Listing a directory with modification times (Hadoop's `FileSystem.listStatus`), for readers
//! that pick files by age: a file stream takes each new file of its directory once. And small
//! files written, read and deleted whole, on any file system ember reads: a streaming
//! application's metadata checkpoints.

use super::remote_input::join_url;
use crate::context::Context;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::runtime;
use ember_hadoop::object_stores::explain;
use object_store::ObjectStoreExt;
use std::time::UNIX_EPOCH;

/// A file of a directory: where it is, how long, and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// Its path as `text_file` takes it: a local path, or a full `hdfs://`, `s3a://` URL.
    pub path: String,
    /// Its length in bytes.
    pub len: u64,
    /// When it was last written, in milliseconds since the epoch.
    pub modification_time: i64,
}

/// Whether a file's name hides it from readers, as Hadoop's input formats hide `_SUCCESS` and
/// `.crc` files.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

/// Whether a listing leaves the file out: hidden, or the `NAME._COPYING_` file `hdfs dfs -put`
/// writes before renaming it.
fn is_unlisted(name: &str) -> bool {
    is_hidden(name) || name.ends_with("._COPYING_")
}

impl Context {
    /// The visible files directly in `dir` (local, `hdfs://`, `s3a://` or a path on
    /// `fs.defaultFS`), sorted by path; subdirectories and hidden files (names starting with
    /// `_` or `.`, or ending with `._COPYING_`) are left out.
    ///
    /// # Errors
    /// The directory does not exist or cannot be listed.
    pub fn list_status(&self, dir: &str) -> Result<Vec<FileStatus>> {
        let env = self.env();
        let url = ember_hadoop::object_stores::qualify(dir, &env.hadoop)?;
        let mut files = match url.strip_prefix("file://") {
            Some(local) => list_local(local, dir)?,
            None => {
                let resolved = env.resolve(&url)?;
                let listing = runtime()
                    .block_on(resolved.store.list_with_delimiter(Some(&resolved.path)))
                    .map_err(|e| Error::Input(format!("cannot list {}", explain(dir, &e))))?;
                listing
                    .objects
                    .iter()
                    .filter(|meta| !is_unlisted(meta.location.filename().unwrap_or("")))
                    .map(|meta| FileStatus {
                        path: join_url(&resolved, &meta.location),
                        len: meta.size,
                        modification_time: meta.last_modified.timestamp_millis(),
                    })
                    .collect()
            }
        };
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

impl Env {
    /// Writes `bytes` as the file `url` (local, `hdfs://`, `s3a://` or a path on
    /// `fs.defaultFS`), replacing it; readers see the old file or the whole new one, never a
    /// part (a local file is written aside and renamed, an object appears when its upload
    /// completes). Executors write with it too: a receiver's write-ahead log.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_file(&self, url: &str, bytes: &[u8]) -> Result<()> {
        let qualified = ember_hadoop::object_stores::qualify(url, &self.hadoop)?;
        match qualified.strip_prefix("file://") {
            Some(local) => {
                let path = std::path::Path::new(local);
                let dir = path.parent().unwrap_or(std::path::Path::new("."));
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                let mut temp =
                    tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
                std::io::Write::write_all(&mut temp, bytes)
                    .map_err(|e| Error::io(temp.path(), e))?;
                temp.persist(path).map_err(|e| Error::io(path, e.error))?;
                Ok(())
            }
            None => {
                let resolved = self.resolve(&qualified)?;
                super::upload::upload(&*resolved.store, &resolved.path, url, |out| {
                    out.write_all(bytes)
                })
            }
        }
    }

    /// The bytes of the file `url`.
    ///
    /// # Errors
    /// The file does not exist or cannot be read.
    pub fn read_file(&self, url: &str) -> Result<Vec<u8>> {
        let qualified = ember_hadoop::object_stores::qualify(url, &self.hadoop)?;
        match qualified.strip_prefix("file://") {
            Some(local) => std::fs::read(local).map_err(|e| Error::io(local, e)),
            None => {
                let resolved = self.resolve(&qualified)?;
                let fail = |e: object_store::Error| Error::Input(explain(url, &e));
                let got = runtime()
                    .block_on(resolved.store.get(&resolved.path))
                    .map_err(fail)?;
                let bytes = runtime().block_on(got.bytes()).map_err(fail)?;
                Ok(bytes.to_vec())
            }
        }
    }

    /// Deletes the directory `url` and everything under it (Hadoop's
    /// `FileSystem.delete(path, true)`, the commit protocol's own delete); a directory that
    /// is not there is as good as deleted.
    ///
    /// # Errors
    /// The store failed; part of the directory may be gone.
    pub fn delete_dir(&self, url: &str) -> Result<()> {
        let qualified = ember_hadoop::object_stores::qualify(url, &self.hadoop)?;
        let resolved = self.resolve(&qualified)?;
        Ok(runtime().block_on(ember_hadoop::commit::delete_path(&resolved))?)
    }

    /// Deletes the file `url`; a file that is not there is as good as deleted.
    ///
    /// # Errors
    /// The file exists but cannot be deleted.
    pub fn delete_file(&self, url: &str) -> Result<()> {
        let qualified = ember_hadoop::object_stores::qualify(url, &self.hadoop)?;
        match qualified.strip_prefix("file://") {
            Some(local) => match std::fs::remove_file(local) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(local, e)),
                _ => Ok(()),
            },
            None => {
                let resolved = self.resolve(&qualified)?;
                match runtime().block_on(resolved.store.delete(&resolved.path)) {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(Error::Input(explain(url, &e))),
                }
            }
        }
    }
}

fn list_local(path: &str, raw: &str) -> Result<Vec<FileStatus>> {
    let entries = std::fs::read_dir(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::Input(format!("directory does not exist: {raw}; create it first"))
        }
        _ => Error::io(path, e),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        if is_unlisted(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let meta = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        files.push(FileStatus {
            path: entry.path().to_string_lossy().into_owned(),
            len: meta.len(),
            modification_time: modified,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_skips_hidden_files_and_directories_and_gives_times() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.txt",
            "a.txt",
            "_SUCCESS",
            ".a.txt.crc",
            "c.txt._COPYING_",
        ] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let when = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_000);
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join("a.txt"))
            .unwrap();
        file.set_modified(when).unwrap();
        let ctx = Context::with_master("local[1]").unwrap();
        let files = ctx.list_status(dir.path().to_str().unwrap()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
        assert_eq!(files[0].modification_time, 1_700_000_000_000);
        assert_eq!(files[0].len, 2);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let ctx = Context::with_master("local[1]").unwrap();
        let err = ctx.list_status("/no/such/dir").unwrap_err().to_string();
        assert!(
            err.contains("directory does not exist: /no/such/dir"),
            "{err}"
        );
    }
}
