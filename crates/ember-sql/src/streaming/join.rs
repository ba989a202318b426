//! Joins of two streams (Spark's stream-stream join, `StreamingSymmetricHashJoinExec`).
//!
//! Each side keeps the rows it has seen in a state store. A batch's new rows of one side are
//! joined with the other side's stored rows and new rows, so every pair of matching rows is
//! output once, in the batch where its later row arrives; DataFusion's own join runs each
//! step, so any join condition a batch query takes works here too.
//!
//! The watermark bounds the state. Rows whose event time is at or before it are late and are
//! dropped on arrival; and a stored row goes once no future row of the other side can match it,
//! which the join condition must show: either an event-time column among the equality keys
//! (`l.window = r.window`), or a range over the other side's event time (`l.time BETWEEN
//! r.time AND r.time + INTERVAL 1 HOUR`): a future right row is later than the watermark, so a
//! left row older than the watermark less that hour cannot match one. Outer joins output a
//! row with nulls for the other side when its unmatched row leaves the state, which is why they
//! need such a condition on their outer side.

use super::checks::is_window_type;
use super::query::rows_as_plan;
use super::state::{StateStore, StoreLayout};
use super::stateful::StateMetrics;
use super::window::event_millis;
use crate::error::{Error, Result};
use datafusion::arrow::array::{
    new_null_array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt64Array,
};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, not, or};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use datafusion::common::{Column, DFSchema, DFSchemaRef, ScalarValue};
use datafusion::logical_expr::expr::{Between, BinaryExpr};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, Join, JoinType, LogicalPlan, Operator};
use ember_core::Context;
use std::collections::HashSet;
use std::sync::Arc;

const LEFT: usize = 0;
const RIGHT: usize = 1;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// A stored row of one side can go once its event time `column` plus `slack_ms` is at or
/// before the watermark: every future row of the other side is later than the watermark, and
/// the join condition asks it to be at most `slack_ms` after this row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    column: usize,
    slack_ms: i64,
}

/// What a stream-stream join needs of its condition, found when the query starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JoinSpec {
    /// Per side, when its stored rows can go; none: they stay.
    bounds: [Vec<Bound>; 2],
    /// Per side, its event-time columns, by which late rows are dropped.
    event_columns: [Vec<usize>; 2],
}

impl JoinSpec {
    /// The bounds `join`'s condition gives, where `watermarked` are the columns the query's
    /// watermarks are on.
    pub(crate) fn new(join: &Join, watermarked: &[String]) -> JoinSpec {
        let sides = [join.left.schema(), join.right.schema()];
        let is_event_time = |side: usize, index: usize| {
            let field = sides[side].field(index);
            watermarked.contains(field.name())
                || (!watermarked.is_empty() && is_window_type(field.data_type()))
        };
        let mut spec = JoinSpec::default();
        for (side, schema) in sides.iter().enumerate() {
            spec.event_columns[side] = (0..schema.fields().len())
                .filter(|i| is_event_time(side, *i))
                .collect();
        }
        let side_of = |column: &Column| {
            let found = sides.map(|s| s.index_of_column(column).ok());
            match found {
                [Some(i), None] => Some((LEFT, i)),
                [None, Some(i)] => Some((RIGHT, i)),
                _ => None,
            }
        };
        for (a, op, b) in comparisons(join) {
            let (Some((ca, oa)), Some((cb, ob))) = (time_term(&a), time_term(&b)) else {
                continue;
            };
            let (Some(a), Some(b)) = (side_of(ca), side_of(cb)) else {
                continue;
            };
            if a.0 == b.0 {
                continue;
            }
            // `earlier + its offset <= later + its offset`: the earlier side's rows are at
            // most (later offset - earlier offset) after the later side's.
            let mut bound = |earlier: (usize, usize), eo: i64, later: (usize, usize), lo: i64| {
                if is_event_time(earlier.0, earlier.1) {
                    spec.bounds[later.0].push(Bound {
                        column: later.1,
                        slack_ms: lo - eo,
                    });
                }
            };
            match op {
                Operator::Lt | Operator::LtEq => bound(a, oa, b, ob),
                Operator::Gt | Operator::GtEq => bound(b, ob, a, oa),
                Operator::Eq => {
                    bound(a, oa, b, ob);
                    bound(b, ob, a, oa);
                }
                _ => {}
            }
        }
        spec
    }

    /// Whether a watermark ever removes state.
    pub(crate) fn evicts(&self) -> bool {
        self.bounds.iter().any(|b| !b.is_empty())
    }

    /// Refuses what Spark refuses: an outer side whose rows would never leave the state, and
    /// join types a stream-stream join does not have.
    ///
    /// # Errors
    /// As above, with Spark's message.
    pub(crate) fn check(&self, join_type: JoinType) -> Result<()> {
        let outer: &[usize] = match join_type {
            JoinType::Inner | JoinType::LeftSemi => &[],
            JoinType::Left => &[LEFT],
            JoinType::Right => &[RIGHT],
            JoinType::Full => &[LEFT, RIGHT],
            other => {
                return Err(Error::Input(format!(
                    "{other} join between two streaming DataFrames/Datasets is not supported; \
                     inner, left outer, right outer, full outer and left semi joins are"
                )))
            }
        };
        if outer.iter().any(|side| self.bounds[*side].is_empty()) {
            return Err(Error::Input(format!(
                "Stream-stream {} join between two streaming DataFrame/Datasets is not \
                 supported without a watermark in the join keys, or a watermark on the \
                 nullable side and an appropriate range condition",
                spark_join_name(join_type)
            )));
        }
        Ok(())
    }
}

fn spark_join_name(join_type: JoinType) -> &'static str {
    match join_type {
        JoinType::Left => "LeftOuter",
        JoinType::Right => "RightOuter",
        JoinType::Full => "FullOuter",
        _ => "Inner",
    }
}

/// The comparisons `join`'s condition is a conjunction of: its equality keys, and the
/// comparisons and `BETWEEN`s of its filter.
fn comparisons(join: &Join) -> Vec<(Expr, Operator, Expr)> {
    let mut out: Vec<(Expr, Operator, Expr)> = join
        .on
        .iter()
        .map(|(l, r)| (l.clone(), Operator::Eq, r.clone()))
        .collect();
    let Some(filter) = &join.filter else {
        return out;
    };
    for conjunct in split_conjunction(filter) {
        match conjunct {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                out.push((left.as_ref().clone(), *op, right.as_ref().clone()));
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                out.push((expr.as_ref().clone(), Operator::GtEq, low.as_ref().clone()));
                out.push((expr.as_ref().clone(), Operator::LtEq, high.as_ref().clone()));
            }
            _ => {}
        }
    }
    out
}

/// A column plus or minus constant intervals, as the column and the offset in milliseconds.
fn time_term(expr: &Expr) -> Option<(&Column, i64)> {
    match expr {
        Expr::Column(column) => Some((column, 0)),
        Expr::Alias(alias) => time_term(&alias.expr),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (column, offset) = time_term(left)?;
            let interval = interval_millis(right)?;
            match op {
                Operator::Plus => Some((column, offset + interval)),
                Operator::Minus => Some((column, offset - interval)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A constant interval or duration in milliseconds; none for months, whose length varies.
fn interval_millis(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
            Some(i64::from(v.days) * MILLIS_PER_DAY + v.nanoseconds / 1_000_000)
        }
        ScalarValue::IntervalDayTime(Some(v)) => {
            Some(i64::from(v.days) * MILLIS_PER_DAY + i64::from(v.milliseconds))
        }
        ScalarValue::DurationSecond(Some(s)) => Some(s * 1000),
        ScalarValue::DurationMillisecond(Some(ms)) => Some(*ms),
        ScalarValue::DurationMicrosecond(Some(us)) => Some(us / 1000),
        ScalarValue::DurationNanosecond(Some(ns)) => Some(ns / 1_000_000),
        _ => None,
    }
}

/// Runs a logical plan to its rows.
pub(crate) type RunPlan<'a> = dyn Fn(&LogicalPlan) -> Result<Vec<RecordBatch>> + 'a;

/// One batch's input to a stream-stream join.
pub(crate) struct JoinInput<'a> {
    /// The join node of the query's plan.
    pub(crate) join: &'a Join,
    /// The batch's new rows of the left and right side.
    pub(crate) rows: [Vec<RecordBatch>; 2],
    pub(crate) watermark_ms: Option<i64>,
    /// The batch's id, which numbers the rows it stores.
    pub(crate) batch: i64,
}

/// A stream-stream join's two stores, each holding a side's rows as `__id`, the side's columns,
/// and `__matched` (whether the row has met a match, which outer joins need).
pub(crate) struct StreamJoin {
    spec: Arc<JoinSpec>,
    layouts: [StoreLayout; 2],
    load_version: i64,
    stores: Option<[StateStore; 2]>,
    pub(crate) metrics: StateMetrics,
}

/// A side's columns, all nullable, as the store and the join's rows hold them.
fn side_schema(plan: &LogicalPlan) -> SchemaRef {
    let fields: Vec<Field> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields))
}

fn store_schema(side: &Schema) -> SchemaRef {
    let mut fields = vec![Field::new("__id", DataType::UInt64, false)];
    fields.extend(side.fields().iter().map(|f| f.as_ref().clone()));
    fields.push(Field::new("__matched", DataType::Boolean, false));
    Arc::new(Schema::new(fields))
}

fn ids(rows: &RecordBatch) -> &UInt64Array {
    rows.column(0).as_primitive::<UInt64Type>()
}

fn matched(rows: &RecordBatch) -> &BooleanArray {
    rows.column(rows.num_columns() - 1).as_boolean()
}

/// A store's rows with `matched` set for the ids in `now_matched`.
fn mark_matched(rows: &RecordBatch, now_matched: &HashSet<u64>) -> Result<RecordBatch> {
    let flags: BooleanArray = ids(rows)
        .values()
        .iter()
        .zip(matched(rows).iter())
        .map(|(id, was)| Some(was == Some(true) || now_matched.contains(id)))
        .collect();
    let mut columns = rows.columns().to_vec();
    *columns.last_mut().expect("a store row has columns") = Arc::new(flags);
    Ok(RecordBatch::try_new(rows.schema(), columns)?)
}

impl StreamJoin {
    pub(crate) fn new(spec: Arc<JoinSpec>, layout: &StoreLayout, load_version: i64) -> Self {
        let side = |name: &str| StoreLayout {
            dir: format!("{}/{name}", layout.dir),
            ..layout.clone()
        };
        StreamJoin {
            spec,
            layouts: [side("left"), side("right")],
            load_version,
            stores: None,
            metrics: StateMetrics {
                partitions: layout.partitions,
                ..StateMetrics::default()
            },
        }
    }

    /// The join's output for one batch: the pairs its new rows make, and, for outer joins,
    /// the unmatched rows that leave the state, with nulls for the other side.
    ///
    /// # Errors
    /// The join fails, or the state cannot be read.
    pub(crate) fn run(
        &mut self,
        ctx: &Context,
        input: JoinInput<'_>,
        run: &RunPlan<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let join = input.join;
        let schemas = [side_schema(&join.left), side_schema(&join.right)];
        let stores_schemas = [store_schema(&schemas[0]), store_schema(&schemas[1])];
        if self.stores.is_none() {
            let load = |side: usize| {
                StateStore::load(
                    ctx,
                    self.layouts[side].clone(),
                    stores_schemas[side].clone(),
                    1,
                    self.load_version,
                )
            };
            self.stores = Some([load(LEFT)?, load(RIGHT)?]);
        }
        let mut dropped = 0;
        let mut new = Vec::with_capacity(2);
        for (side, rows) in input.rows.iter().enumerate() {
            let rows = concat_batches(&schemas[side], rows)?;
            let (rows, late) = self.drop_late(side, rows, input.watermark_ms)?;
            dropped += late;
            new.push(numbered(&rows, side, input.batch, &stores_schemas[side])?);
        }
        let stores = self.stores.as_mut().expect("loaded above");
        let old = [stores[LEFT].all()?, stores[RIGHT].all()?];
        let both_right = concat_batches(&stores_schemas[RIGHT], [&old[RIGHT], &new[RIGHT]])?;
        let plans = [join.left.schema(), join.right.schema()];
        let pairs = [
            inner_pairs(join, &plans, &new[LEFT], &both_right, run)?,
            inner_pairs(join, &plans, &old[LEFT], &new[RIGHT], run)?,
        ];
        let left_width = schemas[LEFT].fields().len();
        let mut now_matched = [HashSet::new(), HashSet::new()];
        for batch in pairs.iter().flatten() {
            let right_id = batch.num_columns() - 1;
            for (side, column) in [(LEFT, left_width), (RIGHT, right_id)] {
                let column = batch.column(column).as_primitive::<UInt64Type>();
                now_matched[side].extend(column.values().iter().copied());
            }
        }
        let mut output = match join.join_type {
            JoinType::LeftSemi => {
                let unmatched = |rows: &RecordBatch| -> Result<RecordBatch> {
                    let first_match: BooleanArray = ids(rows)
                        .values()
                        .iter()
                        .zip(matched(rows).iter())
                        .map(|(id, was)| Some(was != Some(true) && now_matched[LEFT].contains(id)))
                        .collect();
                    Ok(side_columns(&filter_record_batch(rows, &first_match)?))
                };
                vec![unmatched(&new[LEFT])?, unmatched(&old[LEFT])?]
            }
            _ => pairs
                .into_iter()
                .flatten()
                .map(|b| without_ids(&b, left_width))
                .collect(),
        };
        for side in [LEFT, RIGHT] {
            let store = &mut stores[side];
            store.put(&mark_matched(&new[side], &now_matched[side])?)?;
            let changed = mark_matched(&old[side], &now_matched[side])?;
            let flipped = not(&arrow_eq(matched(&changed), matched(&old[side]))?)?;
            store.put(&filter_record_batch(&changed, &flipped)?)?;
        }
        if let Some(watermark) = input.watermark_ms {
            output.extend(self.evict(join.join_type, &schemas, watermark)?);
        }
        self.note_metrics(dropped);
        Ok(output)
    }

    /// `rows` without those whose event time is at or before the watermark, and how many
    /// were dropped.
    fn drop_late(
        &self,
        side: usize,
        rows: RecordBatch,
        watermark_ms: Option<i64>,
    ) -> Result<(RecordBatch, usize)> {
        let Some(watermark) = watermark_ms else {
            return Ok((rows, 0));
        };
        let columns = &self.spec.event_columns[side];
        if columns.is_empty() {
            return Ok((rows, 0));
        }
        let late = any_at_or_before(&rows, columns.iter().map(|c| (*c, 0)), watermark)?;
        let kept = filter_record_batch(&rows, &not(&late)?)?;
        Ok((kept, late.true_count()))
    }

    /// Removes the stored rows no future row can match; the unmatched ones of an outer side,
    /// with nulls for the other side's columns.
    fn evict(
        &mut self,
        join_type: JoinType,
        schemas: &[SchemaRef; 2],
        watermark: i64,
    ) -> Result<Vec<RecordBatch>> {
        let stores = self.stores.as_mut().expect("loaded before eviction");
        let mut output = Vec::new();
        for side in [LEFT, RIGHT] {
            let bounds = &self.spec.bounds[side];
            if bounds.is_empty() {
                continue;
            }
            // Stored rows hold `__id` first.
            let terms = || bounds.iter().map(|b| (b.column + 1, b.slack_ms));
            let removed =
                stores[side].remove_where(|rows| any_at_or_before(rows, terms(), watermark))?;
            let outer = matches!(
                (join_type, side),
                (JoinType::Left | JoinType::Full, LEFT) | (JoinType::Right | JoinType::Full, RIGHT)
            );
            if !outer {
                continue;
            }
            let unmatched = filter_record_batch(&removed, &not(matched(&removed))?)?;
            let rows = side_columns(&unmatched);
            let nulls = |schema: &SchemaRef| -> Vec<ArrayRef> {
                schema
                    .fields()
                    .iter()
                    .map(|f| new_null_array(f.data_type(), rows.num_rows()))
                    .collect()
            };
            let columns = if side == LEFT {
                [rows.columns().to_vec(), nulls(&schemas[RIGHT])].concat()
            } else {
                [nulls(&schemas[LEFT]), rows.columns().to_vec()].concat()
            };
            let joined: Vec<Field> = schemas[LEFT]
                .fields()
                .iter()
                .chain(schemas[RIGHT].fields())
                .map(|f| f.as_ref().clone())
                .collect();
            output.push(RecordBatch::try_new(
                Arc::new(Schema::new(joined)),
                columns,
            )?);
        }
        Ok(output)
    }

    fn note_metrics(&mut self, dropped: usize) {
        let stores = self.stores.as_ref().expect("loaded before metrics");
        let mut metrics = StateMetrics {
            rows_dropped_by_watermark: dropped,
            partitions: self.metrics.partitions,
            ..StateMetrics::default()
        };
        for store in stores {
            let (updated, removed) = store.changed();
            metrics.rows_total += store.len();
            metrics.rows_updated += updated;
            metrics.rows_removed += removed;
            metrics.memory_used_bytes += store.memory_used();
        }
        self.metrics = metrics;
    }

    /// Writes both sides' state as version `version`.
    ///
    /// # Errors
    /// The state cannot be written.
    pub(crate) fn commit(&mut self, version: i64) -> Result<()> {
        for store in self.stores.iter_mut().flatten() {
            store.commit(version)?;
        }
        Ok(())
    }
}

fn arrow_eq(a: &BooleanArray, b: &BooleanArray) -> Result<BooleanArray> {
    Ok(datafusion::arrow::compute::kernels::cmp::eq(a, b)?)
}

/// A side's new rows as the store holds them: numbered by batch and position (the same
/// numbers when a batch is redone), not yet matched.
fn numbered(
    rows: &RecordBatch,
    side: usize,
    batch: i64,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let base = ((batch as u64) << 33) | ((side as u64) << 32);
    let ids: UInt64Array = (0..rows.num_rows() as u64).map(|i| base | i).collect();
    let mut columns: Vec<ArrayRef> = vec![Arc::new(ids)];
    columns.extend(rows.columns().iter().cloned());
    columns.push(Arc::new(BooleanArray::from(vec![false; rows.num_rows()])));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A store's rows without `__id` and `__matched`.
fn side_columns(rows: &RecordBatch) -> RecordBatch {
    rows.project(&(1..rows.num_columns() - 1).collect::<Vec<_>>())
        .expect("the side's columns are within the row")
}

/// A pair's columns without the two sides' ids.
fn without_ids(pair: &RecordBatch, left_width: usize) -> RecordBatch {
    let keep: Vec<usize> = (0..pair.num_columns())
        .filter(|i| *i != left_width && *i != pair.num_columns() - 1)
        .collect();
    pair.project(&keep)
        .expect("the pair's columns are within the row")
}

/// Whether each row has some `(column, slack)` whose event time plus slack is at or before
/// `watermark`.
fn any_at_or_before(
    rows: &RecordBatch,
    terms: impl Iterator<Item = (usize, i64)>,
    watermark: i64,
) -> Result<BooleanArray> {
    let mut any = BooleanArray::from(vec![false; rows.num_rows()]);
    for (column, slack) in terms {
        let times = event_millis(rows.column(column))?;
        let old: BooleanArray = times
            .iter()
            .map(|t| Some(t.is_some_and(|t| t + slack <= watermark)))
            .collect();
        any = or(&any, &old)?;
    }
    Ok(any)
}

/// The inner join of two sides' stored rows, as `join` joins them: the left columns, the left
/// id, the right columns, the right id.
fn inner_pairs(
    join: &Join,
    schemas: &[&DFSchemaRef; 2],
    left: &RecordBatch,
    right: &RecordBatch,
    run: &RunPlan<'_>,
) -> Result<Vec<RecordBatch>> {
    if left.num_rows() == 0 || right.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let inputs = vec![
        side_plan(schemas[LEFT], "__left_id", left)?,
        side_plan(schemas[RIGHT], "__right_id", right)?,
    ];
    let inner = LogicalPlan::Join(Join {
        join_type: JoinType::Inner,
        ..join.clone()
    });
    let plan = inner.with_new_exprs(inner.expressions(), inputs)?;
    run(&plan)
}

/// A plan of a store's rows with the side's columns (and qualifiers) and its id as `id_name`.
fn side_plan(schema: &DFSchemaRef, id_name: &str, rows: &RecordBatch) -> Result<LogicalPlan> {
    let id = DFSchema::try_from(Schema::new(vec![Field::new(
        id_name,
        DataType::UInt64,
        false,
    )]))?;
    let extended = Arc::new(schema.join(&id)?);
    let mut columns = side_columns(rows).columns().to_vec();
    columns.push(rows.column(0).clone());
    let fields: Vec<Field> = extended
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    rows_as_plan(vec![batch], &extended)
}
