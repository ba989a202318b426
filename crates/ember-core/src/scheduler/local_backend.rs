//! Task slots as threads of this process (Spark's `LocalSchedulerBackend`).
//!
//! `local[N]` runs N slots of a [`TaskRunner`] in the driver, the same runner an executor
//! process uses, and hands their reports straight to the DAG scheduler: every attempt runs in
//! this process, where every cached block is, so each is PROCESS_LOCAL.

use super::events::{TaskEvent, TaskFailure, TaskPlace, TaskReply, TaskUpdate};
use super::locality::TaskLocality;
use super::scheduler_backend::{ExecutorInfo, Launch, SchedulerBackend, TaskId};
use crate::env::Env;
use crate::error::Error;
use crate::executor::task_runner::{StatusReporter, TaskDescription, TaskRunner};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a task launched after the application stopped did not run.
pub(crate) const STOPPED: &str = "the Context was stopped; create a new Context to run more jobs";

/// The task slots of a `local[N]` application.
pub(crate) struct LocalBackend {
    runner: TaskRunner,
    replies: Arc<Replies>,
    executor_id: String,
    slots: usize,
}

/// Where to report each attempt out, by task attempt id.
#[derive(Default)]
struct Replies(Mutex<HashMap<u64, TaskReply>>);

impl StatusReporter for Replies {
    fn started(&self, id: TaskId) {
        let place = TaskPlace {
            executor_id: "driver".into(),
            host: "localhost".into(),
            locality: TaskLocality::ProcessLocal,
        };
        if let Some(reply) = self.0.lock().get(&id.task_attempt_id) {
            reply.send(TaskUpdate::Started(id, place));
        }
    }

    fn finished(&self, event: TaskEvent) {
        if let Some(reply) = self.0.lock().remove(&event.id.task_attempt_id) {
            reply.send(TaskUpdate::Finished(event));
        }
    }
}

impl LocalBackend {
    /// Starts `slots` task threads sharing `env`.
    ///
    /// # Errors
    /// The operating system refused to start a thread.
    pub(crate) fn start(slots: usize, env: Arc<Env>) -> Result<Self, Error> {
        let replies = Arc::new(Replies::default());
        let executor_id = env.executor_id.clone();
        let runner = TaskRunner::start(slots, env, replies.clone(), "ember-task")?;
        Ok(LocalBackend {
            runner,
            replies,
            executor_id,
            slots,
        })
    }
}

impl SchedulerBackend for LocalBackend {
    fn launch(&self, launch: Launch) {
        let id = launch.id;
        self.replies
            .0
            .lock()
            .insert(id.task_attempt_id, launch.reply);
        let task = TaskDescription {
            id,
            bytes: launch.bytes,
            killed: launch.cancelled,
        };
        if self.runner.submit(task).is_err() {
            // A job still running when the application stopped hears why its task cannot run.
            let error = Error::Input(STOPPED.into());
            self.replies.finished(TaskEvent {
                id,
                result: Err(TaskFailure { error }),
            });
        }
    }

    fn executors(&self) -> Vec<ExecutorInfo> {
        vec![ExecutorInfo {
            executor_id: self.executor_id.clone(),
            address: String::new(),
            cores: self.slots,
            pid: std::process::id(),
        }]
    }

    // The driver's own block manager is the only one: nothing else holds copies.
    fn remove_rdd(&self, _id: usize) {}

    fn stop(&self) {
        self.runner.stop();
    }
}
