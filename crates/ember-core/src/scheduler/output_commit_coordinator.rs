//! Which attempt of a task may commit its output (Spark's `OutputCommitCoordinator`).
//!
//! Two attempts of one task can both finish writing: a speculative copy and its original, or
//! an attempt the scheduler gave up on (its executor seemed lost) and its replacement. Before an
//! attempt moves its files into the output, it asks the driver; the first attempt to ask for a
//! task is authorized and every other attempt of that task is refused, so the output holds each
//! task's files once. Should the authorized attempt fail, the task is free again and a later
//! attempt may commit.
//!
//! The DAG scheduler opens a stage's book when an attempt of the stage starts and closes it when
//! it forgets the stage; asks for a stage whose book is closed are refused, so a straggler that
//! wakes up after its job ended commits nothing. Attempts ask through
//! [`Env::can_commit`](crate::env::Env::can_commit): in the driver directly, from executors
//! over the `AskCommit` call.

use parking_lot::Mutex;
use std::collections::HashMap;

/// An attempt asking to commit: which stage attempt, which task (by the RDD partition it
/// writes), which attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommitAsk {
    pub stage: usize,
    pub stage_attempt: usize,
    pub partition: usize,
    pub task_attempt_id: u64,
}

impl CommitAsk {
    fn task(&self) -> TaskKey {
        (self.stage_attempt, self.partition)
    }
}

/// A task of one stage attempt: (stage attempt, partition).
type TaskKey = (usize, usize);

/// The driver's record of which attempt commits each task.
#[derive(Debug, Default)]
pub(crate) struct OutputCommitCoordinator {
    /// Stage id → the authorized task attempt id of each task that has one.
    stages: Mutex<HashMap<usize, HashMap<TaskKey, u64>>>,
}

impl OutputCommitCoordinator {
    /// Attempts of `stage` may ask from now on.
    pub(crate) fn stage_started(&self, stage: usize) {
        self.stages.lock().entry(stage).or_default();
    }

    /// `stage` is over: its attempts are refused from now on.
    pub(crate) fn stage_ended(&self, stage: usize) {
        self.stages.lock().remove(&stage);
    }

    /// Whether the attempt asking may commit its task's output: the first to ask may, until it
    /// fails.
    pub(crate) fn can_commit(&self, ask: &CommitAsk) -> bool {
        let mut stages = self.stages.lock();
        let Some(tasks) = stages.get_mut(&ask.stage) else {
            return false;
        };
        *tasks.entry(ask.task()).or_insert(ask.task_attempt_id) == ask.task_attempt_id
    }

    /// The attempt failed: if it was the one authorized, another attempt of its task may
    /// commit.
    pub(crate) fn attempt_failed(&self, attempt: &CommitAsk) {
        if let Some(tasks) = self.stages.lock().get_mut(&attempt.stage) {
            if tasks.get(&attempt.task()) == Some(&attempt.task_attempt_id) {
                tasks.remove(&attempt.task());
            }
        }
    }

    /// Whether no stage is open.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.stages.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(stage: usize, partition: usize, task_attempt_id: u64) -> CommitAsk {
        CommitAsk {
            stage,
            stage_attempt: 0,
            partition,
            task_attempt_id,
        }
    }

    #[test]
    fn the_first_attempt_to_ask_commits_and_the_others_are_refused() {
        let c = OutputCommitCoordinator::default();
        let can = |stage, partition, id| c.can_commit(&ask(stage, partition, id));
        assert!(!can(3, 1, 10), "a stage not started refuses");
        c.stage_started(3);
        assert!(can(3, 1, 11));
        assert!(can(3, 1, 11), "asking again is still yes");
        assert!(!can(3, 1, 12), "the copy is refused");
        assert!(can(3, 2, 12), "another task is another question");
        c.attempt_failed(&ask(3, 1, 12));
        assert!(!can(3, 1, 12), "a refused attempt failing frees nothing");
        c.attempt_failed(&ask(3, 1, 11));
        assert!(can(3, 1, 13), "the authorized attempt failed: the next may");
        c.stage_ended(3);
        assert!(
            !can(3, 4, 14),
            "a straggler after the stage ended is refused"
        );
        assert!(c.is_empty());
    }
}
