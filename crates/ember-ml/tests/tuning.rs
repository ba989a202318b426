//! Model selection: cross-validation checked against the same folds fitted and scored by
//! hand, reproducible draws, and a pipeline whose stages' params are tuned together.

use ember_core::Context;
use ember_ml::classification::LogisticRegression;
use ember_ml::evaluation::{BinaryClassificationEvaluator, Evaluator, RegressionEvaluator};
use ember_ml::feature::{HashingTF, Tokenizer, VectorAssembler};
use ember_ml::param::{ParamMap, ParamValue};
use ember_ml::regression::{LinearRegression, LinearRegressionModel};
use ember_ml::tuning::{CrossValidator, ParamGridBuilder, TrainValidationSplit};
use ember_ml::{Estimator, HasParams, Pipeline, PipelineModel, Transformer};
use ember_sql::{col, lit, DataFrame, SqlContextExt};

/// 300 rows: a label linear in x and z with a wobble, and a fold column `id % 3`.
fn regression_data(ctx: &Context) -> DataFrame {
    let rows = ctx
        .sql(
            "SELECT value AS id, CAST(value % 3 AS INT) AS fold, CAST(value AS DOUBLE) / 10.0 AS x, \
             CAST((value * 7) % 13 AS DOUBLE) AS z, \
             1.5 * value / 10.0 - 0.5 * ((value * 7) % 13) + ((value * 37) % 11) / 5.0 AS label \
             FROM range(300)",
        )
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(&["x", "z"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

fn reg_params(values: &[f64]) -> (LinearRegression, Vec<ParamMap>) {
    let lr = LinearRegression::new();
    let grid = ParamGridBuilder::new()
        .add_grid(
            &lr,
            "regParam",
            values.iter().map(|&v| ParamValue::Double(v)).collect(),
        )
        .build()
        .unwrap();
    (lr, grid)
}

#[test]
fn cross_validation_scores_each_fold_as_fitting_by_hand_does() {
    let ctx = Context::with_master("local[2]").unwrap();
    let data = regression_data(&ctx);
    let values = [0.0, 1.0, 20.0];
    let (lr, grid) = reg_params(&values);
    let model = CrossValidator::new()
        .set_estimator(lr)
        .set_estimator_param_maps(grid)
        .set_evaluator(RegressionEvaluator::new())
        .set_fold_col("fold")
        .set_collect_sub_models(true)
        .fit(&data)
        .unwrap();
    for (i, &reg) in values.iter().enumerate() {
        let mut sum = 0.0;
        for fold in 0..3 {
            let training = data.filter(col("fold").not_eq(lit(fold))).unwrap();
            let validation = data.filter(col("fold").eq(lit(fold))).unwrap();
            let fitted = LinearRegression::new()
                .set_reg_param(reg)
                .fit(&training)
                .unwrap();
            let scored = fitted.transform(&validation).unwrap();
            sum += RegressionEvaluator::new().evaluate(&scored).unwrap();
        }
        let by_hand = sum / 3.0;
        let ours = model.avg_metrics()[i];
        assert!(
            (ours - by_hand).abs() <= 1e-9 * by_hand,
            "regParam {reg}: {ours} against {by_hand} by hand"
        );
    }
    // The least error wins: no penalty on data the model fits.
    assert!(
        model.avg_metrics()[0] < model.avg_metrics()[2],
        "{:?}",
        model.avg_metrics()
    );
    let best = model
        .best_model()
        .as_any()
        .downcast_ref::<LinearRegressionModel>();
    assert_eq!(best.unwrap().params().double("regParam"), 0.0);
    let subs = model.sub_models().unwrap();
    assert_eq!((subs.len(), subs[0].len()), (3, 3));
    assert_eq!(model.std_metrics().len(), 3);
    let predicted = model.transform(&data).unwrap();
    assert!(predicted.columns().contains(&"prediction".to_string()));
}

#[test]
fn drawn_folds_are_the_same_for_a_seed_and_cover_every_row() {
    let ctx = Context::with_master("local[2]").unwrap();
    let data = regression_data(&ctx);
    let fit = |seed: i64, folds: i32| {
        let (lr, grid) = reg_params(&[0.0, 5.0]);
        CrossValidator::new()
            .set_estimator(lr)
            .set_estimator_param_maps(grid)
            .set_evaluator(RegressionEvaluator::new().set_metric_name("mse"))
            .set_num_folds(folds)
            .set_seed(seed)
            .fit(&data)
            .unwrap()
            .avg_metrics()
            .to_vec()
    };
    let first = fit(7, 3);
    assert_eq!(first, fit(7, 3));
    assert_ne!(first, fit(8, 3));
    // One split: the validation rows and the training rows make the whole dataset.
    let (lr, grid) = reg_params(&[0.0]);
    let split = TrainValidationSplit::new()
        .set_estimator(lr)
        .set_estimator_param_maps(grid)
        .set_evaluator(RegressionEvaluator::new().set_metric_name("r2"))
        .set_train_ratio(0.6)
        .fit(&data)
        .unwrap();
    assert_eq!(split.validation_metrics().len(), 1);
    assert!(
        split.validation_metrics()[0] > 0.5,
        "{:?}",
        split.validation_metrics()
    );
}

#[test]
fn a_pipelines_stages_are_tuned_together() {
    let ctx = Context::with_master("local[2]").unwrap();
    let texts = ctx
        .sql(
            "SELECT CASE WHEN value % 2 = 0 THEN concat('spark fast ', CAST(value AS STRING)) \
             ELSE concat('hadoop slow ', CAST(value AS STRING)) END AS text, \
             CAST(value % 2 = 0 AS DOUBLE) AS label FROM range(80)",
        )
        .unwrap();
    let tokenizer = Tokenizer::new()
        .set_input_col("text")
        .set_output_col("words");
    let tf = HashingTF::new()
        .set_input_col("words")
        .set_output_col("features");
    let lr = LogisticRegression::new().set_max_iter(20);
    let grid = ParamGridBuilder::new()
        .add_grid(
            &tf,
            "numFeatures",
            vec![ParamValue::Int(1), ParamValue::Int(256)],
        )
        .add_grid(
            &lr,
            "regParam",
            vec![ParamValue::Double(0.01), ParamValue::Double(0.1)],
        )
        .build()
        .unwrap();
    assert_eq!(grid.len(), 4);
    let pipeline = Pipeline::new().set_stages(vec![tokenizer.into(), tf.into(), lr.into()]);
    let model = TrainValidationSplit::new()
        .set_estimator(pipeline)
        .set_estimator_param_maps(grid)
        .set_evaluator(BinaryClassificationEvaluator::new())
        .fit(&texts)
        .unwrap();
    let metrics = model.validation_metrics();
    // One hashed feature counts the words, the same in every text: no better than chance.
    assert_eq!(metrics[0], 0.5, "{metrics:?}");
    assert!(metrics[2] > 0.9 && metrics[3] > 0.9, "{metrics:?}");
    let best = model
        .best_model()
        .as_any()
        .downcast_ref::<PipelineModel>()
        .unwrap();
    assert_eq!(
        best.stage::<HashingTF>(1)
            .unwrap()
            .params()
            .int("numFeatures"),
        256
    );
    assert!(BinaryClassificationEvaluator::new().is_larger_better());

    let err = ParamGridBuilder::new()
        .add_grid(
            &LogisticRegression::new(),
            "regparam",
            vec![ParamValue::Double(0.1)],
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("has no param regparam"), "{err}");
    let err = CrossValidator::new().fit(&texts).unwrap_err();
    assert!(err.to_string().contains("no estimator to tune"), "{err}");
}
