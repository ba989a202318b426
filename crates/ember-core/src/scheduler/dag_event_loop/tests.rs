//! The DAG scheduler's event handlers driven by hand (Spark's `DAGSchedulerSuite`): a fake
//! backend keeps the attempts it is given, and each test decides when they start, succeed or
//! fail. Every test ends by checking that nothing of its jobs is left behind.

use super::*;
use crate::conf::EmberConf;
use crate::error::Error;
use crate::rdd::{BoxIter, Rdd};
use crate::scheduler::task::{PartitionFunc, ResultTask};
use crate::shuffle::MapStatus;
use crate::task_context::{MetricsSnapshot, TaskContext};
use crate::{Context, Fn};
use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};

/// Keeps every attempt it is handed.
#[derive(Default)]
struct FakeBackend {
    launched: Mutex<Vec<Launch>>,
    killed: Mutex<Vec<u64>>,
}

impl SchedulerBackend for FakeBackend {
    fn launch(&self, launch: Launch) {
        self.launched.lock().push(launch);
    }
    fn executors(&self) -> Vec<super::super::ExecutorInfo> {
        Vec::new()
    }
    fn remove_rdd(&self, _id: usize) {}
    fn kill_attempt(&self, task_attempt_id: u64) {
        self.killed.lock().push(task_attempt_id);
    }
    fn stop(&self) {}
}

/// Counts a partition's elements.
#[derive(Serialize, Deserialize)]
struct CountFn;

impl PartitionFunc<(u32, u32), u64> for CountFn {
    fn apply(
        &self,
        _tc: &Arc<TaskContext>,
        _partition: usize,
        elements: BoxIter<(u32, u32)>,
    ) -> Result<u64> {
        Ok(elements.count() as u64)
    }
}

type Reply = Receiver<Result<Vec<Vec<u8>>>>;

struct Harness {
    state: DagState,
    backend: Arc<FakeBackend>,
    env: Arc<Env>,
    ctx: Context,
}

impl Harness {
    fn new(max_task_failures: usize) -> Self {
        let ctx = Context::with_master("local[1]").unwrap();
        let env = Arc::new(Env::new(&EmberConf::empty(), "driver", 1).unwrap());
        let backend = Arc::new(FakeBackend::default());
        let (events, _) = crossbeam_channel::unbounded();
        let settings = SchedulerSettings {
            max_task_failures,
            max_stage_attempts: 4,
            show_progress: false,
        };
        let state = DagState::new(
            env.clone(),
            backend.clone(),
            Arc::new(AccumulatorRegistry::default()),
            settings,
            events,
            None,
            Arc::new(Mutex::new(Vec::new())),
        );
        Harness {
            state,
            backend,
            env,
            ctx,
        }
    }

    /// Pairs in `partitions` partitions, summed by key into `reduces` partitions.
    fn shuffled(&self, partitions: usize, reduces: usize) -> Rdd<(u32, u32)> {
        self.ctx
            .parallelize((0..20u32).map(|i| (i % 5, i)).collect(), partitions)
            .reduce_by_key_in(Fn!(|a: u32, b: u32| a + b), reduces)
    }

    fn submit(&mut self, rdd: &Rdd<(u32, u32)>) -> Reply {
        let partitions: Vec<usize> = (0..rdd.num_partitions()).collect();
        let parent = rdd.rdd_ref().clone();
        let func = Arc::new(CountFn);
        let make_task: ResultTaskMaker = Box::new(move |p| -> Arc<dyn Task> {
            Arc::new(ResultTask::<(u32, u32), u64, CountFn>::new(
                parent.clone(),
                func.clone(),
                p,
            ))
        });
        let (reply, outcome) = crossbeam_channel::bounded(1);
        self.state
            .handle(DagEvent::JobSubmitted(Box::new(JobSubmission {
                rdd: rdd.rdd_ref().base(),
                partitions,
                make_task,
                reply,
                properties: Default::default(),
            })));
        outcome
    }

    /// The attempts launched since the last call, by stage then partition.
    fn launched(&self) -> Vec<Launch> {
        let mut launched = std::mem::take(&mut *self.backend.launched.lock());
        launched.sort_by_key(|l| (l.id.stage_id, l.id.partition));
        launched
    }

    fn start(&mut self, launch: &Launch, executor: &str) {
        let place = TaskPlace {
            executor_id: executor.into(),
            host: "localhost".into(),
            locality: TaskLocality::Any,
        };
        self.state
            .handle(DagEvent::Task(Box::new(TaskUpdate::Started(
                launch.id, place,
            ))));
    }

    fn finish(&mut self, launch: &Launch, result: std::result::Result<TaskOutput, Error>) {
        let result = result
            .map(|output| TaskSuccess {
                output,
                accumulator_updates: Vec::new(),
                metrics: MetricsSnapshot::default(),
                executor_id: "exec-a".into(),
                cached_blocks: Vec::new(),
            })
            .map_err(|error| TaskFailure { error });
        self.state
            .handle(DagEvent::Task(Box::new(TaskUpdate::Finished(TaskEvent {
                id: launch.id,
                result,
            }))));
    }

    /// Runs `launch` on `executor` to a map output there.
    fn map_done(&mut self, launch: &Launch, executor: &str) {
        self.start(launch, executor);
        let status = MapStatus {
            executor_id: executor.into(),
            address: String::new(),
            sizes: vec![1; 4],
            record_bytes: 4,
        };
        self.finish(launch, Ok(TaskOutput::Map(status)));
    }

    /// Runs `launch` to a result of `value`.
    fn result_done(&mut self, launch: &Launch, value: u64) {
        self.start(launch, "exec-a");
        let bytes = bincode::serialize(&value).unwrap();
        self.finish(launch, Ok(TaskOutput::Value(bytes)));
    }

    fn assert_empty(&self) {
        assert!(self.state.is_empty(), "scheduler state left behind");
    }
}

fn values(reply: &Reply) -> Vec<u64> {
    let bytes = reply
        .try_recv()
        .expect("the job replied")
        .expect("it succeeded");
    bytes
        .iter()
        .map(|b| bincode::deserialize(b).unwrap())
        .collect()
}

#[test]
fn a_job_without_shuffles_runs_one_stage_and_leaves_nothing_behind() {
    let mut h = Harness::new(1);
    let rdd = h.ctx.parallelize(vec![(1u32, 1u32); 6], 3);
    let reply = h.submit(&rdd);
    let launched = h.launched();
    assert_eq!(launched.len(), 3);
    for (i, l) in launched.iter().enumerate() {
        assert!(
            reply.try_recv().is_err(),
            "the job replied before its tasks ended"
        );
        h.result_done(l, i as u64 * 10);
    }
    assert_eq!(values(&reply), vec![0, 10, 20]);
    let summaries = h.state.summaries.lock().clone();
    assert_eq!((summaries[0].stages, summaries[0].tasks), (1, 3));
    h.assert_empty();
}

#[test]
fn the_map_stage_runs_before_the_stage_reading_it() {
    let mut h = Harness::new(1);
    let rdd = h.shuffled(3, 2);
    let reply = h.submit(&rdd);
    let maps = h.launched();
    assert_eq!(maps.len(), 3, "map tasks first, and only them");
    h.map_done(&maps[0], "exec-a");
    h.map_done(&maps[1], "exec-a");
    assert!(
        h.launched().is_empty(),
        "the reduce stage waits for every map output"
    );
    h.map_done(&maps[2], "exec-b");
    let reduces = h.launched();
    assert_eq!(reduces.len(), 2);
    assert!(reduces.iter().all(|l| l.id.stage_id != maps[0].id.stage_id));
    h.result_done(&reduces[0], 3);
    h.result_done(&reduces[1], 2);
    assert_eq!(values(&reply), vec![3, 2]);
    h.assert_empty();
}

#[test]
fn two_jobs_needing_one_shuffle_share_its_map_stage() {
    let mut h = Harness::new(1);
    let rdd = h.shuffled(2, 2);
    let first = h.submit(&rdd);
    let second = h.submit(&rdd.map(Fn!(|p: (u32, u32)| p)));
    let maps = h.launched();
    assert_eq!(maps.len(), 2, "one set of map tasks for both jobs");
    for m in &maps {
        h.map_done(m, "exec-a");
    }
    let reduces = h.launched();
    assert_eq!(reduces.len(), 4, "each job's result stage");
    for r in &reduces {
        h.result_done(r, 7);
    }
    assert_eq!(values(&first), vec![7, 7]);
    assert_eq!(values(&second), vec![7, 7]);
    let summaries = h.state.summaries.lock().clone();
    assert_eq!(
        summaries[0].stages + summaries[1].stages,
        3,
        "{summaries:?}"
    );
    h.assert_empty();
}

#[test]
fn a_later_job_skips_a_shuffle_whose_outputs_are_registered() {
    let mut h = Harness::new(1);
    let rdd = h.shuffled(2, 1);
    let first = h.submit(&rdd);
    for m in h.launched() {
        h.map_done(&m, "exec-a");
    }
    for r in h.launched() {
        h.result_done(&r, 5);
    }
    assert_eq!(values(&first), vec![5]);
    h.assert_empty();
    let second = h.submit(&rdd);
    let launched = h.launched();
    assert_eq!(launched.len(), 1, "only the result task runs again");
    h.result_done(&launched[0], 5);
    assert_eq!(values(&second), vec![5]);
    assert_eq!(h.state.summaries.lock()[1].stages, 1);
    h.assert_empty();
}

#[test]
fn a_failed_task_is_retried_until_max_failures_then_the_job_fails_once_its_tasks_ended() {
    let mut h = Harness::new(2);
    let rdd = h.ctx.parallelize(vec![(1u32, 1u32); 4], 2);
    let reply = h.submit(&rdd);
    let first = h.launched();
    h.start(&first[0], "exec-a");
    h.start(&first[1], "exec-a");
    h.finish(&first[0], Err(Error::UserCode("boom".into())));
    let retry = h.launched();
    assert_eq!(retry.len(), 1);
    assert_eq!((retry[0].id.partition, retry[0].id.attempt), (0, 1));
    h.start(&retry[0], "exec-a");
    h.finish(&retry[0], Err(Error::UserCode("boom again".into())));
    assert!(
        reply.try_recv().is_err(),
        "the job waits for its task still running"
    );
    assert!(first[1].cancelled.load(Ordering::Relaxed));
    h.finish(&first[1], Err(Error::UserCode("killed".into())));
    let error = reply.try_recv().unwrap().unwrap_err().to_string();
    assert!(
        error.contains("task 0 in stage 0.0 failed 2 times"),
        "{error}"
    );
    assert!(error.contains("boom again"), "{error}");
    let summary = h.state.summaries.lock()[0].clone();
    assert_eq!((summary.tasks, summary.failed_tasks), (3, 3));
    h.assert_empty();
}

#[test]
fn a_fetch_failure_reruns_the_lost_map_outputs_then_the_reading_stage() {
    let mut h = Harness::new(4);
    let rdd = h.shuffled(2, 2);
    let reply = h.submit(&rdd);
    let maps = h.launched();
    h.map_done(&maps[0], "exec-a");
    h.map_done(&maps[1], "exec-b");
    let reduces = h.launched();
    h.start(&reduces[0], "exec-a");
    let shuffle = h.env.map_output_tracker.statuses(0).map(|s| s.len());
    assert_eq!(shuffle, Some(2));
    let lost = Error::FetchFailed {
        shuffle_id: 0,
        map_index: 1,
        reduce_id: 0,
        message: "connection refused".into(),
    };
    h.finish(&reduces[0], Err(lost));
    assert_eq!(h.env.map_output_tracker.missing(0), vec![1]);
    let rerun = h.launched();
    assert_eq!(rerun.len(), 1, "only the lost map output runs again");
    assert_eq!((rerun[0].id.partition, rerun[0].id.stage_attempt), (1, 1));
    // The other reduce task of the failed attempt still counts when it succeeds.
    h.result_done(&reduces[1], 4);
    h.map_done(&rerun[0], "exec-a");
    let again = h.launched();
    assert_eq!(
        again.len(),
        1,
        "the reading stage runs its missing partition"
    );
    assert_eq!((again[0].id.partition, again[0].id.stage_attempt), (0, 1));
    h.result_done(&again[0], 6);
    assert_eq!(values(&reply), vec![6, 4]);
    h.assert_empty();
}

#[test]
fn an_aborted_job_leaves_a_shared_map_stage_to_the_other_job() {
    let mut h = Harness::new(1);
    let rdd = h.shuffled(2, 1);
    let doomed = h.submit(&rdd);
    let survivor = h.submit(&rdd.map(Fn!(|p: (u32, u32)| p)));
    let maps = h.launched();
    h.map_done(&maps[0], "exec-a");
    h.map_done(&maps[1], "exec-a");
    let reduces = h.launched();
    assert_eq!(reduces.len(), 2);
    h.start(&reduces[0], "exec-a");
    h.finish(&reduces[0], Err(Error::UserCode("bad record".into())));
    assert!(doomed.try_recv().unwrap().is_err());
    assert!(survivor.try_recv().is_err(), "the other job goes on");
    h.result_done(&reduces[1], 9);
    assert_eq!(values(&survivor), vec![9]);
    h.assert_empty();
}

#[test]
fn stopping_fails_every_active_job() {
    let mut h = Harness::new(1);
    let rdd = h.shuffled(2, 1);
    let reply = h.submit(&rdd);
    assert_eq!(h.launched().len(), 2);
    assert!(!h.state.handle(DagEvent::Stop));
    let error = reply.try_recv().unwrap().unwrap_err().to_string();
    assert!(error.contains("stopped"), "{error}");
}

#[test]
fn a_speculative_copy_that_finishes_first_wins_and_the_slow_original_is_killed() {
    let mut h = Harness::new(1);
    let rdd = h.ctx.parallelize(vec![(1u32, 1u32); 8], 4);
    let reply = h.submit(&rdd);
    let first = h.launched();
    for (i, l) in first.iter().enumerate().take(3) {
        h.result_done(l, i as u64);
    }
    let slow = &first[3];
    h.start(slow, "exec-a");
    h.state
        .handle(DagEvent::Task(Box::new(TaskUpdate::SpeculationWanted(
            slow.id,
            "exec-a".into(),
        ))));
    let copies = h.launched();
    assert_eq!(copies.len(), 1);
    let copy = &copies[0];
    assert_eq!((copy.id.partition, copy.id.attempt), (3, 1));
    assert_eq!(copy.not_on.as_deref(), Some("exec-a"));
    h.result_done(copy, 30);
    assert_eq!(*h.backend.killed.lock(), vec![slow.id.task_attempt_id]);
    assert_eq!(
        values(&reply),
        vec![0, 1, 2, 30],
        "no wait for the killed original"
    );
    let summary = h.state.summaries.lock()[0].clone();
    assert_eq!((summary.tasks, summary.failed_tasks), (5, 0));
    assert!(
        !h.state.is_empty(),
        "its stage lasts while the original is out"
    );
    let killed = Error::TaskKilled("another attempt of its task finished first".into());
    h.finish(slow, Err(killed));
    h.assert_empty();
}
