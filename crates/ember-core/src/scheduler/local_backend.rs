//! Task slots as threads of this process (Spark's `LocalSchedulerBackend`).
//!
//! `local[N]` is one executor, the driver itself, with N slots of a [`TaskRunner`] (the same
//! runner an executor process uses). Its attempts are placed by the same [`TaskScheduler`] as a
//! cluster's, so locality waits and exclusion behave alike on every master; the slots report
//! straight to the DAG scheduler, and each finished attempt offers its slot again. As in Spark,
//! nothing is speculated here: a copy must run on another executor than its original.

use super::events::{TaskEvent, TaskFailure, TaskPlace, TaskUpdate};
use super::scheduler_backend::{ExecutorInfo, Launch, SchedulerBackend, TaskId};
use super::task_scheduler::{TaskScheduler, TaskSchedulerSettings};
use crate::conf::EmberConf;
use crate::env::Env;
use crate::error::Error;
use crate::executor::task_runner::{StatusReporter, TaskDescription, TaskRunner};
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Why a task launched after the application stopped did not run.
pub(crate) const STOPPED: &str = "the Context was stopped; create a new Context to run more jobs";

/// The host the driver's own executor is on, as its attempts report it.
const LOCAL_HOST: &str = "localhost";

/// The task slots of a `local[N]` application.
pub(crate) struct LocalBackend {
    slots: Arc<Slots>,
    cores: usize,
}

/// What the backend and its slot threads share.
struct Slots {
    executor_id: String,
    scheduler: Mutex<TaskScheduler>,
    // Set once, right after the runner started with these slots as its reporter.
    runner: OnceLock<TaskRunner>,
}

impl Slots {
    /// Runs what the task scheduler places in free slots; reports what will never run.
    fn dispatch(&self, scheduler: &mut TaskScheduler) {
        let offers = scheduler.resource_offers(Instant::now());
        for (launch, error) in offers.dropped {
            finish(&launch, error);
        }
        for assignment in offers.assigned {
            let task = TaskDescription {
                id: assignment.id,
                bytes: assignment.bytes,
                killed: assignment.killed,
            };
            let Some(runner) = self.runner.get() else {
                continue;
            };
            if let Err(task) = runner.submit(task) {
                // The slots are stopping: a job still running hears why its task cannot run.
                let id = task.id.task_attempt_id;
                let now = Instant::now();
                if let Some(launch) = scheduler.status_update(&self.executor_id, id, false, now) {
                    finish(&launch, Error::Input(STOPPED.into()));
                }
            }
        }
    }
}

impl StatusReporter for Slots {
    fn started(&self, id: TaskId) {
        let scheduler = self.scheduler.lock();
        if let Some(launch) = scheduler.running(&self.executor_id, id.task_attempt_id) {
            let place = TaskPlace {
                executor_id: self.executor_id.clone(),
                host: LOCAL_HOST.into(),
                locality: launch.locality,
            };
            launch.reply.send(TaskUpdate::Started(id, place));
        }
    }

    fn finished(&self, event: TaskEvent) {
        let mut scheduler = self.scheduler.lock();
        let failed = event.result.is_err();
        let id = event.id.task_attempt_id;
        let finished = scheduler.status_update(&self.executor_id, id, failed, Instant::now());
        if let Some(launch) = finished {
            launch.reply.send(TaskUpdate::Finished(event));
        }
        self.dispatch(&mut scheduler);
    }
}

fn finish(launch: &Launch, error: Error) {
    launch.reply.send(TaskUpdate::Finished(TaskEvent {
        id: launch.id,
        result: Err(TaskFailure { error }),
    }));
}

impl LocalBackend {
    /// Starts `cores` task threads sharing `env`, placing attempts as `conf` says.
    ///
    /// # Errors
    /// A scheduling setting does not parse, or the operating system refused to start a thread.
    pub(crate) fn start(cores: usize, env: Arc<Env>, conf: &EmberConf) -> Result<Self, Error> {
        let racks = env.clone();
        let mut scheduler = TaskScheduler::new(
            TaskSchedulerSettings::from_conf(conf)?,
            Arc::new(move |host: &str| racks.racks.rack_of(host)),
        );
        scheduler.executor_added(&env.executor_id, LOCAL_HOST, cores);
        let slots = Arc::new(Slots {
            executor_id: env.executor_id.clone(),
            scheduler: Mutex::new(scheduler),
            runner: OnceLock::new(),
        });
        let runner = TaskRunner::start(cores, env, slots.clone(), "ember-task")?;
        let _ = slots.runner.set(runner);
        Ok(LocalBackend { slots, cores })
    }
}

impl SchedulerBackend for LocalBackend {
    fn launch(&self, launch: Launch) {
        let mut scheduler = self.slots.scheduler.lock();
        scheduler.submit(launch);
        self.slots.dispatch(&mut scheduler);
    }

    fn executors(&self) -> Vec<ExecutorInfo> {
        vec![ExecutorInfo {
            executor_id: self.slots.executor_id.clone(),
            address: String::new(),
            cores: self.cores,
            pid: std::process::id(),
        }]
    }

    // The driver's own block manager is the only one: nothing else holds copies.
    fn remove_rdd(&self, _id: usize) {}

    fn stage_ended(&self, id: usize) {
        self.slots.scheduler.lock().stage_ended(id);
    }

    // The flags are the slots' own: setting them is all it takes.
    fn kill_stage_tasks(&self, id: usize) {
        self.slots.scheduler.lock().kill_stage(id);
    }

    fn kill_attempt(&self, task_attempt_id: u64) {
        self.slots.scheduler.lock().kill_attempt(task_attempt_id);
    }

    fn stop(&self) {
        if let Some(runner) = self.slots.runner.get() {
            runner.stop();
        }
    }
}

impl Drop for LocalBackend {
    fn drop(&mut self) {
        self.stop();
    }
}
