//! Clustering, as Spark's `org.apache.spark.ml.clustering`.

mod kmeans;

pub use kmeans::{KMeans, KMeansModel, KMeansSummary};
