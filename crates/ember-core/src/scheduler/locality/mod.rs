//! Delay scheduling: which pending task a free slot should take, and how long a task set
//! waits for slots near its data (Spark's `TaskSetManager` locality levels, after Zaharia et
//! al., "Delay Scheduling", EuroSys 2010).
//!
//! A task prefers executors holding a cached partition it reads (PROCESS_LOCAL) and hosts
//! holding its input blocks (NODE_LOCAL), and through those hosts their racks (RACK_LOCAL); a
//! task with no preference is NO_PREF; anything is ANY. A task set starts at its best level that
//! a live executor could serve, and moves to the next level only after it went
//! `ember.locality.wait.<level>` without launching at the current one while slots were offered:
//! a short wait for a slot near the data beats running far from it.
//!
//! The wait timer follows Spark 3.1+: it restarts when the task set launched a task and no
//! offer was turned down for locality since the last time every free slot was offered, not on
//! every launch, so a busy cluster whose slots free up one at a time still moves down levels.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// How close a task ran to its data, best first (Spark's `TaskLocality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskLocality {
    /// On an executor holding a cached partition it reads.
    ProcessLocal,
    /// On a host holding its input.
    NodeLocal,
    /// It preferred nothing.
    NoPref,
    /// In a rack holding its input.
    RackLocal,
    /// Anywhere.
    Any,
}

impl TaskLocality {
    /// Every level, best first.
    pub const ALL: [TaskLocality; 5] = [
        TaskLocality::ProcessLocal,
        TaskLocality::NodeLocal,
        TaskLocality::NoPref,
        TaskLocality::RackLocal,
        TaskLocality::Any,
    ];

    /// Whether a task at `self` may run when offers go up to `max`.
    fn allowed_within(self, max: TaskLocality) -> bool {
        self <= max
    }
}

impl fmt::Display for TaskLocality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskLocality::ProcessLocal => "PROCESS_LOCAL",
            TaskLocality::NodeLocal => "NODE_LOCAL",
            TaskLocality::NoPref => "NO_PREF",
            TaskLocality::RackLocal => "RACK_LOCAL",
            TaskLocality::Any => "ANY",
        })
    }
}

/// Tasks counted by the level they ran at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalityCounts(pub [u64; 5]);

impl LocalityCounts {
    /// Counts one task at `level`.
    pub fn add(&mut self, level: TaskLocality) {
        self.0[level as usize] += 1;
    }

    /// The tasks at `level`.
    pub fn at(&self, level: TaskLocality) -> u64 {
        self.0[level as usize]
    }

    /// Every task counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl fmt::Display for LocalityCounts {
    /// `PROCESS_LOCAL=<n> NODE_LOCAL=<n> NO_PREF=<n> RACK_LOCAL=<n> ANY=<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = TaskLocality::ALL
            .iter()
            .map(|l| format!("{l}={}", self.at(*l)))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// Where a task would like to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// Executors holding a cached partition it reads.
    pub executors: Vec<String>,
    /// Hosts holding its input, those with the most first.
    pub hosts: Vec<String>,
}

/// How long a task set waits at each level before it accepts the next (`ember.locality.wait`
/// and its `.process`, `.node` and `.rack` overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalityWaits {
    /// At PROCESS_LOCAL.
    pub process: Duration,
    /// At NODE_LOCAL.
    pub node: Duration,
    /// At RACK_LOCAL.
    pub rack: Duration,
}

impl LocalityWaits {
    /// The same wait at every level.
    pub fn uniform(wait: Duration) -> Self {
        LocalityWaits {
            process: wait,
            node: wait,
            rack: wait,
        }
    }

    fn at(&self, level: TaskLocality) -> Duration {
        match level {
            TaskLocality::ProcessLocal => self.process,
            TaskLocality::NodeLocal => self.node,
            TaskLocality::RackLocal => self.rack,
            TaskLocality::NoPref | TaskLocality::Any => Duration::ZERO,
        }
    }
}

/// What the cluster looks like to a task set: which executors, hosts and racks are alive.
pub trait ClusterView {
    /// Whether `executor` is alive.
    fn executor_alive(&self, executor: &str) -> bool;
    /// Whether an executor is alive on `host`.
    fn host_alive(&self, host: &str) -> bool;
    /// The rack of `host`.
    fn rack_of(&self, host: &str) -> String;
    /// Whether an executor is alive in `rack`.
    fn rack_alive(&self, rack: &str) -> bool;
}

/// The pending tasks of one task set, indexed by where they would like to run, with the
/// delay-scheduling state (Spark's `TaskSetManager`).
#[derive(Debug)]
pub struct TaskSetManager {
    preferences: Vec<Preferences>,
    racks: Vec<Vec<String>>,
    pending: Vec<bool>,
    for_executor: HashMap<String, Vec<usize>>,
    for_host: HashMap<String, Vec<usize>>,
    for_rack: HashMap<String, Vec<usize>>,
    no_prefs: Vec<usize>,
    all: Vec<usize>,
    waits: LocalityWaits,
    levels: Vec<TaskLocality>,
    current: usize,
    last_reset: Instant,
}

/// The answer to one offer of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// The task the slot should run, and at what level.
    pub task: Option<(usize, TaskLocality)>,
    /// Whether a task was held back to wait for a better slot.
    pub delayed: bool,
}

impl TaskSetManager {
    /// A task set of `preferences.len()` tasks, all pending.
    pub fn new(
        preferences: Vec<Preferences>,
        waits: LocalityWaits,
        cluster: &impl ClusterView,
        now: Instant,
    ) -> Self {
        let racks = preferences
            .iter()
            .map(|p| {
                let mut racks: Vec<String> = p.hosts.iter().map(|h| cluster.rack_of(h)).collect();
                racks.sort();
                racks.dedup();
                racks
            })
            .collect();
        let mut set = TaskSetManager {
            pending: vec![false; preferences.len()],
            preferences,
            racks,
            for_executor: HashMap::new(),
            for_host: HashMap::new(),
            for_rack: HashMap::new(),
            no_prefs: Vec::new(),
            all: Vec::new(),
            waits,
            levels: Vec::new(),
            current: 0,
            last_reset: now,
        };
        // Added in reverse, popped from the back: tasks go out in index order.
        for task in (0..set.preferences.len()).rev() {
            set.add(task);
        }
        set.recompute_levels(cluster);
        set
    }

    /// Queues `task` (again, after a failed attempt).
    pub fn add(&mut self, task: usize) {
        self.pending[task] = true;
        let preferences = &self.preferences[task];
        for executor in &preferences.executors {
            push(&mut self.for_executor, executor, task);
        }
        for host in &preferences.hosts {
            push(&mut self.for_host, host, task);
        }
        for rack in &self.racks[task] {
            push(&mut self.for_rack, rack, task);
        }
        if preferences.executors.is_empty() && preferences.hosts.is_empty() {
            self.no_prefs.push(task);
        }
        self.all.push(task);
    }

    /// Whether any task is pending.
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(|&p| p)
    }

    /// The levels worth waiting for given who is alive (Spark's `computeValidLocalityLevels`);
    /// call when executors come or go.
    pub fn recompute_levels(&mut self, cluster: &impl ClusterView) {
        let level_before = self.levels.get(self.current).copied();
        let mut levels = Vec::new();
        if self.for_executor.keys().any(|e| cluster.executor_alive(e)) {
            levels.push(TaskLocality::ProcessLocal);
        }
        if self.for_host.keys().any(|h| cluster.host_alive(h)) {
            levels.push(TaskLocality::NodeLocal);
        }
        if !self.no_prefs.is_empty() {
            levels.push(TaskLocality::NoPref);
        }
        if self.for_rack.keys().any(|r| cluster.rack_alive(r)) {
            levels.push(TaskLocality::RackLocal);
        }
        levels.push(TaskLocality::Any);
        self.current = level_before
            .and_then(|l| levels.iter().position(|&x| x >= l))
            .unwrap_or(0);
        self.levels = levels;
    }

    /// Offers a slot of `executor` on `host`, for tasks up to `max` locality.
    pub fn offer(
        &mut self,
        executor: &str,
        host: &str,
        rack: &str,
        max: TaskLocality,
        now: Instant,
    ) -> Offered {
        let allowed = if max == TaskLocality::NoPref {
            max
        } else {
            self.allowed_level(now).min(max)
        };
        let task = self.dequeue(executor, host, rack, allowed);
        if let Some((index, _)) = task {
            self.pending[index] = false;
        }
        let delayed = task.is_none()
            && allowed < max
            && self.dequeue_peek(executor, host, rack, max).is_some();
        Offered { task, delayed }
    }

    /// Restarts the wait at the best level (after a round of offers none of which was turned
    /// down for locality).
    pub fn reset_wait(&mut self, now: Instant) {
        self.current = 0;
        self.last_reset = now;
    }

    /// The most relaxed level allowed now (Spark's `getAllowedLocalityLevel`).
    fn allowed_level(&mut self, now: Instant) -> TaskLocality {
        while self.current + 1 < self.levels.len() {
            let level = self.levels[self.current];
            if !self.more_at(level) {
                // Nothing left to wait for at this level.
                self.last_reset = now;
                self.current += 1;
            } else if now.duration_since(self.last_reset) >= self.waits.at(level) {
                self.last_reset += self.waits.at(level);
                self.current += 1;
            } else {
                return level;
            }
        }
        self.levels[self.current]
    }

    fn more_at(&self, level: TaskLocality) -> bool {
        let any_pending = |lists: &HashMap<String, Vec<usize>>| {
            lists
                .values()
                .any(|tasks| tasks.iter().any(|&t| self.pending[t]))
        };
        match level {
            TaskLocality::ProcessLocal => any_pending(&self.for_executor),
            TaskLocality::NodeLocal => any_pending(&self.for_host),
            TaskLocality::NoPref => self.no_prefs.iter().any(|&t| self.pending[t]),
            TaskLocality::RackLocal => any_pending(&self.for_rack),
            TaskLocality::Any => self.has_pending(),
        }
    }

    /// Takes the best pending task for the slot within `max` (Spark's `dequeueTask`; a task
    /// with no preference counts as PROCESS_LOCAL, as there).
    fn dequeue(
        &mut self,
        executor: &str,
        host: &str,
        rack: &str,
        max: TaskLocality,
    ) -> Option<(usize, TaskLocality)> {
        let pending = &self.pending;
        let take = |list: Option<&mut Vec<usize>>| -> Option<usize> {
            let list = list?;
            while let Some(task) = list.pop() {
                if pending[task] {
                    return Some(task);
                }
            }
            None
        };
        if let Some(t) = take(self.for_executor.get_mut(executor)) {
            return Some((t, TaskLocality::ProcessLocal));
        }
        if TaskLocality::NodeLocal.allowed_within(max) {
            if let Some(t) = take(self.for_host.get_mut(host)) {
                return Some((t, TaskLocality::NodeLocal));
            }
        }
        if TaskLocality::NoPref.allowed_within(max) {
            if let Some(t) = take(Some(&mut self.no_prefs)) {
                return Some((t, TaskLocality::ProcessLocal));
            }
        }
        if TaskLocality::RackLocal.allowed_within(max) {
            if let Some(t) = take(self.for_rack.get_mut(rack)) {
                return Some((t, TaskLocality::RackLocal));
            }
        }
        if TaskLocality::Any.allowed_within(max) {
            if let Some(t) = take(Some(&mut self.all)) {
                return Some((t, TaskLocality::Any));
            }
        }
        None
    }

    /// Whether a task could run on the slot within `max`, without taking it.
    fn dequeue_peek(
        &self,
        executor: &str,
        host: &str,
        rack: &str,
        max: TaskLocality,
    ) -> Option<usize> {
        let first = |list: Option<&Vec<usize>>| list?.iter().copied().find(|&t| self.pending[t]);
        first(self.for_executor.get(executor))
            .or_else(|| {
                TaskLocality::NodeLocal
                    .allowed_within(max)
                    .then(|| first(self.for_host.get(host)))
                    .flatten()
            })
            .or_else(|| {
                TaskLocality::RackLocal
                    .allowed_within(max)
                    .then(|| first(self.for_rack.get(rack)))
                    .flatten()
            })
            .or_else(|| {
                TaskLocality::Any
                    .allowed_within(max)
                    .then(|| first(Some(&self.all)))
                    .flatten()
            })
    }

    /// The levels this task set may run at, best first.
    pub fn levels(&self) -> &[TaskLocality] {
        &self.levels
    }
}

fn push(lists: &mut HashMap<String, Vec<usize>>, key: &str, task: usize) {
    lists.entry(key.to_string()).or_default().push(task);
}

#[cfg(test)]
mod simulation;
