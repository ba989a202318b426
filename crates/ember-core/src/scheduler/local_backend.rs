//! Task slots as threads of this process (Spark's `LocalSchedulerBackend`).
//!
//! `local[N]` starts N worker threads. Each takes serialized tasks from one queue, rebuilds the
//! task from its bytes (so local mode runs exactly what an executor would), runs it inside its
//! [`TaskContext`], and reports a [`TaskEvent`] to the job that launched it. A panic in user code
//! fails only that attempt; the thread lives on.

use super::events::{TaskEvent, TaskFailure, TaskPlace, TaskSuccess, TaskUpdate};
use super::locality::TaskLocality;
use super::scheduler_backend::{ExecutorInfo, Launch, SchedulerBackend};
use super::task::{decode_task_bytes, TaskOutput};
use crate::env::Env;
use crate::error::Error;
use crate::task_context::{TaskAbort, TaskContext};
use crossbeam_channel::{Receiver, Sender};
use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};
use std::thread::JoinHandle;

/// Why a task launched after the application stopped did not run.
pub(crate) const STOPPED: &str = "the Context was stopped; create a new Context to run more jobs";

/// The task slots of a `local[N]` application.
pub(crate) struct LocalBackend {
    // Emptied when the backend stops: the workers see the queue close and end.
    queue: parking_lot::Mutex<Option<Sender<Launch>>>,
    workers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
    env: Arc<Env>,
    slots: usize,
}

impl LocalBackend {
    /// Starts `slots` worker threads sharing `env`.
    ///
    /// # Errors
    /// The operating system refused to start a thread.
    pub(crate) fn start(slots: usize, env: Arc<Env>) -> Result<Self, Error> {
        install_panic_hook();
        let (queue, tasks) = crossbeam_channel::unbounded::<Launch>();
        let backend = LocalBackend {
            queue: parking_lot::Mutex::new(Some(queue)),
            workers: parking_lot::Mutex::new(Vec::with_capacity(slots)),
            env: env.clone(),
            slots,
        };
        for i in 0..slots {
            let tasks = tasks.clone();
            let env = env.clone();
            let worker = std::thread::Builder::new()
                .name(format!("ember-task-{i}"))
                .spawn(move || worker(tasks, env))
                .map_err(|e| Error::io(format!("task thread {i} of local[{slots}]"), e))?;
            backend.workers.lock().push(worker);
        }
        Ok(backend)
    }
}

impl SchedulerBackend for LocalBackend {
    fn launch(&self, launch: Launch) {
        match &*self.queue.lock() {
            Some(queue) => {
                let _ = queue.send(launch);
            }
            // A job still running when the application stopped hears why its task cannot run.
            None => {
                let result = Err(TaskFailure {
                    error: Error::Input(STOPPED.into()),
                });
                let _ = launch.reply.send(TaskUpdate::Finished(TaskEvent {
                    id: launch.id,
                    result,
                }));
            }
        }
    }

    fn executors(&self) -> Vec<ExecutorInfo> {
        vec![ExecutorInfo {
            executor_id: self.env.executor_id.clone(),
            address: String::new(),
            cores: self.slots,
            pid: std::process::id(),
        }]
    }

    // The driver's own block manager is the only one: nothing else holds copies.
    fn remove_rdd(&self, _id: usize) {}

    fn stop(&self) {
        self.queue.lock().take();
        let workers = std::mem::take(&mut *self.workers.lock());
        for w in workers {
            // A worker that stops itself (a task calling stop) is not waited for.
            if w.thread().id() != std::thread::current().id() {
                let _ = w.join();
            }
        }
    }
}

impl Drop for LocalBackend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn worker(tasks: Receiver<Launch>, env: Arc<Env>) {
    while let Ok(launch) = tasks.recv() {
        if launch.cancelled.load(Ordering::Relaxed) {
            let result = Err(TaskFailure {
                error: Error::Internal("the job was aborted before the task ran".into()),
            });
            let _ = launch.reply.send(TaskUpdate::Finished(TaskEvent {
                id: launch.id,
                result,
            }));
            continue;
        }
        // A job that was aborted no longer listens; its stragglers' reports are dropped.
        // One process: every task runs where its data is.
        let place = TaskPlace {
            executor_id: "driver".into(),
            host: "localhost".into(),
            locality: TaskLocality::ProcessLocal,
        };
        let _ = launch.reply.send(TaskUpdate::Started(launch.id, place));
        let event = run_task(&launch, &env);
        let _ = launch.reply.send(TaskUpdate::Finished(event));
    }
}

/// Runs one attempt in this thread, catching panics and aborts as task failures.
pub(crate) fn run_task(launch: &Launch, env: &Arc<Env>) -> TaskEvent {
    let id = launch.id;
    let tc = Arc::new(TaskContext::new(
        env.clone(),
        id.stage_id,
        id.stage_attempt,
        id.rdd_partition,
        id.attempt,
        id.task_attempt_id,
    ));
    let outcome = IN_TASK.with(|flag| {
        flag.set(true);
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            TaskContext::enter(&tc, || {
                let task = decode_task_bytes(&launch.bytes)?;
                task.run(&tc)
            })
        }));
        flag.set(false);
        r
    });
    let result = match outcome {
        Ok(Ok(output)) => success(output, &tc),
        Ok(Err(error)) => Err(TaskFailure { error }),
        Err(payload) => Err(TaskFailure {
            error: panic_error(payload),
        }),
    };
    TaskEvent { id, result }
}

fn success(output: TaskOutput, tc: &TaskContext) -> Result<TaskSuccess, TaskFailure> {
    match tc.accumulator_updates() {
        Ok(accumulator_updates) => Ok(TaskSuccess {
            output,
            accumulator_updates,
            metrics: tc.metrics().snapshot(),
            executor_id: tc.executor_id().to_string(),
            cached_blocks: tc.stored_blocks(),
        }),
        Err(error) => Err(TaskFailure { error }),
    }
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let payload = match payload.downcast::<TaskAbort>() {
        Ok(abort) => return abort.0,
        Err(p) => p,
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic with a non-string payload".into());
    let location = PANIC_LOCATION.with(|l| l.borrow_mut().take());
    Error::UserCode(match location {
        Some(at) => format!("panicked at {at}: {message}"),
        None => format!("panicked: {message}"),
    })
}

thread_local! {
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread as part of `tc`'s task, as the task runner does: panics are not
/// printed, and an [`abort`](crate::task_context::abort) or panic comes back as the error the
/// task fails with.
pub(crate) fn run_as_task<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> Result<R, Error> {
    let outcome = IN_TASK.with(|flag| {
        flag.set(true);
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| TaskContext::enter(tc, f)));
        flag.set(false);
        r
    });
    outcome.map_err(panic_error)
}

/// Panics inside tasks are task failures, reported with the job; they are not printed as they
/// happen. Panics anywhere else still reach the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TASK.with(Cell::get) {
                let at = info.location().map(|l| l.to_string());
                PANIC_LOCATION.with(|l| *l.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}
