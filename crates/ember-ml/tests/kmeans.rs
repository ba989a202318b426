//! k-means against scikit-learn on the same well-separated blobs (scikit-learn from PyPI:
//! `scripts/oracles` installs it and names its Python in `EMBER_ORACLE_PYTHON`): ember's
//! inertia is within 1% of scikit-learn's best of 10 starts, and the clusterings are the same
//! up to the numbering of the clusters.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int32Type;
use ember_core::Context;
use ember_ml::clustering::{KMeans, KMeansModel};
use ember_ml::feature::VectorAssembler;
use ember_ml::{Estimator, Transformer};
use ember_sql::{col, DataFrame, SqlContextExt};

mod common;
use common::{numbers, oracle};
use std::collections::HashMap;
use std::path::Path;

const ORACLE: &str = r#"
import json, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

out = sys.argv[1]
x, _ = make_blobs(n_samples=3000, centers=6, n_features=4, cluster_std=1.5,
                  center_box=(-25, 25), random_state=11)
np.savetxt(out + "/blobs.csv", np.column_stack([np.arange(len(x)), x]), delimiter=",",
           fmt="%.17g", header="id,x0,x1,x2,x3", comments="")
model = KMeans(n_clusters=6, n_init=10, random_state=0, tol=1e-8).fit(x)
print(json.dumps({"inertia": model.inertia_, "labels": model.labels_.tolist()}))
"#;

fn points(ctx: &Context, dir: &Path) -> DataFrame {
    let rows = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(dir.join("blobs.csv").to_str().unwrap())
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(&["x0", "x1", "x2", "x3"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

/// Each row's cluster, in the order of column `id`.
fn clusters(model: &KMeansModel, data: &DataFrame) -> Vec<i32> {
    let assigned = model.transform(data).unwrap();
    let assigned = assigned
        .order_by(vec![col("id").sort(true, false)])
        .unwrap();
    let batches = assigned.collect().unwrap();
    let column = |b: &ember_sql::RecordBatch| {
        b.column_by_name("prediction")
            .unwrap()
            .as_primitive::<Int32Type>()
            .values()
            .to_vec()
    };
    batches.iter().flat_map(column).collect()
}

/// Whether the two labelings group the rows the same way, whatever the clusters' numbers.
fn same_clustering(ours: &[i32], theirs: &[i64]) -> bool {
    let (mut forward, mut backward) = (HashMap::new(), HashMap::new());
    ours.iter().zip(theirs).all(|(a, b)| {
        *forward.entry(*a).or_insert(*b) == *b && *backward.entry(*b).or_insert(*a) == *a
    })
}

#[test]
fn inertia_and_clusters_match_scikit_learns_best_of_ten() {
    let dir = tempfile::tempdir().unwrap();
    let expected = oracle(ORACLE, dir.path());
    let inertia = expected["inertia"].as_f64().unwrap();
    let labels: Vec<i64> = numbers(&expected["labels"])
        .iter()
        .map(|&l| l as i64)
        .collect();
    let ctx = Context::with_master("local[2]").unwrap();
    let data = points(&ctx, dir.path());
    for init in ["k-means||", "random"] {
        let model = KMeans::new()
            .set_k(6)
            .set_seed(42)
            .set_init_mode(init)
            .set_max_iter(50)
            .set_tol(1e-8)
            .fit(&data)
            .unwrap();
        let summary = model.summary().unwrap();
        assert_eq!(model.cluster_centers().len(), 6);
        assert_eq!(summary.cluster_sizes.iter().sum::<u64>(), 3000);
        assert!(
            (summary.training_cost - inertia).abs() <= 0.01 * inertia,
            "{init}: inertia {} against scikit-learn's {inertia}",
            summary.training_cost
        );
        let ours = clusters(&model, &data);
        assert_eq!(ours.len(), labels.len());
        assert!(
            same_clustering(&ours, &labels),
            "{init}: the clusterings differ"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_centers() {
    let ctx = Context::with_master("local[2]").unwrap();
    let rows = ctx.sql("SELECT CAST(value % 17 AS DOUBLE) AS x, CAST(value % 5 AS DOUBLE) AS y FROM range(2000)").unwrap();
    let data = VectorAssembler::new()
        .set_input_cols(&["x", "y"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap();
    let fit = |seed: i64| KMeans::new().set_k(4).set_seed(seed).fit(&data).unwrap();
    assert_eq!(fit(5).cluster_centers(), fit(5).cluster_centers());
    let err = KMeans::new().set_k(1).fit(&data).unwrap_err().to_string();
    assert_eq!(err, "param k given 1 but it must be > 1");
    let err = KMeans::new()
        .set_features_col("points")
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "column points does not exist; the columns are: x, y, features"
    );
}
