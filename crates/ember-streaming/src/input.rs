//! Input streams made outside this crate (Spark's `InputDStream`): a source says what each
//! batch reads, and what it must remember across a driver restart.
//!
//! A connector (ember-kafka's direct stream) implements [`InputSource`] and hands it to
//! [`StreamingContext::input_stream`](crate::StreamingContext::input_stream). The source is
//! asked for one RDD per batch, on the driver, when the batch is due; with a checkpoint
//! directory its [`checkpoint_state`](InputSource::checkpoint_state) goes into every metadata
//! checkpoint, and a driver restarted with
//! [`get_or_create`](crate::StreamingContext::get_or_create) gives it back to
//! [`restore`](InputSource::restore) before the first batch.

use crate::checkpoint::NodeCheckpoint;
use crate::dstream::SourceState;
use crate::time::Time;
use ember_core::{Context, Data, Rdd, Result};
use std::sync::Arc;

/// What an input stream reads in each batch.
pub trait InputSource<T: Data>: Send + Sync + 'static {
    /// The RDD of batch `time`; `None` when the batch reads nothing.
    ///
    /// # Errors
    /// The source cannot be read; the batch's jobs fail with this error.
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>>;

    /// What the source must know to go on after a driver restart (such as the offsets each
    /// batch read), as JSON; nothing by default.
    fn checkpoint_state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Takes back what [`checkpoint_state`](InputSource::checkpoint_state) gave, in a
    /// restarted driver; returns the RDDs of the batches it had made, which run again
    /// unchanged.
    ///
    /// # Errors
    /// The state is not what this source writes.
    fn restore(&self, _ctx: &Context, _state: &serde_json::Value) -> Result<Vec<(Time, Rdd<T>)>> {
        Ok(Vec::new())
    }
}

/// An [`InputSource`] as the graph keeps a source's state.
pub(crate) struct SourceOf<S>(pub(crate) Arc<S>);

impl<T: Data, S: InputSource<T>> SourceState<T> for SourceOf<S> {
    fn save(&self, data: &mut NodeCheckpoint) {
        let state = self.0.checkpoint_state();
        if !state.is_null() {
            data.source = Some(state);
        }
    }

    fn restore(&self, ctx: &Context, data: &NodeCheckpoint) -> Result<Vec<(Time, Rdd<T>)>> {
        match &data.source {
            Some(state) => self.0.restore(ctx, state),
            None => Ok(Vec::new()),
        }
    }
}
