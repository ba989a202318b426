//! `KMeans`: k centers that minimize the summed squared distance of each row to its nearest
//! one (Spark's `org.apache.spark.ml.clustering.KMeans`, Euclidean distance).
//!
//! # How it runs
//!
//! 1. The rows are stacked in blocks and kept in memory ([`crate::dataset`]).
//! 2. Initial centers by `k-means||` (the default; Bahmani et al.), as Spark picks them: one
//!    row drawn at random, then `initSteps` rounds that each keep every row with probability
//!    `2·k·cost / total cost` (its squared distance to the nearest center so far, one random
//!    stream per partition and round); the candidates, weighted by how many rows are nearest
//!    to each, are reduced to k on the driver by k-means++ and 30 rounds of local Lloyd
//!    iterations. `initMode` `random` draws k distinct rows instead.
//! 3. Lloyd iterations: the centers are broadcast, each task sums its rows by nearest center,
//!    the driver moves each center that has rows to their weighted mean. It stops after
//!    `maxIter` iterations, or once no center moved more than `tol` (Spark's absolute rule;
//!    scikit-learn's `tol` is relative to the data's variance instead).
//!
//! Each draw is a job that reads every row once: a row is drawn by giving each row a random
//! key from its partition's stream and keeping the smallest keys, which is a uniform sample
//! without replacement whatever the partitions' sizes.
//!
//! Not yet: `distanceMeasure` `cosine` (refused with a clear error).

use crate::dataset::{
    require_column, require_new_column, storage_level, InstanceBlock, InstanceColumns,
};
use crate::linalg::{
    is_vector_type, vector_field, vectors_to_array, Vector, VectorColumn, Vectors,
};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Estimator, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::rdd::BoxIter;
use ember_core::{Context, Fn, Rdd};
use ember_sql::DataFrame;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Spark's class of the estimator.
const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.clustering.KMeans";
/// Spark's class of the model, as saved.
const MODEL_CLASS: &str = "org.apache.spark.ml.clustering.KMeansModel";
/// Spark's default seed for `KMeans`: the Java hash code of its class name.
const DEFAULT_SEED: i64 = -1_689_246_527;
/// Local Lloyd iterations that reduce the `k-means||` candidates to k centers (Spark's 30).
const LOCAL_ITERATIONS: usize = 30;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "distanceMeasure",
        ParamKind::String,
        "The distance measure. Supported options: 'euclidean' and 'cosine'.",
    )
    .accepting(Accepts::OneOf(&["euclidean", "cosine"])),
    shared::FEATURES_COL,
    shared::INTERMEDIATE_STORAGE_LEVEL,
    ParamSpec::new(
        "initMode",
        ParamKind::String,
        "The initialization algorithm. Supported options: 'random' and 'k-means||'.",
    )
    .accepting(Accepts::OneOf(&["random", "k-means||"])),
    ParamSpec::new(
        "initSteps",
        ParamKind::Int,
        "The number of steps for k-means|| initialization mode. Must be > 0.",
    )
    .accepting(Accepts::Above(0.0)),
    ParamSpec::new(
        "k",
        ParamKind::Int,
        "The number of clusters to create. Must be > 1.",
    )
    .accepting(Accepts::Above(1.0)),
    shared::MAX_BLOCK_SIZE_IN_MB,
    shared::MAX_ITER,
    shared::PREDICTION_COL,
    shared::SEED,
    ParamSpec::new(
        "solver",
        ParamKind::String,
        "The solver algorithm for optimization. Supported options: auto, row, block.",
    )
    .accepting(Accepts::OneOf(&["auto", "row", "block"])),
    shared::TOL,
    shared::WEIGHT_COL,
];

fn default_params(params: Params) -> Params {
    let string = |s: &str| ParamValue::String(s.to_string());
    params
        .default("distanceMeasure", string("euclidean"))
        .default("featuresCol", string("features"))
        .default("initMode", string("k-means||"))
        .default("intermediateStorageLevel", string("MEMORY_AND_DISK"))
        .default("initSteps", ParamValue::Int(2))
        .default("k", ParamValue::Int(2))
        .default("maxBlockSizeInMB", ParamValue::Double(0.0))
        .default("maxIter", ParamValue::Int(20))
        .default("predictionCol", string("prediction"))
        .default("seed", ParamValue::Long(DEFAULT_SEED))
        .default("solver", string("auto"))
        .default("tol", ParamValue::Double(1e-4))
}

/// Clusters rows around k centers (Spark's `KMeans`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::clustering::KMeans;
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::linalg::Vectors;
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let rows = ctx
///     .sql("SELECT * FROM (VALUES (0.0, 0.1), (0.2, 0.0), (9.0, 9.1), (9.2, 8.9)) AS t(x, y)")
///     .unwrap();
/// let points = VectorAssembler::new()
///     .set_input_cols(&["x", "y"])
///     .set_output_col("features")
///     .transform(&rows)
///     .unwrap();
/// let model = KMeans::new().set_k(2).set_seed(1).fit(&points).unwrap();
/// let near_origin = model.predict(&Vectors::dense(vec![0.0, 0.0])).unwrap();
/// let far = model.predict(&Vectors::dense(vec![9.0, 9.0])).unwrap();
/// assert_ne!(near_origin, far);
/// ```
#[derive(Debug, Clone)]
pub struct KMeans {
    params: Params,
}

impl Default for KMeans {
    fn default() -> Self {
        KMeans::new()
    }
}

impl KMeans {
    /// An estimator with Spark's defaults (k 2, `k-means||`, 20 iterations, tol 1e-4).
    pub fn new() -> KMeans {
        KMeans {
            params: default_params(Params::new("kmeans", PARAMS)),
        }
    }

    setter!(
        /// How many clusters (above 1; default 2).
        set_k, "k", i32, ParamValue::Int
    );
    setter!(
        /// The most Lloyd iterations (default 20).
        set_max_iter, "maxIter", i32, ParamValue::Int
    );
    setter!(
        /// How far any center may still move for the iterations to stop (default 1e-4).
        set_tol, "tol", f64, ParamValue::Double
    );
    setter!(
        /// The seed of every random draw.
        set_seed, "seed", i64, ParamValue::Long
    );
    setter!(
        /// `k-means||` (default) or `random`.
        set_init_mode, "initMode", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// Rounds of `k-means||` (default 2).
        set_init_steps, "initSteps", i32, ParamValue::Int
    );
    setter!(
        /// The distance: `euclidean` (default; `cosine` is not supported yet).
        set_distance_measure, "distanceMeasure", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The features column (default `features`).
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The column the model adds, of cluster indices (default `prediction`).
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The weight column; every row weighs 1 when unset.
        set_weight_col, "weightCol", &str, |v: &str| ParamValue::String(v.into())
    );
}

has_params!(KMeans);

impl Estimator for KMeans {
    type Model = KMeansModel;

    fn fit(&self, dataset: &DataFrame) -> Result<KMeansModel> {
        let p = &self.params;
        p.validate()?;
        if p.string("distanceMeasure") == Some("cosine") {
            return Err(Error::Input(
                "KMeans with distanceMeasure cosine is not supported yet; use euclidean".into(),
            ));
        }
        let columns = InstanceColumns {
            features: p.string("featuresCol").unwrap_or_default().to_string(),
            label: None,
            weight: p.string("weightCol").map(str::to_string),
        };
        let level = storage_level(p.string("intermediateStorageLevel").unwrap_or_default());
        let blocks = columns.blocks(dataset, level)?;
        let clustering = Clustering {
            ctx: dataset.context()?,
            blocks: &blocks,
            k: p.int("k") as usize,
            seed: p.long("seed") as u64,
        };
        let fitted = clustering.run(p);
        blocks.unpersist();
        let (centers, summary) = fitted?;
        let params = p.copy_to(default_params(Params::with_uid(
            p.uid().to_string(),
            PARAMS,
        )));
        Ok(KMeansModel {
            params,
            centers,
            summary: Some(summary),
        })
    }
}

/// What training went through (Spark's `KMeansSummary`, in part).
#[derive(Debug, Clone)]
pub struct KMeansSummary {
    /// The summed weighted squared distance of each row to its center, at the final centers
    /// (scikit-learn's `inertia_`).
    pub training_cost: f64,
    /// Lloyd iterations run.
    pub num_iter: usize,
    /// Rows in each cluster.
    pub cluster_sizes: Vec<u64>,
}

/// One fit.
struct Clustering<'a> {
    ctx: Context,
    blocks: &'a Rdd<InstanceBlock>,
    k: usize,
    seed: u64,
}

/// Centers with their squared norms, as tasks get them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Centers {
    points: Vec<Vec<f64>>,
    norms2: Vec<f64>,
}

impl Centers {
    fn new(points: Vec<Vec<f64>>) -> Centers {
        let norms2 = points
            .iter()
            .map(|c| c.iter().map(|v| v * v).sum())
            .collect();
        Centers { points, norms2 }
    }

    /// The nearest center to row `i` of `block`, and its squared distance.
    #[inline]
    fn nearest(&self, block: &InstanceBlock, i: usize) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (c, (point, norm2)) in self.points.iter().zip(&self.norms2).enumerate() {
            let d = block.squared_distance(i, point, *norm2);
            if d < best.1 {
                best = (c, d);
            }
        }
        best
    }
}

/// A task's rows summed by nearest center.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClusterSums {
    sums: Vec<Vec<f64>>,
    weights: Vec<f64>,
    counts: Vec<u64>,
    cost: f64,
}

impl ClusterSums {
    fn zero(k: usize, d: usize) -> ClusterSums {
        ClusterSums {
            sums: vec![vec![0.0; d]; k],
            weights: vec![0.0; k],
            counts: vec![0; k],
            cost: 0.0,
        }
    }

    fn add(mut self, block: &InstanceBlock, centers: &Centers) -> ClusterSums {
        for i in 0..block.len() {
            let (c, d) = centers.nearest(block, i);
            let w = block.weight(i);
            block.add_scaled(i, w, &mut self.sums[c]);
            self.weights[c] += w;
            self.counts[c] += 1;
            self.cost += w * d;
        }
        self
    }

    fn merge(mut self, other: ClusterSums) -> ClusterSums {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            *a += b;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.cost += other.cost;
        self
    }
}

impl Clustering<'_> {
    fn run(&self, p: &Params) -> Result<(Vec<Vector>, KMeansSummary)> {
        let mut centers = match p.string("initMode") {
            Some("random") => self.random_init()?,
            _ => self.parallel_init(p.int("initSteps") as usize)?,
        };
        let d = centers.first().map_or(0, Vec::len);
        let tol2 = p.double("tol") * p.double("tol");
        let mut iterations = 0;
        while iterations < p.int("maxIter") as usize {
            let sums = self.sums(&centers, d)?;
            iterations += 1;
            let mut converged = true;
            for (c, center) in centers.iter_mut().enumerate() {
                if sums.weights[c] <= 0.0 {
                    continue; // No rows: the center stays.
                }
                let moved: Vec<f64> = sums.sums[c].iter().map(|s| s / sums.weights[c]).collect();
                let shift2: f64 = moved
                    .iter()
                    .zip(center.iter())
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                converged &= shift2 <= tol2;
                *center = moved;
            }
            if converged {
                break;
            }
        }
        let last = self.sums(&centers, d)?;
        let summary = KMeansSummary {
            training_cost: last.cost,
            num_iter: iterations,
            cluster_sizes: last.counts,
        };
        Ok((centers.into_iter().map(Vectors::dense).collect(), summary))
    }

    /// The rows summed by nearest of `centers`.
    fn sums(&self, centers: &[Vec<f64>], d: usize) -> Result<ClusterSums> {
        let broadcast = self.ctx.broadcast(Centers::new(centers.to_vec()));
        let shared = broadcast.clone();
        let sums = self.blocks.tree_aggregate(
            ClusterSums::zero(centers.len(), d),
            Fn!(move |sums: ClusterSums, block: InstanceBlock| sums.add(&block, shared.value())),
            Fn!(|a: ClusterSums, b: ClusterSums| a.merge(b)),
            2,
        );
        broadcast.destroy();
        Ok(sums?)
    }

    /// `k` distinct rows drawn at random (Spark's `random` mode).
    fn random_init(&self) -> Result<Vec<Vec<f64>>> {
        let mut rows = self.sample(self.k, self.seed)?;
        distinct(&mut rows);
        if rows.is_empty() {
            return Err(Error::Input("KMeans found no rows to cluster".into()));
        }
        Ok(rows)
    }

    /// Spark's `k-means||` initialization.
    fn parallel_init(&self, steps: usize) -> Result<Vec<Vec<f64>>> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut candidates = self.sample(1, rng.random())?;
        if candidates.is_empty() {
            return Err(Error::Input("KMeans found no rows to cluster".into()));
        }
        for step in 0..steps {
            let chosen = self.oversample(&candidates, step)?;
            candidates.extend(chosen);
        }
        distinct(&mut candidates);
        if candidates.len() <= self.k {
            if candidates.len() < self.k {
                tracing::warn!(
                    "KMeans asked for {} clusters but the data has only {} distinct points",
                    self.k,
                    candidates.len()
                );
            }
            return Ok(candidates);
        }
        let weights = self.sums(&candidates, candidates[0].len())?.weights;
        Ok(local_kmeans(&candidates, &weights, self.k, &mut rng))
    }

    /// One `k-means||` round: each row kept with probability `2·k·cost / total cost`.
    fn oversample(&self, candidates: &[Vec<f64>], step: usize) -> Result<Vec<Vec<f64>>> {
        let broadcast = self.ctx.broadcast(Centers::new(candidates.to_vec()));
        let shared = broadcast.clone();
        let total = self.blocks.tree_aggregate(
            0.0,
            Fn!(move |sum: f64, block: InstanceBlock| {
                let centers = shared.value();
                sum + (0..block.len())
                    .map(|i| centers.nearest(&block, i).1)
                    .sum::<f64>()
            }),
            Fn!(|a: f64, b: f64| a + b),
            2,
        )?;
        if total <= 0.0 {
            broadcast.destroy();
            return Ok(Vec::new());
        }
        let (shared, k, seed) = (broadcast.clone(), self.k as f64, self.seed);
        let chosen = self
            .blocks
            .map_partitions_with_index(Fn!(
                move |partition: usize, blocks: BoxIter<InstanceBlock>| {
                    let centers = shared.value();
                    let mut rng =
                        StdRng::seed_from_u64(seed ^ ((step as u64) << 16) ^ partition as u64);
                    let mut kept = Vec::new();
                    for block in blocks {
                        for i in 0..block.len() {
                            let cost = centers.nearest(&block, i).1;
                            if rng.random::<f64>() < 2.0 * k * cost / total {
                                kept.push(block.dense_row(i));
                            }
                        }
                    }
                    kept
                }
            ))
            .collect();
        broadcast.destroy();
        Ok(chosen?)
    }

    /// `n` rows drawn uniformly without replacement: each row gets a random key from its
    /// partition's stream; the `n` smallest keys win.
    fn sample(&self, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        let keyed = self
            .blocks
            .map_partitions_with_index(Fn!(
                move |partition: usize, blocks: BoxIter<InstanceBlock>| {
                    let mut rng = StdRng::seed_from_u64(
                        seed ^ (partition as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    );
                    let mut smallest: Vec<(f64, Vec<f64>)> = Vec::new();
                    for block in blocks {
                        for i in 0..block.len() {
                            let key: f64 = rng.random();
                            if smallest.len() < n || key < smallest[smallest.len() - 1].0 {
                                let at = smallest.partition_point(|(k, _)| *k < key);
                                smallest.insert(at, (key, block.dense_row(i)));
                                smallest.truncate(n);
                            }
                        }
                    }
                    smallest
                }
            ))
            .collect()?;
        let mut keyed = keyed;
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(keyed.into_iter().take(n).map(|(_, row)| row).collect())
    }
}

/// Drops repeated points, keeping the first of each (0.0 and -0.0 are the same point).
fn distinct(points: &mut Vec<Vec<f64>>) {
    let mut seen = std::collections::HashSet::new();
    points.retain(|p| seen.insert(p.iter().map(|v| (v + 0.0).to_bits()).collect::<Vec<u64>>()));
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `k` centers of weighted `points` by k-means++ and Lloyd iterations on the driver (Spark's
/// `LocalKMeans`).
fn local_kmeans(points: &[Vec<f64>], weights: &[f64], k: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
    let pick = |rng: &mut StdRng, scores: &[f64]| -> usize {
        let r = rng.random::<f64>() * scores.iter().sum::<f64>();
        let mut cumulative = 0.0;
        for (j, s) in scores.iter().enumerate() {
            cumulative += s;
            if cumulative >= r {
                return j;
            }
        }
        scores.len() - 1
    };
    let mut centers = vec![points[pick(rng, weights)].clone()];
    let mut costs: Vec<f64> = points
        .iter()
        .map(|p| squared_distance(p, &centers[0]))
        .collect();
    while centers.len() < k {
        let scores: Vec<f64> = costs.iter().zip(weights).map(|(c, w)| c * w).collect();
        let next = points[pick(rng, &scores)].clone();
        for (cost, p) in costs.iter_mut().zip(points) {
            *cost = cost.min(squared_distance(p, &next));
        }
        centers.push(next);
    }
    let nearest = |p: &[f64], centers: &[Vec<f64>]| -> usize {
        let distances = centers.iter().map(|c| squared_distance(p, c));
        distances
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(j, _)| j)
    };
    let mut assignment = vec![usize::MAX; points.len()];
    for _ in 0..LOCAL_ITERATIONS {
        let mut moved = false;
        for (a, p) in assignment.iter_mut().zip(points) {
            let j = nearest(p, &centers);
            moved |= *a != j;
            *a = j;
        }
        if !moved {
            break;
        }
        let d = points[0].len();
        let mut sums = vec![vec![0.0; d]; k];
        let mut totals = vec![0.0; k];
        for ((p, &a), w) in points.iter().zip(&assignment).zip(weights) {
            for (s, v) in sums[a].iter_mut().zip(p) {
                *s += w * v;
            }
            totals[a] += w;
        }
        for (j, center) in centers.iter_mut().enumerate() {
            if totals[j] > 0.0 {
                *center = sums[j].iter().map(|s| s / totals[j]).collect();
            } else {
                // An empty cluster takes a point at random, as Spark's does.
                *center = points[rng.random_range(0..points.len())].clone();
            }
        }
    }
    centers
}

/// A fitted k-means model (Spark's `KMeansModel`).
#[derive(Debug, Clone)]
pub struct KMeansModel {
    params: Params,
    centers: Vec<Vector>,
    summary: Option<KMeansSummary>,
}

impl KMeansModel {
    /// The cluster centers, by cluster index.
    pub fn cluster_centers(&self) -> &[Vector] {
        &self.centers
    }

    /// What training went through; `None` for a loaded model.
    pub fn summary(&self) -> Option<&KMeansSummary> {
        self.summary.as_ref()
    }

    setter!(
        /// The features column read.
        set_features_col, "featuresCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// The column of cluster indices added.
        set_prediction_col, "predictionCol", &str, |v: &str| ParamValue::String(v.into())
    );

    /// The index of the center nearest to `features`.
    ///
    /// # Errors
    /// `features` is not of the centers' size.
    pub fn predict(&self, features: &Vector) -> Result<usize> {
        nearest_center(&self.centers, features)
    }
}

fn nearest_center(centers: &[Vector], features: &Vector) -> Result<usize> {
    let mut best = (0, f64::INFINITY);
    for (c, center) in centers.iter().enumerate() {
        let d = center.sqdist(features)?;
        if d < best.1 {
            best = (c, d);
        }
    }
    Ok(best.0)
}

has_params!(KMeansModel);

impl Transformer for KMeansModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.params.validate()?;
        let features = self
            .params
            .string("featuresCol")
            .unwrap_or_default()
            .to_string();
        require_column(dataset, &features, is_vector_type, "vector")?;
        let prediction = self
            .params
            .string("predictionCol")
            .unwrap_or_default()
            .to_string();
        require_new_column(dataset, &prediction)?;
        add_columns(
            dataset,
            Assign {
                features,
                prediction,
                centers: self.centers.clone(),
            },
        )
    }
}

/// The nearest center of each row.
#[derive(Serialize, Deserialize)]
struct Assign {
    features: String,
    prediction: String,
    centers: Vec<Vector>,
}

impl BatchColumns for Assign {
    fn inputs(&self) -> Vec<String> {
        vec![self.features.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new(&self.prediction, DataType::Int32, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let array = batch
            .column_by_name(&self.features)
            .ok_or_else(|| Error::Input(format!("column {} does not exist", self.features)))?;
        let features = VectorColumn::new(&self.features, array)?;
        let mut clusters = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            clusters.push(match features.get(i)? {
                Some(v) => Some(nearest_center(&self.centers, &v)? as i32),
                None => None,
            });
        }
        Ok(vec![Arc::new(Int32Array::from(clusters))])
    }
}

impl MlWritable for KMeansModel {
    /// Spark's layout: the metadata, and a row per center of `clusterIdx` and
    /// `clusterCenter`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let schema = Schema::new(vec![
            Field::new("clusterIdx", DataType::Int32, false),
            vector_field("clusterCenter", true),
        ]);
        let indices: Int32Array = (0..self.centers.len() as i32).collect();
        let centers: Vec<Option<Vector>> = self.centers.iter().cloned().map(Some).collect();
        let columns: Vec<ArrayRef> = vec![Arc::new(indices), vectors_to_array(&centers)];
        dir.write_data(schema, columns)
    }
}

impl MlReadable for KMeansModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        if metadata.version() < (2, 0) {
            return Err(Error::Input(format!(
                "{} holds a model saved by Spark {}; ember reads models of Spark 2.0 and later",
                dir.path(),
                metadata.spark_version
            )));
        }
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let mut centers: Vec<(i32, Vector)> = Vec::new();
        for batch in dir.read_parquet("data")? {
            let missing = |name: &str| {
                Error::Input(format!("{}'s model data has no column {name}", dir.path()))
            };
            let int = |t: &DataType| t == &DataType::Int32;
            let indices = dir.data_column(&batch, "clusterIdx", int, "int")?;
            let vectors = dir.data_column(&batch, "clusterCenter", |_| true, "")?;
            let vectors = VectorColumn::new("clusterCenter", vectors)?;
            for (i, index) in indices
                .as_primitive::<Int32Type>()
                .values()
                .iter()
                .enumerate()
            {
                let center = vectors
                    .get(i)?
                    .ok_or_else(|| missing("clusterCenter values"))?;
                centers.push((*index, center));
            }
        }
        centers.sort_by_key(|(index, _)| *index);
        Ok(KMeansModel {
            params,
            centers: centers.into_iter().map(|(_, c)| c).collect(),
            summary: None,
        })
    }
}

params_only_persistence!(KMeans, ESTIMATOR_CLASS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_kmeans_finds_weighted_clusters() {
        let points = vec![
            vec![0.0, 0.0],
            vec![0.1, 0.0],
            vec![10.0, 10.0],
            vec![10.0, 10.2],
            vec![-10.0, 5.0],
        ];
        let weights = [1.0, 1.0, 1.0, 1.0, 3.0];
        let mut rng = StdRng::seed_from_u64(3);
        let mut centers = local_kmeans(&points, &weights, 3, &mut rng);
        centers.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(
            centers,
            vec![vec![-10.0, 5.0], vec![0.05, 0.0], vec![10.0, 10.1]]
        );
    }

    #[test]
    fn distinct_keeps_the_first_of_each_point() {
        let mut points = vec![vec![1.0], vec![2.0], vec![1.0], vec![-0.0], vec![0.0]];
        distinct(&mut points);
        assert_eq!(points, vec![vec![1.0], vec![2.0], vec![-0.0]]);
    }
}
