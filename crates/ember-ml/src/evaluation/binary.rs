//! `BinaryClassificationEvaluator` (Spark's
//! `org.apache.spark.ml.evaluation.BinaryClassificationEvaluator`).

use super::{number, rows, weight, Entry, Evaluator, VectorEntry};
use crate::dataset::is_numeric;
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::params_only_persistence;
use crate::stage::has_params;
use crate::Result;
use datafusion::arrow::datatypes::DataType;
use ember_sql::{cast, col, lit, sum, DataFrame};

const CLASS: &str = "org.apache.spark.ml.evaluation.BinaryClassificationEvaluator";

const METRIC_NAME: ParamSpec = ParamSpec::new(
    "metricName",
    ParamKind::String,
    "metric name in evaluation (areaUnderROC|areaUnderPR)",
)
.accepting(Accepts::OneOf(&["areaUnderROC", "areaUnderPR"]));
const NUM_BINS: ParamSpec = ParamSpec::new(
    "numBins",
    ParamKind::Int,
    "Number of bins to down-sample the curves (ROC curve, PR curve) in area computation. If \
     0, no down-sampling will occur. Must be >= 0.",
)
.accepting(Accepts::AtLeast(0.0))
.since(3, 0);

const PARAMS: &[ParamSpec] = &[
    shared::LABEL_COL,
    METRIC_NAME,
    NUM_BINS,
    shared::RAW_PREDICTION_COL,
    shared::WEIGHT_COL,
];

/// The column the scores are gathered in.
const SCORE: &str = "__ember_ml_score";

/// The area under the ROC or the precision-recall curve of a binary classifier's scores
/// (Spark's `BinaryClassificationEvaluator`).
///
/// The score of a row is entry 1 of its `rawPrediction` vector (or the column itself when it
/// is a number); labels above 0.5 are positives. Rows are counted per distinct score, the
/// scores taken from the highest down as thresholds, and the areas summed by trapezoids: the
/// ROC curve from (0, 0) to (1, 1), the PR curve from recall 0 at the first threshold's
/// precision, as Spark draws them. With more distinct scores than `numBins` (default 1000),
/// neighbouring scores are pooled into about `numBins` thresholds first, as in Spark.
///
/// ```
/// use ember_core::Context;
/// use ember_ml::evaluation::{BinaryClassificationEvaluator, Evaluator};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let scored = ctx
///     .sql("SELECT * FROM (VALUES (0.9, 1.0), (0.8, 0.0), (0.7, 1.0), (0.1, 0.0)) AS t(score, label)")
///     .unwrap();
/// let auc = BinaryClassificationEvaluator::new()
///     .set_raw_prediction_col("score")
///     .evaluate(&scored)
///     .unwrap();
/// assert!((auc - 0.75).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct BinaryClassificationEvaluator {
    params: Params,
}

impl Default for BinaryClassificationEvaluator {
    fn default() -> Self {
        BinaryClassificationEvaluator::new()
    }
}

impl BinaryClassificationEvaluator {
    /// An evaluator with Spark's defaults.
    pub fn new() -> BinaryClassificationEvaluator {
        let string = |s: &str| ParamValue::String(s.to_string());
        BinaryClassificationEvaluator {
            params: Params::new("binEval", PARAMS)
                .default("labelCol", string("label"))
                .default("metricName", string("areaUnderROC"))
                .default("numBins", ParamValue::Int(1000))
                .default("rawPredictionCol", string("rawPrediction")),
        }
    }

    setter!(
        /// The metric: `areaUnderROC` (default) or `areaUnderPR`.
        set_metric_name, "metricName", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// How many thresholds at most (default 1000; 0 for every distinct score).
        set_num_bins, "numBins", i32, ParamValue::Int
    );
    setter!(
        /// The label column (default `label`), of 0s and 1s.
        set_label_col, "labelCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The score column (default `rawPrediction`): a vector or a number.
        set_raw_prediction_col, "rawPredictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );

    /// Each distinct score, from the highest, with the weights of its positives and its
    /// negatives.
    fn counts_by_score(&self, dataset: &DataFrame) -> Result<Vec<(f64, f64, f64)>> {
        let p = &self.params;
        let raw = p.string("rawPredictionCol").unwrap_or_default();
        let raw_is_number = dataset
            .schema()
            .field_with_name(raw)
            .is_ok_and(|f| is_numeric(f.data_type()));
        let with_score = if raw_is_number {
            dataset.with_column(
                SCORE,
                cast(col(crate::dataset::quoted(raw)), DataType::Float64),
            )?
        } else {
            VectorEntry {
                vector: raw.to_string(),
                entry: Entry::At(1),
                output: SCORE.to_string(),
            }
            .add_to(dataset)?
        };
        let label = number(&with_score, p.string("labelCol").unwrap_or_default())?;
        let w = weight(&with_score, p)?;
        let positive = cast(label.gt(lit(0.5)), DataType::Float64);
        let grouped = with_score.group_by(vec![col(SCORE)]).agg(vec![
            sum(w.clone() * positive.clone()).alias("positives"),
            sum(w * (lit(1.0) - positive)).alias("negatives"),
        ])?;
        let [scores, positives, negatives] = &rows(&grouped, 3)?[..] else {
            unreachable!("three columns asked for");
        };
        let mut counts: Vec<(f64, f64, f64)> = (0..scores.len())
            .map(|i| (scores[i], positives[i], negatives[i]))
            .collect();
        counts.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(pooled(counts, p.int("numBins") as usize))
    }
}

/// `counts` pooled `len / bins` neighbours at a time when that is 2 or more, each pool at
/// its last (lowest) score (Spark's down-sampling).
fn pooled(counts: Vec<(f64, f64, f64)>, bins: usize) -> Vec<(f64, f64, f64)> {
    let grouping = counts.len().checked_div(bins).unwrap_or(0);
    if grouping < 2 {
        return counts;
    }
    counts
        .chunks(grouping)
        .map(|pool| {
            let last = pool[pool.len() - 1].0;
            let (p, n) = pool.iter().fold((0.0, 0.0), |(p, n), c| (p + c.1, n + c.2));
            (last, p, n)
        })
        .collect()
}

/// The area under the curve through `points`, by trapezoids.
fn area(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// The points of a curve, (x, y) each.
type Curve = Vec<(f64, f64)>;

/// The ROC and PR curves of `counts` (by descending score).
fn curves(counts: &[(f64, f64, f64)]) -> (Curve, Curve) {
    let positives: f64 = counts.iter().map(|c| c.1).sum();
    let negatives: f64 = counts.iter().map(|c| c.2).sum();
    let mut roc = vec![(0.0, 0.0)];
    let mut pr = Vec::with_capacity(counts.len() + 1);
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(_, p, n) in counts {
        tp += p;
        fp += n;
        roc.push((fp / negatives, tp / positives));
        let precision = if tp + fp == 0.0 { 1.0 } else { tp / (tp + fp) };
        if pr.is_empty() {
            pr.push((0.0, precision));
        }
        pr.push((tp / positives, precision));
    }
    roc.push((1.0, 1.0));
    (roc, pr)
}

has_params!(BinaryClassificationEvaluator);

impl Evaluator for BinaryClassificationEvaluator {
    fn evaluate(&self, dataset: &DataFrame) -> Result<f64> {
        self.params.validate()?;
        let counts = self.counts_by_score(dataset)?;
        let (roc, pr) = curves(&counts);
        Ok(match self.params.string("metricName") {
            Some("areaUnderPR") => area(&pr),
            _ => area(&roc),
        })
    }

    fn is_larger_better(&self) -> bool {
        true
    }
}

params_only_persistence!(BinaryClassificationEvaluator, CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_and_areas_of_a_small_ranking() {
        // Scores 0.9 (+), 0.8 (-), 0.7 (+ and -), 0.1 (-).
        let counts = [
            (0.9, 1.0, 0.0),
            (0.8, 0.0, 1.0),
            (0.7, 1.0, 1.0),
            (0.1, 0.0, 1.0),
        ];
        let (roc, pr) = curves(&counts);
        assert_eq!(
            roc,
            [
                (0.0, 0.0),
                (0.0, 0.5),
                (1.0 / 3.0, 0.5),
                (2.0 / 3.0, 1.0),
                (1.0, 1.0),
                (1.0, 1.0)
            ]
        );
        // 0.5/3 + (1/3)(0.75) + 1/3 = 0.75.
        assert!((area(&roc) - 0.75).abs() < 1e-12);
        assert_eq!(pr[0], (0.0, 1.0));
        assert_eq!(pr[3], (1.0, 0.5));
        assert_eq!(
            pooled(counts.to_vec(), 2),
            [(0.8, 1.0, 1.0), (0.1, 1.0, 2.0)]
        );
        assert_eq!(pooled(counts.to_vec(), 3).len(), 4);
    }
}
