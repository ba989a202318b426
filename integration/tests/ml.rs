//! spark.ml models both ways with Apache Spark (pip pyspark, the metastore's venv): a model
//! ember trained and saved on HDFS loads in Spark and predicts what ember predicts; a model
//! Spark trained and saved loads in ember with the same numbers and predictions; and the two
//! libraries fit the same model to the same data (logistic and linear regression, the latter
//! by both of Spark's solvers). Models also go to S3 and back.

use ember::ml::classification::{LogisticRegression, LogisticRegressionModel};
use ember::ml::clustering::{KMeans, KMeansModel};
use ember::ml::feature::{HashingTF, IDFModel, Tokenizer, VectorAssembler, IDF};
use ember::ml::regression::{LinearRegression, LinearRegressionModel};
use ember::ml::{
    Estimator, HasParams, MlReadable, MlWritable, Pipeline, PipelineModel, Transformer,
};
use ember::sql::{col, DataFrame, SqlContextExt};
use ember_integration::{context, create_bucket, hadoop_conf, unique};
use serde_json::Value;
use std::path::Path;

/// Runs integration/ml/spark_ml.py with `args`; the JSON it printed.
fn spark(args: &[&str]) -> Value {
    let python = std::env::var("EMBER_SPARK_PYTHON")
        .expect("EMBER_SPARK_PYTHON is not set: eval \"$(scripts/metastore env)\"");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ml/spark_ml.py");
    let run = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .output()
        .expect("Spark's Python runs");
    assert!(
        run.status.success(),
        "Spark failed to {args:?}:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("Spark printed JSON")
}

/// 600 rows of three features of different scales and a label drawn from a logistic model,
/// by a fixed xorshift generator.
fn write_csv(path: &Path) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("id,x0,x1,x2,label\n");
    for id in 0..600 {
        let x = [uniform() * 4.0 - 2.0, uniform() * 40.0, uniform() - 0.5];
        let margin = 1.2 * x[0] - 0.05 * (x[1] - 20.0) + 3.0 * x[2] + 0.2;
        let label = f64::from(uniform() < 1.0 / (1.0 + (-margin).exp()));
        csv.push_str(&format!("{id},{},{},{},{label}\n", x[0], x[1], x[2]));
    }
    std::fs::write(path, csv).unwrap();
}

fn training(ctx: &ember_core::Context, csv: &str) -> DataFrame {
    let rows = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(csv)
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(&["x0", "x1", "x2"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

/// A new path named `name` on the mini cluster's HDFS.
fn on_hdfs(name: &str) -> String {
    let fs = hadoop_conf().default_fs();
    format!(
        "{}/ember-it/{}/{name}",
        fs.trim_end_matches('/'),
        unique("ml")
    )
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The probabilities of class 1 and the predictions of `model` on `data`, by `id`.
fn predicted(model: &impl Transformer, data: &DataFrame) -> (Vec<f64>, Vec<f64>) {
    let (mut probabilities, mut predictions) = (Vec::new(), Vec::new());
    for batch in scored_by_id(model, data) {
        let column = batch.column_by_name("probability").unwrap();
        let probability = ember::ml::linalg::VectorColumn::new("probability", column).unwrap();
        for row in probability.to_vec().unwrap() {
            probabilities.push(row.unwrap().to_array()[1]);
        }
        predictions.extend(prediction_column(&batch));
    }
    (probabilities, predictions)
}

/// The batches of `model`'s output on `data`, by `id`.
fn scored_by_id(model: &impl Transformer, data: &DataFrame) -> Vec<ember::sql::RecordBatch> {
    let scored = model.transform(data).unwrap();
    let scored = scored.order_by(vec![col("id").sort(true, false)]).unwrap();
    scored.collect().unwrap()
}

/// The `prediction` column of `batch`.
fn prediction_column(batch: &ember::sql::RecordBatch) -> Vec<f64> {
    let prediction = batch.column_by_name("prediction").unwrap();
    let prediction = prediction
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Float64Array>()
        .unwrap();
    prediction.values().to_vec()
}

fn assert_close(what: &str, ours: &[f64], theirs: &[f64], relative: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= relative * b.abs().max(1e-3),
            "{what} {i}: ember's {a}, Spark's {b}"
        );
    }
}

#[test]
fn logistic_regression_models_go_between_ember_and_spark_both_ways() {
    let dir = tempfile::Builder::new().prefix("ml").tempdir().unwrap();
    let csv_path = dir.path().join("data.csv");
    write_csv(&csv_path);
    let csv = format!("file://{}", csv_path.display());
    let ctx = context("local[2]", &[]);
    let data = training(&ctx, &csv);

    // ember's model, saved on HDFS, loaded by Spark: the same numbers, the same predictions.
    let ours = LogisticRegression::new()
        .set_reg_param(0.01)
        .set_tol(1e-10)
        .set_max_iter(1000)
        .fit(&data)
        .unwrap();
    let saved = on_hdfs("lr");
    ours.write().save(&ctx, &saved).unwrap();
    let loaded_by_spark = spark(&["lr-load", &csv, &saved]);
    assert_eq!(loaded_by_spark["uid"], ours.uid());
    assert_eq!(
        numbers(&loaded_by_spark["coefficients"]),
        ours.coefficients().to_array()
    );
    assert_eq!(
        loaded_by_spark["intercept"].as_f64().unwrap(),
        ours.intercept()
    );
    assert_eq!(loaded_by_spark["regParam"].as_f64().unwrap(), 0.01);
    let (probabilities, predictions) = predicted(&ours, &data);
    assert_close(
        "probability",
        &probabilities,
        &numbers(&loaded_by_spark["probabilities"]),
        1e-12,
    );
    assert_eq!(predictions, numbers(&loaded_by_spark["predictions"]));

    // Spark's model, fitted with the same settings and saved, loaded by ember.
    let spark_path = format!("file://{}", dir.path().join("spark-lr").display());
    let fitted_by_spark = spark(&["lr-fit", &csv, &spark_path]);
    let theirs = LogisticRegressionModel::load(&ctx, &spark_path).unwrap();
    assert_eq!(theirs.uid(), fitted_by_spark["uid"].as_str().unwrap());
    assert_eq!(
        theirs.coefficients().to_array(),
        numbers(&fitted_by_spark["coefficients"])
    );
    assert_eq!(
        theirs.intercept(),
        fitted_by_spark["intercept"].as_f64().unwrap()
    );
    assert_eq!(theirs.params().double("tol"), 1e-10);
    let (probabilities, predictions) = predicted(&theirs, &data);
    assert_close(
        "probability",
        &probabilities,
        &numbers(&fitted_by_spark["probabilities"]),
        1e-12,
    );
    assert_eq!(predictions, numbers(&fitted_by_spark["predictions"]));

    // The two fits of the same objective agree.
    assert_close(
        "coefficient",
        &ours.coefficients().to_array(),
        &theirs.coefficients().to_array(),
        1e-4,
    );
    assert_close(
        "intercept",
        &[ours.intercept()],
        &[theirs.intercept()],
        1e-4,
    );
}

/// The data of the linear regressions: `x2 + label` on `x0` and `x1`.
fn regression_data(ctx: &ember_core::Context, csv: &str) -> DataFrame {
    let rows = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(csv)
        .unwrap();
    let rows = rows
        .with_column("target", col("x2") + col("label"))
        .unwrap();
    VectorAssembler::new()
        .set_input_cols(&["x0", "x1"])
        .set_output_col("features")
        .transform(&rows)
        .unwrap()
}

/// The predictions of a linear regression `model` on `data`, by `id`.
fn linear_predictions(model: &LinearRegressionModel, data: &DataFrame) -> Vec<f64> {
    scored_by_id(model, data)
        .iter()
        .flat_map(prediction_column)
        .collect()
}

#[test]
fn linear_regressions_fit_as_spark_fits_them_and_go_both_ways() {
    let dir = tempfile::Builder::new().prefix("ml").tempdir().unwrap();
    let csv_path = dir.path().join("data.csv");
    write_csv(&csv_path);
    let csv = format!("file://{}", csv_path.display());
    let ctx = context("local[2]", &[]);
    let data = regression_data(&ctx, &csv);

    // Spark fits an elastic net by each solver (the normal equations take population
    // deviations, L-BFGS unbiased ones); ember fits the same two models and loads Spark's.
    let spark_dir = format!("file://{}", dir.path().join("spark-linreg").display());
    let fitted_by_spark = spark(&["linreg-fit", &csv, &spark_dir]);
    for solver in ["normal", "l-bfgs"] {
        let expected = &fitted_by_spark[solver];
        let theirs = LinearRegressionModel::load(&ctx, &format!("{spark_dir}/{solver}")).unwrap();
        assert_eq!(theirs.uid(), expected["uid"].as_str().unwrap());
        assert_eq!(
            theirs.coefficients().to_array(),
            numbers(&expected["coefficients"])
        );
        assert_eq!(theirs.intercept(), expected["intercept"].as_f64().unwrap());
        assert_eq!(theirs.params().double("elasticNetParam"), 0.5);
        assert_close(
            "prediction",
            &linear_predictions(&theirs, &data),
            &numbers(&expected["predictions"]),
            1e-12,
        );
        let ours = LinearRegression::new()
            .set_label_col("target")
            .set_reg_param(0.05)
            .set_elastic_net_param(0.5)
            .set_solver(solver)
            .set_tol(1e-12)
            .set_max_iter(1000)
            .fit(&data)
            .unwrap();
        assert_close(
            &format!("{solver} coefficient"),
            &ours.coefficients().to_array(),
            &theirs.coefficients().to_array(),
            1e-4,
        );
        assert_close(
            &format!("{solver} intercept"),
            &[ours.intercept()],
            &[theirs.intercept()],
            1e-4,
        );
        if solver == "normal" {
            // ember's model, saved on HDFS, loaded by Spark.
            let saved = on_hdfs("linreg");
            ours.write().save(&ctx, &saved).unwrap();
            let loaded_by_spark = spark(&["linreg-load", &csv, &saved]);
            assert_eq!(loaded_by_spark["uid"], ours.uid());
            assert_eq!(
                numbers(&loaded_by_spark["coefficients"]),
                ours.coefficients().to_array()
            );
            assert_eq!(loaded_by_spark["scale"].as_f64().unwrap(), 1.0);
            assert_close(
                "prediction",
                &linear_predictions(&ours, &data),
                &numbers(&loaded_by_spark["predictions"]),
                1e-12,
            );
        }
    }
}

/// Each row's cluster by `id`.
fn clusters(model: &KMeansModel, data: &DataFrame) -> Vec<f64> {
    let assigned = model.transform(data).unwrap();
    let assigned = assigned
        .order_by(vec![col("id").sort(true, false)])
        .unwrap();
    let mut clusters = Vec::new();
    for batch in assigned.collect().unwrap() {
        let column = batch.column_by_name("prediction").unwrap();
        let column = column
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int32Array>()
            .unwrap();
        clusters.extend(column.values().iter().map(|&c| f64::from(c)));
    }
    clusters
}

fn centers_of(model: &KMeansModel) -> Vec<Vec<f64>> {
    model
        .cluster_centers()
        .iter()
        .map(|c| c.to_array())
        .collect()
}

fn centers_in(json: &Value) -> Vec<Vec<f64>> {
    json.as_array().unwrap().iter().map(numbers).collect()
}

#[test]
fn kmeans_models_go_between_ember_and_spark_both_ways_and_through_s3() {
    let dir = tempfile::Builder::new().prefix("ml").tempdir().unwrap();
    let csv_path = dir.path().join("data.csv");
    write_csv(&csv_path);
    let csv = format!("file://{}", csv_path.display());
    let ctx = context("local[2]", &[]);
    let data = training(&ctx, &csv);

    let ours = KMeans::new().set_k(3).set_seed(7).fit(&data).unwrap();
    let saved = on_hdfs("kmeans");
    ours.write().save(&ctx, &saved).unwrap();
    let loaded_by_spark = spark(&["km-load", &csv, &saved]);
    assert_eq!(loaded_by_spark["uid"], ours.uid());
    assert_eq!(centers_in(&loaded_by_spark["centers"]), centers_of(&ours));
    assert_eq!(loaded_by_spark["seed"], 7);
    assert_eq!(
        numbers(&loaded_by_spark["predictions"]),
        clusters(&ours, &data)
    );

    let spark_path = format!("file://{}", dir.path().join("spark-kmeans").display());
    let fitted_by_spark = spark(&["km-fit", &csv, &spark_path]);
    let theirs = KMeansModel::load(&ctx, &spark_path).unwrap();
    assert_eq!(theirs.uid(), fitted_by_spark["uid"].as_str().unwrap());
    assert_eq!(centers_of(&theirs), centers_in(&fitted_by_spark["centers"]));
    assert_eq!(
        numbers(&fitted_by_spark["predictions"]),
        clusters(&theirs, &data)
    );

    // On S3 and back.
    create_bucket("ember-ml");
    let on_s3 = format!("s3a://ember-ml/{}/kmeans", unique("ml"));
    theirs.write().save(&ctx, &on_s3).unwrap();
    let back = KMeansModel::load(&ctx, &on_s3).unwrap();
    assert_eq!(centers_of(&back), centers_of(&theirs));
    assert_eq!(back.explain_params(), theirs.explain_params());
    let err = theirs.write().save(&ctx, &on_s3).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    theirs.write().overwrite().save(&ctx, &on_s3).unwrap();
}

/// 300 short texts, each of words drawn mostly from its label's vocabulary.
fn write_texts(path: &Path) {
    let words = [
        ["spark", "rdd", "shuffle", "executor", "stage", "driver"],
        ["hadoop", "yarn", "hdfs", "namenode", "block", "container"],
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut csv = String::from("id,text,label\n");
    for id in 0..300 {
        let label = next(2) as usize;
        let text: Vec<&str> = (0..3 + next(5))
            .map(|_| {
                let vocabulary = if next(10) < 8 { label } else { 1 - label };
                words[vocabulary][next(6) as usize]
            })
            .collect();
        csv.push_str(&format!("{id},{},{label}.0\n", text.join(" ")));
    }
    std::fs::write(path, csv).unwrap();
}

fn text_pipeline() -> Pipeline {
    Pipeline::new().set_stages(vec![
        Tokenizer::new()
            .set_input_col("text")
            .set_output_col("words")
            .into(),
        HashingTF::new()
            .set_input_col("words")
            .set_output_col("tf")
            .set_num_features(1024)
            .into(),
        IDF::new()
            .set_input_col("tf")
            .set_output_col("features")
            .into(),
        LogisticRegression::new()
            .set_reg_param(0.01)
            .set_tol(1e-10)
            .set_max_iter(1000)
            .into(),
    ])
}

/// The IDF and logistic regression of a fitted text pipeline.
fn pipeline_numbers(model: &PipelineModel) -> (Vec<f64>, Vec<f64>, f64) {
    let idf = model.stage::<IDFModel>(2).unwrap().idf().to_array();
    let lr = model.stage::<LogisticRegressionModel>(3).unwrap();
    (idf, lr.coefficients().to_array(), lr.intercept())
}

#[test]
fn text_pipelines_go_between_ember_and_spark_both_ways() {
    let dir = tempfile::Builder::new().prefix("ml").tempdir().unwrap();
    let csv_path = dir.path().join("texts.csv");
    write_texts(&csv_path);
    let csv = format!("file://{}", csv_path.display());
    let ctx = context("local[2]", &[]);
    let texts = ctx
        .read()
        .option("header", "true")
        .option("inferSchema", "true")
        .csv(&csv)
        .unwrap();

    // ember's pipeline model, saved on HDFS, loaded by Spark.
    let ours = text_pipeline().fit(&texts).unwrap();
    let saved = on_hdfs("pipeline");
    ours.write().save(&ctx, &saved).unwrap();
    let loaded_by_spark = spark(&["pipe-load", &csv, &saved]);
    let uids: Vec<&str> = ours.stages().iter().map(|s| s.uid()).collect();
    let their_uids: Vec<&str> = loaded_by_spark["stageUids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(their_uids, uids);
    let (idf, coefficients, intercept) = pipeline_numbers(&ours);
    assert_eq!(numbers(&loaded_by_spark["idf"]), idf);
    assert_eq!(numbers(&loaded_by_spark["coefficients"]), coefficients);
    assert_eq!(loaded_by_spark["intercept"].as_f64().unwrap(), intercept);
    let (probabilities, predictions) = predicted(&ours, &texts);
    assert_close(
        "probability",
        &probabilities,
        &numbers(&loaded_by_spark["probabilities"]),
        1e-12,
    );
    assert_eq!(predictions, numbers(&loaded_by_spark["predictions"]));

    // Spark's pipeline model, loaded by ember: Spark's hashing of terms is ember's.
    let spark_path = format!("file://{}", dir.path().join("spark-pipeline").display());
    let fitted_by_spark = spark(&["pipe-fit", &csv, &spark_path]);
    let theirs = PipelineModel::load(&ctx, &spark_path).unwrap();
    let (their_idf, their_coefficients, their_intercept) = pipeline_numbers(&theirs);
    assert_eq!(their_idf, numbers(&fitted_by_spark["idf"]));
    assert_eq!(
        their_coefficients,
        numbers(&fitted_by_spark["coefficients"])
    );
    assert_eq!(
        their_intercept,
        fitted_by_spark["intercept"].as_f64().unwrap()
    );
    let (probabilities, predictions) = predicted(&theirs, &texts);
    assert_close(
        "probability",
        &probabilities,
        &numbers(&fitted_by_spark["probabilities"]),
        1e-12,
    );
    assert_eq!(predictions, numbers(&fitted_by_spark["predictions"]));

    // The two fits agree: the same document frequencies, the same model.
    assert_eq!(idf, their_idf);
    assert_close("coefficient", &coefficients, &their_coefficients, 1e-4);
    assert_close("intercept", &[intercept], &[their_intercept], 1e-4);
}
