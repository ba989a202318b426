//! What a running task knows about itself (Spark's `TaskContext`).

use crate::env::Env;
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Counters a task reports with its result; the job summary adds them up.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// Records the task's output produced or wrote to the shuffle.
    pub records_written: AtomicU64,
    /// Bytes written to shuffle data files.
    pub shuffle_bytes_written: AtomicU64,
    /// Bytes of shuffle data read.
    pub shuffle_bytes_read: AtomicU64,
    /// Records of shuffle data read.
    pub shuffle_records_read: AtomicU64,
    /// Bytes written to disk by spills.
    pub spill_bytes: AtomicU64,
    /// Spills.
    pub spill_count: AtomicU64,
}

impl TaskMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `count` spills of `bytes` in all, made by code outside the engine's own
    /// collections (SQL operators), so that the job summary shows them with the rest.
    pub fn add_spills(&self, count: u64, bytes: u64) {
        TaskMetrics::add(&self.spill_count, count);
        TaskMetrics::add(&self.spill_bytes, bytes);
    }

    /// A plain copy of the counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            records_written: get(&self.records_written),
            shuffle_bytes_written: get(&self.shuffle_bytes_written),
            shuffle_bytes_read: get(&self.shuffle_bytes_read),
            shuffle_records_read: get(&self.shuffle_records_read),
            spill_bytes: get(&self.spill_bytes),
            spill_count: get(&self.spill_count),
        }
    }
}

/// The counters of one task (or the sum over many), as plain numbers.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct MetricsSnapshot {
    pub records_written: u64,
    pub shuffle_bytes_written: u64,
    pub shuffle_bytes_read: u64,
    pub shuffle_records_read: u64,
    pub spill_bytes: u64,
    pub spill_count: u64,
}

impl std::ops::AddAssign for MetricsSnapshot {
    fn add_assign(&mut self, o: Self) {
        self.records_written += o.records_written;
        self.shuffle_bytes_written += o.shuffle_bytes_written;
        self.shuffle_bytes_read += o.shuffle_bytes_read;
        self.shuffle_records_read += o.shuffle_records_read;
        self.spill_bytes += o.spill_bytes;
        self.spill_count += o.spill_count;
    }
}

/// A task-local accumulator value, and how to serialize it for the driver.
pub(crate) struct LocalAccumulator {
    pub value: Box<dyn Any + Send>,
    pub encode: fn(&(dyn Any + Send)) -> Result<Vec<u8>, Error>,
}

/// What a running task knows about itself.
pub struct TaskContext {
    /// The stage this task belongs to.
    pub stage_id: usize,
    /// Which attempt of the stage.
    pub stage_attempt: usize,
    /// The partition it computes.
    pub partition_id: usize,
    /// 0 for the first attempt of this task, 1 for the first retry, ...
    pub attempt_number: usize,
    /// Unique across the application.
    pub task_attempt_id: u64,
    env: Arc<Env>,
    metrics: TaskMetrics,
    accumulators: Mutex<Vec<(u64, LocalAccumulator)>>,
    /// Cached partitions `(rdd, partition)` this task stored, for the driver to prefer this
    /// executor for them later.
    stored_blocks: Mutex<Vec<(usize, usize)>>,
    /// Set when the attempt is killed: it stops at its next record.
    killed: Arc<AtomicBool>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("stage_id", &self.stage_id)
            .field("partition_id", &self.partition_id)
            .field("attempt_number", &self.attempt_number)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<TaskContext>>> = const { RefCell::new(None) };
}

/// Ends the running task with `error` from inside an iterator, where `?` cannot reach.
///
/// The task runner catches it and reports the task as failed with this error (a fetch failure
/// makes the scheduler rerun the map stage; anything else is retried like a panic).
pub fn abort(error: Error) -> ! {
    std::panic::panic_any(TaskAbort(error))
}

/// Runs `f` for `tc`'s task on another thread (work a task hands to a thread of its own): `tc`
/// is the thread's current task while `f` runs, and an [`abort`] or panic in `f` comes back as
/// the error the task would have failed with, a fetch failure included.
///
/// # Errors
/// `f` aborted or panicked.
pub fn run_as_task<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> Result<R> {
    crate::executor::task_runner::run_as_task(tc, f)
}

/// The panic payload of [`abort`].
pub(crate) struct TaskAbort(pub Error);

impl TaskContext {
    pub(crate) fn new(
        env: Arc<Env>,
        stage_id: usize,
        stage_attempt: usize,
        partition_id: usize,
        attempt_number: usize,
        task_attempt_id: u64,
        killed: Arc<AtomicBool>,
    ) -> Self {
        TaskContext {
            killed,
            stage_id,
            stage_attempt,
            partition_id,
            attempt_number,
            task_attempt_id,
            env,
            metrics: TaskMetrics::default(),
            accumulators: Mutex::new(Vec::new()),
            stored_blocks: Mutex::new(Vec::new()),
        }
    }

    /// The context of the task running on this thread; `None` on the driver.
    pub fn get() -> Option<Arc<TaskContext>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Runs `f` with `tc` as this thread's current task.
    pub(crate) fn enter<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> R {
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                CURRENT.with(|c| c.borrow_mut().take());
            }
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(tc.clone()));
        let _leave = Leave;
        f()
    }

    /// The id of the executor running the task (`driver` in local mode).
    pub fn executor_id(&self) -> &str {
        &self.env.executor_id
    }

    /// Notes that the task cached partition `partition` of RDD `rdd` on its executor.
    pub(crate) fn block_stored(&self, rdd: usize, partition: usize) {
        self.stored_blocks.lock().push((rdd, partition));
    }

    /// The partitions the task cached.
    pub(crate) fn stored_blocks(&self) -> Vec<(usize, usize)> {
        self.stored_blocks.lock().clone()
    }

    /// Whether the attempt was killed (its job was cancelled or ended without it); it stops at
    /// its next record (Spark's `isInterrupted`). Long work inside one record may look here.
    pub fn is_interrupted(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// `records`, stopping the task at the first record after it was killed (Spark's
    /// `InterruptibleIterator`).
    pub(crate) fn interruptible<T: 'static>(
        self: &Arc<Self>,
        records: crate::rdd::BoxIter<T>,
    ) -> crate::rdd::BoxIter<T> {
        let tc = self.clone();
        Box::new(records.inspect(move |_| {
            if tc.is_interrupted() {
                abort(Error::TaskKilled(
                    "no job needs the attempt any more".into(),
                ));
            }
        }))
    }

    /// The executor's services.
    pub fn env(&self) -> &Arc<Env> {
        &self.env
    }

    /// This task's counters.
    pub fn metrics(&self) -> &TaskMetrics {
        &self.metrics
    }

    /// Applies `update` to this task's local value of accumulator `id`, creating it with `zero`.
    pub(crate) fn update_accumulator<V: Send + 'static>(
        &self,
        id: u64,
        zero: impl FnOnce() -> V,
        encode: fn(&(dyn Any + Send)) -> Result<Vec<u8>, Error>,
        update: impl FnOnce(&mut V),
    ) {
        let mut accs = self.accumulators.lock();
        let at = match accs.iter().position(|(i, _)| *i == id) {
            Some(at) => at,
            None => {
                let value = LocalAccumulator {
                    value: Box::new(zero()),
                    encode,
                };
                accs.push((id, value));
                accs.len() - 1
            }
        };
        if let Some(v) = accs[at].1.value.downcast_mut::<V>() {
            update(v);
        }
    }

    /// The serialized accumulator updates of this attempt, for the driver to merge.
    pub(crate) fn accumulator_updates(&self) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        self.accumulators
            .lock()
            .iter()
            .map(|(id, acc)| Ok((*id, (acc.encode)(&*acc.value)?)))
            .collect()
    }
}
