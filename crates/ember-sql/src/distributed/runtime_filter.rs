//! Runtime filters: the probe side of a partitioned join sheds, before its shuffle, the rows
//! that cannot match the build side.
//!
//! In one process a hash join's dynamic filter prunes its probe side's scan as soon as the
//! build side is known. Across stages the probe side is shuffled by a map stage of its own, and
//! a filter its join makes in the next stage comes too late: TPC-H q08 would shuffle all of
//! lineitem to join it with the 1 in 150 parts of one type.
//!
//! So the probe's map stage waits for the build side's exchange, and each of its tasks decides
//! from the exchange's size (its rows' bytes as encoded, before compression, known from its map
//! outputs before a byte is read): when it holds at most
//! `ember.sql.optimizer.runtimeFilter.creationSideThreshold` (64 MiB), the task reads it whole
//! and keeps only the probe rows that match one of its rows (a semi join, which fills the scan's
//! dynamic filter too); when it holds more, the probe rows pass unfiltered. Either way the join
//! sees the same matches, so the choice never changes a result.
//!
//! Spark's `spark.sql.optimizer.runtime.bloomFilter.creationSideThreshold` is 10 MiB of
//! estimated plan size; the default here is larger because it counts exact bytes, and the build
//! sides worth filtering with grow with the data: at TPC-H scale factor 5, q05's orders of one
//! region and year hold 17 MB, and filtering with them cuts the query's shuffles from 1.5 GB to
//! 270 MB.
//!
//! A join that collects a small build side (`CollectLeft`) runs in the stage of its probe side,
//! and there its dynamic filter prunes the scans of that stage. A scan below an exchange, in a
//! stage of its own, is out of its reach: TPC-H q21 joins its suppliers with the one nation it
//! asks for only after shuffling every line item. When the build side is a plain read (scans,
//! filters, projections, no join or aggregate), [`filter_scans_across_stages`] gives each such
//! scan a copy of it: the scan's rows pass a semi join with the build side's rows on the keys the
//! filter reads, in the scan's own stage.

use super::stage::stage_task;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::JoinType;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext as DataFusionTask;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use ember_core::conf::ConfigEntry;
use ember_core::shuffle::shuffle_bytes;
use std::sync::Arc;

ember_core::config_keys! {
    area: "SQL";
    /// The largest build side a runtime filter reads, in bytes of its exchange's rows before
    /// compression; 0 turns runtime filters off.
    pub const CREATION_SIDE_THRESHOLD: ConfigEntry<u64> = ConfigEntry::bytes(
        "ember.sql.optimizer.runtimeFilter.creationSideThreshold",
        Some("64m"),
        "largest build side (bytes of its exchange's rows, uncompressed) whose keys filter a partitioned join's probe side before its shuffle; 0 turns runtime filters off",
        "0.1.0",
    );
}

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
        let task = stage_task(context)?;
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

    super::stage::no_expressions!();

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

/// `join` with each scan of its probe side that lies below an exchange and holds the join's
/// dynamic filter reduced by a semi join with a copy of the build side (see the module's
/// documentation); `None` when there is no such scan, or the build side is more than a read.
///
/// # Errors
/// A plan node refuses its new children.
pub(crate) fn filter_scans_across_stages(
    join: &HashJoinExec,
    drops_unmatched_probe_rows: bool,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let produced = join.dynamic_expressions_produced();
    let Some(id) = produced.first().and_then(|filter| filter.expression_id()) else {
        return Ok(None);
    };
    if *join.partition_mode() != PartitionMode::CollectLeft
        || !drops_unmatched_probe_rows
        || !plain_read(join.left())?
    {
        return Ok(None);
    }
    let copy = BuildCopy { join, id };
    let probe = copy.apply_below(join.right().clone(), false)?;
    if Arc::ptr_eq(&probe, join.right()) {
        return Ok(None);
    }
    let rebuilt = join
        .builder()
        .with_new_children(vec![join.left().clone(), probe])?
        .build_exec()?;
    Ok(Some(rebuilt))
}

/// Whether `plan` only reads: scans, filters, projections and the nodes that merely move
/// batches, each cheap to run again in another stage.
fn plain_read(plan: &Arc<dyn ExecutionPlan>) -> Result<bool> {
    plan.exists(|node| {
        let reads = node.is::<DataSourceExec>()
            || node.is::<FilterExec>()
            || node.is::<ProjectionExec>()
            || node.is::<CoalescePartitionsExec>()
            || node
                .downcast_ref::<RepartitionExec>()
                .is_some_and(|r| matches!(r.partitioning(), Partitioning::RoundRobinBatch(_)));
        Ok(!reads)
    })
    .map(|other| !other)
}

/// A collected join's build side, to copy below the exchanges of its probe side.
struct BuildCopy<'a> {
    join: &'a HashJoinExec,
    /// The join's dynamic filter.
    id: u64,
}

impl BuildCopy<'_> {
    /// `node` with the scans below it reduced, `across` telling whether an exchange lies
    /// between the join and `node`.
    fn apply_below(
        &self,
        node: Arc<dyn ExecutionPlan>,
        across: bool,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if across && node.is::<DataSourceExec>() {
            return match self.filter_keys(&node)? {
                Some(keys) => self.semi_join(node, keys),
                None => Ok(node),
            };
        }
        let across = across
            || node.is::<RepartitionExec>()
            || node.is::<CoalescePartitionsExec>()
            || node.is::<SortPreservingMergeExec>();
        let children = node
            .children()
            .into_iter()
            .map(|child| self.apply_below(child.clone(), across))
            .collect::<Result<Vec<_>>>()?;
        replace_children_if_necessary(node, children)
    }

    /// The columns of `scan`'s output that the join's dynamic filter reads there; `None` when
    /// the filter is not in `scan`, or reads what the scan does not output.
    fn filter_keys(
        &self,
        scan: &Arc<dyn ExecutionPlan>,
    ) -> Result<Option<Vec<Arc<dyn PhysicalExpr>>>> {
        let mut keys = None;
        scan.apply_expressions(&mut |root| {
            root.apply(|expr| {
                if expr.expression_id() != Some(self.id) {
                    return Ok(TreeNodeRecursion::Continue);
                }
                keys = Some(expr.children().into_iter().cloned().collect::<Vec<_>>());
                Ok(TreeNodeRecursion::Stop)
            })
        })?;
        // The scan's predicate reads the file's columns; the semi join reads the scan's output.
        let output = scan.schema();
        let in_output = |key: &Arc<dyn PhysicalExpr>| {
            let column = key.downcast_ref::<Column>()?;
            let index = output.index_of(column.name()).ok()?;
            Some(Arc::new(Column::new(column.name(), index)) as Arc<dyn PhysicalExpr>)
        };
        Ok(keys.and_then(|keys| keys.iter().map(in_output).collect()))
    }

    /// The rows of `scan` whose `keys` match a row of the build side.
    fn semi_join(
        &self,
        scan: Arc<dyn ExecutionPlan>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let build_keys = self.join.on().iter().map(|(build, _)| build.clone());
        let on: Vec<_> = build_keys.zip(keys).collect();
        if on.len() != self.join.on().len() {
            return Ok(scan);
        }
        let semi = HashJoinExec::try_new(
            self.join.left().clone(),
            scan,
            on,
            None,
            &JoinType::RightSemi,
            None,
            PartitionMode::CollectLeft,
            self.join.null_equality(),
            false,
        )?;
        Ok(Arc::new(semi))
    }
}
