//! What a streaming plan may do, checked when the query starts (Spark's
//! `UnsupportedOperationChecker`), with Spark's messages, and what the query needs to know of
//! its stateful parts.

use super::join::JoinSpec;
use super::query::streaming_table;
use super::session::{is_working_column, SESSION_COLUMN};
use super::stateful::{EventTimeWatermark, StreamDeduplicate};
use super::OutputMode;
use crate::error::{Error, Result};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, Join, JoinType, LogicalPlan};
use std::sync::Arc;

/// What a stateful operator of the plan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperatorKind {
    /// A streaming aggregation.
    Aggregate,
    /// Stream deduplication (`drop_duplicates`).
    Deduplicate,
    /// A join of two streams.
    Join,
}

/// A stateful operator of the plan: its kind and which of its key columns holds event time
/// (a group key, or a deduplication column), if any; for a join, what its condition bounds
/// (and `event_key` is set when the watermark removes its state).
#[derive(Debug, Clone)]
pub(crate) struct StatefulNode {
    pub(crate) kind: OperatorKind,
    pub(crate) event_key: Option<usize>,
    pub(crate) join: Option<Arc<JoinSpec>>,
    /// For an aggregation by session windows, the group key that holds them.
    pub(crate) session_key: Option<usize>,
}

/// The stateful parts of a streaming plan.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Streaming aggregations.
    pub(crate) aggregates: usize,
    /// Each watermark node's delay, in the order the plan's rewriting meets them.
    pub(crate) watermark_delays: Vec<i64>,
    /// The stateful operators, in the order the plan's rewriting meets them.
    pub(crate) operators: Vec<StatefulNode>,
    watermark_columns: Vec<String>,
    sorted: bool,
}

fn unsupported(message: &str) -> Error {
    Error::Input(message.to_string())
}

/// Checks `plan` for `mode`.
///
/// # Errors
/// What Spark refuses, and what ember does not do yet, with the reason.
pub(crate) fn analyze(plan: &LogicalPlan, mode: OutputMode) -> Result<Analysis> {
    let mut analysis = Analysis::default();
    visit(plan, mode, &mut analysis)?;
    if analysis.aggregates > 1 {
        return Err(unsupported(
            "Multiple streaming aggregations are not supported with streaming DataFrames/Datasets",
        ));
    }
    match mode {
        OutputMode::Complete if analysis.aggregates == 0 => Err(unsupported(
            "Complete output mode not supported when there are no streaming aggregations on \
             streaming DataFrames/Datasets",
        )),
        OutputMode::Append
            if analysis
                .operators
                .iter()
                .any(|o| o.kind == OperatorKind::Aggregate && o.event_key.is_none()) =>
        {
            Err(unsupported(
                "Append output mode not supported when there are streaming aggregations on \
                 streaming DataFrames/DataSets without watermark: group by a window of (or \
                 the column of) with_watermark, or use output mode update or complete",
            ))
        }
        _ => Ok(analysis),
    }
}

/// Visits `plan` children first; whether it reads a stream.
fn visit(plan: &LogicalPlan, mode: OutputMode, analysis: &mut Analysis) -> Result<bool> {
    if let LogicalPlan::TableScan(scan) = plan {
        return Ok(streaming_table(scan).is_some());
    }
    let mut streams = Vec::new();
    for input in plan.inputs() {
        streams.push(visit(input, mode, analysis)?);
    }
    if !streams.contains(&true) {
        return Ok(false);
    }
    match plan {
        LogicalPlan::Extension(extension) => {
            let node = extension.node.as_any();
            if let Some(node) = node.downcast_ref::<EventTimeWatermark>() {
                analysis.watermark_delays.push(node.delay_ms);
                analysis.watermark_columns.push(node.column.clone());
            }
            if let Some(node) = node.downcast_ref::<StreamDeduplicate>() {
                let event_key = node
                    .columns
                    .iter()
                    .position(|c| analysis.watermark_columns.contains(c));
                analysis.operators.push(StatefulNode {
                    kind: OperatorKind::Deduplicate,
                    event_key,
                    join: None,
                    session_key: None,
                });
            }
        }
        LogicalPlan::Aggregate(aggregate) => {
            analysis.aggregates += 1;
            let watermarked = |e: &Expr| {
                e.column_refs()
                    .iter()
                    .any(|c| analysis.watermark_columns.contains(&c.name))
            };
            // A window made by expanding rows (sliding windows) no longer names its column.
            let window = |i: usize| is_window_type(aggregate.schema.field(i).data_type());
            let event_key = aggregate
                .group_expr
                .iter()
                .position(watermarked)
                .or_else(|| {
                    let watermarks = !analysis.watermark_columns.is_empty();
                    (0..aggregate.group_expr.len()).find(|i| watermarks && window(*i))
                });
            // Sessions come from the column session_window makes (renamed from SQL).
            let session_key = (0..aggregate.group_expr.len()).find(|i| {
                let of_sessions = matches!(
                    aggregate.group_expr[*i].clone().unalias(),
                    Expr::Column(c) if c.name == SESSION_COLUMN
                );
                of_sessions && is_window_type(aggregate.schema.field(*i).data_type())
            });
            analysis.operators.push(StatefulNode {
                kind: OperatorKind::Aggregate,
                event_key,
                join: None,
                session_key,
            });
            if aggregate
                .group_expr
                .iter()
                .any(|e| matches!(e, Expr::GroupingSet(_)))
            {
                return Err(unsupported(
                    "grouping sets (ROLLUP, CUBE) are not supported on streaming DataFrames",
                ));
            }
        }
        LogicalPlan::Sort(_) => {
            if !(mode == OutputMode::Complete && analysis.aggregates > 0) {
                return Err(unsupported(
                    "Sorting is not supported on streaming DataFrames/Datasets, unless it is on \
                     aggregated DataFrame/Dataset in Complete output mode",
                ));
            }
            analysis.sorted = true;
        }
        LogicalPlan::Limit(_) if !analysis.sorted => {
            return Err(unsupported(
                "Limits are not supported on streaming DataFrames/Datasets in ember, but after \
                 a sort in Complete output mode",
            ));
        }
        LogicalPlan::Distinct(_) => {
            return Err(unsupported(
                "Distinct is not supported on streaming DataFrames/Datasets; group by the \
                 columns instead",
            ));
        }
        LogicalPlan::Window(window) if window.window_expr.iter().all(is_working_column) => {}
        LogicalPlan::Window(_) => {
            return Err(unsupported(
                "Non-time-based windows are not supported on streaming DataFrames/Datasets",
            ));
        }
        LogicalPlan::Join(join) if streams[0] && streams[1] => {
            stream_stream_join(join, mode, analysis)?;
        }
        LogicalPlan::Join(join) => check_join(join.join_type, streams[0], streams[1])?,
        _ => {}
    }
    Ok(true)
}

/// Checks a join of two streams and notes it as a stateful operator.
fn stream_stream_join(join: &Join, mode: OutputMode, analysis: &mut Analysis) -> Result<()> {
    if mode != OutputMode::Append {
        return Err(unsupported(&format!(
            "{} join between two streaming DataFrames/Datasets is not supported in {mode:?} \
             output mode, only in Append output mode",
            join.join_type
        )));
    }
    let spec = JoinSpec::new(join, &analysis.watermark_columns);
    spec.check(join.join_type)?;
    analysis.operators.push(StatefulNode {
        kind: OperatorKind::Join,
        event_key: spec.evicts().then_some(0),
        join: Some(Arc::new(spec)),
        session_key: None,
    });
    Ok(())
}

/// Checks a join of a stream with a static DataFrame.
fn check_join(join_type: JoinType, left: bool, right: bool) -> Result<()> {
    let refused = match join_type {
        JoinType::Inner => false,
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => right,
        JoinType::Right => left,
        JoinType::Full => true,
        JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => left,
    };
    if refused {
        return Err(unsupported(&format!(
            "{join_type} join with a streaming DataFrame/Dataset on that side is not supported \
             without a watermark"
        )));
    }
    Ok(())
}

/// Whether `data_type` is an event-time window: a struct of timestamps `start` and `end`.
pub(crate) fn is_window_type(data_type: &DataType) -> bool {
    let DataType::Struct(fields) = data_type else {
        return false;
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    names == ["start", "end"]
        && fields
            .iter()
            .all(|f| matches!(f.data_type(), DataType::Timestamp(_, _)))
}
