//! DataFrames and SQL for ember, on [Apache DataFusion](https://datafusion.apache.org): Spark's
//! `spark.read`, `DataFrame` and `spark.sql` for an ember [`Context`].
//!
//! This crate owns the DataFrame API ([`DataFrame`], [`GroupedData`]), reading
//! ([`DataFrameReader`]: CSV, JSON lines, Parquet, ORC, text) and writing
//! ([`DataFrameWriter`]: the same formats, Spark's save modes, partitioned output, committed
//! like RDD output) of local, HDFS and S3 paths
//! through ember's object stores, SQL with temporary views (including Spark's
//! `CREATE TEMPORARY VIEW ... USING <format> OPTIONS (path '...')`), scalar UDFs written as
//! Rust closures ([`SqlContextExt::register_udf`]), and printing rows the way
//! Spark does ([`output`]). Parsing, planning and executing queries is DataFusion's; ember
//! writes no SQL parser or optimizer.
//!
//! Queries run as stages of ember tasks on the application's executors (`distributed`):
//! DataFusion's physical plan is cut where rows change partitions, the pieces travel in
//! DataFusion's protobuf form, and rows cross stages as Arrow IPC through ember's shuffle; the
//! engine's DAG scheduler, locality, retries and fetch-failure recovery apply as to RDD jobs.
//! Under `local[N]` a query runs whole on the driver's threads unless `ember.sql.distributed`
//! is set ([`DISTRIBUTED`]). Scan tasks prefer the hosts holding their HDFS blocks. Partition
//! directories (`column=value`) are discovered on read.
//!
//! RDDs of serde records become DataFrames and back ([`RddDataFrameExt::to_data_frame`],
//! [`DataFrame::to_rdd`]) without passing through the driver.
//!
//! ORC is scanned and written by ember's own DataFusion pieces (`formats`) over orc-rust's
//! decoder and encoder; text is read through ember-core's text input (Hadoop's splits,
//! gzip, globs) as a DataFrame over an RDD, and written one line per row.
//!
//! Memory: DataFusion's operators hold what ember's memory manager grants and spill under
//! `ember.local.dir` (`memory`).
//!
//! Threads: DataFusion's operators compute on two runtimes of this crate, kept off the
//! process's I/O runtime so that a busy query never delays RPC or store I/O: a session's
//! `ember-sql` threads (as many as the application's parallelism) plan, and run whole queries
//! under `local[N]`; a process's `ember-sql-task` threads run the operators of SQL tasks. Store,
//! metastore and NameNode calls go to the I/O runtime ([`ember_hadoop::io_runtime`]);
//! `docs/threads-and-runtimes.md` has the rules.
//!
//! ```
//! use ember_core::Context;
//! use ember_sql::{col, lit, SqlContextExt};
//! let dir = tempfile::tempdir().unwrap();
//! let people = dir.path().join("people.csv");
//! std::fs::write(&people, "name,age\nann,31\nbob,17\ncid,45\n").unwrap();
//! let ctx = Context::with_master("local[2]").unwrap();
//! let adults = ctx
//!     .read()
//!     .option("header", "true")
//!     .option("inferSchema", "true")
//!     .csv(people.to_str().unwrap())
//!     .unwrap()
//!     .filter(col("age").gt_eq(lit(18)))
//!     .unwrap();
//! assert_eq!(adults.count().unwrap(), 2);
//! adults.create_or_replace_temp_view("adults").unwrap();
//! let names = ctx.sql("SELECT name FROM adults ORDER BY name").unwrap();
//! assert_eq!(names.tab_rows(false).unwrap(), "ann\ncid\n");
//! ```
#![deny(missing_docs)]

mod conversions;
mod dataframe;
mod distributed;
mod error;
mod formats;
pub mod hive;
mod json;
mod memory;
pub mod output;
mod reader;
mod semi_join;
mod session;
mod statements;
mod stores;
pub mod streaming;
mod udf;
mod writer;

pub use conversions::{ArrowBatch, ArrowRddExt, RddDataFrameExt};
pub use dataframe::{DataFrame, GroupedData};
pub use distributed::CREATION_SIDE_THRESHOLD;
pub use error::{Error, Result};
pub use json::from_json;
pub use reader::DataFrameReader;
pub use session::{SqlContextExt, DISTRIBUTED, EXCLUDED_RULES, PREFER_SORT_MERGE_JOIN};
pub use statements::split_statements;
pub use streaming::{interval, session_window, sliding_window, window};
pub use udf::{column_function, ColumnFunction, UdfValue};
pub use writer::{DataFrameWriter, SaveMode};

pub use datafusion::arrow::datatypes::{DataType, Field, Schema};
pub use datafusion::arrow::record_batch::RecordBatch;
pub use datafusion::functions_aggregate::expr_fn::{avg, count, max, min, sum};
pub use datafusion::prelude::{cast, col, lit, Expr, JoinType};

/// Context is the entry point, as in the engine.
pub use ember_core::Context;
