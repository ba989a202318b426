//! Linear regression against scikit-learn on the same generated data (scikit-learn from PyPI:
//! `scripts/oracles` installs it and names its Python in `EMBER_ORACLE_PYTHON`), by both of
//! Spark's solvers: the normal equations and L-BFGS (OWL-QN with an L1 part).
//!
//! The two libraries minimize the same objective once their conventions are mapped (see the
//! module doc of `LinearRegression`): scikit-learn's `Ridge(alpha=A)` is `regParam = λ` with
//! `A = W·λ/σ_y`, its `ElasticNet(alpha=a, l1_ratio=r)` is `a·r = λ·α`,
//! `a·(1-r) = λ·(1-α)/σ_y`, and its `Lasso(alpha=λ)` is `regParam = λ`,
//! `elasticNetParam = 1`. `σ_y` is the label's population deviation for the normal equations
//! and its unbiased one for L-BFGS, as in Spark; with `standardization` on scikit-learn fits
//! the features divided by their deviation. Coefficients, intercepts and predictions must
//! agree within 1e-4 relative (a coefficient 0 in one is 0 in the other).

use ember_core::Context;
use ember_ml::feature::VectorAssembler;
use ember_ml::regression::{LinearRegression, LinearRegressionModel};
use ember_ml::{Estimator, MlReadable, MlWritable, Transformer};
use ember_sql::{DataFrame, SqlContextExt};
use serde_json::Value;

mod common;
use common::{assembled_csv, numbers, oracle, predictions};

const FEATURES: [&str; 5] = ["x0", "x1", "x2", "x3", "x4"];

/// Writes `dir/data.csv` (features of different scales, one of them useless, a noisy label,
/// weights) and fits scikit-learn to it in each case, for each solver's deviations.
const ORACLE: &str = r#"
import json, sys
import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

out = sys.argv[1]
rng = np.random.default_rng(11)
n, d = 2000, 5
scales = np.array([1.0, 10.0, 0.1, 3.0, 1.0])
x = rng.normal(size=(n, d)) * scales + np.array([0.0, 5.0, -1.0, 0.0, 2.0])
truth = np.array([1.5, -0.2, 8.0, 0.0, -1.0])
y = x @ truth + 3.0 + rng.normal(scale=0.5, size=n)
w = rng.uniform(0.5, 2.0, size=n)
table = np.column_stack([np.arange(n), x, y, w])
np.savetxt(out + "/data.csv", table, delimiter=",", fmt="%.17g",
           header="id,x0,x1,x2,x3,x4,label,weight", comments="")

def std(v, weights, unbiased):
    weights = np.ones(n) if weights is None else weights
    total = weights.sum()
    mean = (weights * v).sum() / total
    squares = (weights * (v - mean) ** 2).sum()
    return float(np.sqrt(squares / (total - (weights ** 2).sum() / total if unbiased else total)))

def result(model, features, divide=1.0):
    return {"coefficients": list(model.coef_ / divide), "intercept": float(model.intercept_),
            "predictions": [float(p) for p in model.predict(features)]}

cases = {}
for solver, unbiased in [("normal", False), ("l-bfgs", True)]:
    sy = std(y, None, unbiased)
    sx = np.array([std(x[:, j], None, unbiased) for j in range(d)])
    cases[solver + "/ols"] = result(LinearRegression().fit(x, y), x)
    ridge = Ridge(alpha=w.sum() * 0.3 / std(y, w, unbiased)).fit(x, y, sample_weight=w)
    cases[solver + "/ridge_weighted"] = result(ridge, x)
    scaled = x / sx
    ridge = Ridge(alpha=n * 0.3 / sy).fit(scaled, y)
    cases[solver + "/ridge_standardized"] = result(ridge, scaled, sx)
    ridge = Ridge(alpha=n * 0.3 / sy, fit_intercept=False).fit(x, y)
    cases[solver + "/ridge_no_intercept"] = result(ridge, x)
    lam, alpha = 0.1, 0.5
    a = lam * alpha + lam * (1 - alpha) / sy
    net = ElasticNet(alpha=a, l1_ratio=lam * alpha / a, tol=1e-12, max_iter=1000000).fit(x, y)
    cases[solver + "/elastic_net"] = result(net, x)
    lasso = Lasso(alpha=0.15, tol=1e-12, max_iter=1000000).fit(x, y)
    cases[solver + "/lasso"] = result(lasso, x)
print(json.dumps(cases))
"#;

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-4 * theirs.abs().max(1e-3)
}

/// Checks `model` against scikit-learn's fit `expected`, coefficient by coefficient, and its
/// predictions on `data` row by row.
fn assert_same_model(
    case: &str,
    model: &LinearRegressionModel,
    expected: &Value,
    data: &DataFrame,
) {
    let coefficients = model.coefficients().to_array();
    let theirs = numbers(&expected["coefficients"]);
    assert_eq!(coefficients.len(), theirs.len());
    for (j, (&ours, &theirs)) in coefficients.iter().zip(&theirs).enumerate() {
        assert!(
            close(ours, theirs),
            "{case}: coefficient {j} is {ours}, scikit-learn's {theirs}"
        );
    }
    let intercept = expected["intercept"].as_f64().unwrap();
    assert!(
        close(model.intercept(), intercept),
        "{case}: intercept {} against scikit-learn's {intercept}",
        model.intercept()
    );
    let predictions = predictions(model, data, "id");
    let theirs = numbers(&expected["predictions"]);
    assert_eq!(predictions.len(), theirs.len());
    for (i, (&ours, &theirs)) in predictions.iter().zip(&theirs).enumerate() {
        assert!(
            close(ours, theirs),
            "{case}: prediction {i} is {ours}, scikit-learn's {theirs}"
        );
    }
}

#[test]
fn both_solvers_match_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let expected = oracle(ORACLE, dir.path());
    let ctx = Context::with_master("local[2]").unwrap();
    let data = assembled_csv(&ctx, &dir.path().join("data.csv"), &FEATURES);
    for solver in ["normal", "l-bfgs"] {
        let base = || {
            LinearRegression::new()
                .set_solver(solver)
                .set_standardization(false)
                .set_tol(1e-12)
                .set_max_iter(1000)
        };
        let cases = [
            ("ols", base()),
            (
                "ridge_weighted",
                base().set_reg_param(0.3).set_weight_col("weight"),
            ),
            (
                "ridge_standardized",
                base().set_reg_param(0.3).set_standardization(true),
            ),
            (
                "ridge_no_intercept",
                base().set_reg_param(0.3).set_fit_intercept(false),
            ),
            (
                "elastic_net",
                base().set_reg_param(0.1).set_elastic_net_param(0.5),
            ),
            (
                "lasso",
                base().set_reg_param(0.15).set_elastic_net_param(1.0),
            ),
        ];
        for (case, estimator) in cases {
            let case = format!("{solver}/{case}");
            let model = estimator.fit(&data).unwrap();
            assert_same_model(&case, &model, &expected[&case], &data);
            if case.ends_with("lasso") {
                let c = model.coefficients();
                assert_eq!((c.get(2), c.get(3)), (0.0, 0.0), "{case}: {c:?}");
            }
        }
    }
    // The L1 penalty drops the useless feature and the faint one, in both libraries.
    let lasso = numbers(&expected["l-bfgs/lasso"]["coefficients"]);
    assert_eq!((lasso[2], lasso[3]), (0.0, 0.0), "{lasso:?}");
}

#[test]
fn iterations_lower_the_objective_and_a_saved_model_predicts_the_same() {
    let ctx = Context::with_master("local[2]").unwrap();
    let rows = ctx
        .sql(
            "SELECT CAST(value AS DOUBLE) AS x, CAST(value % 7 AS DOUBLE) AS z, \
             2.0 * value - 3.0 * (value % 7) + 0.5 + ((value * 37) % 11) / 11.0 AS label \
             FROM range(500)",
        )
        .unwrap();
    let data = VectorAssembler::new()
        .set_input_cols(&["x", "z"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap();
    let model = LinearRegression::new()
        .set_solver("l-bfgs")
        .set_reg_param(0.01)
        .fit(&data)
        .unwrap();
    let summary = model.summary().unwrap();
    assert!(summary.total_iterations > 0, "{summary:?}");
    assert!(
        summary.objective_history.windows(2).all(|w| w[1] <= w[0]),
        "{summary:?}"
    );
    let normal = LinearRegression::new().fit(&data).unwrap();
    assert_eq!(normal.summary().unwrap().objective_history, [0.0]);
    assert!(
        (normal.coefficients().get(0) - 2.0).abs() < 0.01,
        "{normal:?}"
    );
    assert!(
        (normal.coefficients().get(1) + 3.0).abs() < 0.05,
        "{normal:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    let path = path.to_str().unwrap();
    model.write().save(&ctx, path).unwrap();
    let loaded = LinearRegressionModel::load(&ctx, path).unwrap();
    assert_eq!(loaded.coefficients(), model.coefficients());
    assert_eq!(loaded.intercept(), model.intercept());
    assert_eq!(loaded.scale(), 1.0);
    assert_eq!(
        predictions(&loaded, &data, "x"),
        predictions(&model, &data, "x")
    );
    let err = ember_ml::clustering::KMeansModel::load(&ctx, path).unwrap_err();
    assert!(err.to_string().contains("LinearRegressionModel"), "{err}");
}

#[test]
fn a_constant_label_and_bad_columns_are_handled_as_spark_does() {
    let ctx = Context::with_master("local[2]").unwrap();
    let rows = ctx
        .sql("SELECT CAST(value AS DOUBLE) AS x, 4.0 AS label, 'a' AS name FROM range(20)")
        .unwrap();
    let data = VectorAssembler::new()
        .set_input_cols(&["x"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap();
    for solver in ["normal", "l-bfgs"] {
        let model = LinearRegression::new()
            .set_solver(solver)
            .fit(&data)
            .unwrap();
        assert_eq!(model.coefficients().to_array(), [0.0], "{solver}");
        assert_eq!(model.intercept(), 4.0, "{solver}");
    }
    let err = LinearRegression::new()
        .set_label_col("name")
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("column name must be of type numeric"), "{err}");
    let err = LinearRegression::new()
        .set_features_col("x")
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("column x must be of type vector"), "{err}");
}
