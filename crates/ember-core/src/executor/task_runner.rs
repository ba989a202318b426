//! Task slots: the threads that run tasks (Spark's `Executor` and its `TaskRunner`).
//!
//! A [`TaskRunner`] starts one thread per slot. Each takes [`TaskDescription`]s from one
//! queue, rebuilds the task from its bytes, runs it inside its [`TaskContext`] and tells its
//! [`StatusReporter`] that the attempt started and how it finished. A panic in user code fails
//! only that attempt; the thread lives on.
//!
//! Both kinds of slot run here: an executor process's (its reporter sends status updates to the
//! driver) and the driver's own under `local[N]` (its reporter tells the DAG scheduler
//! directly), so local mode runs exactly what an executor would.

use crate::env::Env;
use crate::error::Error;
use crate::scheduler::{
    decode_task_bytes, TaskEvent, TaskFailure, TaskId, TaskOutput, TaskSuccess,
};
use crate::task_context::{TaskAbort, TaskContext};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;

/// A task attempt as a slot receives it.
pub(crate) struct TaskDescription {
    pub id: TaskId,
    /// The task, serialized with its lineage.
    pub bytes: Vec<u8>,
    /// Set when the attempt is no longer wanted: a queued attempt is then reported failed
    /// without running.
    pub killed: Arc<AtomicBool>,
}

/// Hears what becomes of the attempts a [`TaskRunner`] runs.
pub(crate) trait StatusReporter: Send + Sync + 'static {
    /// The attempt left the queue and runs.
    fn started(&self, id: TaskId);
    /// The attempt finished, or was dropped unrun (then without `started`).
    fn finished(&self, event: TaskEvent);
}

/// A fixed number of task slots.
pub(crate) struct TaskRunner {
    // Emptied when the runner stops: the threads see the queue close and end.
    queue: Mutex<Option<Sender<TaskDescription>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl TaskRunner {
    /// Starts `slots` threads, named `<name>-<i>`, running tasks with `env`.
    ///
    /// # Errors
    /// The operating system refused to start a thread.
    pub(crate) fn start(
        slots: usize,
        env: Arc<Env>,
        reporter: Arc<dyn StatusReporter>,
        name: &str,
    ) -> Result<Self, Error> {
        install_panic_hook();
        let (queue, tasks) = crossbeam_channel::unbounded::<TaskDescription>();
        let runner = TaskRunner {
            queue: Mutex::new(Some(queue)),
            threads: Mutex::new(Vec::with_capacity(slots)),
        };
        for i in 0..slots {
            let (tasks, env, reporter) = (tasks.clone(), env.clone(), reporter.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run_slot(tasks, env, &*reporter))
                .map_err(|e| Error::io(format!("task slot {i} of {slots}"), e))?;
            runner.threads.lock().push(thread);
        }
        Ok(runner)
    }

    /// Queues `task` for the next free slot; gives it back once the runner stopped.
    pub(crate) fn submit(&self, task: TaskDescription) -> Result<(), TaskDescription> {
        match &*self.queue.lock() {
            Some(queue) => queue.send(task).map_err(|e| e.0),
            None => Err(task),
        }
    }

    /// Ends the slots once their running tasks end; queued tasks are dropped.
    pub(crate) fn stop(&self) {
        self.queue.lock().take();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            // A slot that stops its own runner (a task calling stop) is not waited for.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for TaskRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_slot(tasks: Receiver<TaskDescription>, env: Arc<Env>, reporter: &dyn StatusReporter) {
    while let Ok(task) = tasks.recv() {
        if task.killed.load(Ordering::Relaxed) {
            let result = Err(TaskFailure {
                error: Error::Internal("the job was aborted before the task ran".into()),
            });
            reporter.finished(TaskEvent {
                id: task.id,
                result,
            });
            continue;
        }
        reporter.started(task.id);
        reporter.finished(run_task(&task, &env));
    }
}

/// Runs one attempt in this thread, catching panics and aborts as task failures.
fn run_task(task: &TaskDescription, env: &Arc<Env>) -> TaskEvent {
    let id = task.id;
    let tc = Arc::new(TaskContext::new(
        env.clone(),
        id.stage_id,
        id.stage_attempt,
        id.rdd_partition,
        id.attempt,
        id.task_attempt_id,
        task.killed.clone(),
    ));
    let outcome = run_as_task(&tc, || decode_task_bytes(&task.bytes)?.run(&tc));
    let result = match outcome {
        Ok(Ok(output)) => success(output, &tc),
        Ok(Err(error)) | Err(error) => Err(TaskFailure { error }),
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

/// Runs `f` on this thread as part of `tc`'s task, as a slot does: panics are not printed, and
/// an [`abort`](crate::task_context::abort) or panic comes back as the error the task fails
/// with.
pub(crate) fn run_as_task<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> Result<R, Error> {
    install_panic_hook();
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
fn install_panic_hook() {
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
