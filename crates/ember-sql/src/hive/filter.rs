//! WHERE predicates on partition columns in the metastore's own filter language, so that a
//! scan asks for only the partitions it reads (Spark's `HiveShim.convertFilters`).
//!
//! The metastore filters partitions by comparisons of a partition column with a literal
//! (`ds = "2024-01-01"`, `h >= 12`), joined by `and` and `or`. A conjunct that cannot be said
//! that way is left out: the metastore then returns more partitions than needed, never fewer,
//! and the rows are filtered again above the scan.

use datafusion::arrow::datatypes::FieldRef;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

/// The metastore filter selecting the partitions `filters` (conjuncts) may read, if any of
/// them can be said in its language.
pub(crate) fn metastore_filter(filters: &[Expr], partition_columns: &[FieldRef]) -> Option<String> {
    let parts: Vec<String> = filters
        .iter()
        .filter_map(|f| convert(f, partition_columns))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" and "))
}

fn convert(expr: &Expr, columns: &[FieldRef]) -> Option<String> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                // One side alone still selects a superset.
                match (convert(left, columns), convert(right, columns)) {
                    (Some(l), Some(r)) => Some(format!("({l} and {r})")),
                    (one, other) => one.or(other),
                }
            }
            Operator::Or => Some(format!(
                "({} or {})",
                convert(left, columns)?,
                convert(right, columns)?
            )),
            _ => comparison(left, *op, right, columns),
        },
        Expr::InList(list) if !list.negated => {
            let alternatives = list
                .list
                .iter()
                .map(|value| comparison(&list.expr, Operator::Eq, value, columns))
                .collect::<Option<Vec<_>>>()?;
            Some(format!("({})", alternatives.join(" or ")))
        }
        _ => None,
    }
}

/// `column op literal` (either way round) on a string or integer partition column.
fn comparison(left: &Expr, op: Operator, right: &Expr, columns: &[FieldRef]) -> Option<String> {
    let (name, value, op) = match (left, right) {
        (Expr::Column(c), Expr::Literal(v, _)) => (&c.name, v, op),
        (Expr::Literal(v, _), Expr::Column(c)) => (&c.name, v, op.swap()?),
        _ => return None,
    };
    let column = columns.iter().find(|f| f.name() == name)?;
    let op = match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        _ => return None,
    };
    let literal = literal(value, column)?;
    Some(format!("{name} {op} {literal}"))
}

/// A literal as the filter language writes it for `column`'s type.
fn literal(value: &ScalarValue, column: &FieldRef) -> Option<String> {
    if value.is_null() {
        return None;
    }
    if column.data_type().is_integer() && value.data_type().is_integer() {
        return Some(value.to_string());
    }
    match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
            if matches!(
                column.data_type(),
                datafusion::arrow::datatypes::DataType::Utf8
            ) =>
        {
            // The language has no escapes: a value holding both quotes cannot be written.
            if !s.contains('"') {
                Some(format!("\"{s}\""))
            } else if !s.contains('\'') {
                Some(format!("'{s}'"))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::prelude::{col, lit};
    use std::sync::Arc;

    fn columns() -> Vec<FieldRef> {
        vec![
            Arc::new(Field::new("ds", DataType::Utf8, true)),
            Arc::new(Field::new("h", DataType::Int32, true)),
        ]
    }

    #[test]
    fn comparisons_on_partition_columns_reach_the_metastore() {
        let filters = [
            col("ds").eq(lit("2024-01-02")),
            lit(12i32).lt_eq(col("h")),
            col("amount").gt(lit(3.0)),
        ];
        assert_eq!(
            metastore_filter(&filters, &columns()).as_deref(),
            Some("ds = \"2024-01-02\" and h >= 12")
        );
        let either = col("ds").in_list(vec![lit("a"), lit("b\"")], false);
        assert_eq!(
            metastore_filter(&[either], &columns()).as_deref(),
            Some("(ds = \"a\" or ds = 'b\"')")
        );
    }

    #[test]
    fn what_the_language_cannot_say_is_left_out_never_narrowed() {
        // An `or` with a side on a data column could select any partition.
        let mixed = col("ds").eq(lit("a")).or(col("amount").gt(lit(1.0)));
        assert_eq!(metastore_filter(&[mixed], &columns()), None);
        // An `and` keeps the side it can say.
        let half = col("ds").eq(lit("a")).and(col("amount").gt(lit(1.0)));
        assert_eq!(
            metastore_filter(&[half], &columns()).as_deref(),
            Some("ds = \"a\"")
        );
        // A string compared with an integer column is not the metastore's to judge.
        assert_eq!(
            metastore_filter(&[col("h").eq(lit("12"))], &columns()),
            None
        );
    }
}
