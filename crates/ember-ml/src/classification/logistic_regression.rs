//! `LogisticRegression`: binary classification by the logistic model, fitted as Spark fits
//! it (Spark's `org.apache.spark.ml.classification.LogisticRegression`).
//!
//! # What is minimized
//!
//! With weights `wᵢ` summing to `W`, `λ = regParam`, `α = elasticNetParam`:
//!
//! ```text
//! (1/W) Σᵢ wᵢ · logloss(yᵢ, xᵢ·β + b)  +  λ·(1-α)/2 · Σⱼ (βⱼ·sⱼ)²  +  λ·α · Σⱼ |βⱼ·sⱼ|
//! ```
//!
//! where `sⱼ` is feature `j`'s standard deviation (unbiased, weighted) when
//! `standardization` is on and 1 when it is off; the intercept `b` is never penalized. With
//! an L1 part (`α > 0`) the optimizer is OWL-QN, which sets coefficients exactly to 0. As in
//! Spark, training always runs on features divided by their deviation (better conditioned
//! for the optimizer); with `standardization` off the penalty is turned back to the original
//! scale, so the model is the same, only reached faster. A feature that never varies gets
//! coefficient 0. With every label the same and an intercept fitted, the model is Spark's:
//! coefficients 0 and an infinite intercept.
//!
//! scikit-learn's `LogisticRegression(C=c, l1_ratio=α)` (solvers that leave the intercept
//! unpenalized) fits the same model as `regParam = 1/(c·n)`, `elasticNetParam = α` with
//! `standardization = false`.
//!
//! # How it runs
//!
//! One pass stacks the rows in blocks, keeps them in memory and sums what the fit needs to
//! know first (weights, label counts, feature means and deviations); then each evaluation of
//! the objective is one job: the coefficients are broadcast, each task returns its blocks'
//! loss and gradient sums, merged in a tree of `aggregationDepth` levels; the driver steps
//! L-BFGS, or OWL-QN with an L1 part ([`crate::optim`]).
//!
//! Not yet: more than two classes (`family` `multinomial`) and bounds on coefficients. The
//! first is refused with a clear error rather than fitted differently.

use crate::dataset::{require_column, require_new_column, InstanceBlock, InstanceColumns};
use crate::linalg::{
    is_vector_type, matrices_to_array, matrix_at, matrix_data_type, vector_data_type, vector_field,
    vectors_to_array, DenseMatrix, Matrix, Vector, VectorColumn, Vectors,
};
use crate::optim::lbfgs::{Lbfgs, Stop};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Estimator, Transformer};
use crate::stat::FeatureSummary;
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::{Context, Fn, Rdd, StorageLevel};
use ember_sql::DataFrame;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Spark's class of the estimator.
const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.classification.LogisticRegression";
/// Spark's class of the model, as saved.
const MODEL_CLASS: &str = "org.apache.spark.ml.classification.LogisticRegressionModel";

const FAMILY: ParamSpec = ParamSpec::new(
    "family",
    ParamKind::String,
    "The name of family which is a description of the label distribution to be used in the \
     model. Supported options: auto, binomial, multinomial.",
)
.accepting(Accepts::OneOf(&["auto", "binomial", "multinomial"]));
const THRESHOLD: ParamSpec = ParamSpec::new(
    "threshold",
    ParamKind::Double,
    "threshold in binary classification prediction, in range [0, 1]",
)
.accepting(Accepts::Between(0.0, 1.0));
const THRESHOLDS: ParamSpec = ParamSpec::new(
    "thresholds",
    ParamKind::DoubleArray,
    "Thresholds in multi-class classification to adjust the probability of predicting each \
     class. Array must have length equal to the number of classes, with values > 0 excepting \
     that at most one value may be 0. The class with largest value p/t is predicted, where p \
     is the original probability of that class and t is the class's threshold",
);

/// The params of the estimator and its model (Spark's `LogisticRegressionParams`).
const PARAMS: &[ParamSpec] = &[
    shared::AGGREGATION_DEPTH,
    shared::ELASTIC_NET_PARAM,
    FAMILY,
    shared::FEATURES_COL,
    shared::FIT_INTERCEPT,
    shared::LABEL_COL,
    shared::MAX_BLOCK_SIZE_IN_MB,
    shared::MAX_ITER,
    shared::PREDICTION_COL,
    shared::PROBABILITY_COL,
    shared::RAW_PREDICTION_COL,
    shared::REG_PARAM,
    shared::STANDARDIZATION,
    THRESHOLD,
    THRESHOLDS,
    shared::TOL,
    shared::WEIGHT_COL,
];

/// The params with Spark's defaults.
fn default_params(params: Params) -> Params {
    let string = |s: &str| ParamValue::String(s.to_string());
    params
        .default("aggregationDepth", ParamValue::Int(2))
        .default("elasticNetParam", ParamValue::Double(0.0))
        .default("family", string("auto"))
        .default("featuresCol", string("features"))
        .default("fitIntercept", ParamValue::Bool(true))
        .default("labelCol", string("label"))
        .default("maxBlockSizeInMB", ParamValue::Double(0.0))
        .default("maxIter", ParamValue::Int(100))
        .default("predictionCol", string("prediction"))
        .default("probabilityCol", string("probability"))
        .default("rawPredictionCol", string("rawPrediction"))
        .default("regParam", ParamValue::Double(0.0))
        .default("standardization", ParamValue::Bool(true))
        .default("threshold", ParamValue::Double(0.5))
        .default("tol", ParamValue::Double(1e-6))
}

/// Fits a logistic regression model (Spark's `LogisticRegression`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::classification::LogisticRegression;
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let rows = ctx
///     .sql("SELECT * FROM (VALUES (0.0, -2.0), (0.0, -1.0), (1.0, 0.5), (0.0, 0.2), (1.0, 2.0)) AS t(label, x)")
///     .unwrap();
/// let training = VectorAssembler::new()
///     .set_input_cols(&["x"])
///     .set_output_col("features")
///     .transform(&rows)
///     .unwrap();
/// let model = LogisticRegression::new().set_reg_param(0.01).fit(&training).unwrap();
/// assert!(model.coefficients().to_array()[0] > 0.0);
/// let predicted = model.transform(&training).unwrap();
/// assert!(predicted.columns().contains(&"probability".to_string()));
/// ```
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    params: Params,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression::new()
    }
}

impl LogisticRegression {
    /// An estimator with Spark's defaults.
    pub fn new() -> LogisticRegression {
        LogisticRegression {
            params: default_params(Params::new("logreg", PARAMS)),
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
        /// The most L-BFGS steps (default 100).
        set_max_iter, "maxIter", i32, ParamValue::Int
    );
    setter!(
        /// The convergence tolerance (default 1e-6).
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
        /// The probability of class 1 above which class 1 is predicted (default 0.5).
        set_threshold, "threshold", f64, ParamValue::Double
    );
    setter!(
        /// The label distribution: `auto`, `binomial` or `multinomial`.
        set_family, "family", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The features column (default `features`).
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The label column (default `label`), of 0s and 1s.
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
        /// The probability column the model adds (default `probability`).
        set_probability_col, "probabilityCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The raw prediction (margins) column the model adds (default `rawPrediction`).
        set_raw_prediction_col, "rawPredictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The depth of the tree that merges the tasks' sums (default 2).
        set_aggregation_depth, "aggregationDepth", i32, ParamValue::Int
    );

    fn check_supported(&self) -> Result<()> {
        let p = &self.params;
        if p.string("family") == Some("multinomial") {
            return Err(Error::Input(
                "LogisticRegression with family multinomial is not supported yet; use \
                 binomial (two classes)"
                    .into(),
            ));
        }
        Ok(())
    }
}

has_params!(LogisticRegression);

impl Estimator for LogisticRegression {
    type Model = LogisticRegressionModel;

    fn fit(&self, dataset: &DataFrame) -> Result<LogisticRegressionModel> {
        self.params.validate()?;
        self.check_supported()?;
        let p = &self.params;
        let columns = InstanceColumns {
            features: p.string("featuresCol").unwrap_or_default().to_string(),
            label: p.string("labelCol").map(str::to_string),
            weight: p.string("weightCol").map(str::to_string),
        };
        // Spark keeps them as it does: memory first, disk when memory is short.
        let blocks = columns.blocks(dataset, StorageLevel::MEMORY_AND_DISK)?;
        let fitted = Training::new(p, dataset.context()?, &blocks).and_then(|t| t.run());
        blocks.unpersist();
        let (coefficients, intercept, summary) = fitted?;
        let params = p.copy_to(default_params(Params::with_uid(
            p.uid().to_string(),
            PARAMS,
        )));
        Ok(LogisticRegressionModel {
            num_features: coefficients.len(),
            coefficients: Vectors::dense(coefficients),
            intercept,
            params,
            summary: Some(summary),
        })
    }
}

/// What training went through (Spark's `LogisticRegressionTrainingSummary`, in part).
#[derive(Debug, Clone)]
pub struct TrainingSummary {
    /// The objective at the start and after each step.
    pub objective_history: Vec<f64>,
    /// How many steps were taken.
    pub total_iterations: usize,
}

/// One fit: the settings, the blocks and what the first pass learned of them.
struct Training<'a> {
    ctx: Context,
    blocks: &'a Rdd<InstanceBlock>,
    fit_intercept: bool,
    standardization: bool,
    /// The L2 part of the penalty, `λ·(1-α)`, and its L1 part, `λ·α`.
    l2: f64,
    l1: f64,
    depth: usize,
    lbfgs: Lbfgs,
    summary: FeatureSummary,
}

impl<'a> Training<'a> {
    fn new(p: &Params, ctx: Context, blocks: &'a Rdd<InstanceBlock>) -> Result<Training<'a>> {
        let depth = p.int("aggregationDepth") as usize;
        let summary = FeatureSummary::of(blocks, depth)?;
        summary.require_class_labels(p.string("labelCol").unwrap_or_default(), 2)?;
        Ok(Training {
            ctx,
            blocks,
            fit_intercept: p.bool("fitIntercept"),
            standardization: p.bool("standardization"),
            l2: p.double("regParam") * (1.0 - p.double("elasticNetParam")),
            l1: p.double("regParam") * p.double("elasticNetParam"),
            depth,
            lbfgs: Lbfgs {
                max_iter: p.int("maxIter") as usize,
                tol: p.double("tol"),
                memory: 10,
            },
            summary,
        })
    }

    /// The coefficients, intercept and summary of the fit.
    fn run(&self) -> Result<(Vec<f64>, f64, TrainingSummary)> {
        let d = self.summary.num_features;
        let counts = &self.summary.label_weights;
        let (negatives, positives) = (
            counts.first().copied().unwrap_or(0.0),
            counts.get(1).copied().unwrap_or(0.0),
        );
        if self.fit_intercept && (negatives == 0.0 || positives == 0.0) {
            tracing::warn!("all labels are the same: the model predicts that label always");
            let intercept = if positives == 0.0 {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            let summary = TrainingSummary {
                objective_history: vec![0.0],
                total_iterations: 0,
            };
            return Ok((vec![0.0; d], intercept, summary));
        }
        let std = self.summary.std();
        let mut start = vec![0.0; d + usize::from(self.fit_intercept)];
        if self.fit_intercept {
            // The intercept that fits the label balance alone (Spark's starting point).
            start[d] = (positives / negatives).ln();
        }
        let minimum = self
            .lbfgs
            .minimize(|x| self.loss(x, &std), start, &self.l1_weights(&std))?;
        if minimum.stop == Stop::LineSearchFailed {
            tracing::warn!("the line search failed: the model may not be fully converged");
        }
        let coefficients = (0..d)
            .map(|j| {
                if std[j] > 0.0 {
                    minimum.x[j] / std[j]
                } else {
                    0.0
                }
            })
            .collect();
        let intercept = if self.fit_intercept {
            minimum.x[d]
        } else {
            0.0
        };
        let summary = TrainingSummary {
            total_iterations: minimum.objective_history.len() - 1,
            objective_history: minimum.objective_history,
        };
        Ok((coefficients, intercept, summary))
    }

    /// The L1 penalty's weight on each coordinate of the standardized problem: `λ·α` on the
    /// standardized scale, `λ·α/sⱼ` for the original one, none on the intercept.
    fn l1_weights(&self, std: &[f64]) -> Vec<f64> {
        let mut weights: Vec<f64> = std
            .iter()
            .map(|&s| match (self.standardization, s > 0.0) {
                (true, _) => self.l1,
                (false, true) => self.l1 / s,
                (false, false) => 0.0,
            })
            .collect();
        if self.fit_intercept {
            weights.push(0.0);
        }
        weights
    }

    /// The objective and its gradient at `x`: coefficients on the standardized scale, then
    /// the intercept when fitted.
    fn loss(&self, x: &[f64], std: &[f64]) -> Result<(f64, Vec<f64>)> {
        let d = std.len();
        let scaled = |j: usize| if std[j] > 0.0 { x[j] / std[j] } else { 0.0 };
        let coefficients: Vec<f64> = (0..d).map(scaled).collect();
        let intercept = if self.fit_intercept { x[d] } else { 0.0 };
        let model = self.ctx.broadcast((coefficients, intercept));
        let shared = model.clone();
        let sums = self.blocks.tree_aggregate(
            LossSums::zero(d),
            Fn!(move |sums: LossSums, block: InstanceBlock| {
                let (coefficients, intercept) = shared.value();
                sums.add(&block, coefficients, *intercept)
            }),
            Fn!(|a: LossSums, b: LossSums| a.merge(b)),
            self.depth,
        );
        model.destroy();
        let sums = sums?;
        let weight = self.summary.weight_sum;
        let mut value = sums.loss / weight;
        let mut gradient = vec![0.0; x.len()];
        for j in 0..d {
            if std[j] > 0.0 {
                gradient[j] = sums.gradient[j] / std[j] / weight;
            }
            // λ/2 (β'ⱼ)² on the standardized scale; λ/2 (β'ⱼ/sⱼ)² on the original one.
            let scale = match (self.standardization, std[j] > 0.0) {
                (true, _) => 1.0,
                (false, true) => 1.0 / (std[j] * std[j]),
                (false, false) => 0.0,
            };
            value += 0.5 * self.l2 * scale * x[j] * x[j];
            gradient[j] += self.l2 * scale * x[j];
        }
        if self.fit_intercept {
            gradient[d] = sums.gradient[d] / weight;
        }
        Ok((value, gradient))
    }
}

/// A task's sums of weighted log loss and its gradient (by coefficient, then intercept).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LossSums {
    loss: f64,
    gradient: Vec<f64>,
}

impl LossSums {
    fn zero(num_features: usize) -> LossSums {
        LossSums {
            loss: 0.0,
            gradient: vec![0.0; num_features + 1],
        }
    }

    fn add(mut self, block: &InstanceBlock, coefficients: &[f64], intercept: f64) -> LossSums {
        let d = coefficients.len();
        for i in 0..block.len() {
            let (label, weight) = (block.label(i), block.weight(i));
            if weight == 0.0 {
                continue;
            }
            let margin = block.dot(i, coefficients) + intercept;
            let multiplier = weight * (sigmoid(margin) - label);
            self.loss += weight
                * if label > 0.0 {
                    log1p_exp(-margin)
                } else {
                    log1p_exp(margin)
                };
            block.add_scaled(i, multiplier, &mut self.gradient);
            self.gradient[d] += multiplier;
        }
        self
    }

    fn merge(mut self, other: LossSums) -> LossSums {
        self.loss += other.loss;
        for (a, b) in self.gradient.iter_mut().zip(&other.gradient) {
            *a += b;
        }
        self
    }
}

/// `ln(1 + eˣ)` without overflow.
fn log1p_exp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A fitted logistic regression model (Spark's `LogisticRegressionModel`).
#[derive(Debug, Clone)]
pub struct LogisticRegressionModel {
    params: Params,
    coefficients: Vector,
    intercept: f64,
    num_features: usize,
    summary: Option<TrainingSummary>,
}

impl LogisticRegressionModel {
    /// The coefficients, one a feature.
    pub fn coefficients(&self) -> &Vector {
        &self.coefficients
    }

    /// The intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// How many features the model takes.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// How many classes: 2.
    pub fn num_classes(&self) -> usize {
        2
    }

    /// What training went through; `None` for a loaded model.
    pub fn summary(&self) -> Option<&TrainingSummary> {
        self.summary.as_ref()
    }

    setter!(
        /// The probability of class 1 above which class 1 is predicted.
        set_threshold, "threshold", f64, ParamValue::Double
    );
    setter!(
        /// The features column read.
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The prediction column added; empty for none.
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The probability column added; empty for none.
        set_probability_col, "probabilityCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The raw prediction column added; empty for none.
        set_raw_prediction_col, "rawPredictionCol", &str, |v: &str| ParamValue::String(v.into())
    );

    /// The probability of class 1 above which class 1 is predicted: `threshold`, or what
    /// `thresholds` imply when they are set (as Spark's `getThreshold`).
    pub fn threshold(&self) -> f64 {
        match self.params.get("thresholds") {
            Some(ParamValue::DoubleArray(t)) if t.len() == 2 => 1.0 / (1.0 + t[0] / t[1]),
            _ => self.params.double("threshold"),
        }
    }

    fn scorer(&self) -> Scorer {
        Scorer {
            coefficients: self.coefficients.to_array(),
            intercept: self.intercept,
            threshold: self.threshold(),
        }
    }

    /// The predicted class of `features`, 0.0 or 1.0.
    ///
    /// # Errors
    /// `features` is not of the model's size.
    pub fn predict(&self, features: &Vector) -> Result<f64> {
        let scorer = self.scorer();
        Ok(scorer.prediction(scorer.margin(features, self.num_features)?))
    }

    /// The probabilities of class 0 and class 1 for `features`.
    ///
    /// # Errors
    /// `features` is not of the model's size.
    pub fn predict_probability(&self, features: &Vector) -> Result<Vector> {
        let p = sigmoid(self.scorer().margin(features, self.num_features)?);
        Ok(Vectors::dense(vec![1.0 - p, p]))
    }
}

has_params!(LogisticRegressionModel);

impl Transformer for LogisticRegressionModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.params.validate()?;
        let p = &self.params;
        let features = p.string("featuresCol").unwrap_or_default().to_string();
        require_column(dataset, &features, is_vector_type, "vector")?;
        let output = |name: &str| -> Result<Option<String>> {
            match p.string(name).filter(|c| !c.is_empty()) {
                Some(column) => {
                    require_new_column(dataset, column)?;
                    Ok(Some(column.to_string()))
                }
                None => Ok(None),
            }
        };
        let columns = ScoreColumns {
            features,
            raw_prediction: output("rawPredictionCol")?,
            probability: output("probabilityCol")?,
            prediction: output("predictionCol")?,
            num_features: self.num_features,
            scorer: self.scorer(),
        };
        add_columns(dataset, columns)
    }
}

/// The model's numbers, shipped to the tasks that score rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Scorer {
    coefficients: Vec<f64>,
    intercept: f64,
    threshold: f64,
}

impl Scorer {
    fn margin(&self, features: &Vector, num_features: usize) -> Result<f64> {
        if features.size() != num_features {
            return Err(Error::Input(format!(
                "a features vector has {} entries but the model was fitted on {num_features}",
                features.size()
            )));
        }
        Ok(features
            .active()
            .map(|(j, v)| v * self.coefficients[j])
            .sum::<f64>()
            + self.intercept)
    }

    fn prediction(&self, margin: f64) -> f64 {
        if sigmoid(margin) > self.threshold {
            1.0
        } else {
            0.0
        }
    }
}

/// The columns a model adds to each batch.
#[derive(Serialize, Deserialize)]
struct ScoreColumns {
    features: String,
    raw_prediction: Option<String>,
    probability: Option<String>,
    prediction: Option<String>,
    num_features: usize,
    scorer: Scorer,
}

impl BatchColumns for ScoreColumns {
    fn inputs(&self) -> Vec<String> {
        vec![self.features.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        let mut fields = Vec::new();
        for name in [&self.raw_prediction, &self.probability]
            .into_iter()
            .flatten()
        {
            fields.push(vector_field(name, true));
        }
        if let Some(name) = &self.prediction {
            fields.push(Field::new(name, DataType::Float64, true));
        }
        fields
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let array = batch
            .column_by_name(&self.features)
            .ok_or_else(|| Error::Input(format!("column {} does not exist", self.features)))?;
        let features = VectorColumn::new(&self.features, array)?;
        let mut margins = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            margins.push(match features.get(i)? {
                Some(v) => Some(self.scorer.margin(&v, self.num_features)?),
                None => None,
            });
        }
        let mut columns = Vec::new();
        if self.raw_prediction.is_some() {
            let raw: Vec<_> = margins
                .iter()
                .map(|m| m.map(|m| Vectors::dense(vec![-m, m])))
                .collect();
            columns.push(vectors_to_array(&raw));
        }
        if self.probability.is_some() {
            let probability: Vec<_> = margins
                .iter()
                .map(|m| m.map(|m| Vectors::dense(vec![1.0 - sigmoid(m), sigmoid(m)])))
                .collect();
            columns.push(vectors_to_array(&probability));
        }
        if self.prediction.is_some() {
            let predictions: Float64Array = margins
                .iter()
                .map(|m| m.map(|m| self.scorer.prediction(m)))
                .collect();
            columns.push(Arc::new(predictions));
        }
        Ok(columns)
    }
}

impl MlWritable for LogisticRegressionModel {
    /// Spark's layout: the metadata, and one row of `numClasses`, `numFeatures`,
    /// `interceptVector`, `coefficientMatrix` (1 × numFeatures, row-major) and
    /// `isMultinomial`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let schema = Schema::new(vec![
            Field::new("numClasses", DataType::Int32, false),
            Field::new("numFeatures", DataType::Int32, false),
            Field::new("interceptVector", vector_data_type(), true),
            Field::new("coefficientMatrix", matrix_data_type(), true),
            Field::new("isMultinomial", DataType::Boolean, false),
        ]);
        let coefficients =
            DenseMatrix::new(1, self.num_features, self.coefficients.to_array(), true)?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![2])),
            Arc::new(Int32Array::from(vec![self.num_features as i32])),
            vectors_to_array(&[Some(Vectors::dense(vec![self.intercept]))]),
            matrices_to_array(&[Some(Matrix::Dense(coefficients))]),
            Arc::new(BooleanArray::from(vec![false])),
        ];
        dir.write_data(schema, columns)
    }
}

impl MlReadable for LogisticRegressionModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        if metadata.version() < (2, 1) {
            return Err(Error::Input(format!(
                "{} holds a model saved by Spark {}; ember reads models of Spark 2.1 and later",
                dir.path(),
                metadata.spark_version
            )));
        }
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let any = |_: &DataType| true;
        let multinomial = dir.data_column(
            batch,
            "isMultinomial",
            |t| t == &DataType::Boolean,
            "boolean",
        )?;
        let multinomial = multinomial.as_boolean().value(0);
        let num_classes = dir.data_column(batch, "numClasses", |t| t == &DataType::Int32, "int")?;
        let num_classes = num_classes.as_primitive::<Int32Type>().value(0);
        if multinomial || num_classes != 2 {
            return Err(Error::Input(format!(
                "{} holds a multinomial model of {num_classes} classes, which ember does not \
                 read yet",
                dir.path()
            )));
        }
        let intercept = VectorColumn::new(
            "interceptVector",
            dir.data_column(batch, "interceptVector", any, "")?,
        )?
        .get(0)?
        .map_or(0.0, |v| v.get(0));
        let matrix = matrix_at(
            "coefficientMatrix",
            dir.data_column(batch, "coefficientMatrix", any, "")?,
            0,
        )?
        .ok_or_else(|| Error::Input(format!("{} has no coefficients", dir.path())))?;
        Ok(LogisticRegressionModel {
            num_features: matrix.num_cols(),
            coefficients: Vectors::dense(matrix.row(0)),
            intercept,
            params,
            summary: None,
        })
    }
}

params_only_persistence!(LogisticRegression, ESTIMATOR_CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_is_stable_at_large_margins() {
        assert!((log1p_exp(0.0) - 2f64.ln()).abs() < 1e-15);
        assert_eq!(log1p_exp(1000.0), 1000.0);
        assert!(log1p_exp(-1000.0) >= 0.0 && log1p_exp(-1000.0) < 1e-300);
    }

    #[test]
    fn unsupported_settings_are_refused_by_name() {
        let err = LogisticRegression::new()
            .set_family("multinomial")
            .check_supported();
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("family multinomial is not supported yet"));
    }
}
