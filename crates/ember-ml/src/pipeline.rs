//! `Pipeline` and `PipelineModel`: stages run in order, estimators fitted on what the stages
//! before them produce (Spark's `org.apache.spark.ml.Pipeline` and `PipelineModel`).
//!
//! Saved, a pipeline is a directory whose metadata lists its stages' uids (`paramMap` is
//! `{"stageUids": [...]}`) and whose `stages/` holds each stage saved whole under
//! `<index>_<uid>`, the index zero-padded to the width of the number of stages. Loading reads
//! each stage's class from its own metadata, so a pipeline of any of ember's stages saved by
//! Spark loads here, and ember's loads in Spark.

use crate::classification::{LogisticRegression, LogisticRegressionModel};
use crate::clustering::{KMeans, KMeansModel};
use crate::feature::{
    HashingTF, IDFModel, OneHotEncoder, OneHotEncoderModel, StandardScaler, StandardScalerModel,
    StringIndexer, StringIndexerModel, Tokenizer, VectorAssembler, IDF,
};
use crate::param::{ParamMap, Params};
use crate::persist::{LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::regression::{LinearRegression, LinearRegressionModel};
use crate::stage::{has_params, Estimator, HasParams, Transformer};
use crate::{Error, Result};
use ember_sql::DataFrame;
use serde_json::{Map, Value};
use std::any::Any;

const PIPELINE_CLASS: &str = "org.apache.spark.ml.Pipeline";
const MODEL_CLASS: &str = "org.apache.spark.ml.PipelineModel";

/// A transformer that can stand in a pipeline.
pub trait PipelineTransformer: Transformer + MlWritable + Send + Sync {
    /// A copy, boxed.
    fn boxed_clone(&self) -> Box<dyn PipelineTransformer>;
    /// The stage, to look at as its own type ([`PipelineModel::stage`]).
    fn as_any(&self) -> &dyn Any;
}

impl<T: Transformer + MlWritable + Clone + Send + Sync + 'static> PipelineTransformer for T {
    fn boxed_clone(&self) -> Box<dyn PipelineTransformer> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An estimator that can stand in a pipeline.
pub trait PipelineEstimator: HasParams + MlWritable + Send + Sync {
    /// Fits the stage's model.
    ///
    /// # Errors
    /// As the estimator's `fit`.
    fn fit_stage(&self, dataset: &DataFrame) -> Result<Box<dyn PipelineTransformer>>;
    /// A copy, boxed.
    fn boxed_clone(&self) -> Box<dyn PipelineEstimator>;
    /// A copy with the values `map` holds for it (and, for a pipeline, its stages).
    fn copied_with(&self, map: &ParamMap) -> Box<dyn PipelineEstimator>;
}

impl<E> PipelineEstimator for E
where
    E: Estimator + MlWritable + Clone + Send + Sync + 'static,
    E::Model: PipelineTransformer + 'static,
{
    fn fit_stage(&self, dataset: &DataFrame) -> Result<Box<dyn PipelineTransformer>> {
        Ok(Box::new(self.fit(dataset)?))
    }

    fn boxed_clone(&self) -> Box<dyn PipelineEstimator> {
        Box::new(self.clone())
    }

    fn copied_with(&self, map: &ParamMap) -> Box<dyn PipelineEstimator> {
        let mut copy = self.clone();
        copy.apply_param_map(map);
        Box::new(copy)
    }
}

/// A stage of a [`Pipeline`]: an estimator to fit, or a transformer to apply.
pub enum PipelineStage {
    /// Fitted when the pipeline is; its model joins the pipeline's model.
    Estimator(Box<dyn PipelineEstimator>),
    /// Applied as it is.
    Transformer(Box<dyn PipelineTransformer>),
}

impl Clone for PipelineStage {
    fn clone(&self) -> Self {
        match self {
            PipelineStage::Estimator(e) => PipelineStage::Estimator(e.boxed_clone()),
            PipelineStage::Transformer(t) => PipelineStage::Transformer(t.boxed_clone()),
        }
    }
}

impl std::fmt::Debug for PipelineStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.uid())
    }
}

impl PipelineStage {
    fn uid(&self) -> &str {
        match self {
            PipelineStage::Estimator(e) => e.uid(),
            PipelineStage::Transformer(t) => t.uid(),
        }
    }

    fn writable(&self) -> &dyn MlWritable {
        match self {
            PipelineStage::Estimator(e) => e.as_ref() as &dyn MlWritable,
            PipelineStage::Transformer(t) => t.as_ref() as &dyn MlWritable,
        }
    }
}

macro_rules! stage_from {
    ($variant:ident: $($ty:ty),*) => {
        $(impl From<$ty> for PipelineStage {
            fn from(stage: $ty) -> PipelineStage {
                PipelineStage::$variant(Box::new(stage))
            }
        })*
    };
}

stage_from!(
    Estimator: LogisticRegression,
    LinearRegression,
    KMeans,
    IDF,
    StandardScaler,
    StringIndexer,
    OneHotEncoder,
    Pipeline
);
stage_from!(
    Transformer: VectorAssembler,
    Tokenizer,
    HashingTF,
    IDFModel,
    StandardScalerModel,
    StringIndexerModel,
    OneHotEncoderModel,
    LogisticRegressionModel,
    LinearRegressionModel,
    KMeansModel,
    PipelineModel
);

/// Stages run in order (Spark's `Pipeline`).
///
/// ```
/// use ember_core::Context;
/// use ember_ml::classification::{LogisticRegression, LogisticRegressionModel};
/// use ember_ml::feature::{HashingTF, Tokenizer};
/// use ember_ml::{Estimator, Pipeline, Transformer};
/// use ember_sql::SqlContextExt;
/// let ctx = Context::with_master("local[2]").unwrap();
/// let training = ctx
///     .sql("SELECT * FROM (VALUES ('spark is fast', 1.0), ('hadoop mapreduce', 0.0), \
///           ('spark streaming', 1.0), ('hadoop yarn', 0.0)) AS t(text, label)")
///     .unwrap();
/// let pipeline = Pipeline::new().set_stages(vec![
///     Tokenizer::new().set_input_col("text").set_output_col("words").into(),
///     HashingTF::new().set_input_col("words").set_output_col("features").set_num_features(64).into(),
///     LogisticRegression::new().set_reg_param(0.01).into(),
/// ]);
/// let model = pipeline.fit(&training).unwrap();
/// assert_eq!(model.stages().len(), 3);
/// assert!(model.stage::<LogisticRegressionModel>(2).is_some());
/// let test = ctx.sql("SELECT 'spark sql' AS text").unwrap();
/// let predicted = model.transform(&test).unwrap();
/// assert_eq!(predicted.select_columns(&["prediction"]).unwrap().tab_rows(false).unwrap(), "1.0\n");
/// ```
#[derive(Debug, Clone)]
pub struct Pipeline {
    params: Params,
    stages: Vec<PipelineStage>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new()
    }
}

impl Pipeline {
    /// A pipeline without stages.
    pub fn new() -> Pipeline {
        Pipeline {
            params: Params::new("pipeline", &[]),
            stages: Vec::new(),
        }
    }

    /// The stages, in the order they run.
    pub fn set_stages(mut self, stages: Vec<PipelineStage>) -> Self {
        self.stages = stages;
        self
    }

    /// The stages.
    pub fn stages(&self) -> &[PipelineStage] {
        &self.stages
    }
}

impl HasParams for Pipeline {
    fn params(&self) -> &Params {
        &self.params
    }

    fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    fn apply_param_map(&mut self, map: &ParamMap) {
        map.apply_to(&mut self.params);
        for stage in &mut self.stages {
            match stage {
                PipelineStage::Estimator(e) => e.apply_param_map(map),
                PipelineStage::Transformer(t) => t.apply_param_map(map),
            }
        }
    }
}

impl Estimator for Pipeline {
    type Model = PipelineModel;

    /// Fits each estimator on what the stages before it produce; stages after the last
    /// estimator join the model as they are.
    fn fit(&self, dataset: &DataFrame) -> Result<PipelineModel> {
        let last_estimator = self
            .stages
            .iter()
            .rposition(|s| matches!(s, PipelineStage::Estimator(_)));
        let mut current = dataset.clone();
        let mut fitted = Vec::with_capacity(self.stages.len());
        for (i, stage) in self.stages.iter().enumerate() {
            let transformer = match stage {
                PipelineStage::Estimator(e) => e.fit_stage(&current)?,
                PipelineStage::Transformer(t) => t.boxed_clone(),
            };
            if last_estimator.is_some_and(|last| i < last) {
                current = transformer.transform(&current)?;
            }
            fitted.push(transformer);
        }
        Ok(PipelineModel {
            params: Params::with_uid(self.params.uid().to_string(), &[]),
            stages: fitted,
        })
    }
}

/// A fitted pipeline: its stages' transformers, run in order (Spark's `PipelineModel`).
pub struct PipelineModel {
    params: Params,
    stages: Vec<Box<dyn PipelineTransformer>>,
}

impl Clone for PipelineModel {
    fn clone(&self) -> Self {
        PipelineModel {
            params: self.params.clone(),
            stages: self.stages.iter().map(|s| s.boxed_clone()).collect(),
        }
    }
}

impl std::fmt::Debug for PipelineModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uids: Vec<&str> = self.stages.iter().map(|s| s.uid()).collect();
        write!(f, "PipelineModel({}: {uids:?})", self.params.uid())
    }
}

impl PipelineModel {
    /// The stages.
    pub fn stages(&self) -> &[Box<dyn PipelineTransformer>] {
        &self.stages
    }

    /// Stage `i` as a `T`, if it is one.
    pub fn stage<T: 'static>(&self, i: usize) -> Option<&T> {
        self.stages.get(i)?.as_any().downcast_ref()
    }
}

has_params!(PipelineModel);

impl Transformer for PipelineModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let mut current = dataset.clone();
        for stage in &self.stages {
            current = stage.transform(&current)?;
        }
        Ok(current)
    }
}

/// Saves `stages` of the pipeline (or model) `params` of Spark class `class` in `dir`.
fn save_stages<'a>(
    dir: &SaveDir,
    class: &str,
    params: &Params,
    stages: impl ExactSizeIterator<Item = (&'a str, &'a dyn MlWritable)>,
) -> Result<()> {
    let width = stages.len().to_string().len();
    let mut uids = Vec::with_capacity(stages.len());
    for (i, (uid, stage)) in stages.enumerate() {
        stage.save_to(&dir.child(&format!("stages/{i:0width$}_{uid}")))?;
        uids.push(Value::from(uid));
    }
    let mut stage_uids = Map::new();
    stage_uids.insert("stageUids".into(), Value::Array(uids));
    let mut metadata = Metadata::of(class, params);
    metadata.param_map = stage_uids;
    dir.write_metadata(&metadata)
}

/// The uids of the saved pipeline's stages and their directories.
fn stage_dirs(dir: &LoadDir, metadata: &Metadata) -> Result<Vec<LoadDir>> {
    let uids = metadata
        .param_map
        .get("stageUids")
        .and_then(Value::as_array);
    let uids =
        uids.ok_or_else(|| Error::Input(format!("{}'s metadata lists no stageUids", dir.path())))?;
    let width = uids.len().to_string().len();
    uids.iter()
        .enumerate()
        .map(|(i, uid)| {
            let uid = uid.as_str().unwrap_or_default();
            Ok(dir.child(&format!("stages/{i:0width$}_{uid}")))
        })
        .collect()
}

impl MlWritable for PipelineModel {
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        let stages = self
            .stages
            .iter()
            .map(|s| (s.uid(), s.as_ref() as &dyn MlWritable));
        save_stages(dir, MODEL_CLASS, &self.params, stages)
    }
}

impl MlWritable for Pipeline {
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        let stages = self.stages.iter().map(|s| (s.uid(), s.writable()));
        save_stages(dir, PIPELINE_CLASS, &self.params, stages)
    }
}

impl MlReadable for PipelineModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        let stages = stage_dirs(dir, &metadata)?
            .iter()
            .map(|stage| match load_stage(stage)? {
                PipelineStage::Transformer(t) => Ok(t),
                PipelineStage::Estimator(e) => Err(Error::Input(format!(
                    "{} is a stage of a PipelineModel but holds the estimator {}, not a model",
                    stage.path(),
                    e.uid()
                ))),
            })
            .collect::<Result<_>>()?;
        Ok(PipelineModel {
            params: Params::with_uid(metadata.uid, &[]),
            stages,
        })
    }
}

impl MlReadable for Pipeline {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(PIPELINE_CLASS)?;
        let stages = stage_dirs(dir, &metadata)?
            .iter()
            .map(load_stage)
            .collect::<Result<_>>()?;
        Ok(Pipeline {
            params: Params::with_uid(metadata.uid, &[]),
            stages,
        })
    }
}

/// The stage saved in `dir`, of whichever class its metadata names.
///
/// # Errors
/// A class ember has no stage for, or the stage's own load failing.
pub fn load_stage(dir: &LoadDir) -> Result<PipelineStage> {
    fn load<T: MlReadable + Into<PipelineStage>>(dir: &LoadDir) -> Result<PipelineStage> {
        Ok(T::load_from(dir)?.into())
    }
    let class = dir.metadata_class()?;
    let short = class.strip_prefix("org.apache.spark.ml.").unwrap_or(&class);
    match short {
        "feature.VectorAssembler" => load::<VectorAssembler>(dir),
        "feature.Tokenizer" => load::<Tokenizer>(dir),
        "feature.HashingTF" => load::<HashingTF>(dir),
        "feature.IDF" => load::<IDF>(dir),
        "feature.IDFModel" => load::<IDFModel>(dir),
        "feature.StandardScaler" => load::<StandardScaler>(dir),
        "feature.StandardScalerModel" => load::<StandardScalerModel>(dir),
        "feature.StringIndexer" => load::<StringIndexer>(dir),
        "feature.StringIndexerModel" => load::<StringIndexerModel>(dir),
        "feature.OneHotEncoder" => load::<OneHotEncoder>(dir),
        "feature.OneHotEncoderModel" => load::<OneHotEncoderModel>(dir),
        "classification.LogisticRegression" => load::<LogisticRegression>(dir),
        "classification.LogisticRegressionModel" => load::<LogisticRegressionModel>(dir),
        "regression.LinearRegression" => load::<LinearRegression>(dir),
        "regression.LinearRegressionModel" => load::<LinearRegressionModel>(dir),
        "clustering.KMeans" => load::<KMeans>(dir),
        "clustering.KMeansModel" => load::<KMeansModel>(dir),
        "Pipeline" => load::<Pipeline>(dir),
        "PipelineModel" => load::<PipelineModel>(dir),
        _ => Err(Error::Input(format!(
            "{} holds a {class}, a stage ember does not load yet",
            dir.path()
        ))),
    }
}
