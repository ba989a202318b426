//! What tasks report to the scheduler.

use super::locality::TaskLocality;
use super::scheduler_backend::TaskId;
use super::task::TaskOutput;
use crate::error::{Error, RemoteError};
use crate::task_context::MetricsSnapshot;
use serde::{Deserialize, Serialize};

/// What a task slot tells the job that launched a task.
pub(crate) enum TaskUpdate {
    /// The attempt left the queue and is running there.
    Started(TaskId, TaskPlace),
    /// The attempt finished.
    Finished(TaskEvent),
}

/// Where an attempt runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskPlace {
    pub executor_id: String,
    pub host: String,
    /// How close to its data.
    pub locality: TaskLocality,
}

/// One attempt of one task finished.
pub(crate) struct TaskEvent {
    pub id: TaskId,
    pub result: Result<TaskSuccess, TaskFailure>,
}

/// A task attempt succeeded.
#[derive(Serialize, Deserialize)]
pub(crate) struct TaskSuccess {
    pub output: TaskOutput,
    pub accumulator_updates: Vec<(u64, Vec<u8>)>,
    pub metrics: MetricsSnapshot,
    /// Where the attempt ran.
    pub executor_id: String,
    /// Partitions `(rdd, partition)` it cached there.
    pub cached_blocks: Vec<(usize, usize)>,
}

/// A task attempt failed.
pub(crate) struct TaskFailure {
    pub error: Error,
}

/// How an executor reports a finished attempt to the driver.
#[derive(Serialize, Deserialize)]
pub(crate) enum RemoteTaskResult {
    Success(TaskSuccess),
    Failure(RemoteError),
}

impl From<Result<TaskSuccess, TaskFailure>> for RemoteTaskResult {
    fn from(result: Result<TaskSuccess, TaskFailure>) -> Self {
        match result {
            Ok(success) => RemoteTaskResult::Success(success),
            Err(failure) => RemoteTaskResult::Failure(RemoteError::from(&failure.error)),
        }
    }
}
