//! RDDs: the dataset abstraction, its transformations and actions.
//!
//! [`Rdd`] is the handle users hold. Behind it each transformation is a small struct
//! implementing [`RddCompute`], holding its parents and its serializable closures; the struct is
//! what tasks carry to executors (see [`crate::ship`]).

mod actions;
mod api;
mod base;
mod combined;
mod compression_codec;
mod map_partitions;
mod numeric;
mod pair;
mod remote_input;
mod save;
mod save_remote;
mod sequence_file;
mod shuffled;
mod sources;
mod text_file;

pub use api::Rdd;
pub use base::{BoxIter, Dependency, RddBase, RddCompute, RddCore, RddRef, ShipRdd};
pub use compression_codec::CompressionCodec;
pub use map_partitions::{PartitionOp, Side};
pub use numeric::{Numeric, StatCounter};
pub use pair::{CoGrouped, FullJoined};
pub use sequence_file::SequenceFileCompression;

pub(crate) use combined::UnionRdd;
pub(crate) use remote_input::StoreCache;
pub(crate) use sources::{slice, EmptyRdd, ParallelCollectionRdd, RangeRdd, SliceOwner};
pub(crate) use text_file::{
    compute_splits, group_files, list_input_files, TextFileRdd, WholeTextFilesRdd,
};
