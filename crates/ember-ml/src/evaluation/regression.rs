//! `RegressionEvaluator` (Spark's `org.apache.spark.ml.evaluation.RegressionEvaluator`).

use super::{number, sums, weight, Evaluator};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::params_only_persistence;
use crate::stage::has_params;
use crate::Result;
use datafusion::functions::math::expr_fn::abs;
use ember_sql::DataFrame;

const CLASS: &str = "org.apache.spark.ml.evaluation.RegressionEvaluator";

const METRIC_NAME: ParamSpec = ParamSpec::new(
    "metricName",
    ParamKind::String,
    "metric name in evaluation (mse|rmse|r2|mae|var)",
)
.accepting(Accepts::OneOf(&["mse", "rmse", "r2", "mae", "var"]));
const THROUGH_ORIGIN: ParamSpec = ParamSpec::new(
    "throughOrigin",
    ParamKind::Bool,
    "Whether the regression is through the origin.",
)
.since(3, 0);

const PARAMS: &[ParamSpec] = &[
    shared::LABEL_COL,
    METRIC_NAME,
    shared::PREDICTION_COL,
    THROUGH_ORIGIN,
    shared::WEIGHT_COL,
];

/// The error of a regression's predictions (Spark's `RegressionEvaluator`): `rmse` (the
/// default), `mse`, `mae`, `r2` (against the label's mean, or against 0 with
/// `throughOrigin`) or `var` (the variance the predictions explain), each weighted by
/// `weightCol` when set.
///
/// ```
/// use ember_core::Context;
/// use ember_ml::evaluation::{Evaluator, RegressionEvaluator};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let scored = ctx
///     .sql("SELECT * FROM (VALUES (1.0, 1.5), (2.0, 2.0), (3.0, 2.5)) AS t(label, prediction)")
///     .unwrap();
/// let rmse = RegressionEvaluator::new().evaluate(&scored).unwrap();
/// assert!((rmse - (0.5f64 / 3.0).sqrt()).abs() < 1e-12);
/// let r2 = RegressionEvaluator::new().set_metric_name("r2").evaluate(&scored).unwrap();
/// assert!((r2 - 0.75).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct RegressionEvaluator {
    params: Params,
}

impl Default for RegressionEvaluator {
    fn default() -> Self {
        RegressionEvaluator::new()
    }
}

impl RegressionEvaluator {
    /// An evaluator with Spark's defaults.
    pub fn new() -> RegressionEvaluator {
        let string = |s: &str| ParamValue::String(s.to_string());
        RegressionEvaluator {
            params: Params::new("regEval", PARAMS)
                .default("labelCol", string("label"))
                .default("metricName", string("rmse"))
                .default("predictionCol", string("prediction"))
                .default("throughOrigin", ParamValue::Bool(false)),
        }
    }

    setter!(
        /// The metric: `rmse` (default), `mse`, `r2`, `mae` or `var`.
        set_metric_name, "metricName", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The label column (default `label`).
        set_label_col, "labelCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The prediction column (default `prediction`).
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// Whether R² compares with 0 rather than with the label's mean (default false).
        set_through_origin, "throughOrigin", bool, ParamValue::Bool
    );
}

has_params!(RegressionEvaluator);

impl Evaluator for RegressionEvaluator {
    fn evaluate(&self, dataset: &DataFrame) -> Result<f64> {
        self.params.validate()?;
        let p = &self.params;
        let y = number(dataset, p.string("labelCol").unwrap_or_default())?;
        let yhat = number(dataset, p.string("predictionCol").unwrap_or_default())?;
        let w = weight(dataset, p)?;
        let error = || yhat.clone() - y.clone();
        let s = sums(
            dataset,
            vec![
                w.clone(),
                w.clone() * y.clone(),
                w.clone() * y.clone() * y.clone(),
                w.clone() * error() * error(),
                w.clone() * abs(error()),
                w.clone() * yhat.clone(),
                w.clone() * yhat.clone() * yhat.clone(),
            ],
        )?;
        let [weight, wy, wyy, squared_errors, absolute_errors, wp, wpp] = s[..] else {
            unreachable!("seven sums asked for");
        };
        let mean = wy / weight;
        let mse = squared_errors / weight;
        Ok(match p.string("metricName") {
            Some("mse") => mse,
            Some("mae") => absolute_errors / weight,
            Some("r2") => {
                let total = if p.bool("throughOrigin") {
                    wyy
                } else {
                    wyy - weight * mean * mean
                };
                1.0 - squared_errors / total
            }
            // Σ w·(ŷ - ȳ)² / W.
            Some("var") => (wpp - 2.0 * mean * wp + weight * mean * mean) / weight,
            _ => mse.sqrt(),
        })
    }

    fn is_larger_better(&self) -> bool {
        matches!(self.params.string("metricName"), Some("r2" | "var"))
    }
}

params_only_persistence!(RegressionEvaluator, CLASS);
