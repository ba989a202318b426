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

    /// Whether attempt `task_attempt_id` of task `partition` of `stage`.`stage_attempt` may
    /// commit: the first to ask is, until it fails.
    pub(crate) fn can_commit(
        &self,
        stage: usize,
        stage_attempt: usize,
        partition: usize,
        task_attempt_id: u64,
    ) -> bool {
        let mut stages = self.stages.lock();
        let Some(tasks) = stages.get_mut(&stage) else {
            return false;
        };
        let authorized = *tasks
            .entry((stage_attempt, partition))
            .or_insert(task_attempt_id);
        authorized == task_attempt_id
    }

    /// Attempt `task_attempt_id` failed: if it was authorized, its task may be committed by
    /// another attempt.
    pub(crate) fn attempt_failed(
        &self,
        stage: usize,
        stage_attempt: usize,
        partition: usize,
        task_attempt_id: u64,
    ) {
        if let Some(tasks) = self.stages.lock().get_mut(&stage) {
            let key = (stage_attempt, partition);
            if tasks.get(&key) == Some(&task_attempt_id) {
                tasks.remove(&key);
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

    #[test]
    fn the_first_attempt_to_ask_commits_and_the_others_are_refused() {
        let c = OutputCommitCoordinator::default();
        assert!(!c.can_commit(3, 0, 1, 10), "a stage not started refuses");
        c.stage_started(3);
        assert!(c.can_commit(3, 0, 1, 11));
        assert!(c.can_commit(3, 0, 1, 11), "asking again is still yes");
        assert!(!c.can_commit(3, 0, 1, 12), "the copy is refused");
        assert!(
            c.can_commit(3, 0, 2, 12),
            "another task is another question"
        );
        c.attempt_failed(3, 0, 1, 12);
        assert!(
            !c.can_commit(3, 0, 1, 12),
            "a refused attempt failing frees nothing"
        );
        c.attempt_failed(3, 0, 1, 11);
        assert!(
            c.can_commit(3, 0, 1, 13),
            "the authorized attempt failed: the next may"
        );
        c.stage_ended(3);
        assert!(
            !c.can_commit(3, 0, 4, 14),
            "a straggler after the stage ended is refused"
        );
        assert!(c.is_empty());
    }
}
