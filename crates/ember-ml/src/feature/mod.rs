//! Feature transformers, as Spark's `org.apache.spark.ml.feature`: columns turned into the
//! vectors estimators train on.

mod vector_assembler;

pub use vector_assembler::VectorAssembler;
