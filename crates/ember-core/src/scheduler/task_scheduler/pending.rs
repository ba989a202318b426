//! The driver's queue of task attempts waiting for an executor slot: one task set per stage
//! attempt, each placed by delay scheduling ([`TaskSetManager`]), offered free slots as
//! Spark's `TaskSchedulerImpl.resourceOffers` offers them: task sets in arrival order, each
//! level by level, every free slot until none takes a task.

use super::super::locality::{
    ClusterView, LocalityWaits, Preferences, Slot, TaskLocality, TaskSetManager,
};
use super::super::scheduler_backend::Launch;
use super::pools::SetInfo;
use crate::error::Error;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A free slot's executor, as the queue sees it.
#[derive(Debug, Clone)]
pub(crate) struct FreeExecutor {
    pub id: String,
    pub host: String,
    pub rack: String,
    pub free: usize,
}

/// An attempt the queue placed, and its executor.
pub(crate) type Placed = (String, Launch);

struct PendingSet {
    /// (stage id, stage attempt).
    key: (usize, usize),
    /// The job and pool of its first attempt.
    job: usize,
    pool: Arc<str>,
    manager: TaskSetManager,
    /// By index in the set; taken when placed.
    launches: Vec<Option<Launch>>,
}

/// Attempts waiting for slots.
pub(crate) struct PendingTasks {
    sets: Vec<PendingSet>,
    waits: LocalityWaits,
}

impl PendingTasks {
    pub(crate) fn new(waits: LocalityWaits) -> Self {
        PendingTasks {
            sets: Vec::new(),
            waits,
        }
    }

    /// Queues an attempt in its stage attempt's task set.
    pub(crate) fn push(&mut self, launch: Launch, cluster: &impl ClusterView) {
        let key = (launch.id.stage_id, launch.id.stage_attempt);
        let position = match self.sets.iter().position(|s| s.key == key) {
            Some(p) => p,
            None => {
                self.sets.push(PendingSet {
                    key,
                    job: launch.job_id,
                    pool: launch.pool.clone(),
                    manager: TaskSetManager::empty(self.waits, Instant::now()),
                    launches: Vec::new(),
                });
                self.sets.len() - 1
            }
        };
        let set = &mut self.sets[position];
        let preferences = Preferences {
            executors: launch.preferred.clone(),
            hosts: launch.preferred_hosts.clone(),
        };
        set.manager.push(preferences, cluster);
        set.launches.push(Some(launch));
    }

    /// The task sets in the order they are offered slots, as `order` ranks them given each
    /// set's running attempts (by stage attempt).
    pub(crate) fn reorder(
        &mut self,
        order: impl Fn(&[SetInfo]) -> Vec<usize>,
        running: &HashMap<(usize, usize), usize>,
    ) {
        let infos: Vec<SetInfo> = self
            .sets
            .iter()
            .map(|s| SetInfo {
                job: s.job,
                stage: s.key.0,
                pool: s.pool.clone(),
                running: running.get(&s.key).copied().unwrap_or(0),
            })
            .collect();
        let mut sets: Vec<Option<PendingSet>> = self.sets.drain(..).map(Some).collect();
        self.sets = order(&infos)
            .into_iter()
            .filter_map(|i| sets[i].take())
            .collect();
    }

    /// Executors came or went.
    pub(crate) fn cluster_changed(&mut self) {
        for set in &mut self.sets {
            set.manager.cluster_changed();
        }
    }

    /// Takes out every attempt `verdict` condemns, with its error.
    pub(crate) fn remove_where(
        &mut self,
        mut verdict: impl FnMut(&Launch) -> Option<Error>,
    ) -> Vec<(Launch, Error)> {
        let mut removed = Vec::new();
        for set in &mut self.sets {
            for (index, slot) in set.launches.iter_mut().enumerate() {
                let Some(error) = slot.as_ref().and_then(&mut verdict) else {
                    continue;
                };
                if let Some(launch) = slot.take() {
                    set.manager.cancel(index);
                    removed.push((launch, error));
                }
            }
        }
        self.sets.retain(|s| s.launches.iter().any(Option::is_some));
        removed
    }

    /// Places waiting attempts on `free` slots; `excluded` rules out an attempt on an
    /// executor.
    pub(crate) fn assign(
        &mut self,
        free: &mut [FreeExecutor],
        cluster: &impl ClusterView,
        excluded: &dyn Fn(&Launch, &str) -> bool,
        now: Instant,
    ) -> Vec<Placed> {
        let mut assignments = Vec::new();
        for set in &mut self.sets {
            let (mut best, mut delayed) = (None::<TaskLocality>, false);
            for max in set.manager.levels(cluster) {
                loop {
                    let mut any = false;
                    for executor in free.iter_mut().filter(|e| e.free > 0) {
                        let slot = Slot {
                            executor: &executor.id,
                            host: &executor.host,
                            rack: &executor.rack,
                        };
                        let launches = &set.launches;
                        let skip = |t: usize| {
                            launches[t]
                                .as_ref()
                                .is_some_and(|l| excluded(l, &executor.id))
                        };
                        let offered = set.manager.offer(&slot, max, cluster, &skip, now);
                        delayed |= offered.delayed;
                        let Some((index, level)) = offered.task else {
                            continue;
                        };
                        let Some(mut launch) = set.launches[index].take() else {
                            continue;
                        };
                        launch.locality = level;
                        executor.free -= 1;
                        any = true;
                        best = Some(best.map_or(level, |b| b.min(level)));
                        assignments.push((executor.id.clone(), launch));
                    }
                    if !any {
                        break;
                    }
                }
            }
            // Spark 3.1+: the wait restarts only after a round that turned nothing down.
            if let (Some(best), false) = (best, delayed) {
                set.manager.reset_wait(best, now);
            }
        }
        assignments
    }

    /// Forgets task sets with nothing left to place.
    pub(crate) fn prune(&mut self) {
        self.sets.retain(|s| s.launches.iter().any(Option::is_some));
    }

    /// The attempts waiting, and how many of them prefer each host.
    pub(crate) fn tasks_per_host(&self) -> (usize, HashMap<String, usize>) {
        let mut hosts = HashMap::new();
        let waiting = self.sets.iter().flat_map(|s| s.launches.iter().flatten());
        let mut count = 0;
        for launch in waiting {
            count += 1;
            for host in &launch.preferred_hosts {
                *hosts.entry(host.clone()).or_insert(0) += 1;
            }
        }
        (count, hosts)
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}
