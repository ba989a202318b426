//! The DAG scheduler: turns jobs into stages at shuffle boundaries and runs them in order
//! (Spark's `DAGScheduler`).
//!
//! # Key concepts
//! - A *job* computes some partitions of one RDD and applies a function to each (an action).
//! - A *stage* is a set of tasks that run the same pipelined lineage on different partitions;
//!   stages end at shuffle dependencies. A shuffle's map stage is shared by every active job
//!   that needs it, and skipped by later jobs once its outputs are all registered in the
//!   `MapOutputTracker`.
//! - A stage runs when all its parent shuffles' outputs are available; parents missing outputs
//!   are submitted first and the stage waits.
//!
//! # Threading
//! One thread, `ember-dag-scheduler`, owns the scheduler's state and runs its event loop (Spark's
//! `DAGSchedulerEventProcessLoop`; see [`dag_event_loop`](super::dag_event_loop) for what each
//! event does and how failures are handled). A job's caller posts the job and blocks until the
//! loop replies; backends post task updates to the same loop. Jobs from many threads run
//! side by side, share the stages they have in common, and never poll: each waits on its own
//! reply, and the loop wakes only for events.

use super::dag_event_loop::DagState;
use super::event_log::EventLog;
use super::events::{DagEvent, JobSubmission};
use super::locality::LocalityCounts;
use super::scheduler_backend::{ExecutorInfo, SchedulerBackend};
use super::task::Task;
use crate::accumulator::AccumulatorRegistry;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::rdd::RddBase;
use crate::task_context::MetricsSnapshot;
use crossbeam_channel::Sender;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What a job did, for the log and for callers who want to check (Spark's job end event).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSummary {
    /// The job's id.
    pub job_id: usize,
    /// Stages that ran (skipped stages are not counted).
    pub stages: usize,
    /// Task attempts that started, retries included (an attempt an abort cancelled before it
    /// started is not counted).
    pub tasks: usize,
    /// Task attempts that started and failed.
    pub failed_tasks: usize,
    /// Counters summed over successful tasks.
    pub metrics: MetricsSnapshot,
    /// Wall time.
    pub duration: Duration,
    /// Task attempts by the locality level they ran at.
    pub locality: LocalityCounts,
}

impl std::fmt::Display for JobSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "job {} finished in {:.3} s: {} stages, {} tasks ({} failed), shuffle write {} B, \
             shuffle read {} B, spill {} B in {} spills",
            self.job_id,
            self.duration.as_secs_f64(),
            self.stages,
            self.tasks,
            self.failed_tasks,
            self.metrics.shuffle_bytes_written,
            self.metrics.shuffle_bytes_read,
            self.metrics.spill_bytes,
            self.metrics.spill_count,
        )?;
        write!(f, "\nlocality: {}", self.locality)
    }
}

/// Limits and switches read from the configuration once.
pub(crate) struct SchedulerSettings {
    pub max_task_failures: usize,
    pub max_stage_attempts: usize,
    pub show_progress: bool,
}

/// Makes the result task for a partition of the job's RDD.
pub(crate) type ResultTaskMaker = Box<dyn Fn(usize) -> Arc<dyn Task> + Send>;

/// The DAG scheduler of one Context: the handle callers and the Context hold; the state lives
/// on the event loop's thread.
pub(crate) struct DagScheduler {
    events: Sender<DagEvent>,
    backend: Arc<dyn SchedulerBackend>,
    summaries: Arc<Mutex<Vec<JobSummary>>>,
    event_log: Option<Arc<EventLog>>,
    event_loop: Mutex<Option<JoinHandle<()>>>,
}

impl DagScheduler {
    /// Starts the event loop.
    ///
    /// # Errors
    /// The operating system refused to start its thread.
    pub(crate) fn start(
        env: Arc<Env>,
        backend: Arc<dyn SchedulerBackend>,
        accumulators: Arc<AccumulatorRegistry>,
        settings: SchedulerSettings,
        event_log: Option<EventLog>,
    ) -> Result<Self> {
        let (events, inbox) = crossbeam_channel::unbounded();
        let event_log = event_log.map(Arc::new);
        let summaries = Arc::new(Mutex::new(Vec::new()));
        let mut state = DagState::new(
            env,
            backend.clone(),
            accumulators,
            settings,
            events.clone(),
            event_log.clone(),
            summaries.clone(),
        );
        let event_loop = std::thread::Builder::new()
            .name(EVENT_LOOP_THREAD.into())
            .spawn(move || {
                for event in inbox {
                    if !state.handle(event) {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("the DAG scheduler's thread", e))?;
        Ok(DagScheduler {
            events,
            backend,
            summaries,
            event_log,
            event_loop: Mutex::new(Some(event_loop)),
        })
    }

    /// Runs a job: the result tasks made by `make_task` for `partitions` of `rdd`, after every
    /// shuffle they need, with the submitting thread's local `properties`. Returns each
    /// partition's serialized value, in the order given.
    pub(crate) fn run_job(
        &self,
        rdd: Arc<dyn RddBase>,
        partitions: &[usize],
        make_task: ResultTaskMaker,
        properties: Arc<HashMap<String, String>>,
    ) -> Result<Vec<Vec<u8>>> {
        let (reply, outcome) = crossbeam_channel::bounded(1);
        let submission = JobSubmission {
            rdd,
            partitions: partitions.to_vec(),
            make_task,
            reply,
            properties,
        };
        let gone = || Error::Input(super::STOPPED.into());
        self.events
            .send(DagEvent::JobSubmitted(Box::new(submission)))
            .map_err(|_| gone())?;
        outcome.recv().map_err(|_| gone())?
    }

    /// Posts `event` to the event loop; nothing happens once the application stopped.
    pub(crate) fn post(&self, event: DagEvent) {
        let _ = self.events.send(event);
    }

    /// Where tasks run.
    pub(crate) fn backend(&self) -> &dyn SchedulerBackend {
        &*self.backend
    }

    /// Live executors.
    pub(crate) fn executors(&self) -> Vec<ExecutorInfo> {
        self.backend.executors()
    }

    /// Summaries of every job so far, in the order they ended.
    pub(crate) fn summaries(&self) -> Vec<JobSummary> {
        self.summaries.lock().clone()
    }

    /// Ends the application: the backend's slots and executors go, jobs still active fail, the
    /// event loop ends and the event log is closed.
    pub(crate) fn stop(&self) {
        self.backend.stop();
        self.end_event_loop();
    }

    fn end_event_loop(&self) {
        let _ = self.events.send(DagEvent::Stop);
        let event_loop = self.event_loop.lock().take();
        // The loop's own thread can drop the last handle of the application (a job's RDD held
        // it); it ends by itself once it reads the stop.
        if let Some(handle) = event_loop.filter(|h| h.thread().id() != std::thread::current().id())
        {
            let _ = handle.join();
        }
        if let Some(log) = &self.event_log {
            log.close();
        }
    }
}

impl DagScheduler {
    /// Appends `event` to the event log, when there is one, and makes it visible.
    pub(crate) fn log_event(&self, event: &impl serde::Serialize) {
        if let Some(log) = &self.event_log {
            log.post_any(event);
            log.flush();
        }
    }
}

impl Drop for DagScheduler {
    fn drop(&mut self) {
        self.end_event_loop();
    }
}

/// The name of the event loop's thread.
const EVENT_LOOP_THREAD: &str = "ember-dag-scheduler";
