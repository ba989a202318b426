//! Local matrices, as Spark's `org.apache.spark.ml.linalg.Matrix`: what a multinomial model's
//! coefficients are (a row per class, a column per feature).
//!
//! A dense matrix keeps every value in column-major order, or row-major when it is
//! transposed; a sparse one keeps compressed sparse columns (CSC), or compressed sparse rows
//! when transposed. Spark stores both forms in model files, so ember reads both.

use super::MAX_SIZE;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A matrix of doubles (Spark's `Matrix`), dense or sparse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Matrix {
    /// Every value.
    Dense(DenseMatrix),
    /// The entries that may be non-zero.
    Sparse(SparseMatrix),
}

/// Every value of a matrix (Spark's `DenseMatrix`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseMatrix {
    num_rows: usize,
    num_cols: usize,
    /// Column-major, or row-major when `is_transposed`.
    values: Vec<f64>,
    is_transposed: bool,
}

/// A matrix in compressed sparse columns, or rows when transposed (Spark's `SparseMatrix`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparseMatrix {
    num_rows: usize,
    num_cols: usize,
    /// Where each column's entries start in `row_indices` and `values` (each row's, when
    /// transposed), and where the last ends.
    col_ptrs: Vec<u32>,
    /// Each entry's row (its column, when transposed), increasing within a column.
    row_indices: Vec<u32>,
    values: Vec<f64>,
    is_transposed: bool,
}

impl DenseMatrix {
    /// A `num_rows` × `num_cols` matrix of `values`, column-major, or row-major when
    /// `is_transposed`.
    ///
    /// # Errors
    /// There are not `num_rows × num_cols` values, or a side is over [`MAX_SIZE`].
    pub fn new(
        num_rows: usize,
        num_cols: usize,
        values: Vec<f64>,
        is_transposed: bool,
    ) -> Result<DenseMatrix> {
        check_sides(num_rows, num_cols)?;
        if num_rows.checked_mul(num_cols) != Some(values.len()) {
            return Err(Error::Input(format!(
                "a {num_rows} x {num_cols} dense matrix needs {} values, not {}",
                num_rows.saturating_mul(num_cols),
                values.len()
            )));
        }
        Ok(DenseMatrix {
            num_rows,
            num_cols,
            values,
            is_transposed,
        })
    }

    /// The values as kept: column-major, or row-major when [`DenseMatrix::is_transposed`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Whether the values are row-major.
    pub fn is_transposed(&self) -> bool {
        self.is_transposed
    }
}

impl SparseMatrix {
    /// A `num_rows` × `num_cols` matrix in compressed sparse columns (or rows, when
    /// `is_transposed`): `col_ptrs` has one more entry than there are columns (rows), and
    /// within each the indices increase.
    ///
    /// # Errors
    /// The pointers or indices are not in that form, or a side is over [`MAX_SIZE`].
    pub fn new(
        num_rows: usize,
        num_cols: usize,
        col_ptrs: Vec<u32>,
        row_indices: Vec<u32>,
        values: Vec<f64>,
        is_transposed: bool,
    ) -> Result<SparseMatrix> {
        check_sides(num_rows, num_cols)?;
        let (majors, minors) = if is_transposed {
            (num_rows, num_cols)
        } else {
            (num_cols, num_rows)
        };
        let bad = |problem: String| {
            Err(Error::Input(format!(
                "not a {num_rows} x {num_cols} sparse matrix: {problem}"
            )))
        };
        if col_ptrs.len() != majors + 1 {
            return bad(format!(
                "{} pointers for {majors} {}",
                col_ptrs.len(),
                if is_transposed { "rows" } else { "columns" }
            ));
        }
        if row_indices.len() != values.len() || col_ptrs[majors] as usize != values.len() {
            return bad(format!(
                "{} indices and {} values, and the pointers end at {}",
                row_indices.len(),
                values.len(),
                col_ptrs[majors]
            ));
        }
        for span in col_ptrs.windows(2) {
            let Some(entries) = row_indices.get(span[0] as usize..span[1] as usize) else {
                return bad(format!(
                    "pointers {} to {} are not a range of its {} entries",
                    span[0],
                    span[1],
                    values.len()
                ));
            };
            if entries.windows(2).any(|w| w[0] >= w[1]) {
                return bad("indices that do not increase within a column".into());
            }
            if entries.last().is_some_and(|&last| last as usize >= minors) {
                return bad(format!("an index out of range: {entries:?}"));
            }
        }
        Ok(SparseMatrix {
            num_rows,
            num_cols,
            col_ptrs,
            row_indices,
            values,
            is_transposed,
        })
    }

    /// Where each column's (row's, when transposed) entries start, and where the last ends.
    pub fn col_ptrs(&self) -> &[u32] {
        &self.col_ptrs
    }

    /// Each entry's row (column, when transposed).
    pub fn row_indices(&self) -> &[u32] {
        &self.row_indices
    }

    /// Each entry's value.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Whether the entries are kept by row.
    pub fn is_transposed(&self) -> bool {
        self.is_transposed
    }
}

fn check_sides(num_rows: usize, num_cols: usize) -> Result<()> {
    if num_rows > MAX_SIZE || num_cols > MAX_SIZE {
        return Err(Error::Input(format!(
            "a {num_rows} x {num_cols} matrix is larger than the largest Spark allows \
             ({MAX_SIZE} a side)"
        )));
    }
    Ok(())
}

impl Matrix {
    /// How many rows.
    pub fn num_rows(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.num_rows,
            Matrix::Sparse(s) => s.num_rows,
        }
    }

    /// How many columns.
    pub fn num_cols(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.num_cols,
            Matrix::Sparse(s) => s.num_cols,
        }
    }

    /// The value at row `i`, column `j`.
    ///
    /// # Panics
    /// `i` or `j` is out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.num_rows() && j < self.num_cols(),
            "({i}, {j}) is outside a {} x {} matrix",
            self.num_rows(),
            self.num_cols()
        );
        match self {
            Matrix::Dense(d) if d.is_transposed => d.values[i * d.num_cols + j],
            Matrix::Dense(d) => d.values[i + j * d.num_rows],
            Matrix::Sparse(s) => {
                let (major, minor) = if s.is_transposed { (i, j) } else { (j, i) };
                let span = s.col_ptrs[major] as usize..s.col_ptrs[major + 1] as usize;
                match s.row_indices[span.clone()].binary_search(&(minor as u32)) {
                    Ok(at) => s.values[span.start + at],
                    Err(_) => 0.0,
                }
            }
        }
    }

    /// Row `i`'s values.
    ///
    /// # Panics
    /// `i` is out of range.
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.num_cols()).map(|j| self.get(i, j)).collect()
    }

    /// Every value, row-major: the rows one after another.
    pub fn to_row_major(&self) -> Vec<f64> {
        (0..self.num_rows()).flat_map(|i| self.row(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [[1, 0, 2], [0, 3, 0]] in each of Spark's four forms.
    fn four_forms() -> Vec<Matrix> {
        vec![
            Matrix::Dense(
                DenseMatrix::new(2, 3, vec![1.0, 0.0, 0.0, 3.0, 2.0, 0.0], false).unwrap(),
            ),
            Matrix::Dense(
                DenseMatrix::new(2, 3, vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0], true).unwrap(),
            ),
            Matrix::Sparse(
                SparseMatrix::new(
                    2,
                    3,
                    vec![0, 1, 2, 3],
                    vec![0, 1, 0],
                    vec![1.0, 3.0, 2.0],
                    false,
                )
                .unwrap(),
            ),
            Matrix::Sparse(
                SparseMatrix::new(
                    2,
                    3,
                    vec![0, 2, 3],
                    vec![0, 2, 1],
                    vec![1.0, 2.0, 3.0],
                    true,
                )
                .unwrap(),
            ),
        ]
    }

    #[test]
    fn every_form_reads_the_same_values() {
        for m in four_forms() {
            assert_eq!((m.num_rows(), m.num_cols()), (2, 3));
            assert_eq!(m.to_row_major(), [1.0, 0.0, 2.0, 0.0, 3.0, 0.0], "{m:?}");
            assert_eq!(m.row(1), [0.0, 3.0, 0.0]);
        }
    }

    #[test]
    fn malformed_matrices_are_refused_naming_the_problem() {
        let err = |r: Result<SparseMatrix>| r.unwrap_err().to_string();
        let dense = DenseMatrix::new(2, 3, vec![1.0; 5], false)
            .unwrap_err()
            .to_string();
        assert!(dense.contains("needs 6 values, not 5"), "{dense}");
        let pointers = err(SparseMatrix::new(
            2,
            3,
            vec![0, 1, 2],
            vec![0, 1],
            vec![1.0, 2.0],
            false,
        ));
        assert!(pointers.contains("3 pointers for 3 columns"), "{pointers}");
        let order = err(SparseMatrix::new(
            2,
            1,
            vec![0, 2],
            vec![1, 0],
            vec![1.0, 2.0],
            false,
        ));
        assert!(order.contains("do not increase"), "{order}");
        let range = err(SparseMatrix::new(
            2,
            1,
            vec![0, 1],
            vec![2],
            vec![1.0],
            false,
        ));
        assert!(range.contains("out of range"), "{range}");
        let backwards = err(SparseMatrix::new(
            2,
            2,
            vec![0, 2, 1],
            vec![0],
            vec![1.0],
            false,
        ));
        assert!(
            backwards.contains("pointers 0 to 2 are not a range"),
            "{backwards}"
        );
    }
}
