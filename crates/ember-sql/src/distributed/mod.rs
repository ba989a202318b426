//! Queries as stages of ember tasks: DataFusion plans, ember runs.
//!
//! DataFusion turns a query into a physical plan whose nodes work on numbered partitions. On
//! the driver, [`planner`] cuts that plan where rows change partitions; each piece becomes a
//! stage (an RDD, [`stage`]) whose tasks run the piece on executors, decoded from DataFusion's
//! protobuf form ([`codec`]). Rows cross stages as Arrow IPC through ember's shuffle
//! ([`exchange`]), so the DAG scheduler, locality, retries and fetch-failure recovery are those
//! of RDD jobs. The result stage's batches come back to the driver.
//!
//! A plan with a part that cannot leave the driver (a table held in the driver's memory, such
//! as `create_data_frame`'s, or the information schema) runs whole on the driver's threads, as
//! it does under `local[N]` unless `ember.sql.distributed` is set; the RDDs it reads (a Kafka
//! stream's batch, a DataFrame over an RDD) are read by tasks first, their rows gathered.

mod codec;
mod exchange;
mod join_filter;
mod locality;
mod planner;
mod rdd_scan;
mod runtime_filter;
mod stage;

pub(crate) use exchange::{decode_batches, encode_batch, ExchangeRecord};
pub(crate) use rdd_scan::record_fields;
pub use runtime_filter::CREATION_SIDE_THRESHOLD;

use crate::error::Result;
use crate::session::SqlSession;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::{collect, ExecutionPlan};
use ember_core::Rdd;
use std::sync::Arc;

/// Every row of `plan`.
///
/// # Errors
/// The query fails, on the driver or in a task.
pub(crate) fn collect_rows(
    session: &SqlSession,
    plan: Arc<dyn ExecutionPlan>,
) -> Result<Vec<RecordBatch>> {
    let reads_rdd = rdd_scan::reads_rdd(&plan);
    if !session.distributed()? && !reads_rdd {
        return on_driver(session, plan);
    }
    let ctx = session.context()?;
    match run_stages(&ctx, session, plan.clone()) {
        Err(DataFusionError::NotImplemented(reason)) if !reads_rdd => {
            tracing::debug!("the query runs on the driver: {reason}");
            on_driver(session, plan)
        }
        Err(DataFusionError::NotImplemented(reason)) => {
            tracing::debug!("the query runs on the driver, over its RDDs' rows: {reason}");
            let plan = gather_rdd_scans(&ctx, session, plan)?;
            on_driver(session, plan)
        }
        rows => Ok(rows?),
    }
}

/// `plan` with each scan of an RDD replaced by the rows its tasks read, gathered on the
/// driver: for a plan that also has a part that cannot leave the driver.
fn gather_rdd_scans(
    ctx: &ember_core::Context,
    session: &SqlSession,
    plan: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::datasource::memory::MemorySourceConfig;
    let gathered = plan.transform_up(|node| {
        if !node.is::<rdd_scan::RddScanExec>() {
            return Ok(Transformed::no(node));
        }
        let rows = run_stages(ctx, session, node.clone())?;
        let rows: Arc<dyn ExecutionPlan> =
            MemorySourceConfig::try_new_exec(&[rows], node.schema(), None)?;
        Ok(Transformed::yes(rows))
    })?;
    Ok(gathered.data)
}

/// Every row of `plan`, computed by stages of ember tasks.
///
/// # Errors
/// `NotImplemented` when part of the plan cannot leave the driver; else the query failed.
fn run_stages(
    ctx: &ember_core::Context,
    session: &SqlSession,
    plan: Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Vec<RecordBatch>> {
    let stage = planner::StagePlanner::plan(ctx, session, plan)?;
    let records = Rdd::from_compute(ctx, stage)
        .collect()
        .map_err(exchange::ember_error)?;
    let mut batches = Vec::new();
    for (_, bytes) in records {
        batches.extend(exchange::decode_batches(&bytes)?);
    }
    Ok(batches)
}

/// A table over the records of `rdd`, of `schema` (see [`record_fields`]).
pub(crate) fn rdd_table<T: ember_core::Data>(
    rdd: ember_core::rdd::RddRef<T>,
    schema: datafusion::arrow::datatypes::SchemaRef,
    partitions: usize,
) -> rdd_scan::RddTable {
    let source = Arc::new(rdd_scan::RecordRdd::new(rdd));
    rdd_scan::RddTable::new(source, schema, partitions)
}

/// A table over an RDD of batches its tasks built.
pub(crate) fn batch_table(
    rdd: ember_core::rdd::RddRef<crate::conversions::ArrowBatch>,
    schema: datafusion::arrow::datatypes::SchemaRef,
    partitions: usize,
) -> rdd_scan::RddTable {
    let source = Arc::new(rdd_scan::BatchRdd::new(rdd));
    rdd_scan::RddTable::new(source, schema, partitions)
}

/// The last stage of `df`'s query, its parents planned (scalar subqueries already computed):
/// its partitions are Arrow IPC records of the query's rows.
///
/// # Errors
/// The query cannot be planned, or a part of it cannot leave the driver.
pub(crate) fn last_stage(
    session: &SqlSession,
    df: datafusion::dataframe::DataFrame,
) -> Result<Rdd<ExchangeRecord>> {
    let plan = session.block_on(df.create_physical_plan())?;
    let ctx = session.context()?;
    match planner::StagePlanner::plan(&ctx, session, plan) {
        Ok(stage) => Ok(Rdd::from_compute(&ctx, stage)),
        Err(DataFusionError::NotImplemented(reason)) => Err(crate::error::Error::Input(format!(
            "this DataFrame cannot become an RDD: its plan has {reason}, which cannot leave the driver"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn on_driver(session: &SqlSession, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>> {
    let task = session.datafusion.task_ctx();
    Ok(session.block_on(collect(plan, task))?)
}
