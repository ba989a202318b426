//! RDDs and DataFrames, both ways, as Spark's `rdd.toDF()` and `df.as[T].rdd`: records of a
//! serde type are rows whose columns are the type's fields (by name, with Arrow types traced
//! from the Rust types by `serde_arrow`).
//!
//! Neither direction gathers anything on the driver. A DataFrame over an RDD reads the RDD's
//! partitions inside the tasks of its first stage, which depend on the RDD's lineage like any
//! RDD (its shuffles run first, its cached partitions are used). An RDD from a DataFrame is the
//! query's last stage, its batches turned into records where they are computed.
//!
//! ```
//! use ember_core::{Context, Fn};
//! use ember_sql::{RddDataFrameExt, SqlContextExt};
//! use serde::{Deserialize, Serialize};
//! #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
//! struct Sale { region: String, amount: i64 }
//! #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
//! struct Total { region: String, total: i64 }
//! let ctx = Context::with_master("local[2]").unwrap();
//! let sales = ctx.parallelize(
//!     vec![Sale { region: "n".into(), amount: 3 }, Sale { region: "n".into(), amount: 4 }],
//!     2,
//! );
//! sales.to_data_frame().unwrap().create_or_replace_temp_view("sales").unwrap();
//! let totals = ctx.sql("SELECT region, sum(amount) AS total FROM sales GROUP BY region").unwrap();
//! let totals = totals.to_rdd::<Total>().unwrap().collect().unwrap();
//! assert_eq!(totals, vec![Total { region: "n".into(), total: 7 }]);
//! ```

use crate::dataframe::DataFrame;
use crate::distributed::{decode_batches, rdd_table, record_fields, ExchangeRecord};
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::rdd::{BoxIter, PartitionOp};
use ember_core::task_context::abort;
use ember_core::{Data, Rdd};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// RDDs of records as DataFrames.
pub trait RddDataFrameExt {
    /// This RDD as a DataFrame: a column per field of the record type (Spark's `toDF()`).
    ///
    /// # Errors
    /// The record type has no columns to offer: not a struct of supported field types.
    fn to_data_frame(&self) -> Result<DataFrame>;
}

impl<T: Data> RddDataFrameExt for Rdd<T> {
    fn to_data_frame(&self) -> Result<DataFrame> {
        let fields = record_fields::<T>().map_err(|e| {
            Error::Input(format!(
                "{} cannot be the rows of a DataFrame: {e}; use a struct whose fields are \
                 the columns",
                std::any::type_name::<T>()
            ))
        })?;
        let schema = Arc::new(Schema::new(fields));
        let table = rdd_table(self.lineage().clone(), schema, self.num_partitions());
        let session = SqlSession::of(self.context());
        let df = session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, session))
    }
}

/// Rows a task built as Arrow columns itself: the fast way from records to a DataFrame where
/// serde per field would cost too much (Kafka records, for one). See
/// [`ArrowRddExt::batches_to_data_frame`].
///
/// The batch stays in memory while it goes from the task that built it to the operators of
/// the same task; only a batch that leaves the process (a shuffle, a cached block sent away)
/// is written, as an Arrow IPC stream.
#[derive(Debug, Clone)]
pub struct ArrowBatch(RecordBatch);

impl ArrowBatch {
    /// `batch` as one record.
    pub fn new(batch: RecordBatch) -> ArrowBatch {
        ArrowBatch(batch)
    }

    /// The batch.
    pub fn batch(&self) -> &RecordBatch {
        &self.0
    }

    /// The batch, owned.
    pub fn into_batch(self) -> RecordBatch {
        self.0
    }
}

impl Serialize for ArrowBatch {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let bytes = crate::distributed::encode_batch(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for ArrowBatch {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        let batches =
            crate::distributed::decode_batches(&bytes).map_err(serde::de::Error::custom)?;
        match batches.as_slice() {
            [batch] => Ok(ArrowBatch(batch.clone())),
            _ => Err(serde::de::Error::custom(format!(
                "an Arrow batch record holds {} batches, not one",
                batches.len()
            ))),
        }
    }
}

/// DataFrames over RDDs of [`ArrowBatch`].
pub trait ArrowRddExt {
    /// A DataFrame whose rows are the batches' rows, which all have columns `schema`; each
    /// task reads its partition's batches as the query needs them.
    ///
    /// # Errors
    /// None yet; the batches are checked against `schema` when they are read.
    fn batches_to_data_frame(&self, schema: SchemaRef) -> Result<DataFrame>;
}

impl ArrowRddExt for Rdd<ArrowBatch> {
    fn batches_to_data_frame(&self, schema: SchemaRef) -> Result<DataFrame> {
        let table =
            crate::distributed::batch_table(self.lineage().clone(), schema, self.num_partitions());
        let session = SqlSession::of(self.context());
        let df = session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, session))
    }
}

impl DataFrame {
    /// The rows as an RDD of `T`, whose fields take the columns of the same names (Spark's
    /// `df.as[T].rdd`).
    ///
    /// # Errors
    /// The query cannot be planned, or cannot run on executors.
    pub fn to_rdd<T: Data>(&self) -> Result<Rdd<T>> {
        let last = crate::distributed::last_stage(self.session(), self.inner().clone())?;
        Ok(last.with_op("to_rdd", RecordsOf::<T>(PhantomData)))
    }

    /// The rows as an RDD of Arrow batches of this DataFrame's [`schema`](Self::schema), each
    /// where the query's last stage computes it: for code that works on whole columns rather
    /// than records (ember-ml's estimators and models). [`ArrowRddExt::batches_to_data_frame`]
    /// makes a DataFrame of such an RDD again.
    ///
    /// # Errors
    /// The query cannot be planned, or cannot run on executors.
    pub fn to_arrow_rdd(&self) -> Result<Rdd<ArrowBatch>> {
        let last = crate::distributed::last_stage(self.session(), self.inner().clone())?;
        Ok(last.with_op("to_arrow_rdd", BatchesOfRecords))
    }
}

/// Turns a query's Arrow IPC records into its batches.
#[derive(Serialize, Deserialize)]
struct BatchesOfRecords;

impl PartitionOp<ExchangeRecord, ArrowBatch> for BatchesOfRecords {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<ExchangeRecord>) -> BoxIter<ArrowBatch> {
        Box::new(input.flat_map(|(_, bytes)| {
            let batches = decode_batches(&bytes)
                .unwrap_or_else(|e| abort(ember_core::Error::Serialization(e.to_string())));
            batches.into_iter().map(ArrowBatch)
        }))
    }
}

/// Turns a query's Arrow IPC records into records of `T`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct RecordsOf<T>(#[serde(skip)] PhantomData<fn() -> T>);

impl<T: Data> PartitionOp<ExchangeRecord, T> for RecordsOf<T> {
    fn apply(self: Arc<Self>, _: usize, input: BoxIter<ExchangeRecord>) -> BoxIter<T> {
        Box::new(input.flat_map(|(_, bytes)| records_of::<T>(&bytes).unwrap_or_else(|e| abort(e))))
    }
}

/// The records of one Arrow IPC stream.
fn records_of<T: Data>(bytes: &[u8]) -> ember_core::Result<Vec<T>> {
    let serialization = |e: String| ember_core::Error::Serialization(e);
    let batches = decode_batches(bytes).map_err(|e| serialization(e.to_string()))?;
    let mut records = Vec::new();
    for batch in &batches {
        let rows: Vec<T> =
            serde_arrow::from_record_batch(batch).map_err(|e| serialization(e.to_string()))?;
        records.extend(rows);
    }
    Ok(records)
}
