//! `IDF`: inverse document frequencies, which weigh down terms found in many documents
//! (Spark's `org.apache.spark.ml.feature.IDF` and `IDFModel`).
//!
//! Fitting counts, over `m` documents (rows), the documents `df(t)` in which each term
//! (vector index) is non-zero; a term's weight is `ln((m + 1) / (df(t) + 1))`, or 0 when it
//! appears in fewer than `minDocFreq` documents. The model multiplies each vector by the
//! weights, keeping sparse vectors sparse.

use super::scale::Scale;
use super::{column, unary_columns, with_output_default, UnaryStage};
use crate::dataset::{InstanceBlock, InstanceColumns};
use crate::linalg::{
    is_vector_type, vector_field, vectors_to_array, Vector, VectorColumn, Vectors,
};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{params_only_persistence, LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, Estimator, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use ember_core::{Fn, StorageLevel};
use ember_sql::DataFrame;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const ESTIMATOR_CLASS: &str = "org.apache.spark.ml.feature.IDF";
const MODEL_CLASS: &str = "org.apache.spark.ml.feature.IDFModel";

const PARAMS: &[ParamSpec] = &[
    shared::INPUT_COL,
    ParamSpec::new(
        "minDocFreq",
        ParamKind::Int,
        "minimum number of documents in which a term should appear for filtering (>= 0)",
    )
    .accepting(Accepts::AtLeast(0.0)),
    shared::OUTPUT_COL,
];

fn default_params(params: Params) -> Params {
    with_output_default(params).default("minDocFreq", ParamValue::Int(0))
}

/// Fits inverse document frequencies (Spark's `IDF`).
#[derive(Debug, Clone)]
pub struct IDF {
    params: Params,
}

impl Default for IDF {
    fn default() -> Self {
        IDF::new()
    }
}

impl UnaryStage for IDF {}

impl IDF {
    /// An estimator with Spark's defaults (`minDocFreq` 0).
    pub fn new() -> IDF {
        IDF {
            params: default_params(Params::new("idf", PARAMS)),
        }
    }

    /// The vector column of term frequencies.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The vector column the model adds.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }

    setter!(
        /// Terms in fewer documents than this get weight 0 (default 0).
        set_min_doc_freq, "minDocFreq", i32, ParamValue::Int
    );
}

has_params!(IDF);

/// Documents counted, and the documents each term appears in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DocumentFrequencies {
    documents: i64,
    frequencies: Vec<i64>,
}

impl DocumentFrequencies {
    fn add(mut self, block: &InstanceBlock) -> DocumentFrequencies {
        if self.frequencies.len() < block.num_features() {
            self.frequencies.resize(block.num_features(), 0);
        }
        for i in 0..block.len() {
            self.documents += 1;
            let frequencies = &mut self.frequencies;
            block.for_each_active(i, |j, v| frequencies[j] += i64::from(v != 0.0));
        }
        self
    }

    fn merge(mut self, other: DocumentFrequencies) -> DocumentFrequencies {
        if self.frequencies.len() < other.frequencies.len() {
            self.frequencies.resize(other.frequencies.len(), 0);
        }
        for (a, b) in self.frequencies.iter_mut().zip(&other.frequencies) {
            *a += b;
        }
        self.documents += other.documents;
        self
    }
}

impl Estimator for IDF {
    type Model = IDFModel;

    fn fit(&self, dataset: &DataFrame) -> Result<IDFModel> {
        let (input, _) = unary_columns(&self.params, dataset, is_vector_type, "vector")?;
        let columns = InstanceColumns {
            features: input,
            label: None,
            weight: None,
        };
        // One pass: nothing to keep.
        let blocks = columns.blocks(dataset, StorageLevel::NONE)?;
        let counted = blocks.tree_aggregate(
            DocumentFrequencies::default(),
            Fn!(|d: DocumentFrequencies, block: InstanceBlock| d.add(&block)),
            Fn!(|a: DocumentFrequencies, b: DocumentFrequencies| a.merge(b)),
            2,
        )?;
        let min = i64::from(self.params.int("minDocFreq"));
        let m = counted.documents as f64;
        let idf = counted
            .frequencies
            .iter()
            .map(|&df| {
                if df >= min {
                    ((m + 1.0) / (df as f64 + 1.0)).ln()
                } else {
                    0.0
                }
            })
            .collect();
        let params = self.params.copy_to(default_params(Params::with_uid(
            self.params.uid().to_string(),
            PARAMS,
        )));
        Ok(IDFModel {
            params,
            idf,
            doc_freq: counted.frequencies,
            num_docs: counted.documents,
        })
    }
}

/// Weighs term frequencies by inverse document frequency (Spark's `IDFModel`).
#[derive(Debug, Clone)]
pub struct IDFModel {
    params: Params,
    idf: Vec<f64>,
    doc_freq: Vec<i64>,
    num_docs: i64,
}

impl IDFModel {
    /// Each term's weight.
    pub fn idf(&self) -> Vector {
        Vectors::dense(self.idf.clone())
    }

    /// How many documents each term appears in.
    pub fn doc_freq(&self) -> &[i64] {
        &self.doc_freq
    }

    /// How many documents were counted.
    pub fn num_docs(&self) -> i64 {
        self.num_docs
    }
}

has_params!(IDFModel);

impl Transformer for IDFModel {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let (input, output) = unary_columns(&self.params, dataset, is_vector_type, "vector")?;
        add_columns(
            dataset,
            Scale {
                input,
                output,
                scale: self.idf.clone(),
                shift: None,
                fitted_by: "the IDF model".into(),
            },
        )
    }
}

impl MlWritable for IDFModel {
    /// Spark's layout: one row of `idf`, `docFreq` and `numDocs`.
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(MODEL_CLASS, &self.params))?;
        let element = Arc::new(Field::new("element", DataType::Int64, false));
        let schema = Schema::new(vec![
            vector_field("idf", true),
            Field::new("docFreq", DataType::List(element.clone()), true),
            Field::new("numDocs", DataType::Int64, false),
        ]);
        let doc_freq = ListArray::new(
            element,
            OffsetBuffer::from_lengths([self.doc_freq.len()]),
            Arc::new(Int64Array::from(self.doc_freq.clone())),
            None,
        );
        let columns: Vec<ArrayRef> = vec![
            vectors_to_array(&[Some(self.idf())]),
            Arc::new(doc_freq),
            Arc::new(Int64Array::from(vec![self.num_docs])),
        ];
        dir.write_data(schema, columns)
    }
}

impl MlReadable for IDFModel {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(MODEL_CLASS)?;
        if metadata.version().0 < 3 {
            return Err(Error::Input(format!(
                "{} holds an IDF model of Spark {}, saved without its document frequencies; \
                 ember reads IDF models of Spark 3 and later",
                dir.path(),
                metadata.spark_version
            )));
        }
        let params = metadata.params(default_params(Params::with_uid(String::new(), PARAMS)))?;
        let batch = &dir.data_row()?;
        let idf = VectorColumn::new("idf", column("idf", batch)?)?
            .get(0)?
            .ok_or_else(|| Error::Input(format!("{} has no idf", dir.path())))?;
        let longs =
            |t: &DataType| matches!(t, DataType::List(e) if e.data_type() == &DataType::Int64);
        let doc_freq = dir.data_column(batch, "docFreq", longs, "array<bigint>")?;
        let doc_freq = doc_freq.as_list::<i32>().value(0);
        let doc_freq = doc_freq.as_primitive::<Int64Type>().values().to_vec();
        let long = |t: &DataType| t == &DataType::Int64;
        let num_docs = dir.data_column(batch, "numDocs", long, "bigint")?;
        let num_docs = num_docs.as_primitive::<Int64Type>().value(0);
        Ok(IDFModel {
            params,
            idf: idf.to_array(),
            doc_freq,
            num_docs,
        })
    }
}

params_only_persistence!(IDF, ESTIMATOR_CLASS);
