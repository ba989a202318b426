//! The Hive Metastore's view of tables, in Arrow's terms.
//!
//! A metastore describes each column by a Hive type name (`int`, `decimal(10,2)`,
//! `map<string,array<int>>`); [`arrow_type`] reads one into the Arrow type ember's scans
//! produce for it, as Spark's Hive support reads the same column.

mod types;

pub use types::arrow_type;
