//! RDDs: the dataset abstraction, its transformations and actions.
//!
//! [`Rdd`] is the handle users hold. Behind it each transformation is a small struct
//! implementing [`RddCompute`], holding its parents and its serializable closures; the struct is
//! what tasks carry to executors (see [`crate::ship`]).
//!
//! [`Rdd::checkpoint`] and [`Rdd::local_checkpoint`] save an RDD's partitions, to files under
//! [`Context::set_checkpoint_dir`](crate::Context::set_checkpoint_dir) or to the executors' block
//! managers, and then cut its lineage: later jobs plan and compute nothing above it. Unlike Spark,
//! an RDD may be marked after jobs have already computed it: the next job that computes it
//! checkpoints it.

mod actions;
mod api;
mod approximate;
mod base;
mod binary_files;
mod checkpoint;
mod cogroup;
mod combined;
mod compression_codec;
mod file_status;
mod hyper_log_log;
mod lineage;
mod map_partitions;
mod numeric;
mod object_file;
mod pair;
mod pipe;
mod remote_input;
mod sample_by_key;
mod save;
mod sequence_file;
mod shuffled;
mod sources;
mod text_file;
mod upload;

pub use api::Rdd;
pub use approximate::BoundedDouble;
pub use base::{BoxIter, Dependency, RddBase, RddCompute, RddCore, RddRef, ShipRdd};
pub use cogroup::{CoGroupWith, Side4};
pub use compression_codec::CompressionCodec;
pub use file_status::FileStatus;
pub use map_partitions::{PartitionOp, Side};
pub use numeric::{Numeric, StatCounter};
pub use pair::{CoGrouped, FullJoined};
pub use pipe::PipeOptions;
pub use sequence_file::SequenceFileCompression;

pub(crate) use checkpoint::{after_job, dependencies_of, preferred_locations_of};
pub(crate) use combined::UnionRdd;
pub(crate) use remote_input::StoreCache;
pub(crate) use sources::{slice, EmptyRdd, ParallelCollectionRdd, RangeRdd, SliceOwner};
pub(crate) use text_file::{
    compute_splits, group_files, list_input_files, TextFileRdd, WholeTextFilesRdd,
};
