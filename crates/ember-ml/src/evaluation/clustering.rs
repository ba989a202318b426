//! `ClusteringEvaluator` (Spark's `org.apache.spark.ml.evaluation.ClusteringEvaluator`).

use super::Evaluator;
use crate::dataset::{InstanceBlock, InstanceColumns};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::params_only_persistence;
use crate::stage::has_params;
use crate::{Error, Result};
use ember_core::{Fn, StorageLevel};
use ember_sql::DataFrame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const CLASS: &str = "org.apache.spark.ml.evaluation.ClusteringEvaluator";

const METRIC_NAME: ParamSpec = ParamSpec::new(
    "metricName",
    ParamKind::String,
    "metric name in evaluation (silhouette)",
)
.accepting(Accepts::OneOf(&["silhouette"]));
const DISTANCE_MEASURE: ParamSpec = ParamSpec::new(
    "distanceMeasure",
    ParamKind::String,
    "The distance measure. Supported options: 'squaredEuclidean' and 'cosine'.",
)
.accepting(Accepts::OneOf(&["squaredEuclidean", "cosine"]));

const PARAMS: &[ParamSpec] = &[
    DISTANCE_MEASURE,
    shared::FEATURES_COL,
    METRIC_NAME,
    shared::PREDICTION_COL,
    shared::WEIGHT_COL,
];

/// How well points sit in their clusters (Spark's `ClusteringEvaluator`): the mean
/// silhouette, `(b - a) / max(a, b)` of each point, `a` its mean distance to the other
/// points of its cluster and `b` the least mean distance to another cluster's points (0 for a
/// cluster of one point), weighted by `weightCol` when set.
///
/// Distances are squared Euclidean (Spark's default; scikit-learn's `sqeuclidean`) or cosine
/// (`1 - cos`). Both mean distances come from each cluster's sums, as Spark computes them:
/// one pass sums each cluster's points (and squared norms), the next gives each point its
/// silhouette from those sums, so the work is linear in the rows and the clusters.
///
/// ```
/// use ember_core::Context;
/// use ember_ml::evaluation::{ClusteringEvaluator, Evaluator};
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::Transformer;
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let rows = ctx
///     .sql("SELECT * FROM (VALUES (0.0, 0), (1.0, 0), (10.0, 1), (11.0, 1)) AS t(x, prediction)")
///     .unwrap();
/// let points = VectorAssembler::new()
///     .set_input_cols(&["x"])
///     .set_output_col("features")
///     .transform(&rows)
///     .unwrap();
/// let silhouette = ClusteringEvaluator::new().evaluate(&points).unwrap();
/// assert!(silhouette > 0.98);
/// ```
#[derive(Debug, Clone)]
pub struct ClusteringEvaluator {
    params: Params,
}

impl Default for ClusteringEvaluator {
    fn default() -> Self {
        ClusteringEvaluator::new()
    }
}

impl ClusteringEvaluator {
    /// An evaluator with Spark's defaults.
    pub fn new() -> ClusteringEvaluator {
        let string = |s: &str| ParamValue::String(s.to_string());
        ClusteringEvaluator {
            params: Params::new("cluEval", PARAMS)
                .default("distanceMeasure", string("squaredEuclidean"))
                .default("featuresCol", string("features"))
                .default("metricName", string("silhouette"))
                .default("predictionCol", string("prediction")),
        }
    }

    setter!(
        /// The distance: `squaredEuclidean` (default) or `cosine`.
        set_distance_measure, "distanceMeasure", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The features column (default `features`).
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The cluster column (default `prediction`).
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );
}

/// The sums of one cluster's points.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ClusterSums {
    weight: f64,
    /// Σ w·x (of unit vectors for cosine).
    sum: Vec<f64>,
    /// Σ w·|x|² (squared Euclidean only).
    squared_norms: f64,
}

/// Sums per cluster, by the bits of its id (any number names a cluster, as in Spark).
type Clusters = BTreeMap<u64, ClusterSums>;

/// A row's features as the distance sees them: unit length for cosine (0 stays 0).
fn point(block: &InstanceBlock, i: usize, cosine: bool) -> Vec<f64> {
    let mut x = block.dense_row(i);
    if cosine {
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            x.iter_mut().for_each(|v| *v /= norm);
        }
    }
    x
}

/// Row `i`'s cluster: its label.
fn cluster_of(block: &InstanceBlock, i: usize) -> u64 {
    block.label(i).to_bits()
}

fn add_to_clusters(mut clusters: Clusters, block: &InstanceBlock, cosine: bool) -> Clusters {
    for i in 0..block.len() {
        let w = block.weight(i);
        let x = point(block, i, cosine);
        let sums = clusters.entry(cluster_of(block, i)).or_default();
        if sums.sum.is_empty() {
            sums.sum = vec![0.0; x.len()];
        }
        sums.weight += w;
        for (s, v) in sums.sum.iter_mut().zip(&x) {
            *s += w * v;
        }
        sums.squared_norms += w * x.iter().map(|v| v * v).sum::<f64>();
    }
    clusters
}

fn merge_clusters(mut a: Clusters, b: Clusters) -> Clusters {
    for (id, sums) in b {
        let mine = a.entry(id).or_default();
        if mine.sum.is_empty() {
            *mine = sums;
            continue;
        }
        mine.weight += sums.weight;
        mine.squared_norms += sums.squared_norms;
        for (s, v) in mine.sum.iter_mut().zip(&sums.sum) {
            *s += v;
        }
    }
    a
}

/// The mean distance from `x`, of squared norm `norm2`, to the points of a cluster with sums
/// `c`.
fn mean_distance(x: &[f64], norm2: f64, c: &ClusterSums, cosine: bool) -> f64 {
    let dot: f64 = x.iter().zip(&c.sum).map(|(a, b)| a * b).sum();
    if cosine {
        1.0 - dot / c.weight
    } else {
        norm2 + c.squared_norms / c.weight - 2.0 * dot / c.weight
    }
}

/// Row `i`'s silhouette against the clusters' sums.
fn silhouette(block: &InstanceBlock, i: usize, clusters: &Clusters, cosine: bool) -> f64 {
    let (own, w) = (cluster_of(block, i), block.weight(i));
    let x = point(block, i, cosine);
    // Once per point, not once per cluster.
    let norm2: f64 = x.iter().map(|v| v * v).sum();
    let mine = &clusters[&own];
    if mine.weight <= w {
        return 0.0;
    }
    // The mean over the cluster counts the point itself at distance 0: leave it out.
    let a = mean_distance(&x, norm2, mine, cosine) * mine.weight / (mine.weight - w);
    let b = clusters
        .iter()
        .filter(|(&id, c)| id != own && c.weight > 0.0)
        .map(|(_, c)| mean_distance(&x, norm2, c, cosine))
        .fold(f64::INFINITY, f64::min);
    if a < b {
        1.0 - a / b
    } else if a > b {
        b / a - 1.0
    } else {
        0.0
    }
}

has_params!(ClusteringEvaluator);

impl Evaluator for ClusteringEvaluator {
    fn evaluate(&self, dataset: &DataFrame) -> Result<f64> {
        self.params.validate()?;
        let p = &self.params;
        let cosine = p.string("distanceMeasure") == Some("cosine");
        let prediction = p.string("predictionCol").unwrap_or_default();
        let columns = InstanceColumns {
            features: p.string("featuresCol").unwrap_or_default().to_string(),
            label: Some(prediction.to_string()),
            weight: p.string("weightCol").map(str::to_string),
        };
        let blocks = columns.blocks(dataset, StorageLevel::MEMORY_AND_DISK)?;
        let result = (|| {
            let clusters = blocks.tree_aggregate(
                Clusters::new(),
                Fn!(move |c: Clusters, block: InstanceBlock| add_to_clusters(c, &block, cosine)),
                Fn!(|a: Clusters, b: Clusters| merge_clusters(a, b)),
                2,
            )?;
            if clusters.len() < 2 {
                return Err(Error::Input(format!(
                    "column {prediction} holds {} cluster(s); the silhouette needs at least 2",
                    clusters.len()
                )));
            }
            let ctx = dataset.context()?;
            let shared = ctx.broadcast(clusters);
            let on_tasks = shared.clone();
            let (total, weight) = blocks.tree_aggregate(
                (0.0, 0.0),
                Fn!(move |sums: (f64, f64), block: InstanceBlock| {
                    let clusters = on_tasks.value();
                    let (mut total, mut weight) = sums;
                    for i in 0..block.len() {
                        total += block.weight(i) * silhouette(&block, i, clusters, cosine);
                        weight += block.weight(i);
                    }
                    (total, weight)
                }),
                Fn!(|a: (f64, f64), b: (f64, f64)| (a.0 + b.0, a.1 + b.1)),
                2,
            )?;
            shared.destroy();
            Ok(total / weight)
        })();
        blocks.unpersist();
        result
    }

    fn is_larger_better(&self) -> bool {
        true
    }
}

params_only_persistence!(ClusteringEvaluator, CLASS);
