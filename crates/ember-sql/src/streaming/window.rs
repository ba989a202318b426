//! Event-time windows: [`window`], Spark's `window(timeColumn, "10 minutes")`, as a DataFrame
//! expression and as the SQL function `window`, and the interval strings Spark takes
//! (`"10 minutes"`, `"1 hour 30 minutes"`, `"500 milliseconds"`).

use crate::error::{Error, Result};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::compute::kernels::cast::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
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

/// The SQL function `window(time, 'duration')`.
pub(crate) fn window_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(TumblingWindow {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

/// The struct type of a window over timestamps of `time`.
fn window_type(time: &DataType) -> DataType {
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
        let plan_error = |m: String| datafusion::error::DataFusionError::Plan(m);
        let duration = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(text))) => {
                parse_interval(text).map_err(|e| plan_error(e.to_string()))?
            }
            _ => {
                return Err(plan_error(
                    "window()'s duration must be a string literal".into(),
                ))
            }
        };
        let time_type = args.args[0].data_type();
        let DataType::Timestamp(unit, _) = &time_type else {
            return Err(plan_error(format!(
                "window() takes a timestamp, not {time_type}"
            )));
        };
        let size = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX) / unit_nanos(unit);
        let times = args.args[0].to_array(args.number_rows)?;
        let raw = cast(&times, &DataType::Int64)?;
        let raw = raw.as_primitive::<Int64Type>();
        let starts: datafusion::arrow::array::Int64Array =
            raw.unary(|t| t.div_euclid(size.max(1)) * size.max(1));
        let ends: datafusion::arrow::array::Int64Array = starts.unary(|s| s + size);
        let as_time = |a: &dyn Array| cast(a, &time_type);
        let start: ArrayRef = as_time(&starts)?;
        let end: ArrayRef = as_time(&ends)?;
        let DataType::Struct(fields) = window_type(&time_type) else {
            unreachable!("window_type makes a struct")
        };
        let windows = StructArray::try_new(fields, vec![start, end], times.nulls().cloned())?;
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
