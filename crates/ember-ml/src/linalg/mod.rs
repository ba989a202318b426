//! Vectors and matrices, as Spark's `org.apache.spark.ml.linalg`. A vector is the values a
//! feature column holds for a row, dense (every value) or sparse (the size, and the indices
//! and values of the entries that may be non-zero); a [`Matrix`] is what a multinomial
//! model's coefficients are.
//!
//! Two vectors are equal when they have the same size and the same values, whichever way
//! each is kept, as in Spark. [`Vector::compressed`] picks the smaller form by Spark's rule,
//! so a model's coefficients or a row's features take the space Spark's would.
//!
//! In a record batch a vector column is a struct of Spark's `VectorUDT` (see
//! [`vector_data_type`]), so Parquet files of vectors read the same in ember and in Spark.

mod column;
mod matrix;

pub use column::{
    is_matrix_type, is_vector_type, matrices_to_array, matrix_at, matrix_data_type,
    vector_data_type, vector_field, vectors_to_array, VectorColumn,
};
pub use matrix::{DenseMatrix, Matrix, SparseMatrix};

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest size a vector may have: Spark's sizes and indices are 32-bit signed integers.
pub const MAX_SIZE: usize = i32::MAX as usize;

/// A vector of doubles (Spark's `Vector`), dense or sparse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Vector {
    /// Every value.
    Dense(DenseVector),
    /// The size, and the entries that may be non-zero.
    Sparse(SparseVector),
}

/// Every value of a vector (Spark's `DenseVector`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseVector {
    values: Vec<f64>,
}

/// A vector's size and the indices and values of its active entries, indices strictly
/// increasing (Spark's `SparseVector`). Entries not listed are zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    size: usize,
    indices: Vec<u32>,
    values: Vec<f64>,
}

/// Ways to make vectors (Spark's `Vectors`).
pub struct Vectors;

impl Vectors {
    /// A dense vector of `values`.
    pub fn dense(values: Vec<f64>) -> Vector {
        Vector::Dense(DenseVector { values })
    }

    /// A sparse vector of `size` whose entries at `indices` (strictly increasing, each below
    /// `size`) hold `values`.
    ///
    /// # Errors
    /// The indices and values differ in number, an index is out of order or out of range, or
    /// `size` is over [`MAX_SIZE`].
    pub fn sparse(size: usize, indices: Vec<u32>, values: Vec<f64>) -> Result<Vector> {
        SparseVector::new(size, indices, values).map(Vector::Sparse)
    }

    /// A sparse vector of `size` from `(index, value)` entries in any order.
    ///
    /// # Errors
    /// An index appears twice or is out of range, or `size` is over [`MAX_SIZE`].
    pub fn sparse_from_entries(size: usize, mut entries: Vec<(u32, f64)>) -> Result<Vector> {
        entries.sort_by_key(|&(index, _)| index);
        let (indices, values) = entries.into_iter().unzip();
        Vectors::sparse(size, indices, values)
    }

    /// A dense vector of `size` zeros.
    pub fn zeros(size: usize) -> Vector {
        Vectors::dense(vec![0.0; size])
    }
}

impl DenseVector {
    /// The values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl SparseVector {
    /// See [`Vectors::sparse`].
    ///
    /// # Errors
    /// As [`Vectors::sparse`].
    pub fn new(size: usize, indices: Vec<u32>, values: Vec<f64>) -> Result<SparseVector> {
        if size > MAX_SIZE {
            return Err(Error::Input(format!(
                "a vector of size {size} is larger than the largest Spark allows ({MAX_SIZE})"
            )));
        }
        if indices.len() != values.len() {
            return Err(Error::Input(format!(
                "a sparse vector needs as many indices as values: {} indices and {} values \
                 were given",
                indices.len(),
                values.len()
            )));
        }
        if let Some(w) = indices.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::Input(format!(
                "the indices of a sparse vector must be strictly increasing: {} follows {}; \
                 sort them, without repeats (or use Vectors::sparse_from_entries)",
                w[1], w[0]
            )));
        }
        if let Some(&last) = indices.last().filter(|&&last| last as usize >= size) {
            return Err(Error::Input(format!(
                "index {last} is out of range for a sparse vector of size {size}"
            )));
        }
        Ok(SparseVector {
            size,
            indices,
            values,
        })
    }

    /// The size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The indices of the active entries, increasing.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// The values of the active entries, in the order of [`SparseVector::indices`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl Vector {
    /// How many values the vector has, zeros included.
    pub fn size(&self) -> usize {
        match self {
            Vector::Dense(d) => d.values.len(),
            Vector::Sparse(s) => s.size,
        }
    }

    /// The value at `index`.
    ///
    /// # Panics
    /// `index` is not below [`Vector::size`].
    pub fn get(&self, index: usize) -> f64 {
        assert!(
            index < self.size(),
            "index {index} out of range for a vector of size {}",
            self.size()
        );
        match self {
            Vector::Dense(d) => d.values[index],
            Vector::Sparse(s) => match s.indices.binary_search(&(index as u32)) {
                Ok(at) => s.values[at],
                Err(_) => 0.0,
            },
        }
    }

    /// The entries kept (every one of a dense vector), as `(index, value)`, by index.
    pub fn active(&self) -> Box<dyn Iterator<Item = (usize, f64)> + '_> {
        match self {
            Vector::Dense(d) => Box::new(d.values.iter().copied().enumerate()),
            Vector::Sparse(s) => Box::new(
                s.indices
                    .iter()
                    .zip(&s.values)
                    .map(|(&i, &v)| (i as usize, v)),
            ),
        }
    }

    /// How many entries are kept (Spark's `numActives`).
    pub fn num_actives(&self) -> usize {
        match self {
            Vector::Dense(d) => d.values.len(),
            Vector::Sparse(s) => s.values.len(),
        }
    }

    /// How many values are not zero.
    pub fn num_nonzeros(&self) -> usize {
        self.active().filter(|&(_, v)| v != 0.0).count()
    }

    /// Every value, zeros included.
    pub fn to_array(&self) -> Vec<f64> {
        match self {
            Vector::Dense(d) => d.values.clone(),
            Vector::Sparse(s) => {
                let mut values = vec![0.0; s.size];
                for (i, v) in self.active() {
                    values[i] = v;
                }
                values
            }
        }
    }

    /// The same values, dense.
    pub fn to_dense(&self) -> DenseVector {
        DenseVector {
            values: self.to_array(),
        }
    }

    /// The same values, sparse, keeping only the non-zero ones.
    pub fn to_sparse(&self) -> SparseVector {
        let (indices, values) = self
            .active()
            .filter(|&(_, v)| v != 0.0)
            .map(|(i, v)| (i as u32, v))
            .unzip();
        SparseVector {
            size: self.size(),
            indices,
            values,
        }
    }

    /// The same values in the form that takes less space, by Spark's rule: sparse when
    /// 1.5 × (non-zeros + 1) is less than the size, else dense.
    pub fn compressed(&self) -> Vector {
        let nonzeros = self.num_nonzeros() as f64;
        if 1.5 * (nonzeros + 1.0) < self.size() as f64 {
            Vector::Sparse(self.to_sparse())
        } else {
            Vector::Dense(self.to_dense())
        }
    }

    /// The dot product with `other`.
    ///
    /// # Errors
    /// The sizes differ.
    pub fn dot(&self, other: &Vector) -> Result<f64> {
        same_size(self, other, "dot product")?;
        Ok(match (self, other) {
            (Vector::Dense(a), Vector::Dense(b)) => {
                a.values.iter().zip(&b.values).map(|(x, y)| x * y).sum()
            }
            (Vector::Dense(d), sparse) | (sparse, Vector::Dense(d)) => {
                sparse.active().map(|(i, v)| v * d.values[i]).sum()
            }
            (Vector::Sparse(a), Vector::Sparse(b)) => sparse_pairs(a, b).map(|(x, y)| x * y).sum(),
        })
    }

    /// The squared Euclidean distance to `other` (Spark's `Vectors.sqdist`).
    ///
    /// # Errors
    /// The sizes differ.
    pub fn sqdist(&self, other: &Vector) -> Result<f64> {
        same_size(self, other, "distance")?;
        Ok(match (self, other) {
            (Vector::Sparse(a), Vector::Sparse(b)) => {
                sparse_pairs(a, b).map(|(x, y)| (x - y) * (x - y)).sum()
            }
            _ => {
                let (a, b) = (self.to_array(), other.to_array());
                a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum()
            }
        })
    }

    /// The `p`-norm (`p` ≥ 1; `f64::INFINITY` for the largest absolute value).
    ///
    /// # Panics
    /// `p` is less than 1.
    pub fn norm(&self, p: f64) -> f64 {
        assert!(p >= 1.0, "a vector's p-norm needs p >= 1, not {p}");
        let magnitudes = self.active().map(|(_, v)| v.abs());
        if p == 1.0 {
            magnitudes.sum()
        } else if p == 2.0 {
            magnitudes.map(|v| v * v).sum::<f64>().sqrt()
        } else if p.is_infinite() {
            magnitudes.fold(0.0, f64::max)
        } else {
            magnitudes.map(|v| v.powf(p)).sum::<f64>().powf(1.0 / p)
        }
    }

    /// The index of the largest value, the first of equals; `None` for an empty vector.
    pub fn argmax(&self) -> Option<usize> {
        let values = self.to_array();
        let mut best: Option<usize> = None;
        for (i, &v) in values.iter().enumerate() {
            if best.is_none_or(|b| v > values[b]) {
                best = Some(i);
            }
        }
        best
    }
}

impl PartialEq for Vector {
    fn eq(&self, other: &Vector) -> bool {
        match (self, other) {
            (Vector::Dense(a), Vector::Dense(b)) => a == b,
            _ => self.size() == other.size() && self.to_array() == other.to_array(),
        }
    }
}

fn same_size(a: &Vector, b: &Vector, what: &str) -> Result<()> {
    if a.size() == b.size() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "a {what} needs vectors of one size, not {} and {}",
        a.size(),
        b.size()
    )))
}

/// The values of `a` and `b` at every index either keeps, zero where the other has none.
fn sparse_pairs<'a>(
    a: &'a SparseVector,
    b: &'a SparseVector,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    use std::cmp::Ordering;
    // Past the last index: no index reaches it, as sizes stop at `MAX_SIZE`.
    const END: u32 = u32::MAX;
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let x = a.indices.get(i).copied().unwrap_or(END);
        let y = b.indices.get(j).copied().unwrap_or(END);
        match x.cmp(&y) {
            Ordering::Equal if x == END => None,
            Ordering::Equal => {
                (i, j) = (i + 1, j + 1);
                Some((a.values[i - 1], b.values[j - 1]))
            }
            Ordering::Less => {
                i += 1;
                Some((a.values[i - 1], 0.0))
            }
            Ordering::Greater => {
                j += 1;
                Some((0.0, b.values[j - 1]))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_sparse_vectors_are_refused_naming_the_fix() {
        let err = |r: Result<Vector>| r.unwrap_err().to_string();
        let unequal = err(Vectors::sparse(4, vec![0, 1], vec![1.0]));
        assert!(unequal.contains("2 indices and 1 values"), "{unequal}");
        let unsorted = err(Vectors::sparse(4, vec![2, 1], vec![1.0, 2.0]));
        assert!(unsorted.contains("1 follows 2"), "{unsorted}");
        assert!(unsorted.contains("sparse_from_entries"), "{unsorted}");
        let repeated = err(Vectors::sparse_from_entries(4, vec![(1, 1.0), (1, 2.0)]));
        assert!(repeated.contains("1 follows 1"), "{repeated}");
        let outside = err(Vectors::sparse(4, vec![1, 4], vec![1.0, 2.0]));
        assert!(outside.contains("index 4 is out of range"), "{outside}");
        let huge = err(Vectors::sparse(MAX_SIZE + 1, vec![], vec![]));
        assert!(huge.contains("larger than the largest"), "{huge}");
        let sizes = Vectors::zeros(2).dot(&Vectors::zeros(3)).unwrap_err();
        assert!(sizes.to_string().contains("not 2 and 3"), "{sizes}");
    }

    #[test]
    fn compressed_picks_the_form_by_sparks_rule() {
        // 1.5 * (1 + 1) = 3 is not less than 3: dense; at size 4 it is: sparse.
        assert!(matches!(
            Vectors::dense(vec![0.0, 5.0, 0.0]).compressed(),
            Vector::Dense(_)
        ));
        let sparse = Vectors::dense(vec![0.0, 5.0, 0.0, 0.0]).compressed();
        assert_eq!(
            sparse,
            Vector::Sparse(SparseVector::new(4, vec![1], vec![5.0]).unwrap())
        );
        assert!(matches!(sparse, Vector::Sparse(_)));
    }

    #[test]
    fn norms_and_argmax() {
        let v = Vectors::sparse(5, vec![1, 3], vec![-3.0, 4.0]).unwrap();
        assert_eq!(v.norm(1.0), 7.0);
        assert_eq!(v.norm(2.0), 5.0);
        assert_eq!(v.norm(f64::INFINITY), 4.0);
        assert!((v.norm(3.0) - (27.0f64 + 64.0).powf(1.0 / 3.0)).abs() < 1e-12);
        assert_eq!(v.argmax(), Some(3));
        assert_eq!(Vectors::dense(vec![-1.0, -1.0]).argmax(), Some(0));
        assert_eq!(Vectors::dense(vec![]).argmax(), None);
    }

    /// A vector of `size` up to 12 with about a third of its values set, in either form.
    fn any_vector(size: usize) -> impl Strategy<Value = Vector> {
        (
            proptest::collection::vec(
                prop_oneof![Just(0.0), -100.0..100.0f64, -100.0..100.0f64],
                size,
            ),
            any::<bool>(),
        )
            .prop_map(|(values, dense)| {
                let v = Vectors::dense(values);
                if dense {
                    v
                } else {
                    Vector::Sparse(v.to_sparse())
                }
            })
    }

    proptest! {
        #[test]
        fn every_form_gives_the_plain_arithmetic(
            (a, b) in (0..12usize).prop_flat_map(|n| (any_vector(n), any_vector(n)))
        ) {
            let (x, y) = (a.to_array(), b.to_array());
            let dot: f64 = x.iter().zip(&y).map(|(p, q)| p * q).sum();
            let dist: f64 = x.iter().zip(&y).map(|(p, q)| (p - q) * (p - q)).sum();
            prop_assert!((a.dot(&b).unwrap() - dot).abs() <= 1e-9 * (1.0 + dot.abs()));
            prop_assert!((a.sqdist(&b).unwrap() - dist).abs() <= 1e-9 * (1.0 + dist));
            prop_assert_eq!(a.compressed(), a.clone());
            prop_assert_eq!(a.num_nonzeros(), x.iter().filter(|v| **v != 0.0).count());
            for (i, value) in x.iter().enumerate() {
                prop_assert_eq!(a.get(i), *value);
            }
        }
    }
}
