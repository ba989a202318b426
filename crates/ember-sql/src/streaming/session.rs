//! Session windows (Spark's `session_window(timeColumn, gapDuration)`): a key's rows whose
//! times are less than the gap apart make one session, from its first row's time to its last
//! row's time plus the gap.
//!
//! Grouping by [`session_window`] finds each batch's sessions with window functions over the
//! rows sorted by time within each key (a row starts a new session where the gap since the row
//! before is at least the gap); a streaming query then merges them with the sessions its state
//! holds for the same keys, since a late-arriving row can join two sessions into one, and
//! re-aggregates the merged ones from their stored partial states.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch, StructArray};
use datafusion::arrow::compute::kernels::cast::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    when, ColumnarValue, ExprFunctionExt, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, WindowFunctionDefinition,
};
use datafusion::prelude::{col, lit, Expr};
use std::collections::HashSet;
use std::sync::Arc;

/// The name of the session column, as Spark calls it.
pub(crate) const SESSION_COLUMN: &str = "session_window";
/// The prefix of the working columns that find sessions.
pub(crate) const WORKING: &str = "__session_";

/// The session window of each row (Spark's `session_window(timeColumn, gapDuration)`): group
/// by it, with other keys or none, and each group is one session: rows of a key whose times are
/// less than `gap` apart, the session a struct of `start` (the first row's time) and `end` (the
/// last row's time plus `gap`). With a watermark on `time`, a streaming query outputs a session
/// in append mode once the watermark passes its end.
///
/// ```
/// use datafusion::functions::core::expr_ext::FieldAccessor;
/// use ember_sql::{col, count, lit, session_window, SqlContextExt};
/// let ctx = ember_core::Context::with_master("local[1]").unwrap();
/// let df = ctx.sql(
///     "SELECT to_timestamp(t) AS ts FROM (VALUES ('2026-01-01T10:00:00'), \
///      ('2026-01-01T10:04:00'), ('2026-01-01T10:20:00')) AS v(t)",
/// ).unwrap();
/// let sessions = df.group_by(vec![session_window(col("ts"), "5 minutes").unwrap()])
///     .agg(vec![count(lit(1)).alias("n")]).unwrap()
///     .select(vec![col("session_window").field("end").alias("end"), col("n")]).unwrap()
///     .order_by(vec![col("end").sort(true, true)]).unwrap();
/// assert_eq!(
///     sessions.tab_rows(false).unwrap(),
///     "2026-01-01T10:09:00\t2\n2026-01-01T10:25:00\t1\n"
/// );
/// ```
///
/// # Errors
/// `gap` is not an interval string, or is zero.
pub fn session_window(time: Expr, gap: &str) -> Result<Expr> {
    if super::parse_interval(gap)?.is_zero() {
        return Err(Error::Input(format!(
            "the session gap {gap:?} must be greater than 0"
        )));
    }
    Ok(session_udf()
        .call(vec![time, lit(gap)])
        .alias(SESSION_COLUMN))
}

/// What [`session_window`] returns: a mark for `group_by`, which finds the sessions; it has
/// no value of its own.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SessionMarker {
    signature: Signature,
}

const MARKER: &str = "session_window";

impl ScalarUDFImpl for SessionMarker {
    fn name(&self) -> &str {
        MARKER
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        match args.first() {
            Some(time @ DataType::Timestamp(_, _)) => Ok(super::window::window_type(time)),
            other => Err(datafusion::error::DataFusionError::Plan(format!(
                "session_window() takes a timestamp column, not {}",
                other.map(ToString::to_string).unwrap_or_default()
            ))),
        }
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> datafusion::error::Result<ColumnarValue> {
        Err(datafusion::error::DataFusionError::Plan(
            "session_window(...) is a grouping key: use it in group_by(...)".into(),
        ))
    }
}

/// The SQL function `session_window(time, 'gap')`, for `GROUP BY`.
pub(crate) fn session_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(SessionMarker {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

/// Whether `expr` is a [`session_window`].
pub(crate) fn is_session_marker(expr: &Expr) -> bool {
    session_arguments(expr).is_some()
}

/// The time and gap of a [`session_window`] expression.
fn session_arguments(expr: &Expr) -> Option<(Expr, String)> {
    match expr {
        Expr::Alias(alias) => session_arguments(&alias.expr),
        Expr::ScalarFunction(f) if f.name() == MARKER => match f.args.as_slice() {
            [time, Expr::Literal(ScalarValue::Utf8(Some(gap)), _)] => {
                Some((time.clone(), gap.clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `df` with each row's session in column `session_window`, and `groups` with that column
/// for the [`session_window`] among them; the other groups are the keys sessions are per.
///
/// # Errors
/// More than one session window, or arguments that do not fit `df`.
pub(crate) fn expand_session_windows(
    df: DataFrame,
    groups: Vec<Expr>,
) -> Result<(DataFrame, Vec<Expr>)> {
    let found: Vec<usize> = (0..groups.len())
        .filter(|i| session_arguments(&groups[*i]).is_some())
        .collect();
    let at = match found.as_slice() {
        [] => return Ok((df, groups)),
        [at] => *at,
        _ => return Err(Error::Input("group by one session_window at most".into())),
    };
    let (time, gap) = session_arguments(&groups[at]).expect("found above");
    let gap = super::interval(&gap)?;
    let keys: Vec<Expr> = groups
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, e)| e.clone())
        .collect();
    let name = |n: &str| format!("{WORKING}{n}");
    let (t, prev, new, number) = (name("time"), name("prev"), name("new"), name("number"));
    let by_time = vec![col(&t).sort(true, false)];
    let lag = datafusion::functions_window::expr_fn::lag(col(&t), Some(1), None)
        .partition_by(keys.clone())
        .order_by(by_time.clone())
        .build()?;
    let starts = when(
        col(&prev)
            .is_null()
            .or(col(&t).gt_eq(col(&prev) + gap.clone())),
        lit(1i64),
    )
    .otherwise(lit(0i64))?;
    let numbers = over(sum_udaf(), &new, keys.clone(), by_time)?;
    let mut per_session = keys.clone();
    per_session.push(col(&number));
    let first = over(min_udaf(), &t, per_session.clone(), Vec::new())?;
    let last = over(max_udaf(), &t, per_session, Vec::new())?;
    let session = datafusion::functions::core::expr_fn::named_struct(vec![
        lit("start"),
        col(name("start")),
        lit("end"),
        col(name("last")) + gap,
    ]);
    let expanded = df
        .inner()
        .clone()
        .with_column(&t, time)?
        .window(vec![lag.alias(&prev)])?
        .with_column(&new, starts)?
        .window(vec![numbers.alias(&number)])?
        .window(vec![first.alias(name("start")), last.alias(name("last"))])?
        .with_column(SESSION_COLUMN, session)?;
    let mut groups = groups;
    groups[at] = col(SESSION_COLUMN);
    Ok((df.with(expanded), groups))
}

/// An aggregate function of column `column` as a window function.
fn over(
    function: Arc<datafusion::logical_expr::AggregateUDF>,
    column: &str,
    partition: Vec<Expr>,
    order: Vec<datafusion::logical_expr::SortExpr>,
) -> Result<Expr> {
    let window = WindowFunction::new(
        WindowFunctionDefinition::AggregateUDF(function),
        vec![col(column)],
    );
    let builder = Expr::from(window).partition_by(partition);
    let builder = if order.is_empty() {
        builder
    } else {
        builder.order_by(order)
    };
    Ok(builder.build()?)
}

/// Whether `expr` is one of the window functions that find sessions.
pub(crate) fn is_working_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Alias(alias) if alias.name.starts_with(WORKING))
}

/// The key columns of `rows` other than the session, `keys` of them first, as comparable rows.
fn other_keys(rows: &RecordBatch, keys: usize, session: usize) -> Result<RowConverter> {
    let fields = (0..keys)
        .filter(|i| *i != session)
        .map(|i| SortField::new(rows.schema().field(i).data_type().clone()))
        .collect();
    Ok(RowConverter::new(fields)?)
}

fn other_key_columns(rows: &RecordBatch, keys: usize, session: usize) -> Vec<ArrayRef> {
    (0..keys)
        .filter(|i| *i != session)
        .map(|i| rows.column(i).clone())
        .collect()
}

/// For each row of `all`, whether some row of `new` has the same keys but the session.
///
/// # Errors
/// The key columns differ in type.
pub(crate) fn same_keys(
    all: &RecordBatch,
    new: &RecordBatch,
    keys: usize,
    session: usize,
) -> Result<BooleanArray> {
    let converter = other_keys(new, keys, session)?;
    let wanted = converter.convert_columns(&other_key_columns(new, keys, session))?;
    let wanted: HashSet<_> = wanted.iter().collect();
    let stored = converter.convert_columns(&other_key_columns(all, keys, session))?;
    Ok(stored.iter().map(|r| Some(wanted.contains(&r))).collect())
}

/// `rows` with each row's session (column `session`) widened to the union of the sessions of
/// its keys that overlap it, so that grouping merges them.
///
/// # Errors
/// The session column is not a window of timestamps.
pub(crate) fn merge_sessions(
    rows: &RecordBatch,
    keys: usize,
    session: usize,
) -> Result<RecordBatch> {
    let windows = rows.column(session).as_struct();
    let bound = |name: &str| -> Result<(ArrayRef, Vec<i64>)> {
        let column = windows
            .column_by_name(name)
            .ok_or_else(|| Error::Input(format!("a session has no {name}")))?
            .clone();
        let raw = cast(&column, &DataType::Int64)?;
        let values = raw.as_primitive::<Int64Type>().values().to_vec();
        Ok((column, values))
    };
    let ((start_column, starts), (end_column, ends)) = (bound("start")?, bound("end")?);
    let converter = other_keys(rows, keys, session)?;
    let key_rows = converter.convert_columns(&other_key_columns(rows, keys, session))?;
    let mut order: Vec<usize> = (0..rows.num_rows()).collect();
    order.sort_by(|a, b| {
        key_rows
            .row(*a)
            .cmp(&key_rows.row(*b))
            .then(starts[*a].cmp(&starts[*b]))
    });
    let (mut merged_starts, mut merged_ends) = (starts.clone(), ends.clone());
    let mut members: Vec<usize> = Vec::new();
    let mut flush = |members: &mut Vec<usize>, start: i64, end: i64| {
        for m in members.drain(..) {
            merged_starts[m] = start;
            merged_ends[m] = end;
        }
    };
    let (mut start, mut end) = (0, 0);
    for (n, &i) in order.iter().enumerate() {
        let joins = n > 0 && key_rows.row(order[n - 1]) == key_rows.row(i) && starts[i] < end;
        if !joins {
            flush(&mut members, start, end);
            start = starts[i];
            end = ends[i];
        }
        end = end.max(ends[i]);
        members.push(i);
    }
    flush(&mut members, start, end);
    let typed = |values: Vec<i64>, like: &ArrayRef| -> Result<ArrayRef> {
        let raw: ArrayRef = Arc::new(datafusion::arrow::array::Int64Array::from(values));
        Ok(cast(&raw, like.data_type())?)
    };
    let merged = StructArray::try_new(
        windows.fields().clone(),
        vec![
            typed(merged_starts, &start_column)?,
            typed(merged_ends, &end_column)?,
        ],
        None,
    )?;
    let mut columns = rows.columns().to_vec();
    columns[session] = Arc::new(merged);
    Ok(RecordBatch::try_new(rows.schema(), columns)?)
}
