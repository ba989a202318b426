//! ember: Apache Spark's programming model in Rust, on the Hadoop clusters you already have.
//!
//! Applications depend on this crate. It re-exports the engine and links every cluster manager
//! ember provides, so that the same application binary runs on `local[N]`,
//! `local-cluster[E,C,M]` and `yarn`, whichever master `ember submit` gives it. An application
//! binary is also its own executor: started with the variables of [`ExecutorArgs`] (by a
//! `local-cluster` driver, or by a YARN NodeManager for the application's ApplicationMaster), it
//! becomes an executor before its `main` runs.
//!
//! # Architecture
//!
//! | crate | owns |
//! |---|---|
//! | `ember-core` | Context, RDDs, DAG and task scheduling (delay scheduling by locality), shuffle, storage, broadcast, accumulators, executor processes and the driver/executor RPC |
//! | `ember-hadoop` | Hadoop configuration, object stores for hdfs/s3/file paths, block locations, rack topology, Hadoop IPC and token files, the process's one I/O runtime |
//! | `ember-sql` | DataFrames and SQL on Apache DataFusion (`ember::sql`, feature `sql`): reading and writing CSV, JSON, Parquet, ORC and text |
//! | `ember-streaming` | DStreams (`ember::streaming`, feature `streaming`): micro-batches as jobs of RDD stages, windows, state |
//! | `ember-kafka` | Kafka (`ember::kafka`, feature `kafka`): RDDs of offset ranges, the direct stream |
//! | `ember-ml` | machine learning (`ember::ml`, feature `ml`) as Spark's `spark.ml`: vectors and their columns so far |
//! | `ember-yarn` | `--master yarn`: the cluster manager the driver finds for the URL, the client, the staging directory and the ApplicationMaster |
//! | `ember` | this facade |
//! | `ember-cli` | the `ember` command: `ember submit`, `status`, `kill`, built-in examples; `ember sql` with its feature `sql` |
//!
//! A job flows from an action on an [`Rdd`] to the DAG scheduler, which cuts the lineage into
//! stages at shuffle boundaries; each stage's tasks are serialized with their closures and run on
//! task slots (threads in `local[N]`, executor processes in `local-cluster[E,C,M]` and YARN
//! containers); map tasks
//! write sorted, indexed shuffle files that the next stage reads, from disk or over the network.
//! Each process has one tokio runtime for all its network and store I/O; the engine's own
//! threads are plain threads (`docs/threads-and-runtimes.md` lists them all, with the rules of
//! what may block where).
//!
//! # Getting started
//!
//! Closures that run on executors are written with the [`Fn!`] macro, which makes them
//! serializable. The macro expands to code that names the `serde_closure` and `serde` crates,
//! so an application depends on them too. ember is not on crates.io: depend on a checkout of
//! its repository by path (or on the repository by git), and start from its `Cargo.lock` so
//! that the dependencies are the versions ember is tested with (the README's "Writing an
//! application" says how):
//!
//! ```toml
//! [dependencies]
//! ember = { path = "/path/to/ember/crates/ember" }
//! serde = { version = "1", features = ["derive"] }
//! serde_closure = "0.3"
//! ```
//!
//! The facade alone holds RDDs, shared variables, HDFS and S3 I/O (text files, and Hadoop
//! sequence files through [`Context::sequence_file`] and [`Writable`]) and every master. DataFrames
//! and SQL (`ember::sql`, on Apache DataFusion) come with the `sql` feature,
//! `ember = { path = "...", features = ["sql"] }`: like Spark's `spark-sql` beside
//! `spark-core`, a program of RDDs compiles no SQL engine.
//!
//! # Example
//!
//! ```
//! use ember::{Context, Fn};
//! let ctx = Context::with_master("local[2]").unwrap();
//! let lines = ctx.parallelize(vec!["to be or".to_string(), "not to be".to_string()], 2);
//! let counts = lines
//!     .flat_map(Fn!(|l: String| l.split_ascii_whitespace().map(String::from).collect::<Vec<_>>()))
//!     .map(Fn!(|w: String| (w, 1u64)))
//!     .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
//!     .collect_as_map()
//!     .unwrap();
//! assert_eq!(counts["to"], 2);
//! assert_eq!(counts["not"], 1);
//! ```
#![deny(missing_docs)]

pub use ember_core::*;

/// ember on YARN (the `ember-yarn` crate): the cluster manager of `--master yarn`, the client
/// that submits applications and the ApplicationMaster. Named here so that it is linked into
/// every application: a cluster manager is found only when its crate is (see
/// [`deploy::cluster_manager`]).
pub use ember_yarn as yarn;

/// DataFrames and SQL, with the `sql` feature: `use ember::sql::SqlContextExt` gives a
/// [`Context`] `read()` and `sql()` (see the `ember-sql` crate).
#[cfg(feature = "sql")]
pub use ember_sql as sql;

/// Sends ember's log to stderr: `info` for ember's own messages (stage failures, job
/// summaries), `warn` for everything else. `EMBER_LOG` overrides the filter with the usual
/// `tracing` directives, such as `EMBER_LOG=debug` or `EMBER_LOG=ember_core=warn`. The
/// metastore client's own connection errors stay quiet: the failed statement reports them.
///
/// Call it once at the start of `main`; later calls do nothing.
pub fn init_logging() {
    ember_core::logging::init(
        "warn,ember_core=info,ember_streaming=info,ember_kafka=info,ember_yarn=info,volo=off,volo_thrift=off",
    );
}

/// Spark Streaming's DStreams, with the `streaming` feature: a
/// [`StreamingContext`](ember_streaming::StreamingContext) runs a batch of RDD stages every
/// batch interval (see the `ember-streaming` crate).
#[cfg(feature = "streaming")]
pub use ember_streaming as streaming;

/// Apache Kafka, with the `kafka` feature: RDDs of offset ranges and the direct stream (see
/// the `ember-kafka` crate).
#[cfg(feature = "kafka")]
pub use ember_kafka as kafka;

/// Machine learning as Spark's `spark.ml`, with the `ml` feature (see the `ember-ml` crate).
#[cfg(feature = "ml")]
pub use ember_ml as ml;
