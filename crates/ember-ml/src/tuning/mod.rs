//! Model selection: fit an estimator under each of a grid of param values, score each fit
//! with an evaluator on data it did not see, keep the best (Spark's
//! `org.apache.spark.ml.tuning`).
//!
//! [`ParamGridBuilder`] makes the grid, [`CrossValidator`] scores each point by k-fold
//! cross-validation and [`TrainValidationSplit`] by one split. Both then fit the best params
//! on the whole dataset; their models apply that best model.
//!
//! Rows go to folds by a seeded hash of their values, so a row lands in the same fold every
//! time the dataset is computed again (each fit reads it anew): splits are reproducible for a
//! seed without keeping the data. Rows with equal values share a fold. A `foldCol` of the
//! user's (fold indices 0 to numFolds - 1) assigns folds instead.

mod split;

use crate::evaluation::Evaluator;
use crate::param::{setter, Accepts, ParamKind, ParamMap, ParamSpec, ParamValue, Params};
use crate::pipeline::{PipelineEstimator, PipelineTransformer};
use crate::stage::{has_params, Estimator, HasParams, Transformer};
use crate::{Error, Result};
use ember_sql::DataFrame;
use split::Splitter;
use std::sync::Arc;

/// A grid of param values: every combination of the values given per param (Spark's
/// `ParamGridBuilder`).
///
/// ```
/// use ember_ml::classification::LogisticRegression;
/// use ember_ml::param::ParamValue;
/// use ember_ml::tuning::ParamGridBuilder;
/// let lr = LogisticRegression::new();
/// let grid = ParamGridBuilder::new()
///     .add_grid(&lr, "regParam", vec![ParamValue::Double(0.1), ParamValue::Double(0.01)])
///     .add_grid(&lr, "fitIntercept", vec![ParamValue::Bool(true), ParamValue::Bool(false)])
///     .build()
///     .unwrap();
/// assert_eq!(grid.len(), 4);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParamGridBuilder {
    base: ParamMap,
    grid: Vec<(Params, String, Vec<ParamValue>)>,
}

impl ParamGridBuilder {
    /// An empty grid (one point: no values).
    pub fn new() -> ParamGridBuilder {
        ParamGridBuilder::default()
    }

    /// Values every point of the grid holds (Spark's `baseOn`).
    pub fn base_on(mut self, map: ParamMap) -> Self {
        self.base = map;
        self
    }

    /// The values to try for param `name` of `stage`.
    pub fn add_grid(mut self, stage: &impl HasParams, name: &str, values: Vec<ParamValue>) -> Self {
        self.grid
            .push((stage.params().clone(), name.to_string(), values));
        self
    }

    /// Every combination, the last param added varying fastest.
    ///
    /// # Errors
    /// A stage without the named param, or a value of the wrong kind.
    pub fn build(self) -> Result<Vec<ParamMap>> {
        let mut maps = vec![self.base];
        for (stage, name, values) in &self.grid {
            let mut next = Vec::with_capacity(maps.len() * values.len());
            for map in &maps {
                for value in values {
                    next.push(map.clone().put(stage, name, value.clone())?);
                }
            }
            maps = next;
        }
        Ok(maps)
    }
}

/// A model fitted during tuning.
type Fitted = Box<dyn PipelineTransformer>;

/// What both tuners hold: the estimator, its grid and the evaluator.
#[derive(Clone, Default)]
struct Tuning {
    estimator: Option<Arc<dyn PipelineEstimator>>,
    maps: Vec<ParamMap>,
    evaluator: Option<Arc<dyn Evaluator + Send + Sync>>,
}

impl std::fmt::Debug for Tuning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tuning")
            .field(
                "estimator",
                &self.estimator.as_ref().map(|e| e.uid().to_string()),
            )
            .field("maps", &self.maps)
            .field(
                "evaluator",
                &self.evaluator.as_ref().map(|e| e.uid().to_string()),
            )
            .finish()
    }
}

impl Tuning {
    fn parts(&self) -> Result<(&dyn PipelineEstimator, &(dyn Evaluator + Send + Sync))> {
        let estimator = self.estimator.as_deref().ok_or_else(|| {
            Error::Input("no estimator to tune; set one with set_estimator".into())
        })?;
        let evaluator = self.evaluator.as_deref().ok_or_else(|| {
            Error::Input("no evaluator to score fits with; set one with set_evaluator".into())
        })?;
        Ok((estimator, evaluator))
    }

    /// The grid, or the estimator's own params alone when none was set.
    fn maps(&self) -> Vec<ParamMap> {
        if self.maps.is_empty() {
            vec![ParamMap::new()]
        } else {
            self.maps.clone()
        }
    }

    /// Each point's metric with the fits on `training` scored on `validation`, and the fits
    /// when `keep` asks for them.
    fn score(
        &self,
        training: &DataFrame,
        validation: &DataFrame,
        keep: bool,
    ) -> Result<(Vec<f64>, Vec<Fitted>)> {
        let (estimator, evaluator) = self.parts()?;
        let mut metrics = Vec::new();
        let mut models = Vec::new();
        for map in self.maps() {
            let model = estimator.copied_with(&map).fit_stage(training)?;
            metrics.push(evaluator.evaluate(&model.transform(validation)?)?);
            if keep {
                models.push(model);
            }
        }
        Ok((metrics, models))
    }

    /// The best point's index by `metrics`, and its model fitted on all of `dataset`.
    fn best(
        &self,
        metrics: &[f64],
        dataset: &DataFrame,
    ) -> Result<(usize, Box<dyn PipelineTransformer>)> {
        let (estimator, evaluator) = self.parts()?;
        let larger = evaluator.is_larger_better();
        let mut best = 0;
        for (i, &m) in metrics.iter().enumerate() {
            let better = if larger {
                m > metrics[best]
            } else {
                m < metrics[best]
            };
            if better {
                best = i;
            }
        }
        tracing::info!(best, metric = metrics[best], "best set of params");
        let model = estimator
            .copied_with(&self.maps()[best])
            .fit_stage(dataset)?;
        Ok((best, model))
    }
}

/// Setters of the estimator, the grid and the evaluator.
macro_rules! tuning_setters {
    () => {
        /// The estimator to tune: any stage of a pipeline, or a whole pipeline.
        pub fn set_estimator(mut self, estimator: impl PipelineEstimator + 'static) -> Self {
            self.tuning.estimator = Some(Arc::new(estimator));
            self
        }

        /// The param values to try ([`ParamGridBuilder::build`]).
        pub fn set_estimator_param_maps(mut self, maps: Vec<ParamMap>) -> Self {
            self.tuning.maps = maps;
            self
        }

        /// The evaluator that scores each fit on the data held out.
        pub fn set_evaluator(mut self, evaluator: impl Evaluator + Send + Sync + 'static) -> Self {
            self.tuning.evaluator = Some(Arc::new(evaluator));
            self
        }
    };
}

const SEED: ParamSpec = ParamSpec::new("seed", ParamKind::Long, "random seed");
const PARALLELISM: ParamSpec = ParamSpec::new(
    "parallelism",
    ParamKind::Int,
    "the number of threads to use when running parallel algorithms",
)
.accepting(Accepts::AtLeast(1.0));
const COLLECT_SUB_MODELS: ParamSpec = ParamSpec::new(
    "collectSubModels",
    ParamKind::Bool,
    "whether to collect a list of sub-models trained during tuning. If set to false, then \
     only the single best sub-model will be available after fitting. If set to true, then all \
     sub-models will be available. Warning: For large models, collecting all sub-models can \
     cause OOMs on the Spark driver",
);
const NUM_FOLDS: ParamSpec = ParamSpec::new(
    "numFolds",
    ParamKind::Int,
    "number of folds for cross validation (>= 2)",
)
.accepting(Accepts::AtLeast(2.0));
const FOLD_COL: ParamSpec = ParamSpec::new(
    "foldCol",
    ParamKind::String,
    "the column name of user specified fold number",
);
const TRAIN_RATIO: ParamSpec = ParamSpec::new(
    "trainRatio",
    ParamKind::Double,
    "ratio between training set and validation set (>= 0 && <= 1)",
)
.accepting(Accepts::Between(0.0, 1.0));

const CROSS_VALIDATOR_PARAMS: &[ParamSpec] =
    &[COLLECT_SUB_MODELS, FOLD_COL, NUM_FOLDS, PARALLELISM, SEED];
const TRAIN_VALIDATION_SPLIT_PARAMS: &[ParamSpec] =
    &[COLLECT_SUB_MODELS, PARALLELISM, SEED, TRAIN_RATIO];

/// Spark's default seeds: the Java hash codes of the classes' names.
const CROSS_VALIDATOR_SEED: i64 = -1_191_137_437;
const TRAIN_VALIDATION_SPLIT_SEED: i64 = -1_772_833_110;

/// Picks params by k-fold cross-validation (Spark's `CrossValidator`): the data is cut in
/// `numFolds` folds (default 3); each point of the grid is fitted on all folds but one and
/// scored on that one, in turn; the point of the best mean metric is fitted on everything.
///
/// ```
/// use ember_core::Context;
/// use ember_ml::evaluation::RegressionEvaluator;
/// use ember_ml::feature::VectorAssembler;
/// use ember_ml::param::ParamValue;
/// use ember_ml::regression::LinearRegression;
/// use ember_ml::tuning::{CrossValidator, ParamGridBuilder};
/// use ember_ml::{Estimator, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let rows = ctx
///     .sql("SELECT CAST(value AS DOUBLE) AS x, 2.0 * value + (value % 3) AS label FROM range(60)")
///     .unwrap();
/// let data = VectorAssembler::new().set_input_cols(&["x"]).set_output_col("features").transform(&rows).unwrap();
/// let lr = LinearRegression::new();
/// let grid = ParamGridBuilder::new()
///     .add_grid(&lr, "regParam", vec![ParamValue::Double(0.0), ParamValue::Double(10.0)])
///     .build()
///     .unwrap();
/// let model = CrossValidator::new()
///     .set_estimator(lr)
///     .set_estimator_param_maps(grid)
///     .set_evaluator(RegressionEvaluator::new())
///     .fit(&data)
///     .unwrap();
/// // The unpenalized fit has the lower error.
/// assert!(model.avg_metrics()[0] < model.avg_metrics()[1]);
/// ```
#[derive(Debug, Clone)]
pub struct CrossValidator {
    params: Params,
    tuning: Tuning,
}

impl Default for CrossValidator {
    fn default() -> Self {
        CrossValidator::new()
    }
}

impl CrossValidator {
    /// A cross-validator with Spark's defaults and nothing to tune yet.
    pub fn new() -> CrossValidator {
        CrossValidator {
            params: Params::new("cv", CROSS_VALIDATOR_PARAMS)
                .default("collectSubModels", ParamValue::Bool(false))
                .default("foldCol", ParamValue::String(String::new()))
                .default("numFolds", ParamValue::Int(3))
                .default("parallelism", ParamValue::Int(1))
                .default("seed", ParamValue::Long(CROSS_VALIDATOR_SEED)),
            tuning: Tuning::default(),
        }
    }

    tuning_setters!();

    setter!(
        /// How many folds (default 3).
        set_num_folds, "numFolds", i32, ParamValue::Int
    );
    setter!(
        /// The seed of the folds.
        set_seed, "seed", i64, ParamValue::Long
    );
    setter!(
        /// A column of fold indices to use instead of drawn folds.
        set_fold_col, "foldCol", &str, |v: &str| ParamValue::String(v.into())
    );
    setter!(
        /// Whether the model keeps every fit, by fold then grid point (default false).
        set_collect_sub_models, "collectSubModels", bool, ParamValue::Bool
    );
    setter!(
        /// Accepted for Spark's sake; fits run one after another, each itself distributed.
        set_parallelism, "parallelism", i32, ParamValue::Int
    );
}

has_params!(CrossValidator);

impl Estimator for CrossValidator {
    type Model = CrossValidatorModel;

    fn fit(&self, dataset: &DataFrame) -> Result<CrossValidatorModel> {
        self.params.validate()?;
        self.tuning.parts()?;
        let p = &self.params;
        let folds = p.int("numFolds") as usize;
        let keep = p.bool("collectSubModels");
        let splitter = Splitter::new(dataset, p.long("seed"), p.string("foldCol"), folds)?;
        let mut sums = vec![0.0; self.tuning.maps().len()];
        let mut per_fold = Vec::with_capacity(folds);
        let mut sub_models = Vec::new();
        for fold in 0..folds {
            let (training, validation) = splitter.fold(fold)?;
            let (metrics, models) = self.tuning.score(&training, &validation, keep)?;
            for (s, m) in sums.iter_mut().zip(&metrics) {
                *s += m;
            }
            per_fold.push(metrics);
            if keep {
                sub_models.push(models);
            }
        }
        let avg_metrics: Vec<f64> = sums.iter().map(|s| s / folds as f64).collect();
        let std_metrics = (0..avg_metrics.len())
            .map(|i| {
                let variance = per_fold
                    .iter()
                    .map(|m| (m[i] - avg_metrics[i]).powi(2))
                    .sum::<f64>()
                    / folds as f64;
                variance.sqrt()
            })
            .collect();
        let (_, best_model) = self.tuning.best(&avg_metrics, dataset)?;
        Ok(CrossValidatorModel {
            params: p.copy_to(Params::with_uid(
                p.uid().to_string(),
                CROSS_VALIDATOR_PARAMS,
            )),
            best_model,
            avg_metrics,
            std_metrics,
            sub_models: keep.then_some(sub_models),
        })
    }
}

/// The best model a [`CrossValidator`] found, and the metrics of every grid point (Spark's
/// `CrossValidatorModel`).
pub struct CrossValidatorModel {
    params: Params,
    best_model: Box<dyn PipelineTransformer>,
    avg_metrics: Vec<f64>,
    std_metrics: Vec<f64>,
    sub_models: Option<Vec<Vec<Box<dyn PipelineTransformer>>>>,
}

impl CrossValidatorModel {
    /// The model of the best params, fitted on the whole dataset.
    pub fn best_model(&self) -> &dyn PipelineTransformer {
        self.best_model.as_ref()
    }

    /// Each grid point's metric, averaged over the folds.
    pub fn avg_metrics(&self) -> &[f64] {
        &self.avg_metrics
    }

    /// Each grid point's metric's deviation over the folds (population).
    pub fn std_metrics(&self) -> &[f64] {
        &self.std_metrics
    }

    /// Every fit, by fold then grid point, when `collectSubModels` was set.
    pub fn sub_models(&self) -> Option<&[Vec<Box<dyn PipelineTransformer>>]> {
        self.sub_models.as_deref()
    }
}

impl std::fmt::Debug for CrossValidatorModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossValidatorModel")
            .field("uid", &self.params.uid())
            .field("best_model", &self.best_model.uid())
            .field("avg_metrics", &self.avg_metrics)
            .finish()
    }
}

has_params!(CrossValidatorModel);

impl Transformer for CrossValidatorModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.best_model.transform(dataset)
    }
}

/// Picks params by one split (Spark's `TrainValidationSplit`): `trainRatio` of the rows
/// (default 0.75) to fit each grid point, the rest to score it; the best point is fitted on
/// everything.
#[derive(Debug, Clone)]
pub struct TrainValidationSplit {
    params: Params,
    tuning: Tuning,
}

impl Default for TrainValidationSplit {
    fn default() -> Self {
        TrainValidationSplit::new()
    }
}

impl TrainValidationSplit {
    /// A splitter with Spark's defaults and nothing to tune yet.
    pub fn new() -> TrainValidationSplit {
        TrainValidationSplit {
            params: Params::new("tvs", TRAIN_VALIDATION_SPLIT_PARAMS)
                .default("collectSubModels", ParamValue::Bool(false))
                .default("parallelism", ParamValue::Int(1))
                .default("seed", ParamValue::Long(TRAIN_VALIDATION_SPLIT_SEED))
                .default("trainRatio", ParamValue::Double(0.75)),
            tuning: Tuning::default(),
        }
    }

    tuning_setters!();

    setter!(
        /// The share of rows fitted on (default 0.75).
        set_train_ratio, "trainRatio", f64, ParamValue::Double
    );
    setter!(
        /// The seed of the split.
        set_seed, "seed", i64, ParamValue::Long
    );
    setter!(
        /// Whether the model keeps every fit (default false).
        set_collect_sub_models, "collectSubModels", bool, ParamValue::Bool
    );
    setter!(
        /// Accepted for Spark's sake; fits run one after another, each itself distributed.
        set_parallelism, "parallelism", i32, ParamValue::Int
    );
}

has_params!(TrainValidationSplit);

impl Estimator for TrainValidationSplit {
    type Model = TrainValidationSplitModel;

    fn fit(&self, dataset: &DataFrame) -> Result<TrainValidationSplitModel> {
        self.params.validate()?;
        self.tuning.parts()?;
        let p = &self.params;
        let keep = p.bool("collectSubModels");
        let splitter = Splitter::new(dataset, p.long("seed"), None, 0)?;
        let (training, validation) = splitter.split(p.double("trainRatio"))?;
        let (validation_metrics, models) = self.tuning.score(&training, &validation, keep)?;
        let (_, best_model) = self.tuning.best(&validation_metrics, dataset)?;
        Ok(TrainValidationSplitModel {
            params: p.copy_to(Params::with_uid(
                p.uid().to_string(),
                TRAIN_VALIDATION_SPLIT_PARAMS,
            )),
            best_model,
            validation_metrics,
            sub_models: keep.then_some(models),
        })
    }
}

/// The best model a [`TrainValidationSplit`] found, and the metric of every grid point
/// (Spark's `TrainValidationSplitModel`).
pub struct TrainValidationSplitModel {
    params: Params,
    best_model: Box<dyn PipelineTransformer>,
    validation_metrics: Vec<f64>,
    sub_models: Option<Vec<Box<dyn PipelineTransformer>>>,
}

impl TrainValidationSplitModel {
    /// The model of the best params, fitted on the whole dataset.
    pub fn best_model(&self) -> &dyn PipelineTransformer {
        self.best_model.as_ref()
    }

    /// Each grid point's metric on the validation rows.
    pub fn validation_metrics(&self) -> &[f64] {
        &self.validation_metrics
    }

    /// Every fit, by grid point, when `collectSubModels` was set.
    pub fn sub_models(&self) -> Option<&[Box<dyn PipelineTransformer>]> {
        self.sub_models.as_deref()
    }
}

impl std::fmt::Debug for TrainValidationSplitModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainValidationSplitModel")
            .field("uid", &self.params.uid())
            .field("best_model", &self.best_model.uid())
            .field("validation_metrics", &self.validation_metrics)
            .finish()
    }
}

has_params!(TrainValidationSplitModel);

impl Transformer for TrainValidationSplitModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        self.best_model.transform(dataset)
    }
}
