//! Stages: the tasks between shuffle boundaries (Spark's `Stage`).
//!
//! ```text
//!             all parents' outputs available
//!  Waiting ───────────────────────────────▶ Running ── every partition done ──▶ (done)
//!     ▲                                        │
//!     └──── a fetch failed: lost map outputs ──┘  (their map stage runs again first)
//! ```
//!
//! A shuffle map stage is identified by its shuffle and shared by every job that needs the
//! shuffle: once its outputs are registered, later jobs skip it.

use super::event_log::StageInfo;
use crate::shuffle::ShuffleDependencyBase;
use std::collections::HashSet;
use std::sync::Arc;

/// The stage that writes one shuffle.
pub(crate) struct ShuffleMapStage {
    pub id: usize,
    pub dependency: Arc<dyn ShuffleDependencyBase>,
    /// Shuffles whose outputs this stage's tasks read.
    pub parents: Vec<usize>,
}

/// Which stage of a job: the final one, or the one writing a shuffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StageKey {
    Result,
    Shuffle(usize),
}

/// A stage while its tasks run.
pub(crate) struct RunningStage {
    pub stage_id: usize,
    pub attempt: usize,
    /// Partitions launched and not yet finished (queued or running).
    pub running: HashSet<usize>,
    /// Partitions whose attempt is running in a slot now, for the progress bar.
    pub started: HashSet<usize>,
    pub done: usize,
    /// Tasks it launched first.
    pub tasks: usize,
    /// When it was submitted, in ms since the epoch.
    pub submitted: u64,
}

impl RunningStage {
    /// What the event log says of this attempt; `completed` when it ended, with `failure`
    /// when it failed.
    pub(crate) fn info(&self, completed: Option<u64>, failure: Option<String>) -> StageInfo {
        StageInfo {
            stage_id: self.stage_id,
            attempt: self.attempt,
            tasks: self.tasks,
            submitted: self.submitted,
            completed,
            failure,
        }
    }
}
