//! Vector columns in Arrow record batches, laid out as Spark's `VectorUDT` stores them.
//!
//! Spark keeps a vector as a struct of four fields: `type` (a byte, 0 for sparse and 1 for
//! dense, never null), `size` (an int, set for sparse vectors only), `indices` (a list of
//! ints, sparse only) and `values` (a list of doubles). The lists' elements are never null.
//! A column of that struct is what Spark writes to Parquet for a vector column, so ember's
//! vector columns take the same shape: a file of them needs only Spark's schema in its footer
//! to read back in Spark as vectors.

use super::{DenseMatrix, Matrix, SparseMatrix, SparseVector, Vector, Vectors};
use crate::{Error, Result};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int32Builder, Int8Builder,
    ListBuilder, StructArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type, Int32Type, Int8Type};
use std::sync::Arc;

/// `type` of a sparse vector.
const SPARSE: i8 = 0;
/// `type` of a dense vector.
const DENSE: i8 = 1;

/// The element of Spark's lists in Parquet, also used here so that the columns match.
fn element(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("element", data_type, false))
}

fn vector_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::Int8, false),
        Field::new("size", DataType::Int32, true),
        Field::new("indices", DataType::List(element(DataType::Int32)), true),
        Field::new("values", DataType::List(element(DataType::Float64)), true),
    ])
}

/// The Arrow type of a vector column: Spark's `VectorUDT` struct.
pub fn vector_data_type() -> DataType {
    DataType::Struct(vector_fields())
}

/// A vector column's field.
pub fn vector_field(name: &str, nullable: bool) -> Field {
    Field::new(name, vector_data_type(), nullable)
}

/// Whether `data_type` is a vector column's type.
pub fn is_vector_type(data_type: &DataType) -> bool {
    has_shape(data_type, &vector_fields())
}

/// Whether `data_type` is a struct of `expected`'s names and types.
fn has_shape(data_type: &DataType, expected: &Fields) -> bool {
    let DataType::Struct(fields) = data_type else {
        return false;
    };
    // Nullability and list element names are not part of the shape: Spark's files and
    // DataFusion's own lists name and mark them differently.
    let shape = |fields: &Fields| -> Vec<(String, DataType)> {
        fields
            .iter()
            .map(|f| {
                let kind = match f.data_type() {
                    DataType::List(item) => DataType::List(element(item.data_type().clone())),
                    other => other.clone(),
                };
                (f.name().clone(), kind)
            })
            .collect()
    };
    shape(fields) == shape(expected)
}

fn matrix_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::Int8, false),
        Field::new("numRows", DataType::Int32, false),
        Field::new("numCols", DataType::Int32, false),
        Field::new("colPtrs", DataType::List(element(DataType::Int32)), true),
        Field::new("rowIndices", DataType::List(element(DataType::Int32)), true),
        Field::new("values", DataType::List(element(DataType::Float64)), true),
        Field::new("isTransposed", DataType::Boolean, false),
    ])
}

/// The Arrow type of a matrix column: Spark's `MatrixUDT` struct (`type` 0 for sparse and
/// 1 for dense, `numRows`, `numCols`, `colPtrs` and `rowIndices` for sparse matrices only,
/// `values`, `isTransposed`).
pub fn matrix_data_type() -> DataType {
    DataType::Struct(matrix_fields())
}

/// Whether `data_type` is a matrix column's type.
pub fn is_matrix_type(data_type: &DataType) -> bool {
    has_shape(data_type, &matrix_fields())
}

/// A column of `matrices` (a null row for `None`).
pub fn matrices_to_array(matrices: &[Option<Matrix>]) -> ArrayRef {
    let mut kinds = Int8Builder::new();
    let (mut rows, mut cols) = (Int32Builder::new(), Int32Builder::new());
    let mut col_ptrs = ListBuilder::new(Int32Builder::new()).with_field(element(DataType::Int32));
    let mut row_indices =
        ListBuilder::new(Int32Builder::new()).with_field(element(DataType::Int32));
    let mut values = ListBuilder::new(Float64Builder::new()).with_field(element(DataType::Float64));
    let mut transposed = BooleanBuilder::new();
    let ints = |xs: &[u32]| xs.iter().map(|&x| Some(x as i32)).collect::<Vec<_>>();
    for matrix in matrices {
        // Sides stop at `MAX_SIZE`, so each fits an i32.
        let sides = matrix
            .as_ref()
            .map_or((0, 0), |m| (m.num_rows(), m.num_cols()));
        rows.append_value(sides.0 as i32);
        cols.append_value(sides.1 as i32);
        match matrix {
            None | Some(Matrix::Dense(_)) => {
                kinds.append_value(DENSE);
                col_ptrs.append_null();
                row_indices.append_null();
            }
            Some(Matrix::Sparse(s)) => {
                kinds.append_value(SPARSE);
                col_ptrs.append_value(ints(s.col_ptrs()));
                row_indices.append_value(ints(s.row_indices()));
            }
        }
        match matrix {
            None => {
                values.append_null();
                transposed.append_value(false);
            }
            Some(Matrix::Dense(d)) => {
                values.append_value(d.values().iter().copied().map(Some));
                transposed.append_value(d.is_transposed());
            }
            Some(Matrix::Sparse(s)) => {
                values.append_value(s.values().iter().copied().map(Some));
                transposed.append_value(s.is_transposed());
            }
        }
    }
    let nulls = NullBuffer::from_iter(matrices.iter().map(Option::is_some));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(kinds.finish()),
        Arc::new(rows.finish()),
        Arc::new(cols.finish()),
        Arc::new(col_ptrs.finish()),
        Arc::new(row_indices.finish()),
        Arc::new(values.finish()),
        Arc::new(transposed.finish()),
    ];
    Arc::new(StructArray::new(matrix_fields(), columns, Some(nulls)))
}

/// Row `i` of the matrix column `name`; `None` for a null row.
///
/// # Errors
/// `array` holds no matrices, or the row is not a well-formed matrix.
///
/// # Panics
/// `i` is not below the column's length.
pub fn matrix_at(name: &str, array: &ArrayRef, i: usize) -> Result<Option<Matrix>> {
    let malformed = |problem: &str| {
        Error::Input(format!(
            "row {i} of matrix column {name} is not a matrix: {problem}"
        ))
    };
    let rows = match array.as_struct_opt() {
        Some(rows) if is_matrix_type(array.data_type()) => rows,
        _ => {
            return Err(Error::Input(format!(
                "column {name} must hold matrices, but its type is {}",
                array.data_type()
            )))
        }
    };
    if rows.is_null(i) {
        return Ok(None);
    }
    let list = |n: usize, what: &str| -> Result<ArrayRef> {
        let list = rows.column(n).as_list::<i32>();
        if list.is_null(i) {
            return Err(malformed(&format!("no {what}")));
        }
        Ok(list.value(i))
    };
    let unsigned = |n: usize, what: &str| -> Result<Vec<u32>> {
        let items = list(n, what)?;
        let items = items.as_primitive::<Int32Type>().values().iter();
        items
            .map(|&x| {
                u32::try_from(x).map_err(|_| malformed(&format!("a negative entry of {what}")))
            })
            .collect()
    };
    let side = |n: usize| usize::try_from(rows.column(n).as_primitive::<Int32Type>().value(i));
    let (Ok(num_rows), Ok(num_cols)) = (side(1), side(2)) else {
        return Err(malformed("a negative side"));
    };
    let values = list(5, "values")?
        .as_primitive::<Float64Type>()
        .values()
        .to_vec();
    let transposed = rows.column(6).as_boolean().value(i);
    let matrix = match rows.column(0).as_primitive::<Int8Type>().value(i) {
        DENSE => DenseMatrix::new(num_rows, num_cols, values, transposed).map(Matrix::Dense),
        SPARSE => {
            let col_ptrs = unsigned(3, "colPtrs")?;
            let row_indices = unsigned(4, "rowIndices")?;
            SparseMatrix::new(
                num_rows,
                num_cols,
                col_ptrs,
                row_indices,
                values,
                transposed,
            )
            .map(Matrix::Sparse)
        }
        other => return Err(malformed(&format!("type {other}, neither 0 nor 1"))),
    };
    matrix.map(Some).map_err(|e| malformed(&e.to_string()))
}

/// A column of `vectors` (a null row for `None`).
pub fn vectors_to_array(vectors: &[Option<Vector>]) -> ArrayRef {
    let mut kinds = Int8Builder::with_capacity(vectors.len());
    let mut sizes = Int32Builder::with_capacity(vectors.len());
    let mut indices = ListBuilder::new(Int32Builder::new()).with_field(element(DataType::Int32));
    let mut values = ListBuilder::new(Float64Builder::new()).with_field(element(DataType::Float64));
    for vector in vectors {
        match vector {
            None => {
                // `type` is never null: a null row still has one, hidden by the row's null.
                kinds.append_value(DENSE);
                sizes.append_null();
                indices.append_null();
                values.append_null();
            }
            Some(Vector::Dense(d)) => {
                kinds.append_value(DENSE);
                sizes.append_null();
                indices.append_null();
                values.append_value(d.values().iter().copied().map(Some));
            }
            Some(Vector::Sparse(s)) => {
                kinds.append_value(SPARSE);
                // Sizes stop at `MAX_SIZE`, so each fits an i32.
                sizes.append_value(s.size() as i32);
                indices.append_value(s.indices().iter().map(|&i| Some(i as i32)));
                values.append_value(s.values().iter().copied().map(Some));
            }
        }
    }
    let nulls = NullBuffer::from_iter(vectors.iter().map(Option::is_some));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(kinds.finish()),
        Arc::new(sizes.finish()),
        Arc::new(indices.finish()),
        Arc::new(values.finish()),
    ];
    Arc::new(StructArray::new(vector_fields(), columns, Some(nulls)))
}

/// A vector column of a record batch, read a row at a time.
pub struct VectorColumn<'a> {
    name: &'a str,
    rows: &'a StructArray,
}

impl<'a> VectorColumn<'a> {
    /// Column `name`, whose values are `array`.
    ///
    /// # Errors
    /// `array` does not hold vectors.
    pub fn new(name: &'a str, array: &'a ArrayRef) -> Result<VectorColumn<'a>> {
        match array.as_struct_opt() {
            Some(rows) if is_vector_type(array.data_type()) => Ok(VectorColumn { name, rows }),
            _ => Err(Error::Input(format!(
                "column {name} must hold vectors, but its type is {}; build one with \
                 VectorAssembler, or give the column of features",
                array.data_type()
            ))),
        }
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`'s vector; `None` for a null row.
    ///
    /// # Errors
    /// The row is not a well-formed vector (such as a sparse one with indices out of order).
    ///
    /// # Panics
    /// `i` is not below [`VectorColumn::len`].
    pub fn get(&self, i: usize) -> Result<Option<Vector>> {
        if self.rows.is_null(i) {
            return Ok(None);
        }
        let column = |n: usize| self.rows.column(n);
        let values = self.list_values::<Float64Type>(column(3), i, "values")?;
        match column(0).as_primitive::<Int8Type>().value(i) {
            DENSE => Ok(Some(Vectors::dense(values))),
            SPARSE => {
                let size = column(1).as_primitive::<Int32Type>();
                if size.is_null(i) || size.value(i) < 0 {
                    return Err(self.malformed(i, "a sparse vector without a size"));
                }
                let indices = self.list_values::<Int32Type>(column(2), i, "indices")?;
                let indices = indices
                    .into_iter()
                    .map(u32::try_from)
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(|_| self.malformed(i, "a negative index"))?;
                SparseVector::new(size.value(i) as usize, indices, values)
                    .map(|s| Some(Vector::Sparse(s)))
                    .map_err(|e| self.malformed(i, &e.to_string()))
            }
            other => Err(self.malformed(i, &format!("type {other}, neither 0 nor 1"))),
        }
    }

    /// Every row's vector.
    ///
    /// # Errors
    /// A row is not a well-formed vector.
    pub fn to_vec(&self) -> Result<Vec<Option<Vector>>> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    fn list_values<T>(&self, list: &ArrayRef, i: usize, what: &str) -> Result<Vec<T::Native>>
    where
        T: datafusion::arrow::datatypes::ArrowPrimitiveType,
    {
        let list = list.as_list::<i32>();
        if list.is_null(i) {
            return Err(self.malformed(i, &format!("no {what}")));
        }
        let items = list.value(i);
        let items = items.as_primitive::<T>();
        if items.null_count() > 0 {
            return Err(self.malformed(i, &format!("a null among its {what}")));
        }
        Ok(items.values().to_vec())
    }

    fn malformed(&self, i: usize, problem: &str) -> Error {
        Error::Input(format!(
            "row {i} of vector column {} is not a vector: {problem}",
            self.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, StructArray};

    #[test]
    fn matrices_go_through_a_column_and_back_in_their_form() {
        let matrices = vec![
            Some(Matrix::Dense(
                DenseMatrix::new(2, 3, vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0], true).unwrap(),
            )),
            None,
            Some(Matrix::Sparse(
                SparseMatrix::new(
                    2,
                    3,
                    vec![0, 1, 2, 3],
                    vec![0, 1, 0],
                    vec![1.0, 3.0, 2.0],
                    false,
                )
                .unwrap(),
            )),
        ];
        let array = matrices_to_array(&matrices);
        assert!(is_matrix_type(array.data_type()));
        assert!(!is_vector_type(array.data_type()));
        let back: Vec<_> = (0..3).map(|i| matrix_at("m", &array, i).unwrap()).collect();
        assert_eq!(back, matrices);
        let rows = array.as_struct();
        assert_eq!(
            rows.column(0).as_primitive::<Int8Type>().values().to_vec(),
            [1, 1, 0]
        );
        let transposed: Vec<_> = rows.column(6).as_boolean().iter().collect();
        assert_eq!(transposed, [Some(true), Some(false), Some(false)]);
        let numbers: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let err = matrix_at("m", &numbers, 0).unwrap_err().to_string();
        assert!(err.contains("column m must hold matrices"), "{err}");
    }

    #[test]
    fn vectors_go_through_a_column_and_back_in_their_form() {
        let vectors = vec![
            Some(Vectors::dense(vec![1.0, -2.5, 0.0])),
            None,
            Some(Vectors::sparse(7, vec![0, 6], vec![3.0, 4.0]).unwrap()),
            Some(Vectors::sparse(2, vec![], vec![]).unwrap()),
            Some(Vectors::dense(vec![])),
        ];
        let array = vectors_to_array(&vectors);
        assert!(is_vector_type(array.data_type()));
        assert_eq!(array.null_count(), 1);
        let column = VectorColumn::new("features", &array).unwrap();
        let back = column.to_vec().unwrap();
        assert_eq!(back, vectors);
        assert!(matches!(back[2], Some(Vector::Sparse(_))));
        // Spark's layout: sparse rows carry their size, dense rows none.
        let rows = array.as_struct();
        let (kinds, sizes) = (
            rows.column(0).as_primitive::<Int8Type>(),
            rows.column(1).as_primitive::<Int32Type>(),
        );
        assert_eq!(kinds.values().to_vec(), [1, 1, 0, 0, 1]);
        assert_eq!(
            sizes.iter().collect::<Vec<_>>(),
            [None, None, Some(7), Some(2), None]
        );
    }

    #[test]
    fn a_column_that_is_not_vectors_is_named() {
        let numbers: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        let err = VectorColumn::new("features", &numbers)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("column features must hold vectors"), "{err}");
        assert!(err.contains("VectorAssembler"), "{err}");
    }

    #[test]
    fn a_malformed_row_is_named_by_row_and_column() {
        let good = vectors_to_array(&[Some(Vectors::sparse(3, vec![2], vec![1.0]).unwrap())]);
        let rows = good.as_struct();
        // The same row, but of size 2: its index 2 is out of range.
        let columns = vec![
            rows.column(0).clone(),
            Arc::new(Int32Array::from(vec![2])) as ArrayRef,
            rows.column(2).clone(),
            rows.column(3).clone(),
        ];
        let bad: ArrayRef = Arc::new(StructArray::new(vector_fields(), columns, None));
        let err = VectorColumn::new("v", &bad)
            .unwrap()
            .get(0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 0 of vector column v"), "{err}");
        assert!(err.contains("index 2 is out of range"), "{err}");
    }
}
