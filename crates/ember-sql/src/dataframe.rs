//! [`DataFrame`]: a lazily evaluated query with Spark's DataFrame operations.

use crate::distributed;
use crate::error::{Error, Result};
use crate::output;
use crate::session::SqlSession;
use crate::writer::DataFrameWriter;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Int64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{col, lit, Expr, JoinType};
use std::sync::Arc;

/// Rows with named, typed columns, computed only when an action (`collect`, `count`, `show`,
/// `write`) asks for them (Spark's `DataFrame`). Cheap to clone.
#[derive(Clone)]
pub struct DataFrame {
    inner: datafusion::dataframe::DataFrame,
    session: Arc<SqlSession>,
}

impl std::fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFrame")
            .field("schema", &self.schema())
            .finish_non_exhaustive()
    }
}

/// Rows grouped by some expressions, waiting for their aggregates (Spark's
/// `RelationalGroupedDataset`).
#[derive(Debug, Clone)]
pub struct GroupedData {
    df: DataFrame,
    groups: Vec<Expr>,
}

impl GroupedData {
    /// One row per group: the grouping columns, then `aggregates` (`sum(col("x"))`, ...).
    ///
    /// # Errors
    /// An unknown column or an aggregate of the wrong type.
    pub fn agg(self, aggregates: Vec<Expr>) -> Result<DataFrame> {
        let (df, groups) = crate::streaming::expand_sliding_windows(self.df, self.groups)?;
        let (df, groups) = crate::streaming::expand_session_windows(df, groups)?;
        let inner = df.inner.clone().aggregate(groups, aggregates)?;
        Ok(df.with(inner))
    }

    /// One row per group with its row count in column `count`.
    ///
    /// # Errors
    /// An unknown grouping column.
    pub fn count(self) -> Result<DataFrame> {
        self.agg(vec![datafusion::functions_aggregate::expr_fn::count(
            datafusion::prelude::lit(1),
        )
        .alias("count")])
    }
}

impl DataFrame {
    pub(crate) fn new(inner: datafusion::dataframe::DataFrame, session: Arc<SqlSession>) -> Self {
        DataFrame { inner, session }
    }

    pub(crate) fn with(&self, inner: datafusion::dataframe::DataFrame) -> DataFrame {
        DataFrame::new(inner, self.session.clone())
    }

    pub(crate) fn inner(&self) -> &datafusion::dataframe::DataFrame {
        &self.inner
    }

    pub(crate) fn session(&self) -> &Arc<SqlSession> {
        &self.session
    }

    /// The application the DataFrame belongs to (Spark's `df.sparkSession`).
    ///
    /// # Errors
    /// The application has ended.
    pub fn context(&self) -> Result<ember_core::Context> {
        self.session.context()
    }

    /// The columns' names and types.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(self.inner.schema().as_arrow().clone())
    }

    /// The columns' names, in order.
    pub fn columns(&self) -> Vec<String> {
        self.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The values of `expressions` for every row.
    ///
    /// # Errors
    /// An unknown column or an expression of the wrong types.
    pub fn select(&self, expressions: Vec<Expr>) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().select(expressions)?))
    }

    /// The named columns.
    ///
    /// # Errors
    /// An unknown column.
    pub fn select_columns(&self, names: &[&str]) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().select_columns(names)?))
    }

    /// The rows for which `condition` holds (Spark's `filter` and `where`).
    ///
    /// # Errors
    /// An unknown column, or a condition that is not boolean.
    pub fn filter(&self, condition: Expr) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().filter(condition)?))
    }

    /// Every column, with `name` added (or replaced) as `expression`.
    ///
    /// # Errors
    /// An unknown column in `expression`.
    pub fn with_column(&self, name: &str, expression: Expr) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().with_column(name, expression)?))
    }

    /// Column `old` named `new`.
    ///
    /// # Errors
    /// As DataFusion's planner says.
    pub fn with_column_renamed(&self, old: &str, new: &str) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().with_column_renamed(old, new)?))
    }

    /// Rows grouped by `groups`, for [`GroupedData::agg`].
    pub fn group_by(&self, groups: Vec<Expr>) -> GroupedData {
        GroupedData {
            df: self.clone(),
            groups,
        }
    }

    /// Joins with `right` where `left_on` equals `right_on` column by column; `how` is inner,
    /// left, right, full, left semi or left anti.
    ///
    /// # Errors
    /// Unknown columns, or lists of different lengths.
    pub fn join(
        &self,
        right: &DataFrame,
        how: JoinType,
        left_on: &[&str],
        right_on: &[&str],
    ) -> Result<DataFrame> {
        let joined = self
            .inner
            .clone()
            .join(right.inner.clone(), how, left_on, right_on, None)?;
        Ok(self.with(joined))
    }

    /// Joins with `right` where `on` holds (Spark's `df.join(other, joinExprs, joinType)`):
    /// equalities of the two sides' columns become the join's keys, the rest its filter. Name
    /// each side's columns through [`DataFrame::alias`] where both have the same names.
    ///
    /// # Errors
    /// Unknown or ambiguous columns.
    pub fn join_on(&self, right: &DataFrame, how: JoinType, on: Vec<Expr>) -> Result<DataFrame> {
        let joined = self.inner.clone().join_on(right.inner.clone(), how, on)?;
        Ok(self.with(joined))
    }

    /// The same rows, their columns qualified by `name` (Spark's `df.alias("v")`, so that
    /// `col("v.time")` names this side of a join).
    ///
    /// # Errors
    /// As DataFusion's planner says.
    pub fn alias(&self, name: &str) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().alias(name)?))
    }

    /// Rows sorted by `order` (`col("x").sort(ascending, nulls_first)`).
    ///
    /// # Errors
    /// An unknown column.
    pub fn order_by(&self, order: Vec<SortExpr>) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().sort(order)?))
    }

    /// The first `n` rows.
    ///
    /// # Errors
    /// As DataFusion's planner says.
    pub fn limit(&self, n: usize) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().limit(0, Some(n))?))
    }

    /// The rows of both, duplicates kept (Spark's `union`: by position).
    ///
    /// # Errors
    /// Different numbers or types of columns.
    pub fn union(&self, other: &DataFrame) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().union(other.inner.clone())?))
    }

    /// Each different row once.
    ///
    /// # Errors
    /// As DataFusion's planner says.
    pub fn distinct(&self) -> Result<DataFrame> {
        Ok(self.with(self.inner.clone().distinct()?))
    }

    /// Every row, as Arrow record batches.
    ///
    /// # Errors
    /// The query fails.
    pub fn collect(&self) -> Result<Vec<RecordBatch>> {
        self.run(self.inner.clone())
    }

    /// Runs `df`, a plan of this DataFrame's session, as stages (see [`crate::distributed`]).
    ///
    /// A query whose hash joins outgrow execution memory runs again with sort-merge joins,
    /// whose sorts spill, as Spark would have planned it (`spark.sql.join.preferSortMergeJoin`
    /// is true there). Writes do so in [`crate::DataFrameWriter`], which first removes what the
    /// refused attempt wrote.
    pub(crate) fn run(&self, df: datafusion::dataframe::DataFrame) -> Result<Vec<RecordBatch>> {
        use datafusion::logical_expr::LogicalPlan;
        if crate::streaming::reads_stream(df.logical_plan()) {
            return Err(Error::Input(crate::streaming::NEEDS_START.into()));
        }
        let writes = matches!(
            df.logical_plan(),
            LogicalPlan::Copy(_) | LogicalPlan::Dml(_) | LogicalPlan::Ddl(_)
        );
        match self.run_once(df.clone()) {
            Err(e) if !writes && may_sort_merge_instead(&e, &df) => {
                self.run_once(with_sort_merge_joins(df, &e))
            }
            rows => rows,
        }
    }

    fn run_once(&self, df: datafusion::dataframe::DataFrame) -> Result<Vec<RecordBatch>> {
        let plan = self.session.block_on(df.create_physical_plan())?;
        distributed::collect_rows(&self.session, plan)
    }

    /// How many rows.
    ///
    /// # Errors
    /// The query fails.
    pub fn count(&self) -> Result<usize> {
        let counted = self.inner.clone().aggregate(vec![], vec![count(lit(1))])?;
        let batches = self.run(counted)?;
        let counts = batches
            .first()
            .and_then(|b| b.column(0).as_primitive_opt::<Int64Type>());
        match counts {
            Some(counts) if counts.len() == 1 => Ok(counts.value(0) as usize),
            _ => Err(Error::Query("COUNT(1) gave no single row".into())),
        }
    }

    /// The first `n` rows as Spark's `show(n)` draws them (values over 20 characters cut).
    ///
    /// # Errors
    /// The query fails.
    pub fn show_string(&self, n: usize) -> Result<String> {
        let batches = self.limit(n + 1)?.collect()?;
        Ok(output::show_table(&self.schema(), &batches, n)?)
    }

    /// Prints the first 20 rows as a table on standard output (Spark's `show()`).
    ///
    /// # Errors
    /// The query fails.
    pub fn show(&self) -> Result<()> {
        print!("{}", self.show_string(20)?);
        Ok(())
    }

    /// Every row as a line of tab-separated values, NULL for nulls, as `spark-sql -e` prints
    /// them; with `header`, a first line of column names.
    ///
    /// # Errors
    /// The query fails.
    pub fn tab_rows(&self, header: bool) -> Result<String> {
        let batches = self.collect()?;
        Ok(output::tab_rows(&self.schema(), &batches, header)?)
    }

    /// Registers this DataFrame as temporary view `name`, for SQL (replacing one of that name).
    ///
    /// # Errors
    /// A name DataFusion cannot take.
    pub fn create_or_replace_temp_view(&self, name: &str) -> Result<()> {
        let view = self.inner.clone().into_view();
        let context = &self.session.datafusion;
        context.deregister_table(name)?;
        context.register_table(name, view)?;
        Ok(())
    }

    /// Writes the rows out (Spark's `df.write`).
    pub fn write(&self) -> DataFrameWriter {
        DataFrameWriter::new(self.clone())
    }

    /// One row per distinct value of `columns` (all columns when empty), the first one met
    /// (Spark's `dropDuplicates`). On a stream, the values seen are kept in the query's state;
    /// with [`with_watermark`](Self::with_watermark) on one of `columns`, rows older than the
    /// watermark are dropped and values the watermark has passed are forgotten, which bounds
    /// the state.
    ///
    /// # Errors
    /// An unknown column.
    pub fn drop_duplicates(&self, columns: &[&str]) -> Result<DataFrame> {
        let all = self.columns();
        let columns: Vec<String> = if columns.is_empty() {
            all.clone()
        } else {
            columns.iter().map(|c| c.to_string()).collect()
        };
        if let Some(unknown) = columns.iter().find(|c| !all.contains(c)) {
            return Err(Error::Input(format!(
                "Cannot resolve column name \"{unknown}\" among ({})",
                all.join(", ")
            )));
        }
        if !self.is_streaming() {
            let on = columns.iter().map(|c| col(format!("\"{c}\""))).collect();
            let every = all.iter().map(|c| col(format!("\"{c}\""))).collect();
            return Ok(self.with(self.inner.clone().distinct_on(on, every, None)?));
        }
        let (state, plan) = self.inner.clone().into_parts();
        let node = crate::streaming::StreamDeduplicate {
            input: plan,
            columns,
        };
        let plan =
            datafusion::logical_expr::LogicalPlan::Extension(datafusion::logical_expr::Extension {
                node: Arc::new(node),
            });
        Ok(self.with(datafusion::dataframe::DataFrame::new(state, plan)))
    }

    /// Whether it reads a stream (Spark's `isStreaming`): then only
    /// [`write_stream`](Self::write_stream) runs it.
    pub fn is_streaming(&self) -> bool {
        crate::streaming::reads_stream(self.inner.logical_plan())
    }

    /// Starts a streaming query of it (Spark's `df.writeStream`).
    pub fn write_stream(&self) -> crate::streaming::DataStreamWriter {
        crate::streaming::DataStreamWriter::new(self.clone())
    }

    /// Marks `column` as event time, `delay` (Spark's interval string, `"10 minutes"`) being
    /// how late a row may come (Spark's `withWatermark`). A streaming query tracks the largest
    /// event time it has seen; the watermark is that less `delay`. An aggregation grouped by
    /// the column or by a [`window`](crate::window) of it drops rows older than the watermark
    /// and, in append mode, writes a group once the watermark passes it and forgets it. On a
    /// DataFrame that does not stream, it does nothing, as in Spark.
    ///
    /// # Errors
    /// No such column, it is not a timestamp, or `delay` does not parse.
    pub fn with_watermark(&self, column: &str, delay: &str) -> Result<DataFrame> {
        let delay = crate::streaming::parse_interval(delay)?;
        let schema = self.inner.schema();
        let field = schema
            .field_with_unqualified_name(column)
            .map_err(|_| Error::Input(format!("with_watermark: no column {column}")))?;
        if !matches!(
            field.data_type(),
            datafusion::arrow::datatypes::DataType::Timestamp(_, _)
        ) {
            return Err(Error::Input(format!(
                "Event time must be defined on a window or a timestamp, but {column} is of type {}",
                field.data_type()
            )));
        }
        if !self.is_streaming() {
            return Ok(self.clone());
        }
        let (state, plan) = self.inner.clone().into_parts();
        let node = crate::streaming::EventTimeWatermark {
            input: plan,
            column: column.to_string(),
            delay_ms: delay.as_millis() as i64,
        };
        let plan =
            datafusion::logical_expr::LogicalPlan::Extension(datafusion::logical_expr::Extension {
                node: Arc::new(node),
            });
        Ok(self.with(datafusion::dataframe::DataFrame::new(state, plan)))
    }
}

/// Whether `error` is a hash join of `df` refused memory, which sort-merge joins would not be.
pub(crate) fn may_sort_merge_instead(error: &Error, df: &datafusion::dataframe::DataFrame) -> bool {
    let refused = error
        .to_string()
        .contains(crate::memory::HASH_JOIN_OUTGREW_MEMORY);
    refused
        && df
            .task_ctx()
            .session_config()
            .options()
            .optimizer
            .prefer_hash_join
}

/// `df` planned with sort-merge joins in place of hash joins, after `why`.
pub(crate) fn with_sort_merge_joins(
    df: datafusion::dataframe::DataFrame,
    why: &Error,
) -> datafusion::dataframe::DataFrame {
    tracing::warn!("{why}; the query runs again with sort-merge joins");
    let (mut state, logical) = df.into_parts();
    state.config_mut().options_mut().optimizer.prefer_hash_join = false;
    datafusion::dataframe::DataFrame::new(state, logical)
}
