//! The optimizer rule that reads only the field a query takes of a `from_json` (Spark's
//! `spark.sql.optimizer.enableJsonExpressionOptimization`): `from_json(text, schema)['f']`
//! parses `f` alone, the other keys of each object skipped. A filter over one field of an
//! event (`from_json(value, ..)['auction'] % 123 = 0`) is where it pays most.
//!
//! As in Spark, a row whose other fields do not match the schema then still gives the field
//! read, where parsing it whole would have given a null struct.

use super::narrowed;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{lit, Expr, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Narrows `from_json`'s schema where a field access reads it directly.
#[derive(Debug, Default)]
pub(crate) struct PruneJsonFields;

impl OptimizerRule for PruneJsonFields {
    fn name(&self) -> &str {
        "prune_json_fields"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up_with_subqueries(narrow_node)
    }
}

/// `node` with each field read of a `from_json` narrowed; its expressions keep their names,
/// which a projection's columns are named after.
fn narrow_node(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let names = NamePreserver::new(&node);
    node.map_expressions(|expr| {
        let name = names.save(&expr);
        Ok(expr
            .transform_up(narrow_field_read)?
            .update_data(|expr| name.restore(expr)))
    })
}

/// `get_field(from_json(text, schema), 'f', ..)` with the schema narrowed to `f`.
fn narrow_field_read(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::ScalarFunction(read) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let (Some(Expr::ScalarFunction(parse)), Some(Expr::Literal(ScalarValue::Utf8(Some(field)), _))) =
        (read.args.first(), read.args.get(1))
    else {
        return Ok(Transformed::no(expr));
    };
    if read.func.name() != "get_field" || parse.func.name() != "from_json" {
        return Ok(Transformed::no(expr));
    }
    let Some(Expr::Literal(ScalarValue::Utf8(Some(schema)), _)) = parse.args.get(1) else {
        return Ok(Transformed::no(expr));
    };
    let Some(narrow) = narrowed(schema, field).filter(|narrow| narrow != schema) else {
        return Ok(Transformed::no(expr));
    };
    let parse =
        ScalarFunction::new_udf(parse.func.clone(), vec![parse.args[0].clone(), lit(narrow)]);
    let mut args = read.args.clone();
    args[0] = Expr::ScalarFunction(parse);
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(read.func.clone(), args),
    )))
}

#[cfg(test)]
mod tests {
    use super::narrowed;

    #[test]
    fn a_schema_is_narrowed_to_one_field_with_its_whole_type() {
        let ddl = "id BIGINT, price DECIMAL(10,2), tags ARRAY<STRING>, at TIMESTAMP";
        assert_eq!(narrowed(ddl, "id").as_deref(), Some("struct<id:BIGINT>"));
        assert_eq!(
            narrowed(ddl, "price").as_deref(),
            Some("struct<price:DECIMAL(10,2)>")
        );
        assert_eq!(
            narrowed("struct<a:int,b:map<string,int>>", "b").as_deref(),
            Some("struct<b:map<string,int>>")
        );
        // No such field, or nothing else to leave out.
        assert_eq!(narrowed(ddl, "missing"), None);
        assert_eq!(narrowed("id BIGINT", "id"), None);
    }
}
