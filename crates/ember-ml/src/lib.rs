//! Machine learning for ember, as Spark's DataFrame-based `spark.ml` offers it.
//!
//! This crate owns ember's MLlib: the vectors that feature columns hold ([`linalg`]) and
//! their place in Arrow record batches (as Spark's `VectorUDT`), and, as it grows, the
//! feature transformers, estimators and models, pipelines and their persistence in Spark ML's
//! directory format. Algorithms run data parallel on ember's stages: tasks reduce their
//! partitions to partial sums, the driver combines them, broadcasts carry the model. It does
//! not own DataFrames or their execution (`ember-sql`), nor scheduling (`ember-core`).
//!
//! ```
//! use ember_ml::linalg::{Vector, Vectors};
//!
//! let dense = Vectors::dense(vec![1.0, 0.0, 3.0]);
//! let sparse = Vectors::sparse(3, vec![0, 2], vec![1.0, 3.0]).unwrap();
//! assert_eq!(dense, sparse); // equal as Spark's vectors are: the same values
//! assert_eq!(dense.dot(&sparse).unwrap(), 10.0);
//! assert!(matches!(dense.compressed(), Vector::Dense(_))); // two of three values set
//! ```

mod error;
pub mod linalg;

pub use error::{Error, Result};
