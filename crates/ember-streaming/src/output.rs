//! Output operations: what turns a batch of the stream graph into jobs (Spark's
//! `ForEachDStream`). Every output the application registered makes one job per batch, in the
//! order the outputs were registered.

use crate::dstream::GraphNode;
use crate::time::Time;
use ember_core::Result;
use std::sync::Arc;

/// One batch's work for one output: run on a streaming job thread, it runs the ember jobs of
/// the output's action.
pub(crate) type OutputJob = Box<dyn FnOnce() -> Result<()> + Send>;

type Generate = Box<dyn Fn(Time) -> Result<Option<OutputJob>> + Send + Sync>;

/// An output of the graph: the stream it reads and how it makes a batch's job.
pub(crate) struct OutputOp {
    pub(crate) stream: Arc<dyn GraphNode>,
    generate: Generate,
}

impl OutputOp {
    pub(crate) fn new(
        stream: Arc<dyn GraphNode>,
        generate: impl Fn(Time) -> Result<Option<OutputJob>> + Send + Sync + 'static,
    ) -> OutputOp {
        OutputOp {
            stream,
            generate: Box::new(generate),
        }
    }

    /// The job of batch `time`, if the stream has an RDD then (a window has one only every
    /// slide).
    ///
    /// # Errors
    /// Making the batch's RDD failed.
    pub(crate) fn generate_job(&self, time: Time) -> Result<Option<OutputJob>> {
        (self.generate)(time)
    }
}
