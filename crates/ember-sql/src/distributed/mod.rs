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
//! it does under `local[N]` unless `ember.sql.distributed` is set.

mod codec;
mod exchange;
mod locality;
mod planner;
mod stage;

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
    if !session.distributed()? {
        return on_driver(session, plan);
    }
    let ctx = session.context()?;
    match run_stages(&ctx, session, plan.clone()) {
        Err(DataFusionError::NotImplemented(reason)) => {
            tracing::debug!("the query runs on the driver: {reason}");
            on_driver(session, plan)
        }
        rows => Ok(rows?),
    }
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

fn on_driver(session: &SqlSession, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>> {
    let task = session.datafusion.task_ctx();
    Ok(session.block_on(collect(plan, task))?)
}
