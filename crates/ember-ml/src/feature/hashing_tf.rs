//! `HashingTF`: arrays of terms turned into sparse vectors of term counts, each term counted at
//! the index its hash picks (Spark's `org.apache.spark.ml.feature.HashingTF`).
//!
//! The index of a term is Spark's (from 3.0): MurmurHash3 x86 32-bit of the term's UTF-8 bytes
//! with seed 42, as a signed int, taken modulo `numFeatures` into `[0, numFeatures)`. The
//! same terms therefore land at the same indices in ember and in Spark, and a model trained on
//! one's vectors applies to the other's. (Spark 2's models hashed differently; ember loads
//! only HashingTFs saved by Spark 3 or later.)

use super::{is_string_list, string_lists_of, unary_columns, with_output_default, UnaryStage};
use crate::linalg::{vector_field, vectors_to_array, Vector, Vectors};
use crate::param::{setter, shared, Accepts, ParamKind, ParamSpec, ParamValue, Params};
use crate::persist::{LoadDir, Metadata, MlReadable, MlWritable, SaveDir};
use crate::stage::{add_columns, has_params, BatchColumns, Transformer};
use crate::{Error, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::Field;
use datafusion::arrow::record_batch::RecordBatch;
use ember_sql::DataFrame;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const CLASS: &str = "org.apache.spark.ml.feature.HashingTF";
/// The seed of Spark's term hash.
const SEED: u32 = 42;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "binary",
        ParamKind::Bool,
        "If true, all non zero counts are set to 1. This is useful for discrete probabilistic \
         models that model binary events rather than integer counts",
    ),
    shared::INPUT_COL,
    ParamSpec::new(
        "numFeatures",
        ParamKind::Int,
        "Number of features. Should be greater than 0",
    )
    .accepting(Accepts::Above(0.0)),
    shared::OUTPUT_COL,
];

/// Term counts by hashed index (Spark's `HashingTF`).
///
/// ```
/// use ember_ml::feature::HashingTF;
/// let tf = HashingTF::new().set_num_features(1 << 18);
/// // Spark's index of "spark" among 2^18 features.
/// assert_eq!(tf.index_of("spark"), 173_558);
/// ```
#[derive(Debug, Clone)]
pub struct HashingTF {
    params: Params,
}

impl Default for HashingTF {
    fn default() -> Self {
        HashingTF::new()
    }
}

impl UnaryStage for HashingTF {}

impl HashingTF {
    /// A hasher with Spark's defaults: 2^18 features, counts (not binary).
    pub fn new() -> HashingTF {
        let params = Params::new("hashingTF", PARAMS)
            .default("binary", ParamValue::Bool(false))
            .default("numFeatures", ParamValue::Int(1 << 18));
        HashingTF {
            params: with_output_default(params),
        }
    }

    /// The column of arrays of terms.
    pub fn set_input_col(self, column: &str) -> Self {
        self.with_input_col(column)
    }

    /// The vector column added.
    pub fn set_output_col(self, column: &str) -> Self {
        self.with_output_col(column)
    }

    setter!(
        /// How many indices terms hash to (default 2^18).
        set_num_features, "numFeatures", i32, ParamValue::Int
    );
    setter!(
        /// Whether a term present counts 1 however often it occurs (default false).
        set_binary, "binary", bool, ParamValue::Bool
    );

    /// The index `term` counts at (Spark's `indexOf`).
    pub fn index_of(&self, term: &str) -> usize {
        index_of(term, self.params.int("numFeatures"))
    }
}

fn index_of(term: &str, num_features: i32) -> usize {
    let hash = murmur3_x86_32(term.as_bytes(), SEED) as i32;
    hash.rem_euclid(num_features) as usize
}

/// MurmurHash3, x86 32-bit (Spark's `Murmur3_x86_32.hashUnsafeBytes2`).
pub(crate) fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mut h = seed;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        h = (h ^ mix(k))
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    if !tail.is_empty() {
        let k = tail
            .iter()
            .enumerate()
            .fold(0u32, |k, (i, &b)| k ^ (u32::from(b) << (8 * i)));
        h ^= mix(k);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

has_params!(HashingTF);

impl Transformer for HashingTF {
    fn transform(&self, dataset: &DataFrame) -> Result<DataFrame> {
        let (input, output) =
            unary_columns(&self.params, dataset, is_string_list, "array<string>")?;
        let hash = Hash {
            input,
            output,
            num_features: self.params.int("numFeatures"),
            binary: self.params.bool("binary"),
        };
        add_columns(dataset, hash)
    }
}

#[derive(Serialize, Deserialize)]
struct Hash {
    input: String,
    output: String,
    num_features: i32,
    binary: bool,
}

impl Hash {
    fn counts(&self, terms: &[String]) -> Result<Vector> {
        let mut counts: BTreeMap<u32, f64> = BTreeMap::new();
        for term in terms {
            let count = counts
                .entry(index_of(term, self.num_features) as u32)
                .or_default();
            *count = if self.binary { 1.0 } else { *count + 1.0 };
        }
        let (indices, values) = counts.into_iter().unzip();
        Vectors::sparse(self.num_features as usize, indices, values)
    }
}

impl BatchColumns for Hash {
    fn inputs(&self) -> Vec<String> {
        vec![self.input.clone()]
    }

    fn fields(&self) -> Vec<Field> {
        vec![vector_field(&self.output, true)]
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let vectors = string_lists_of(&self.input, batch)?
            .iter()
            .map(|terms| terms.as_deref().map(|t| self.counts(t)).transpose())
            .collect::<Result<Vec<_>>>()?;
        Ok(vec![vectors_to_array(&vectors)])
    }
}

impl MlWritable for HashingTF {
    fn save_to(&self, dir: &SaveDir) -> Result<()> {
        dir.write_metadata(&Metadata::of(CLASS, &self.params))
    }
}

impl MlReadable for HashingTF {
    fn load_from(dir: &LoadDir) -> Result<Self> {
        let metadata = dir.metadata(CLASS)?;
        if metadata.version().0 < 3 {
            return Err(Error::Input(format!(
                "{} holds a HashingTF of Spark {}, which hashed terms as Spark 3 and ember do \
                 not; save it again with Spark 3 or later",
                dir.path(),
                metadata.spark_version
            )));
        }
        let params = metadata.params(HashingTF::new().params)?;
        Ok(HashingTF { params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_gives_the_reference_hashes() {
        // Published test values of MurmurHash3_x86_32.
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(b"\xff\xff\xff\xff", 0), 0x7629_3b50);
        assert_eq!(murmur3_x86_32(b"\x21\x43\x65\x87", 0), 0xf55b_516b);
        assert_eq!(murmur3_x86_32(b"\x21\x43\x65", 0), 0x7e4a_8634);
        assert_eq!(murmur3_x86_32(b"\x21\x43", 0), 0xa0f7_b07a);
        assert_eq!(murmur3_x86_32(b"\x21", 0), 0x7266_1cf4);
        assert_eq!(murmur3_x86_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
    }

    #[test]
    fn counts_add_up_by_index_or_mark_presence() {
        let hash = Hash {
            input: String::new(),
            output: String::new(),
            num_features: 16,
            binary: false,
        };
        let terms: Vec<String> = ["a", "b", "a", "a"].iter().map(|s| s.to_string()).collect();
        let counts = hash.counts(&terms).unwrap();
        assert_eq!(counts.get(index_of("a", 16)), 3.0);
        assert_eq!(counts.num_actives(), 2);
        let binary = Hash {
            binary: true,
            ..hash
        };
        assert_eq!(binary.counts(&terms).unwrap().get(index_of("a", 16)), 1.0);
    }
}
