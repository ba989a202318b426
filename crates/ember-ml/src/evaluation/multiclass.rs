//! `MulticlassClassificationEvaluator` (Spark's
//! `org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator`).

use super::{number, rows, sums, weight, Entry, Evaluator, VectorEntry};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::params_only_persistence;
use crate::stage::has_params;
use crate::Result;
use datafusion::functions::core::expr_fn::{greatest, least};
use datafusion::functions::math::expr_fn::ln;
use ember_sql::{col, lit, sum, DataFrame};
use std::collections::BTreeMap;

const CLASS: &str = "org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator";

/// The metrics, as Spark names them.
const METRICS: &[&str] = &[
    "f1",
    "accuracy",
    "weightedPrecision",
    "weightedRecall",
    "weightedTruePositiveRate",
    "weightedFalsePositiveRate",
    "weightedFMeasure",
    "truePositiveRateByLabel",
    "falsePositiveRateByLabel",
    "precisionByLabel",
    "recallByLabel",
    "fMeasureByLabel",
    "logLoss",
    "hammingLoss",
];

const METRIC_NAME: ParamSpec = ParamSpec::new(
    "metricName",
    ParamKind::String,
    "metric name in evaluation (f1|accuracy|weightedPrecision|weightedRecall|\
     weightedTruePositiveRate|weightedFalsePositiveRate|weightedFMeasure|\
     truePositiveRateByLabel|falsePositiveRateByLabel|precisionByLabel|recallByLabel|\
     fMeasureByLabel|logLoss|hammingLoss)",
)
.accepting(Accepts::OneOf(METRICS));
const METRIC_LABEL: ParamSpec = ParamSpec::new(
    "metricLabel",
    ParamKind::Double,
    "The class whose metric will be computed in truePositiveRateByLabel|\
     falsePositiveRateByLabel|precisionByLabel|recallByLabel|fMeasureByLabel. Must be >= 0. \
     The default value is 0.",
)
.accepting(Accepts::AtLeast(0.0))
.since(3, 0);
const BETA: ParamSpec = ParamSpec::new(
    "beta",
    ParamKind::Double,
    "The beta value, which controls precision vs recall weighting, used in \
     weightedFMeasure|fMeasureByLabel. Must be > 0. The default value is 1.",
)
.accepting(Accepts::Above(0.0))
.since(3, 0);
const EPS: ParamSpec = ParamSpec::new(
    "eps",
    ParamKind::Double,
    "log-loss is undefined for p=0 or p=1, so probabilities are clipped to max(eps, min(1 - \
     eps, p)). Must be in range (0, 0.5). The default value is 1e-15.",
)
.accepting(Accepts::Between(0.0, 0.5))
.since(3, 0);

const PARAMS: &[ParamSpec] = &[
    BETA,
    EPS,
    shared::LABEL_COL,
    METRIC_LABEL,
    METRIC_NAME,
    shared::PREDICTION_COL,
    shared::PROBABILITY_COL,
    shared::WEIGHT_COL,
];

/// A classifier's predictions scored against the labels (Spark's
/// `MulticlassClassificationEvaluator`): `f1` (the default: F-measures of the classes
/// averaged by their weight), `accuracy`, the weighted precision, recall and false positive
/// rate, one class's metric (`...ByLabel`, of `metricLabel`), `hammingLoss`, or `logLoss` of
/// the `probability` column.
///
/// ```
/// use ember_core::Context;
/// use ember_ml::evaluation::{Evaluator, MulticlassClassificationEvaluator};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let scored = ctx
///     .sql("SELECT * FROM (VALUES (0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 2.0)) AS t(label, prediction)")
///     .unwrap();
/// let accuracy = MulticlassClassificationEvaluator::new()
///     .set_metric_name("accuracy")
///     .evaluate(&scored)
///     .unwrap();
/// assert_eq!(accuracy, 0.75);
/// ```
#[derive(Debug, Clone)]
pub struct MulticlassClassificationEvaluator {
    params: Params,
}

impl Default for MulticlassClassificationEvaluator {
    fn default() -> Self {
        MulticlassClassificationEvaluator::new()
    }
}

impl MulticlassClassificationEvaluator {
    /// An evaluator with Spark's defaults.
    pub fn new() -> MulticlassClassificationEvaluator {
        let string = |s: &str| ParamValue::String(s.to_string());
        MulticlassClassificationEvaluator {
            params: Params::new("mcEval", PARAMS)
                .default("beta", ParamValue::Double(1.0))
                .default("eps", ParamValue::Double(1e-15))
                .default("labelCol", string("label"))
                .default("metricLabel", ParamValue::Double(0.0))
                .default("metricName", string("f1"))
                .default("predictionCol", string("prediction"))
                .default("probabilityCol", string("probability")),
        }
    }

    setter!(
        /// The metric (default `f1`).
        set_metric_name, "metricName", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The class of the `...ByLabel` metrics (default 0).
        set_metric_label, "metricLabel", f64, ParamValue::Double
    );
    setter!(
        /// The weight of recall against precision in F-measures (default 1).
        set_beta, "beta", f64, ParamValue::Double
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
        /// The probability column `logLoss` reads (default `probability`).
        set_probability_col, "probabilityCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );

    /// The weighted mean of `-ln p`, `p` the probability of the true label clipped to
    /// `[eps, 1 - eps]`.
    fn log_loss(&self, dataset: &DataFrame) -> Result<f64> {
        let p = &self.params;
        let label = p.string("labelCol").unwrap_or_default();
        number(dataset, label)?;
        let with = VectorEntry {
            vector: p.string("probabilityCol").unwrap_or_default().to_string(),
            entry: Entry::Named(label.to_string()),
            output: "__ember_ml_p".to_string(),
        }
        .add_to(dataset)?;
        let eps = p.double("eps");
        let clipped = greatest(vec![
            lit(eps),
            least(vec![lit(1.0 - eps), col("__ember_ml_p")]),
        ]);
        let w = weight(&with, p)?;
        let s = sums(&with, vec![w.clone() * (lit(0.0) - ln(clipped)), w])?;
        Ok(s[0] / s[1])
    }
}

/// The weights of each (label, prediction) pair.
struct Confusion {
    /// Per class: the weight labelled it, predicted it, and both.
    labelled: BTreeMap<u64, f64>,
    predicted: BTreeMap<u64, f64>,
    correct: BTreeMap<u64, f64>,
    total: f64,
}

impl Confusion {
    fn of(pairs: &[Vec<f64>]) -> Confusion {
        let mut c = Confusion {
            labelled: BTreeMap::new(),
            predicted: BTreeMap::new(),
            correct: BTreeMap::new(),
            total: 0.0,
        };
        let [labels, predictions, weights] = pairs else {
            return c;
        };
        for ((&label, &prediction), &w) in labels.iter().zip(predictions).zip(weights) {
            *c.labelled.entry(label.to_bits()).or_default() += w;
            *c.predicted.entry(prediction.to_bits()).or_default() += w;
            if label == prediction {
                *c.correct.entry(label.to_bits()).or_default() += w;
            }
            c.total += w;
        }
        c
    }

    fn tp(&self, class: u64) -> f64 {
        self.correct.get(&class).copied().unwrap_or(0.0)
    }

    fn precision(&self, class: u64) -> f64 {
        let predicted = self.predicted.get(&class).copied().unwrap_or(0.0);
        if predicted == 0.0 {
            0.0
        } else {
            self.tp(class) / predicted
        }
    }

    fn recall(&self, class: u64) -> f64 {
        let labelled = self.labelled.get(&class).copied().unwrap_or(0.0);
        if labelled == 0.0 {
            0.0
        } else {
            self.tp(class) / labelled
        }
    }

    fn false_positive_rate(&self, class: u64) -> f64 {
        let predicted = self.predicted.get(&class).copied().unwrap_or(0.0);
        let negatives = self.total - self.labelled.get(&class).copied().unwrap_or(0.0);
        if negatives == 0.0 {
            0.0
        } else {
            (predicted - self.tp(class)) / negatives
        }
    }

    fn f_measure(&self, class: u64, beta: f64) -> f64 {
        let (p, r) = (self.precision(class), self.recall(class));
        let b2 = beta * beta;
        if p + r == 0.0 {
            0.0
        } else {
            (1.0 + b2) * p * r / (b2 * p + r)
        }
    }

    /// `metric` of each true label, averaged by the labels' weights.
    fn weighted(&self, metric: impl Fn(u64) -> f64) -> f64 {
        self.labelled
            .iter()
            .map(|(&class, &w)| metric(class) * w / self.total)
            .sum()
    }

    fn accuracy(&self) -> f64 {
        self.correct.values().sum::<f64>() / self.total
    }
}

has_params!(MulticlassClassificationEvaluator);

impl Evaluator for MulticlassClassificationEvaluator {
    fn evaluate(&self, dataset: &DataFrame) -> Result<f64> {
        self.params.validate()?;
        let p = &self.params;
        let metric = p.string("metricName").unwrap_or("f1");
        if metric == "logLoss" {
            return self.log_loss(dataset);
        }
        let label = number(dataset, p.string("labelCol").unwrap_or_default())?;
        let prediction = number(dataset, p.string("predictionCol").unwrap_or_default())?;
        let w = weight(dataset, p)?;
        let grouped = dataset
            .group_by(vec![label.alias("l"), prediction.alias("p")])
            .agg(vec![sum(w).alias("w")])?;
        let c = Confusion::of(&rows(&grouped, 3)?);
        let beta = p.double("beta");
        let class = p.double("metricLabel").to_bits();
        Ok(match metric {
            "accuracy" => c.accuracy(),
            "hammingLoss" => 1.0 - c.accuracy(),
            "weightedPrecision" => c.weighted(|l| c.precision(l)),
            "weightedRecall" | "weightedTruePositiveRate" => c.weighted(|l| c.recall(l)),
            "weightedFalsePositiveRate" => c.weighted(|l| c.false_positive_rate(l)),
            "weightedFMeasure" => c.weighted(|l| c.f_measure(l, beta)),
            "truePositiveRateByLabel" | "recallByLabel" => c.recall(class),
            "falsePositiveRateByLabel" => c.false_positive_rate(class),
            "precisionByLabel" => c.precision(class),
            "fMeasureByLabel" => c.f_measure(class, beta),
            _ => c.weighted(|l| c.f_measure(l, 1.0)),
        })
    }

    fn is_larger_better(&self) -> bool {
        !matches!(
            self.params.string("metricName"),
            Some(
                "weightedFalsePositiveRate"
                    | "falsePositiveRateByLabel"
                    | "logLoss"
                    | "hammingLoss"
            )
        )
    }
}

params_only_persistence!(MulticlassClassificationEvaluator, CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_small_confusion() {
        // (label, prediction): (0,0) (1,1) (2,1) (2,2), weights 1.
        let c = Confusion::of(&[
            vec![0.0, 1.0, 2.0, 2.0],
            vec![0.0, 1.0, 1.0, 2.0],
            vec![1.0; 4],
        ]);
        let class = |v: f64| v.to_bits();
        assert_eq!(c.accuracy(), 0.75);
        assert_eq!(c.precision(class(1.0)), 0.5);
        assert_eq!(c.recall(class(2.0)), 0.5);
        assert_eq!(c.false_positive_rate(class(1.0)), 1.0 / 3.0);
        assert!((c.f_measure(class(1.0), 1.0) - 2.0 / 3.0).abs() < 1e-12);
        // F1: class 0 weighs 1/4 with F 1, class 1 1/4 with 2/3, class 2 1/2 with 2/3.
        let f1 = c.weighted(|l| c.f_measure(l, 1.0));
        assert!((f1 - (0.25 + 0.25 * 2.0 / 3.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!(c.precision(class(7.0)), 0.0);
    }
}
