//! The DAG scheduler: turns a job into stages at shuffle boundaries and runs them in order
//! (Spark's `DAGScheduler`).
//!
//! # Key concepts
//! - A *job* computes some partitions of one RDD and applies a function to each (an action).
//! - A *stage* is a set of tasks that run the same pipelined lineage on different partitions;
//!   stages end at shuffle dependencies. Every shuffle has one [`ShuffleMapStage`], shared by all
//!   jobs: when its outputs are all registered in the `MapOutputTracker`, a later job skips it.
//! - A stage runs when all its parent shuffles' outputs are available; parents missing outputs
//!   are submitted first and the stage waits.
//!
//! # Failure handling
//! - A task that fails is retried until it has failed `ember.task.maxFailures` times; then the
//!   job is aborted with a message naming the stage, the partition and the last error.
//! - A fetch failure means a map output is gone. The map output is unregistered, the reducing
//!   stage goes back to waiting, and the map stage is resubmitted for its missing partitions.
//!   A stage that fails this way `ember.stage.maxConsecutiveAttempts` times aborts the job.
//! - Results of attempts of an abandoned stage attempt are still used when they succeed (their
//!   output is as good as any); their failures are ignored.
//! - After an abort the job waits for its running tasks to end before returning, so nothing of
//!   the job is still running when the caller sees the error.
//!
//! # Threading
//! A job is driven by the thread that called the action; several jobs may run at once from
//! different threads. State shared between jobs (the shuffle stages, which job is computing
//! which shuffle, the id counters) sits behind mutexes; per-job state lives in [`JobRun`] on the
//! caller's stack. A job that needs a shuffle another job is computing waits for it (looking
//! again every few milliseconds) instead of computing it a second time, and takes it over if
//! that job ends first.

use super::event_log::{
    now_millis, EventLog, ExceptionText, JobResult, SchedulerEvent, TaskEndReason, TaskInfo,
};
use super::events::{TaskEvent, TaskFailure, TaskPlace, TaskSuccess, TaskUpdate};
use super::locality::{LocalityCounts, TaskLocality};
use super::progress::StageProgress;
use super::scheduler_backend::{ExecutorInfo, Launch, SchedulerBackend, TaskId};
use super::stage::{RunningStage, ShuffleMapStage, StageKey};
use super::task::{encode_task, Task, TaskOutput};
use crate::accumulator::AccumulatorRegistry;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::rdd::{dependencies_of, preferred_locations_of, Dependency, RddBase};
use crate::shuffle::ShuffleDependencyBase;
use crate::task_context::MetricsSnapshot;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Hosts holding the input of `partition` of `rdd`: its own preferred locations, else its
/// narrow parents'.
fn preferred_hosts(rdd: &Arc<dyn RddBase>, partition: usize) -> Vec<String> {
    along_narrow_parents(rdd, |r| preferred_locations_of(&**r, partition))
}

/// The first non-empty `found` of `rdd` and its narrow parents with as many partitions, which
/// are taken as one-to-one (Spark's `getPreferredLocs` walk; a wrong guess only costs
/// locality).
fn along_narrow_parents(
    rdd: &Arc<dyn RddBase>,
    found: impl Fn(&Arc<dyn RddBase>) -> Vec<String>,
) -> Vec<String> {
    let mut stack = vec![rdd.clone()];
    while let Some(r) = stack.pop() {
        let here = found(&r);
        if !here.is_empty() {
            return here;
        }
        for dep in dependencies_of(&*r) {
            if let Dependency::Narrow(parent) = dep {
                if parent.num_partitions() == r.num_partitions() {
                    stack.push(parent);
                }
            }
        }
    }
    Vec::new()
}

/// What a job did, for the log and for callers who want to check (Spark's job end event).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSummary {
    /// The job's id.
    pub job_id: usize,
    /// Stages that ran (skipped stages are not counted).
    pub stages: usize,
    /// Task attempts that started, retries included (an attempt an abort cancelled before it
    /// started is not counted).
    pub tasks: usize,
    /// Task attempts that started and failed.
    pub failed_tasks: usize,
    /// Counters summed over successful tasks.
    pub metrics: MetricsSnapshot,
    /// Wall time.
    pub duration: Duration,
    /// Task attempts by the locality level they ran at.
    pub locality: LocalityCounts,
}

impl std::fmt::Display for JobSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "job {} finished in {:.3} s: {} stages, {} tasks ({} failed), shuffle write {} B, \
             shuffle read {} B, spill {} B in {} spills",
            self.job_id,
            self.duration.as_secs_f64(),
            self.stages,
            self.tasks,
            self.failed_tasks,
            self.metrics.shuffle_bytes_written,
            self.metrics.shuffle_bytes_read,
            self.metrics.spill_bytes,
            self.metrics.spill_count,
        )?;
        write!(f, "\nlocality: {}", self.locality)
    }
}

/// How often a job waiting for another job's shuffle looks whether it is done.
const OTHER_JOB_POLL: Duration = Duration::from_millis(20);

/// Limits and switches read from the configuration once.
pub(crate) struct SchedulerSettings {
    pub max_task_failures: usize,
    pub max_stage_attempts: usize,
    pub show_progress: bool,
}

/// The DAG scheduler of one Context.
pub(crate) struct DagScheduler {
    env: Arc<Env>,
    backend: Box<dyn SchedulerBackend>,
    accumulators: Arc<AccumulatorRegistry>,
    settings: SchedulerSettings,
    shuffle_stages: Mutex<HashMap<usize, Arc<ShuffleMapStage>>>,
    /// Which job is computing each shuffle now, so that concurrent jobs compute it once.
    shuffle_owners: Mutex<HashMap<usize, usize>>,
    next_stage_id: AtomicUsize,
    next_job_id: AtomicUsize,
    next_task_id: AtomicU64,
    summaries: Mutex<Vec<JobSummary>>,
    event_log: Option<EventLog>,
}

/// Makes the result task for a partition of the job's RDD.
pub(crate) type ResultTaskMaker<'a> = &'a dyn Fn(usize) -> Arc<dyn Task>;

impl DagScheduler {
    pub(crate) fn new(
        env: Arc<Env>,
        backend: Box<dyn SchedulerBackend>,
        accumulators: Arc<AccumulatorRegistry>,
        settings: SchedulerSettings,
        event_log: Option<EventLog>,
    ) -> Self {
        DagScheduler {
            env,
            backend,
            accumulators,
            settings,
            shuffle_stages: Mutex::new(HashMap::new()),
            shuffle_owners: Mutex::new(HashMap::new()),
            next_stage_id: AtomicUsize::new(0),
            next_job_id: AtomicUsize::new(0),
            next_task_id: AtomicU64::new(0),
            summaries: Mutex::new(Vec::new()),
            event_log,
        }
    }

    /// Writes `event` to the event log, if there is one.
    fn post(&self, event: &SchedulerEvent<'_>) {
        if let Some(log) = &self.event_log {
            log.post(event);
        }
    }

    /// The result stage and every shuffle stage below it, for the job's start event.
    fn stage_ids(&self, result_stage_id: usize, result_parents: &[usize]) -> Vec<usize> {
        let mut ids = vec![result_stage_id];
        let mut seen = HashSet::new();
        let mut stack = result_parents.to_vec();
        while let Some(shuffle) = stack.pop() {
            if let (true, Ok(stage)) = (seen.insert(shuffle), self.stage_of(shuffle)) {
                ids.push(stage.id);
                stack.extend(&stage.parents);
            }
        }
        ids
    }

    /// Runs a job: the result tasks made by `make_task` for `partitions` of `rdd`, after every
    /// shuffle they need. Returns each partition's serialized value, in the order given.
    pub(crate) fn run_job(
        &self,
        rdd: Arc<dyn RddBase>,
        partitions: &[usize],
        make_task: ResultTaskMaker<'_>,
    ) -> Result<Vec<Vec<u8>>> {
        let job_id = self.next_job_id.fetch_add(1, Ordering::Relaxed);
        let result_parents = self.parent_stages(&rdd)?;
        let (reply, events) = crossbeam_channel::unbounded();
        let mut run = JobRun {
            scheduler: self,
            rdd,
            job_id,
            result_stage_id: self.next_stage_id.fetch_add(1, Ordering::Relaxed),
            result_parents,
            partitions: partitions.to_vec(),
            make_task,
            results: (0..partitions.len()).map(|_| None).collect(),
            running: HashMap::new(),
            progress: HashMap::new(),
            waiting: HashSet::new(),
            stage_attempts: HashMap::new(),
            task_failures: HashMap::new(),
            reply,
            events,
            cancelled: Arc::new(AtomicBool::new(false)),
            blocked: false,
            in_flight: 0,
            summary: JobSummary {
                job_id,
                ..JobSummary::default()
            },
            started: Instant::now(),
            launched: HashMap::new(),
        };
        if self.event_log.is_some() {
            let stage_ids = self.stage_ids(run.result_stage_id, &run.result_parents);
            self.post(&SchedulerEvent::JobStart {
                job_id,
                submitted: now_millis(),
                stage_ids: &stage_ids,
            });
        }
        let outcome = run.run();
        run.summary.duration = run.started.elapsed();
        match &outcome {
            Ok(_) => tracing::info!("{}", run.summary),
            Err(e) => tracing::warn!("job {job_id} failed: {e}"),
        }
        self.summaries.lock().push(run.summary.clone());
        run.log_job_end(outcome.as_ref().err());
        outcome
    }

    /// Makes `job` the one computing `shuffle`, unless another job already is.
    fn claim_shuffle(&self, shuffle: usize, job: usize) -> bool {
        *self.shuffle_owners.lock().entry(shuffle).or_insert(job) == job
    }

    /// `job` is done computing `shuffle`.
    fn release_shuffle(&self, shuffle: usize, job: usize) {
        let mut owners = self.shuffle_owners.lock();
        if owners.get(&shuffle) == Some(&job) {
            owners.remove(&shuffle);
        }
    }

    /// `job` ended: whatever it was computing, others may take over.
    fn release_shuffles(&self, job: usize) {
        self.shuffle_owners.lock().retain(|_, owner| *owner != job);
    }

    /// Where tasks run.
    pub(crate) fn backend(&self) -> &dyn SchedulerBackend {
        &*self.backend
    }

    /// Live executors.
    pub(crate) fn executors(&self) -> Vec<ExecutorInfo> {
        self.backend.executors()
    }

    /// Executors holding a cached partition that computing `partition` of `rdd` reads: the RDD's
    /// own, else its narrow parents' (see [`along_narrow_parents`]).
    fn preferred_executors(&self, rdd: &Arc<dyn RddBase>, partition: usize) -> Vec<String> {
        let master = &self.env.block_manager_master;
        if master.is_empty() {
            return Vec::new();
        }
        along_narrow_parents(rdd, |r| master.locations(r.core().id(), partition))
    }

    /// Summaries of every job so far, oldest first.
    pub(crate) fn summaries(&self) -> Vec<JobSummary> {
        self.summaries.lock().clone()
    }

    /// The shuffles the stage computing `rdd` reads, creating their stages on first sight.
    fn parent_stages(&self, rdd: &Arc<dyn RddBase>) -> Result<Vec<usize>> {
        let mut shuffles = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![rdd.clone()];
        while let Some(r) = stack.pop() {
            if !seen.insert(r.core().id()) {
                continue;
            }
            for dep in dependencies_of(&*r) {
                match dep {
                    Dependency::Narrow(parent) => stack.push(parent),
                    Dependency::Shuffle(shuffle) => {
                        let id = shuffle.shuffle_id();
                        self.shuffle_stage(shuffle)?;
                        if !shuffles.contains(&id) {
                            shuffles.push(id);
                        }
                    }
                }
            }
        }
        Ok(shuffles)
    }

    fn shuffle_stage(&self, dep: Arc<dyn ShuffleDependencyBase>) -> Result<Arc<ShuffleMapStage>> {
        let id = dep.shuffle_id();
        if let Some(stage) = self.shuffle_stages.lock().get(&id) {
            return Ok(stage.clone());
        }
        let parents = self.parent_stages(&dep.rdd())?;
        let maps = dep.rdd().num_partitions();
        self.env.map_output_tracker.register_shuffle(id, maps);
        let stage = Arc::new(ShuffleMapStage {
            id: self.next_stage_id.fetch_add(1, Ordering::Relaxed),
            dependency: dep,
            parents,
        });
        Ok(self
            .shuffle_stages
            .lock()
            .entry(id)
            .or_insert(stage)
            .clone())
    }

    fn stage_of(&self, shuffle: usize) -> Result<Arc<ShuffleMapStage>> {
        self.shuffle_stages
            .lock()
            .get(&shuffle)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("no stage for shuffle {shuffle}")))
    }
}

/// The state of one job while it runs.
struct JobRun<'a> {
    scheduler: &'a DagScheduler,
    /// The RDD whose partitions the job computes.
    rdd: Arc<dyn RddBase>,
    job_id: usize,
    result_stage_id: usize,
    result_parents: Vec<usize>,
    partitions: Vec<usize>,
    make_task: ResultTaskMaker<'a>,
    /// Each requested partition's value once a task delivered it.
    results: Vec<Option<Vec<u8>>>,
    running: HashMap<StageKey, RunningStage>,
    progress: HashMap<StageKey, StageProgress>,
    /// Stages whose parents must finish first.
    waiting: HashSet<StageKey>,
    /// Attempts per stage since it last completed, for `ember.stage.maxConsecutiveAttempts`.
    stage_attempts: HashMap<StageKey, usize>,
    /// Failed attempts per (stage, partition), for `ember.task.maxFailures`.
    task_failures: HashMap<(StageKey, usize), usize>,
    reply: Sender<TaskUpdate>,
    events: Receiver<TaskUpdate>,
    /// Tells the slots to skip this job's queued attempts once it is aborted.
    cancelled: Arc<AtomicBool>,
    /// A stage waits for a shuffle that another job is computing.
    blocked: bool,
    in_flight: usize,
    summary: JobSummary,
    started: Instant,
    /// Attempts started and not yet finished, by task attempt id: the summary counts their ends,
    /// the event log shows them.
    launched: HashMap<u64, TaskInfo>,
}

impl JobRun<'_> {
    fn run(&mut self) -> Result<Vec<Vec<u8>>> {
        let outcome = self.drive();
        // Nothing of the job may still run when the caller sees its outcome: an abort cancels
        // queued attempts and waits for running ones, a success waits for duplicates.
        if outcome.is_err() {
            self.cancelled.store(true, Ordering::Relaxed);
        }
        self.drain();
        self.scheduler.release_shuffles(self.job_id);
        outcome?;
        Ok(self
            .results
            .iter_mut()
            .map(|r| r.take().unwrap_or_default())
            .collect())
    }

    fn drive(&mut self) -> Result<()> {
        if self.partitions.is_empty() {
            return Ok(());
        }
        self.submit(StageKey::Result)?;
        while self.results.iter().any(Option::is_none) {
            if self.in_flight == 0 {
                self.resubmit_waiting()?;
            }
            if self.in_flight == 0 && !self.blocked {
                return Err(Error::Internal(format!(
                    "job {} has unfinished partitions but nothing to run",
                    self.job_id
                )));
            }
            let update = if self.blocked {
                // Another job computes a shuffle this one needs: look again now and then.
                match self.events.recv_timeout(OTHER_JOB_POLL) {
                    Ok(update) => update,
                    Err(RecvTimeoutError::Timeout) => {
                        self.resubmit_waiting()?;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(Error::Internal("task slots went away".into()))
                    }
                }
            } else {
                self.events
                    .recv()
                    .map_err(|_| Error::Internal("task slots went away".into()))?
            };
            match update {
                TaskUpdate::Started(id, place) => self.task_started(id, place),
                TaskUpdate::Finished(event) => {
                    self.in_flight -= 1;
                    self.handle(event)?;
                }
            }
        }
        Ok(())
    }

    /// Waits for the job's running tasks; their results are dropped.
    fn drain(&mut self) {
        while self.in_flight > 0 {
            match self.events.recv() {
                Ok(TaskUpdate::Finished(event)) => {
                    self.in_flight -= 1;
                    self.task_ended(&event);
                }
                Ok(TaskUpdate::Started(id, place)) => self.task_started(id, place),
                Err(_) => break,
            }
        }
    }

    fn parents(&self, key: StageKey) -> Result<Vec<usize>> {
        match key {
            StageKey::Result => Ok(self.result_parents.clone()),
            StageKey::Shuffle(s) => Ok(self.scheduler.stage_of(s)?.parents.clone()),
        }
    }

    fn tracker(&self) -> &crate::shuffle::MapOutputTracker {
        &self.scheduler.env.map_output_tracker
    }

    /// Runs `key` now if its parents' outputs are all there; else submits them and waits.
    fn submit(&mut self, key: StageKey) -> Result<()> {
        if self.running.contains_key(&key) || self.waiting.contains(&key) {
            return Ok(());
        }
        let missing: Vec<usize> = self
            .parents(key)?
            .into_iter()
            .filter(|&s| !self.tracker().missing(s).is_empty())
            .collect();
        if missing.is_empty() {
            return self.launch_stage(key);
        }
        self.waiting.insert(key);
        for parent in missing {
            self.submit(StageKey::Shuffle(parent))?;
        }
        Ok(())
    }

    fn missing_partitions(&self, key: StageKey) -> Vec<usize> {
        match key {
            StageKey::Result => (0..self.results.len())
                .filter(|&i| self.results[i].is_none())
                .collect(),
            StageKey::Shuffle(s) => self.tracker().missing(s),
        }
    }

    fn stage_id(&self, key: StageKey) -> Result<usize> {
        match key {
            StageKey::Result => Ok(self.result_stage_id),
            StageKey::Shuffle(s) => Ok(self.scheduler.stage_of(s)?.id),
        }
    }

    fn launch_stage(&mut self, key: StageKey) -> Result<()> {
        let partitions = self.missing_partitions(key);
        if let StageKey::Shuffle(shuffle) = key {
            if !partitions.is_empty() && !self.scheduler.claim_shuffle(shuffle, self.job_id) {
                // Another job is computing this shuffle; wait for it rather than compute it twice.
                self.waiting.insert(key);
                self.blocked = true;
                return Ok(());
            }
        }
        let stage_id = self.stage_id(key)?;
        let attempts = self.stage_attempts.entry(key).or_default();
        let attempt = *attempts;
        *attempts += 1;
        if partitions.is_empty() {
            return self.stage_finished(key);
        }
        tracing::debug!(
            stage_id,
            attempt,
            tasks = partitions.len(),
            "submitting stage"
        );
        self.summary.stages += 1;
        let progress = StageProgress::new(
            self.scheduler.settings.show_progress,
            stage_id,
            partitions.len(),
        );
        self.progress.insert(key, progress);
        self.running.insert(
            key,
            RunningStage {
                stage_id,
                attempt,
                running: HashSet::new(),
                started: HashSet::new(),
                done: 0,
                tasks: partitions.len(),
                submitted: now_millis(),
            },
        );
        if let Some(stage) = self.running.get(&key) {
            let info = stage.info(None, None);
            self.scheduler
                .post(&SchedulerEvent::StageSubmitted { info: &info });
        }
        for p in partitions {
            self.launch_task(key, p)?;
        }
        Ok(())
    }

    fn launch_task(&mut self, key: StageKey, index: usize) -> Result<()> {
        let (task, rdd): (Arc<dyn Task>, Arc<dyn RddBase>) = match key {
            StageKey::Result => ((self.make_task)(self.partitions[index]), self.rdd.clone()),
            StageKey::Shuffle(s) => {
                let dependency = self.scheduler.stage_of(s)?.dependency.clone();
                (dependency.map_task(index), dependency.rdd())
            }
        };
        let bytes = encode_task(&*task)?;
        let stage = self
            .running
            .get_mut(&key)
            .ok_or_else(|| Error::Internal("launching a task of a stage not running".into()))?;
        stage.running.insert(index);
        let rdd_partition = match key {
            StageKey::Result => self.partitions[index],
            StageKey::Shuffle(_) => index,
        };
        let id = TaskId {
            stage_id: stage.stage_id,
            stage_attempt: stage.attempt,
            partition: index,
            rdd_partition,
            attempt: self.task_failures.get(&(key, index)).copied().unwrap_or(0),
            task_attempt_id: self.scheduler.next_task_id.fetch_add(1, Ordering::Relaxed),
        };
        self.scheduler.backend.launch(Launch {
            id,
            bytes,
            reply: self.reply.clone(),
            cancelled: self.cancelled.clone(),
            preferred: self.scheduler.preferred_executors(&rdd, rdd_partition),
            preferred_hosts: preferred_hosts(&rdd, rdd_partition),
            locality: TaskLocality::Any,
        });
        self.in_flight += 1;
        Ok(())
    }

    fn key_of(&self, stage_id: usize) -> Option<StageKey> {
        if stage_id == self.result_stage_id {
            return Some(StageKey::Result);
        }
        let stages = self.scheduler.shuffle_stages.lock();
        stages
            .iter()
            .find(|(_, s)| s.id == stage_id)
            .map(|(shuffle, _)| StageKey::Shuffle(*shuffle))
    }

    /// Counts a started attempt of the current stage attempt, for the progress bar.
    fn task_started(&mut self, id: TaskId, place: TaskPlace) {
        self.summary.tasks += 1;
        self.summary.locality.add(place.locality);
        self.log_task_start(id, place);
        let Some(key) = self.key_of(id.stage_id) else {
            return;
        };
        if let Some(stage) = self.running.get_mut(&key) {
            if stage.attempt == id.stage_attempt {
                stage.started.insert(id.partition);
                if let Some(p) = self.progress.get(&key) {
                    p.update(stage.done, stage.started.len());
                }
            }
        }
    }

    fn handle(&mut self, event: TaskEvent) -> Result<()> {
        self.task_ended(&event);
        let Some(key) = self.key_of(event.id.stage_id) else {
            return Ok(());
        };
        let current = match self.running.get_mut(&key) {
            Some(stage) if stage.attempt == event.id.stage_attempt => {
                stage.started.remove(&event.id.partition);
                true
            }
            _ => false,
        };
        match event.result {
            Ok(success) => self.task_succeeded(key, event.id, success, current),
            Err(failure) if current => self.task_failed(key, event.id, failure),
            Err(_) => Ok(()),
        }
    }

    fn task_succeeded(
        &mut self,
        key: StageKey,
        id: TaskId,
        success: TaskSuccess,
        current: bool,
    ) -> Result<()> {
        let index = id.partition;
        let first = match (&success.output, key) {
            (TaskOutput::Value(_), StageKey::Result) => self.results[index].is_none(),
            _ => true,
        };
        self.scheduler
            .env
            .block_manager_master
            .record(&success.executor_id, &success.cached_blocks);
        if first {
            self.scheduler
                .accumulators
                .merge(&success.accumulator_updates)?;
            self.summary.metrics += success.metrics;
        }
        match (success.output, key) {
            (TaskOutput::Value(bytes), StageKey::Result) => {
                if first {
                    self.results[index] = Some(bytes);
                }
            }
            (TaskOutput::Map(status), StageKey::Shuffle(s)) => {
                self.tracker().register_map_output(s, index, status);
            }
            _ => return Err(Error::Internal("task output of the wrong kind".into())),
        }
        if !current {
            return Ok(());
        }
        if let Some(stage) = self.running.get_mut(&key) {
            if stage.running.remove(&index) {
                stage.done += 1;
            }
            if let Some(p) = self.progress.get(&key) {
                p.update(stage.done, stage.started.len());
            }
            if stage.running.is_empty() {
                self.stage_finished(key)?;
            }
        }
        Ok(())
    }

    fn stage_finished(&mut self, key: StageKey) -> Result<()> {
        if let Some(stage) = self.running.remove(&key) {
            let info = stage.info(Some(now_millis()), None);
            self.scheduler
                .post(&SchedulerEvent::StageCompleted { info: &info });
        }
        self.progress.remove(&key);
        if !self.missing_partitions(key).is_empty() {
            // Outputs were lost while the stage ran: run the missing partitions again.
            return self.submit(key);
        }
        self.stage_attempts.remove(&key);
        if let StageKey::Shuffle(shuffle) = key {
            self.scheduler.release_shuffle(shuffle, self.job_id);
        }
        self.resubmit_waiting()
    }

    /// Submits every waiting stage again: those whose parents are now complete run, the others
    /// wait again with their missing parents submitted. Parents can go missing behind this job's
    /// back (another job sharing the shuffle lost an output), so a waiting stage must never count
    /// on a parent that nothing is computing.
    fn resubmit_waiting(&mut self) -> Result<()> {
        self.blocked = false;
        let waiting: Vec<StageKey> = self.waiting.drain().collect();
        for w in waiting {
            self.submit(w)?;
        }
        Ok(())
    }

    fn task_failed(&mut self, key: StageKey, id: TaskId, failure: TaskFailure) -> Result<()> {
        let index = id.partition;
        if let Error::FetchFailed {
            shuffle_id,
            map_index,
            ..
        } = &failure.error
        {
            return self.fetch_failed(key, *shuffle_id, *map_index, &failure.error);
        }
        let stage = self.running.get(&key);
        let (stage_id, attempt) = stage.map_or((0, 0), |s| (s.stage_id, s.attempt));
        let failures = self.task_failures.entry((key, index)).or_default();
        *failures += 1;
        let failures = *failures;
        tracing::warn!(
            "lost task {index}.{} in stage {stage_id}.{attempt} (TID {}): {}",
            id.attempt,
            id.task_attempt_id,
            failure.error
        );
        let max = self.scheduler.settings.max_task_failures;
        if failures >= max {
            return Err(Error::JobAborted {
                job_id: self.job_id,
                reason: format!(
                    "task {index} in stage {stage_id}.{attempt} failed {failures} times \
                     (ember.task.maxFailures = {max}); most recent failure: lost task \
                     {index}.{} in stage {stage_id}.{attempt} (TID {}): {}",
                    id.attempt, id.task_attempt_id, failure.error
                ),
            });
        }
        if let Some(stage) = self.running.get_mut(&key) {
            stage.running.remove(&index);
        }
        self.launch_task(key, index)
    }

    fn fetch_failed(
        &mut self,
        key: StageKey,
        shuffle: usize,
        map: usize,
        error: &Error,
    ) -> Result<()> {
        let Some(stage) = self.running.remove(&key) else {
            return Ok(());
        };
        let info = stage.info(Some(now_millis()), Some(error.to_string()));
        self.scheduler
            .post(&SchedulerEvent::StageCompleted { info: &info });
        self.progress.remove(&key);
        tracing::warn!(
            "stage {}.{} failed to fetch map output: {error}; resubmitting",
            stage.stage_id,
            stage.attempt
        );
        // The executor that lost this output probably lost its others too (Spark unregisters
        // them all): rerunning them now saves a stage attempt per lost output.
        let lost = self.tracker().remove_outputs_like(shuffle, map);
        self.tracker().unregister_map_output(shuffle, map);
        tracing::debug!(
            shuffle,
            map,
            lost,
            "unregistered map outputs after a fetch failure"
        );
        let attempts = self.stage_attempts.get(&key).copied().unwrap_or(0);
        let max = self.scheduler.settings.max_stage_attempts;
        if attempts >= max {
            return Err(Error::JobAborted {
                job_id: self.job_id,
                reason: format!(
                    "stage {} has failed the maximum allowable number of times: {max} \
                     (ember.stage.maxConsecutiveAttempts); most recent failure reason: {error}",
                    stage.stage_id
                ),
            });
        }
        self.submit(key)
    }

    fn log_task_start(&mut self, id: TaskId, place: TaskPlace) {
        let info = TaskInfo {
            task_id: id.task_attempt_id,
            index: id.partition,
            attempt: id.attempt,
            partition_id: id.rdd_partition,
            launch_time: now_millis(),
            executor_id: place.executor_id,
            host: place.host,
            locality: place.locality,
            speculative: false,
            finish_time: 0,
            failed: false,
        };
        if self.scheduler.event_log.is_some() {
            self.scheduler.post(&SchedulerEvent::TaskStart {
                stage_id: id.stage_id,
                stage_attempt: id.stage_attempt,
                info: &info,
            });
        }
        self.launched.insert(id.task_attempt_id, info);
    }

    /// Counts a failed attempt and logs its end, if it had started: an attempt an abort cancelled
    /// in the queue never ran, so neither the summary nor the log knows it.
    fn task_ended(&mut self, event: &TaskEvent) {
        let Some(mut info) = self.launched.remove(&event.id.task_attempt_id) else {
            return;
        };
        if event.result.is_err() {
            self.summary.failed_tasks += 1;
        }
        if self.scheduler.event_log.is_none() {
            return;
        }
        info.finish_time = now_millis();
        info.failed = event.result.is_err();
        let (reason, metrics) = match &event.result {
            Ok(success) => (TaskEndReason::Success, Some((&success.metrics).into())),
            Err(failure) => (TaskEndReason::of(&failure.error), None),
        };
        let task_type = match self.key_of(event.id.stage_id) {
            Some(StageKey::Result) => "ResultTask",
            _ => "ShuffleMapTask",
        };
        self.scheduler.post(&SchedulerEvent::TaskEnd {
            stage_id: event.id.stage_id,
            stage_attempt: event.id.stage_attempt,
            task_type,
            reason,
            info: &info,
            metrics,
        });
    }

    /// The job's end in the event log, after the stages an abort left unfinished.
    fn log_job_end(&mut self, error: Option<&Error>) {
        if self.scheduler.event_log.is_none() {
            return;
        }
        let now = now_millis();
        let result = match error {
            None => JobResult::JobSucceeded,
            Some(e) => {
                let message = e.to_string();
                for stage in self.running.values() {
                    let info = stage.info(Some(now), Some(message.clone()));
                    self.scheduler
                        .post(&SchedulerEvent::StageCompleted { info: &info });
                }
                JobResult::JobFailed {
                    exception: ExceptionText { message },
                }
            }
        };
        self.scheduler.post(&SchedulerEvent::JobEnd {
            job_id: self.job_id,
            completed: now,
            result,
        });
        if let Some(log) = &self.scheduler.event_log {
            log.flush();
        }
    }
}

impl DagScheduler {
    /// Ends the application: the backend's slots and executors go, the event log is closed.
    pub(crate) fn stop(&self) {
        self.backend.stop();
        if let Some(log) = &self.event_log {
            log.close();
        }
    }
}

impl Drop for DagScheduler {
    fn drop(&mut self) {
        if let Some(log) = &self.event_log {
            log.close();
        }
    }
}
