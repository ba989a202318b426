//! What tasks report to the scheduler.

use super::local_backend::TaskId;
use super::task::TaskOutput;
use crate::error::Error;
use crate::task_context::MetricsSnapshot;

/// What a task slot tells the job that launched a task.
pub(crate) enum TaskUpdate {
    /// The attempt left the queue and is running.
    Started(TaskId),
    /// The attempt finished.
    Finished(TaskEvent),
}

/// One attempt of one task finished.
pub(crate) struct TaskEvent {
    pub id: TaskId,
    pub result: Result<TaskSuccess, TaskFailure>,
}

/// A task attempt succeeded.
pub(crate) struct TaskSuccess {
    pub output: TaskOutput,
    pub accumulator_updates: Vec<(u64, Vec<u8>)>,
    pub metrics: MetricsSnapshot,
}

/// A task attempt failed.
pub(crate) struct TaskFailure {
    pub error: Error,
}
