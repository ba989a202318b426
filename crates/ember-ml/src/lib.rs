//! Machine learning for ember, as Spark's DataFrame-based `spark.ml` offers it.
//!
//! This crate owns ember's MLlib: the vectors and matrices that feature columns and models
//! hold ([`linalg`]) and their place in Arrow record batches (as Spark's `VectorUDT` and
//! `MatrixUDT`); stages with params of Spark's names and defaults ([`param`], [`Transformer`],
//! [`Estimator`]); feature transformers ([`feature`]), classifiers ([`classification`]),
//! regressors ([`regression`]) and clustering ([`clustering`]); evaluators of their
//! predictions ([`evaluation`]) and model selection with them ([`tuning`]); and saving and
//! loading them in Spark ML's directory format ([`persist`]), so models go between ember and
//! Apache Spark both ways. It does not own DataFrames or their execution (`ember-sql`), nor
//! scheduling (`ember-core`).
//!
//! Training runs data parallel on ember's stages: a first job stacks the rows of the
//! DataFrame in blocks kept in memory where they were computed; each pass after it broadcasts
//! the model, has every task reduce its blocks to partial sums (of loss and gradient, of
//! cluster members), merges them in a tree and steps the model on the driver. Transforming
//! adds columns batch by batch in the tasks of the DataFrame's last stage; nothing gathers
//! rows on the driver.
//!
//! ```
//! use ember_core::Context;
//! use ember_ml::clustering::KMeans;
//! use ember_ml::feature::VectorAssembler;
//! use ember_ml::linalg::{Vector, Vectors};
//! use ember_ml::{Estimator, HasParams, Transformer};
//! use ember_sql::SqlContextExt;
//!
//! let dense = Vectors::dense(vec![1.0, 0.0, 3.0]);
//! let sparse = Vectors::sparse(3, vec![0, 2], vec![1.0, 3.0]).unwrap();
//! assert_eq!(dense, sparse); // equal as Spark's vectors are: the same values
//! assert!(matches!(dense.compressed(), Vector::Dense(_))); // two of three values set
//!
//! let ctx = Context::with_master("local[2]").unwrap();
//! let rows = ctx.sql("SELECT CAST(value % 3 AS DOUBLE) * 10 AS x FROM range(30)").unwrap();
//! let points = VectorAssembler::new()
//!     .set_input_cols(&["x"])
//!     .set_output_col("features")
//!     .transform(&rows)
//!     .unwrap();
//! let kmeans = KMeans::new().set_k(3).set_seed(1);
//! assert!(kmeans.explain_params().contains("k: The number of clusters to create. Must be > 1. (default: 2, current: 3)"));
//! let model = kmeans.fit(&points).unwrap();
//! let mut centers: Vec<f64> = model.cluster_centers().iter().map(|c| c.get(0)).collect();
//! centers.sort_by(f64::total_cmp);
//! assert_eq!(centers, [0.0, 10.0, 20.0]);
//! ```

pub mod classification;
pub mod clustering;
mod dataset;
mod error;
pub mod evaluation;
pub mod feature;
pub mod linalg;
mod optim;
pub mod param;
pub mod persist;
mod pipeline;
pub mod regression;
mod stage;
mod stat;
pub mod tuning;

pub use error::{Error, Result};
pub use persist::{MlReadable, MlWritable};
pub use pipeline::{
    load_stage, Pipeline, PipelineEstimator, PipelineModel, PipelineStage, PipelineTransformer,
};
pub use stage::{Estimator, HasParams, Transformer};
