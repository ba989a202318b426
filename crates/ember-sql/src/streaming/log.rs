//! The logs a streaming query keeps in its checkpoint directory, as Spark's
//! `HDFSMetadataLog`: one small file per batch id (`offsets/7`, `commits/7`,
//! `_spark_metadata/7`), a version line (`v1`) and then one JSON value per line. A file is
//! written whole or not at all ([`Env::write_file`]), so a reader sees a batch's entry complete
//! or not at all, and an entry once written is never rewritten: a query that redoes a batch
//! after a crash finds what it decided the first time.

use crate::error::{Error, Result};
use ember_core::{Context, Env};
use std::sync::Arc;

/// The version line of every log file ember writes, Spark's for the same logs.
const VERSION: &str = "v1";

/// One log: a directory of files named by batch id.
#[derive(Clone)]
pub(crate) struct MetadataLog {
    ctx: Context,
    dir: String,
}

impl MetadataLog {
    /// The log in directory `dir` (created if it is local and missing: a listing of a
    /// directory that does not exist would fail).
    ///
    /// # Errors
    /// `dir` cannot be qualified or created.
    pub(crate) fn new(ctx: &Context, dir: &str) -> Result<Self> {
        let dir = dir.trim_end_matches('/').to_string();
        let qualified = ember_hadoop::object_stores::qualify(&dir, &ctx.env().hadoop)?;
        if let Some(local) = qualified.strip_prefix("file://") {
            std::fs::create_dir_all(local).map_err(|e| {
                Error::Input(format!(
                    "cannot create the streaming log directory {local}: {e}"
                ))
            })?;
        }
        Ok(MetadataLog {
            ctx: ctx.clone(),
            dir: qualified,
        })
    }

    fn env(&self) -> &Arc<Env> {
        self.ctx.env()
    }

    /// The file of `name` in the log.
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    /// The log's directory, qualified.
    pub(crate) fn dir(&self) -> &str {
        &self.dir
    }

    /// Writes the entry of `batch`: `lines` after the version line.
    ///
    /// # Errors
    /// The file cannot be written.
    pub(crate) fn add(&self, batch: i64, lines: &[String]) -> Result<()> {
        self.add_named(&batch.to_string(), lines)
    }

    /// Writes the entry in file `name`.
    pub(crate) fn add_named(&self, name: &str, lines: &[String]) -> Result<()> {
        let mut text = String::from(VERSION);
        for line in lines {
            text.push('\n');
            text.push_str(line);
        }
        Ok(self.env().write_file(&self.path(name), text.as_bytes())?)
    }

    /// The lines of the entry of `batch`, if there is one.
    ///
    /// # Errors
    /// The entry exists but cannot be read, or was written by a newer version.
    pub(crate) fn get(&self, batch: i64) -> Result<Option<Vec<String>>> {
        self.get_named(&batch.to_string())
    }

    /// The lines of the entry in file `name`, if there is one.
    pub(crate) fn get_named(&self, name: &str) -> Result<Option<Vec<String>>> {
        if !self.names()?.iter().any(|n| n == name) {
            return Ok(None);
        }
        let path = self.path(name);
        let bytes = self.env().read_file(&path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Input(format!("{path} is not a streaming log file (not text)")))?;
        let mut lines = text.lines();
        match lines.next() {
            Some(VERSION) => Ok(Some(lines.map(str::to_string).collect())),
            other => Err(Error::Input(format!(
                "{path} starts with {:?}, not {VERSION:?}: it was written by another version; \
                 start the query with a new checkpointLocation",
                other.unwrap_or("")
            ))),
        }
    }

    /// The names of the log's files.
    fn names(&self) -> Result<Vec<String>> {
        let files = self.ctx.list_status(&self.dir).or_else(|e| {
            // An object store has no directories: an empty log lists nothing, or fails where
            // a local directory would have been created.
            if self.dir.starts_with("file://") {
                Err(e)
            } else {
                Ok(Vec::new())
            }
        })?;
        Ok(files
            .iter()
            .filter_map(|f| f.path.rsplit('/').next().map(str::to_string))
            .collect())
    }

    /// The batch ids with an entry, in order (files named `N`, or `N.<suffix>` such as the
    /// file sink's `9.compact`).
    ///
    /// # Errors
    /// The directory cannot be listed.
    pub(crate) fn batch_ids(&self) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> = self
            .names()?
            .iter()
            .filter_map(|n| n.split('.').next().and_then(|id| id.parse().ok()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The newest batch id with an entry.
    ///
    /// # Errors
    /// The directory cannot be listed.
    pub(crate) fn latest_id(&self) -> Result<Option<i64>> {
        Ok(self.batch_ids()?.last().copied())
    }

    /// The newest entry and its batch id.
    ///
    /// # Errors
    /// The directory cannot be listed or the entry read.
    pub(crate) fn latest(&self) -> Result<Option<(i64, Vec<String>)>> {
        match self.latest_id()? {
            Some(id) => Ok(self.get(id)?.map(|lines| (id, lines))),
            None => Ok(None),
        }
    }

    /// Deletes the entries of batches before `batch`, which no restart needs.
    pub(crate) fn purge_before(&self, batch: i64) {
        let Ok(names) = self.names() else { return };
        for name in names {
            let id = name.split('.').next().and_then(|id| id.parse::<i64>().ok());
            if id.is_some_and(|id| id < batch) {
                if let Err(e) = self.env().delete_file(&self.path(&name)) {
                    tracing::warn!("cannot delete old streaming log entry {name}: {e}");
                }
            }
        }
    }
}
