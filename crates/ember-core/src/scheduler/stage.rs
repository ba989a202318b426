//! Stages: the tasks between shuffle boundaries (Spark's `Stage`).
//!
//! ```text
//!             all parents' outputs available
//!  Waiting ───────────────────────────────▶ Running ── every partition done ──▶ (done)
//!     ▲                                        │
//!     └──── a fetch failed: lost map outputs ──┘  (their map stage runs again first)
//! ```
//!
//! A shuffle map stage is identified by its shuffle and shared by every active job that needs
//! the shuffle; once its outputs are registered in the `MapOutputTracker`, later jobs skip it. A
//! stage lives while some job needs it or some attempt of its tasks is still out; a later job
//! needing a forgotten shuffle makes a new stage, which finds the outputs and is skipped.

use super::event_log::StageInfo;
use super::progress::StageProgress;
use crate::rdd::RddBase;
use crate::shuffle::ShuffleDependencyBase;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What a stage's tasks produce.
pub(crate) enum StageKind {
    /// Map outputs of a shuffle.
    ShuffleMap(Arc<dyn ShuffleDependencyBase>),
    /// The values of a job's action, one per requested partition.
    Result { job: usize },
}

/// One stage of the DAG scheduler's graph.
pub(crate) struct Stage {
    pub kind: StageKind,
    /// The RDD its tasks compute.
    pub rdd: Arc<dyn RddBase>,
    /// The shuffle map stages whose outputs its tasks read, by stage id.
    pub parents: Vec<usize>,
    /// The active jobs that need it.
    pub jobs: BTreeSet<usize>,
    /// Attempts submitted so far; the next attempt's number.
    pub attempts: usize,
    /// Attempts since it last completed, for `ember.stage.maxConsecutiveAttempts`.
    pub consecutive_attempts: usize,
    /// The current attempt, while it runs.
    pub running: Option<RunningStage>,
    /// Failed attempts per partition index, for `ember.task.maxFailures`.
    pub task_failures: HashMap<usize, usize>,
    /// Attempts launched per partition index: the next attempt's number.
    pub task_attempts: HashMap<usize, usize>,
    /// Attempts launched and not yet finished, of every attempt of the stage.
    pub in_flight: usize,
    /// Set once no job needs the stage: its queued attempts are then dropped unrun.
    pub cancelled: Arc<AtomicBool>,
    /// Jobs that ended and wait for this stage's attempts to finish before they return.
    pub drained_by: Vec<usize>,
}

impl Stage {
    /// A stage nothing has run yet.
    pub(crate) fn new(kind: StageKind, rdd: Arc<dyn RddBase>, parents: Vec<usize>) -> Self {
        Stage {
            kind,
            rdd,
            parents,
            jobs: BTreeSet::new(),
            attempts: 0,
            consecutive_attempts: 0,
            running: None,
            task_failures: HashMap::new(),
            task_attempts: HashMap::new(),
            in_flight: 0,
            cancelled: Arc::new(AtomicBool::new(false)),
            drained_by: Vec::new(),
        }
    }

    /// The shuffle it writes, for a shuffle map stage.
    pub(crate) fn shuffle(&self) -> Option<usize> {
        match &self.kind {
            StageKind::ShuffleMap(dependency) => Some(dependency.shuffle_id()),
            StageKind::Result { .. } => None,
        }
    }

    /// The job whose summary counts its work: the oldest job that needs it.
    pub(crate) fn owner(&self) -> Option<usize> {
        self.jobs.first().copied()
    }
}

/// One attempt of a stage while its tasks run.
pub(crate) struct RunningStage {
    pub attempt: usize,
    /// Partition indexes launched and not yet done by any attempt.
    pub pending: HashSet<usize>,
    /// Partition indexes whose attempt is running in a slot now, for the progress bar.
    pub started: HashSet<usize>,
    pub done: usize,
    /// Tasks it launched first.
    pub tasks: usize,
    /// When it was submitted, in ms since the epoch.
    pub submitted: u64,
    pub progress: StageProgress,
}

impl RunningStage {
    /// What the event log says of attempt `self` of stage `stage_id`; `completed` when it
    /// ended, with `failure` when it failed.
    pub(crate) fn info(
        &self,
        stage_id: usize,
        completed: Option<u64>,
        failure: Option<String>,
    ) -> StageInfo {
        StageInfo {
            stage_id,
            attempt: self.attempt,
            tasks: self.tasks,
            submitted: self.submitted,
            completed,
            failure,
        }
    }

    /// Redraws the progress bar.
    pub(crate) fn show_progress(&self) {
        self.progress.update(self.done, self.started.len());
    }
}
