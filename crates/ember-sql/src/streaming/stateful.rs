//! The stateful parts of a streaming plan: the event-time watermark ([`EventTimeWatermark`],
//! Spark's `withWatermark`), streaming aggregations ([`StatefulAggregate`]) and stream
//! deduplication ([`StreamDeduplicate`]), each with its state ([`StatefulOperator`]).
//!
//! A streaming aggregation runs in three steps of DataFusion's own aggregate operator, so every
//! aggregate function DataFusion has works as it does in a batch query: the batch's rows are
//! aggregated to partial states (`Partial`); those are merged with the states the store holds
//! for the same groups (`PartialReduce`) and stored; and the groups to output are finished
//! (`Final`): the groups this batch changed (output mode update), every group (complete), or the
//! groups the watermark has passed, which then leave the store (append).

use super::checks::{OperatorKind, StatefulNode};
use super::join::{JoinInput, RunPlan, StreamJoin};
use super::session::{merge_sessions, same_keys};
use super::state::{at_or_before, StateStore, StoreLayout};
use super::window::event_millis;
use super::OutputMode;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int8Array, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, not};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchemaRef;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNodeCore};
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::Expr;
use ember_core::Context;
use std::sync::Arc;

/// Spark's `EventTimeWatermark`: rows pass unchanged; the query tracks the largest event time
/// in `column` and holds state only until that time less `delay_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
pub(crate) struct EventTimeWatermark {
    pub(crate) input: LogicalPlan,
    pub(crate) column: String,
    pub(crate) delay_ms: i64,
}

impl UserDefinedLogicalNodeCore for EventTimeWatermark {
    fn name(&self) -> &str {
        "EventTimeWatermark"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "EventTimeWatermark: {}, delay {} ms",
            self.column, self.delay_ms
        )
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> datafusion::error::Result<Self> {
        Ok(EventTimeWatermark {
            input: inputs.swap_remove(0),
            column: self.column.clone(),
            delay_ms: self.delay_ms,
        })
    }
}

/// A session state that plans aggregations as `Partial` then `Final` operators, never merged
/// into one `Single` operator, so that the query can keep the partial states between.
pub(crate) fn two_phase_planner(session: &SqlSession) -> SessionState {
    let state = session.datafusion.state();
    let rules = state
        .physical_optimizers()
        .iter()
        .filter(|r| r.name() != "CombinePartialFinalAggregate")
        .cloned()
        .collect();
    SessionStateBuilder::new_from_existing(state)
        .with_physical_optimizer_rules(rules)
        .build()
}

/// What the state operator did in one batch, for progress reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateMetrics {
    pub(crate) rows_total: usize,
    pub(crate) rows_updated: usize,
    pub(crate) rows_removed: usize,
    pub(crate) rows_dropped_by_watermark: usize,
    pub(crate) memory_used_bytes: usize,
    pub(crate) partitions: usize,
}

/// A streaming aggregation's state and how it outputs.
pub(crate) struct StatefulAggregate {
    layout: StoreLayout,
    /// The version to load on the first batch: the state the last committed batch left.
    load_version: i64,
    store: Option<StateStore>,
    /// The group key that holds event time (the watermarked column, or a window over it).
    event_key: Option<usize>,
    /// The group key that holds session windows, which merge across batches.
    session_key: Option<usize>,
    mode: OutputMode,
    pub(crate) metrics: StateMetrics,
}

impl StatefulAggregate {
    pub(crate) fn new(
        layout: StoreLayout,
        load_version: i64,
        node: &StatefulNode,
        mode: OutputMode,
    ) -> Self {
        let (event_key, session_key) = (node.event_key, node.session_key);
        StatefulAggregate {
            session_key,
            metrics: StateMetrics {
                partitions: layout.partitions,
                ..StateMetrics::default()
            },
            layout,
            load_version,
            store: None,
            event_key,
            mode,
        }
    }

    /// Runs `aggregate` (an `Aggregate` over the batch's rows) against the state: returns the
    /// rows to output, of the aggregate's columns.
    ///
    /// # Errors
    /// The aggregation fails, or the state cannot be read.
    pub(crate) fn run(
        &mut self,
        ctx: &Context,
        session: &SqlSession,
        planner: &SessionState,
        aggregate: &LogicalPlan,
        watermark_ms: Option<i64>,
    ) -> Result<Vec<RecordBatch>> {
        let plan = session.block_on(planner.create_physical_plan(aggregate))?;
        let (last, partial) = phases(&plan).ok_or_else(|| {
            Error::Input(format!(
                "this aggregation cannot keep state across batches: {}",
                aggregate.display()
            ))
        })?;
        let task = session.datafusion.task_ctx();
        let partial_schema = partial.schema();
        let new = session.block_on(collect(partial.clone(), task.clone()))?;
        let mut new = concat_batches(&partial_schema, &new)?;
        let keys = last.group_expr().expr().len();
        if self.store.is_none() {
            let store = StateStore::load(
                ctx,
                self.layout.clone(),
                partial_schema.clone(),
                keys,
                self.load_version,
            )?;
            self.store = Some(store);
        }
        let store = self.store.as_mut().expect("loaded above");
        let mut dropped = 0;
        if let (Some(key), Some(watermark)) = (self.event_key, watermark_ms) {
            let late = at_or_before(&new, key, watermark)?;
            dropped = late.true_count();
            new = filter_record_batch(&new, &not(&late)?)?;
        }
        let both = match self.session_key {
            None => {
                let old = store.get(&new)?;
                concat_batches(&partial_schema, [&old, &new])?
            }
            Some(session) => {
                // The key's stored sessions leave the store; the merged ones come back.
                let old = store.remove_where(|all| same_keys(all, &new, keys, session))?;
                let both = concat_batches(&partial_schema, [&old, &new])?;
                merge_sessions(&both, keys, session)?
            }
        };
        let merged = run_phase(
            session,
            last,
            AggregateMode::PartialReduce,
            both,
            &partial_schema,
        )?;
        store.put(&merged)?;
        let finished = match self.mode {
            OutputMode::Update => merged,
            OutputMode::Complete => store.all()?,
            OutputMode::Append => RecordBatch::new_empty(partial_schema.clone()),
        };
        let evicted = match (self.event_key, watermark_ms, self.mode) {
            (_, _, OutputMode::Complete) | (None, _, _) | (_, None, _) => {
                RecordBatch::new_empty(partial_schema.clone())
            }
            (Some(key), Some(watermark), _) => {
                store.remove_where(|rows| at_or_before(rows, key, watermark))?
            }
        };
        let out = if self.mode == OutputMode::Append {
            evicted
        } else {
            finished
        };
        let (updated, removed) = store.changed();
        self.metrics = StateMetrics {
            rows_total: store.len(),
            rows_updated: updated,
            rows_removed: removed,
            rows_dropped_by_watermark: dropped,
            memory_used_bytes: store.memory_used(),
            partitions: self.layout.partitions,
        };
        let output = run_phase(session, last, AggregateMode::Final, out, &partial_schema)?;
        Ok(vec![output])
    }

    /// Writes the state as version `version` (the batch's id plus one, as Spark numbers them).
    ///
    /// # Errors
    /// The state cannot be written.
    pub(crate) fn commit(&mut self, version: i64) -> Result<()> {
        match self.store.as_mut() {
            Some(store) => store.commit(version),
            None => Ok(()),
        }
    }
}

/// The last aggregate operator of `plan` (`Final` or `FinalPartitioned`) and the `Partial` one
/// below it.
fn phases(plan: &Arc<dyn ExecutionPlan>) -> Option<(&AggregateExec, Arc<dyn ExecutionPlan>)> {
    let mut node = plan;
    let last = loop {
        let any: &dyn std::any::Any = node.as_ref();
        if let Some(aggregate) = any.downcast_ref::<AggregateExec>() {
            if matches!(
                aggregate.mode(),
                AggregateMode::Final | AggregateMode::FinalPartitioned
            ) {
                break aggregate;
            }
            return None;
        }
        node = node.children().into_iter().next()?;
    };
    let mut below = last.input();
    loop {
        let any: &dyn std::any::Any = below.as_ref();
        if let Some(aggregate) = any.downcast_ref::<AggregateExec>() {
            return (*aggregate.mode() == AggregateMode::Partial).then(|| (last, below.clone()));
        }
        below = below.children().into_iter().next()?;
    }
}

/// Runs `last`'s aggregation in `mode` over `rows`, partial states of `schema`.
fn run_phase(
    session: &SqlSession,
    last: &AggregateExec,
    mode: AggregateMode,
    rows: RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let input = MemorySourceConfig::try_new_exec(&[vec![rows]], schema.clone(), None)?;
    let phase = AggregateExec::try_new(
        mode,
        last.group_expr().clone(),
        last.aggr_expr().to_vec(),
        last.filter_expr().to_vec(),
        input,
        last.input_schema(),
    )?;
    let out_schema = phase.schema();
    let batches = session.block_on(collect(Arc::new(phase), session.datafusion.task_ctx()))?;
    Ok(concat_batches(&out_schema, &batches)?)
}

/// Spark's `Deduplicate`: each row whose `columns` hold values no earlier row had; with a
/// watermark on one of them, rows older than the watermark are dropped and the values seen are
/// forgotten once the watermark passes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
pub(crate) struct StreamDeduplicate {
    pub(crate) input: LogicalPlan,
    pub(crate) columns: Vec<String>,
}

impl UserDefinedLogicalNodeCore for StreamDeduplicate {
    fn name(&self) -> &str {
        "Deduplicate"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Deduplicate: {}", self.columns.join(", "))
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> datafusion::error::Result<Self> {
        Ok(StreamDeduplicate {
            input: inputs.swap_remove(0),
            columns: self.columns.clone(),
        })
    }
}

/// A stateful operator of a streaming plan and its state.
pub(crate) struct StatefulOperator {
    node: StatefulNode,
    layout: StoreLayout,
    load_version: i64,
    mode: OutputMode,
    aggregate: Option<StatefulAggregate>,
    /// The values deduplication has seen.
    seen: Option<StateStore>,
    join: Option<StreamJoin>,
    metrics: StateMetrics,
}

impl StatefulOperator {
    pub(crate) fn new(
        node: StatefulNode,
        layout: StoreLayout,
        load_version: i64,
        mode: OutputMode,
    ) -> Self {
        StatefulOperator {
            metrics: StateMetrics {
                partitions: layout.partitions,
                ..StateMetrics::default()
            },
            node,
            layout,
            load_version,
            mode,
            aggregate: None,
            seen: None,
            join: None,
        }
    }

    /// Spark's name of the operator in progress reports.
    pub(crate) fn name(&self) -> &'static str {
        match self.node.kind {
            OperatorKind::Aggregate => "stateStoreSave",
            OperatorKind::Deduplicate => "dedupe",
            OperatorKind::Join => "symmetricHashJoin",
        }
    }

    pub(crate) fn metrics(&self) -> &StateMetrics {
        match (&self.aggregate, &self.join) {
            (Some(aggregate), _) => &aggregate.metrics,
            (_, Some(join)) => &join.metrics,
            _ => &self.metrics,
        }
    }

    /// Runs a join of two streams (see [`StreamJoin::run`]).
    ///
    /// # Errors
    /// As `StreamJoin::run`.
    pub(crate) fn join(
        &mut self,
        ctx: &Context,
        input: JoinInput<'_>,
        run: &RunPlan<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let spec = self.node.join.clone().unwrap_or_default();
        let (layout, version) = (&self.layout, self.load_version);
        self.join
            .get_or_insert_with(|| StreamJoin::new(spec, layout, version))
            .run(ctx, input, run)
    }

    /// Runs an aggregation (see [`StatefulAggregate::run`]).
    ///
    /// # Errors
    /// As `StatefulAggregate::run`.
    pub(crate) fn aggregate(
        &mut self,
        ctx: &Context,
        session: &SqlSession,
        planner: &SessionState,
        aggregate: &LogicalPlan,
        watermark_ms: Option<i64>,
    ) -> Result<Vec<RecordBatch>> {
        let (layout, version, mode) = (self.layout.clone(), self.load_version, self.mode);
        let node = &self.node;
        self.aggregate
            .get_or_insert_with(|| StatefulAggregate::new(layout, version, node, mode))
            .run(ctx, session, planner, aggregate, watermark_ms)
    }

    /// The rows of `input` whose values of `node.columns` no earlier row had.
    ///
    /// # Errors
    /// A column is missing, or the state cannot be read.
    pub(crate) fn deduplicate(
        &mut self,
        ctx: &Context,
        node: &StreamDeduplicate,
        input: Vec<RecordBatch>,
        watermark_ms: Option<i64>,
    ) -> Result<Vec<RecordBatch>> {
        let schema = Arc::new(node.input.schema().as_arrow().clone());
        let rows = concat_batches(&schema, &input)?;
        let indices = node
            .columns
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| Error::Input(format!("drop_duplicates: no column {c}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut fields: Vec<Field> = indices.iter().map(|i| schema.field(*i).clone()).collect();
        fields.push(Field::new("seen", DataType::Int8, false));
        let key_schema = Arc::new(Schema::new(fields));
        if self.seen.is_none() {
            let keys = indices.len();
            let store = StateStore::load(
                ctx,
                self.layout.clone(),
                key_schema.clone(),
                keys,
                self.load_version,
            )?;
            self.seen = Some(store);
        }
        let store = self.seen.as_mut().expect("loaded above");
        let key_columns: Vec<ArrayRef> = indices.iter().map(|i| rows.column(*i).clone()).collect();
        let mut keep = store.unseen(&key_columns)?;
        let mut dropped = 0;
        if let (Some(key), Some(watermark)) = (self.node.event_key, watermark_ms) {
            let times = event_millis(&key_columns[key])?;
            for (i, t) in times.iter().enumerate() {
                if keep[i] && t.is_some_and(|t| t <= watermark) {
                    keep[i] = false;
                    dropped += 1;
                }
            }
        }
        let keep = BooleanArray::from(keep);
        let mut kept_keys: Vec<ArrayRef> = key_columns
            .iter()
            .map(|c| datafusion::arrow::compute::filter(c, &keep))
            .collect::<std::result::Result<_, _>>()?;
        kept_keys.push(Arc::new(Int8Array::from(vec![1i8; keep.true_count()])));
        store.put(&RecordBatch::try_new(key_schema, kept_keys)?)?;
        if let (Some(key), Some(watermark)) = (self.node.event_key, watermark_ms) {
            store.remove_where(|seen| at_or_before(seen, key, watermark))?;
        }
        let (updated, removed) = store.changed();
        self.metrics = StateMetrics {
            rows_total: store.len(),
            rows_updated: updated,
            rows_removed: removed,
            rows_dropped_by_watermark: dropped,
            memory_used_bytes: store.memory_used(),
            partitions: self.layout.partitions,
        };
        Ok(vec![filter_record_batch(&rows, &keep)?])
    }

    /// Writes the state as version `version`.
    ///
    /// # Errors
    /// The state cannot be written.
    pub(crate) fn commit(&mut self, version: i64) -> Result<()> {
        if let Some(aggregate) = &mut self.aggregate {
            aggregate.commit(version)?;
        }
        if let Some(join) = &mut self.join {
            join.commit(version)?;
        }
        match &mut self.seen {
            Some(store) => store.commit(version),
            None => Ok(()),
        }
    }
}
