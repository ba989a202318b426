//! Event-time windows: [`window`], Spark's `window(timeColumn, "10 minutes")`, as a DataFrame
//! expression and as the SQL function `window`, and the interval strings Spark takes
//! (`"10 minutes"`, `"1 hour 30 minutes"`, `"500 milliseconds"`).

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::compute::kernels::cast::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    ColumnarValue, LogicalPlan, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TypeSignature, Volatility,
};
use datafusion::prelude::{lit, Expr};
use std::sync::Arc;
use std::time::Duration;

/// Parses Spark's interval strings: pairs of a number and a unit (`"10 minutes"`, `"1 hour 30
/// minutes"`, `"interval 5 seconds"`); units from microseconds to weeks, singular or plural.
///
/// # Errors
/// Anything else, with an example of the form.
pub fn parse_interval(text: &str) -> Result<Duration> {
    let bad = || {
        Error::Input(format!(
            "cannot parse the interval {text:?}: write it as Spark does, e.g. \"10 seconds\", \
             \"5 minutes\" or \"1 hour 30 minutes\""
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let words: Vec<&str> = lower
        .strip_prefix("interval")
        .unwrap_or(&lower)
        .split_whitespace()
        .collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    for pair in words.chunks(2) {
        let n: u64 = pair[0].parse().map_err(|_| bad())?;
        let unit = match pair[1].trim_end_matches('s') {
            "microsecond" | "us" => Duration::from_micros(1),
            "millisecond" | "m" => Duration::from_millis(1),
            "" | "second" | "sec" => Duration::from_secs(1),
            "minute" | "min" => Duration::from_secs(60),
            "hour" => Duration::from_secs(3600),
            "day" => Duration::from_secs(86_400),
            "week" => Duration::from_secs(7 * 86_400),
            _ => return Err(bad()),
        };
        total += unit * u32::try_from(n).map_err(|_| bad())?;
    }
    Ok(total)
}

/// An interval literal (Spark's `expr("INTERVAL 10 SECONDS")`), to add to or subtract from a
/// timestamp, as in a stream-stream join's time range:
/// `col("click.time").between(col("view.time"), col("view.time") + interval("1 minute")?)`.
///
/// # Errors
/// `text` is not an interval string (see [`parse_interval`]).
pub fn interval(text: &str) -> Result<Expr> {
    const NANOS_PER_DAY: u128 = 86_400 * 1_000_000_000;
    let nanos = parse_interval(text)?.as_nanos();
    let days = i32::try_from(nanos / NANOS_PER_DAY)
        .map_err(|_| Error::Input(format!("the interval {text:?} is too long")))?;
    let rest = (nanos % NANOS_PER_DAY) as i64;
    Ok(lit(ScalarValue::new_interval_mdn(0, days, rest)))
}

/// The tumbling event-time window of each row (Spark's `window(timeColumn, windowDuration)`):
/// a struct of `start` and `end`, timestamps of `time`'s type, where `start` is `time` rounded
/// down to a multiple of `duration` since the epoch and `end` is `start + duration`. Group by it
/// to count per window; with a watermark on `time`, a streaming query keeps each window's state
/// only until the watermark passes its end.
///
/// ```
/// use datafusion::functions::core::expr_ext::FieldAccessor;
/// use ember_sql::{col, count, lit, window, SqlContextExt};
/// let ctx = ember_core::Context::with_master("local[1]").unwrap();
/// let df = ctx.sql("SELECT to_timestamp('2026-01-01T10:07:30') AS ts").unwrap();
/// let windows = df.group_by(vec![window(col("ts"), "5 minutes").unwrap()])
///     .agg(vec![count(lit(1)).alias("n")]).unwrap()
///     .select(vec![col("window").field("start"), col("n")]).unwrap();
/// assert_eq!(windows.tab_rows(false).unwrap(), "2026-01-01T10:05:00\t1\n");
/// ```
///
/// # Errors
/// `duration` is not an interval string, or is zero.
pub fn window(time: Expr, duration: &str) -> Result<Expr> {
    let size = parse_interval(duration)?;
    if size.is_zero() {
        return Err(Error::Input(format!(
            "the window duration {duration:?} must be greater than 0"
        )));
    }
    Ok(window_udf().call(vec![time, lit(duration)]).alias("window"))
}

/// The sliding event-time windows of each row (Spark's `window(timeColumn, windowDuration,
/// slideDuration)`): windows of `duration` starting every `slide` since the epoch, a row in
/// every window that holds its time. Group by it as by [`window`]: each row counts in each of
/// its windows.
///
/// ```
/// use datafusion::functions::core::expr_ext::FieldAccessor;
/// use ember_sql::{col, count, lit, sliding_window, SqlContextExt};
/// let ctx = ember_core::Context::with_master("local[1]").unwrap();
/// let df = ctx.sql("SELECT to_timestamp('2026-01-01T10:07:30') AS ts").unwrap();
/// let windows = df.group_by(vec![sliding_window(col("ts"), "10 minutes", "5 minutes").unwrap()])
///     .agg(vec![count(lit(1)).alias("n")]).unwrap()
///     .select(vec![col("window").field("start").alias("start"), col("n")]).unwrap()
///     .order_by(vec![col("start").sort(true, true)]).unwrap();
/// assert_eq!(
///     windows.tab_rows(false).unwrap(),
///     "2026-01-01T10:00:00\t1\n2026-01-01T10:05:00\t1\n"
/// );
/// ```
///
/// # Errors
/// An interval does not parse, or is zero, or `slide` is longer than `duration`.
pub fn sliding_window(time: Expr, duration: &str, slide: &str) -> Result<Expr> {
    let size = parse_interval(duration)?;
    let step = parse_interval(slide)?;
    if size.is_zero() || step.is_zero() || step > size {
        return Err(Error::Input(format!(
            "the slide duration {slide:?} must be greater than 0 and at most the window \
             duration {duration:?}"
        )));
    }
    Ok(sliding_udf()
        .call(vec![time, lit(duration), lit(slide)])
        .alias("window"))
}

/// Whether `expr` (perhaps aliased) is a [`sliding_window`].
pub(crate) fn is_sliding(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(alias) => is_sliding(&alias.expr),
        Expr::ScalarFunction(f) => f.func.name() == SLIDING,
        _ => false,
    }
}

/// The name of the function behind [`sliding_window`]: each row's windows, as a list.
const SLIDING: &str = "sliding_windows";

fn sliding_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(SlidingWindows {
        signature: Signature::any(3, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SlidingWindows {
    signature: Signature,
}

impl ScalarUDFImpl for SlidingWindows {
    fn name(&self) -> &str {
        SLIDING
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        let one = TumblingWindow {
            signature: self.signature.clone(),
        }
        .return_type(args)?;
        Ok(DataType::List(Arc::new(Field::new("item", one, true))))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let (times, unit, time_type) = time_argument(&args)?;
        let size = interval_argument(&args.args[1], &unit)?;
        let slide = interval_argument(&args.args[2], &unit)?;
        let raw = cast(&times, &DataType::Int64)?;
        let mut starts = Vec::new();
        let mut offsets = vec![0i32];
        for t in raw.as_primitive::<Int64Type>().iter() {
            if let Some(t) = t {
                // Every window start at a multiple of the slide whose window holds t.
                let mut start = t.div_euclid(slide) * slide;
                let first = starts.len();
                while start + size > t {
                    starts.push(start);
                    start -= slide;
                }
                starts[first..].reverse();
            }
            offsets.push(starts.len() as i32);
        }
        let starts = datafusion::arrow::array::Int64Array::from(starts);
        let windows = windows_of(&starts, size, &time_type, None)?;
        let DataType::List(item) = self.return_type(&[time_type])? else {
            unreachable!("a list")
        };
        let list = datafusion::arrow::array::ListArray::try_new(
            item,
            datafusion::arrow::buffer::OffsetBuffer::new(offsets.into()),
            Arc::new(windows),
            times.nulls().cloned(),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// The time argument's values, unit and type.
fn time_argument(
    args: &ScalarFunctionArgs,
) -> datafusion::error::Result<(ArrayRef, TimeUnit, DataType)> {
    let time_type = args.args[0].data_type();
    let DataType::Timestamp(unit, _) = &time_type else {
        return Err(datafusion::error::DataFusionError::Plan(format!(
            "window() takes a timestamp, not {time_type}"
        )));
    };
    Ok((
        args.args[0].to_array(args.number_rows)?,
        *unit,
        time_type.clone(),
    ))
}

/// An interval argument in `unit`s.
fn interval_argument(value: &ColumnarValue, unit: &TimeUnit) -> datafusion::error::Result<i64> {
    let plan_error = |m: String| datafusion::error::DataFusionError::Plan(m);
    match value {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(text))) => {
            let duration = parse_interval(text).map_err(|e| plan_error(e.to_string()))?;
            let units = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX) / unit_nanos(unit);
            Ok(units.max(1))
        }
        _ => Err(plan_error(
            "window()'s durations must be string literals".into(),
        )),
    }
}

/// Windows `[start, start + size)` of `starts`, as structs of `time_type`.
fn windows_of(
    starts: &datafusion::arrow::array::Int64Array,
    size: i64,
    time_type: &DataType,
    nulls: Option<datafusion::arrow::buffer::NullBuffer>,
) -> datafusion::error::Result<StructArray> {
    let ends: datafusion::arrow::array::Int64Array = starts.unary(|s| s + size);
    let start: ArrayRef = cast(starts, time_type)?;
    let end: ArrayRef = cast(&ends, time_type)?;
    let DataType::Struct(fields) = window_type(time_type) else {
        unreachable!("window_type makes a struct")
    };
    StructArray::try_new(fields, vec![start, end], nulls)
        .map_err(|e| datafusion::error::DataFusionError::ArrowError(Box::new(e), None))
}

/// The SQL function `window(time, 'duration')`, and `window(time, 'duration', 'slide')` in
/// `GROUP BY` (see [`expand_sql_windows`]).
pub(crate) fn window_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(TumblingWindow {
        signature: Signature::one_of(
            vec![TypeSignature::Any(2), TypeSignature::Any(3)],
            Volatility::Immutable,
        ),
    })
}

/// `plan` with its aggregations by `window(time, 'duration', 'slide')` (sliding windows) or
/// `session_window(time, 'gap')` made as the DataFrame API makes them: rows expanded to each of
/// their windows, or sessions found per key, before grouping. SQL's planner sees only the
/// functions; this gives them their meaning.
///
/// # Errors
/// The windows' arguments do not fit the rows.
pub(crate) fn expand_sql_windows(
    session: &Arc<SqlSession>,
    plan: LogicalPlan,
) -> Result<LogicalPlan> {
    let expanded = plan.transform_up(|node| {
        let LogicalPlan::Aggregate(aggregate) = &node else {
            return Ok(Transformed::no(node));
        };
        let windowed = |e: &Expr| is_sql_sliding(e) || super::session::is_session_marker(e);
        if !aggregate.group_expr.iter().any(windowed) {
            return Ok(Transformed::no(node));
        }
        let groups: Vec<Expr> = aggregate.group_expr.iter().map(sliding_of_sql).collect();
        let input = datafusion::dataframe::DataFrame::new(
            session.datafusion.state(),
            aggregate.input.as_ref().clone(),
        );
        let df = DataFrame::new(input, session.clone());
        let (df, expanded) = expand_sliding_windows(df, groups)
            .and_then(|(df, groups)| super::expand_session_windows(df, groups))
            .map_err(|e| datafusion::error::DataFusionError::Plan(e.to_string()))?;
        // A window keeps the name the query above it knows it by.
        let named = expanded
            .into_iter()
            .zip(&aggregate.group_expr)
            .map(|(new, old)| match windowed(old) {
                true => new.unalias().alias(old.schema_name().to_string()),
                false => new,
            })
            .collect::<Vec<_>>();
        let plan = LogicalPlanBuilder::from(df.inner().logical_plan().clone())
            .aggregate(named, aggregate.aggr_expr.clone())?
            .build()?;
        Ok(Transformed::yes(plan))
    })?;
    Ok(expanded.data)
}

/// Whether `expr` is SQL's `window(time, 'duration', 'slide')`.
fn is_sql_sliding(expr: &Expr) -> bool {
    matches!(expr.clone().unalias(), Expr::ScalarFunction(f) if f.name() == "window" && f.args.len() == 3)
}

/// `expr` with SQL's sliding `window(...)` as the function [`sliding_window`] calls.
fn sliding_of_sql(expr: &Expr) -> Expr {
    match expr.clone().unalias() {
        Expr::ScalarFunction(f) if is_sql_sliding(expr) => sliding_udf().call(f.args),
        _ => expr.clone(),
    }
}

/// The struct type of a window over timestamps of `time`.
pub(crate) fn window_type(time: &DataType) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("start", time.clone(), true),
        Field::new("end", time.clone(), true),
    ]))
}

/// The length of one `unit` in nanoseconds.
fn unit_nanos(unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TumblingWindow {
    signature: Signature,
}

impl ScalarUDFImpl for TumblingWindow {
    fn name(&self) -> &str {
        "window"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        match args.first() {
            Some(time @ DataType::Timestamp(_, _)) => Ok(window_type(time)),
            other => Err(datafusion::error::DataFusionError::Plan(format!(
                "window() takes a timestamp column, not {}; cast it with to_timestamp first",
                other.map(ToString::to_string).unwrap_or_default()
            ))),
        }
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        if args.args.len() == 3 {
            return Err(datafusion::error::DataFusionError::Plan(
                "window(time, duration, slide) gives each row several windows: group by it".into(),
            ));
        }
        let (times, unit, time_type) = time_argument(&args)?;
        let size = interval_argument(&args.args[1], &unit)?;
        let raw = cast(&times, &DataType::Int64)?;
        let starts: datafusion::arrow::array::Int64Array = raw
            .as_primitive::<Int64Type>()
            .unary(|t| t.div_euclid(size) * size);
        let windows = windows_of(&starts, size, &time_type, times.nulls().cloned())?;
        Ok(ColumnarValue::Array(Arc::new(windows)))
    }
}

/// The event time of each row as milliseconds since the epoch: a timestamp column's value, or
/// a window's `end` (what a watermark is compared with).
///
/// # Errors
/// The column is neither.
pub(crate) fn event_millis(column: &ArrayRef) -> Result<datafusion::arrow::array::Int64Array> {
    let time = match column.data_type() {
        DataType::Struct(_) => column
            .as_struct()
            .column_by_name("end")
            .cloned()
            .ok_or_else(|| Error::Input("a window struct has no end".into()))?,
        _ => column.clone(),
    };
    let DataType::Timestamp(unit, _) = time.data_type() else {
        return Err(Error::Input(format!(
            "the event-time column is {}, not a timestamp: give with_watermark a timestamp \
             column (to_timestamp(...))",
            time.data_type()
        )));
    };
    let per_milli = 1_000_000 / unit_nanos(unit).min(1_000_000);
    let nanos_per_unit = unit_nanos(unit);
    let raw = cast(&time, &DataType::Int64)?;
    Ok(raw.as_primitive::<Int64Type>().unary(|t| {
        if nanos_per_unit >= 1_000_000 {
            t * (nanos_per_unit / 1_000_000)
        } else {
            t.div_euclid(per_milli)
        }
    }))
}

/// `df` with a row per window of each row for the first [`sliding_window`] among `groups`, in
/// column `window`, and `groups` with that window as `col("window")`: what grouping by sliding
/// windows means (Spark expands the rows the same way).
///
/// # Errors
/// The window's arguments do not fit `df`.
pub(crate) fn expand_sliding_windows(
    df: DataFrame,
    groups: Vec<Expr>,
) -> Result<(DataFrame, Vec<Expr>)> {
    let Some(at) = groups.iter().position(is_sliding) else {
        return Ok((df, groups));
    };
    let windows = match &groups[at] {
        Expr::Alias(alias) => (*alias.expr).clone(),
        other => other.clone(),
    };
    let expanded = df
        .inner()
        .clone()
        .with_column(WINDOWS, windows)?
        .unnest_columns(&[WINDOWS])?
        .with_column_renamed(WINDOWS, "window")?;
    let mut groups = groups;
    groups[at] = datafusion::prelude::col("window");
    Ok((df.with(expanded), groups))
}

/// The column of each row's windows while they are expanded.
const WINDOWS: &str = "__windows";
