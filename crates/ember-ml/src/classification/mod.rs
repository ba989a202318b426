//! Classifiers, as Spark's `org.apache.spark.ml.classification`.

mod logistic_regression;

pub use logistic_regression::{LogisticRegression, LogisticRegressionModel, TrainingSummary};
