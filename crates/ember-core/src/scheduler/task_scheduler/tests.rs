//! The task scheduler driven by hand with a manual clock: offers, locality waits, exclusion,
//! lost executors, the registration hold. Each test ends with nothing left behind.

use super::*;
use crate::scheduler::events::TaskReply;
use crate::scheduler::locality::TaskLocality;
use crate::scheduler::TaskId;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(3);

fn scheduler_settings(exclude_on_failure: bool) -> TaskSchedulerSettings {
    TaskSchedulerSettings {
        pools: Pools::default(),
        waits: LocalityWaits::uniform(WAIT),
        exclude_on_failure,
        max_failures_per_executor: 1,
        speculation: None,
    }
}

fn scheduler(exclude_on_failure: bool) -> TaskScheduler {
    let settings = scheduler_settings(exclude_on_failure);
    // Hosts h1 and h2 share a rack; h3 is alone in another.
    let rack_of: RackOf = Arc::new(|host: &str| match host {
        "h3" => "/rack-b".into(),
        _ => "/rack-a".into(),
    });
    TaskScheduler::new(settings, rack_of)
}

fn launch(stage: usize, partition: usize, tid: u64, hosts: &[&str]) -> Launch {
    let (events, _) = crossbeam_channel::unbounded();
    Launch {
        id: TaskId {
            stage_id: stage,
            stage_attempt: 0,
            partition,
            rdd_partition: partition,
            attempt: 0,
            task_attempt_id: tid,
        },
        bytes: vec![tid as u8],
        reply: TaskReply::new(events),
        cancelled: Arc::new(AtomicBool::new(false)),
        preferred: Vec::new(),
        preferred_hosts: hosts.iter().map(|h| h.to_string()).collect(),
        locality: TaskLocality::Any,
        job_id: 0,
        pool: DEFAULT_POOL.into(),
        not_on: None,
    }
}

fn placed(offers: &Offers) -> Vec<(String, u64)> {
    let mut placed: Vec<(String, u64)> = offers
        .assigned
        .iter()
        .map(|a| (a.executor.clone(), a.id.task_attempt_id))
        .collect();
    placed.sort();
    placed
}

#[test]
fn free_slots_take_queued_attempts_and_a_finished_attempt_frees_its_slot() {
    let mut s = scheduler(false);
    let now = Instant::now();
    s.executor_added("exec-a", "h1", 2);
    for tid in 0..3 {
        s.submit(launch(0, tid as usize, tid, &[]));
    }
    let first = s.resource_offers(now);
    assert_eq!(first.assigned.len(), 2, "two slots, two attempts");
    assert_eq!(
        first.assigned[0].bytes,
        vec![first.assigned[0].id.task_attempt_id as u8]
    );
    assert!(
        s.resource_offers(now).assigned.is_empty(),
        "no slot is free"
    );
    let done = first.assigned[0].id.task_attempt_id;
    assert_eq!(
        s.status_update("exec-a", done, false, now)
            .map(|l| l.id.task_attempt_id),
        Some(done)
    );
    assert!(
        s.status_update("exec-a", done, false, now).is_none(),
        "reported once"
    );
    let next = s.resource_offers(now);
    assert_eq!(placed(&next), vec![("exec-a".to_string(), 2)]);
    for tid in [first.assigned[1].id.task_attempt_id, 2] {
        s.status_update("exec-a", tid, false, now);
    }
    assert!(s.is_empty());
}

#[test]
fn an_attempt_waits_for_a_slot_on_its_host_until_the_locality_wait_passes() {
    let mut s = scheduler(false);
    let start = Instant::now();
    s.executor_added("exec-a", "h1", 1);
    s.executor_added("exec-b", "h3", 1);
    s.submit(launch(0, 0, 7, &["h1"]));
    s.submit(launch(0, 1, 8, &["h1"]));
    let first = s.resource_offers(start);
    assert_eq!(
        placed(&first),
        vec![("exec-a".to_string(), 7)],
        "NODE_LOCAL first"
    );
    let waiting = s.resource_offers(start + WAIT / 2);
    assert!(
        waiting.assigned.is_empty(),
        "exec-b is free but far from the data"
    );
    // Still at NODE_LOCAL after the wait, h1 being busy: RACK_LOCAL has no slot either (h3
    // is in another rack), so the attempt goes ANY once both waits passed.
    let later = s.resource_offers(start + WAIT * 2 + Duration::from_millis(1));
    assert_eq!(placed(&later), vec![("exec-b".to_string(), 8)]);
    let launch = s.running("exec-b", 8).map(|l| l.locality);
    assert_eq!(launch, Some(TaskLocality::Any));
    s.status_update("exec-a", 7, false, start);
    s.status_update("exec-b", 8, false, start);
    assert!(s.is_empty());
}

#[test]
fn a_task_avoids_executors_it_failed_on_and_fails_once_excluded_everywhere() {
    let mut s = scheduler(true);
    let now = Instant::now();
    s.executor_added("exec-a", "h1", 1);
    s.executor_added("exec-b", "h2", 1);
    s.submit(launch(3, 0, 1, &[]));
    let first = s.resource_offers(now);
    let (executor, _) = placed(&first)[0].clone();
    s.status_update(&executor, 1, true, now);
    s.submit(launch(3, 0, 2, &[]));
    let retry = s.resource_offers(now);
    let (other, _) = placed(&retry)[0].clone();
    assert_ne!(other, executor, "the retry goes to the other executor");
    s.status_update(&other, 2, true, now);
    s.submit(launch(3, 0, 3, &[]));
    let last = s.resource_offers(now);
    assert!(last.assigned.is_empty());
    let error = last.dropped[0].1.to_string();
    assert!(
        error.contains("task 0 in stage 3 cannot run on any executor"),
        "{error}"
    );
    assert!(error.contains("maxTaskAttemptsPerExecutor = 1"), "{error}");
    assert!(!s.is_empty(), "failures are kept while the stage lives");
    s.stage_ended(3);
    assert!(s.is_empty());
}

#[test]
fn a_lost_executor_gives_back_its_running_attempts_and_cancelled_ones_are_dropped() {
    let mut s = scheduler(false);
    let now = Instant::now();
    s.executor_added("exec-a", "h1", 1);
    s.submit(launch(0, 0, 1, &[]));
    let queued = launch(0, 1, 2, &[]);
    let cancelled = queued.cancelled.clone();
    s.submit(queued);
    assert_eq!(
        placed(&s.resource_offers(now)),
        vec![("exec-a".to_string(), 1)]
    );
    let lost = s.executor_removed("exec-a");
    assert_eq!(
        lost.iter()
            .map(|l| l.id.task_attempt_id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    cancelled.store(true, Ordering::Relaxed);
    let offers = s.resource_offers(now);
    assert_eq!(offers.dropped.len(), 1);
    assert!(offers.dropped[0].1.to_string().contains("aborted"));
    assert!(s.is_empty());
}

#[test]
fn scheduling_holds_until_enough_executors_or_the_deadline() {
    let mut s = scheduler(false);
    let start = Instant::now();
    s.hold_until(2, 2, start + WAIT);
    s.executor_added("exec-a", "h1", 1);
    s.submit(launch(0, 0, 1, &["h2"]));
    assert!(
        s.resource_offers(start).assigned.is_empty(),
        "held for the second executor"
    );
    assert_eq!(
        s.tasks_per_host().1.get("h2"),
        Some(&1),
        "its wish is known meanwhile"
    );
    s.executor_added("exec-b", "h2", 1);
    assert_eq!(
        placed(&s.resource_offers(start)),
        vec![("exec-b".to_string(), 1)]
    );
    assert!(!s.is_holding());
    s.status_update("exec-b", 1, false, start);

    let mut late = scheduler(false);
    late.hold_until(3, 3, start + WAIT);
    late.executor_added("exec-a", "h1", 1);
    late.submit(launch(0, 0, 1, &[]));
    assert!(late.resource_offers(start).assigned.is_empty());
    assert_eq!(late.resource_offers(start + WAIT).assigned.len(), 1);
    late.status_update("exec-a", 1, false, start);
    assert!(s.is_empty() && late.is_empty());
}

#[test]
fn with_no_executor_to_come_every_attempt_fails_with_why() {
    let mut s = scheduler(false);
    s.submit(launch(0, 0, 1, &[]));
    s.no_more_executors("the cluster manager gave up after 3 failed executors".into());
    let offers = s.resource_offers(Instant::now());
    let error = offers.dropped[0].1.to_string();
    assert!(
        error.contains("no executor can run the task: the cluster manager gave up"),
        "{error}"
    );
    assert!(s.is_empty());
}

#[test]
fn fair_pools_get_slots_in_proportion_to_their_weights() {
    let xml = r#"<allocations>
        <pool name="light"><weight>1</weight></pool>
        <pool name="heavy"><weight>3</weight></pool>
    </allocations>"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pools.xml");
    std::fs::write(&file, xml).unwrap();
    let conf = crate::EmberConf::empty()
        .set("ember.scheduler.mode", "FAIR")
        .set("ember.scheduler.allocation.file", file.to_str().unwrap());
    let mut settings = TaskSchedulerSettings::from_conf(&conf).unwrap();
    settings.waits = LocalityWaits::uniform(WAIT);
    let mut s = TaskScheduler::new(settings, Arc::new(|_: &str| "/rack".to_string()));
    s.executor_added("driver", "localhost", 4);
    let now = Instant::now();
    // More attempts than the rounds place, so that both pools stay busy throughout.
    for i in 0..400u64 {
        let mut light = launch(0, i as usize, i, &[]);
        light.pool = "light".into();
        let mut heavy = launch(1, i as usize, 1000 + i, &[]);
        (heavy.job_id, heavy.pool) = (1, "heavy".into());
        s.submit(light);
        s.submit(heavy);
    }
    let mut running: std::collections::VecDeque<u64> = Default::default();
    let (mut light, mut heavy) = (0, 0);
    for round in 0..300 {
        for a in s.resource_offers(now).assigned {
            running.push_back(a.id.task_attempt_id);
        }
        if round >= 20 {
            heavy += running.iter().filter(|&&t| t >= 1000).count();
            light += running.iter().filter(|&&t| t < 1000).count();
        }
        // The oldest attempt finishes; its slot is offered again.
        let done = running.pop_front().unwrap();
        s.status_update("driver", done, false, now);
    }
    let share = heavy as f64 / (light + heavy) as f64;
    assert!(
        (share - 0.75).abs() < 0.02,
        "heavy held {share:.3} of the slots"
    );
}

#[test]
fn a_slow_attempt_gets_one_copy_on_another_executor_once_most_of_its_stage_is_done() {
    let mut settings = TaskSchedulerSettings {
        speculation: Some(SpeculationSettings {
            interval: Duration::from_millis(100),
            multiplier: 1.5,
            quantile: 0.75,
            min_runtime: Duration::from_millis(100),
        }),
        ..scheduler_settings(false)
    };
    settings.waits = LocalityWaits::uniform(Duration::ZERO);
    let mut s = TaskScheduler::new(settings, Arc::new(|_: &str| "/rack".to_string()));
    s.executor_added("exec-a", "h1", 2);
    s.executor_added("exec-b", "h2", 2);
    let start = Instant::now();
    for tid in 0..4 {
        s.submit(launch(0, tid as usize, tid, &[]));
    }
    let placed = placed(&s.resource_offers(start));
    assert_eq!(placed.len(), 4);
    let at = |ms| start + Duration::from_millis(ms);
    s.status_update(&placed[0].0, placed[0].1, false, at(200));
    s.status_update(&placed[1].0, placed[1].1, false, at(200));
    assert!(
        s.speculatable(at(1000)).is_empty(),
        "2 of 4 done: below the quantile"
    );
    s.status_update(&placed[2].0, placed[2].1, false, at(300));
    // Median 200 ms x 1.5 = 300 ms: the last attempt is slow only after 300 ms.
    assert!(s.speculatable(at(250)).is_empty());
    let slow = s.speculatable(at(400));
    assert_eq!(slow.len(), 1);
    assert_eq!(
        (slow[0].id.task_attempt_id, slow[0].executor.as_str()),
        (placed[3].1, placed[3].0.as_str())
    );
    assert!(s.speculatable(at(900)).is_empty(), "one copy per task");
    // The copy never goes where the original runs.
    let mut copy = launch(0, 3, 9, &[]);
    copy.not_on = Some(placed[3].0.clone());
    s.submit(copy);
    let copied = s.resource_offers(at(400));
    assert_eq!(copied.assigned.len(), 1);
    assert_ne!(copied.assigned[0].executor, placed[3].0);
    s.status_update(&copied.assigned[0].executor, 9, false, at(450));
    assert_eq!(s.kill_attempt(placed[3].1), Some(placed[3].0.clone()));
    s.status_update(&placed[3].0, placed[3].1, true, at(460));
    s.stage_ended(0);
    assert!(s.is_empty());
}
