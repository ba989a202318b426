//! Feature transformers against plain Rust computations of what they must give.

use ember_core::Context;
use ember_ml::feature::{
    HashingTF, OneHotEncoder, OneHotEncoderModel, StandardScaler, StringIndexer,
    StringIndexerModel, Tokenizer, VectorAssembler, IDF,
};
use ember_ml::linalg::{Vector, VectorColumn, Vectors};
use ember_ml::{Estimator, MlReadable, MlWritable, Transformer};
use ember_sql::{col, DataFrame, SqlContextExt};

/// Column `name` of `df`'s rows, in the order of column `id`.
fn vectors(df: &DataFrame, name: &str) -> Vec<Vector> {
    let sorted = df.order_by(vec![col("id").sort(true, false)]).unwrap();
    let mut rows = Vec::new();
    for batch in sorted.collect().unwrap() {
        let column = VectorColumn::new(name, batch.column_by_name(name).unwrap()).unwrap();
        rows.extend(column.to_vec().unwrap().into_iter().map(Option::unwrap));
    }
    rows
}

#[test]
fn standard_scaler_divides_by_the_unbiased_deviation_and_centers_on_request() {
    let ctx = Context::with_master("local[2]").unwrap();
    let rows = ctx
        .sql("SELECT value AS id, CAST(value * value AS DOUBLE) AS a, 5.0 AS b FROM range(10)")
        .unwrap();
    let data = VectorAssembler::new()
        .set_input_cols(&["a", "b"])
        .set_output_col("x")
        .transform(&rows)
        .unwrap();
    let a: Vec<f64> = (0..10).map(|v| f64::from(v * v)).collect();
    let mean = a.iter().sum::<f64>() / 10.0;
    let std = (a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 9.0).sqrt();
    for with_mean in [false, true] {
        let model = StandardScaler::new()
            .set_input_col("x")
            .set_output_col("scaled")
            .set_with_mean(with_mean)
            .fit(&data)
            .unwrap();
        assert!((model.std().get(0) - std).abs() < 1e-12);
        assert_eq!(model.std().get(1), 0.0);
        let scaled = vectors(&model.transform(&data).unwrap(), "scaled");
        for (v, x) in scaled.iter().zip(&a) {
            let expected = if with_mean { (x - mean) / std } else { x / std };
            assert!((v.get(0) - expected).abs() < 1e-12, "{v:?}");
            assert_eq!(v.get(1), 0.0, "a constant feature scales to 0");
        }
    }
}

#[test]
fn tf_idf_counts_terms_and_weighs_them_by_document_frequency() {
    let ctx = Context::with_master("local[2]").unwrap();
    let docs = ["a b a", "b c", "c c c d", ""];
    let values: Vec<String> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| format!("({i}, '{d}')"))
        .collect();
    let rows = ctx
        .sql(&format!(
            "SELECT * FROM (VALUES {}) AS t(id, text)",
            values.join(", ")
        ))
        .unwrap();
    let words = Tokenizer::new()
        .set_input_col("text")
        .set_output_col("words")
        .transform(&rows)
        .unwrap();
    let tf = HashingTF::new()
        .set_input_col("words")
        .set_output_col("tf")
        .set_num_features(1 << 10);
    let counted = tf.transform(&words).unwrap();
    let idf = IDF::new()
        .set_input_col("tf")
        .set_output_col("tfidf")
        .fit(&counted)
        .unwrap();
    let weighed = vectors(&idf.transform(&counted).unwrap(), "tfidf");
    // Plain counting: term counts per document, documents per term, ln((m+1)/(df+1)).
    let m = docs.len() as f64;
    let df = |term: &str| {
        docs.iter()
            .filter(|d| d.split(' ').any(|w| w == term))
            .count() as f64
    };
    for (doc, vector) in docs.iter().zip(&weighed) {
        let mut expected: Vec<(u32, f64)> = Vec::new();
        for term in doc.split(' ').filter(|t| !t.is_empty()) {
            let index = tf.index_of(term) as u32;
            if !expected.iter().any(|(i, _)| *i == index) {
                let count = doc.split(' ').filter(|w| *w == term).count() as f64;
                expected.push((index, count * ((m + 1.0) / (df(term) + 1.0)).ln()));
            }
        }
        // Java's split of "" is one empty token, which hashes too.
        if doc.is_empty() {
            expected.push((tf.index_of("") as u32, ((m + 1.0) / 2.0).ln()));
        }
        let expected = Vectors::sparse_from_entries(1 << 10, expected).unwrap();
        let close = vector
            .to_array()
            .iter()
            .zip(expected.to_array())
            .all(|(a, b)| (a - b).abs() < 1e-12);
        assert!(close, "{doc:?}: {vector:?} against {expected:?}");
    }
    assert_eq!(idf.num_docs(), 4);
}

/// Column `name` of `df`'s rows as text, in the order of column `id`.
fn texts(df: &DataFrame, name: &str) -> Vec<String> {
    let sorted = df.order_by(vec![col("id").sort(true, false)]).unwrap();
    let shown = sorted
        .select_columns(&[name])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    shown.lines().map(str::to_string).collect()
}

#[test]
fn string_indexer_and_one_hot_encoder_index_count_and_encode_as_spark() {
    let ctx = Context::with_master("local[2]").unwrap();
    // Colours by frequency: red 4, blue 2, green 2 (ties alphabetically: blue, green), tan 1.
    let colours = [
        "red", "blue", "red", "green", "tan", "red", "blue", "green", "red",
    ];
    let values: Vec<String> = colours
        .iter()
        .enumerate()
        .map(|(i, c)| format!("({i}, '{c}')"))
        .collect();
    let data = ctx
        .sql(&format!(
            "SELECT * FROM (VALUES {}) AS t(id, colour)",
            values.join(", ")
        ))
        .unwrap();
    let indexer = StringIndexer::new()
        .set_input_col("colour")
        .set_output_col("index");
    let model = indexer.fit(&data).unwrap();
    assert_eq!(model.labels(), ["red", "blue", "green", "tan"]);
    let indexed = model.transform(&data).unwrap();
    let expected: Vec<String> = colours
        .iter()
        .map(|c| {
            let i = model.labels().iter().position(|l| l == c).unwrap();
            format!("{i}.0")
        })
        .collect();
    assert_eq!(texts(&indexed, "index"), expected);

    // Unseen labels: an error naming the label, or dropped, or one index more.
    let unseen = ctx.sql("SELECT 0 AS id, 'pink' AS colour").unwrap();
    let err = model.transform(&unseen).unwrap().collect().unwrap_err();
    assert!(err.to_string().contains("Unseen label: pink"), "{err}");
    let skipped = model
        .clone()
        .set_handle_invalid("skip")
        .transform(&unseen)
        .unwrap();
    assert_eq!(skipped.count().unwrap(), 0);
    let kept = model
        .clone()
        .set_handle_invalid("keep")
        .transform(&unseen)
        .unwrap();
    assert_eq!(texts(&kept, "index"), ["4.0"]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("indexer").to_str().unwrap().to_string();
    model.write().save(&ctx, &path).unwrap();
    let loaded = StringIndexerModel::load(&ctx, &path).unwrap();
    assert_eq!(loaded.labels(), model.labels());
    assert_eq!(texts(&loaded.transform(&data).unwrap(), "index"), expected);

    // One-hot: four categories, the last dropped.
    let encoder = OneHotEncoder::new()
        .set_input_col("index")
        .set_output_col("onehot");
    let encoding = encoder.fit(&indexed).unwrap();
    assert_eq!(encoding.category_sizes(), [4]);
    let encoded = vectors(&encoding.transform(&indexed).unwrap(), "onehot");
    for (colour, vector) in colours.iter().zip(&encoded) {
        let i = model.labels().iter().position(|l| l == colour).unwrap();
        let mut dense = vec![0.0; 3];
        if i < 3 {
            dense[i] = 1.0;
        }
        assert_eq!(vector, &Vectors::dense(dense), "{colour}");
    }
    let path = dir.path().join("encoder").to_str().unwrap().to_string();
    encoding.write().save(&ctx, &path).unwrap();
    assert_eq!(
        OneHotEncoderModel::load(&ctx, &path)
            .unwrap()
            .category_sizes(),
        [4]
    );
    let fractions = ctx.sql("SELECT 0 AS id, 1.5 AS index").unwrap();
    let err = encoder.fit(&fractions).unwrap_err().to_string();
    assert!(err.contains("not category indices"), "{err}");
}
