//! Stages saved in Spark ML's directory format and loaded back, and the errors of saving
//! over a model or loading the wrong one. (Loading in Apache Spark, and Spark's models in
//! ember: integration/tests/ml.rs.)

use ember_core::Context;
use ember_ml::classification::{LogisticRegression, LogisticRegressionModel};
use ember_ml::feature::VectorAssembler;
use ember_ml::linalg::Vectors;
use ember_ml::{Estimator, HasParams, MlReadable, MlWritable, Transformer};
use ember_sql::SqlContextExt;

fn training(ctx: &Context) -> ember_sql::DataFrame {
    let rows = ctx
        .sql(
            "SELECT * FROM (VALUES (0.0, -2.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.5, 1.0), \
             (0.0, 0.2, 0.0), (1.0, 2.0, 1.0), (1.0, 1.0, 0.0)) AS t(label, a, b)",
        )
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(&["a", "b"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

#[test]
fn a_saved_model_loads_with_its_numbers_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lr").to_str().unwrap().to_string();
    let ctx = Context::with_master("local[2]").unwrap();
    let model = LogisticRegression::new()
        .set_reg_param(0.1)
        .set_max_iter(50)
        .fit(&training(&ctx))
        .unwrap();
    model.write().save(&ctx, &path).unwrap();
    let metadata = std::fs::read_to_string(format!("{path}/metadata/part-00000")).unwrap();
    assert_eq!(metadata.lines().count(), 1);
    assert!(std::path::Path::new(&format!("{path}/data/_SUCCESS")).exists());

    let loaded = LogisticRegressionModel::load(&ctx, &path).unwrap();
    assert_eq!(loaded.uid(), model.uid());
    assert_eq!(loaded.coefficients(), model.coefficients());
    assert_eq!(loaded.intercept(), model.intercept());
    assert_eq!(loaded.params().double("regParam"), 0.1);
    assert_eq!(loaded.params().int("maxIter"), 50);
    assert_eq!(loaded.explain_params(), model.explain_params());
    let x = Vectors::dense(vec![0.3, 1.0]);
    assert_eq!(
        loaded.predict_probability(&x).unwrap(),
        model.predict_probability(&x).unwrap()
    );

    // Saving over it needs overwrite; the overwritten model is the new one.
    let err = model.write().save(&ctx, &path).unwrap_err().to_string();
    assert!(
        err.contains("already exists") && err.contains("overwrite()"),
        "{err}"
    );
    let other = model.clone().set_threshold(0.9);
    other.write().overwrite().save(&ctx, &path).unwrap();
    let loaded = LogisticRegressionModel::load(&ctx, &path).unwrap();
    assert_eq!(loaded.threshold(), 0.9);
}

#[test]
fn transformers_and_estimators_save_their_params() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::with_master("local[1]").unwrap();
    let assembler = VectorAssembler::new()
        .set_input_cols(&["a", "b"])
        .set_handle_invalid("skip");
    let path = dir.path().join("va").to_str().unwrap().to_string();
    assembler.write().save(&ctx, &path).unwrap();
    let loaded = VectorAssembler::load(&ctx, &path).unwrap();
    assert_eq!(loaded.input_cols(), ["a", "b"]);
    assert_eq!(loaded.output_col(), format!("{}__output", assembler.uid()));
    assert_eq!(loaded.explain_params(), assembler.explain_params());

    let estimator = LogisticRegression::new().set_tol(1e-9);
    let path = dir.path().join("est").to_str().unwrap().to_string();
    estimator.write().save(&ctx, &path).unwrap();
    let loaded = LogisticRegression::load(&ctx, &path).unwrap();
    assert_eq!(loaded.params().double("tol"), 1e-9);
}

#[test]
fn loading_the_wrong_thing_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::with_master("local[1]").unwrap();
    let path = dir.path().join("va").to_str().unwrap().to_string();
    VectorAssembler::new().write().save(&ctx, &path).unwrap();
    let err = LogisticRegressionModel::load(&ctx, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "holds a org.apache.spark.ml.feature.VectorAssembler, not a \
                      org.apache.spark.ml.classification.LogisticRegressionModel"
        ),
        "{err}"
    );
    let nothing = dir.path().join("nothing").to_str().unwrap().to_string();
    let err = LogisticRegressionModel::load(&ctx, &nothing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is not a saved Spark ML stage: it has no metadata files"),
        "{err}"
    );
}

#[test]
fn a_pipeline_and_its_model_save_and_load_with_every_stage() {
    use ember_ml::feature::{HashingTF, StandardScaler, StandardScalerModel, Tokenizer, IDF};
    use ember_ml::{Pipeline, PipelineModel, PipelineStage};
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::with_master("local[2]").unwrap();
    let texts = ctx
        .sql(
            "SELECT * FROM (VALUES ('a b c', 1.0), ('b c d', 0.0), ('a a e', 1.0), ('d e', 0.0)) \
             AS t(text, label)",
        )
        .unwrap();
    let pipeline = Pipeline::new().set_stages(vec![
        Tokenizer::new()
            .set_input_col("text")
            .set_output_col("words")
            .into(),
        HashingTF::new()
            .set_input_col("words")
            .set_output_col("tf")
            .set_num_features(32)
            .into(),
        IDF::new()
            .set_input_col("tf")
            .set_output_col("tfidf")
            .into(),
        StandardScaler::new()
            .set_input_col("tfidf")
            .set_output_col("features")
            .into(),
        LogisticRegression::new().set_max_iter(5).into(),
    ]);
    let path = dir.path().join("pipeline").to_str().unwrap().to_string();
    pipeline.write().save(&ctx, &path).unwrap();
    // Stage directories are numbered to the width of the count of stages.
    let stages: Vec<String> = std::fs::read_dir(format!("{path}/stages"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split('_')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(stages.iter().all(|s| s.len() == 1), "{stages:?}");
    let loaded = Pipeline::load(&ctx, &path).unwrap();
    assert_eq!(loaded.uid(), pipeline.uid());
    assert!(matches!(loaded.stages()[2], PipelineStage::Estimator(_)));

    let model = loaded.fit(&texts).unwrap();
    let path = dir.path().join("model").to_str().unwrap().to_string();
    model.write().save(&ctx, &path).unwrap();
    let back = PipelineModel::load(&ctx, &path).unwrap();
    let scaler = back.stage::<StandardScalerModel>(3).unwrap();
    assert_eq!(
        scaler.std(),
        model.stage::<StandardScalerModel>(3).unwrap().std()
    );
    let rows = |m: &PipelineModel| {
        let scored = m.transform(&texts).unwrap();
        scored
            .select_columns(&["text", "probability"])
            .unwrap()
            .tab_rows(false)
            .unwrap()
    };
    assert_eq!(rows(&back), rows(&model));
    // An unfitted pipeline is no model.
    let unfitted = dir.path().join("pipeline").to_str().unwrap().to_string();
    let err = PipelineModel::load(&ctx, &unfitted)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "holds a org.apache.spark.ml.Pipeline, not a org.apache.spark.ml.PipelineModel"
        ),
        "{err}"
    );
}
