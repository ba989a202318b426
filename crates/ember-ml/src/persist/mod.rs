//! Saving and loading stages in Spark ML's directory format (Spark's `MLWriter`, `MLReader`,
//! `DefaultParamsWriter` and `DefaultParamsReader`), on local, HDFS and S3 paths, so that a
//! model trained by ember loads in Apache Spark and one trained by Spark loads in ember.
//!
//! A saved stage is a directory:
//!
//! ```text
//! <path>/metadata/part-00000    one line of JSON: class, timestamp, sparkVersion, uid,
//!                               paramMap, defaultParamMap (and extras, such as ALS's rank)
//! <path>/metadata/_SUCCESS
//! <path>/data/part-00000-<uuid>-c000.snappy.parquet
//!                               the model's numbers, when it has any
//! <path>/data/_SUCCESS
//! ```
//!
//! Spark reads the metadata as text whatever its file is called, and the data as Parquet
//! through the Spark schema in each file's footer (see [`parquet`]): that schema is what
//! turns the struct columns back into vectors and matrices. Readers take any number of part
//! files, as Spark 4 may write several.
//!
//! Rules from Spark's reader that the writer keeps: the metadata is one line; every double
//! param is a JSON double; only params the Spark class has are written; `defaultParamMap` is
//! always there (Spark's reader requires it of files from Spark 2.4 on).

pub mod parquet;

use crate::param::Params;
use crate::{Error, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::Context;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The Spark release whose format ember writes, given as `sparkVersion`: readers choose the
/// layout of a model's data by it.
pub const SPARK_VERSION: &str = "4.0.0";

/// [`SPARK_VERSION`] as (major, minor).
pub(crate) fn format_version() -> (u32, u32) {
    version_of(SPARK_VERSION)
}

/// A saved stage's metadata (Spark's `DefaultParamsReader.Metadata`).
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The Spark class, such as `org.apache.spark.ml.classification.LogisticRegressionModel`.
    pub class: String,
    /// When it was saved, in milliseconds since the epoch.
    pub timestamp: i64,
    /// The Spark release whose format the files are in.
    pub spark_version: String,
    /// The stage's uid.
    pub uid: String,
    /// The params set (`paramMap`).
    pub param_map: Map<String, Value>,
    /// The params' defaults (`defaultParamMap`).
    pub default_param_map: Map<String, Value>,
    /// The whole JSON object, for keys a class adds (ALS's `rank`).
    pub json: Map<String, Value>,
}

impl Metadata {
    /// The metadata of a stage of Spark class `class` with `params`, saved now.
    pub fn of(class: &str, params: &Params) -> Metadata {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Metadata {
            class: class.to_string(),
            timestamp,
            spark_version: SPARK_VERSION.to_string(),
            uid: params.uid().to_string(),
            param_map: params.set_json(),
            default_param_map: params.defaults_json(),
            json: Map::new(),
        }
    }

    /// This metadata with `key` set at the top level (Spark's `extraMetadata`).
    pub fn with_extra(mut self, key: &str, value: Value) -> Metadata {
        self.json.insert(key.to_string(), value);
        self
    }

    /// One line of JSON, keys in Spark's order.
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "{{\"class\":{},\"timestamp\":{},\"sparkVersion\":{},\"uid\":{},\"paramMap\":{},\
             \"defaultParamMap\":{}",
            Value::from(self.class.as_str()),
            self.timestamp,
            Value::from(self.spark_version.as_str()),
            Value::from(self.uid.as_str()),
            Value::Object(self.param_map.clone()),
            Value::Object(self.default_param_map.clone()),
        );
        for (key, value) in &self.json {
            if !STANDARD_KEYS.contains(&key.as_str()) {
                line.push_str(&format!(",{}:{value}", Value::from(key.as_str())));
            }
        }
        line.push('}');
        line
    }

    /// The metadata in `text` (the first line of a metadata file of `path`), which must be of
    /// Spark class `class`.
    ///
    /// # Errors
    /// Not JSON, a required key missing, or another class: a model of one algorithm loaded
    /// as another.
    pub fn parse(text: &str, path: &str, class: &str) -> Result<Metadata> {
        let bad = |problem: &str| {
            Error::Input(format!(
                "{path} does not hold a saved Spark ML stage: {problem}"
            ))
        };
        let line = text.lines().next().unwrap_or("");
        let json: Map<String, Value> = serde_json::from_str(line)
            .map_err(|e| bad(&format!("its metadata is not JSON ({e})")))?;
        let string = |key: &str| {
            json.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("its metadata has no {key}")))
        };
        let found = string("class")?;
        if found != class {
            return Err(Error::Input(format!(
                "{path} holds a {found}, not a {class}: load it with the reader of its own class"
            )));
        }
        let map = |key: &str| json.get(key).and_then(Value::as_object).cloned();
        let spark_version = string("sparkVersion")?;
        let default_param_map = match map("defaultParamMap") {
            Some(defaults) => defaults,
            // Files from before Spark 2.4 keep no defaults: the class's own apply.
            None if version_of(&spark_version) < (2, 4) => Map::new(),
            None => return Err(bad("its metadata has no defaultParamMap")),
        };
        Ok(Metadata {
            class: found,
            timestamp: json.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
            spark_version,
            uid: string("uid")?,
            param_map: map("paramMap").ok_or_else(|| bad("its metadata has no paramMap"))?,
            default_param_map,
            json,
        })
    }

    /// `sparkVersion` as (major, minor).
    pub fn version(&self) -> (u32, u32) {
        version_of(&self.spark_version)
    }

    /// The params of the saved stage: `params`, with the saved uid and values.
    ///
    /// # Errors
    /// A saved param the stage does not have, or a value of the wrong kind.
    pub fn params(&self, params: Params) -> Result<Params> {
        let mut params = params.renamed(self.uid.clone());
        params.load_json(&self.param_map, &self.default_param_map)?;
        Ok(params)
    }
}

const STANDARD_KEYS: [&str; 6] = [
    "class",
    "timestamp",
    "sparkVersion",
    "uid",
    "paramMap",
    "defaultParamMap",
];

fn version_of(version: &str) -> (u32, u32) {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

/// A stage that can be saved (Spark's `MLWritable`).
pub trait MlWritable {
    /// Writes the stage into the empty directory `dir`.
    ///
    /// # Errors
    /// A file cannot be written.
    fn save_to(&self, dir: &SaveDir) -> Result<()>;

    /// A writer of this stage (Spark's `write`): `stage.write().overwrite().save(&ctx, path)`.
    fn write(&self) -> MlWriter<'_>
    where
        Self: Sized,
    {
        MlWriter {
            stage: self,
            overwrite: false,
        }
    }
}

/// Saves a stage (Spark's `MLWriter`).
pub struct MlWriter<'a> {
    stage: &'a dyn MlWritable,
    overwrite: bool,
}

impl MlWriter<'_> {
    /// Replaces whatever is at the path (Spark's `overwrite()`); without it, saving over an
    /// existing path fails.
    pub fn overwrite(mut self) -> Self {
        self.overwrite = true;
        self
    }

    /// Saves the stage at `path` (local, `hdfs://`, `s3a://` or on `fs.defaultFS`).
    ///
    /// # Errors
    /// `path` exists and [`overwrite`](Self::overwrite) was not asked for, or a file cannot
    /// be written.
    pub fn save(self, ctx: &Context, path: &str) -> Result<()> {
        if exists(ctx, path)? {
            if !self.overwrite {
                return Err(Error::Input(format!(
                    "path {path} already exists; to replace it, save with \
                     write().overwrite().save(ctx, path)"
                )));
            }
            ctx.env().delete_dir(path)?;
        }
        self.stage.save_to(&SaveDir::new(ctx, path))
    }
}

/// Whether anything is at `path`: a file, or a directory with anything in it.
fn exists(ctx: &Context, path: &str) -> Result<bool> {
    let url = ember_hadoop::object_stores::qualify(path, &ctx.env().hadoop)?;
    if let Some(local) = url.strip_prefix("file://") {
        return Ok(std::path::Path::new(local).exists());
    }
    let resolved = ctx.env().resolve(&url)?;
    let store = resolved.store.clone();
    let prefix = resolved.path.clone();
    let listing = ember_hadoop::io_runtime()?
        .block_on(async move { store.list_with_delimiter(Some(&prefix)).await });
    Ok(match listing {
        Ok(found) => !found.objects.is_empty() || !found.common_prefixes.is_empty(),
        Err(object_store::Error::NotFound { .. }) => false,
        Err(e) => {
            return Err(Error::Input(ember_hadoop::object_stores::explain(path, &e)));
        }
    })
}

/// A directory a stage is saved into.
pub struct SaveDir {
    ctx: Context,
    path: String,
}

impl SaveDir {
    fn new(ctx: &Context, path: &str) -> SaveDir {
        SaveDir {
            ctx: ctx.clone(),
            path: path.trim_end_matches('/').to_string(),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The subdirectory `name` (a pipeline's stages).
    pub fn child(&self, name: &str) -> SaveDir {
        SaveDir::new(&self.ctx, &format!("{}/{name}", self.path))
    }

    /// Writes `metadata/`.
    ///
    /// # Errors
    /// The files cannot be written.
    pub fn write_metadata(&self, metadata: &Metadata) -> Result<()> {
        let line = metadata.to_line() + "\n";
        self.write_files("metadata", &[("part-00000".to_string(), line.into_bytes())])
    }

    /// Writes `batch` as the Parquet data of subdirectory `name` (`data`, or ALS's
    /// `userFactors`), with Spark's schema in its footer.
    ///
    /// # Errors
    /// The batch's columns have no Spark type, or the file cannot be written.
    pub fn write_parquet(&self, name: &str, batch: &RecordBatch) -> Result<()> {
        let bytes = parquet::to_bytes(batch)?;
        let file = format!("part-00000-{}-c000.snappy.parquet", uuid::Uuid::new_v4());
        self.write_files(name, &[(file, bytes)])
    }

    /// Writes a model's data, one batch of `schema` and `columns`, as `data/` in Parquet.
    ///
    /// # Errors
    /// Columns that do not match the schema, or a file that cannot be written.
    pub fn write_data(&self, schema: Schema, columns: Vec<ArrayRef>) -> Result<()> {
        let batch = RecordBatch::try_new(Arc::new(schema), columns)
            .map_err(|e| Error::Input(format!("cannot build the model's data: {e}")))?;
        self.write_parquet("data", &batch)
    }

    /// Writes the files of subdirectory `name`, then its `_SUCCESS` marker.
    fn write_files(&self, name: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        let env = self.ctx.env();
        for (file, bytes) in files {
            env.write_file(&format!("{}/{name}/{file}", self.path), bytes)?;
        }
        env.write_file(&format!("{}/{name}/_SUCCESS", self.path), b"")?;
        Ok(())
    }
}

/// A directory a stage is loaded from.
pub struct LoadDir {
    ctx: Context,
    path: String,
}

impl LoadDir {
    /// The saved stage at `path`.
    pub fn new(ctx: &Context, path: &str) -> LoadDir {
        LoadDir {
            ctx: ctx.clone(),
            path: path.trim_end_matches('/').to_string(),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The context the stage is loaded with.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The subdirectory `name`.
    pub fn child(&self, name: &str) -> LoadDir {
        LoadDir::new(&self.ctx, &format!("{}/{name}", self.path))
    }

    /// The stage's metadata, which must be of Spark class `class`.
    ///
    /// # Errors
    /// No metadata there, or of another class.
    pub fn metadata(&self, class: &str) -> Result<Metadata> {
        Metadata::parse(&self.metadata_text()?, &self.path, class)
    }

    /// The Spark class of the saved stage, as its metadata names it.
    ///
    /// # Errors
    /// No metadata there, or metadata without a class.
    pub fn metadata_class(&self) -> Result<String> {
        let text = self.metadata_text()?;
        let json: Value = serde_json::from_str(text.lines().next().unwrap_or("")).map_err(|e| {
            Error::Input(format!("{} has metadata that is not JSON ({e})", self.path))
        })?;
        json["class"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Input(format!("{}'s metadata names no class", self.path)))
    }

    fn metadata_text(&self) -> Result<String> {
        let files = self.files("metadata")?;
        let first = files.first().ok_or_else(|| self.missing("metadata"))?;
        let bytes = self.ctx.env().read_file(first)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The rows of the Parquet files of subdirectory `name`.
    ///
    /// # Errors
    /// No files there, or a file that is not Parquet.
    pub fn read_parquet(&self, name: &str) -> Result<Vec<RecordBatch>> {
        let files = self.files(name)?;
        if files.is_empty() {
            return Err(self.missing(name));
        }
        let mut batches = Vec::new();
        for file in files.iter().filter(|f| !f.ends_with(".crc")) {
            let bytes = self.ctx.env().read_file(file)?;
            batches.extend(parquet::from_bytes(file, bytes)?);
        }
        Ok(batches)
    }

    /// The first batch of rows of the model's data (`data/`).
    ///
    /// # Errors
    /// No data, or data without rows.
    pub fn data_row(&self) -> Result<RecordBatch> {
        self.read_parquet("data")?
            .into_iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| Error::Input(format!("{} has no model data rows", self.path())))
    }

    /// Column `name` of a model data batch read from here, which must be of a type
    /// `accepts` takes (described as `wanted`): a file of another layout is an error, not a
    /// panic.
    ///
    /// # Errors
    /// No such column, or one of another type.
    pub fn data_column<'a>(
        &self,
        batch: &'a RecordBatch,
        name: &str,
        accepts: fn(&DataType) -> bool,
        wanted: &str,
    ) -> Result<&'a ArrayRef> {
        let column = batch.column_by_name(name).ok_or_else(|| {
            Error::Input(format!("{}'s model data has no column {name}", self.path))
        })?;
        if !accepts(column.data_type()) {
            return Err(Error::Input(format!(
                "{}'s model data has a column {name} of type {}, not {wanted}",
                self.path,
                column.data_type()
            )));
        }
        Ok(column)
    }

    /// The visible files of subdirectory `name`.
    fn files(&self, name: &str) -> Result<Vec<String>> {
        let dir = format!("{}/{name}", self.path);
        match self.ctx.list_status(&dir) {
            // By name under `dir` as given: a listing of `file:///x` gives bare paths, which
            // mean `fs.defaultFS` on a cluster.
            Ok(files) => Ok(files
                .iter()
                .filter_map(|f| f.path.rsplit('/').next())
                .map(|file| format!("{dir}/{file}"))
                .collect()),
            Err(_) => Err(self.missing(name)),
        }
    }

    fn missing(&self, name: &str) -> Error {
        Error::Input(format!(
            "{} is not a saved Spark ML stage: it has no {name} files",
            self.path
        ))
    }
}

/// A stage that can be loaded (Spark's `MLReadable`).
pub trait MlReadable: Sized {
    /// The stage saved at `path` (local, `hdfs://`, `s3a://` or on `fs.defaultFS`), by ember
    /// or by Spark.
    ///
    /// # Errors
    /// Nothing saved there, a stage of another class, or files of a layout ember does not
    /// read.
    fn load(ctx: &Context, path: &str) -> Result<Self> {
        Self::load_from(&LoadDir::new(ctx, path))
    }

    /// The stage saved in `dir`.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    fn load_from(dir: &LoadDir) -> Result<Self>;
}

/// Saving and loading of a stage that is nothing but its params (Spark's
/// `DefaultParamsWritable` and `DefaultParamsReadable`): only the metadata, of class `$class`.
/// `$ty` is a struct of one field `params` with a `new()` holding the defaults.
macro_rules! params_only_persistence {
    ($ty:ident, $class:expr) => {
        impl $crate::persist::MlWritable for $ty {
            fn save_to(&self, dir: &$crate::persist::SaveDir) -> $crate::Result<()> {
                dir.write_metadata(&$crate::persist::Metadata::of($class, &self.params))
            }
        }

        impl $crate::persist::MlReadable for $ty {
            fn load_from(dir: &$crate::persist::LoadDir) -> $crate::Result<Self> {
                let params = dir.metadata($class)?.params($ty::new().params)?;
                Ok($ty { params })
            }
        }
    };
}
pub(crate) use params_only_persistence;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::{shared, ParamSpec, ParamValue};

    const SPECS: &[ParamSpec] = &[shared::TOL, shared::MAX_ITER];

    #[test]
    fn metadata_is_one_line_in_sparks_key_order_and_parses_back() {
        let mut params = Params::new("logreg", SPECS)
            .default("tol", ParamValue::Double(1e-6))
            .default("maxIter", ParamValue::Int(100));
        params.set("maxIter", ParamValue::Int(5));
        let line = Metadata::of("org.apache.spark.ml.X", &params)
            .with_extra("rank", Value::from(10))
            .to_line();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("{\"class\":\"org.apache.spark.ml.X\",\"timestamp\":"),
            "{line}"
        );
        let tail = format!(
            "\"sparkVersion\":\"4.0.0\",\"uid\":\"{}\",\"paramMap\":{{\"maxIter\":5}},\
             \"defaultParamMap\":{{\"maxIter\":100,\"tol\":1e-6}},\"rank\":10}}",
            params.uid()
        );
        assert!(line.ends_with(&tail), "{line}");
        let back = Metadata::parse(&line, "/m", "org.apache.spark.ml.X").unwrap();
        assert_eq!(back.uid, params.uid());
        assert_eq!(back.version(), (4, 0));
        assert_eq!(back.json["rank"], 10);
        let loaded = back.params(Params::with_uid(String::new(), SPECS)).unwrap();
        assert_eq!(loaded.uid(), params.uid());
        assert_eq!(loaded.int("maxIter"), 5);
        assert_eq!(loaded.double("tol"), 1e-6);
    }

    #[test]
    fn another_class_or_a_broken_file_is_named() {
        let line = r#"{"class":"org.apache.spark.ml.clustering.KMeansModel","timestamp":1,"sparkVersion":"3.5.1","uid":"k","paramMap":{},"defaultParamMap":{}}"#;
        let err = Metadata::parse(line, "/m", "org.apache.spark.ml.X")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "/m holds a org.apache.spark.ml.clustering.KMeansModel, not a org.apache.spark.ml.X: \
             load it with the reader of its own class"
        );
        let err = Metadata::parse("word count", "/m", "X")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/m does not hold a saved Spark ML stage: its metadata is not JSON")
        );
        // Spark 2.3 and before wrote no defaults; later files must have them.
        let old = r#"{"class":"X","timestamp":1,"sparkVersion":"2.3.0","uid":"u","paramMap":{}}"#;
        assert!(Metadata::parse(old, "/m", "X").is_ok());
        let new = old.replace("2.3.0", "3.0.0");
        let err = Metadata::parse(&new, "/m", "X").unwrap_err().to_string();
        assert!(
            err.ends_with("its metadata has no defaultParamMap"),
            "{err}"
        );
    }
}
