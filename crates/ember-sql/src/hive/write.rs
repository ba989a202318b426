//! Writing metastore tables: `CREATE TABLE [AS SELECT]` and `INSERT INTO|OVERWRITE` with static
//! and dynamic partitions, as Spark's Hive support does them.
//!
//! An insert writes its rows with the [`DataFrameWriter`](crate::DataFrameWriter) (the same
//! committed writes as `df.write()`: `ember_hadoop::commit`'s protocol) into a hidden staging
//! directory inside the table's directory, one `col=value` directory per partition, as Spark's
//! `InsertIntoHiveTable` writes into `.hive-staging_*`. Only once every file is written are
//! the new partitions registered in the metastore, the replaced files removed (`OVERWRITE`:
//! the whole table, or the partitions written) and the new files moved into place. A failed
//! query or write therefore registers nothing and leaves the table as it was; a failed
//! `CREATE TABLE ... AS SELECT` drops the table it created.
//!
//! Files are written as Spark reads them back: Parquet timestamps adjusted to UTC (Spark's
//! `timestamp`), text fields joined by the table's `field.delim` with nulls as its null format
//! and timestamps as `yyyy-MM-dd HH:mm:ss[.fff]`.

use super::catalog::HiveCatalog;
use super::ddl::{CreateTable, Ddl, Insert, StoredAs};
use super::table::{HiveTable, WriteFormat};
use super::text::TextSerDe;
use super::types::{arrow_type, hive_type};
use super::DEFAULT_PARTITION;
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::{SqlContextExt, SqlSession};
use crate::statements::{qualified, schema_not_found, table_not_found};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::functions::expr_fn::{coalesce, concat_ws};
use datafusion::prelude::{cast, lit, Expr};
use ember_core::Context;
use ember_hadoop::commit;
use futures::TryStreamExt;
use hive_metastore::{FieldSchema, Partition, SerDeInfo, StorageDescriptor, Table};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStoreExt;
use pilota::{AHashMap, FastStr};
use std::collections::{BTreeMap, HashSet};

/// Runs `CREATE DATABASE` or `DROP TABLE` on the metastore.
pub(crate) fn run_ddl(ctx: &Context, catalog: &HiveCatalog, ddl: Ddl) -> Result<DataFrame> {
    let metastore = catalog.metastore();
    match ddl {
        Ddl::CreateDatabase {
            name,
            if_not_exists,
        } => {
            if metastore.database(&name)?.is_some() {
                if !if_not_exists {
                    return Err(Error::Input(format!(
                        "[SCHEMA_ALREADY_EXISTS] Cannot create schema `{name}` because it already \
                         exists. Choose a different name, drop the existing schema, or add the IF \
                         NOT EXISTS clause to tolerate pre-existing schema."
                    )));
                }
            } else {
                metastore.create_database(&name)?;
            }
        }
        Ddl::DropTable { name, if_exists } => {
            let session = SqlSession::of(ctx);
            let (db, table) = qualified(&session, &name);
            if metastore.table(&db, &table)?.is_some() {
                metastore.drop_table(&db, &table)?;
            } else if !if_exists {
                return Err(table_not_found(&db, &table));
            }
        }
    }
    ctx.sql("SELECT 1 WHERE false")
}

/// Runs `CREATE TABLE`: the table registered in the metastore, and filled for `AS query`.
pub(crate) fn create_table(
    ctx: &Context,
    catalog: &HiveCatalog,
    create: CreateTable,
) -> Result<DataFrame> {
    let session = SqlSession::of(ctx);
    let (db, name) = qualified(&session, &create.name);
    let metastore = catalog.metastore();
    if metastore.database(&db)?.is_none() {
        return Err(schema_not_found(&db));
    }
    if metastore.table(&db, &name)?.is_some() {
        if create.if_not_exists {
            return ctx.sql("SELECT 1 WHERE false");
        }
        return Err(Error::Input(format!(
            "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view `{db}`.`{name}` because \
             it already exists. Choose a different name, drop the existing object, or add the \
             IF NOT EXISTS clause to tolerate pre-existing objects."
        )));
    }
    let query = create.query.as_deref().map(|q| ctx.sql(q)).transpose()?;
    let (columns, partition_keys) = table_columns(&create, query.as_ref())?;
    let table = Table {
        db_name: Some(db.clone().into()),
        table_name: Some(name.clone().into()),
        owner: std::env::var("USER").ok().map(FastStr::from),
        create_time: Some(now()),
        sd: Some(storage_descriptor(&create, &columns)),
        partition_keys: Some(field_schemas(&partition_keys)),
        parameters: Some(AHashMap::default()),
        table_type: Some("MANAGED_TABLE".into()),
        ..Table::default()
    };
    metastore.create_table(table)?;
    if let Some(rows) = query {
        // Data columns first, then the partition columns: the order the table takes them in.
        let order: Vec<&str> = columns
            .iter()
            .chain(&partition_keys)
            .map(|(n, _)| n.as_str())
            .collect();
        let filled = rows
            .select_columns(&order)
            .and_then(|rows| insert_rows(ctx, catalog, &db, &name, rows, &[], false));
        if let Err(e) = filled {
            if let Err(dropped) = metastore.drop_table(&db, &name) {
                tracing::warn!("cannot drop {db}.{name} after its query failed: {dropped:?}");
            }
            return Err(e);
        }
    }
    ctx.sql("SELECT 1 WHERE false")
}

/// Runs `INSERT` into a metastore table; `None` when `insert` names no table of the metastore
/// (a temporary view: DataFusion's to insert into).
pub(crate) fn insert(
    ctx: &Context,
    catalog: &HiveCatalog,
    insert: Insert,
) -> Result<Option<DataFrame>> {
    let session = SqlSession::of(ctx);
    if catalog.views().contains(&insert.table) {
        return Ok(None);
    }
    let (db, name) = qualified(&session, &insert.table);
    let rows = ctx.sql(&insert.query)?;
    insert_rows(
        ctx,
        catalog,
        &db,
        &name,
        rows,
        &insert.partition,
        insert.overwrite,
    )?;
    ctx.sql("SELECT 1 WHERE false").map(Some)
}

/// The table's data columns and partition columns, (name, Hive type) each.
#[allow(clippy::type_complexity)]
fn table_columns(
    create: &CreateTable,
    query: Option<&DataFrame>,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let mut columns = create.columns.clone();
    if let Some(query) = query {
        if !columns.is_empty() {
            return Err(Error::Input(
                "Operation not allowed: Schema may not be specified in a Create Table As Select \
                 (CTAS) statement; the query's columns are the table's"
                    .into(),
            ));
        }
        for field in query.schema().fields() {
            columns.push((field.name().clone(), hive_type(field.data_type())?));
        }
    }
    let mut partitions = Vec::new();
    for (name, data_type) in &create.partitioned_by {
        let data_type = match data_type {
            Some(t) if query.is_none() => t.clone(),
            Some(_) => {
                return Err(Error::Input(format!(
                    "partition column {name} of a CREATE TABLE ... AS SELECT takes its type from \
                     the query: write PARTITIONED BY ({name})"
                )))
            }
            None => {
                let at = columns.iter().position(|(n, _)| n == name).ok_or_else(|| {
                    Error::Input(format!(
                        "partition column {name} is not a column of the table"
                    ))
                })?;
                columns.remove(at).1
            }
        };
        partitions.push((name.clone(), data_type));
    }
    for (name, data_type) in columns.iter().chain(&partitions) {
        arrow_type(data_type).map_err(|e| Error::Input(format!("column {name}: {e}")))?;
    }
    if columns.is_empty() {
        return Err(Error::Input(
            "a table needs at least one column besides its partition columns".into(),
        ));
    }
    Ok((columns, partitions))
}

fn field_schemas(columns: &[(String, String)]) -> Vec<FieldSchema> {
    columns
        .iter()
        .map(|(name, data_type)| FieldSchema {
            name: Some(name.clone().into()),
            r#type: Some(data_type.clone().into()),
            comment: None,
        })
        .collect()
}

/// The storage Hive gives a table `STORED AS` the format: input and output formats, SerDe.
fn storage_descriptor(create: &CreateTable, columns: &[(String, String)]) -> StorageDescriptor {
    let (input, output, serde) = match create.stored_as {
        StoredAs::Parquet => (
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        ),
        StoredAs::Orc => (
            "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        ),
        StoredAs::TextFile => (
            "org.apache.hadoop.mapred.TextInputFormat",
            "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        ),
    };
    let mut parameters = AHashMap::default();
    if create.stored_as == StoredAs::TextFile {
        let delimiter = create
            .field_delimiter
            .clone()
            .unwrap_or_else(|| "\u{1}".into());
        parameters.insert("serialization.format".into(), delimiter.clone().into());
        parameters.insert("field.delim".into(), delimiter.into());
        // Hive's own spelling of the key.
        let nested = [
            ("colelction.delim", &create.collection_delimiter),
            ("mapkey.delim", &create.map_key_delimiter),
            ("escape.delim", &create.escape),
        ];
        for (key, value) in nested {
            if let Some(value) = value {
                parameters.insert(key.into(), value.clone().into());
            }
        }
    } else {
        parameters.insert("serialization.format".into(), "1".into());
    }
    StorageDescriptor {
        cols: Some(field_schemas(columns)),
        // The metastore gives a managed table its directory in the warehouse.
        location: None,
        input_format: Some(input.into()),
        output_format: Some(output.into()),
        compressed: Some(false),
        num_buckets: Some(-1),
        serde_info: Some(SerDeInfo {
            name: None,
            serialization_lib: Some(serde.into()),
            parameters: Some(parameters),
        }),
        bucket_cols: Some(Vec::new()),
        sort_cols: Some(Vec::new()),
        parameters: Some(AHashMap::default()),
        ..StorageDescriptor::default()
    }
}

fn now() -> i32 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

/// Writes `rows` into table `db.name`: its data columns by position, then the partition
/// columns without a value in `spec`.
fn insert_rows(
    ctx: &Context,
    catalog: &HiveCatalog,
    db: &str,
    name: &str,
    rows: DataFrame,
    spec: &[(String, Option<String>)],
    overwrite: bool,
) -> Result<()> {
    let session = SqlSession::of(ctx);
    let metastore = catalog.metastore();
    let table = metastore
        .table(db, name)?
        .ok_or_else(|| table_not_found(db, name))?;
    let table = HiveTable::new(metastore.clone(), session.env().clone(), table)?;
    let format = table.write_format()?;
    let rows = table_rows(&table, rows, spec, &format)?;
    let partition_names: Vec<&str> = table
        .partition_columns()
        .iter()
        .map(|c| c.name().as_str())
        .collect();
    let staging = format!(
        "{}/.ember-staging-{}",
        table.location().trim_end_matches('/'),
        uuid::Uuid::new_v4()
    );
    let writer = rows.write().partition_by(&partition_names);
    let written = match format {
        WriteFormat::Parquet => writer.parquet(&staging),
        WriteFormat::Orc => writer.orc(&staging),
        WriteFormat::Text(_) => writer.text(&staging),
    };
    let published = written
        .and_then(|()| session.block_on(publish(&session, catalog, &table, &staging, overwrite)));
    let removed = session.block_on(remove(&session, &staging));
    published.and(removed)
}

/// The rows as the table's files take them: data columns cast to their types, partition
/// columns as the text of their directories' names.
fn table_rows(
    table: &HiveTable,
    rows: DataFrame,
    spec: &[(String, Option<String>)],
    format: &WriteFormat,
) -> Result<DataFrame> {
    let partitions = table.partition_columns();
    if let Some((unknown, _)) = spec
        .iter()
        .find(|(n, _)| !partitions.iter().any(|p| p.name() == n))
    {
        let names: Vec<&str> = partitions.iter().map(|p| p.name().as_str()).collect();
        return Err(Error::Input(format!(
            "{unknown} is not a partition column of {}; its partition columns are [{}]",
            table.qualified_name(),
            names.join(", ")
        )));
    }
    let static_value = |column: &FieldRef| {
        spec.iter()
            .find(|(n, _)| n == column.name())
            .and_then(|(_, v)| v.clone())
    };
    let data = table.data_columns();
    let dynamic = partitions
        .iter()
        .filter(|p| static_value(p).is_none())
        .count();
    let inputs = rows.inner().schema().columns();
    if inputs.len() != data.len() + dynamic {
        let wanted: Vec<&str> = data
            .iter()
            .chain(partitions.iter().filter(|p| static_value(p).is_none()))
            .map(|f| f.name().as_str())
            .collect();
        return Err(Error::Input(format!(
            "[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to {}: the query gives {} columns, the \
             table takes {} ({})",
            table.qualified_name(),
            inputs.len(),
            wanted.len(),
            wanted.join(", ")
        )));
    }
    let mut inputs = inputs.into_iter().map(Expr::Column);
    let mut exprs = Vec::new();
    for column in data {
        let input = inputs.next().unwrap_or_else(|| lit(0));
        exprs.push(cast(input, file_type(column.data_type(), format)).alias(column.name()));
    }
    for column in partitions {
        let value = match static_value(column) {
            Some(value) => lit(value),
            None => {
                let input = inputs.next().unwrap_or_else(|| lit(0));
                coalesce(vec![cast(input, DataType::Utf8), lit(DEFAULT_PARTITION)])
            }
        };
        exprs.push(value.alias(column.name()));
    }
    let rows = rows.select(exprs)?;
    match format {
        WriteFormat::Text(serde) => text_lines(table, rows, serde),
        _ => Ok(rows),
    }
}

/// A data column's type in the files: Parquet's timestamps adjusted to UTC, which Spark reads
/// as its `timestamp`.
fn file_type(data_type: &DataType, format: &WriteFormat) -> DataType {
    match (data_type, format) {
        (DataType::Timestamp(unit, None), WriteFormat::Parquet) => {
            DataType::Timestamp(*unit, Some("UTC".into()))
        }
        _ => data_type.clone(),
    }
}

/// Rows of delimited text: one column `value` (the fields joined), then the partition columns.
fn text_lines(table: &HiveTable, rows: DataFrame, serde: &TextSerDe) -> Result<DataFrame> {
    let fields = table
        .data_columns()
        .iter()
        .map(|column| {
            let value = Expr::Column(datafusion::common::Column::from_name(column.name()));
            serde.write(value, column.data_type(), column.name())
        })
        .collect::<Result<Vec<_>>>()?;
    let mut exprs = vec![concat_ws(lit(serde.field.clone()), fields).alias("value")];
    for column in table.partition_columns() {
        exprs.push(Expr::Column(datafusion::common::Column::from_name(
            column.name(),
        )));
    }
    rows.select(exprs)
}

/// `%XX` escapes (Hive's and the object store's in directory names) decoded.
fn unescape(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The partition values of a `k1=v1/k2=v2` path.
fn partition_values(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.split_once('='))
        .map(|(_, value)| unescape(value))
        .collect()
}

/// Registers the partitions written under `staging` that the metastore lacks, then moves the
/// files into the table (after removing the ones they replace).
async fn publish(
    session: &SqlSession,
    catalog: &HiveCatalog,
    table: &HiveTable,
    staging: &str,
    overwrite: bool,
) -> Result<()> {
    let staged = session.env().resolve(staging)?;
    let root = session.env().resolve(table.location())?;
    let store = root.store.as_ref();
    let explain =
        |e: object_store::Error| Error::Input(ember_hadoop::object_stores::explain(&root.url, &e));
    let files: Vec<_> = staged
        .store
        .list(Some(&staged.path))
        .try_collect()
        .await
        .map_err(explain)?;
    // Files by their partition directory (`k=v/...`, empty for a table without partitions).
    let mut by_partition: BTreeMap<String, Vec<ObjectPath>> = BTreeMap::new();
    for file in files {
        let relative: Vec<String> = file
            .location
            .prefix_match(&staged.path)
            .into_iter()
            .flatten()
            .map(|p| p.as_ref().to_string())
            .collect();
        let Some((name, directories)) = relative.split_last() else {
            continue;
        };
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        by_partition
            .entry(directories.join("/"))
            .or_default()
            .push(file.location);
    }
    if !table.partition_columns().is_empty() {
        register_partitions(catalog, table, by_partition.keys())?;
    } else if overwrite {
        by_partition.entry(String::new()).or_default();
    }
    for (partition, files) in &by_partition {
        let directory = partition
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(root.path.clone(), |path, part| path.join(part));
        if overwrite {
            let old = store
                .list_with_delimiter(Some(&directory))
                .await
                .map_err(explain)?;
            for object in old.objects.iter().filter(|o| visible(&o.location)) {
                store.delete(&object.location).await.map_err(explain)?;
            }
        }
        for file in files {
            let target = directory.clone().join(file.filename().unwrap_or("part"));
            store.rename(file, &target).await.map_err(explain)?;
        }
    }
    Ok(())
}

fn visible(path: &ObjectPath) -> bool {
    path.filename()
        .is_some_and(|n| !n.starts_with('_') && !n.starts_with('.'))
}

/// Adds to the metastore the partitions among `written` (`k=v/...` paths) it does not have.
fn register_partitions<'a>(
    catalog: &HiveCatalog,
    table: &HiveTable,
    written: impl Iterator<Item = &'a String>,
) -> Result<()> {
    let metastore = catalog.metastore();
    let known: HashSet<Vec<String>> = metastore
        .partition_names(table.db(), table.name())?
        .iter()
        .map(|n| partition_values(n))
        .collect();
    let root = table.location().trim_end_matches('/');
    let new: Vec<Partition> = written
        .filter(|path| !known.contains(&partition_values(path)))
        .map(|path| Partition {
            values: Some(
                partition_values(path)
                    .into_iter()
                    .map(FastStr::from)
                    .collect(),
            ),
            db_name: Some(table.db().to_string().into()),
            table_name: Some(table.name().to_string().into()),
            create_time: Some(now()),
            sd: Some(StorageDescriptor {
                location: Some(format!("{root}/{path}").into()),
                ..table.storage_descriptor().clone()
            }),
            parameters: Some(AHashMap::default()),
            ..Partition::default()
        })
        .collect();
    if !new.is_empty() {
        metastore.add_partitions(new)?;
    }
    Ok(())
}

/// Removes the staging directory and what is left in it.
async fn remove(session: &SqlSession, staging: &str) -> Result<()> {
    let staged = session.env().resolve(staging)?;
    Ok(commit::delete_path(&staged).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_directories_give_their_values() {
        assert_eq!(partition_values("ds=2024-01-01/h=12"), ["2024-01-01", "12"]);
        assert_eq!(
            partition_values("city=S%C3%A3o%20Paulo%2F1"),
            ["São Paulo/1"]
        );
        assert_eq!(unescape("100%"), "100%");
    }
}
