//! The DAG scheduler's state and what each event does to it (Spark's `DAGScheduler` handlers,
//! run by its `DAGSchedulerEventProcessLoop`).
//!
//! [`DagState`] owns every active job and stage. It changes only in [`DagState::handle`], one
//! event at a time, on the one thread of the event loop, so it needs no lock and nothing waits
//! for anything: a job needing a shuffle another job is computing simply becomes one more job of
//! that shuffle's stage, and both see the stage finish.
//!
//! # The life of a job
//! 1. `JobSubmitted`: the job's result stage is made, with the shuffle map stages below it
//!    (shared with other active jobs that need the same shuffles). Stages whose parents'
//!    outputs are missing wait; the others submit their missing partitions' tasks to the
//!    backend.
//! 2. `Task(Finished)`: a map output is registered or a result kept. A stage whose partitions
//!    are all done completes, and every waiting stage is looked at again.
//! 3. When every requested partition has its value, the job ends. Stages no other job needs
//!    are forgotten once their attempts still out (speculative copies) end; those are killed.
//!    A job that fails (aborted or cancelled) kills its attempts too, and its caller hears the
//!    outcome only once they stopped, so nothing of a failed job still writes when its action
//!    returns.
//!
//! # Failures
//! - A task attempt that fails is retried until it has failed `ember.task.maxFailures` times;
//!   then every job needing the stage is aborted with a message naming the stage, the partition
//!   and the last error.
//! - A fetch failure means a map output is gone: it is unregistered (with the others of its
//!   executor), the reading stage's attempt ends, and the stage is submitted again, which runs
//!   the lost map outputs first. A stage failing so `ember.stage.maxConsecutiveAttempts` times
//!   aborts its jobs.
//! - Attempts of an earlier attempt of a stage still count when they succeed (their output is
//!   as good as any); their failures are ignored.

use super::dag_scheduler::{JobSummary, ResultTaskMaker, SchedulerSettings};
use super::event_log::{
    now_millis, EventLog, ExceptionText, JobResult, SchedulerEvent, TaskEndReason, TaskInfo,
};
use super::events::{
    DagEvent, JobSubmission, TaskEvent, TaskFailure, TaskPlace, TaskReply, TaskSuccess, TaskUpdate,
};
use super::locality::TaskLocality;
use super::output_commit_coordinator::CommitAsk;
use super::progress::StageProgress;
use super::scheduler_backend::{Launch, SchedulerBackend, TaskId};
use super::stage::{RunningStage, Stage, StageKind};
use super::task::{encode_task, Task, TaskOutput};
use super::task_scheduler::DEFAULT_POOL;
use crate::accumulator::AccumulatorRegistry;
use crate::conf::keys;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::rdd::{dependencies_of, preferred_locations_of, Dependency, RddBase};
use crate::shuffle::{MapOutputTracker, ShuffleDependencyBase};
use crossbeam_channel::Sender;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// The local property naming the pool a thread's jobs run in (Spark's `spark.scheduler.pool`).
pub(crate) const POOL_PROPERTY: &str = "ember.scheduler.pool";

/// The local property naming a thread's job group (Spark's `spark.jobGroup.id`).
pub(crate) const JOB_GROUP_PROPERTY: &str = "ember.jobGroup.id";

/// What a job's caller hears: each requested partition's serialized value, or why it failed.
type JobOutcome = Result<Vec<Vec<u8>>>;

/// A job from submission until its caller has the outcome.
struct ActiveJob {
    /// The scheduling pool its attempts run in.
    pool: Arc<str>,
    /// Its job group (`ember.jobGroup.id`), which cancels it with the others.
    group: Option<String>,
    partitions: Vec<usize>,
    make_task: ResultTaskMaker,
    /// Each requested partition's value once a task delivered it.
    results: Vec<Option<Vec<u8>>>,
    remaining: usize,
    reply: Sender<JobOutcome>,
    summary: JobSummary,
    started: Instant,
    /// Every stage of the job's graph, by id.
    stages: BTreeSet<usize>,
    /// Set once the job ended: the outcome its caller gets once `draining` is empty.
    outcome: Option<Result<()>>,
    /// Stages with attempts still out that the job waits for before it returns.
    draining: BTreeSet<usize>,
}

/// An attempt handed to the backend and not yet finished.
struct InFlight {
    stage: usize,
    /// The partition index in its stage.
    partition: usize,
    /// A copy of a slow attempt.
    speculative: bool,
    /// The job whose summary counts it.
    job: Option<usize>,
    /// Set once it started in a slot.
    info: Option<TaskInfo>,
}

/// Everything the DAG scheduler knows, owned by its event loop.
pub(crate) struct DagState {
    env: Arc<Env>,
    backend: Arc<dyn SchedulerBackend>,
    accumulators: Arc<AccumulatorRegistry>,
    settings: SchedulerSettings,
    /// Where backends report on the attempts this state launches.
    reply: TaskReply,
    event_log: Option<Arc<EventLog>>,
    summaries: Arc<Mutex<Vec<JobSummary>>>,
    next_job_id: usize,
    next_stage_id: usize,
    next_task_id: u64,
    jobs: HashMap<usize, ActiveJob>,
    stages: HashMap<usize, Stage>,
    /// The stage of each shuffle that has one, by shuffle id.
    shuffle_stages: HashMap<usize, usize>,
    /// Stages whose parents' outputs must be computed first.
    waiting: BTreeSet<usize>,
    /// Attempts launched and not finished, by task attempt id.
    in_flight: HashMap<u64, InFlight>,
}

impl DagState {
    pub(crate) fn new(
        env: Arc<Env>,
        backend: Arc<dyn SchedulerBackend>,
        accumulators: Arc<AccumulatorRegistry>,
        settings: SchedulerSettings,
        events: Sender<DagEvent>,
        event_log: Option<Arc<EventLog>>,
        summaries: Arc<Mutex<Vec<JobSummary>>>,
    ) -> Self {
        DagState {
            env,
            backend,
            accumulators,
            settings,
            reply: TaskReply::new(events),
            event_log,
            summaries,
            next_job_id: 0,
            next_stage_id: 0,
            next_task_id: 0,
            jobs: HashMap::new(),
            stages: HashMap::new(),
            shuffle_stages: HashMap::new(),
            waiting: BTreeSet::new(),
            in_flight: HashMap::new(),
        }
    }

    /// Acts on one event; false once the loop should end.
    pub(crate) fn handle(&mut self, event: DagEvent) -> bool {
        match event {
            DagEvent::JobSubmitted(submission) => self.job_submitted(*submission),
            DagEvent::Task(update) => match *update {
                TaskUpdate::Started(id, place) => self.task_started(id, place),
                TaskUpdate::Finished(event) => self.task_finished(event),
                TaskUpdate::SpeculationWanted(id, executor) => self.speculate(id, executor),
            },
            DagEvent::CancelJobGroup(group) => {
                let reason = format!("part of cancelled job group {group}");
                self.cancel_jobs(|job| job.group.as_deref() == Some(group.as_str()), &reason);
            }
            DagEvent::CancelAllJobs => {
                self.cancel_jobs(|_| true, "as part of cancellation of all jobs");
            }
            DagEvent::Stop => {
                self.stop();
                return false;
            }
        }
        true
    }

    /// Whether nothing is left of any job: no job, stage, waiting stage or attempt (Spark's
    /// `assertDataStructuresEmpty`).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
            && self.stages.is_empty()
            && self.shuffle_stages.is_empty()
            && self.waiting.is_empty()
            && self.in_flight.is_empty()
    }

    fn post(&self, event: &SchedulerEvent<'_>) {
        if let Some(log) = &self.event_log {
            log.post(event);
        }
    }

    fn tracker(&self) -> &MapOutputTracker {
        &self.env.map_output_tracker
    }

    // ---- jobs -------------------------------------------------------------------------------

    fn job_submitted(&mut self, submission: JobSubmission) {
        let job_id = self.next_job_id;
        self.next_job_id += 1;
        let JobSubmission {
            rdd,
            partitions,
            make_task,
            reply,
            properties,
        } = submission;
        let pool: Arc<str> = properties
            .get(POOL_PROPERTY)
            .map_or(DEFAULT_POOL, String::as_str)
            .into();
        let group = properties.get(JOB_GROUP_PROPERTY).cloned();
        let summary = JobSummary {
            job_id,
            ..JobSummary::default()
        };
        let parents = match self.parent_stages(&rdd, job_id) {
            Ok(parents) => parents,
            Err(e) => {
                // Stages made for the job before the error are its own to forget.
                self.forget_unneeded_stages_of(job_id);
                let _ = reply.send(Err(e));
                return;
            }
        };
        let final_stage = self.new_stage(StageKind::Result { job: job_id }, rdd, parents);
        self.stages
            .get_mut(&final_stage)
            .map(|s| s.jobs.insert(job_id));
        let stages = self.graph_of(final_stage);
        self.jobs.insert(
            job_id,
            ActiveJob {
                pool,
                group,
                results: (0..partitions.len()).map(|_| None).collect(),
                remaining: partitions.len(),
                partitions,
                make_task,
                reply,
                summary,
                started: Instant::now(),
                stages: stages.clone(),
                outcome: None,
                draining: BTreeSet::new(),
            },
        );
        if self.event_log.is_some() {
            let mut stage_ids: Vec<usize> = vec![final_stage];
            stage_ids.extend(stages.iter().filter(|&&s| s != final_stage));
            self.post(&SchedulerEvent::JobStart {
                job_id,
                submitted: now_millis(),
                stage_ids: &stage_ids,
            });
        }
        if self.jobs[&job_id].remaining == 0 {
            return self.end_job(job_id, Ok(()));
        }
        self.submit_stage_or_abort(final_stage);
    }

    /// The stage ids of `stage` and every stage below it.
    fn graph_of(&self, stage: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![stage];
        while let Some(s) = stack.pop() {
            if seen.insert(s) {
                if let Some(stage) = self.stages.get(&s) {
                    stack.extend(&stage.parents);
                }
            }
        }
        seen
    }

    /// Every requested partition has its value.
    fn job_succeeded(&mut self, job_id: usize) {
        self.end_job(job_id, Ok(()));
    }

    /// Ends `job_id` with `outcome`: its stages that no other job needs are forgotten, and its
    /// caller hears the outcome once their attempts still out have finished.
    fn end_job(&mut self, job_id: usize, outcome: Result<()>) {
        let Some(job) = self.jobs.get_mut(&job_id) else {
            return;
        };
        if job.outcome.is_some() {
            return;
        }
        let failure = outcome.as_ref().err().map(ToString::to_string);
        job.outcome = Some(outcome);
        let stages: Vec<usize> = job.stages.iter().copied().collect();
        for stage_id in stages {
            let Some(stage) = self.stages.get_mut(&stage_id) else {
                continue;
            };
            stage.jobs.remove(&job_id);
            if !stage.jobs.is_empty() {
                continue;
            }
            self.waiting.remove(&stage_id);
            self.end_attempt(stage_id, failure.clone().or(Some(unneeded())));
            let Some(stage) = self.stages.get_mut(&stage_id) else {
                continue;
            };
            stage.cancelled.store(true, Ordering::Relaxed);
            if stage.in_flight > 0 {
                self.backend.kill_stage_tasks(stage_id);
                // A failed job returns once its attempts stopped, so that nothing of it still
                // writes; a job that succeeded does not wait for copies it no longer needs.
                if failure.is_some() {
                    stage.drained_by.push(job_id);
                    if let Some(job) = self.jobs.get_mut(&job_id) {
                        job.draining.insert(stage_id);
                    }
                }
            } else {
                self.forget_stage(stage_id);
            }
        }
        self.reply_if_drained(job_id);
    }

    /// Gives `job_id`'s caller its outcome once nothing of it is still out.
    fn reply_if_drained(&mut self, job_id: usize) {
        let ready = self
            .jobs
            .get(&job_id)
            .is_some_and(|j| j.outcome.is_some() && j.draining.is_empty());
        if !ready {
            return;
        }
        let Some(job) = self.jobs.remove(&job_id) else {
            return;
        };
        let (reply, results) = self.close_job(job_id, job);
        // A caller that gave up listening has nothing to hear.
        let _ = reply.send(results);
    }

    /// Records `job`'s end and drops it, with the graph its task maker holds, before its caller
    /// hears: a caller that drops its RDD next sees everything the RDD held freed.
    fn close_job(&self, job_id: usize, mut job: ActiveJob) -> (Sender<JobOutcome>, JobOutcome) {
        job.summary.duration = job.started.elapsed();
        let outcome = job.outcome.take().unwrap_or(Ok(()));
        match &outcome {
            Ok(()) => tracing::info!("{}", job.summary),
            Err(e) => tracing::warn!("job {job_id} failed: {e}"),
        }
        self.summaries.lock().push(job.summary.clone());
        self.log_job_end(job_id, outcome.as_ref().err());
        let results = outcome.map(|()| {
            job.results
                .iter_mut()
                .map(|r| r.take().unwrap_or_default())
                .collect()
        });
        (job.reply, results)
    }

    fn log_job_end(&self, job_id: usize, error: Option<&Error>) {
        let Some(log) = &self.event_log else {
            return;
        };
        let result = match error {
            None => JobResult::JobSucceeded,
            Some(e) => JobResult::JobFailed {
                exception: ExceptionText {
                    message: e.to_string(),
                },
            },
        };
        self.post(&SchedulerEvent::JobEnd {
            job_id,
            completed: now_millis(),
            result,
        });
        log.flush();
    }

    /// Fails every job that needs `stage_id` with `error`'s reason. Handlers give up on a stage
    /// with an [`Error::JobAborted`] whose job id is filled in here, once per job.
    fn abort_stage(&mut self, stage_id: usize, error: Error) {
        let jobs: Vec<usize> = self
            .stages
            .get(&stage_id)
            .map(|s| s.jobs.iter().copied().collect())
            .unwrap_or_default();
        let reason = match &error {
            Error::JobAborted { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        for job_id in jobs {
            let error = Error::JobAborted {
                job_id,
                reason: reason.clone(),
            };
            self.end_job(job_id, Err(error));
        }
    }

    /// Ends every active job `chosen` picks as cancelled `reason`; their running attempts stop.
    fn cancel_jobs(&mut self, chosen: impl Fn(&ActiveJob) -> bool, reason: &str) {
        let mut jobs: Vec<usize> = self
            .jobs
            .iter()
            .filter(|(_, job)| job.outcome.is_none() && chosen(job))
            .map(|(&id, _)| id)
            .collect();
        jobs.sort_unstable();
        for job_id in jobs {
            tracing::info!("cancelling job {job_id} {reason}");
            let error = Error::JobCancelled {
                job_id,
                reason: reason.to_string(),
            };
            self.end_job(job_id, Err(error));
        }
    }

    /// The application stops: every job still active ends now, failed unless it had ended.
    fn stop(&mut self) {
        let jobs: Vec<usize> = self.jobs.keys().copied().collect();
        for job_id in jobs {
            if let Some(job) = self.jobs.get_mut(&job_id) {
                job.outcome
                    .get_or_insert_with(|| Err(Error::Input(super::STOPPED.into())));
                job.draining.clear();
            }
            self.reply_if_drained(job_id);
        }
    }

    // ---- stages -----------------------------------------------------------------------------

    fn new_stage(&mut self, kind: StageKind, rdd: Arc<dyn RddBase>, parents: Vec<usize>) -> usize {
        let id = self.next_stage_id;
        self.next_stage_id += 1;
        self.stages.insert(id, Stage::new(kind, rdd, parents));
        id
    }

    /// The shuffle map stages the stage computing `rdd` reads, made on first sight, each with
    /// `job` among its jobs.
    fn parent_stages(&mut self, rdd: &Arc<dyn RddBase>, job: usize) -> Result<Vec<usize>> {
        let mut parents = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![rdd.clone()];
        while let Some(r) = stack.pop() {
            if !seen.insert(r.core().id()) {
                continue;
            }
            for dependency in dependencies_of(&*r) {
                match dependency {
                    Dependency::Narrow(parent) => stack.push(parent),
                    Dependency::Shuffle(shuffle) => {
                        let stage = self.shuffle_stage(shuffle, job)?;
                        if !parents.contains(&stage) {
                            parents.push(stage);
                        }
                    }
                }
            }
        }
        Ok(parents)
    }

    /// The stage writing `dependency`'s shuffle, made if it has none, with `job` among its jobs.
    fn shuffle_stage(
        &mut self,
        dependency: Arc<dyn ShuffleDependencyBase>,
        job: usize,
    ) -> Result<usize> {
        let shuffle = dependency.shuffle_id();
        let id = match self.shuffle_stages.get(&shuffle) {
            Some(&id) => id,
            None => {
                let parents = self.parent_stages(&dependency.rdd(), job)?;
                let maps = dependency.rdd().num_partitions();
                self.tracker().register_shuffle(shuffle, maps);
                let rdd = dependency.rdd();
                let id = self.new_stage(StageKind::ShuffleMap(dependency), rdd, parents);
                self.shuffle_stages.insert(shuffle, id);
                id
            }
        };
        self.adopt_stage(id, job);
        Ok(id)
    }

    /// Adds `job` to the jobs of stage `id`. A stage that no job needed while its last
    /// attempts drained serves again: the jobs that waited for the drain need not wait longer.
    fn adopt_stage(&mut self, id: usize, job: usize) {
        let Some(stage) = self.stages.get_mut(&id) else {
            return;
        };
        if stage.jobs.is_empty() && stage.cancelled.load(Ordering::Relaxed) {
            stage.cancelled = Arc::new(Default::default());
            let released = std::mem::take(&mut stage.drained_by);
            for waiting_job in released {
                if let Some(j) = self.jobs.get_mut(&waiting_job) {
                    j.draining.remove(&id);
                }
                self.reply_if_drained(waiting_job);
            }
        }
        if let Some(stage) = self.stages.get_mut(&id) {
            stage.jobs.insert(job);
        }
    }

    /// After a failed submission: forgets the stages `job` made that no other job needs.
    fn forget_unneeded_stages_of(&mut self, job: usize) {
        let ids: Vec<usize> = self.stages.keys().copied().collect();
        for id in ids {
            let Some(stage) = self.stages.get_mut(&id) else {
                continue;
            };
            if stage.jobs.remove(&job) && stage.jobs.is_empty() && stage.in_flight == 0 {
                self.forget_stage(id);
            }
        }
    }

    fn forget_stage(&mut self, id: usize) {
        self.backend.stage_ended(id);
        self.env.output_commits.stage_ended(id);
        if let Some(stage) = self.stages.remove(&id) {
            if let Some(shuffle) = stage.shuffle() {
                if self.shuffle_stages.get(&shuffle) == Some(&id) {
                    self.shuffle_stages.remove(&shuffle);
                }
            }
        }
        self.waiting.remove(&id);
    }

    fn submit_stage_or_abort(&mut self, id: usize) {
        if let Err(e) = self.submit_stage(id) {
            self.abort_stage(id, e);
        }
    }

    /// Runs stage `id` now if its parents' outputs are all there; else submits them and waits.
    fn submit_stage(&mut self, id: usize) -> Result<()> {
        let Some(stage) = self.stages.get(&id) else {
            return Ok(());
        };
        if stage.running.is_some() || self.waiting.contains(&id) || stage.jobs.is_empty() {
            return Ok(());
        }
        let missing: Vec<usize> = stage
            .parents
            .iter()
            .copied()
            .filter(|&p| !self.is_available(p))
            .collect();
        if missing.is_empty() {
            return self.launch_stage(id);
        }
        self.waiting.insert(id);
        for parent in missing {
            self.submit_stage(parent)?;
        }
        Ok(())
    }

    /// Whether every output of shuffle map stage `id` is registered.
    fn is_available(&self, id: usize) -> bool {
        self.stages
            .get(&id)
            .and_then(Stage::shuffle)
            .is_none_or(|shuffle| self.tracker().missing(shuffle).is_empty())
    }

    /// The partition indexes of stage `id` without output.
    fn missing_partitions(&self, id: usize) -> Vec<usize> {
        let Some(stage) = self.stages.get(&id) else {
            return Vec::new();
        };
        match &stage.kind {
            StageKind::ShuffleMap(dependency) => self.tracker().missing(dependency.shuffle_id()),
            StageKind::Result { job } => self.jobs.get(job).map_or_else(Vec::new, |j| {
                (0..j.results.len())
                    .filter(|&i| j.results[i].is_none())
                    .collect()
            }),
        }
    }

    /// Submits a new attempt of stage `id` for its missing partitions.
    fn launch_stage(&mut self, id: usize) -> Result<()> {
        let partitions = self.missing_partitions(id);
        let show_progress = self.settings.show_progress;
        let stage = stage_mut(&mut self.stages, id)?;
        let attempt = stage.attempts;
        stage.attempts += 1;
        stage.consecutive_attempts += 1;
        if partitions.is_empty() {
            return self.stage_completed(id);
        }
        tracing::debug!(
            stage_id = id,
            attempt,
            tasks = partitions.len(),
            "submitting stage"
        );
        let running = RunningStage {
            attempt,
            pending: HashSet::new(),
            started: HashSet::new(),
            done: 0,
            tasks: partitions.len(),
            submitted: now_millis(),
            progress: StageProgress::new(show_progress, id, partitions.len()),
        };
        let info = running.info(id, None, None);
        stage.running = Some(running);
        self.env.output_commits.stage_started(id);
        if let Some(job) = stage.owner().and_then(|j| self.jobs.get_mut(&j)) {
            job.summary.stages += 1;
        }
        self.post(&SchedulerEvent::StageSubmitted { info: &info });
        for index in partitions {
            self.launch_task(id, index, None)?;
        }
        Ok(())
    }

    /// Hands an attempt of partition `index` of stage `id`'s current attempt to the backend.
    /// With `not_on`, the attempt is a speculative copy of one running on that executor.
    fn launch_task(&mut self, id: usize, index: usize, not_on: Option<String>) -> Result<()> {
        let stage = stage_ref(&self.stages, id)?;
        let (task, rdd_partition): (Arc<dyn Task>, usize) = match &stage.kind {
            StageKind::ShuffleMap(dependency) => (dependency.map_task(index), index),
            StageKind::Result { job } => {
                let job = self
                    .jobs
                    .get(job)
                    .ok_or_else(|| Error::Internal(format!("stage {id} outlived its job")))?;
                let partition = job.partitions[index];
                ((job.make_task)(partition), partition)
            }
        };
        let bytes = encode_task(&*task)?;
        let running = stage
            .running
            .as_ref()
            .ok_or_else(|| Error::Internal("launching a task of a stage not running".into()))?;
        let task_id = TaskId {
            stage_id: id,
            stage_attempt: running.attempt,
            partition: index,
            rdd_partition,
            attempt: stage.task_attempts.get(&index).copied().unwrap_or(0),
            task_attempt_id: self.next_task_id,
        };
        self.next_task_id += 1;
        let owner = stage.owner();
        let pool = owner
            .and_then(|j| self.jobs.get(&j))
            .map_or_else(|| DEFAULT_POOL.into(), |j| j.pool.clone());
        let launch = Launch {
            job_id: owner.unwrap_or(0),
            pool,
            id: task_id,
            bytes,
            reply: self.reply.clone(),
            cancelled: stage.cancelled.clone(),
            preferred: self.preferred_executors(&stage.rdd, rdd_partition),
            preferred_hosts: preferred_hosts(&stage.rdd, rdd_partition),
            locality: TaskLocality::Any,
            not_on,
        };
        self.in_flight.insert(
            task_id.task_attempt_id,
            InFlight {
                stage: id,
                partition: index,
                speculative: launch.not_on.is_some(),
                job: stage.owner(),
                info: None,
            },
        );
        let stage = stage_mut(&mut self.stages, id)?;
        stage.in_flight += 1;
        *stage.task_attempts.entry(index).or_default() += 1;
        if let Some(running) = &mut stage.running {
            running.pending.insert(index);
        }
        self.backend.launch(launch);
        Ok(())
    }

    /// Executors holding what computing `partition` of `rdd` reads (a cached partition, or
    /// blocks the RDD names itself): the RDD's own, else its narrow parents' (see
    /// [`along_narrow_parents`]).
    fn preferred_executors(&self, rdd: &Arc<dyn RddBase>, partition: usize) -> Vec<String> {
        let master = &self.env.block_manager_master;
        along_narrow_parents(rdd, |r| {
            let mut executors = r.preferred_executors(partition);
            if !master.is_empty() {
                executors.extend(master.locations(r.core().id(), partition));
            }
            executors
        })
    }

    /// Ends stage `id`'s current attempt, if it runs, in the event log; `failure` when it
    /// failed.
    fn end_attempt(&mut self, id: usize, failure: Option<String>) {
        let Some(running) = self.stages.get_mut(&id).and_then(|s| s.running.take()) else {
            return;
        };
        let info = running.info(id, Some(now_millis()), failure);
        self.post(&SchedulerEvent::StageCompleted { info: &info });
    }

    /// Every partition of stage `id`'s current attempt is done.
    fn stage_completed(&mut self, id: usize) -> Result<()> {
        self.end_attempt(id, None);
        if !self.missing_partitions(id).is_empty() {
            // Outputs were lost while the stage ran: run the missing partitions again.
            return self.submit_stage(id);
        }
        if let Some(stage) = self.stages.get_mut(&id) {
            stage.consecutive_attempts = 0;
        }
        self.resubmit_waiting();
        Ok(())
    }

    /// Submits every waiting stage again: those whose parents are now complete run, the
    /// others wait again with their missing parents submitted. Parents can go missing at any
    /// time (an executor was lost), so a waiting stage must never count on a parent that
    /// nothing is computing.
    fn resubmit_waiting(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        for id in waiting {
            self.submit_stage_or_abort(id);
        }
    }

    // ---- tasks ------------------------------------------------------------------------------

    /// An attempt started in a slot: counted, logged, and shown.
    fn task_started(&mut self, id: TaskId, place: TaskPlace) {
        let Some(flight) = self.in_flight.get_mut(&id.task_attempt_id) else {
            return;
        };
        if let Some(job) = flight.job.and_then(|j| self.jobs.get_mut(&j)) {
            job.summary.tasks += 1;
            job.summary.locality.add(place.locality);
        }
        let info = TaskInfo {
            task_id: id.task_attempt_id,
            index: id.partition,
            attempt: id.attempt,
            partition_id: id.rdd_partition,
            launch_time: now_millis(),
            executor_id: place.executor_id,
            host: place.host,
            locality: place.locality,
            speculative: flight.speculative,
            finish_time: 0,
            failed: false,
        };
        if let Some(log) = &self.event_log {
            log.post(&SchedulerEvent::TaskStart {
                stage_id: id.stage_id,
                stage_attempt: id.stage_attempt,
                info: &info,
            });
        }
        flight.info = Some(info);
        let running = self
            .stages
            .get_mut(&id.stage_id)
            .and_then(|s| s.running.as_mut());
        if let Some(running) = running.filter(|r| r.attempt == id.stage_attempt) {
            running.started.insert(id.partition);
            running.show_progress();
        }
    }

    fn task_finished(&mut self, event: TaskEvent) {
        let Some(flight) = self.in_flight.remove(&event.id.task_attempt_id) else {
            return;
        };
        self.log_task_end(&flight, &event);
        let id = event.id;
        if event.result.is_err() {
            // Keyed as the attempt asks: by the RDD partition it writes.
            self.env.output_commits.attempt_failed(&CommitAsk {
                stage: id.stage_id,
                stage_attempt: id.stage_attempt,
                partition: id.rdd_partition,
                task_attempt_id: id.task_attempt_id,
            });
        }
        let Some(stage) = self.stages.get_mut(&flight.stage) else {
            return;
        };
        stage.in_flight -= 1;
        if stage.jobs.is_empty() {
            // No job needs the stage: its attempts only drain.
            if stage.in_flight == 0 {
                let waiting_jobs = std::mem::take(&mut stage.drained_by);
                self.forget_stage(flight.stage);
                for job in waiting_jobs {
                    if let Some(j) = self.jobs.get_mut(&job) {
                        j.draining.remove(&flight.stage);
                    }
                    self.reply_if_drained(job);
                }
            }
            return;
        }
        let current = match &mut stage.running {
            Some(running) if running.attempt == id.stage_attempt => {
                running.started.remove(&id.partition);
                true
            }
            _ => false,
        };
        // A failed attempt of a task already done (a killed copy) changes nothing.
        let still_pending = stage
            .running
            .as_ref()
            .is_some_and(|r| r.pending.contains(&id.partition));
        let handled = match event.result {
            Ok(success) => self.task_succeeded(flight.stage, id, success),
            Err(failure) if current && still_pending => self.task_failed(flight.stage, id, failure),
            Err(_) => Ok(()),
        };
        if let Err(e) = handled {
            self.abort_stage(flight.stage, e);
        }
    }

    fn task_succeeded(&mut self, stage_id: usize, id: TaskId, success: TaskSuccess) -> Result<()> {
        let index = id.partition;
        // The first attempt to finish wins; copies still running are told to stop.
        let copies = self.attempts_in_flight(stage_id, index);
        for tid in copies {
            self.backend.kill_attempt(tid);
        }
        self.env
            .block_manager_master
            .record(&success.executor_id, &success.cached_blocks);
        let stage = stage_ref(&self.stages, stage_id)?;
        let owner = stage.owner();
        let mut job_done = None;
        match (&stage.kind, success.output) {
            (StageKind::Result { job }, TaskOutput::Value(bytes)) => {
                let job_id = *job;
                let job = self
                    .jobs
                    .get_mut(&job_id)
                    .ok_or_else(|| Error::Internal(format!("stage {stage_id} lost its job")))?;
                if job.results[index].is_none() {
                    self.accumulators.merge(&success.accumulator_updates)?;
                    job.summary.metrics += success.metrics;
                    job.results[index] = Some(bytes);
                    job.remaining -= 1;
                    if job.remaining == 0 {
                        job_done = Some(job_id);
                    }
                }
            }
            (StageKind::ShuffleMap(dependency), TaskOutput::Map(status)) => {
                self.accumulators.merge(&success.accumulator_updates)?;
                if let Some(job) = owner.and_then(|j| self.jobs.get_mut(&j)) {
                    job.summary.metrics += success.metrics;
                }
                let shuffle = dependency.shuffle_id();
                self.tracker().register_map_output(shuffle, index, status);
            }
            _ => return Err(Error::Internal("task output of the wrong kind".into())),
        }
        let stage = stage_mut(&mut self.stages, stage_id)?;
        let mut attempt_done = false;
        if let Some(running) = &mut stage.running {
            if running.pending.remove(&index) {
                running.done += 1;
            }
            running.show_progress();
            attempt_done = running.pending.is_empty();
        }
        if let Some(job_id) = job_done {
            self.end_attempt(stage_id, None);
            self.job_succeeded(job_id);
            return Ok(());
        }
        if attempt_done {
            self.stage_completed(stage_id)?;
        }
        Ok(())
    }

    fn task_failed(&mut self, stage_id: usize, id: TaskId, failure: TaskFailure) -> Result<()> {
        if let Error::FetchFailed {
            shuffle_id,
            map_index,
            ..
        } = &failure.error
        {
            return self.fetch_failed(stage_id, *shuffle_id, *map_index, &failure.error);
        }
        let index = id.partition;
        let copy_running = !self.attempts_in_flight(stage_id, index).is_empty();
        let stage = stage_mut(&mut self.stages, stage_id)?;
        let attempt = id.stage_attempt;
        let failures = stage.task_failures.entry(index).or_default();
        *failures += 1;
        let failures = *failures;
        tracing::warn!(
            "lost task {index}.{} in stage {stage_id}.{attempt} (TID {}): {}",
            id.attempt,
            id.task_attempt_id,
            failure.error
        );
        let max = self.settings.max_task_failures;
        if failures >= max {
            return Err(Error::JobAborted {
                job_id: 0,
                reason: format!(
                    "task {index} in stage {stage_id}.{attempt} failed {failures} times ({} = \
                     {max}); most recent failure: lost task {index}.{} in stage \
                     {stage_id}.{attempt} (TID {}): {}",
                    keys::TASK_MAX_FAILURES.key,
                    id.attempt,
                    id.task_attempt_id,
                    failure.error
                ),
            });
        }
        if copy_running {
            // Another attempt of the task (a speculative copy) still runs: it may yet succeed.
            return Ok(());
        }
        if let Some(running) = &mut stage.running {
            running.pending.remove(&index);
        }
        self.launch_task(stage_id, index, None)
    }

    /// The task attempt ids of partition `index` of stage `stage_id` still out. Only a task
    /// launched more than once (retried, or speculated) can have any, so the common case
    /// looks at no attempt at all.
    fn attempts_in_flight(&self, stage_id: usize, index: usize) -> Vec<u64> {
        let launched = self
            .stages
            .get(&stage_id)
            .and_then(|s| s.task_attempts.get(&index).copied())
            .unwrap_or(0);
        if launched < 2 {
            return Vec::new();
        }
        self.in_flight
            .iter()
            .filter(|(_, f)| f.stage == stage_id && f.partition == index)
            .map(|(&tid, _)| tid)
            .collect()
    }

    /// A backend found attempt `id` slow on `executor`: a copy runs elsewhere, if its task is
    /// still wanted and undone.
    fn speculate(&mut self, id: TaskId, executor: String) {
        let wanted = self.stages.get(&id.stage_id).is_some_and(|s| {
            !s.jobs.is_empty()
                && s.running.as_ref().is_some_and(|r| {
                    r.attempt == id.stage_attempt && r.pending.contains(&id.partition)
                })
        });
        if !wanted {
            return;
        }
        if let Err(e) = self.launch_task(id.stage_id, id.partition, Some(executor)) {
            self.abort_stage(id.stage_id, e);
        }
    }

    fn fetch_failed(
        &mut self,
        stage_id: usize,
        shuffle: usize,
        map: usize,
        error: &Error,
    ) -> Result<()> {
        let Some(attempt) = self
            .stages
            .get(&stage_id)
            .and_then(|s| s.running.as_ref())
            .map(|r| r.attempt)
        else {
            return Ok(());
        };
        self.end_attempt(stage_id, Some(error.to_string()));
        tracing::warn!(
            "stage {stage_id}.{attempt} failed to fetch map output: {error}; resubmitting"
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
        let attempts = self.stages[&stage_id].consecutive_attempts;
        let max = self.settings.max_stage_attempts;
        if attempts >= max {
            return Err(Error::JobAborted {
                job_id: 0,
                reason: format!(
                    "stage {stage_id} has failed the maximum allowable number of times: {max} \
                     ({}); most recent failure reason: {error}",
                    keys::STAGE_MAX_CONSECUTIVE_ATTEMPTS.key
                ),
            });
        }
        self.submit_stage(stage_id)
    }

    /// Counts a failed attempt and logs its end, if it had started: an attempt dropped unrun
    /// from the queue never ran, so neither the summary nor the log knows it.
    fn log_task_end(&mut self, flight: &InFlight, event: &TaskEvent) {
        let Some(info) = &flight.info else {
            return;
        };
        if event.result.is_err() {
            if let Some(job) = flight.job.and_then(|j| self.jobs.get_mut(&j)) {
                job.summary.failed_tasks += 1;
            }
        }
        let Some(log) = &self.event_log else {
            return;
        };
        let mut info = info.clone();
        info.finish_time = now_millis();
        info.failed = event.result.is_err();
        let (reason, metrics) = match &event.result {
            Ok(success) => (TaskEndReason::Success, Some((&success.metrics).into())),
            Err(failure) => (TaskEndReason::of(&failure.error), None),
        };
        let task_type = match self.stages.get(&flight.stage).map(|s| &s.kind) {
            Some(StageKind::Result { .. }) => "ResultTask",
            _ => "ShuffleMapTask",
        };
        log.post(&SchedulerEvent::TaskEnd {
            stage_id: event.id.stage_id,
            stage_attempt: event.id.stage_attempt,
            task_type,
            reason,
            info: &info,
            metrics,
        });
    }
}

/// Stage `id`, which the caller's event is about; its absence is a scheduler bug, reported as
/// such to the jobs of that event rather than taking the event loop down.
fn stage_ref(stages: &HashMap<usize, Stage>, id: usize) -> Result<&Stage> {
    stages
        .get(&id)
        .ok_or_else(|| Error::Internal(format!("stage {id} is not known to the scheduler")))
}

/// [`stage_ref`], to change it.
fn stage_mut(stages: &mut HashMap<usize, Stage>, id: usize) -> Result<&mut Stage> {
    stages
        .get_mut(&id)
        .ok_or_else(|| Error::Internal(format!("stage {id} is not known to the scheduler")))
}

/// Why a stage attempt ended when its jobs ended without it.
fn unneeded() -> String {
    "no active job needs the stage".into()
}

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

#[cfg(test)]
mod tests;
