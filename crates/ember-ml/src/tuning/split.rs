//! Cutting a dataset into training and validation rows, the same way each time it is
//! computed: each row draws a number in [0, 1) from a seeded hash of its values.

use crate::dataset::{is_numeric, quoted, require_column};
use crate::stage::{add_columns, BatchColumns};
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, SortField};
use ember_sql::{cast, col, lit, DataFrame, Expr};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The column that holds each row's draw while splitting.
const DRAW: &str = "__ember_ml_draw";

/// Each row's draw: a hash of the seed and the row's values, as a number in [0, 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Draw {
    columns: Vec<String>,
    seed: i64,
}

impl BatchColumns for Draw {
    fn inputs(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new(DRAW, DataType::Float64, false)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let failed = |e: datafusion::arrow::error::ArrowError| {
            Error::Input(format!("cannot hash the rows to split them: {e}"))
        };
        let fields = batch
            .schema()
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).map_err(failed)?;
        let rows = converter.convert_columns(batch.columns()).map_err(failed)?;
        let draws: Float64Array = rows
            .iter()
            .map(|row| {
                // SipHash with fixed keys: the same on every executor and every run.
                let mut hasher = std::hash::DefaultHasher::new();
                self.seed.hash(&mut hasher);
                row.as_ref().hash(&mut hasher);
                (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        Ok(vec![Arc::new(draws)])
    }
}

/// A dataset ready to be cut: with each row's draw, or with the user's fold column.
pub(super) struct Splitter {
    columns: Vec<String>,
    with_draw: DataFrame,
    /// The fold of each row, as an expression of `with_draw`.
    fold: Expr,
    folds: usize,
}

impl Splitter {
    /// `dataset` with draws seeded by `seed`, cut in `folds` folds by draw, or by the fold
    /// column `fold_col` when one is named.
    ///
    /// # Errors
    /// The fold column is missing or not numeric.
    pub(super) fn new(
        dataset: &DataFrame,
        seed: i64,
        fold_col: Option<&str>,
        folds: usize,
    ) -> Result<Splitter> {
        let columns = dataset.columns();
        let draw = Draw {
            columns: columns.clone(),
            seed,
        };
        let with_draw = add_columns(dataset, draw)?;
        let fold = match fold_col.filter(|c| !c.is_empty()) {
            Some(name) => {
                require_column(dataset, name, is_numeric, "numeric")?;
                cast(col(quoted(name)), DataType::Int64)
            }
            None => cast(col(DRAW) * lit(folds as f64), DataType::Int64),
        };
        Ok(Splitter {
            columns,
            with_draw,
            fold,
            folds,
        })
    }

    /// The rows `keep` picks, with the dataset's own columns.
    fn rows(&self, keep: Expr) -> Result<DataFrame> {
        let columns = self.columns.iter().map(|c| col(quoted(c))).collect();
        Ok(self.with_draw.filter(keep)?.select(columns)?)
    }

    /// The training rows (every other fold) and the validation rows (fold `fold`).
    pub(super) fn fold(&self, fold: usize) -> Result<(DataFrame, DataFrame)> {
        debug_assert!(fold < self.folds);
        let index = lit(fold as i64);
        Ok((
            self.rows(self.fold.clone().not_eq(index.clone()))?,
            self.rows(self.fold.clone().eq(index))?,
        ))
    }

    /// The rows drawn below `ratio` for training, the others for validation.
    pub(super) fn split(&self, ratio: f64) -> Result<(DataFrame, DataFrame)> {
        Ok((
            self.rows(col(DRAW).lt(lit(ratio)))?,
            self.rows(col(DRAW).gt_eq(lit(ratio)))?,
        ))
    }
}
