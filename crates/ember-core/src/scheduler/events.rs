//! The DAG scheduler's events: jobs submitted by callers, and what task slots report.
//!
//! Everything reaches the scheduler's event loop through one channel of [`DagEvent`]s, so its
//! state has one owner and no locks: a job's caller posts [`DagEvent::JobSubmitted`] and
//! blocks on the job's reply; backends post each attempt's updates through the [`TaskReply`]
//! that came with the attempt.

use super::dag_scheduler::ResultTaskMaker;
use super::locality::TaskLocality;
use super::scheduler_backend::TaskId;
use super::task::TaskOutput;
use crate::error::{Error, RemoteError, Result};
use crate::rdd::RddBase;
use crate::task_context::MetricsSnapshot;
use crossbeam_channel::Sender;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// What the DAG scheduler's event loop handles, in the order it arrives.
pub(crate) enum DagEvent {
    /// A caller wants a job run.
    JobSubmitted(Box<JobSubmission>),
    /// A task slot reports on an attempt.
    Task(Box<TaskUpdate>),
    /// Every active job of a job group is cancelled (Spark's `cancelJobGroup`).
    CancelJobGroup(String),
    /// Every active job is cancelled (Spark's `cancelAllJobs`).
    CancelAllJobs,
    /// The application stops: every job still active fails.
    Stop,
}

/// A job as its caller submits it.
pub(crate) struct JobSubmission {
    /// The RDD whose partitions the job computes.
    pub rdd: Arc<dyn RddBase>,
    /// Which of its partitions, in the order the results come back.
    pub partitions: Vec<usize>,
    /// Makes the result task of one of those partitions.
    pub make_task: ResultTaskMaker,
    /// Receives each partition's serialized value, or why the job failed.
    pub reply: Sender<Result<Vec<Vec<u8>>>>,
    /// The submitting thread's local properties (`ember.scheduler.pool`, the job group).
    pub properties: Arc<HashMap<String, String>>,
}

/// Where a backend reports on an attempt: the DAG scheduler's event loop.
#[derive(Clone)]
pub(crate) struct TaskReply(Sender<DagEvent>);

impl TaskReply {
    pub(crate) fn new(events: Sender<DagEvent>) -> Self {
        TaskReply(events)
    }

    /// Reports `update`; false once the scheduler has gone.
    pub(crate) fn send(&self, update: TaskUpdate) -> bool {
        self.0.send(DagEvent::Task(Box::new(update))).is_ok()
    }
}

/// What a task slot tells the scheduler of an attempt.
pub(crate) enum TaskUpdate {
    /// The attempt left the queue and is running there.
    Started(TaskId, TaskPlace),
    /// The attempt finished.
    Finished(TaskEvent),
    /// The attempt runs much longer than its stage's others on the executor named: a copy
    /// should run elsewhere (speculation).
    SpeculationWanted(TaskId, String),
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
