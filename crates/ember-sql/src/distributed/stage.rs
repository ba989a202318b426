//! A stage of a distributed plan as an RDD: its partitions are the partitions of one plan
//! fragment, computed by running the fragment on the executor and routing its rows.
//!
//! Being an RDD is what puts SQL on ember's engine: the DAG scheduler finds the stage's parent
//! exchanges among its [`dependencies`](RddBase::dependencies), runs their map stages first,
//! reruns them on fetch failures, and the task scheduler places the tasks, exactly as for
//! `reduce_by_key`.

use super::codec::decode_plan;
use super::exchange::{ember_error, encode_batch, ExchangeRecord};
use super::join_filter::per_partition_joins;
use crate::memory::{record_spills, EmberMemoryPool};
use crate::session::datafusion_context;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext as DataFusionTask;
use datafusion::physical_plan::metrics::Time;
use datafusion::physical_plan::repartition::{BatchPartitioner, RepartitionExec};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, SendableRecordBatchStream,
};
use datafusion::prelude::SessionConfig;
use ember_core::rdd::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use ember_core::task_context::abort;
use ember_core::task_context::run_as_task;
use ember_core::{Error, Result, TaskContext};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

/// The ember task a fragment runs in, for the plan nodes that need it (shuffle reads, RDDs).
pub(crate) struct StageTask(pub Arc<TaskContext>);

/// The ember task `context` runs in.
///
/// # Errors
/// The plan runs outside an ember task.
pub(crate) fn stage_task(context: &DataFusionTask) -> DfResult<Arc<StageTask>> {
    context
        .session_config()
        .get_extension::<StageTask>()
        .ok_or_else(|| {
            DataFusionError::Internal("a stage's plan runs outside an ember task".into())
        })
}

/// A partition's stream fed by `produce`, which blocks (ember's shuffle reads, RDD partitions)
/// and so runs on a thread of its own, as part of the stage's ember task: an abort there (a
/// fetch failure) fails the task as it would have in the task's own thread.
///
/// # Errors
/// The plan runs outside an ember task.
pub(crate) fn task_stream(
    context: &DataFusionTask,
    schema: SchemaRef,
    produce: impl FnOnce(&Arc<TaskContext>, &mut dyn FnMut(DfResult<RecordBatch>) -> bool) -> Result<()>
        + Send
        + 'static,
) -> DfResult<SendableRecordBatchStream> {
    let task = stage_task(context)?;
    let mut builder = RecordBatchReceiverStream::builder(schema, 2);
    let sender = builder.tx();
    builder.spawn_blocking(move || {
        let tc = task.0.clone();
        // A closed stream means the consumer stopped early (a LIMIT): nothing more is wanted.
        let mut sink = |batch| sender.blocking_send(batch).is_ok();
        let produced = run_as_task(&tc, || produce(&tc, &mut sink));
        produced.and_then(|r| r).map_err(ember_error)
    });
    Ok(builder.build())
}

/// `apply_expressions` of a plan node with no expressions of its own.
macro_rules! no_expressions {
    () => {
        fn apply_expressions(
            &self,
            _: &mut dyn FnMut(
                &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
            ) -> datafusion::error::Result<
                datafusion::common::tree_node::TreeNodeRecursion,
            >,
        ) -> datafusion::error::Result<datafusion::common::tree_node::TreeNodeRecursion> {
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        }
    };
}
pub(crate) use no_expressions;

/// The methods that ember's leaf plan nodes (no children, no expressions) share.
macro_rules! leaf_node {
    ($name:literal) => {
        fn name(&self) -> &str {
            $name
        }

        fn properties(&self) -> &Arc<PlanProperties> {
            &self.properties
        }

        fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
            Vec::new()
        }

        $crate::distributed::stage::no_expressions!();

        fn with_new_children(
            self: Arc<Self>,
            _: Vec<Arc<dyn ExecutionPlan>>,
        ) -> Result<Arc<dyn ExecutionPlan>> {
            Ok(self)
        }
    };
}
pub(crate) use leaf_node;

/// Where a stage's rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StageOutput {
    /// The fragment's root is a `RepartitionExec`; its partitioning routes rows.
    Repartitioned,
    /// Partition `p` feeds reduce partition `p` (under a merge or a coalesce, which stays in
    /// the next stage).
    Kept,
    /// The rows go back to the driver.
    Result,
}

/// The partitions of a plan fragment.
#[derive(Serialize, Deserialize)]
pub(crate) struct SqlStageRdd {
    core: RddCore,
    plan: ByteBuf,
    partitions: usize,
    output: StageOutput,
    // The driver plans the parents (exchanges, RDDs read as tables); tasks read them through
    // the plan's leaves.
    #[serde(skip)]
    parents: Vec<Dependency>,
    #[serde(skip)]
    locations: Vec<Vec<String>>,
}

impl SqlStageRdd {
    pub(crate) fn new(
        core: RddCore,
        plan: Vec<u8>,
        partitions: usize,
        output: StageOutput,
        parents: Vec<Dependency>,
        locations: Vec<Vec<String>>,
    ) -> Self {
        SqlStageRdd {
            core,
            plan: ByteBuf::from(plan),
            partitions,
            output,
            parents,
            locations,
        }
    }
}

impl RddBase for SqlStageRdd {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents.clone()
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.locations.get(partition).cloned().unwrap_or_default()
    }
}

impl RddCompute<ExchangeRecord> for SqlStageRdd {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<ExchangeRecord>> {
        let mut config = SessionConfig::new().with_extension(Arc::new(StageTask(tc.clone())));
        // A task runs one partition of its copy of the plan: it must read that partition's
        // files only, not take over its siblings' (who run elsewhere, reading their own).
        let execution = &mut config.options_mut().execution;
        execution.enable_file_stream_work_stealing = false;
        // A partial aggregate feeding an exchange always aggregates, as in Spark. DataFusion
        // stops when its first 100,000 rows show 80% distinct groups, a good trade in memory
        // but not before a shuffle: TPC-H q17 at scale factor 5 sees 95,000 of its 1 million
        // part keys in those rows, stops, and sends all 30 million line items on.
        execution.skip_partial_aggregation_probe_ratio_threshold = 1.0;
        let memory = Arc::new(EmberMemoryPool::for_task(tc));
        let session = datafusion_context(tc.env(), config, memory);
        let task = session.task_ctx();
        let plan = decode_plan(&self.plan, &task)
            .and_then(per_partition_joins)
            .map_err(task_error)?;
        let (plan, route) = self.route(plan, partition).map_err(task_error)?;
        let runtime = task_runtime();
        // Operators that spawn (merges, spills) need the runtime entered while they start.
        let stream = {
            let _entered = runtime.enter();
            plan.execute(partition, task).map_err(task_error)?
        };
        Ok(Box::new(StageRows {
            stream,
            route,
            pending: VecDeque::new(),
            plan,
            tc: tc.clone(),
        }))
    }
}

impl SqlStageRdd {
    /// The plan to run for `partition` and where its rows go.
    fn route(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        partition: usize,
    ) -> DfResult<(Arc<dyn ExecutionPlan>, Route)> {
        Ok(match self.output {
            StageOutput::Repartitioned => {
                let exchange = plan.downcast_ref::<RepartitionExec>().ok_or_else(|| {
                    DataFusionError::Internal("a repartitioning stage without its exchange".into())
                })?;
                let input = exchange.input().clone();
                let partitioner = BatchPartitioner::try_new(
                    exchange.partitioning().clone(),
                    Time::new(),
                    partition,
                    input.output_partitioning().partition_count(),
                )?;
                (input, Route::Partitioner(Box::new(partitioner)))
            }
            StageOutput::Kept => (plan, Route::To(partition as u32)),
            StageOutput::Result => (plan, Route::To(0)),
        })
    }
}

enum Route {
    Partitioner(Box<BatchPartitioner>),
    To(u32),
}

/// A fragment's output as shuffle records, pulled batch by batch.
struct StageRows {
    stream: SendableRecordBatchStream,
    route: Route,
    pending: VecDeque<ExchangeRecord>,
    // Its operators' metrics hold the spills, counted into the task's once the stream ends.
    plan: Arc<dyn ExecutionPlan>,
    tc: Arc<TaskContext>,
}

impl StageRows {
    fn push(&mut self, batch: RecordBatch) -> DfResult<()> {
        match &mut self.route {
            Route::Partitioner(partitioner) => {
                for piece in partitioner.partition_iter(batch)? {
                    let (to, piece) = piece?;
                    if piece.num_rows() > 0 {
                        self.pending.push_back((to as u32, encode_batch(&piece)?));
                    }
                }
            }
            Route::To(to) => {
                if batch.num_rows() > 0 {
                    self.pending.push_back((*to, encode_batch(&batch)?));
                }
            }
        }
        Ok(())
    }
}

impl Iterator for StageRows {
    type Item = ExchangeRecord;

    fn next(&mut self) -> Option<ExchangeRecord> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            let Some(batch) = task_runtime().block_on(self.stream.next()) else {
                record_spills(&self.plan, &self.tc);
                return None;
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => abort(task_error(e)),
            };
            if let Err(e) = self.push(batch) {
                abort(task_error(e));
            }
        }
    }
}

/// The threads DataFusion's operators run on inside this process's tasks (`ember-sql-task`,
/// one per core), started by the first SQL task and kept for the process's life.
///
/// A task's slot thread blocks on its fragment's stream; the operators it starts (merges,
/// spills, repartitions) run here. They compute, so they stay off the process's I/O runtime:
/// a busy stage must not delay the executor's heartbeats or the shuffle data it serves. Nor is
/// this the session's runtime: an executor has no session, and a driver's session is sized to
/// its application and ends with it, while tasks belong to the process.
fn task_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("ember-sql-task")
            .enable_all()
            .build()
            // Without threads no stage can run here; there is nothing to fall back on.
            .expect("cannot start the threads of SQL tasks")
    })
}

/// A task's failure as ember reports it: a fetch failure stays one (the scheduler reruns the
/// map stage); anything else fails the attempt with DataFusion's message.
pub(crate) fn task_error(e: DataFusionError) -> Error {
    let root = e.find_root();
    if let DataFusionError::External(inner) = root {
        if let Some(Error::FetchFailed {
            shuffle_id,
            map_index,
            reduce_id,
            message,
        }) = inner.downcast_ref::<Error>()
        {
            return Error::FetchFailed {
                shuffle_id: *shuffle_id,
                map_index: *map_index,
                reduce_id: *reduce_id,
                message: message.clone(),
            };
        }
    }
    Error::UserCode(root.to_string())
}
