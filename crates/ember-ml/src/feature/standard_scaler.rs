//! `StandardScaler`: features divided by their standard deviation, and optionally centered
//! on their mean (Spark's `org.apache.spark.ml.feature.StandardScaler` and
//! `StandardScalerModel`).
//!
//! The deviation is the unbiased one (`n - 1`), as Spark's. A feature that never varies
//! becomes 0. Without centering (`withMean` false, the default) sparse vectors stay sparse;
//! centering makes every vector dense.

use super::scale::Scale;
use super::{column, unary_columns, with_output_default, UnaryStage};
use crate::dataset::InstanceColumns;
use crate::linalg::{
    is_vector_type, vector_field, vectors_to_array, Vector, VectorColumn, Vectors,
};
use crate::param::{setter, shared, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, Estimator, Transformer};
use crate::stat::FeatureSummary;
use crate::{Error, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::Schema;
use ember_core::StorageLevel;
use ember_sql::DataFrame;

const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.feature.StandardScaler";
const MODEL_CLASS: &str = "org.apache.spark.ml.feature.StandardScalerModel";

const PARAMS: &[ParamSpec] = &[
    shared::INPUT_COL,
    shared::OUTPUT_COL,
    ParamSpec::new(
        "withMean",
        ParamKind::Bool,
        "Whether to center data with mean",
    ),
    ParamSpec::new(
        "withStd",
        ParamKind::Bool,
        "Whether to scale the data to unit standard deviation",
    ),
];

fn default_params(params: Params) -> Params {
    with_output_default(params)
        .default("withMean", ParamValue::Bool(false))
        .default("withStd", ParamValue::Bool(true))
}

/// Fits each feature's mean and deviation (Spark's `StandardScaler`).
#[derive(Debug, Clone)]
pub struct StandardScaler {
    params: Params,
}

impl Default for StandardScaler {
    fn default() -> Self {
        StandardScaler::new()
    }
}

impl UnaryStage for StandardScaler {}

impl StandardScaler {
    /// A scaler with Spark's defaults: scale, do not center.
    pub fn new() -> StandardScaler {
        StandardScaler {
            params: default_params(Params::new("stdScal", PARAMS)),
        }
    }

    /// The vector column to scale.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The vector column the model adds.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }

    setter!(
        /// Whether to subtract the mean (default false).
        set_with_mean, "withMean", bool, ParamValue::Bool
    );
    setter!(
        /// Whether to divide by the standard deviation (default true).
        set_with_std, "withStd", bool, ParamValue::Bool
    );
}

has_params!(StandardScaler);

impl Estimator for StandardScaler {
    type Model = StandardScalerModel;

    fn fit(&self, dataset: &DataFrame) -> Result<StandardScalerModel> {
        let (input, _) = unary_columns(&self.params, dataset, is_vector_type, "vector")?;
        let columns = InstanceColumns {
            features: input,
            label: None,
            weight: None,
        };
        let blocks = columns.blocks(dataset, StorageLevel::NONE)?;
        let summary = FeatureSummary::of(&blocks, 2)?;
        let params = self.params.copy_to(default_params(Params::with_uid(
            self.params.uid().to_string(),
            PARAMS,
        )));
        Ok(StandardScalerModel {
            params,
            std: summary.std(),
            mean: summary.mean(),
        })
    }
}

/// Scales features by fitted deviations and means (Spark's `StandardScalerModel`).
#[derive(Debug, Clone)]
pub struct StandardScalerModel {
    params: Params,
    std: Vec<f64>,
    mean: Vec<f64>,
}

impl StandardScalerModel {
    /// Each feature's standard deviation.
    pub fn std(&self) -> Vector {
        Vectors::dense(self.std.clone())
    }

    /// Each feature's mean.
    pub fn mean(&self) -> Vector {
        Vectors::dense(self.mean.clone())
    }
}

has_params!(StandardScalerModel);

impl Transformer for StandardScalerModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let (input, output) = unary_columns(&self.params, dataset, is_vector_type, "vector")?;
        let with_std = self.params.bool("withStd");
        let scale = self
            .std
            .iter()
            .map(|&s| match (with_std, s != 0.0) {
                (false, _) => 1.0,
                (true, true) => 1.0 / s,
                (true, false) => 0.0,
            })
            .collect();
        let shift = self.params.bool("withMean").then(|| self.mean.clone());
        add_columns(
            dataset,
            Scale {
                input,
                output,
                scale,
                shift,
                fitted_by: "the scaler".into(),
            },
        )
    }
}

impl MlWritable for StandardScalerModel {
    /// Spark's layout: one row of `std` and `mean`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let schema = Schema::new(vec![vector_field("std", true), vector_field("mean", true)]);
        let columns: Vec<ArrayRef> = vec![
            vectors_to_array(&[Some(self.std())]),
            vectors_to_array(&[Some(self.mean())]),
        ];
        dir.write_data(schema, columns)
    }
}

impl MlReadable for StandardScalerModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let vector = |name: &str| -> Result<Vec<f64>> {
            let v = VectorColumn::new(name, column(name, batch)?)?.get(0)?;
            v.map(|v| v.to_array())
                .ok_or_else(|| Error::Input(format!("{} has no {name}", dir.path())))
        };
        Ok(StandardScalerModel {
            params,
            std: vector("std")?,
            mean: vector("mean")?,
        })
    }
}

params_only_persistence!(StandardScaler, ESTIMATOR_CLASS);
