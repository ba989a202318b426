//! Regressors, as Spark's `org.apache.spark.ml.regression`.

mod linear_regression;

pub use linear_regression::{
    LinearRegression, LinearRegressionModel, LinearRegressionTrainingSummary,
};
