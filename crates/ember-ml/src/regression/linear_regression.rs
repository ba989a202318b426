//! `LinearRegression`: least squares with an optional elastic-net penalty, fitted as Spark
//! fits it (Spark's `org.apache.spark.ml.regression.LinearRegression`).
//!
//! # What is minimized
//!
//! With weights `wᵢ` summing to `W`, `λ = regParam`, `α = elasticNetParam`, and the label
//! standardized by its deviation `σ_y` (as Spark and R's glmnet do):
//!
//! ```text
//! 1/(2W) Σᵢ wᵢ (xᵢ·β + b - yᵢ)²  +  λ·(1-α)/(2σ_y) · Σⱼ (βⱼ·sⱼ)²  +  λ·α · Σⱼ |βⱼ·sⱼ|
//! ```
//!
//! where `sⱼ` is feature `j`'s deviation when `standardization` is on and 1 when it is off; the
//! intercept `b` is never penalized. scikit-learn's `ElasticNet(alpha=a, l1_ratio=r)` fits the
//! same model when `a·r = λ·α` and `a·(1-r) = λ·(1-α)/σ_y` with `standardization` off, and its
//! `Ridge(alpha=A)` when `A = W·λ/σ_y`.
//!
//! # Solvers
//!
//! - `normal` (chosen by `auto` up to 4096 features): one pass sums the normal equations,
//!   solved on the driver ([`crate::optim`]'s weighted least squares). Deviations are the
//!   population ones, as Spark's `WeightedLeastSquares` takes them.
//! - `l-bfgs` (chosen by `auto` above 4096 features): the rows are stacked in cached blocks and
//!   each step of L-BFGS (OWL-QN with an L1 part) is one pass returning loss and gradient sums,
//!   merged in a tree. Deviations are the unbiased ones, as Spark's `Summarizer` gives them.
//!
//! With a label that never varies the model is Spark's: coefficients 0 and the label as the
//! intercept. Not yet: the `huber` loss, refused with a clear error.

use crate::dataset::{require_column, require_new_column, InstanceBlock, InstanceColumns};
use crate::linalg::{
    is_vector_type, vector_data_type, vectors_to_array, Vector, VectorColumn, Vectors,
};
use crate::optim::lbfgs::{Lbfgs, Stop};
use crate::optim::weighted_least_squares::{
    LeastSquaresFit, NormalSums, WeightedLeastSquares, MAX_NUM_FEATURES,
};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Estimator, Transformer};
use crate::stat::FeatureSummary;
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::{Context, Fn, Rdd, StorageLevel};
use ember_sql::{col, DataFrame};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Spark's class of the estimator.
const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.regression.LinearRegression";
/// Spark's class of the model, as saved.
const MODEL_CLASS: &str = "org.apache.spark.ml.regression.LinearRegressionModel";

const SOLVER: ParamSpec = ParamSpec::new(
    "solver",
    ParamKind::String,
    "The solver algorithm for optimization. Supported options: auto, normal, l-bfgs. \
     (Default auto)",
)
.accepting(Accepts::OneOf(&["auto", "normal", "l-bfgs"]));
const LOSS: ParamSpec = ParamSpec::new(
    "loss",
    ParamKind::String,
    "The loss function to be optimized. Supported options: squaredError, huber. (Default \
     squaredError)",
)
.accepting(Accepts::OneOf(&["squaredError", "huber"]))
.since(2, 3);
const EPSILON: ParamSpec = ParamSpec::new(
    "epsilon",
    ParamKind::Double,
    "The shape parameter to control the amount of robustness. Must be > 1.0.",
)
.accepting(Accepts::AtLeast(1.0))
.since(2, 3);

/// The params of the estimator and its model (Spark's `LinearRegressionParams`).
const PARAMS: &[ParamSpec] = &[
    shared::AGGREGATION_DEPTH,
    shared::ELASTIC_NET_PARAM,
    EPSILON,
    shared::FEATURES_COL,
    shared::FIT_INTERCEPT,
    shared::LABEL_COL,
    LOSS,
    shared::MAX_BLOCK_SIZE_IN_MB,
    shared::MAX_ITER,
    shared::PREDICTION_COL,
    shared::REG_PARAM,
    SOLVER,
    shared::STANDARDIZATION,
    shared::TOL,
    shared::WEIGHT_COL,
];

/// The params with Spark's defaults.
fn default_params(params: Params) -> Params {
    let string = |s: &str| ParamValue::String(s.to_string());
    params
        .default("aggregationDepth", ParamValue::Int(2))
        .default("elasticNetParam", ParamValue::Double(0.0))
        .default("epsilon", ParamValue::Double(1.35))
        .default("featuresCol", string("features"))
        .default("fitIntercept", ParamValue::Bool(true))
        .default("labelCol", string("label"))
        .default("loss", string("squaredError"))
        .default("maxBlockSizeInMB", ParamValue::Double(0.0))
        .default("maxIter", ParamValue::Int(100))
        .default("predictionCol", string("prediction"))
        .default("regParam", ParamValue::Double(0.0))
        .default("solver", string("auto"))
        .default("standardization", ParamValue::Bool(true))
        .default("tol", ParamValue::Double(1e-6))
}

/// Fits a linear regression model (Spark's `LinearRegression`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::regression::LinearRegression;
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let rows = ctx
///     .sql("SELECT CAST(value AS DOUBLE) AS x, 3.0 * value + 1.0 AS label FROM range(10)")
///     .unwrap();
/// let training = VectorAssembler::new()
///     .set_input_cols(&["x"])
///     .set_output_col("features")
///     .transform(&rows)
///     .unwrap();
/// let model = LinearRegression::new().fit(&training).unwrap();
/// assert!((model.coefficients().get(0) - 3.0).abs() < 1e-9);
/// assert!((model.intercept() - 1.0).abs() < 1e-9);
/// let predicted = model.transform(&training).unwrap();
/// assert!(predicted.columns().contains(&"prediction".to_string()));
/// ```
#[derive(Debug, Clone)]
pub struct LinearRegression {
    params: Params,
}

impl Default for LinearRegression {
    fn default() -> Self {
        LinearRegression::new()
    }
}

impl LinearRegression {
    /// An estimator with Spark's defaults.
    pub fn new() -> LinearRegression {
        LinearRegression {
            params: default_params(Params::new("linReg", PARAMS)),
        }
    }

    setter!(
        /// The penalty's weight `λ` (Spark's `regParam`, default 0).
        set_reg_param, "regParam", f64, ParamValue::Double
    );
    setter!(
        /// The share `α` of the penalty that is L1, in [0, 1] (Spark's `elasticNetParam`,
        /// default 0: all L2).
        set_elastic_net_param, "elasticNetParam", f64, ParamValue::Double
    );
    setter!(
        /// The most iterations of the iterative solvers (default 100).
        set_max_iter, "maxIter", i32, ParamValue::Int
    );
    setter!(
        /// The convergence tolerance of the iterative solvers (default 1e-6).
        set_tol, "tol", f64, ParamValue::Double
    );
    setter!(
        /// Whether to fit an intercept (default true).
        set_fit_intercept, "fitIntercept", bool, ParamValue::Bool
    );
    setter!(
        /// Whether the penalty applies to standardized coefficients (default true).
        set_standardization, "standardization", bool, ParamValue::Bool
    );
    setter!(
        /// The solver: `auto` (default), `normal` or `l-bfgs`.
        set_solver, "solver", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The loss: `squaredError` (default; `huber` is not fitted yet).
        set_loss, "loss", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The features column (default `features`).
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The label column (default `label`).
        set_label_col, "labelCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The prediction column the model adds (default `prediction`).
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The depth of the tree that merges the tasks' sums (default 2).
        set_aggregation_depth, "aggregationDepth", i32, ParamValue::Int
    );

    /// Whether the normal equations solve this fit, given its number of features.
    fn uses_normal_equations(&self, num_features: usize) -> Result<bool> {
        let p = &self.params;
        if p.string("loss") == Some("huber") {
            return Err(Error::Input(
                "LinearRegression with loss huber is not supported yet; use squaredError".into(),
            ));
        }
        match p.string("solver") {
            Some("normal") if num_features > MAX_NUM_FEATURES => Err(Error::Input(format!(
                "the normal solver takes at most {MAX_NUM_FEATURES} features but column {} \
                 has {num_features}; use solver l-bfgs (or auto)",
                p.string("featuresCol").unwrap_or_default()
            ))),
            Some("normal") => Ok(true),
            Some("l-bfgs") => Ok(false),
            _ => Ok(num_features <= MAX_NUM_FEATURES),
        }
    }
}

has_params!(LinearRegression);

impl Estimator for LinearRegression {
    type Model = LinearRegressionModel;

    fn fit(&self, dataset: &DataFrame) -> Result<LinearRegressionModel> {
        self.params.validate()?;
        let p = &self.params;
        let features = p.string("featuresCol").unwrap_or_default().to_string();
        require_column(dataset, &features, is_vector_type, "vector")?;
        let normal = self.uses_normal_equations(first_vector_size(dataset, &features)?)?;
        let columns = InstanceColumns {
            features,
            label: p.string("labelCol").map(str::to_string),
            weight: p.string("weightCol").map(str::to_string),
        };
        // The normal equations need one pass; the iterations pass again and again, so keep
        // the blocks as Spark does (memory first, disk when memory is short).
        let level = if normal {
            StorageLevel::NONE
        } else {
            StorageLevel::MEMORY_AND_DISK
        };
        let blocks = columns.blocks(dataset, level)?;
        let fitted = if normal {
            self.fit_normal(&blocks)
        } else {
            Iterative::new(p, dataset.context()?, &blocks).and_then(|t| t.run())
        };
        blocks.unpersist();
        let fit = fitted?;
        let params = p.copy_to(default_params(Params::with_uid(
            p.uid().to_string(),
            PARAMS,
        )));
        Ok(LinearRegressionModel {
            coefficients: Vectors::dense(fit.coefficients),
            intercept: fit.intercept,
            scale: 1.0,
            params,
            summary: Some(LinearRegressionTrainingSummary {
                total_iterations: fit.objective_history.len().saturating_sub(1),
                objective_history: fit.objective_history,
            }),
        })
    }
}

impl LinearRegression {
    fn fit_normal(&self, blocks: &Rdd<InstanceBlock>) -> Result<LeastSquaresFit> {
        let p = &self.params;
        let sums = NormalSums::of(blocks, p.int("aggregationDepth") as usize)?;
        let (mean, std) = sums.label_mean_and_std();
        let num_features = sums.num_features();
        let label_std = match LabelScale::of(p, num_features, mean, std)? {
            LabelScale::Std(label_std) => label_std,
            LabelScale::Known(fit) => return Ok(fit),
        };
        let solver = WeightedLeastSquares {
            fit_intercept: p.bool("fitIntercept"),
            reg_param: p.double("regParam"),
            elastic_net_param: p.double("elasticNetParam"),
            standardize_features: p.bool("standardization"),
            max_iter: p.int("maxIter") as usize,
            tol: p.double("tol"),
        };
        solver.solve(&sums, label_std)
    }
}

/// The size of the first vector of column `features` of `dataset`.
///
/// # Errors
/// No rows, or a null first vector.
fn first_vector_size(dataset: &DataFrame, features: &str) -> Result<usize> {
    let first = dataset
        .select(vec![col(crate::dataset::quoted(features))])?
        .limit(1)?
        .collect()?;
    let batch = first.iter().find(|b| b.num_rows() > 0).ok_or_else(|| {
        Error::Input("the training data has no rows; fit on a DataFrame with rows".into())
    })?;
    let vector = VectorColumn::new(features, batch.column(0))?
        .get(0)?
        .ok_or_else(|| {
            Error::Input(format!(
                "column {features} has a null vector; drop such rows first (na.drop)"
            ))
        })?;
    Ok(vector.size())
}

/// How the label is scaled.
#[derive(Debug)]
enum LabelScale {
    /// By this deviation.
    Std(f64),
    /// Not at all: the label never varies and the model is known without training (Spark's
    /// `trainWithConstantLabel`).
    Known(LeastSquaresFit),
}

impl LabelScale {
    /// The scale of a label of weighted `mean` and deviation `std`.
    ///
    /// # Errors
    /// A label that never varies, no intercept and a penalty: the penalty cannot be scaled.
    fn of(p: &Params, num_features: usize, mean: f64, std: f64) -> Result<LabelScale> {
        if std > 0.0 {
            return Ok(LabelScale::Std(std));
        }
        if p.bool("fitIntercept") || mean == 0.0 {
            tracing::warn!(
                "the label never varies: the coefficients are 0 and the intercept is the \
                 label, without training"
            );
            return Ok(LabelScale::Known(LeastSquaresFit {
                coefficients: vec![0.0; num_features],
                intercept: mean,
                objective_history: vec![0.0],
            }));
        }
        if p.double("regParam") > 0.0 {
            return Err(Error::Input(format!(
                "label column {} never varies, so the model cannot be regularized; set \
                 fitIntercept to true or regParam to 0",
                p.string("labelCol").unwrap_or_default()
            )));
        }
        tracing::warn!("the label never varies; consider setting fitIntercept to true");
        Ok(LabelScale::Std(mean.abs()))
    }
}

/// What training went through (Spark's `LinearRegressionTrainingSummary`, in part).
#[derive(Debug, Clone)]
pub struct LinearRegressionTrainingSummary {
    /// The objective at the start and after each step, on the standardized scale; `[0.0]`
    /// when the normal equations were solved directly.
    pub objective_history: Vec<f64>,
    /// How many steps were taken.
    pub total_iterations: usize,
}

/// One L-BFGS fit: the settings, the blocks and what the first pass learned of them.
struct Iterative<'a> {
    ctx: Context,
    blocks: &'a Rdd<InstanceBlock>,
    fit_intercept: bool,
    standardization: bool,
    reg_param: f64,
    elastic_net_param: f64,
    depth: usize,
    lbfgs: Lbfgs,
    summary: FeatureSummary,
    params: Params,
}

impl<'a> Iterative<'a> {
    fn new(p: &Params, ctx: Context, blocks: &'a Rdd<InstanceBlock>) -> Result<Iterative<'a>> {
        let depth = p.int("aggregationDepth") as usize;
        Ok(Iterative {
            ctx,
            blocks,
            fit_intercept: p.bool("fitIntercept"),
            standardization: p.bool("standardization"),
            reg_param: p.double("regParam"),
            elastic_net_param: p.double("elasticNetParam"),
            depth,
            lbfgs: Lbfgs {
                max_iter: p.int("maxIter") as usize,
                tol: p.double("tol"),
                memory: 10,
            },
            summary: FeatureSummary::of(blocks, depth)?,
            params: p.clone(),
        })
    }

    fn run(&self) -> Result<LeastSquaresFit> {
        let d = self.summary.num_features;
        let (mean, raw_std) = (self.summary.label_mean(), self.summary.label_std());
        let label_std = match LabelScale::of(&self.params, d, mean, raw_std)? {
            LabelScale::Std(label_std) => label_std,
            LabelScale::Known(fit) => return Ok(fit),
        };
        let std = self.summary.std();
        let effective = self.reg_param / label_std;
        let l2 = effective * (1.0 - self.elastic_net_param);
        let l1 = effective * self.elastic_net_param;
        let l1_weights: Vec<f64> = std
            .iter()
            .map(|&s| match (self.standardization, s > 0.0) {
                (true, _) => l1,
                (false, true) => l1 / s,
                (false, false) => 0.0,
            })
            .collect();
        let scaled = Scaled {
            mean: self.summary.mean(),
            std: std.clone(),
            label_mean: mean,
            label_std,
            l2,
        };
        let minimum = self
            .lbfgs
            .minimize(|x| self.loss(x, &scaled), vec![0.0; d], &l1_weights)?;
        if minimum.stop == Stop::LineSearchFailed {
            tracing::warn!("the line search failed: the model may not be fully converged");
        }
        let coefficients: Vec<f64> = (0..d)
            .map(|j| {
                if std[j] > 0.0 {
                    minimum.x[j] * label_std / std[j]
                } else {
                    0.0
                }
            })
            .collect();
        let intercept = if self.fit_intercept {
            mean - coefficients
                .iter()
                .zip(&scaled.mean)
                .map(|(c, m)| c * m)
                .sum::<f64>()
        } else {
            0.0
        };
        Ok(LeastSquaresFit {
            coefficients,
            intercept,
            objective_history: minimum.objective_history,
        })
    }

    /// The standardized objective and its gradient at `x`, the standardized coefficients.
    fn loss(&self, x: &[f64], scaled: &Scaled) -> Result<(f64, Vec<f64>)> {
        let d = x.len();
        // On the original features: diff = x·e + offset - y/σ_y.
        let effective: Vec<f64> = (0..d)
            .map(|j| {
                if scaled.std[j] > 0.0 {
                    x[j] / scaled.std[j]
                } else {
                    0.0
                }
            })
            .collect();
        let offset = if self.fit_intercept {
            scaled.label_mean / scaled.label_std
                - effective
                    .iter()
                    .zip(&scaled.mean)
                    .map(|(e, m)| e * m)
                    .sum::<f64>()
        } else {
            0.0
        };
        let model = self.ctx.broadcast((effective, offset, scaled.label_std));
        let shared = model.clone();
        let sums = self.blocks.tree_aggregate(
            SquaresSums::zero(d),
            Fn!(move |sums: SquaresSums, block: InstanceBlock| {
                let (effective, offset, label_std) = shared.value();
                sums.add(&block, effective, *offset, *label_std)
            }),
            Fn!(|a: SquaresSums, b: SquaresSums| a.merge(b)),
            self.depth,
        );
        model.destroy();
        let sums = sums?;
        let weight = self.summary.weight_sum;
        let center = if self.fit_intercept { 1.0 } else { 0.0 };
        let mut value = sums.loss / weight;
        let mut gradient = vec![0.0; d];
        for j in 0..d {
            let s = scaled.std[j];
            if s == 0.0 {
                continue;
            }
            // Σ w·diff·(x - μ)/σ, from Σ w·diff·x and Σ w·diff.
            gradient[j] = (sums.gradient[j] - center * scaled.mean[j] * sums.diff_sum) / s / weight;
            let penalty = if self.standardization {
                1.0
            } else {
                1.0 / (s * s)
            };
            value += 0.5 * scaled.l2 * penalty * x[j] * x[j];
            gradient[j] += scaled.l2 * penalty * x[j];
        }
        Ok((value, gradient))
    }
}

/// The standardization of one fit and its L2 weight on the standardized scale.
struct Scaled {
    mean: Vec<f64>,
    std: Vec<f64>,
    label_mean: f64,
    label_std: f64,
    l2: f64,
}

/// A task's sums of the weighted squared residuals (halved), `Σ w·diff·x` and `Σ w·diff`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SquaresSums {
    loss: f64,
    gradient: Vec<f64>,
    diff_sum: f64,
}

impl SquaresSums {
    fn zero(num_features: usize) -> SquaresSums {
        SquaresSums {
            loss: 0.0,
            gradient: vec![0.0; num_features],
            diff_sum: 0.0,
        }
    }

    fn add(
        mut self,
        block: &InstanceBlock,
        effective: &[f64],
        offset: f64,
        label_std: f64,
    ) -> SquaresSums {
        for i in 0..block.len() {
            let weight = block.weight(i);
            let diff = block.dot(i, effective) + offset - block.label(i) / label_std;
            if weight == 0.0 || diff == 0.0 {
                continue;
            }
            self.loss += 0.5 * weight * diff * diff;
            block.add_scaled(i, weight * diff, &mut self.gradient);
            self.diff_sum += weight * diff;
        }
        self
    }

    fn merge(mut self, other: SquaresSums) -> SquaresSums {
        self.loss += other.loss;
        self.diff_sum += other.diff_sum;
        for (a, b) in self.gradient.iter_mut().zip(&other.gradient) {
            *a += b;
        }
        self
    }
}

/// A fitted linear regression model (Spark's `LinearRegressionModel`).
#[derive(Debug, Clone)]
pub struct LinearRegressionModel {
    params: Params,
    coefficients: Vector,
    intercept: f64,
    /// The scale of the huber loss; 1 for squared error.
    scale: f64,
    summary: Option<LinearRegressionTrainingSummary>,
}

impl LinearRegressionModel {
    /// The coefficients, one a feature.
    pub fn coefficients(&self) -> &Vector {
        &self.coefficients
    }

    /// The intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The scale of the loss (1 for squared error).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// How many features the model takes.
    pub fn num_features(&self) -> usize {
        self.coefficients.size()
    }

    /// What training went through; `None` for a loaded model.
    pub fn summary(&self) -> Option<&LinearRegressionTrainingSummary> {
        self.summary.as_ref()
    }

    setter!(
        /// The features column read.
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The prediction column added.
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );

    fn predictor(&self) -> Predictor {
        Predictor {
            coefficients: self.coefficients.to_array(),
            intercept: self.intercept,
        }
    }

    /// The prediction for `features`.
    ///
    /// # Errors
    /// `features` is not of the model's size.
    pub fn predict(&self, features: &Vector) -> Result<f64> {
        self.predictor().predict(features)
    }
}

has_params!(LinearRegressionModel);

impl Transformer for LinearRegressionModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.params.validate()?;
        let p = &self.params;
        let features = p.string("featuresCol").unwrap_or_default().to_string();
        require_column(dataset, &features, is_vector_type, "vector")?;
        let prediction = p.string("predictionCol").unwrap_or_default().to_string();
        require_new_column(dataset, &prediction)?;
        add_columns(
            dataset,
            PredictionColumn {
                features,
                prediction,
                predictor: self.predictor(),
            },
        )
    }
}

/// The model's numbers, shipped to the tasks that predict.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Predictor {
    coefficients: Vec<f64>,
    intercept: f64,
}

impl Predictor {
    fn predict(&self, features: &Vector) -> Result<f64> {
        if features.size() != self.coefficients.len() {
            return Err(Error::Input(format!(
                "a features vector has {} entries but the model was fitted on {}",
                features.size(),
                self.coefficients.len()
            )));
        }
        Ok(features
            .active()
            .map(|(j, v)| v * self.coefficients[j])
            .sum::<f64>()
            + self.intercept)
    }
}

/// The prediction column a model adds to each batch.
#[derive(Serialize, Deserialize)]
struct PredictionColumn {
    features: String,
    prediction: String,
    predictor: Predictor,
}

impl BatchColumns for PredictionColumn {
    fn inputs(&self) -> Vec<String> {
        vec![self.features.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new(&self.prediction, DataType::Float64, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let features = VectorColumn::new(&self.features, batch.column(0))?;
        let mut predictions = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            predictions.push(match features.get(i)? {
                Some(v) => Some(self.predictor.predict(&v)?),
                None => None,
            });
        }
        Ok(vec![Arc::new(Float64Array::from(predictions))])
    }
}

impl MlWritable for LinearRegressionModel {
    /// Spark's layout: the metadata, and one row of `intercept`, `coefficients` and `scale`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let schema = Schema::new(vec![
            Field::new("intercept", DataType::Float64, false),
            Field::new("coefficients", vector_data_type(), true),
            Field::new("scale", DataType::Float64, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(vec![self.intercept])),
            vectors_to_array(&[Some(self.coefficients.clone())]),
            Arc::new(Float64Array::from(vec![self.scale])),
        ];
        dir.write_data(schema, columns)
    }
}

impl MlReadable for LinearRegressionModel {
    /// Models of Spark 2.2 and before have no `scale`: it is 1.
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let double = |t: &DataType| t == &DataType::Float64;
        let intercept = dir.data_column(batch, "intercept", double, "double")?;
        let intercept = intercept.as_primitive::<Float64Type>().value(0);
        let scale = if metadata.version() <= (2, 2) {
            1.0
        } else {
            let scale = dir.data_column(batch, "scale", double, "double")?;
            scale.as_primitive::<Float64Type>().value(0)
        };
        let coefficients = VectorColumn::new(
            "coefficients",
            dir.data_column(batch, "coefficients", |_| true, "")?,
        )?
        .get(0)?
        .ok_or_else(|| Error::Input(format!("{} has no coefficients", dir.path())))?;
        Ok(LinearRegressionModel {
            coefficients,
            intercept,
            scale,
            params,
            summary: None,
        })
    }
}

params_only_persistence!(LinearRegression, ESTIMATOR_CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solver_follows_the_params_and_the_width() {
        let auto = LinearRegression::new();
        assert!(auto.uses_normal_equations(10).unwrap());
        assert!(!auto.uses_normal_equations(MAX_NUM_FEATURES + 1).unwrap());
        let normal = LinearRegression::new().set_solver("normal");
        let err = normal.uses_normal_equations(5000).unwrap_err().to_string();
        assert!(err.contains("at most 4096 features"), "{err}");
        let lbfgs = LinearRegression::new().set_solver("l-bfgs");
        assert!(!lbfgs.uses_normal_equations(10).unwrap());
        let huber = LinearRegression::new().set_loss("huber");
        let err = huber.uses_normal_equations(10).unwrap_err().to_string();
        assert!(err.contains("loss huber is not supported yet"), "{err}");
    }

    #[test]
    fn a_constant_label_needs_no_training() {
        let p = LinearRegression::new().params;
        let LabelScale::Known(fit) = LabelScale::of(&p, 3, 2.5, 0.0).unwrap() else {
            panic!("a constant label is known without training");
        };
        assert_eq!((fit.coefficients, fit.intercept), (vec![0.0; 3], 2.5));
        let no_intercept = LinearRegression::new()
            .set_fit_intercept(false)
            .set_reg_param(0.1)
            .params;
        let err = LabelScale::of(&no_intercept, 3, 2.5, 0.0).unwrap_err();
        assert!(err.to_string().contains("cannot be regularized"), "{err}");
        assert!(matches!(
            LabelScale::of(&p, 3, 2.5, 1.5).unwrap(),
            LabelScale::Std(s) if s == 1.5
        ));
    }
}
