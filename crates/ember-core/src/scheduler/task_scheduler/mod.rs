//! The task scheduler: which attempt runs in which free slot (Spark's `TaskSchedulerImpl`).
//!
//! The DAG scheduler hands it attempts; backends tell it which executors exist and when their
//! slots free up, and ask it what to run where. It decides and does nothing else: no thread,
//! no lock, no network, no clock of its own (callers pass `now`). That is what lets every
//! master share it, so that `local[N]`, `local-cluster` and external cluster managers place,
//! delay and exclude attempts alike, and what lets tests drive it with a manual clock.
//!
//! # What it decides
//! - **Order between jobs** ([`pools`]): task sets are offered free slots oldest job first
//!   (FIFO), or by pools sharing slots by weight and minimum share (FAIR).
//! - **Placement by locality** ([`locality`](super::locality)): one task set per stage attempt,
//!   each waiting up to `ember.locality.wait.*` for slots near its data.
//! - **Exclusion** ([`HealthTracker`]): with `ember.excludeOnFailure.enabled`, an attempt avoids
//!   executors where its task already failed
//!   `ember.excludeOnFailure.task.maxTaskAttemptsPerExecutor` times; a task excluded from every
//!   executor fails at once instead of waiting forever.
//! - **What cannot run**: attempts of stages no job needs any more are dropped unrun, and once
//!   no executor will ever come every attempt fails with why.
//! - **The registration hold**: until enough executors registered (or a deadline passed),
//!   attempts queue so that whoever places executors sees where they want to run.
//!
//! ```text
//!  submit ──▶ pending (task sets) ──resource_offers──▶ running on an executor
//!                                                          │
//!                                            status_update ┼──▶ (done)
//!                             executor_removed, launch_failed ┴──▶ (lost)
//! ```

mod health_tracker;
mod pending;
mod pools;

pub(crate) use health_tracker::HealthTracker;
pub(crate) use pools::{Pools, DEFAULT_POOL};

use super::locality::{ClusterView, LocalityWaits};
use super::scheduler_backend::Launch;
use crate::conf::{keys, EmberConf};
use crate::error::{Error, Result};
use pending::{FreeExecutor, PendingTasks};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Names the rack of a host (the cluster's topology, as `ember_hadoop::RackResolver` knows it).
pub(crate) type RackOf = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// How the task scheduler decides, read once from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct TaskSchedulerSettings {
    /// `ember.scheduler.mode` and the pools of `ember.scheduler.allocation.file`.
    pub pools: Pools,
    /// `ember.locality.wait` and its per-level overrides.
    pub waits: LocalityWaits,
    /// `ember.excludeOnFailure.enabled`.
    pub exclude_on_failure: bool,
    /// `ember.excludeOnFailure.task.maxTaskAttemptsPerExecutor`.
    pub max_failures_per_executor: usize,
    /// `ember.speculation.*`, when `ember.speculation` is on.
    pub speculation: Option<SpeculationSettings>,
}

/// When a slow attempt gets a copy (Spark's `spark.speculation.*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpeculationSettings {
    /// How often to look.
    pub interval: Duration,
    /// How many times the median duration of the stage's finished tasks an attempt must run.
    pub multiplier: f64,
    /// The share of the stage's tasks that must be done first.
    pub quantile: f64,
    /// The least an attempt must have run.
    pub min_runtime: Duration,
}

/// An attempt placed on an executor, for the backend to send there.
pub(crate) struct Assignment {
    pub executor: String,
    pub id: super::TaskId,
    /// The task's bytes (the scheduler keeps the rest of the launch).
    pub bytes: Vec<u8>,
    /// Set when the attempt is killed: it stops at its next record.
    pub killed: Arc<AtomicBool>,
}

/// A running attempt worth a speculative copy.
pub(crate) struct Speculation {
    pub id: super::TaskId,
    /// Where the slow attempt runs: the copy goes elsewhere.
    pub executor: String,
    /// Where to ask for the copy.
    pub reply: super::events::TaskReply,
}

/// An attempt placed in an executor's slot.
struct Running {
    launch: Launch,
    killed: Arc<AtomicBool>,
    /// When it was placed.
    since: Instant,
}

/// What is known of one stage attempt's tasks, for speculation.
#[derive(Default)]
struct SetStats {
    /// Partitions submitted.
    partitions: HashSet<usize>,
    /// Partitions done, and how long their successful attempts took.
    succeeded: HashSet<usize>,
    durations: Vec<Duration>,
    /// Partitions that already got a copy.
    speculated: HashSet<usize>,
}

/// What one round of offers decided.
#[derive(Default)]
pub(crate) struct Offers {
    /// Attempts to send, each to its executor.
    pub assigned: Vec<Assignment>,
    /// Attempts that will not run, with why: their jobs hear it as the attempt's failure.
    pub dropped: Vec<(Launch, Error)>,
}

/// One executor's slots.
struct ExecutorSlots {
    host: String,
    rack: String,
    free: usize,
    running: HashMap<u64, Running>,
}

/// Scheduling held back until `wanted` executors registered or `until` passed (Spark's
/// `spark.scheduler.minRegisteredResourcesRatio` and `maxRegisteredResourcesWaitingTime`).
#[derive(Debug, Clone, Copy)]
struct Hold {
    wanted: usize,
    total: usize,
    until: Instant,
}

/// Places attempts in executors' free slots. See the [module](self) documentation.
pub(crate) struct TaskScheduler {
    settings: TaskSchedulerSettings,
    rack_of: RackOf,
    executors: BTreeMap<String, ExecutorSlots>,
    pending: PendingTasks,
    health: HealthTracker,
    hold: Option<Hold>,
    /// Set when no executor will ever come again, with why.
    gone: Option<String>,
    /// Per stage attempt (stage id, attempt), for speculation.
    stats: HashMap<(usize, usize), SetStats>,
}

impl TaskSchedulerSettings {
    /// The settings `conf` gives.
    ///
    /// # Errors
    /// A key's value does not parse.
    pub(crate) fn from_conf(conf: &EmberConf) -> Result<Self> {
        let wait = conf.require(&keys::LOCALITY_WAIT)?;
        let level = |entry| -> Result<Duration> { Ok(conf.get(entry)?.unwrap_or(wait)) };
        Ok(TaskSchedulerSettings {
            pools: Pools::from_conf(conf)?,
            waits: LocalityWaits {
                process: level(&keys::LOCALITY_WAIT_PROCESS)?,
                node: level(&keys::LOCALITY_WAIT_NODE)?,
                rack: level(&keys::LOCALITY_WAIT_RACK)?,
            },
            exclude_on_failure: conf.require(&keys::EXCLUDE_ON_FAILURE_ENABLED)?,
            max_failures_per_executor: conf
                .require(&keys::EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR)?,
            speculation: if conf.require(&keys::SPECULATION)? {
                Some(SpeculationSettings {
                    interval: conf.require(&keys::SPECULATION_INTERVAL)?,
                    multiplier: conf.require(&keys::SPECULATION_MULTIPLIER)?,
                    quantile: conf.require(&keys::SPECULATION_QUANTILE)?,
                    min_runtime: conf.require(&keys::SPECULATION_MIN_TASK_RUNTIME)?,
                })
            } else {
                None
            },
        })
    }
}

impl TaskScheduler {
    pub(crate) fn new(settings: TaskSchedulerSettings, rack_of: RackOf) -> Self {
        TaskScheduler {
            pending: PendingTasks::new(settings.waits),
            health: HealthTracker::new(
                settings.exclude_on_failure,
                settings.max_failures_per_executor,
            ),
            settings,
            rack_of,
            executors: BTreeMap::new(),
            hold: None,
            gone: None,
            stats: HashMap::new(),
        }
    }

    /// Queues an attempt in its stage attempt's task set.
    pub(crate) fn submit(&mut self, launch: Launch) {
        if self.settings.speculation.is_some() {
            let id = launch.id;
            let stats = self
                .stats
                .entry((id.stage_id, id.stage_attempt))
                .or_default();
            stats.partitions.insert(id.partition);
        }
        let view = LiveCluster::of(&self.executors, &self.rack_of);
        self.pending.push(launch, &view);
    }

    /// An executor with `cores` slots registered on `host`.
    pub(crate) fn executor_added(&mut self, id: &str, host: &str, cores: usize) {
        let rack = (self.rack_of)(host);
        self.executors.insert(
            id.to_string(),
            ExecutorSlots {
                host: host.to_string(),
                rack,
                free: cores,
                running: HashMap::new(),
            },
        );
        self.pending.cluster_changed();
    }

    /// An executor is gone; the attempts it was running, which its jobs must hear were lost.
    pub(crate) fn executor_removed(&mut self, id: &str) -> Vec<Launch> {
        let Some(slots) = self.executors.remove(id) else {
            return Vec::new();
        };
        self.pending.cluster_changed();
        slots.running.into_values().map(|r| r.launch).collect()
    }

    /// The attempt `task_attempt_id` running on `executor`, with the level it was placed at.
    pub(crate) fn running(&self, executor: &str, task_attempt_id: u64) -> Option<&Launch> {
        let slots = self.executors.get(executor)?;
        slots.running.get(&task_attempt_id).map(|r| &r.launch)
    }

    /// Kills the running attempts of `stage`; each one's executor and task attempt id, for the
    /// executors to hear.
    pub(crate) fn kill_stage(&self, stage: usize) -> Vec<(String, u64)> {
        let mut found = Vec::new();
        for (executor, slots) in &self.executors {
            for (tid, running) in &slots.running {
                if running.launch.id.stage_id == stage {
                    running.killed.store(true, Ordering::Relaxed);
                    found.push((executor.clone(), *tid));
                }
            }
        }
        found
    }

    /// The attempt `task_attempt_id` on `executor` finished (`failed` or not): its slot frees
    /// up. Returns the attempt, whose job hears how it ended.
    pub(crate) fn status_update(
        &mut self,
        executor: &str,
        task_attempt_id: u64,
        failed: bool,
        now: Instant,
    ) -> Option<Launch> {
        let slots = self.executors.get_mut(executor)?;
        let Running { launch, since, .. } = slots.running.remove(&task_attempt_id)?;
        slots.free += 1;
        let id = launch.id;
        if failed {
            self.health.task_failed(id.stage_id, id.partition, executor);
        } else if let Some(stats) = self.stats.get_mut(&(id.stage_id, id.stage_attempt)) {
            if stats.succeeded.insert(id.partition) {
                stats.durations.push(now.saturating_duration_since(since));
            }
        }
        Some(launch)
    }

    /// Kills attempt `task_attempt_id` (another attempt of its task won); its executor, for
    /// it to hear.
    pub(crate) fn kill_attempt(&mut self, task_attempt_id: u64) -> Option<String> {
        for (executor, slots) in &self.executors {
            if let Some(running) = slots.running.get(&task_attempt_id) {
                running.killed.store(true, Ordering::Relaxed);
                return Some(executor.clone());
            }
        }
        None
    }

    /// The running attempts worth a speculative copy now (Spark's
    /// `checkSpeculatableTasks`): in a stage attempt with `quantile` of its tasks done, an
    /// attempt running longer than `multiplier` times their median (and `minTaskRuntime`),
    /// alone for its task. Each task gets one copy, and only when another executor could run
    /// it.
    pub(crate) fn speculatable(&mut self, now: Instant) -> Vec<Speculation> {
        let Some(settings) = self.settings.speculation else {
            return Vec::new();
        };
        if self.executors.len() < 2 {
            return Vec::new();
        }
        let mut copies = Vec::new();
        for (key, stats) in &mut self.stats {
            let done = stats.succeeded.len();
            if done == 0 || (done as f64) < settings.quantile * stats.partitions.len() as f64 {
                continue;
            }
            let mut durations = stats.durations.clone();
            durations.sort();
            let median = durations[durations.len() / 2];
            let threshold = median
                .mul_f64(settings.multiplier)
                .max(settings.min_runtime);
            let mut copies_running: HashMap<usize, usize> = HashMap::new();
            let running = self
                .executors
                .iter()
                .flat_map(|(executor, slots)| slots.running.values().map(move |r| (executor, r)));
            let of_set: Vec<(&String, &Running)> = running
                .filter(|(_, r)| (r.launch.id.stage_id, r.launch.id.stage_attempt) == *key)
                .collect();
            for (_, r) in &of_set {
                *copies_running.entry(r.launch.id.partition).or_default() += 1;
            }
            for (executor, r) in of_set {
                let partition = r.launch.id.partition;
                let slow = now.saturating_duration_since(r.since) > threshold;
                if slow
                    && copies_running[&partition] == 1
                    && !stats.succeeded.contains(&partition)
                    && stats.speculated.insert(partition)
                {
                    copies.push(Speculation {
                        id: r.launch.id,
                        executor: executor.clone(),
                        reply: r.launch.reply.clone(),
                    });
                }
            }
        }
        copies
    }

    /// Sending `assignment` to its executor failed: its connection is closing. Returns the
    /// attempt, whose job hears it was lost with the executor.
    pub(crate) fn launch_failed(&mut self, assignment: Assignment) -> Option<Launch> {
        let slots = self.executors.get_mut(&assignment.executor)?;
        let running = slots.running.remove(&assignment.id.task_attempt_id)?;
        slots.free += 1;
        Some(running.launch)
    }

    /// The DAG scheduler is done with `stage`: what was learnt of its tasks is forgotten.
    pub(crate) fn stage_ended(&mut self, stage: usize) {
        self.health.forget_stage(stage);
        self.stats.retain(|key, _| key.0 != stage);
    }

    /// Holds scheduling back until `wanted` of the `total` executors asked for registered, or
    /// until `until`.
    pub(crate) fn hold_until(&mut self, wanted: usize, total: usize, until: Instant) {
        self.hold = Some(Hold {
            wanted,
            total,
            until,
        });
    }

    /// Whether scheduling is held back for executors to register.
    pub(crate) fn is_holding(&self) -> bool {
        self.hold.is_some()
    }

    /// No executor will come again: every queued and future attempt fails with `reason`.
    pub(crate) fn no_more_executors(&mut self, reason: String) {
        self.gone = Some(reason);
        self.hold = None;
    }

    /// Offers every free slot to the queued attempts (Spark's `resourceOffers`): the
    /// attempts to send where, and those that will never run.
    pub(crate) fn resource_offers(&mut self, now: Instant) -> Offers {
        let mut offers = Offers {
            dropped: self.drop_unrunnable(),
            ..Offers::default()
        };
        if self.pending.is_empty() || self.holding(now) {
            return offers;
        }
        let mut free: Vec<FreeExecutor> = self
            .executors
            .iter()
            .filter(|(_, e)| e.free > 0)
            .map(|(id, e)| FreeExecutor {
                id: id.clone(),
                host: e.host.clone(),
                rack: e.rack.clone(),
                free: e.free,
            })
            .collect();
        // FIFO orders by job and stage alone: counting running attempts would be wasted.
        let mut running: HashMap<(usize, usize), usize> = HashMap::new();
        let counted = self.settings.pools.counts_running();
        for launch in self
            .executors
            .values()
            .filter(|_| counted)
            .flat_map(|e| e.running.values().map(|r| &r.launch))
        {
            *running
                .entry((launch.id.stage_id, launch.id.stage_attempt))
                .or_default() += 1;
        }
        let pools = &self.settings.pools;
        self.pending.reorder(|sets| pools.order(sets), &running);
        let view = LiveCluster::of(&self.executors, &self.rack_of);
        let health = &self.health;
        let excluded = |launch: &Launch, executor: &str| {
            launch.not_on.as_deref() == Some(executor)
                || health.is_excluded(launch.id.stage_id, launch.id.partition, executor)
        };
        let placed = self.pending.assign(&mut free, &view, &excluded, now);
        for (executor, mut launch) in placed {
            let Some(slots) = self.executors.get_mut(&executor) else {
                continue;
            };
            slots.free -= 1;
            let killed = Arc::new(AtomicBool::new(false));
            offers.assigned.push(Assignment {
                executor,
                id: launch.id,
                bytes: std::mem::take(&mut launch.bytes),
                killed: killed.clone(),
            });
            let running = Running {
                launch,
                killed,
                since: now,
            };
            slots
                .running
                .insert(running.launch.id.task_attempt_id, running);
        }
        self.pending.prune();
        offers
    }

    /// The attempts waiting, and how many of them prefer each host.
    pub(crate) fn tasks_per_host(&self) -> (usize, HashMap<String, usize>) {
        self.pending.tasks_per_host()
    }

    /// Whether no attempt is queued or running and nothing is remembered of any stage.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
            && self.executors.values().all(|e| e.running.is_empty())
            && self.health.is_empty()
            && self.stats.is_empty()
    }

    /// Whether scheduling is still held back; a deadline passed or enough executors end it.
    fn holding(&mut self, now: Instant) -> bool {
        let Some(hold) = self.hold else {
            return false;
        };
        let registered = self.executors.len();
        if registered < hold.wanted && now < hold.until {
            return true;
        }
        tracing::info!(
            "{registered} of {} executors registered; scheduling begins",
            hold.total
        );
        self.hold = None;
        false
    }

    /// Takes out the attempts of stages no job needs, and those no executor may ever run.
    fn drop_unrunnable(&mut self) -> Vec<(Launch, Error)> {
        let gone = self.gone.clone();
        let executors: Vec<&str> = self.executors.keys().map(String::as_str).collect();
        let health = &self.health;
        let max = self.settings.max_failures_per_executor;
        self.pending.remove_where(|launch| {
            let id = launch.id;
            if launch.cancelled.load(Ordering::Relaxed) {
                Some(Error::Internal(
                    "the job was aborted before the task ran".into(),
                ))
            } else if let Some(reason) = &gone {
                Some(Error::Input(format!(
                    "no executor can run the task: {reason}"
                )))
            } else if health.excluded_everywhere(id.stage_id, id.partition, &executors) {
                Some(Error::Input(format!(
                    "task {} in stage {} cannot run on any executor: it failed on every one \
                     ({} = {max})",
                    id.partition,
                    id.stage_id,
                    keys::EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR.key
                )))
            } else {
                None
            }
        })
    }
}

/// The live executors, their hosts and racks, as delay scheduling sees them.
struct LiveCluster<'a> {
    executors: &'a BTreeMap<String, ExecutorSlots>,
    hosts: HashSet<&'a str>,
    racks: HashSet<&'a str>,
    rack_of: &'a RackOf,
}

impl<'a> LiveCluster<'a> {
    fn of(executors: &'a BTreeMap<String, ExecutorSlots>, rack_of: &'a RackOf) -> Self {
        LiveCluster {
            executors,
            hosts: executors.values().map(|e| e.host.as_str()).collect(),
            racks: executors.values().map(|e| e.rack.as_str()).collect(),
            rack_of,
        }
    }
}

impl ClusterView for LiveCluster<'_> {
    fn executor_alive(&self, executor: &str) -> bool {
        self.executors.contains_key(executor)
    }
    fn host_alive(&self, host: &str) -> bool {
        self.hosts.contains(host)
    }
    fn rack_of(&self, host: &str) -> String {
        (self.rack_of)(host)
    }
    fn rack_alive(&self, rack: &str) -> bool {
        self.racks.contains(rack)
    }
}

#[cfg(test)]
mod tests;
