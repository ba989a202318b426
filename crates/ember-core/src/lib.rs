//! ember's core engine: RDDs, their scheduling into stages and tasks, the shuffle, storage of
//! cached partitions, broadcast variables and accumulators.
//!
//! This crate owns everything a job needs inside one application: the [`Context`], the [`Rdd`]
//! transformations and actions, the DAG scheduler, task slots as threads (`local[N]`) or as
//! executor processes of the same binary (`local-cluster[E,C,M]`, started by [`deploy`], run by
//! `executor`, spoken to over tonic as `network` describes), sort-based shuffle files with
//! spilling served between executors, the block manager and memory manager, and the file formats
//! of RDDs: text, and Hadoop sequence files with their [`Writable`] encodings and
//! [`CompressionCodec`]s. It does not read Hadoop configuration or talk to HDFS or S3
//! (`ember-hadoop`), and it has no SQL (`ember-sql`). Clusters that start executors, other than
//! `local-cluster`, are cluster managers that other crates provide and register
//! ([`deploy::ExternalClusterManager`]; ember-yarn's is `yarn`). Users depend on the `ember`
//! facade crate, which re-exports this one and links every cluster manager ember provides.
//!
//! ```
//! use ember_core::{Context, Fn};
//! let ctx = Context::with_master("local[2]").unwrap();
//! let evens = ctx.range(0, 100, 1, 4).unwrap().filter(Fn!(|x: &i64| x % 2 == 0));
//! assert_eq!(evens.count().unwrap(), 50);
//! assert_eq!(evens.sum().unwrap(), 2450.0);
//! ```
#![deny(missing_docs)]

pub mod accumulator;
mod aggregator;
pub mod broadcast;
pub mod conf;
mod context;
mod data;
pub mod deploy;
mod endpoint;
mod env;
mod error;
mod executor;
pub mod logging;
mod master;
mod network;
pub mod order;
mod partitioner;
pub mod rdd;
pub mod scheduler;
pub mod ship;
pub mod shuffle;
pub mod storage;
pub mod task_context;
pub mod writable;

pub use accumulator::{Accumulator, AccumulatorParam};
pub use aggregator::{Aggregator, NoAggregation};
pub use broadcast::Broadcast;
pub use conf::EmberConf;
pub use context::{Context, WeakContext};
pub use data::{Data, Func, Key};
pub use env::Env;
pub use error::{Error, Result};
pub use executor::ExecutorArgs;
pub use master::Master;
pub use partitioner::{
    HashPartitioner, Partitioner, PartitionerInfo, Partitioning, RangePartitioner,
};
pub use rdd::{
    BoundedDouble, BoxIter, CompressionCodec, PipeOptions, Rdd, SequenceFileCompression,
    StatCounter,
};
pub use scheduler::JobSummary;
pub use serde_closure::Fn;
pub use storage::StorageLevel;
pub use task_context::TaskContext;
pub use writable::Writable;
