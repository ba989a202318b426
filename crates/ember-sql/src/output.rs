//! Rows as Spark prints them: `show()`'s bordered table and `spark-sql`'s tab-separated lines.

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// Longest value `show()` prints whole; longer ones are cut to 17 characters and `...`.
const SHOW_WIDTH: usize = 20;

/// Every row's values as text, `null` standing for nulls.
fn rows_as_text(
    batches: &[RecordBatch],
    null: &str,
    limit: usize,
) -> Result<Vec<Vec<String>>, ArrowError> {
    let options = FormatOptions::default().with_null(null);
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            if rows.len() == limit {
                return Ok(rows);
            }
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The first `n` rows as Spark's `show(n)` draws them: a bordered table with the values
/// right-aligned, values longer than 20 characters cut, `null` for nulls, and a last line
/// saying so when there were more rows than `n` in `batches`.
///
/// ```
/// use ember_sql::output::show_table;
/// use datafusion::arrow::array::{Int64Array, StringArray};
/// use datafusion::arrow::datatypes::{DataType, Field, Schema};
/// use datafusion::arrow::record_batch::RecordBatch;
/// use std::sync::Arc;
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("name", DataType::Utf8, true),
///     Field::new("age", DataType::Int64, true),
/// ]));
/// let batch = RecordBatch::try_new(schema.clone(), vec![
///     Arc::new(StringArray::from(vec![Some("ann"), None])),
///     Arc::new(Int64Array::from(vec![31, 7])),
/// ]).unwrap();
/// assert_eq!(show_table(&schema, &[batch], 20).unwrap(), "\
/// +----+---+
/// |name|age|
/// +----+---+
/// | ann| 31|
/// |null|  7|
/// +----+---+
/// \n");
/// ```
///
/// # Errors
/// A column of a type Arrow cannot print.
pub fn show_table(
    schema: &Schema,
    batches: &[RecordBatch],
    n: usize,
) -> Result<String, ArrowError> {
    let cut = |s: String| {
        if s.chars().count() > SHOW_WIDTH {
            format!("{}...", s.chars().take(SHOW_WIDTH - 3).collect::<String>())
        } else {
            s
        }
    };
    let all = rows_as_text(batches, "null", n + 1)?;
    let more = all.len() > n;
    let rows: Vec<Vec<String>> = all
        .into_iter()
        .take(n)
        .map(|r| r.into_iter().map(cut).collect())
        .collect();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| cut(f.name().clone()))
        .collect();
    let widths: Vec<usize> = (0..names.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([names[i].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let border: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(*w)))
        .collect::<String>()
        + "+\n";
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("|{c:>w$}"))
            .collect::<String>()
            + "|\n"
    };
    let mut out = border.clone() + &line(&names) + &border;
    for row in &rows {
        out += &line(row);
    }
    out += &border;
    if more {
        out += &format!(
            "only showing top {n} row{}\n",
            if n == 1 { "" } else { "s" }
        );
    }
    out.push('\n');
    Ok(out)
}

/// Every row as a line of tab-separated values with `NULL` for nulls, as `spark-sql` prints
/// query results for scripts; with `header`, a first line of the column names.
///
/// # Errors
/// A column of a type Arrow cannot print.
pub fn tab_rows(
    schema: &Schema,
    batches: &[RecordBatch],
    header: bool,
) -> Result<String, ArrowError> {
    let mut out = String::new();
    if header {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        out += &names.join("\t");
        out.push('\n');
    }
    for row in rows_as_text(batches, "NULL", usize::MAX)? {
        out += &row.join("\t");
        out.push('\n');
    }
    Ok(out)
}

/// How many rows `batches` hold.
pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}
