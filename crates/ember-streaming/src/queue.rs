//! The queue a [`queue_stream`](crate::StreamingContext::queue_stream) reads: RDDs pushed by
//! the program, taken by batches.

use ember_core::{Data, Rdd};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// RDDs waiting to become batches of a queue stream. Cheap to clone: clones are the same queue.
pub struct RddQueue<T: Data> {
    rdds: Arc<Mutex<VecDeque<Rdd<T>>>>,
}

impl<T: Data> Clone for RddQueue<T> {
    fn clone(&self) -> Self {
        RddQueue {
            rdds: self.rdds.clone(),
        }
    }
}

impl<T: Data> Default for RddQueue<T> {
    fn default() -> Self {
        RddQueue {
            rdds: Arc::default(),
        }
    }
}

impl<T: Data> RddQueue<T> {
    /// An empty queue.
    pub fn new() -> RddQueue<T> {
        RddQueue::default()
    }

    /// Adds `rdd` at the end.
    pub fn push(&self, rdd: Rdd<T>) {
        self.rdds.lock().push_back(rdd);
    }

    /// How many RDDs wait.
    pub fn len(&self) -> usize {
        self.rdds.lock().len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first RDD, or all of them.
    pub(crate) fn take(&self, one: bool) -> Vec<Rdd<T>> {
        let mut rdds = self.rdds.lock();
        match one {
            true => rdds.pop_front().into_iter().collect(),
            false => rdds.drain(..).collect(),
        }
    }
}
