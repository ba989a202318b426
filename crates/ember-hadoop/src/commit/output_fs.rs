//! The few file-system operations the commit protocol is made of, on each kind of store.
//!
//! | operation | local disk | HDFS | S3 |
//! |---|---|---|---|
//! | move a directory | one `rename(2)`, atomic | one NameNode rename, atomic | copy and delete each object |
//! | move a file | `rename(2)`, atomic | NameNode rename, atomic | copy, then delete |
//! | delete a directory | `remove_dir_all` | each file, then the emptied directories | each object |

use super::file_output_committer::NameFn;
use crate::error::{Error, Result};
use crate::object_stores::{explain, ResolvedPath};
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::PathBuf;
use std::sync::Arc;

/// What kind of store an output lives in: what a rename costs there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `file://`: directories, atomic renames of files and directories.
    Local,
    /// `hdfs://`: as local, through the NameNode.
    Hdfs,
    /// `s3://`, `s3a://`: objects under key prefixes; no directories, no rename.
    Blob,
}

/// A store with the operations of the protocol, and the URL its messages name.
#[derive(Debug, Clone)]
pub(crate) struct OutputFs {
    store: Arc<dyn ObjectStore>,
    kind: Kind,
    /// Maps store paths to local paths, for the directory operations the store lacks.
    local: LocalFileSystem,
    /// The store's scheme and authority, such as `hdfs://nn:8020` or `s3a://bucket`.
    store_url: String,
}

impl OutputFs {
    /// The operations on the store of `output`.
    pub(crate) fn of(output: &ResolvedPath) -> Self {
        let kind = if output.url.starts_with("file:") {
            Kind::Local
        } else if output.url.starts_with("hdfs:") {
            Kind::Hdfs
        } else {
            Kind::Blob
        };
        let store_url = match output.url.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
            None => output.url.clone(),
        };
        OutputFs {
            store: output.store.clone(),
            kind,
            local: LocalFileSystem::new(),
            store_url,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL of `path` in this store, for messages and for writers that take URLs.
    pub(crate) fn url(&self, path: &ObjectPath) -> String {
        format!("{}/{path}", self.store_url)
    }

    /// The local file of `path` (local stores only).
    pub(crate) fn local_path(&self, path: &ObjectPath) -> Option<PathBuf> {
        match self.kind {
            Kind::Local => self.local.path_to_filesystem(path).ok(),
            Kind::Hdfs | Kind::Blob => None,
        }
    }

    fn store_error(&self, path: &ObjectPath, e: &object_store::Error) -> Error {
        Error::Output(explain(&self.url(path), e))
    }

    fn io_error(&self, path: &ObjectPath, what: &str, e: &std::io::Error) -> Error {
        Error::Output(format!("{}: cannot {what}: {e}", self.url(path)))
    }

    /// Every file under directory `dir`, at any depth, in name order; none if it is absent.
    ///
    /// # Errors
    /// The store cannot be listed.
    pub(crate) async fn files_under(&self, dir: &ObjectPath) -> Result<Vec<ObjectPath>> {
        if self.local_path(dir).is_some_and(|local| !local.is_dir()) {
            return Ok(Vec::new());
        }
        let listed: object_store::Result<Vec<_>> = self.store.list(Some(dir)).try_collect().await;
        let mut files: Vec<ObjectPath> = match listed {
            Ok(files) => files.into_iter().map(|m| m.location).collect(),
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(self.store_error(dir, &e)),
        };
        files.sort();
        Ok(files)
    }

    /// Whether `path` is a file, or a directory (on S3: a prefix with objects under it).
    ///
    /// # Errors
    /// The store cannot be asked.
    pub(crate) async fn exists(&self, path: &ObjectPath) -> Result<bool> {
        if let Some(local) = self.local_path(path) {
            return Ok(local.exists());
        }
        if self.store.head(path).await.is_ok() {
            return Ok(true);
        }
        match self.store.list_with_delimiter(Some(path)).await {
            Ok(listing) => Ok(!listing.objects.is_empty() || !listing.common_prefixes.is_empty()),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.store_error(path, &e)),
        }
    }

    /// Makes directory `dir` and its parents (local disk only: elsewhere writing a file makes
    /// its directories).
    ///
    /// # Errors
    /// The directory cannot be made.
    pub(crate) fn make_dir(&self, dir: &ObjectPath) -> Result<()> {
        match self.local_path(dir) {
            Some(local) => std::fs::create_dir_all(local)
                .map_err(|e| self.io_error(dir, "create the directory", &e)),
            None => Ok(()),
        }
    }

    /// Moves directory `from` to `to`, which must not exist; `to`'s parent is made.
    ///
    /// # Errors
    /// The store failed; on S3 part of the files may have moved.
    pub(crate) async fn move_dir(&self, from: &ObjectPath, to: &ObjectPath) -> Result<()> {
        match self.kind {
            Kind::Local => {
                let (Some(source), Some(target)) = (self.local_path(from), self.local_path(to))
                else {
                    return Err(Error::Output(format!("{}: not a local path", self.url(to))));
                };
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| self.io_error(to, "create the parent directory", &e))?;
                }
                std::fs::rename(&source, &target)
                    .map_err(|e| self.io_error(to, &format!("move {} here", self.url(from)), &e))
            }
            // The NameNode renames the directory itself (and makes `to`'s parent first).
            Kind::Hdfs => self
                .store
                .rename(from, to)
                .await
                .map_err(|e| self.store_error(to, &e)),
            Kind::Blob => self
                .merge(from, to, &|_, name| name.to_string())
                .await
                .map(|_| ()),
        }
    }

    /// Moves every file under `from` to the same place under `to`, its name (the last part of
    /// its path) as `name` maps it, replacing a file of that name; returns how many moved.
    ///
    /// # Errors
    /// The store failed; part of the files may have moved.
    pub(crate) async fn merge(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        name: &NameFn<'_>,
    ) -> Result<usize> {
        let files = self.files_under(from).await?;
        for file in &files {
            let target = relocate(file, from, to, name);
            // On S3 this is a copy and a delete (object_store's rename).
            self.store
                .rename(file, &target)
                .await
                .map_err(|e| self.store_error(&target, &e))?;
        }
        Ok(files.len())
    }

    /// Renames each of `files` (under `dir`) to the name `name` gives it, in place (local disk only, where it is a cheap `rename(2)`).
    ///
    /// # Errors
    /// A rename failed.
    pub(crate) fn rename_in_place(
        &self,
        dir: &ObjectPath,
        files: &[ObjectPath],
        name: &NameFn<'_>,
    ) -> Result<()> {
        for file in files {
            let target = relocate(file, dir, dir, name);
            if &target == file {
                continue;
            }
            let (Some(source), Some(renamed)) = (self.local_path(file), self.local_path(&target))
            else {
                continue;
            };
            std::fs::rename(source, renamed)
                .map_err(|e| self.io_error(&target, "rename a file to", &e))?;
        }
        Ok(())
    }

    /// Deletes `dir` and everything under it; nothing to do if it is absent.
    ///
    /// # Errors
    /// The store failed; part of the files may be gone.
    pub(crate) async fn delete_dir(&self, dir: &ObjectPath) -> Result<()> {
        if let Some(local) = self.local_path(dir) {
            return match std::fs::remove_dir_all(&local) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(self.io_error(dir, "delete the directory", &e))
                }
                _ => Ok(()),
            };
        }
        for file in self.files_under(dir).await? {
            match self.store.delete(&file).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.store_error(&file, &e)),
            }
        }
        if self.kind == Kind::Hdfs {
            self.delete_empty_dirs(dir).await;
        }
        Ok(())
    }

    /// Deletes the directory tree under `dir`, its files gone already: HDFS keeps empty
    /// directories, which a file listing does not show.
    async fn delete_empty_dirs(&self, dir: &ObjectPath) {
        let mut pending = vec![dir.clone()];
        let mut found = Vec::new();
        while let Some(next) = pending.pop() {
            if let Ok(listing) = self.store.list_with_delimiter(Some(&next)).await {
                pending.extend(listing.common_prefixes);
            }
            found.push(next);
        }
        // Children before their parents; a non-recursive delete refuses a directory with
        // anything in it, so nothing else can be lost.
        for empty in found.iter().rev() {
            let _ = self.store.delete(empty).await;
        }
    }

    /// Writes an empty file at `path`, replacing one there.
    ///
    /// # Errors
    /// The store failed.
    pub(crate) async fn put_empty(&self, path: &ObjectPath) -> Result<()> {
        self.store
            .put(path, Vec::<u8>::new().into())
            .await
            .map(|_| ())
            .map_err(|e| self.store_error(path, &e))
    }
}

/// `file`, a path under `from`, moved under `to` with its last part renamed by `name`.
fn relocate(
    file: &ObjectPath,
    from: &ObjectPath,
    to: &ObjectPath,
    name: &NameFn<'_>,
) -> ObjectPath {
    let mut relative: Vec<PathPart<'_>> = file.prefix_match(from).into_iter().flatten().collect();
    let last = relative.pop();
    let dir: Vec<&str> = relative.iter().map(PathPart::as_ref).collect();
    let dir = dir.join("/");
    let mut target = relative
        .into_iter()
        .fold(to.clone(), |path, part| path.join(part));
    if let Some(last) = last {
        let renamed = name(&dir, last.as_ref());
        target = if renamed == last.as_ref() {
            target.join(last)
        } else {
            target.join(renamed.as_str())
        };
    }
    target
}
