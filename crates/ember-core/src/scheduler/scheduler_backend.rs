//! Where task slots come from (Spark's `SchedulerBackend`).
//!
//! The DAG scheduler hands every task attempt to a backend as a [`Launch`] and hears back
//! through the attempt's [`TaskReply`]: first [`TaskUpdate::Started`](super::events::TaskUpdate::Started), then exactly one
//! [`TaskUpdate::Finished`](super::events::TaskUpdate::Finished), whatever happens to the slot (a lost executor finishes its attempts
//! with [`Error::ExecutorLost`](crate::Error::ExecutorLost)).
//!
//! - [`LocalBackend`](super::LocalBackend): threads of this process (`local[N]`).
//! - [`ClusterBackend`](super::ClusterBackend): executor processes connected over the network
//!   (`local-cluster[E,C,M]`, and the executors of cluster managers, see
//!   [`deploy::cluster_manager`](crate::deploy::cluster_manager)).

use super::events::TaskReply;
use super::locality::TaskLocality;
use crate::storage::BlockId;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Identifies one attempt of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskId {
    pub stage_id: usize,
    pub stage_attempt: usize,
    /// The stage's index of the task: the position in the job's partition list for a result
    /// stage, the map partition for a shuffle map stage.
    pub partition: usize,
    /// The partition of the RDD the task computes, as user code sees it.
    pub rdd_partition: usize,
    pub attempt: usize,
    pub task_attempt_id: u64,
}

/// A task on its way to a slot.
pub(crate) struct Launch {
    pub id: TaskId,
    pub bytes: Vec<u8>,
    pub reply: TaskReply,
    /// Set when no job needs the stage any more: queued attempts are then reported without
    /// running.
    pub cancelled: Arc<AtomicBool>,
    /// Executors holding a cached partition the task reads, best first (PROCESS_LOCAL).
    pub preferred: Vec<String>,
    /// Hosts holding the task's input, those with the most first (NODE_LOCAL).
    pub preferred_hosts: Vec<String>,
    /// The level it was placed at, once placed.
    pub locality: TaskLocality,
    /// The job whose work it is: under FIFO, older jobs' attempts go first.
    pub job_id: usize,
    /// The scheduling pool of that job (`ember.scheduler.pool`).
    pub pool: Arc<str>,
    /// For a speculative copy, the executor running the slow attempt: the copy runs elsewhere.
    pub not_on: Option<String>,
}

/// What an executor is, for the application's status API (Spark's `SparkExecutorInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorInfo {
    /// The executor's id (`driver` in local mode).
    pub executor_id: String,
    /// Where it serves blocks (`host:port`); empty in local mode.
    pub address: String,
    /// Task slots.
    pub cores: usize,
    /// Its operating system process id.
    pub pid: u32,
}

/// Runs task attempts somewhere.
pub(crate) trait SchedulerBackend: Send + Sync {
    /// Queues an attempt for the next free slot that may run it.
    fn launch(&self, launch: Launch);

    /// Live executors.
    fn executors(&self) -> Vec<ExecutorInfo>;

    /// RDD `id` was unpersisted: executors drop its cached partitions.
    fn remove_rdd(&self, id: usize);

    /// Executors drop blocks `ids` (a streaming receiver's, once no batch reads them).
    fn remove_blocks(&self, _ids: &[BlockId]) {}

    /// The DAG scheduler is done with stage `id` (it completed, or no job needs it): what was
    /// kept of its tasks can go.
    fn stage_ended(&self, _id: usize) {}

    /// No job needs stage `id` any more: its running attempts are told to stop at their next
    /// record (its queued ones are dropped unrun through [`Launch::cancelled`]).
    fn kill_stage_tasks(&self, _id: usize) {}

    /// Attempt `task_attempt_id` is no longer wanted (another attempt of its task won): it is
    /// told to stop at its next record.
    fn kill_attempt(&self, _task_attempt_id: u64) {}

    /// Times executors fetched a broadcast value from the driver.
    fn broadcast_fetches(&self) -> u64 {
        0
    }

    /// Where executors reach the driver; `None` when there are no executor processes.
    fn driver_address(&self) -> Option<String> {
        None
    }

    /// Releases the slots for good: threads end, executors are told to exit. Called once the
    /// application stops; calling it again does nothing.
    fn stop(&self);
}

/// A backend shared with others (the executor processes' watcher holds the cluster backend too).
impl<B: SchedulerBackend + ?Sized> SchedulerBackend for Arc<B> {
    fn launch(&self, launch: Launch) {
        (**self).launch(launch)
    }
    fn executors(&self) -> Vec<ExecutorInfo> {
        (**self).executors()
    }
    fn remove_rdd(&self, id: usize) {
        (**self).remove_rdd(id)
    }
    fn remove_blocks(&self, ids: &[BlockId]) {
        (**self).remove_blocks(ids)
    }
    fn stage_ended(&self, id: usize) {
        (**self).stage_ended(id)
    }
    fn kill_stage_tasks(&self, id: usize) {
        (**self).kill_stage_tasks(id)
    }
    fn kill_attempt(&self, task_attempt_id: u64) {
        (**self).kill_attempt(task_attempt_id)
    }
    fn broadcast_fetches(&self) -> u64 {
        (**self).broadcast_fetches()
    }
    fn driver_address(&self) -> Option<String> {
        (**self).driver_address()
    }
    fn stop(&self) {
        (**self).stop()
    }
}
