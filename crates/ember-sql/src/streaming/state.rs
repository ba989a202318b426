//! The state of a streaming aggregation (Spark's HDFS-backed state store): each group's
//! partial aggregates, kept in memory by the query and versioned in its checkpoint, a version
//! per batch, so that a restarted query goes on from the state its last committed batch left.
//!
//! On disk, under `<checkpoint>/state/<operator>/<partition>/`, a group's rows go to one of
//! `ember.sql.streaming.stateStore.partitions` directories by a hash of its key; each version
//! writes `<version>.delta` (the groups it changed or removed) in the directories it touched,
//! and every `ember.sql.streaming.stateStore.minDeltasForSnapshot` versions a
//! `<version>.snapshot` of every group. Loading version `v` reads each directory's newest
//! snapshot at or before `v` and the deltas after it up to `v`: files of versions after `v`,
//! left by a run that failed before it committed, are ignored and later overwritten. Files
//! older than the snapshot that the last `ember.sql.streaming.minBatchesToRetain` versions
//! need are deleted. The files are Arrow IPC: the key and value columns, and `__removed`.

use crate::error::{Error, Result};
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, RecordBatch,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use ember_core::Context;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::sync::Arc;

/// The column that marks a removed group in a delta file.
const REMOVED: &str = "__removed";

/// Where, how many partitions, and how often to snapshot.
#[derive(Debug, Clone)]
pub(crate) struct StoreLayout {
    /// `<checkpoint>/state/<operator>`.
    pub(crate) dir: String,
    pub(crate) partitions: usize,
    pub(crate) snapshot_every: i64,
    pub(crate) retain: i64,
}

/// The groups of one stateful operator: key columns, then value columns.
pub(crate) struct StateStore {
    ctx: Context,
    layout: StoreLayout,
    schema: SchemaRef,
    keys: usize,
    key_rows: RowConverter,
    value_rows: RowConverter,
    rows: HashMap<OwnedRow, OwnedRow>,
    /// What this version changed: a key's new value, or `None` where it was removed.
    changes: HashMap<OwnedRow, Option<OwnedRow>>,
    bytes: usize,
}

fn converter(fields: &[Arc<Field>]) -> Result<RowConverter> {
    let sorts = fields
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    Ok(RowConverter::new(sorts)?)
}

/// The partition directory a key's rows are written to.
fn partition_of(key: &OwnedRow, partitions: usize) -> usize {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(key.as_ref());
    (hasher.finish() % partitions as u64) as usize
}

/// A file's version and whether it is a snapshot, from its name.
fn version_of(name: &str) -> Option<(i64, bool)> {
    let (version, kind) = name.split_once('.')?;
    let snapshot = match kind {
        "snapshot" => true,
        "delta" => false,
        _ => return None,
    };
    Some((version.parse().ok()?, snapshot))
}

impl StateStore {
    /// The state as version `version` left it (version 0: empty), for rows of `schema` whose
    /// first `keys` columns are the group's key.
    ///
    /// # Errors
    /// A state file cannot be read, or holds other columns than `schema`.
    pub(crate) fn load(
        ctx: &Context,
        layout: StoreLayout,
        schema: SchemaRef,
        keys: usize,
        version: i64,
    ) -> Result<StateStore> {
        let fields = schema.fields();
        let mut store = StateStore {
            ctx: ctx.clone(),
            key_rows: converter(&fields[..keys])?,
            value_rows: converter(&fields[keys..])?,
            layout,
            schema,
            keys,
            rows: HashMap::new(),
            changes: HashMap::new(),
            bytes: 0,
        };
        for partition in 0..store.layout.partitions {
            for file in store.files_to_load(partition, version)? {
                store.apply_file(&file)?;
            }
        }
        store.changes.clear();
        Ok(store)
    }

    fn partition_dir(&self, partition: usize) -> String {
        format!("{}/{partition}", self.layout.dir)
    }

    /// The files of `partition`'s versions up to `version`, by version: `(version, snapshot,
    /// path)`.
    fn files(&self, partition: usize) -> Result<Vec<(i64, bool, String)>> {
        let dir = self.partition_dir(partition);
        let listed = match self.ctx.list_status(&dir) {
            Ok(files) => files,
            // A partition no version has written yet.
            Err(_) => return Ok(Vec::new()),
        };
        let mut files: Vec<(i64, bool, String)> = listed
            .into_iter()
            .filter_map(|f| {
                let name = f.path.rsplit('/').next()?.to_string();
                version_of(&name).map(|(v, snapshot)| (v, snapshot, f.path))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    fn files_to_load(&self, partition: usize, version: i64) -> Result<Vec<String>> {
        let files: Vec<_> = self
            .files(partition)?
            .into_iter()
            .filter(|(v, _, _)| *v <= version)
            .collect();
        let base = files
            .iter()
            .rposition(|(_, snapshot, _)| *snapshot)
            .unwrap_or(0);
        Ok(files
            .into_iter()
            .skip(base)
            .map(|(_, _, path)| path)
            .collect())
    }

    fn apply_file(&mut self, path: &str) -> Result<()> {
        let bytes = self.ctx.env().read_file(path)?;
        let reader = FileReader::try_new(std::io::Cursor::new(bytes), None)?;
        for batch in reader {
            let batch = batch?;
            let width = self.schema.fields().len();
            if batch.num_columns() != width + 1 {
                return Err(Error::Input(format!(
                    "state file {path} has {} columns where this query keeps {width}: the \
                     query's aggregation changed since the checkpoint was written; start it \
                     with a new checkpointLocation",
                    batch.num_columns().saturating_sub(1)
                )));
            }
            let removed = batch.column(width).as_boolean().clone();
            let columns = batch.columns();
            let keys = self.key_rows.convert_columns(&columns[..self.keys])?;
            let values = self
                .value_rows
                .convert_columns(&columns[self.keys..width])?;
            for i in 0..batch.num_rows() {
                if removed.value(i) {
                    self.remove_key(keys.row(i).owned());
                } else {
                    self.insert(keys.row(i).owned(), values.row(i).owned());
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, key: OwnedRow, value: OwnedRow) {
        self.bytes += key.as_ref().len() + value.as_ref().len();
        if let Some(old) = self.rows.insert(key.clone(), value.clone()) {
            self.bytes -= key.as_ref().len() + old.as_ref().len();
        }
        self.changes.insert(key, Some(value));
    }

    fn remove_key(&mut self, key: OwnedRow) {
        if let Some(old) = self.rows.remove(&key) {
            self.bytes -= key.as_ref().len() + old.as_ref().len();
        }
        self.changes.insert(key, None);
    }

    /// The stored rows of those keys of `batch` (whose first columns are keys) that the store
    /// holds, each once.
    ///
    /// # Errors
    /// The key columns do not match the store's.
    pub(crate) fn get(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let keys = self
            .key_rows
            .convert_columns(&batch.columns()[..self.keys])?;
        // A key may come more than once (from several partitions of the batch); its state
        // must be merged once.
        let mut seen = std::collections::HashSet::new();
        let found: Vec<(&OwnedRow, &OwnedRow)> = keys
            .iter()
            .filter_map(|k| self.rows.get_key_value(&k.owned()))
            .filter(|(k, _)| seen.insert(*k))
            .collect();
        self.to_batch(found.into_iter())
    }

    /// For each row of `keys` (the key columns), whether the store lacks its key and no
    /// earlier row of `keys` has it.
    ///
    /// # Errors
    /// The columns do not match the store's keys.
    pub(crate) fn unseen(&self, keys: &[ArrayRef]) -> Result<Vec<bool>> {
        let rows = self.key_rows.convert_columns(keys)?;
        let mut first = std::collections::HashSet::new();
        Ok(rows
            .iter()
            .map(|k| !self.rows.contains_key(&k.owned()) && first.insert(k))
            .collect())
    }

    /// Sets the rows of `batch` (key columns, then value columns), replacing the groups'
    /// values.
    ///
    /// # Errors
    /// The columns do not match the store's.
    pub(crate) fn put(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns = batch.columns();
        let keys = self.key_rows.convert_columns(&columns[..self.keys])?;
        let values = self.value_rows.convert_columns(&columns[self.keys..])?;
        for i in 0..batch.num_rows() {
            self.insert(keys.row(i).owned(), values.row(i).owned());
        }
        Ok(())
    }

    /// Removes and returns the rows for which `evict` holds.
    ///
    /// # Errors
    /// `evict` fails.
    pub(crate) fn remove_where(
        &mut self,
        evict: impl Fn(&RecordBatch) -> Result<BooleanArray>,
    ) -> Result<RecordBatch> {
        let all = self.all()?;
        let chosen = evict(&all)?;
        let removed = filter_record_batch(&all, &chosen)?;
        let keys = self
            .key_rows
            .convert_columns(&removed.columns()[..self.keys])?;
        for key in keys.iter() {
            self.remove_key(key.owned());
        }
        Ok(removed)
    }

    /// Every row the store holds.
    ///
    /// # Errors
    /// The rows cannot be decoded (never for rows the store encoded).
    pub(crate) fn all(&self) -> Result<RecordBatch> {
        self.to_batch(self.rows.iter())
    }

    fn to_batch<'a>(
        &self,
        rows: impl Iterator<Item = (&'a OwnedRow, &'a OwnedRow)>,
    ) -> Result<RecordBatch> {
        let (keys, values): (Vec<_>, Vec<_>) = rows.map(|(k, v)| (k.row(), v.row())).unzip();
        let mut columns = self.key_rows.convert_rows(keys)?;
        columns.extend(self.value_rows.convert_rows(values)?);
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// How many groups it holds.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// About how many bytes its rows take.
    pub(crate) fn memory_used(&self) -> usize {
        self.bytes
    }

    /// How many groups this version set and removed.
    pub(crate) fn changed(&self) -> (usize, usize) {
        let removed = self.changes.values().filter(|v| v.is_none()).count();
        (self.changes.len() - removed, removed)
    }

    /// Writes version `version`: a delta per partition it changed, or a snapshot of every
    /// partition when one is due; then deletes files no longer needed.
    ///
    /// # Errors
    /// A file cannot be written: the version is not committed, and the batch is redone.
    pub(crate) fn commit(&mut self, version: i64) -> Result<()> {
        let snapshot = version % self.layout.snapshot_every == 0;
        let mut by_partition: BTreeMap<usize, Vec<(OwnedRow, Option<OwnedRow>)>> = BTreeMap::new();
        if snapshot {
            for partition in 0..self.layout.partitions {
                by_partition.insert(partition, Vec::new());
            }
            for (k, v) in &self.rows {
                let p = partition_of(k, self.layout.partitions);
                by_partition
                    .entry(p)
                    .or_default()
                    .push((k.clone(), Some(v.clone())));
            }
        } else {
            for (k, v) in self.changes.drain() {
                let p = partition_of(&k, self.layout.partitions);
                by_partition.entry(p).or_default().push((k, v));
            }
        }
        let kind = if snapshot { "snapshot" } else { "delta" };
        for (partition, rows) in by_partition {
            let bytes = self.encode(&rows)?;
            let path = format!("{}/{version}.{kind}", self.partition_dir(partition));
            self.ctx.env().write_file(&path, &bytes)?;
        }
        self.changes.clear();
        self.clean_up(version);
        Ok(())
    }

    /// An IPC file of `rows`: the columns, made nullable, and `__removed`.
    fn encode(&self, rows: &[(OwnedRow, Option<OwnedRow>)]) -> Result<Vec<u8>> {
        let mut fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(REMOVED, DataType::Boolean, false));
        let file_schema = Arc::new(Schema::new(fields));
        let kept: Vec<(&OwnedRow, &OwnedRow)> = rows
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        let removed: Vec<&OwnedRow> = rows
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        let mut columns = self.key_rows.convert_rows(
            kept.iter()
                .map(|(k, _)| k.row())
                .chain(removed.iter().map(|k| k.row())),
        )?;
        let values = self
            .value_rows
            .convert_rows(kept.iter().map(|(_, v)| v.row()))?;
        for value in values {
            let nulls = new_null_array(value.data_type(), removed.len());
            columns.push(datafusion::arrow::compute::concat(&[&value, &nulls])?);
        }
        let flags: BooleanArray = (0..kept.len() + removed.len())
            .map(|i| Some(i >= kept.len()))
            .collect();
        columns.push(Arc::new(flags) as ArrayRef);
        let batch = RecordBatch::try_new(file_schema.clone(), columns)?;
        let mut bytes = Vec::new();
        let mut writer = FileWriter::try_new(&mut bytes, &file_schema)?;
        writer.write(&batch)?;
        writer.finish()?;
        drop(writer);
        Ok(bytes)
    }

    /// Deletes each partition's files older than the newest snapshot that loading any of the
    /// last `retain` versions starts from.
    fn clean_up(&self, version: i64) {
        let oldest_needed = version - self.layout.retain;
        for partition in 0..self.layout.partitions {
            let Ok(files) = self.files(partition) else {
                continue;
            };
            let Some(base) = files
                .iter()
                .filter(|(v, snapshot, _)| *snapshot && *v <= oldest_needed)
                .map(|(v, _, _)| *v)
                .max()
            else {
                continue;
            };
            for (_, _, path) in files.iter().filter(|(v, _, _)| *v < base) {
                if let Err(e) = self.ctx.env().delete_file(path) {
                    tracing::warn!("cannot delete old state file {path}: {e}");
                }
            }
        }
    }
}

/// Whether each row's key column `key` is an event time at or before `watermark_ms`.
///
/// # Errors
/// The column is not a timestamp or a window.
pub(crate) fn at_or_before(
    batch: &RecordBatch,
    key: usize,
    watermark_ms: i64,
) -> Result<BooleanArray> {
    let times = super::window::event_millis(batch.column(key))?;
    Ok(times
        .iter()
        .map(|t| Some(t.is_some_and(|t| t <= watermark_ms)))
        .collect())
}
