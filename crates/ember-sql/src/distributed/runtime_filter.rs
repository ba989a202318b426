//! Runtime filters: the probe side of a partitioned join sheds, before its shuffle, the rows
//! that cannot match the build side.
//!
//! In one process a hash join's dynamic filter prunes its probe side's scan as soon as the
//! build side is known. Across stages the probe side is shuffled by a map stage of its own, and
//! a filter its join makes in the next stage comes too late: TPC-H q08 would shuffle all of
//! lineitem to join it with the 1 in 150 parts of one type.
//!
//! So the probe's map stage waits for the build side's exchange, and each of its tasks decides
//! from the exchange's size (known from its map outputs before a byte is read): when it holds
//! at most `ember.sql.optimizer.runtimeFilter.creationSideThreshold` (Spark's
//! `spark.sql.optimizer.runtime.bloomFilter.creationSideThreshold`, 10 MiB), the task reads it
//! whole and keeps only the probe rows that match one of its rows (a semi join, which fills the
//! scan's dynamic filter too); when it holds more, the probe rows pass unfiltered. Either way
//! the join sees the same matches, so the choice never changes a result.

use super::stage::StageTask;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext as DataFusionTask;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use ember_core::conf::ConfigEntry;
use ember_core::shuffle::shuffle_bytes;
use std::sync::Arc;

/// The largest build side a runtime filter reads, in bytes of its exchange; 0 turns runtime
/// filters off.
pub const CREATION_SIDE_THRESHOLD: ConfigEntry<u64> = ConfigEntry::bytes(
    "ember.sql.optimizer.runtimeFilter.creationSideThreshold",
    Some("10m"),
    "largest build side (bytes of its exchange) whose keys filter a partitioned join's probe side before its shuffle; 0 turns runtime filters off",
    "0.1.0",
);

/// The probe side of a join, `filtered` by its build side's exchange `build_shuffle` when that
/// holds at most `threshold` bytes, else `unfiltered`. Both children have the same rows but for
/// those that match nothing.
#[derive(Debug)]
pub(crate) struct RuntimeFilterExec {
    build_shuffle: usize,
    threshold: u64,
    filtered: Arc<dyn ExecutionPlan>,
    unfiltered: Arc<dyn ExecutionPlan>,
}

impl RuntimeFilterExec {
    pub(crate) fn new(
        build_shuffle: usize,
        threshold: u64,
        filtered: Arc<dyn ExecutionPlan>,
        unfiltered: Arc<dyn ExecutionPlan>,
    ) -> Self {
        RuntimeFilterExec {
            build_shuffle,
            threshold,
            filtered,
            unfiltered,
        }
    }

    pub(crate) fn build_shuffle(&self) -> usize {
        self.build_shuffle
    }

    pub(crate) fn threshold(&self) -> u64 {
        self.threshold
    }

    /// Whether the build side is small enough to filter with, as this task sees it.
    fn filters(&self, context: &DataFusionTask) -> Result<bool> {
        let task = context
            .session_config()
            .get_extension::<StageTask>()
            .ok_or_else(|| {
                DataFusionError::Internal("a runtime filter runs outside an ember task".into())
            })?;
        let bytes = shuffle_bytes(self.build_shuffle, &task.0)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(bytes.is_some_and(|bytes| bytes <= self.threshold))
    }
}

impl DisplayAs for RuntimeFilterExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (shuffle, threshold) = (self.build_shuffle, self.threshold);
        write!(
            f,
            "RuntimeFilterExec: build=shuffle {shuffle}, threshold={threshold} bytes"
        )
    }
}

impl ExecutionPlan for RuntimeFilterExec {
    fn name(&self) -> &str {
        "RuntimeFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.unfiltered.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.filtered, &self.unfiltered]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [filtered, unfiltered]: [Arc<dyn ExecutionPlan>; 2] =
            children.try_into().map_err(|_| {
                DataFusionError::Internal("RuntimeFilterExec takes two children".into())
            })?;
        Ok(Arc::new(RuntimeFilterExec {
            filtered,
            unfiltered,
            ..*self
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<DataFusionTask>,
    ) -> Result<SendableRecordBatchStream> {
        if self.filters(&context)? {
            self.filtered.execute(partition, context)
        } else {
            self.unfiltered.execute(partition, context)
        }
    }
}
