//! A metastore table as a DataFusion table: its schema from the metastore's columns, its files
//! from the locations of its partitions, read by the format its storage names.
//!
//! | storage | read as |
//! |---|---|
//! | `ParquetHiveSerDe`, Spark's `USING parquet` | DataFusion's Parquet scan |
//! | `OrcSerde`, Spark's `USING orc` | ember's ORC scan |
//! | `LazySimpleSerDe` on `TextInputFormat` (delimited text) | DataFusion's CSV scan of strings, cast to the columns' types as Hive reads them (a bad value is null) |
//! | Spark's `USING csv` / `USING json` | DataFusion's CSV / JSON scans with the table's options |
//!
//! Spark's datasource tables keep their real schema in the table's `spark.sql.sources.schema`
//! parameters (the metastore's columns may be a placeholder); partitions live in the metastore
//! for both kinds. A scan asks the metastore only for the partitions its filters on partition
//! columns select ([`filter::metastore_filter`]), lists each partition's directory (skipping
//! `_SUCCESS`, `.crc` and other hidden files), and gives every file its partition's values.

use super::client::{CallError, Metastore};
use super::filter::metastore_filter;
use super::text::TextSerDe;
use super::{arrow_type, DEFAULT_PARTITION};
use crate::error::{Error, Result};
use crate::formats::orc::OrcFileFormat;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::config::CsvOptions;
use datafusion::common::{DFSchema, DataFusionError, ScalarValue};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::ExecutionPlan;
use ember_core::Env;
use hive_metastore::{FieldSchema, Partition, StorageDescriptor, Table};
use object_store::ObjectStore;
use std::collections::HashMap;
use std::sync::Arc;

/// How a table's files are read.
#[derive(Debug, Clone)]
enum Storage {
    Parquet,
    Orc,
    /// Hive's delimited text: the CSV scan reads strings, which `serde` reads as the
    /// columns' values.
    DelimitedText {
        csv: CsvOptions,
        serde: TextSerDe,
    },
    /// Spark's `USING csv` or `USING json`: typed as the schema says.
    Csv(CsvOptions),
    Json,
}

/// The one column an escaped text table's scan reads: whole lines.
const LINE: &str = "__ember_line";

/// How rows are written into a table's files.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WriteFormat {
    Parquet,
    Orc,
    /// Lines of delimited fields.
    Text(TextSerDe),
}

/// A table of the metastore (Spark's `HiveTableRelation`, or a datasource table's relation).
#[derive(Debug)]
pub(crate) struct HiveTable {
    metastore: Arc<Metastore>,
    env: Arc<Env>,
    db: String,
    name: String,
    /// The data columns, then the partition columns.
    schema: SchemaRef,
    partition_columns: Vec<FieldRef>,
    storage: Storage,
    /// The table's own directory: its files, or the root of its partitions.
    location: String,
    /// The metastore's storage descriptor, which new partitions copy.
    sd: StorageDescriptor,
}

impl HiveTable {
    /// The table the metastore describes as `table`.
    ///
    /// # Errors
    /// A view, a table without storage, a column type or storage ember cannot read.
    pub(crate) fn new(metastore: Arc<Metastore>, env: Arc<Env>, table: Table) -> Result<Self> {
        let db = table.db_name.as_deref().unwrap_or("default").to_string();
        let name = table.table_name.as_deref().unwrap_or_default().to_string();
        let qualified = format!("`{db}`.`{name}`");
        if table.table_type.as_deref() == Some("VIRTUAL_VIEW") {
            return Err(Error::Input(format!(
                "{qualified} is a Hive view; ember reads tables only (not yet views)"
            )));
        }
        let sd = table.sd.as_ref().ok_or_else(|| {
            Error::Metastore(format!(
                "the metastore gives {qualified} no storage descriptor"
            ))
        })?;
        let parameters = string_map(table.parameters.as_ref());
        let (data, partition_columns) = match spark_schema(&parameters)? {
            Some(schema) => split_partition_columns(schema, &parameters),
            None => (
                columns(sd.cols.as_deref().unwrap_or_default(), &qualified)?,
                columns(
                    table.partition_keys.as_deref().unwrap_or_default(),
                    &qualified,
                )?,
            ),
        };
        let serde = string_map(sd.serde_info.as_ref().and_then(|s| s.parameters.as_ref()));
        let storage = match parameters.get("spark.sql.sources.provider") {
            Some(provider) if provider != "hive" => {
                datasource_storage(provider, &serde, &qualified)?
            }
            _ => hive_storage(sd, &serde, &data, &qualified)?,
        };
        // Datasource tables keep their directory as a storage property too.
        let location = serde
            .get("path")
            .cloned()
            .or_else(|| sd.location.as_deref().map(str::to_string))
            .ok_or_else(|| {
                Error::Metastore(format!("the metastore gives {qualified} no location"))
            })?;
        let mut fields = data;
        fields.extend(partition_columns.iter().cloned());
        Ok(HiveTable {
            metastore,
            env,
            db,
            name,
            schema: Arc::new(Schema::new(fields)),
            partition_columns,
            storage,
            location,
            sd: sd.clone(),
        })
    }

    /// `db`.`name`, as Spark's messages write it.
    pub(crate) fn qualified_name(&self) -> String {
        format!("`{}`.`{}`", self.db, self.name)
    }

    pub(crate) fn db(&self) -> &str {
        &self.db
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn storage_descriptor(&self) -> &StorageDescriptor {
        &self.sd
    }

    /// The data columns, without the partition columns.
    pub(crate) fn data_columns(&self) -> &[FieldRef] {
        &self.schema.fields()[..self.schema.fields().len() - self.partition_columns.len()]
    }

    pub(crate) fn partition_columns(&self) -> &[FieldRef] {
        &self.partition_columns
    }

    /// How ember writes the table's files, with the text delimiter and null format for text.
    pub(crate) fn write_format(&self) -> Result<WriteFormat> {
        match &self.storage {
            Storage::Parquet => Ok(WriteFormat::Parquet),
            Storage::Orc => Ok(WriteFormat::Orc),
            Storage::DelimitedText { serde, .. } => Ok(WriteFormat::Text(serde.clone())),
            Storage::Csv(_) | Storage::Json => Err(Error::Input(format!(
                "{} is a Spark csv or json datasource table; ember writes Parquet, ORC and \
                 delimited text tables",
                self.qualified_name()
            ))),
        }
    }

    /// The directories to read and their partition values, asking the metastore for only the
    /// partitions `filters` may select.
    fn directories(&self, filters: &[Expr]) -> Result<Vec<(String, Vec<ScalarValue>)>> {
        if self.partition_columns.is_empty() {
            return Ok(vec![(self.location.clone(), Vec::new())]);
        }
        let filter = metastore_filter(filters, &self.partition_columns);
        let partitions = match self
            .metastore
            .partitions(&self.db, &self.name, filter.as_deref())
        {
            // Some metastores cannot filter on some column types; Spark then lists them all
            // (spark.sql.hive.metastorePartitionPruningFallbackOnException).
            Err(CallError::Refused(refusal)) if filter.is_some() => {
                tracing::warn!(
                    "the metastore cannot filter the partitions of {}.{} by {filter:?} ({}); \
                     reading every partition's list",
                    self.db,
                    self.name,
                    refusal.message
                );
                self.metastore.partitions(&self.db, &self.name, None)?
            }
            answer => answer?,
        };
        self.metastore.metrics.count_partitions(partitions.len());
        partitions
            .iter()
            .map(|p| self.partition_directory(p))
            .collect()
    }

    fn partition_directory(&self, partition: &Partition) -> Result<(String, Vec<ScalarValue>)> {
        let values = partition.values.as_deref().unwrap_or_default();
        if values.len() != self.partition_columns.len() {
            return Err(Error::Metastore(format!(
                "a partition of {}.{} has {} values for {} partition columns",
                self.db,
                self.name,
                values.len(),
                self.partition_columns.len()
            )));
        }
        let values = values
            .iter()
            .zip(&self.partition_columns)
            .map(|(value, column)| partition_value(value, column.data_type()))
            .collect::<Result<Vec<_>>>()?;
        let location = partition
            .sd
            .as_ref()
            .and_then(|sd| sd.location.as_deref())
            .ok_or_else(|| {
                Error::Metastore(format!(
                    "a partition of {}.{} has no location",
                    self.db, self.name
                ))
            })?;
        Ok((location.to_string(), values))
    }

    /// The files in `directory` (not below it), hidden ones left out as Hadoop's input
    /// formats do; a directory that does not exist holds none.
    async fn files(
        &self,
        directory: &str,
    ) -> Result<(ObjectStoreUrl, Vec<object_store::ObjectMeta>)> {
        let resolved = self.env.resolve(directory)?;
        let store_url = store_url(&resolved.url)?;
        let listing = match resolved
            .store
            .list_with_delimiter(Some(&resolved.path))
            .await
        {
            Ok(listing) => listing.objects,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(Error::Query(format!("cannot list {directory}: {e}"))),
        };
        let files = listing
            .into_iter()
            .filter(|o| {
                o.location
                    .filename()
                    .is_some_and(|n| !n.starts_with('_') && !n.starts_with('.'))
            })
            .collect();
        Ok((store_url, files))
    }

    /// The columns as the files hold them: strings for delimited text.
    fn file_schema(&self) -> SchemaRef {
        let data =
            &self.schema.fields()[..self.schema.fields().len() - self.partition_columns.len()];
        let fields: Vec<FieldRef> = match &self.storage {
            Storage::DelimitedText { serde, .. } if serde.escape.is_some() => {
                vec![Arc::new(Field::new(LINE, DataType::Utf8, true))]
            }
            Storage::DelimitedText { .. } => data
                .iter()
                .map(|f| Arc::new(Field::new(f.name(), DataType::Utf8, true)))
                .collect(),
            _ => data.to_vec(),
        };
        Arc::new(Schema::new(fields))
    }

    fn format(&self) -> Arc<dyn FileFormat> {
        match &self.storage {
            Storage::Parquet => Arc::new(ParquetFormat::default()),
            Storage::Orc => Arc::new(OrcFileFormat),
            Storage::DelimitedText { csv, .. } | Storage::Csv(csv) => {
                Arc::new(CsvFormat::default().with_options(csv.clone()))
            }
            Storage::Json => Arc::new(JsonFormat::default()),
        }
    }

    /// Reads the text scan's strings as LazySimpleSerDe does (see [`TextSerDe::read`]).
    fn read_text_fields(
        &self,
        state: &dyn Session,
        scan: Arc<dyn ExecutionPlan>,
        serde: &TextSerDe,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = DFSchema::try_from(scan.schema())?;
        let exprs = input
            .fields()
            .iter()
            .map(|field| {
                let column = Expr::Column(datafusion::common::Column::from_name(field.name()));
                let is_partition = self
                    .partition_columns
                    .iter()
                    .any(|p| p.name() == field.name());
                let expr = if is_partition {
                    // Typed already, from the metastore's value.
                    column
                } else {
                    let target = self.schema.field_with_name(field.name())?.data_type();
                    serde.read(column, target, field.name())?
                };
                let physical = state.create_physical_expr(expr, &input)?;
                Ok((physical, field.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }

    /// Cuts an escaped table's lines into the `projection`'s columns (see
    /// [`TextSerDe::escaped_field`]).
    fn read_escaped_lines(
        &self,
        state: &dyn Session,
        scan: Arc<dyn ExecutionPlan>,
        serde: &TextSerDe,
        projection: Option<&Vec<usize>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = DFSchema::try_from(scan.schema())?;
        let data = self.data_columns().len();
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let exprs = projection
            .unwrap_or(&all)
            .iter()
            .map(|&i| {
                let field = self.schema.field(i);
                let expr = if i < data {
                    let line = Expr::Column(datafusion::common::Column::from_name(LINE));
                    let (raw, value) = serde.escaped_field(line, i);
                    serde.read_raw(raw, value, field.data_type(), field.name())?
                } else {
                    Expr::Column(datafusion::common::Column::from_name(field.name()))
                };
                let physical = state.create_physical_expr(expr, &input)?;
                Ok((physical, field.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }

    async fn plan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut store = None;
        let mut files = Vec::new();
        for (directory, values) in self.directories(filters)? {
            let (url, objects) = self.files(&directory).await?;
            store.get_or_insert(url);
            files.extend(objects.into_iter().map(|meta| {
                PartitionedFile::new_from_meta(meta).with_partition_values(values.clone())
            }));
        }
        self.metastore.metrics.count_files(files.len());
        let projected = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => self.schema.clone(),
        };
        let Some(store) = store.filter(|_| !files.is_empty()) else {
            return Ok(Arc::new(EmptyExec::new(projected)));
        };
        let format = self.format();
        let table_schema = TableSchema::builder(self.file_schema())
            .with_table_partition_cols(self.partition_columns.clone())
            .build();
        let groups =
            FileGroup::new(files).split_files(state.config_options().execution.target_partitions);
        let escaped = match &self.storage {
            Storage::DelimitedText { serde, .. } if serde.escape.is_some() => Some(serde),
            _ => None,
        };
        // An escaped table's scan gives whole lines (and the partition columns), cut below.
        let scan_projection = if escaped.is_some() {
            None
        } else {
            projection.cloned()
        };
        let config = FileScanConfigBuilder::new(store, format.file_source(table_schema))
            .with_file_groups(groups)
            .with_projection_indices(scan_projection)?
            .with_limit(limit)
            .build();
        let scan = format.create_physical_plan(state, config).await?;
        match (&self.storage, escaped) {
            (_, Some(serde)) => self.read_escaped_lines(state, scan, serde, projection),
            (Storage::DelimitedText { serde, .. }, None) => {
                self.read_text_fields(state, scan, serde)
            }
            _ => Ok(scan),
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for HiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // Filters prune partitions but rows are filtered again above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.plan(state, projection, filters, limit)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}

/// The store part (`scheme://authority`) of `url`, as DataFusion names stores.
fn store_url(url: &str) -> Result<ObjectStoreUrl> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("file", url));
    let authority = rest.split('/').next().unwrap_or_default();
    Ok(ObjectStoreUrl::parse(format!("{scheme}://{authority}"))?)
}

/// A Thrift string map as a plain one.
fn string_map(
    map: Option<&pilota::AHashMap<pilota::FastStr, pilota::FastStr>>,
) -> HashMap<String, String> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The metastore's columns as Arrow fields (nullable, as every Hive column is).
fn columns(columns: &[FieldSchema], table: &str) -> Result<Vec<FieldRef>> {
    columns
        .iter()
        .map(|c| {
            let name = c.name.as_deref().unwrap_or_default();
            let hive_type = c.r#type.as_deref().unwrap_or_default();
            let data_type = arrow_type(hive_type)
                .map_err(|e| Error::Input(format!("column {name} of {table}: {e}")))?;
            Ok(Arc::new(Field::new(name, data_type, true)))
        })
        .collect()
}

/// A partition's value (a string in the metastore) as its column's type.
fn partition_value(value: &str, data_type: &DataType) -> Result<ScalarValue> {
    if value == DEFAULT_PARTITION {
        return Ok(ScalarValue::try_from(data_type)?);
    }
    ScalarValue::try_from_string(value.to_string(), data_type).map_err(|e| {
        Error::Metastore(format!(
            "partition value {value:?} is not a {data_type}: {e}"
        ))
    })
}

/// The schema Spark keeps in a datasource table's parameters, if it keeps one: the JSON of a
/// `StructType` in `spark.sql.sources.schema`, or cut into `spark.sql.sources.schema.part.N`.
fn spark_schema(parameters: &HashMap<String, String>) -> Result<Option<Vec<FieldRef>>> {
    let json = match parameters.get("spark.sql.sources.schema.numParts") {
        Some(parts) => {
            let parts: usize = parts.parse().map_err(|_| {
                Error::Metastore(format!("spark.sql.sources.schema.numParts is {parts:?}"))
            })?;
            (0..parts)
                .map(|i| {
                    parameters
                        .get(&format!("spark.sql.sources.schema.part.{i}"))
                        .ok_or_else(|| {
                            Error::Metastore(format!(
                                "spark.sql.sources.schema.part.{i} is missing"
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .map(String::as_str)
                .collect::<String>()
        }
        None => match parameters.get("spark.sql.sources.schema") {
            Some(json) => json.clone(),
            None => return Ok(None),
        },
    };
    let schema: serde_json::Value = serde_json::from_str(&json)
        .map_err(|e| Error::Metastore(format!("cannot read spark.sql.sources.schema: {e}")))?;
    match super::types::spark_json_type(&schema)? {
        DataType::Struct(fields) => Ok(Some(fields.iter().cloned().collect())),
        other => Err(Error::Metastore(format!(
            "spark.sql.sources.schema is a {other}, not a struct"
        ))),
    }
}

/// A datasource table's fields as data columns and partition columns (named by
/// `spark.sql.sources.schema.partCol.N`, which Spark also keeps last in the schema).
fn split_partition_columns(
    fields: Vec<FieldRef>,
    parameters: &HashMap<String, String>,
) -> (Vec<FieldRef>, Vec<FieldRef>) {
    let count: usize = parameters
        .get("spark.sql.sources.schema.numPartCols")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let names: Vec<&String> = (0..count)
        .filter_map(|i| parameters.get(&format!("spark.sql.sources.schema.partCol.{i}")))
        .collect();
    let (partitions, data): (Vec<FieldRef>, Vec<FieldRef>) =
        fields.into_iter().partition(|f| names.contains(&f.name()));
    // In partCol order, which is the order of the directories.
    let mut partitions = partitions;
    partitions.sort_by_key(|f| names.iter().position(|n| *n == f.name()));
    (data, partitions)
}

/// How a Hive table (a `STORED AS` table) is read, by its SerDe and input format.
fn hive_storage(
    sd: &StorageDescriptor,
    serde: &HashMap<String, String>,
    data: &[FieldRef],
    table: &str,
) -> Result<Storage> {
    let library = sd
        .serde_info
        .as_ref()
        .and_then(|s| s.serialization_lib.as_deref())
        .unwrap_or_default();
    let input = sd.input_format.as_deref().unwrap_or_default();
    let unsupported = || {
        Error::Input(format!(
            "{table} is stored with SerDe {library} and input format {input}; ember reads \
             Parquet, ORC and delimited text (LazySimpleSerDe) tables"
        ))
    };
    if library.ends_with("ParquetHiveSerDe") || input.ends_with("MapredParquetInputFormat") {
        return Ok(Storage::Parquet);
    }
    if library.ends_with("OrcSerde") || input.ends_with("OrcInputFormat") {
        return Ok(Storage::Orc);
    }
    if !library.ends_with("LazySimpleSerDe") || !input.ends_with("TextInputFormat") {
        return Err(unsupported());
    }
    let storage = delimited_text(serde, table)?;
    if let Storage::DelimitedText { serde, .. } = &storage {
        // Refused here, when the table is named, rather than at its first scan.
        for field in data {
            let column = Expr::Column(datafusion::common::Column::from_name(field.name()));
            serde.read(column, field.data_type(), field.name())?;
        }
    }
    Ok(storage)
}

/// LazySimpleSerDe's settings (see [`TextSerDe`]): a CSV reader of strings split at
/// `field.delim`, nothing quoted.
fn delimited_text(serde: &HashMap<String, String>, table: &str) -> Result<Storage> {
    let text = TextSerDe::from_parameters(serde);
    let delimiter = single_byte(&text.field, "field.delim", table)?;
    if let Some(line) = serde.get("line.delim").filter(|l| *l != "\n") {
        return Err(Error::Input(format!(
            "{table} ends lines with {line:?}; Hive text tables end them with \\n only"
        )));
    }
    let delimiter = match &text.escape {
        Some(escape) => {
            single_byte(escape, "escape.delim", table)?;
            // Escaped delimiters are found in the whole line: the reader splits at a control
            // byte the table's text does not use.
            let used = [&text.field, &text.collection, &text.map_key, escape];
            (0x1c..=0x1f)
                .find(|b| !used.iter().any(|u| u.as_bytes() == [*b]))
                .unwrap_or(0x1f)
        }
        None => delimiter,
    };
    let csv = CsvFormat::default()
        .with_has_header(false)
        .with_delimiter(delimiter)
        // Hive's text has no quoting; NUL is a quote byte no text field holds.
        .with_quote(0)
        // A short line's missing fields are null, as Hive reads them.
        .with_truncated_rows(true)
        .options()
        .clone();
    Ok(Storage::DelimitedText { csv, serde: text })
}

fn single_byte(value: &str, key: &str, table: &str) -> Result<u8> {
    match value.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(Error::Input(format!(
            "{key} of {table} is {value:?}; ember reads one-byte delimiters only"
        ))),
    }
}

/// How a Spark datasource table (`USING provider`) is read, with its options.
fn datasource_storage(
    provider: &str,
    options: &HashMap<String, String>,
    table: &str,
) -> Result<Storage> {
    let provider = provider
        .rsplit('.')
        .next()
        .unwrap_or(provider)
        .to_ascii_lowercase();
    match provider.as_str() {
        "parquet" | "parquetfileformat" => Ok(Storage::Parquet),
        "orc" | "orcfileformat" => Ok(Storage::Orc),
        "json" | "jsonfileformat" => Ok(Storage::Json),
        "csv" | "csvfileformat" => {
            let option = |key: &str| options.get(key).map(|v| v.to_ascii_lowercase());
            let header = option("header").is_some_and(|h| h == "true");
            let sep = options
                .get("sep")
                .or_else(|| options.get("delimiter"))
                .map(String::as_str)
                .unwrap_or(",");
            Ok(Storage::Csv(
                CsvFormat::default()
                    .with_has_header(header)
                    .with_delimiter(single_byte(sep, "sep", table)?)
                    .options()
                    .clone(),
            ))
        }
        other => Err(Error::Input(format!(
            "{table} is a Spark datasource table of provider {other}; ember reads parquet, orc, \
             csv and json tables"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_partitions_and_typed_values() {
        assert_eq!(
            partition_value("12", &DataType::Int32).unwrap(),
            ScalarValue::Int32(Some(12))
        );
        assert_eq!(
            partition_value(DEFAULT_PARTITION, &DataType::Utf8).unwrap(),
            ScalarValue::Utf8(None)
        );
        let err = partition_value("x", &DataType::Int32)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("partition value \"x\" is not a Int32"),
            "{err}"
        );
    }

    #[test]
    fn spark_keeps_partition_columns_by_name() {
        let fields: Vec<FieldRef> = ["region", "id", "day"]
            .iter()
            .map(|n| Arc::new(Field::new(*n, DataType::Utf8, true)))
            .collect();
        let parameters: HashMap<String, String> = [
            ("spark.sql.sources.schema.numPartCols", "2"),
            ("spark.sql.sources.schema.partCol.0", "day"),
            ("spark.sql.sources.schema.partCol.1", "region"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let (data, partitions) = split_partition_columns(fields, &parameters);
        let names = |f: &[FieldRef]| f.iter().map(|f| f.name().clone()).collect::<Vec<_>>();
        assert_eq!(names(&data), ["id"]);
        assert_eq!(names(&partitions), ["day", "region"]);
    }

    #[test]
    fn storage_ember_cannot_read_is_named() {
        let sd = StorageDescriptor {
            input_format: Some("org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat".into()),
            serde_info: Some(hive_metastore::SerDeInfo {
                serialization_lib: Some("org.apache.hadoop.hive.serde2.avro.AvroSerDe".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = hive_storage(&sd, &HashMap::new(), &[], "`db`.`t`")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "`db`.`t` is stored with SerDe org.apache.hadoop.hive.serde2.avro.AvroSerDe"
            ),
            "{err}"
        );
        assert!(
            err.contains("ember reads Parquet, ORC and delimited text"),
            "{err}"
        );
    }
}
