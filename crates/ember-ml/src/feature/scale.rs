//! Scaling vectors entry by entry, shared by the models that do it.

use super::column;
use crate::linalg::{vector_field, vectors_to_array, Vector, VectorColumn, Vectors};
use crate::stage::BatchColumns;
use crate::{Error, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::Field;
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

/// Vectors shifted (optionally) and scaled entry by entry: what `StandardScalerModel` and
/// `IDFModel` do to each row. Without a shift sparse vectors stay sparse.
#[derive(Serialize, Deserialize)]
pub(crate) struct Scale {
    pub(crate) input: String,
    pub(crate) output: String,
    /// Each entry's factor.
    pub(crate) scale: Vec<f64>,
    /// What to subtract from each entry first.
    pub(crate) shift: Option<Vec<f64>>,
    /// The model, as its size error names it.
    pub(crate) fitted_by: String,
}

impl Scale {
    fn apply(&self, v: Vector) -> Result<Vector> {
        if v.size() != self.scale.len() {
            return Err(Error::Input(format!(
                "column {} has a vector of size {} but {} was fitted on size {}",
                self.input,
                v.size(),
                self.fitted_by,
                self.scale.len()
            )));
        }
        Ok(match (&self.shift, v) {
            (Some(mean), v) => {
                let values = v.to_array().into_iter().zip(mean).zip(&self.scale);
                Vectors::dense(values.map(|((x, m), s)| (x - m) * s).collect())
            }
            (None, Vector::Dense(d)) => Vectors::dense(
                d.values()
                    .iter()
                    .zip(&self.scale)
                    .map(|(x, s)| x * s)
                    .collect(),
            ),
            (None, Vector::Sparse(sv)) => {
                let values = sv.indices().iter().zip(sv.values());
                let values = values.map(|(&j, x)| x * self.scale[j as usize]).collect();
                Vectors::sparse(sv.size(), sv.indices().to_vec(), values)?
            }
        })
    }
}

impl BatchColumns for Scale {
    fn inputs(&self) -> Vec<String> {
        vec![self.input.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![vector_field(&self.output, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let input = VectorColumn::new(&self.input, column(&self.input, batch)?)?;
        let scaled = input
            .to_vec()?
            .into_iter()
            .map(|v| v.map(|v| self.apply(v)).transpose())
            .collect::<Result<Vec<_>>>()?;
        Ok(vec![vectors_to_array(&scaled)])
    }
}
