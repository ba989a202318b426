//! Scheduling: from an action to tasks running in slots.
//!
//! - The [`DagScheduler`] cuts a job into stages at shuffle boundaries, runs missing parent
//!   stages first, reuses shuffle outputs across jobs, and handles task and fetch failures.
//! - Tasks ([`ShuffleMapTask`], [`ResultTask`]) are serialized with their lineage and run by a
//!   backend; in local mode by [`LocalBackend`] threads.

mod dag_scheduler;
mod events;
mod local_backend;
mod progress;
mod stage;
mod task;

pub use dag_scheduler::JobSummary;
pub use task::{PartitionFunc, ResultTask, ShipTask, ShuffleMapTask, Task, TaskOutput};

pub(crate) use dag_scheduler::{DagScheduler, SchedulerSettings};
pub(crate) use local_backend::LocalBackend;
