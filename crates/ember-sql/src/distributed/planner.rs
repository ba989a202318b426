//! Cutting a DataFusion physical plan into stages.
//!
//! The plan is walked from the leaves up. Each node that moves rows between partitions ends a
//! stage: a `RepartitionExec` (hash or round-robin) becomes an exchange whose map side is the
//! stage below it; a `CoalescePartitionsExec` or `SortPreservingMergeExec` keeps its place in
//! the next stage, reading every partition of an exchange that carries its input unchanged
//! (partition `p` to partition `p`). In the plan above, the cut is replaced by a
//! [`ShuffleReaderExec`]. What is left at the top is the result stage, whose rows return to the
//! driver.
//!
//! A join whose build side is collected into one partition (DataFusion's `CollectLeft`) thus
//! reads the whole small side in every task of its stage: the broadcast join.

use super::codec::encode_plan;
use super::exchange::{exchange_spec, ExchangeRecord, ShuffleReaderExec};
use super::locality::scan_hosts;
use super::rdd_scan::RddScanExec;
use super::runtime_filter::{
    filter_scans_across_stages, RuntimeFilterExec, CREATION_SIDE_THRESHOLD,
};
use super::stage::{SqlStageRdd, StageOutput};
use crate::session::SqlSession;
use datafusion::common::{JoinType, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::memory::LazyMemoryExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::scalar_subquery::ScalarSubqueryExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::Partitioning;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use ember_core::rdd::{Dependency, RddRef};
use ember_core::shuffle::{ShuffleDependency, ShuffleDependencyBase};
use ember_core::Context;
use std::collections::HashMap;
use std::sync::Arc;

/// Plans the stages of one query.
pub(crate) struct StagePlanner<'a> {
    ctx: &'a Context,
    session: &'a SqlSession,
    exchanges: HashMap<usize, Arc<dyn ShuffleDependencyBase>>,
    /// `ember.sql.optimizer.runtimeFilter.creationSideThreshold`; 0 when runtime filters are off.
    runtime_filter_threshold: u64,
}

impl<'a> StagePlanner<'a> {
    /// The result stage of `plan`, its parent stages planned behind it.
    ///
    /// # Errors
    /// `NotImplemented` when part of the plan cannot run on executors (a table in the driver's
    /// memory, an order-preserving repartition): the query then runs on the driver.
    pub(crate) fn plan(
        ctx: &'a Context,
        session: &'a SqlSession,
        plan: Arc<dyn ExecutionPlan>,
    ) -> Result<SqlStageRdd> {
        let runtime_filter_threshold = ctx
            .conf()
            .require(&CREATION_SIDE_THRESHOLD)
            .map_err(|e| DataFusionError::Configuration(e.to_string()))?;
        let mut planner = StagePlanner {
            ctx,
            session,
            exchanges: HashMap::new(),
            runtime_filter_threshold,
        };
        let root = planner.cut(plan)?;
        planner.stage(root, StageOutput::Result)
    }

    fn cut(&mut self, plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(subqueries) = plan.downcast_ref::<ScalarSubqueryExec>() {
            // Computed first, as jobs of their own; their values then travel inside the
            // fragments that use them (see `codec`).
            for link in subqueries.subqueries() {
                let value = self.scalar(link.plan.clone())?;
                subqueries.results().set(link.index, value)?;
            }
            return self.cut(subqueries.input().clone());
        }
        let plan = match plan.downcast_ref::<HashJoinExec>() {
            Some(join) if self.runtime_filter_threshold > 0 => {
                filter_scans_across_stages(join, drops_unmatched_probe_rows(join))?.unwrap_or(plan)
            }
            _ => plan,
        };
        let children = match plan.downcast_ref::<HashJoinExec>() {
            Some(join) if self.filters_probe(join) => self.cut_filtered_join(join)?,
            _ => {
                let children = plan.children().into_iter().cloned();
                children.map(|c| self.cut(c)).collect::<Result<Vec<_>>>()?
            }
        };
        let plan = replace_children_if_necessary(plan, children)?;
        let plan = self.partition_join(plan)?;
        if let Some(exchange) = plan.downcast_ref::<RepartitionExec>() {
            if exchange.preserve_order() {
                return Err(DataFusionError::NotImplemented(
                    "an order-preserving repartition".into(),
                ));
            }
            return self.exchange(plan, StageOutput::Repartitioned);
        }
        if plan.is::<CoalescePartitionsExec>() || plan.is::<SortPreservingMergeExec>() {
            let input = plan.children()[0].clone();
            if input.is::<ShuffleReaderExec>() || input.output_partitioning().partition_count() <= 1
            {
                return Ok(plan);
            }
            let reader = self.exchange(input, StageOutput::Kept)?;
            return replace_children_if_necessary(plan, vec![reader]);
        }
        Ok(plan)
    }

    /// The value of an uncorrelated scalar subquery: NULL without rows, an error with more
    /// than one (as DataFusion has it).
    fn scalar(&self, plan: Arc<dyn ExecutionPlan>) -> Result<ScalarValue> {
        let data_type = plan.schema().field(0).data_type().clone();
        let batches = super::run_stages(self.ctx, self.session, plan)?;
        let mut rows = batches.iter().filter(|b| b.num_rows() > 0);
        match (rows.next(), rows.next()) {
            (None, _) => ScalarValue::try_from(&data_type),
            (Some(batch), None) if batch.num_rows() == 1 => {
                ScalarValue::try_from_array(batch.column(0), 0)
            }
            _ => Err(DataFusionError::Execution(
                "Scalar subquery returned more than one row".into(),
            )),
        }
    }

    /// A hash join that collects its build side whole and must see every probe partition to
    /// know which build rows never matched (left, full, semi, anti and mark joins on the left)
    /// becomes a partitioned join: in a stage each task sees one probe partition only. Before
    /// its shuffle the probe side sheds the rows that cannot match (see [`matching_probe_rows`]).
    fn partition_join(&mut self, plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(join) = plan.downcast_ref::<HashJoinExec>() else {
            return Ok(plan);
        };
        let partitions = join.right().output_partitioning().partition_count();
        let unmatched_build_rows = matches!(
            join.join_type(),
            JoinType::Left
                | JoinType::Full
                | JoinType::LeftSemi
                | JoinType::LeftAnti
                | JoinType::LeftMark
        );
        if *join.partition_mode() != PartitionMode::CollectLeft
            || !unmatched_build_rows
            || partitions <= 1
        {
            return Ok(plan);
        }
        // The build side was gathered into one partition for the join; spread it again.
        let mut left = join.left().clone();
        if left.is::<CoalescePartitionsExec>() {
            left = left.children()[0].clone();
        }
        let (left_keys, right_keys): (Vec<_>, Vec<_>) = join.on().iter().cloned().unzip();
        let left = RepartitionExec::try_new(left, Partitioning::Hash(left_keys, partitions))?;
        let left = self.exchange(Arc::new(left), StageOutput::Repartitioned)?;
        let probe = if *join.join_type() == JoinType::Full || join.null_aware {
            join.right().clone()
        } else {
            matching_probe_rows(join, &left, join.right())?
        };
        let right = RepartitionExec::try_new(probe, Partitioning::Hash(right_keys, partitions))?;
        let right = self.exchange(Arc::new(right), StageOutput::Repartitioned)?;
        join.builder()
            .with_partition_mode(PartitionMode::Partitioned)
            .with_new_children(vec![left, right])?
            .reset_state()
            .build_exec()
    }

    /// Whether `join` is partitioned by exchanges on both sides, and its probe side's rows
    /// that match no build row change nothing: its probe side then gets a runtime filter.
    fn filters_probe(&self, join: &HashJoinExec) -> bool {
        let shuffled = |side: &Arc<dyn ExecutionPlan>| {
            side.downcast_ref::<RepartitionExec>().is_some_and(|r| {
                !r.preserve_order() && matches!(r.partitioning(), Partitioning::Hash(..))
            })
        };
        self.runtime_filter_threshold > 0
            && *join.partition_mode() == PartitionMode::Partitioned
            && drops_unmatched_probe_rows(join)
            && shuffled(join.left())
            && shuffled(join.right())
    }

    /// The children of `join` (see [`Self::filters_probe`]) as exchanges, the probe side's map
    /// stage filtered by the build side's exchange (see [`super::runtime_filter`]).
    fn cut_filtered_join(&mut self, join: &HashJoinExec) -> Result<Vec<Arc<dyn ExecutionPlan>>> {
        let build = self.cut(join.left().clone())?;
        let build_shuffle = build
            .downcast_ref::<ShuffleReaderExec>()
            .map(ShuffleReaderExec::shuffle_id)
            .ok_or_else(|| DataFusionError::Internal("a build side that is no exchange".into()))?;
        let shuffle = join
            .right()
            .downcast_ref::<RepartitionExec>()
            .ok_or_else(|| {
                DataFusionError::Internal("a probe side that is no repartition".into())
            })?;
        let probe = self.cut(shuffle.input().clone())?;
        let filtered = matching_probe_rows(join, &build, &probe)?;
        let threshold = self.runtime_filter_threshold;
        let probe = RuntimeFilterExec::new(build_shuffle, threshold, filtered, probe);
        let probe = RepartitionExec::try_new(Arc::new(probe), shuffle.partitioning().clone())?;
        let probe = self.exchange(Arc::new(probe), StageOutput::Repartitioned)?;
        Ok(vec![build, probe])
    }

    /// Makes `fragment` the map side of a new exchange; returns the reader that replaces it.
    fn exchange(
        &mut self,
        fragment: Arc<dyn ExecutionPlan>,
        output: StageOutput,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Reduce partition p of the exchange is partition p of what it replaces.
        let properties = fragment.properties().clone();
        let partitions = properties.partitioning.partition_count();
        let stage = self.stage(fragment, output)?;
        let shuffle_id = self.ctx.new_shuffle_id();
        let dependency = ShuffleDependency {
            rdd: RddRef::<ExchangeRecord>(Arc::new(stage)),
            spec: exchange_spec(shuffle_id, partitions),
        };
        self.exchanges.insert(shuffle_id, Arc::new(dependency));
        Ok(Arc::new(ShuffleReaderExec::new(shuffle_id, properties)))
    }

    /// The stage that runs `fragment`.
    fn stage(&self, fragment: Arc<dyn ExecutionPlan>, output: StageOutput) -> Result<SqlStageRdd> {
        let computed = match output {
            // The exchange itself routes; its input is what the tasks compute.
            StageOutput::Repartitioned => fragment.children()[0].clone(),
            StageOutput::Kept | StageOutput::Result => fragment.clone(),
        };
        let tasks = computed.output_partitioning().partition_count();
        let session = self.session;
        let locations = scan_hosts(session.env(), &computed, tasks);
        refuse_unsendable(&fragment)?;
        let mut parents = Vec::new();
        self.parents_of(&fragment, &mut parents);
        let bytes = encode_plan(fragment).map_err(|e| {
            DataFusionError::NotImplemented(format!("a plan that cannot be sent: {e}"))
        })?;
        let core = self.ctx.new_rdd_core("sql_stage");
        Ok(SqlStageRdd::new(
            core, bytes, tasks, output, parents, locations,
        ))
    }

    /// The exchanges and RDDs `plan` reads.
    fn parents_of(&self, plan: &Arc<dyn ExecutionPlan>, found: &mut Vec<Dependency>) {
        if let Some(reader) = plan.downcast_ref::<ShuffleReaderExec>() {
            let exchange = self.exchanges.get(&reader.shuffle_id()).cloned();
            found.extend(exchange.map(Dependency::Shuffle));
        }
        if let Some(scan) = plan.downcast_ref::<RddScanExec>() {
            found.push(Dependency::Narrow(scan.source().rdd()));
        }
        for child in plan.children() {
            self.parents_of(child, found);
        }
    }
}

/// Whether the rows of `join`'s probe side that match no build row add nothing to its output.
fn drops_unmatched_probe_rows(join: &HashJoinExec) -> bool {
    match join.join_type() {
        JoinType::Inner
        | JoinType::Left
        | JoinType::LeftSemi
        | JoinType::LeftMark
        | JoinType::RightSemi => true,
        JoinType::LeftAnti => !join.null_aware,
        _ => false,
    }
}

/// The rows of `probe` (`join`'s probe side) that match a row of its build side (on the keys
/// and the join's filter), `build` being the build side's exchange, read whole: the rows only
/// the probe side has change nothing in a join that drops them, or keeps the build side's rows,
/// and the shuffle is spared them. Not for a full join, which keeps them, nor a null-aware
/// anti join, emptied by a NULL key.
///
/// The probe's scan keeps the join's dynamic filter, which this join fills (see
/// [`super::join_filter`]).
fn matching_probe_rows(
    join: &HashJoinExec,
    build: &Arc<dyn ExecutionPlan>,
    probe: &Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let build = Arc::new(CoalescePartitionsExec::new(build.clone()));
    join.builder()
        .with_type(JoinType::RightSemi)
        .with_partition_mode(PartitionMode::CollectLeft)
        .with_projection(None)
        .with_fetch(None)
        .recompute_properties()
        .with_new_children(vec![build, probe.clone()])?
        .build_exec()
}

/// Refuses nodes that DataFusion's serialization would change: a generated table
/// (`generate_series`) read without columns, only to count rows, loses its projection.
fn refuse_unsendable(plan: &Arc<dyn ExecutionPlan>) -> Result<()> {
    if plan.is::<LazyMemoryExec>() && plan.schema().fields().is_empty() {
        return Err(DataFusionError::NotImplemented(
            "a generated table read without columns".into(),
        ));
    }
    plan.children().into_iter().try_for_each(refuse_unsendable)
}
