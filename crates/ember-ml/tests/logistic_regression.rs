//! Logistic regression against scikit-learn on the same generated data (scikit-learn from
//! PyPI: `scripts/oracles` installs it and names its Python in `EMBER_ORACLE_PYTHON`).
//!
//! Both libraries minimize the same objective once their conventions are mapped: scikit-learn's
//! `C` is `1 / (regParam · W)` (W the sum of the weights) with `standardization` off; with it
//! on, scikit-learn fits features divided by their standard deviation and its coefficients are
//! divided by the same; an L1 part `elasticNetParam = α` is scikit-learn's `l1_ratio = α`.
//! Coefficients must agree within 1e-4 relative (a coefficient 0 in one is 0 in the other)
//! and every prediction must be the same.

use ember_core::Context;
use ember_ml::classification::{LogisticRegression, LogisticRegressionModel};
use ember_ml::Estimator;
use ember_sql::DataFrame;
use serde_json::Value;

mod common;
use common::{assembled_csv, numbers, oracle, predictions};

const FEATURES: [&str; 5] = ["x0", "x1", "x2", "x3", "x4"];

/// Writes `dir/data.csv` (features of different scales, a noisy label, weights) and fits
/// scikit-learn to it in each case; the fitted coefficients, intercepts and predictions.
const ORACLE: &str = r#"
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
rng = np.random.default_rng(7)
n, d = 2000, 5
scales = np.array([1.0, 10.0, 0.1, 3.0, 1.0])
x = rng.normal(size=(n, d)) * scales + np.array([0.0, 5.0, -1.0, 0.0, 2.0])
truth = np.array([1.5, -0.2, 8.0, 0.4, -1.0])
margin = (x - x.mean(axis=0)) @ truth + 0.3
y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(float)
w = rng.uniform(0.5, 2.0, size=n)
table = np.column_stack([np.arange(n), x, y, w])
np.savetxt(out + "/data.csv", table, delimiter=",", fmt="%.17g",
           header="id,x0,x1,x2,x3,x4,label,weight", comments="")

def fit(name, c, weighted=False, intercept=True, standardized=False, l1_ratio=None):
    features = x / x.std(axis=0, ddof=1) if standardized else x
    kwargs = {} if c is not None else {"penalty": None}
    if l1_ratio is not None:
        # Only saga takes an L1 part; it converges slowly, hence the tighter tolerance.
        kwargs.update(l1_ratio=l1_ratio, solver="saga", tol=1e-12)
    model = LogisticRegression(**{"C": c if c is not None else 1.0, "solver": "lbfgs",
                                  "tol": 1e-12, "max_iter": 1000000,
                                  "fit_intercept": intercept, **kwargs})
    model.fit(features, y, sample_weight=w if weighted else None)
    coef = model.coef_[0] / (x.std(axis=0, ddof=1) if standardized else 1.0)
    return name, {"coefficients": list(coef), "intercept": float(model.intercept_[0]),
                  "predictions": [float(p) for p in model.predict(features)]}

n_weight = w.sum()
cases = dict([
    fit("l2", 0.05),
    fit("none", None),
    fit("weighted", 0.05, weighted=True),
    fit("no_intercept", 0.05, intercept=False),
    fit("standardized", 0.05, standardized=True),
    fit("elastic_net", 1 / (0.02 * n), standardized=True, l1_ratio=0.5),
    fit("l1", 1 / (0.05 * n), standardized=True, l1_ratio=1.0),
])
cases["n"] = n
cases["weight_sum"] = float(n_weight)
print(json.dumps(cases))
"#;

/// Checks `model` against scikit-learn's fit `expected`, coefficient by coefficient, and its
/// predictions on `data` row by row.
fn assert_same_model(
    case: &str,
    model: &LogisticRegressionModel,
    expected: &Value,
    data: &DataFrame,
) {
    let close = |ours: f64, theirs: f64| (ours - theirs).abs() <= 1e-4 * theirs.abs().max(1e-3);
    let coefficients = model.coefficients().to_array();
    let theirs = numbers(&expected["coefficients"]);
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
    let differing = predictions
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{case}: {differing} predictions differ from scikit-learn's"
    );
}

#[test]
fn coefficients_and_predictions_match_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let expected = oracle(ORACLE, dir.path());
    let ctx = Context::with_master("local[2]").unwrap();
    let data = assembled_csv(&ctx, &dir.path().join("data.csv"), &FEATURES);
    let n = expected["n"].as_f64().unwrap();
    let weight_sum = expected["weight_sum"].as_f64().unwrap();
    let reg = |w: f64| 1.0 / (0.05 * w);
    let base = || {
        LogisticRegression::new()
            .set_standardization(false)
            .set_tol(1e-12)
            .set_max_iter(1000)
    };
    let cases = [
        ("l2", base().set_reg_param(reg(n))),
        ("none", base()),
        (
            "weighted",
            base()
                .set_reg_param(reg(weight_sum))
                .set_weight_col("weight"),
        ),
        (
            "no_intercept",
            base().set_reg_param(reg(n)).set_fit_intercept(false),
        ),
        (
            "standardized",
            base().set_reg_param(reg(n)).set_standardization(true),
        ),
        (
            "elastic_net",
            base()
                .set_reg_param(0.02)
                .set_elastic_net_param(0.5)
                .set_standardization(true),
        ),
        (
            "l1",
            base()
                .set_reg_param(0.05)
                .set_elastic_net_param(1.0)
                .set_standardization(true),
        ),
    ];
    for (case, estimator) in cases {
        let model = estimator.fit(&data).unwrap();
        assert_same_model(case, &model, &expected[case], &data);
    }
}
