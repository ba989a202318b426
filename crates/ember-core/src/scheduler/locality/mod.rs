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

use std::collections::{HashMap, VecDeque};
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
    for_executor: HashMap<String, VecDeque<usize>>,
    for_host: HashMap<String, VecDeque<usize>>,
    for_rack: HashMap<String, VecDeque<usize>>,
    no_prefs: VecDeque<usize>,
    all: VecDeque<usize>,
    waits: LocalityWaits,
    levels: Vec<TaskLocality>,
    /// Set when tasks or executors changed: the levels are recomputed at the next offer.
    levels_stale: bool,
    current: usize,
    last_reset: Instant,
}

/// A free task slot: its executor, and that executor's host and rack.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    /// The executor.
    pub executor: &'a str,
    /// Its host.
    pub host: &'a str,
    /// The host's rack.
    pub rack: &'a str,
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
        let mut set = TaskSetManager::empty(waits, now);
        for p in preferences {
            set.push(p, cluster);
        }
        set
    }

    /// A task set with no task yet.
    pub fn empty(waits: LocalityWaits, now: Instant) -> Self {
        TaskSetManager {
            preferences: Vec::new(),
            racks: Vec::new(),
            pending: Vec::new(),
            for_executor: HashMap::new(),
            for_host: HashMap::new(),
            for_rack: HashMap::new(),
            no_prefs: VecDeque::new(),
            all: VecDeque::new(),
            waits,
            levels: Vec::new(),
            levels_stale: true,
            current: 0,
            last_reset: now,
        }
    }

    /// Adds a pending task; its index in the set.
    pub fn push(&mut self, preferences: Preferences, cluster: &impl ClusterView) -> usize {
        let mut racks: Vec<String> = preferences
            .hosts
            .iter()
            .map(|h| cluster.rack_of(h))
            .collect();
        racks.sort();
        racks.dedup();
        self.preferences.push(preferences);
        self.racks.push(racks);
        self.pending.push(false);
        let task = self.pending.len() - 1;
        self.add(task);
        task
    }

    /// Queues `task` (again, after a failed attempt).
    pub fn add(&mut self, task: usize) {
        self.pending[task] = true;
        // Pending lists are taken from the back: the newest first would starve the oldest.
        let preferences = &self.preferences[task];
        for executor in &preferences.executors {
            insert_front(&mut self.for_executor, executor, task);
        }
        for host in &preferences.hosts {
            insert_front(&mut self.for_host, host, task);
        }
        for rack in &self.racks[task] {
            insert_front(&mut self.for_rack, rack, task);
        }
        if preferences.executors.is_empty() && preferences.hosts.is_empty() {
            self.no_prefs.push_front(task);
        }
        self.all.push_front(task);
        self.levels_stale = true;
    }

    /// Takes `task` out of the queue without running it (its job was aborted).
    pub fn cancel(&mut self, task: usize) {
        self.pending[task] = false;
        self.levels_stale = true;
    }

    /// Executors came or went: the levels worth waiting for may have changed.
    pub fn cluster_changed(&mut self) {
        self.levels_stale = true;
    }

    /// Whether any task is pending.
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(|&p| p)
    }

    /// The levels worth waiting for given who is alive (Spark's `computeValidLocalityLevels`).
    fn recompute_levels(&mut self, cluster: &impl ClusterView) {
        self.levels_stale = false;
        let pending = |lists: &HashMap<String, VecDeque<usize>>, alive: &dyn Fn(&str) -> bool| {
            lists
                .iter()
                .any(|(key, tasks)| alive(key) && tasks.iter().any(|&t| self.pending[t]))
        };
        let level_before = self.levels.get(self.current).copied();
        let mut levels = Vec::new();
        if pending(&self.for_executor, &|e| cluster.executor_alive(e)) {
            levels.push(TaskLocality::ProcessLocal);
        }
        if pending(&self.for_host, &|h| cluster.host_alive(h)) {
            levels.push(TaskLocality::NodeLocal);
        }
        if self.no_prefs.iter().any(|&t| self.pending[t]) {
            levels.push(TaskLocality::NoPref);
        }
        if pending(&self.for_rack, &|r| cluster.rack_alive(r)) {
            levels.push(TaskLocality::RackLocal);
        }
        levels.push(TaskLocality::Any);
        self.current = level_before
            .and_then(|l| levels.iter().position(|&x| x >= l))
            .unwrap_or(0);
        self.levels = levels;
    }

    /// Offers a slot of `slot.executor` on `slot.host`, for tasks up to `max` locality and
    /// that `skip` does not rule out there (tasks excluded from the executor).
    pub fn offer(
        &mut self,
        slot: &Slot<'_>,
        max: TaskLocality,
        cluster: &impl ClusterView,
        skip: &dyn Fn(usize) -> bool,
        now: Instant,
    ) -> Offered {
        if self.levels_stale {
            self.recompute_levels(cluster);
        }
        let allowed = if max == TaskLocality::NoPref {
            max
        } else {
            self.allowed_level(now).min(max)
        };
        let task = self.dequeue(slot, allowed, skip);
        if let Some((index, _)) = task {
            self.pending[index] = false;
        }
        let delayed =
            task.is_none() && allowed < max && self.dequeue_peek(slot, max, skip).is_some();
        Offered { task, delayed }
    }

    /// Restarts the wait, at `level`, the best level a task launched at in a round of offers
    /// none of which was turned down for locality (Spark's `resetDelayScheduleTimer`).
    pub fn reset_wait(&mut self, level: TaskLocality, now: Instant) {
        self.current = self
            .levels
            .iter()
            .position(|&l| l >= level)
            .unwrap_or(self.current);
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
        let any_pending = |lists: &HashMap<String, VecDeque<usize>>| {
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
        slot: &Slot<'_>,
        max: TaskLocality,
        skip: &dyn Fn(usize) -> bool,
    ) -> Option<(usize, TaskLocality)> {
        let pending = &self.pending;
        let take = |list: Option<&mut VecDeque<usize>>| -> Option<usize> {
            let list = list?;
            // Launched or cancelled tasks leave the list when they reach its end.
            while list.back().is_some_and(|&t| !pending[t]) {
                list.pop_back();
            }
            let at = list.iter().rposition(|&t| pending[t] && !skip(t))?;
            list.remove(at)
        };
        if let Some(t) = take(self.for_executor.get_mut(slot.executor)) {
            return Some((t, TaskLocality::ProcessLocal));
        }
        if TaskLocality::NodeLocal.allowed_within(max) {
            if let Some(t) = take(self.for_host.get_mut(slot.host)) {
                return Some((t, TaskLocality::NodeLocal));
            }
        }
        if TaskLocality::NoPref.allowed_within(max) {
            if let Some(t) = take(Some(&mut self.no_prefs)) {
                return Some((t, TaskLocality::ProcessLocal));
            }
        }
        if TaskLocality::RackLocal.allowed_within(max) {
            if let Some(t) = take(self.for_rack.get_mut(slot.rack)) {
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
        slot: &Slot<'_>,
        max: TaskLocality,
        skip: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        let first = |list: Option<&VecDeque<usize>>| {
            list?.iter().copied().find(|&t| self.pending[t] && !skip(t))
        };
        let within = |level: TaskLocality, list: Option<&VecDeque<usize>>| {
            level.allowed_within(max).then(|| first(list)).flatten()
        };
        first(self.for_executor.get(slot.executor))
            .or_else(|| within(TaskLocality::NodeLocal, self.for_host.get(slot.host)))
            .or_else(|| within(TaskLocality::RackLocal, self.for_rack.get(slot.rack)))
            .or_else(|| within(TaskLocality::Any, Some(&self.all)))
    }

    /// The levels this task set may run at, best first.
    pub fn levels(&mut self, cluster: &impl ClusterView) -> Vec<TaskLocality> {
        if self.levels_stale {
            self.recompute_levels(cluster);
        }
        self.levels.clone()
    }
}

fn insert_front(lists: &mut HashMap<String, VecDeque<usize>>, key: &str, task: usize) {
    lists.entry(key.to_string()).or_default().push_front(task);
}

#[cfg(test)]
mod simulation;
