//! Delay scheduling on a simulated cluster: 100 hosts in 10 racks, one executor with two slots
//! on each, and many jobs whose input blocks have three replicas placed as HDFS places them
//! (one on a host, two on another rack). Time is simulated; offers go round as in Spark's
//! `TaskSchedulerImpl.resourceOffers`: every free slot, task sets in arrival order, level by
//! level.

use super::*;
use std::collections::BTreeMap;

const HOSTS: usize = 100;
const RACKS: usize = 10;
const SLOTS: usize = 2;

fn host(i: usize) -> String {
    format!("h{i:03}")
}

struct Cluster;

impl ClusterView for Cluster {
    fn executor_alive(&self, executor: &str) -> bool {
        executor.starts_with('e')
    }
    fn host_alive(&self, host: &str) -> bool {
        host.starts_with('h')
    }
    fn rack_of(&self, host: &str) -> String {
        let i: usize = host[1..].parse().unwrap_or(0);
        format!("/rack-{}", i % RACKS)
    }
    fn rack_alive(&self, _rack: &str) -> bool {
        true
    }
}

/// A small deterministic generator.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Replicas of one block: a random host, then two hosts of one other rack.
fn replicas(random: &mut Random) -> Vec<String> {
    let first = random.below(HOSTS);
    let other_rack = (first % RACKS + 1 + random.below(RACKS - 1)) % RACKS;
    let in_rack = |random: &mut Random| other_rack + RACKS * random.below(HOSTS / RACKS);
    let second = in_rack(random);
    let mut third = in_rack(random);
    while third == second {
        third = in_rack(random);
    }
    vec![host(first), host(second), host(third)]
}

/// A job: its tasks' preferences and how long each task runs.
struct Job {
    arrives: Duration,
    tasks: Vec<(Preferences, Duration)>,
}

/// Slots that free up, by (time, sequence number): the host, and the job whose task ends
/// there (none for a host busy from the start).
type Releases = BTreeMap<(Duration, usize), Vec<(usize, Option<usize>)>>;

/// How a simulated run went.
#[derive(Debug)]
struct Outcome {
    counts: LocalityCounts,
    /// When the last task of each job finished.
    finished: Vec<Duration>,
}

/// Runs `jobs` on the simulated cluster with `waits`; `busy` hosts have every slot taken
/// until the given time.
fn simulate(jobs: &[Job], waits: LocalityWaits, busy: &[(usize, Duration)]) -> Outcome {
    let start = Instant::now();
    let cluster = Cluster;
    let mut free: Vec<usize> = vec![SLOTS; HOSTS];
    let mut releases = Releases::new();
    let mut sequence = 0;
    for &(h, until) in busy {
        free[h] = 0;
        for _ in 0..SLOTS {
            releases
                .entry((until, sequence))
                .or_default()
                .push((h, None));
            sequence += 1;
        }
    }
    let mut sets: Vec<Option<TaskSetManager>> = (0..jobs.len()).map(|_| None).collect();
    let mut running = vec![0usize; jobs.len()];
    let mut finished = vec![Duration::ZERO; jobs.len()];
    let mut counts = LocalityCounts::default();
    let mut now = Duration::ZERO;
    let tick = Duration::from_millis(100);
    let mut order = Random(7);
    loop {
        for (j, job) in jobs.iter().enumerate() {
            if sets[j].is_none() && job.arrives <= now {
                let preferences = job.tasks.iter().map(|(p, _)| p.clone()).collect();
                sets[j] = Some(TaskSetManager::new(
                    preferences,
                    waits,
                    &cluster,
                    start + now,
                ));
            }
        }
        // Every free slot, task set by task set, level by level.
        for (j, set) in sets.iter_mut().enumerate() {
            let Some(set) = set else { continue };
            let mut delayed_any = false;
            let mut best: Option<TaskLocality> = None;
            for max in set.levels(&cluster) {
                loop {
                    let mut launched = false;
                    let mut hosts: Vec<usize> = (0..HOSTS).filter(|&h| free[h] > 0).collect();
                    // Offers come in a shuffled order, as Spark shuffles them.
                    for i in (1..hosts.len()).rev() {
                        hosts.swap(i, order.below(i + 1));
                    }
                    for h in hosts {
                        let name = host(h);
                        let rack = cluster.rack_of(&name);
                        let executor = format!("e{h}");
                        let slot = Slot {
                            executor: &executor,
                            host: &name,
                            rack: &rack,
                        };
                        let offered = set.offer(&slot, max, &cluster, &|_| false, start + now);
                        delayed_any |= offered.delayed;
                        if let Some((task, level)) = offered.task {
                            counts.add(level);
                            free[h] -= 1;
                            running[j] += 1;
                            let ends = now + jobs[j].tasks[task].1;
                            releases
                                .entry((ends, sequence))
                                .or_default()
                                .push((h, Some(j)));
                            sequence += 1;
                            launched = true;
                            best = Some(best.map_or(level, |b| b.min(level)));
                        }
                    }
                    if !launched {
                        break;
                    }
                }
            }
            if let (Some(best), false) = (best, delayed_any) {
                set.reset_wait(best, start + now);
            }
        }
        let all_done = sets
            .iter()
            .zip(jobs)
            .all(|(s, job)| job.arrives <= now && s.as_ref().is_some_and(|s| !s.has_pending()))
            && running.iter().all(|&r| r == 0);
        if all_done {
            return Outcome { counts, finished };
        }
        // Next: the next release, or a tick for waits to run out.
        let next_release = releases.keys().next().map(|(t, _)| *t);
        now = match next_release {
            Some(t) if t <= now + tick => t,
            _ => now + tick,
        };
        while let Some(entry) = releases.first_entry() {
            if entry.key().0 > now {
                break;
            }
            for (h, job) in entry.remove() {
                free[h] += 1;
                if let Some(j) = job {
                    running[j] -= 1;
                    finished[j] = finished[j].max(now);
                }
            }
        }
    }
}

/// Many jobs of many tasks, arriving faster than the cluster drains them.
fn workload() -> Vec<Job> {
    let mut random = Random(42);
    (0..20)
        .map(|j| Job {
            arrives: Duration::from_secs(j as u64 * 2),
            tasks: (0..100)
                .map(|_| {
                    let preferences = Preferences {
                        executors: Vec::new(),
                        hosts: replicas(&mut random),
                    };
                    let ms = 3000 + random.below(2000) as u64;
                    (preferences, Duration::from_millis(ms))
                })
                .collect(),
        })
        .collect()
}

fn node_local_share(outcome: &Outcome) -> f64 {
    outcome.counts.at(TaskLocality::NodeLocal) as f64 / outcome.counts.total() as f64
}

#[test]
fn waiting_a_few_seconds_runs_nearly_every_task_next_to_its_data() {
    let jobs = workload();
    let eager = simulate(&jobs, LocalityWaits::uniform(Duration::ZERO), &[]);
    let patient = simulate(&jobs, LocalityWaits::uniform(Duration::from_secs(3)), &[]);
    let (eager_share, patient_share) = (node_local_share(&eager), node_local_share(&patient));
    println!(
        "wait 0: {} ({:.1}% NODE_LOCAL, last job done at {:?}); wait 3s: {} ({:.1}% NODE_LOCAL, \
         last job done at {:?})",
        eager.counts,
        eager_share * 100.0,
        eager.finished.iter().max().unwrap(),
        patient.counts,
        patient_share * 100.0,
        patient.finished.iter().max().unwrap()
    );
    assert_eq!(eager.counts.total(), 2000);
    assert_eq!(patient.counts.total(), 2000);
    assert!(patient_share >= 0.95, "{patient_share}");
    assert!(eager_share < 0.8, "{eager_share}");
    assert!(patient_share > eager_share + 0.15);
}

#[test]
fn a_job_whose_hosts_are_busy_runs_elsewhere_once_the_wait_is_over() {
    // Every block of this job lives on h000 and h010 (one rack), busy for a minute.
    let preferences = Preferences {
        executors: Vec::new(),
        hosts: vec![host(0), host(10)],
    };
    let job = Job {
        arrives: Duration::ZERO,
        tasks: vec![(preferences, Duration::from_secs(1)); 20],
    };
    let busy = [(0, Duration::from_secs(60)), (10, Duration::from_secs(60))];
    let waits = LocalityWaits::uniform(Duration::from_secs(3));
    let outcome = simulate(&[job], waits, &busy);
    let done = outcome.finished[0];
    println!("{} done at {done:?}", outcome.counts);
    // It waited for its hosts, then for their rack, then ran where it could.
    assert!(done >= Duration::from_secs(3), "{done:?}");
    assert!(done < Duration::from_secs(15), "{done:?}");
    assert_eq!(outcome.counts.at(TaskLocality::NodeLocal), 0);
    assert_eq!(outcome.counts.total(), 20);
}
