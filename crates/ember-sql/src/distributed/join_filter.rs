//! Dynamic join filters inside a stage's task.
//!
//! A hash join pushes a filter made from its build side (the keys it holds and their bounds)
//! down into the scan of its probe side, which then skips the row groups and rows that cannot
//! match: DataFusion's dynamic join filter. The join fills the filter in once every partition
//! of its probe side has reported, a barrier across the partitions of the plan. A task runs
//! one partition of its copy of the plan, so the other partitions would never report.
//!
//! In a task, each such join therefore runs partition by partition: partition `p` of the join
//! is a join of one partition, over partition `p` of its probe side (and of its build side,
//! when that is partitioned too), whose barrier is that partition alone. The filter it fills
//! is the one the scan below already holds, so the scan prunes as it does in one process.

use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use std::sync::Arc;

/// `plan` with each hash join that fills a dynamic filter run one partition at a time.
///
/// # Errors
/// A node of the plan refuses its new children.
pub(crate) fn per_partition_joins(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let fills_filter = node
            .downcast_ref::<HashJoinExec>()
            .is_some_and(|join| !join.dynamic_expressions_produced().is_empty());
        Ok(if fills_filter {
            Transformed::yes(Arc::new(PerPartitionJoinExec { join: node }) as _)
        } else {
            Transformed::no(node)
        })
    })
    .data()
}

/// A hash join whose partition `p` is a one-partition copy of it over partition `p` of its
/// inputs.
#[derive(Debug)]
struct PerPartitionJoinExec {
    join: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for PerPartitionJoinExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "PerPartitionJoinExec")
    }
}

/// The methods of a node over the one input in its field `$input`, with no expressions of
/// its own.
macro_rules! over_one_input {
    ($name:literal, $input:ident) => {
        fn name(&self) -> &str {
            $name
        }

        fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
            vec![&self.$input]
        }

        $crate::distributed::stage::no_expressions!();
    };
}

/// The one child of a node over one input.
fn only_child(
    mut children: Vec<Arc<dyn ExecutionPlan>>,
    node: &str,
) -> Result<Arc<dyn ExecutionPlan>> {
    match (children.pop(), children.is_empty()) {
        (Some(child), true) => Ok(child),
        _ => Err(DataFusionError::Internal(format!("{node} takes one child"))),
    }
}

impl ExecutionPlan for PerPartitionJoinExec {
    over_one_input!("PerPartitionJoinExec", join);

    fn properties(&self) -> &Arc<PlanProperties> {
        self.join.properties()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let join = only_child(children, self.name())?;
        Ok(Arc::new(PerPartitionJoinExec { join }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let join = self.join.downcast_ref::<HashJoinExec>().ok_or_else(|| {
            DataFusionError::Internal(
                "PerPartitionJoinExec over a plan that is not a hash join".into(),
            )
        })?;
        let one = |input: &Arc<dyn ExecutionPlan>| {
            Arc::new(PartitionExec::new(input.clone(), partition)) as Arc<dyn ExecutionPlan>
        };
        // A collected build side is whole in every partition; a partitioned one is split as
        // the probe side is.
        let left = match join.partition_mode() {
            PartitionMode::Partitioned => one(join.left()),
            _ => join.left().clone(),
        };
        // The copy keeps the join's filter and its build side, collected once for all the
        // partitions this task runs; its barrier (made on first execution) counts one partition.
        let narrowed = join
            .builder()
            .with_new_children(vec![left, one(join.right())])?
            .build()?;
        narrowed.execute(0, context)
    }
}

/// Partition `partition` of `input`, as a plan of one partition.
#[derive(Debug)]
struct PartitionExec {
    input: Arc<dyn ExecutionPlan>,
    partition: usize,
    properties: Arc<PlanProperties>,
}

impl PartitionExec {
    fn new(input: Arc<dyn ExecutionPlan>, partition: usize) -> Self {
        // Hash partitioned stays so (into one partition): a partitioned join's filter is made
        // per hash partition, and this one partition holds all of its rows.
        let partitioning = match input.properties().output_partitioning() {
            Partitioning::Hash(keys, _) => Partitioning::Hash(keys.clone(), 1),
            _ => Partitioning::UnknownPartitioning(1),
        };
        let properties = input
            .properties()
            .as_ref()
            .clone()
            .with_partitioning(partitioning);
        PartitionExec {
            input,
            partition,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for PartitionExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "PartitionExec: partition={}", self.partition)
    }
}

impl ExecutionPlan for PartitionExec {
    over_one_input!("PartitionExec", input);

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = only_child(children, self.name())?;
        Ok(Arc::new(PartitionExec::new(input, self.partition)))
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(self.partition, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::common::{JoinType, NullEquality};
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::physical_expr::expressions::{col, lit, DynamicFilterPhysicalExpr};
    use datafusion::physical_plan::common::collect;
    use datafusion::physical_plan::filter::FilterExec;
    use datafusion::prelude::SessionContext;
    use std::time::Duration;

    /// A join of one build partition {1, 2} with a probe side of two partitions, {1, 5} and
    /// {2, 6}, whose filter (the dynamic filter) reads what the join fills in.
    fn join_with_dynamic_filter() -> (Arc<dyn ExecutionPlan>, Arc<DynamicFilterPhysicalExpr>) {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let batch = |keys: Vec<i64>| {
            let keys = Arc::new(Int64Array::from(keys));
            vec![RecordBatch::try_new(schema.clone(), vec![keys]).unwrap()]
        };
        let build = MemorySourceConfig::try_new_exec(&[batch(vec![1, 2])], schema.clone(), None);
        let probe = [batch(vec![1, 5]), batch(vec![2, 6])];
        let probe = MemorySourceConfig::try_new_exec(&probe, schema.clone(), None).unwrap();
        let key = col("k", &schema).unwrap();
        let filter = Arc::new(DynamicFilterPhysicalExpr::new(vec![key.clone()], lit(true)));
        let probe = FilterExec::try_new(filter.clone(), probe).unwrap();
        let join = HashJoinExec::try_new(
            build.unwrap(),
            Arc::new(probe),
            vec![(key.clone(), key)],
            None,
            &JoinType::Inner,
            None,
            PartitionMode::CollectLeft,
            NullEquality::NullEqualsNothing,
            false,
        )
        .and_then(|join| join.with_dynamic_filter_expr(filter.clone()))
        .unwrap();
        (Arc::new(join), filter)
    }

    /// Partition 1 of `plan`, unless it takes longer than `wait`.
    async fn run_partition_1(
        plan: &Arc<dyn ExecutionPlan>,
        wait: Duration,
    ) -> Option<Vec<RecordBatch>> {
        let task = SessionContext::new().task_ctx();
        let rows = collect(plan.execute(1, task).unwrap());
        tokio::time::timeout(wait, rows)
            .await
            .ok()
            .map(|rows| rows.unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_running_one_partition_of_a_join_fills_its_dynamic_filter() {
        // As DataFusion runs it, partition 1 waits for partition 0's report, which never
        // comes in a task of partition 1.
        let (join, _) = join_with_dynamic_filter();
        let waits = run_partition_1(&join, Duration::from_secs(1)).await;
        assert!(waits.is_none());

        let (join, filter) = join_with_dynamic_filter();
        let join = per_partition_joins(join).unwrap();
        let rows = run_partition_1(&join, Duration::from_secs(60)).await;
        let rows = rows.expect("partition 1 runs alone");
        let total: usize = rows.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(total, 1, "probe row 2 matches, 6 does not");
        let current = filter.current().unwrap().to_string();
        assert_ne!(
            current, "true",
            "the filter was filled in from the build side"
        );
    }
}
