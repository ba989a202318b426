//! Which executors a task should avoid (Spark's `HealthTracker`, at the level of one task).
//!
//! Each failed attempt is counted against the executor it ran on. With
//! `ember.excludeOnFailure.enabled`, a task that failed
//! `ember.excludeOnFailure.task.maxTaskAttemptsPerExecutor` times on an executor is not placed
//! there again; a task excluded from every live executor cannot run at all. Counts are kept per
//! stage and forgotten once the stage has no attempt queued or running, so a long-running
//! application does not accumulate them.

use std::collections::HashMap;

/// Failed attempts per task per executor.
#[derive(Debug, Default)]
pub(crate) struct HealthTracker {
    enabled: bool,
    max_failures_per_executor: usize,
    /// stage → partition → executor → failed attempts.
    failures: HashMap<usize, HashMap<usize, HashMap<String, usize>>>,
}

impl HealthTracker {
    pub(crate) fn new(enabled: bool, max_failures_per_executor: usize) -> Self {
        HealthTracker {
            enabled,
            max_failures_per_executor,
            failures: HashMap::new(),
        }
    }

    /// An attempt of task `partition` of `stage` failed on `executor`.
    pub(crate) fn task_failed(&mut self, stage: usize, partition: usize, executor: &str) {
        if !self.enabled {
            return;
        }
        let count = self
            .failures
            .entry(stage)
            .or_default()
            .entry(partition)
            .or_default()
            .entry(executor.to_string())
            .or_default();
        *count += 1;
    }

    /// Whether task `partition` of `stage` failed on `executor` too often to go there again.
    pub(crate) fn is_excluded(&self, stage: usize, partition: usize, executor: &str) -> bool {
        self.failures
            .get(&stage)
            .and_then(|tasks| tasks.get(&partition))
            .and_then(|executors| executors.get(executor))
            .is_some_and(|&n| n >= self.max_failures_per_executor)
    }

    /// Whether the task is excluded from every one of `executors` (and there is at least one).
    pub(crate) fn excluded_everywhere(
        &self,
        stage: usize,
        partition: usize,
        executors: &[&str],
    ) -> bool {
        !executors.is_empty()
            && executors
                .iter()
                .all(|e| self.is_excluded(stage, partition, e))
    }

    /// Forgets `stage`'s failures.
    pub(crate) fn forget_stage(&mut self, stage: usize) {
        self.failures.remove(&stage);
    }

    /// Whether no failure is remembered.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }
}
