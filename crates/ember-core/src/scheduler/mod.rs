//! Scheduling: from an action to tasks running in slots.
//!
//! - The [`DagScheduler`] cuts a job into stages at shuffle boundaries, runs missing parent
//!   stages first, reuses shuffle outputs across jobs, and handles task and fetch failures, on
//!   one event loop serving every job.
//! - Tasks ([`ShuffleMapTask`], [`ResultTask`]) are serialized with their lineage and run by a
//!   backend: task slots of this process for `local[N]` (`LocalBackend`), executor processes
//!   for `local-cluster` and the cluster managers of other crates (`ClusterBackend`); both run
//!   tasks with the executor's task runner.

mod cluster_backend;
mod dag_event_loop;
mod dag_scheduler;
mod event_log;
mod events;
pub(crate) mod local_backend;
pub mod locality;
mod output_commit_coordinator;
mod progress;
mod scheduler_backend;
mod stage;
mod task;
mod task_scheduler;

pub use dag_scheduler::JobSummary;
pub use task::{PartitionFunc, ResultTask, ShipTask, ShuffleMapTask, Task, TaskOutput};

pub(crate) use cluster_backend::ClusterBackend;
pub(crate) use dag_event_loop::JOB_GROUP_PROPERTY;
pub(crate) use dag_scheduler::{DagScheduler, SchedulerSettings};
pub(crate) use event_log::{now_millis, EventLog};
pub(crate) use events::{DagEvent, RemoteTaskResult, TaskEvent, TaskFailure, TaskSuccess};
pub(crate) use local_backend::{LocalBackend, STOPPED};
pub(crate) use output_commit_coordinator::{CommitAsk, OutputCommitCoordinator};
pub use scheduler_backend::ExecutorInfo;
pub(crate) use scheduler_backend::{SchedulerBackend, TaskId};
pub(crate) use task::decode_task_bytes;
