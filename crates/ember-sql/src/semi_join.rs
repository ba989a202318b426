//! Semi and anti joins pushed below the inner joins of their side (Spark's
//! `PushLeftSemiLeftAntiThroughJoin`).
//!
//! `x IN (subquery)` and `EXISTS` become a semi join of the rows the query has built so far
//! with the subquery. When those rows come from inner joins, and the semi join's keys and
//! condition read only one input of them, that input can be reduced first: only its rows that
//! the subquery keeps take part in the joins above. TPC-H's query 18 keeps 300 of 7.5 million
//! orders this way, before it joins them with their 30 million line items, where DataFusion
//! alone would join all of them (and hold all the orders in a hash table) first.
//!
//! The result is the same: an inner join repeats or drops rows of an input but never changes
//! them, so a row of the join passes the semi (or anti) join exactly when the row of the input
//! it came from does. It is faster when the subquery drops rows of its own (a filter, an
//! aggregate, a limit): a subquery over a whole table stays where it is.

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::logical_expr::{Expr, Join, JoinType, LogicalPlan, Projection};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::collections::HashSet;
use std::sync::Arc;

/// Moves semi and anti joins below the projections and inner joins of their left input.
#[derive(Debug, Default)]
pub(crate) struct PushSemiJoinDown;

impl OptimizerRule for PushSemiJoinDown {
    fn name(&self) -> &str {
        "push_semi_join_down"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(semi) = &plan else {
            return Ok(Transformed::no(plan));
        };
        // A null-aware anti join (NOT IN) answers NULL for a key it cannot compare: it stays.
        if !matches!(semi.join_type, JoinType::LeftSemi | JoinType::LeftAnti) || semi.null_aware {
            return Ok(Transformed::no(plan));
        }
        if !narrows(&semi.right) {
            return Ok(Transformed::no(plan));
        }
        let needed = left_columns(semi);
        Ok(match pushed(&semi.left, &needed, semi)? {
            Some(rewritten) => Transformed::yes(rewritten),
            None => Transformed::no(plan),
        })
    }
}

/// Whether `subquery` filters, aggregates or limits its rows: only then is the semi join
/// likely to drop many, and worth doing first. Against a whole table (TPC-H q21's `EXISTS`
/// over every line item) it keeps nearly every row; moved below an inner join that drops most
/// of them (q21's suppliers of one nation) it would only work on more rows.
fn narrows(subquery: &LogicalPlan) -> bool {
    subquery
        .exists(|node| {
            Ok(match node {
                LogicalPlan::Filter(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Limit(_) => true,
                LogicalPlan::TableScan(scan) => !scan.filters.is_empty(),
                _ => false,
            })
        })
        .unwrap_or(false)
}

/// The columns of `semi`'s left input that its keys and condition read.
fn left_columns(semi: &Join) -> HashSet<Column> {
    let left = semi.left.schema();
    let keys = semi.on.iter().map(|(key, _)| key);
    keys.chain(semi.filter.iter())
        .flat_map(Expr::column_refs)
        .filter(|column| left.has_column(column))
        .cloned()
        .collect()
}

/// `input` with `semi` applied inside it, as deep as it goes; `None` when it cannot pass
/// `input` itself.
fn pushed(
    input: &LogicalPlan,
    needed: &HashSet<Column>,
    semi: &Join,
) -> Result<Option<LogicalPlan>> {
    let has_all = |plan: &LogicalPlan| needed.iter().all(|c| plan.schema().has_column(c));
    let children = match input {
        LogicalPlan::Projection(projection) if passes_through(projection, needed) => {
            vec![deepest(&projection.input, needed, semi)?]
        }
        LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
            if has_all(&join.left) {
                vec![deepest(&join.left, needed, semi)?, (*join.right).clone()]
            } else if has_all(&join.right) {
                vec![(*join.left).clone(), deepest(&join.right, needed, semi)?]
            } else {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(input.with_new_exprs(input.expressions(), children)?))
}

/// `input` with `semi` as deep inside it as it goes, or on top of it.
fn deepest(input: &LogicalPlan, needed: &HashSet<Column>, semi: &Join) -> Result<LogicalPlan> {
    if let Some(rewritten) = pushed(input, needed, semi)? {
        return Ok(rewritten);
    }
    let join = Join::try_new(
        Arc::new(input.clone()),
        semi.right.clone(),
        semi.on.clone(),
        semi.filter.clone(),
        semi.join_type,
        semi.join_constraint,
        semi.null_equality,
        semi.null_aware,
    )?;
    Ok(LogicalPlan::Join(join))
}

/// Whether each of `needed` leaves `projection` as it entered.
fn passes_through(projection: &Projection, needed: &HashSet<Column>) -> bool {
    needed.iter().all(|column| {
        let kept = |e: &Expr| matches!(e, Expr::Column(c) if c == column);
        projection.expr.iter().any(kept)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::prelude::SessionContext;

    /// The inputs of every semi join of `plan`, as the names of their columns.
    fn semi_join_inputs(plan: &LogicalPlan) -> Vec<Vec<String>> {
        let mut inputs = Vec::new();
        plan.apply(|node| {
            if let LogicalPlan::Join(join) = node {
                if join.join_type == JoinType::LeftSemi {
                    let fields = join.left.schema().fields().iter();
                    inputs.push(fields.map(|f| f.name().clone()).collect());
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .unwrap();
        inputs
    }

    #[tokio::test]
    async fn a_semi_join_with_a_narrowing_subquery_reads_its_side_of_an_inner_join_first() {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(Arc::new(PushSemiJoinDown));
        for table in [
            "CREATE TABLE a (k INT, v INT) AS VALUES (1, 10), (2, 20), (3, 30)",
            "CREATE TABLE b (k INT, w INT) AS VALUES (1, 100), (1, 101), (3, 300)",
            "CREATE TABLE s (x INT) AS VALUES (1), (2)",
        ] {
            ctx.sql(table).await.unwrap().collect().await.unwrap();
        }
        let whole = "SELECT a.k, w FROM a JOIN b ON a.k = b.k \
                     WHERE a.v IN (SELECT x * 10 FROM s) ORDER BY w";
        let df = ctx.sql(whole).await.unwrap();
        let plan = df.into_optimized_plan().unwrap();
        assert_eq!(semi_join_inputs(&plan), vec![vec!["k", "v", "w"]], "{plan}");
        let query = "SELECT a.k, w FROM a JOIN b ON a.k = b.k \
                     WHERE a.v IN (SELECT x * 10 FROM s WHERE x < 5) ORDER BY w";
        let df = ctx.sql(query).await.unwrap();
        let plan = df.clone().into_optimized_plan().unwrap();
        assert_eq!(semi_join_inputs(&plan), vec![vec!["k", "v"]], "{plan}");
        let rows = pretty_format_batches(&df.collect().await.unwrap()).unwrap();
        let expected =
            "+---+-----+\n| k | w   |\n+---+-----+\n| 1 | 100 |\n| 1 | 101 |\n+---+-----+";
        assert_eq!(rows.to_string(), expected);
    }
}
