//! Evaluators against scikit-learn on the same generated predictions (scikit-learn from
//! PyPI: `scripts/oracles` installs it and names its Python in `EMBER_ORACLE_PYTHON`).
//! Where scikit-learn has no metric of Spark's definition (the explained variance, R² through
//! the origin, the false positive rate, the area under Spark's PR curve), the oracle computes
//! it with numpy from the definition. Every metric must agree within 1e-9 relative.

use ember_core::Context;
use ember_ml::evaluation::{
    BinaryClassificationEvaluator, ClusteringEvaluator, Evaluator,
    MulticlassClassificationEvaluator, RegressionEvaluator,
};
use ember_ml::feature::VectorAssembler;
use ember_ml::{HasParams, MlReadable, MlWritable, Transformer};
use ember_sql::{DataFrame, SqlContextExt};
use serde_json::Value;

mod common;
use common::oracle;

const ORACLE: &str = r#"
import json, sys
import numpy as np
from sklearn import metrics

out = sys.argv[1]
rng = np.random.default_rng(5)
n = 600
result = {}

# Regression: noisy predictions of a label, weights.
y = rng.normal(3.0, 2.0, size=n)
yhat = y + rng.normal(0.2, 0.7, size=n)
w = rng.uniform(0.5, 2.0, size=n)
np.savetxt(out + "/regression.csv", np.column_stack([y, yhat, w]), delimiter=",",
           fmt="%.17g", header="label,prediction,weight", comments="")
mean = np.average(y, weights=w)
result["regression"] = {
    "rmse": float(np.sqrt(metrics.mean_squared_error(y, yhat, sample_weight=w))),
    "mse": float(metrics.mean_squared_error(y, yhat, sample_weight=w)),
    "mae": float(metrics.mean_absolute_error(y, yhat, sample_weight=w)),
    "r2": float(metrics.r2_score(y, yhat, sample_weight=w)),
    "var": float(np.average((yhat - mean) ** 2, weights=w)),
    "r2_origin": float(1 - np.sum(w * (y - yhat) ** 2) / np.sum(w * y ** 2)),
}

# Binary: scores rounded to two decimals (ties), labels drawn from them, weights.
score = np.round(rng.random(n), 2)
label = (rng.random(n) < score).astype(float)
np.savetxt(out + "/binary.csv", np.column_stack([score, label, w]), delimiter=",",
           fmt="%.17g", header="score,label,weight", comments="")
def pr_area(weights):
    thresholds = np.unique(score)[::-1]
    tp = np.array([np.sum(weights * label * (score >= t)) for t in thresholds])
    fp = np.array([np.sum(weights * (1 - label) * (score >= t)) for t in thresholds])
    recall, precision = tp / tp[-1], tp / (tp + fp)
    recall, precision = np.concatenate([[0.0], recall]), np.concatenate([[precision[0]], precision])
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))
result["binary"] = {
    "roc": float(metrics.roc_auc_score(label, score)),
    "roc_weighted": float(metrics.roc_auc_score(label, score, sample_weight=w)),
    "pr": pr_area(np.ones(n)),
    "pr_weighted": pr_area(w),
}

# Multiclass: three classes, probabilities, the likeliest class predicted (mostly).
probability = rng.dirichlet([2.0, 2.0, 2.0], size=n)
truth = np.array([rng.choice(3, p=p) for p in probability])
predicted = np.argmax(probability, axis=1)
predicted[:40] = (predicted[:40] + 1) % 3
table = np.column_stack([truth, predicted, probability, w])
np.savetxt(out + "/multiclass.csv", table, delimiter=",", fmt="%.17g",
           header="label,prediction,p0,p1,p2,weight", comments="")
def fpr(c, weights):
    negatives = truth != c
    return np.sum(weights * negatives * (predicted == c)) / np.sum(weights * negatives)
counts = np.array([np.sum(w * (truth == c)) for c in range(3)])
result["multiclass"] = {
    "f1": float(metrics.f1_score(truth, predicted, average="weighted", sample_weight=w)),
    "accuracy": float(metrics.accuracy_score(truth, predicted, sample_weight=w)),
    "weightedPrecision": float(metrics.precision_score(
        truth, predicted, average="weighted", sample_weight=w, zero_division=0)),
    "weightedRecall": float(metrics.recall_score(
        truth, predicted, average="weighted", sample_weight=w)),
    "weightedFalsePositiveRate": float(sum(fpr(c, w) * counts[c] for c in range(3)) / w.sum()),
    "weightedFMeasure": float(metrics.fbeta_score(
        truth, predicted, beta=0.5, average="weighted", sample_weight=w)),
    "fMeasureByLabel": float(metrics.f1_score(
        truth, predicted, labels=[1], average=None, sample_weight=w)[0]),
    "precisionByLabel": float(metrics.precision_score(
        truth, predicted, labels=[1], average=None, sample_weight=w)[0]),
    "falsePositiveRateByLabel": float(fpr(1, w)),
    "logLoss": float(metrics.log_loss(truth, probability, sample_weight=w)),
    "hammingLoss": float(metrics.hamming_loss(truth, predicted, sample_weight=w)),
}

# Clustering: three blobs in 4 dimensions, one point put in the wrong cluster.
centers = rng.normal(0, 5, size=(3, 4))
cluster = rng.integers(0, 3, size=n)
points = centers[cluster] + rng.normal(0, 1.0, size=(n, 4))
cluster[0] = (cluster[0] + 1) % 3
np.savetxt(out + "/clusters.csv", np.column_stack([points, cluster]), delimiter=",",
           fmt="%.17g", header="x0,x1,x2,x3,prediction", comments="")
result["clustering"] = {
    "squaredEuclidean": float(metrics.silhouette_score(points, cluster, metric="sqeuclidean")),
    "cosine": float(metrics.silhouette_score(points, cluster, metric="cosine")),
}
print(json.dumps(result))
"#;

fn read(ctx: &Context, dir: &std::path::Path, name: &str) -> DataFrame {
    ctx.read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(dir.join(name).to_str().unwrap())
        .unwrap()
}

fn assemble(data: &DataFrame, inputs: &[&str], output: &str) -> DataFrame {
    VectorAssembler::new()
        .set_input_cols(inputs)
        .set_output_col(output)
        .transform(data)
        .unwrap()
}

fn assert_close(what: &str, ours: f64, theirs: &Value) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no oracle value"));
    assert!(
        (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1e-6),
        "{what}: ember's {ours}, the oracle's {theirs}"
    );
}

#[test]
fn metrics_match_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let expected = oracle(ORACLE, dir.path());
    let ctx = Context::with_master("local[2]").unwrap();

    let regression = read(&ctx, dir.path(), "regression.csv");
    for metric in ["rmse", "mse", "mae", "r2", "var"] {
        let evaluator = RegressionEvaluator::new()
            .set_metric_name(metric)
            .set_weight_col("weight");
        let value = evaluator.evaluate(&regression).unwrap();
        assert_close(metric, value, &expected["regression"][metric]);
        assert_eq!(evaluator.is_larger_better(), matches!(metric, "r2" | "var"));
    }
    let through_origin = RegressionEvaluator::new()
        .set_metric_name("r2")
        .set_weight_col("weight")
        .set_through_origin(true)
        .evaluate(&regression)
        .unwrap();
    assert_close(
        "r2 through origin",
        through_origin,
        &expected["regression"]["r2_origin"],
    );

    // Scores as a number column and as Spark's rawPrediction vectors [-s, s].
    let binary = read(&ctx, dir.path(), "binary.csv");
    let negated = binary
        .with_column("minus", ember_sql::lit(0.0) - ember_sql::col("score"))
        .unwrap();
    let vectors = assemble(&negated, &["minus", "score"], "rawPrediction");
    for (metric, key) in [("areaUnderROC", "roc"), ("areaUnderPR", "pr")] {
        for weighted in [false, true] {
            let mut evaluator = BinaryClassificationEvaluator::new()
                .set_metric_name(metric)
                .set_num_bins(0);
            if weighted {
                evaluator = evaluator.set_weight_col("weight");
            }
            let key = if weighted {
                format!("{key}_weighted")
            } else {
                key.into()
            };
            let by_vector = evaluator.evaluate(&vectors).unwrap();
            assert_close(&key, by_vector, &expected["binary"][&key]);
            let by_number = evaluator
                .set_raw_prediction_col("score")
                .evaluate(&binary)
                .unwrap();
            assert_close(&key, by_number, &expected["binary"][&key]);
        }
    }

    let multiclass = read(&ctx, dir.path(), "multiclass.csv");
    let multiclass = assemble(&multiclass, &["p0", "p1", "p2"], "probability");
    let expected_multiclass = expected["multiclass"].as_object().unwrap();
    for (metric, value) in expected_multiclass {
        let evaluator = MulticlassClassificationEvaluator::new()
            .set_metric_name(metric)
            .set_metric_label(1.0)
            .set_beta(if metric == "weightedFMeasure" {
                0.5
            } else {
                1.0
            })
            .set_weight_col("weight");
        assert_close(metric, evaluator.evaluate(&multiclass).unwrap(), value);
    }

    let clusters = read(&ctx, dir.path(), "clusters.csv");
    let clusters = assemble(&clusters, &["x0", "x1", "x2", "x3"], "features");
    for distance in ["squaredEuclidean", "cosine"] {
        let evaluator = ClusteringEvaluator::new().set_distance_measure(distance);
        let value = evaluator.evaluate(&clusters).unwrap();
        assert_close(distance, value, &expected["clustering"][distance]);
    }
}

#[test]
fn evaluators_save_and_load_and_name_bad_columns() {
    let ctx = Context::with_master("local[2]").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evaluator");
    let path = path.to_str().unwrap();
    let evaluator = MulticlassClassificationEvaluator::new().set_metric_name("accuracy");
    evaluator.write().save(&ctx, path).unwrap();
    let loaded = MulticlassClassificationEvaluator::load(&ctx, path).unwrap();
    assert_eq!(loaded.uid(), evaluator.uid());
    assert_eq!(loaded.params().string("metricName"), Some("accuracy"));

    let scored = ctx.sql("SELECT 1.0 AS label, 'x' AS prediction").unwrap();
    let err = RegressionEvaluator::new().evaluate(&scored).unwrap_err();
    assert!(
        err.to_string()
            .contains("column prediction must be of type numeric"),
        "{err}"
    );
    let err = RegressionEvaluator::new()
        .set_label_col("y")
        .evaluate(&scored)
        .unwrap_err();
    assert!(err.to_string().contains("column y does not exist"), "{err}");
    let err = RegressionEvaluator::new()
        .set_metric_name("rms")
        .evaluate(&scored)
        .unwrap_err();
    assert!(err.to_string().contains("metricName"), "{err}");
}
