//! Object files: `save_as_object_file` and `object_file` (Spark's `saveAsObjectFile` and
//! `SparkContext.objectFile`).
//!
//! # The format
//!
//! An object file is a directory of Hadoop sequence files, written and read by the code of
//! `save_as_sequence_file` and `sequence_file`, uncompressed, in Spark's shape:
//!
//! ```text
//! key   org.apache.hadoop.io.NullWritable   nothing
//! value org.apache.hadoop.io.BytesWritable  a batch of up to 10 elements, in partition order
//! ```
//!
//! So Hadoop's tools list and split them like any sequence file. The bytes of a batch are
//! ember's encoding, not Java serialization: bincode of a `Vec<T>`, the format ember ships
//! values in. Spark cannot decode them and ember cannot decode Spark's; an object file is read
//! back by `object_file` with the same `T`, by the same build or one whose `T` encodes alike.

use super::{BoxIter, PartitionOp, Rdd, SequenceFileCompression};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::task_context::abort;
use bincode::Options;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// Elements per record, as Spark batches them.
const BATCH: usize = 10;

impl<T: Data> Rdd<T> {
    /// Writes the elements as an object file (Spark's `saveAsObjectFile`): sequence files of
    /// `NullWritable` keys and `BytesWritable` values, each value a batch of up to 10 elements
    /// in ember's encoding (bincode), not Java serialization. [`Context::object_file`] reads it
    /// back.
    ///
    /// ```
    /// use ember_core::Context;
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = format!("file://{}/points", dir.path().display());
    /// let points: Vec<(String, f64)> = (0..25).map(|i| (format!("p{i}"), i as f64 / 2.0)).collect();
    /// ctx.parallelize(points.clone(), 2).save_as_object_file(&out).unwrap();
    /// let back = ctx.object_file::<(String, f64)>(&out, 0).unwrap();
    /// assert_eq!(back.collect().unwrap(), points);
    /// // Sequence files of Spark's classes: partitions of 12 and 13 make batches of 10 and 2,
    /// // 10 and 3.
    /// let batches = ctx.sequence_file::<(), Vec<u8>>(&out, 0).unwrap().count().unwrap();
    /// assert_eq!(batches, 4);
    /// ```
    ///
    /// # Errors
    /// As [`Rdd::save_as_text_file`]: the directory exists already (remove it, choose another,
    /// or set `ember.hadoop.validateOutputSpecs=false`), or the job failed (then nothing of it
    /// is left at `path`).
    pub fn save_as_object_file(&self, path: &str) -> Result<()> {
        self.with_op("save_as_object_file", BatchOp)
            .save_as_sequence_file_with(path, SequenceFileCompression::None)
    }
}

impl Context {
    /// The elements of an object file written by [`Rdd::save_as_object_file`] with the same `T`
    /// (Spark's `objectFile`): a file, a directory, a glob, or a comma-separated list of them,
    /// as [`Context::sequence_file`] takes them, in at least `min_partitions` partitions.
    ///
    /// ```
    /// # use ember_core::Context;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("ids").display().to_string();
    /// ctx.range(0, 100, 1, 4).unwrap().save_as_object_file(&out).unwrap();
    /// let ids = ctx.object_file::<i64>(&out, 0).unwrap();
    /// assert_eq!(ids.sum().unwrap(), 4950.0);
    /// // The element type must be the one saved.
    /// assert!(ctx.object_file::<String>(&out, 0).unwrap().count().is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Context::sequence_file`]: a path that matches nothing, or files that are not
    /// sequence files of `NullWritable` and `BytesWritable`. A batch that does not decode as
    /// `T`s fails the job that reads it, naming `T` and `path`.
    pub fn object_file<T: Data>(&self, path: &str, min_partitions: usize) -> Result<Rdd<T>> {
        let batches = self.sequence_file::<(), Vec<u8>>(path, min_partitions)?;
        Ok(batches.with_op(
            "object_file",
            UnbatchOp {
                path: path.to_string(),
                _t: PhantomData,
            },
        ))
    }
}

/// Batches of up to 10 elements as `(NullWritable, BytesWritable)` records.
#[derive(Serialize, Deserialize)]
struct BatchOp;

impl<T: Data> PartitionOp<T, ((), Vec<u8>)> for BatchOp {
    fn apply(self: Arc<Self>, _: usize, mut input: BoxIter<T>) -> BoxIter<((), Vec<u8>)> {
        Box::new(std::iter::from_fn(move || {
            let batch: Vec<T> = input.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                return None;
            }
            let bytes = bincode::serialize(&batch).unwrap_or_else(|e| {
                abort(Error::Serialization(format!(
                    "an element of {} for an object file: {e}",
                    std::any::type_name::<T>()
                )))
            });
            Some(((), bytes))
        }))
    }
}

/// Each record's batch, decoded, as elements; decoded as `bincode::serialize` encodes.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct UnbatchOp<T> {
    /// The user's path, for messages.
    path: String,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Data> PartitionOp<((), Vec<u8>), T> for UnbatchOp<T> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<((), Vec<u8>)>) -> BoxIter<T> {
        Box::new(input.flat_map(move |((), bytes)| {
            // Bytes left over mean another type: refused, not dropped.
            let strict = bincode::DefaultOptions::new().with_fixint_encoding();
            strict.deserialize::<Vec<T>>(&bytes).unwrap_or_else(|e| {
                abort(Error::Input(format!(
                    "object file {}: a batch does not decode as {}: {e}; read it with the \
                     element type it was saved with by save_as_object_file",
                    self.path,
                    std::any::type_name::<Vec<T>>()
                )))
            })
        }))
    }
}
