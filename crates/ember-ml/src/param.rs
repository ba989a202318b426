//! Params: the named, documented settings of every stage, with Spark's names and defaults
//! (Spark's `org.apache.spark.ml.param.Params`).
//!
//! A stage declares its params once, as a slice of [`ParamSpec`]: name, doc, kind and the
//! values it accepts. Its [`Params`] hold a default per param that has one and the values the
//! user set. Setters never fail: a value out of range is reported by name when the stage runs
//! (`fit` or `transform`), as Spark reports it when the param is set, so that a builder chain
//! stays a chain.
//!
//! Saved stages carry both maps in their metadata (`paramMap` and `defaultParamMap`) in
//! Spark's JSON encoding of each kind ([`ParamValue::to_json`]): doubles always as JSON
//! doubles, NaN and infinities as strings, vectors and matrices as objects.

use crate::linalg::Vector;
use crate::{Error, Result};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// The value of a param.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Spark's `BooleanParam`.
    Bool(bool),
    /// Spark's `IntParam`.
    Int(i32),
    /// Spark's `LongParam`.
    Long(i64),
    /// Spark's `DoubleParam`.
    Double(f64),
    /// Spark's `Param[String]`.
    String(String),
    /// Spark's `StringArrayParam`.
    StringArray(Vec<String>),
    /// Spark's `DoubleArrayParam`.
    DoubleArray(Vec<f64>),
    /// Spark's `Param[Vector]`.
    Vector(Vector),
}

/// The kind of a param's values, which fixes its JSON encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `true` or `false`.
    Bool,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A double.
    Double,
    /// A string.
    String,
    /// An array of strings.
    StringArray,
    /// An array of doubles.
    DoubleArray,
    /// A vector.
    Vector,
}

/// Which values a param accepts (Spark's `ParamValidators`).
#[derive(Debug, Clone, Copy)]
pub enum Accepts {
    /// Any value of its kind.
    Any,
    /// Numbers at least this.
    AtLeast(f64),
    /// Numbers above this.
    Above(f64),
    /// Numbers in this closed range.
    Between(f64, f64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
}

/// A param as a stage declares it.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Spark's name, such as `regParam`.
    pub name: &'static str,
    /// What it sets, as `explain_params` prints it.
    pub doc: &'static str,
    /// The kind of its values.
    pub kind: ParamKind,
    /// Which values it accepts.
    pub accepts: Accepts,
    /// The Spark release that added it, as (major, minor): a default of a param newer than
    /// the format ember writes ([`crate::persist::SPARK_VERSION`]) is left out of saved
    /// files, which older Spark releases could not load.
    pub since: (u32, u32),
}

impl ParamSpec {
    /// A param of `kind` accepting any value of its kind.
    pub const fn new(name: &'static str, kind: ParamKind, doc: &'static str) -> ParamSpec {
        ParamSpec {
            name,
            doc,
            kind,
            accepts: Accepts::Any,
            since: (0, 0),
        }
    }

    /// This param, added in Spark `major.minor`.
    pub const fn since(self, major: u32, minor: u32) -> ParamSpec {
        ParamSpec {
            since: (major, minor),
            ..self
        }
    }

    /// This param, accepting only `accepts`.
    pub const fn accepting(self, accepts: Accepts) -> ParamSpec {
        ParamSpec { accepts, ..self }
    }

    /// Whether `value` is of this param's kind and accepted, or why not.
    fn check(&self, value: &ParamValue) -> Result<()> {
        if value.kind() != self.kind {
            return Err(Error::Input(format!(
                "param {} takes a {:?}, not {value:?}",
                self.name, self.kind
            )));
        }
        let number = match value {
            ParamValue::Int(v) => Some(f64::from(*v)),
            ParamValue::Long(v) => Some(*v as f64),
            ParamValue::Double(v) => Some(*v),
            _ => None,
        };
        let accepted = match (self.accepts, number, value) {
            (Accepts::Any, _, _) => true,
            (Accepts::AtLeast(low), Some(v), _) => v >= low,
            (Accepts::Above(low), Some(v), _) => v > low,
            (Accepts::Between(low, high), Some(v), _) => (low..=high).contains(&v),
            (Accepts::OneOf(choices), _, ParamValue::String(s)) => choices.contains(&s.as_str()),
            _ => false,
        };
        if accepted {
            Ok(())
        } else {
            Err(Error::Input(format!(
                "param {} given {} but it must be {}",
                self.name,
                value.shown(),
                self.accepts.describe()
            )))
        }
    }
}

impl Accepts {
    fn describe(&self) -> String {
        match self {
            Accepts::Any => "of its kind".to_string(),
            Accepts::AtLeast(low) => format!(">= {low}"),
            Accepts::Above(low) => format!("> {low}"),
            Accepts::Between(low, high) => format!("in [{low}, {high}]"),
            Accepts::OneOf(choices) => format!("one of {}", choices.join(", ")),
        }
    }
}

impl ParamValue {
    /// Its kind.
    pub fn kind(&self) -> ParamKind {
        match self {
            ParamValue::Bool(_) => ParamKind::Bool,
            ParamValue::Int(_) => ParamKind::Int,
            ParamValue::Long(_) => ParamKind::Long,
            ParamValue::Double(_) => ParamKind::Double,
            ParamValue::String(_) => ParamKind::String,
            ParamValue::StringArray(_) => ParamKind::StringArray,
            ParamValue::DoubleArray(_) => ParamKind::DoubleArray,
            ParamValue::Vector(_) => ParamKind::Vector,
        }
    }

    /// The value in Spark's JSON encoding of its kind (`Param.jsonEncode`).
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Bool(v) => Value::Bool(*v),
            ParamValue::Int(v) => Value::from(*v),
            ParamValue::Long(v) => Value::from(*v),
            ParamValue::Double(v) => double_to_json(*v),
            ParamValue::String(v) => Value::String(v.clone()),
            ParamValue::StringArray(v) => Value::from(v.clone()),
            ParamValue::DoubleArray(v) => {
                Value::Array(v.iter().map(|&d| double_to_json(d)).collect())
            }
            ParamValue::Vector(v) => vector_to_json(v),
        }
    }

    /// A value of `kind` from Spark's JSON encoding (`Param.jsonDecode`).
    ///
    /// # Errors
    /// `json` does not encode a value of `kind`.
    pub fn from_json(kind: ParamKind, json: &Value) -> Result<ParamValue> {
        let bad = || Error::Input(format!("{json} is not a {kind:?} param value"));
        Ok(match kind {
            ParamKind::Bool => ParamValue::Bool(json.as_bool().ok_or_else(bad)?),
            ParamKind::Int => {
                let v = json.as_i64().and_then(|v| i32::try_from(v).ok());
                ParamValue::Int(v.ok_or_else(bad)?)
            }
            ParamKind::Long => ParamValue::Long(json.as_i64().ok_or_else(bad)?),
            ParamKind::Double => ParamValue::Double(double_from_json(json).ok_or_else(bad)?),
            ParamKind::String => ParamValue::String(json.as_str().ok_or_else(bad)?.to_string()),
            ParamKind::StringArray => {
                let items = json.as_array().ok_or_else(bad)?;
                let strings = items.iter().map(|s| s.as_str().map(str::to_string));
                ParamValue::StringArray(strings.collect::<Option<_>>().ok_or_else(bad)?)
            }
            ParamKind::DoubleArray => {
                let items = json.as_array().ok_or_else(bad)?;
                let doubles = items.iter().map(double_from_json);
                ParamValue::DoubleArray(doubles.collect::<Option<_>>().ok_or_else(bad)?)
            }
            ParamKind::Vector => ParamValue::Vector(vector_from_json(json).ok_or_else(bad)?),
        })
    }

    /// The value as `explain_params` prints it.
    fn shown(&self) -> String {
        match self {
            ParamValue::String(s) => s.clone(),
            other => other.to_json().to_string(),
        }
    }
}

/// A double as Spark writes it: a JSON double (never an integer literal, which Spark's
/// reader refuses), NaN and the infinities as strings.
fn double_to_json(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v.is_infinite() {
        Value::from(if v > 0.0 { "Inf" } else { "-Inf" })
    } else {
        Value::Number(Number::from_f64(v).expect("a finite double"))
    }
}

fn double_from_json(json: &Value) -> Option<f64> {
    match json {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "NaN" => Some(f64::NAN),
        Value::String(s) if s == "Inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-Inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Spark's `JsonVectorConverter`: `{"type":1,"values":[..]}` for dense vectors,
/// `{"type":0,"size":n,"indices":[..],"values":[..]}` for sparse ones.
fn vector_to_json(v: &Vector) -> Value {
    let values = |vs: &[f64]| Value::Array(vs.iter().map(|&d| double_to_json(d)).collect());
    match v {
        Vector::Dense(d) => serde_json::json!({"type": 1, "values": values(d.values())}),
        Vector::Sparse(s) => serde_json::json!({
            "type": 0, "size": s.size(), "indices": s.indices(), "values": values(s.values())
        }),
    }
}

fn vector_from_json(json: &Value) -> Option<Vector> {
    let values: Vec<f64> = json["values"]
        .as_array()?
        .iter()
        .map(double_from_json)
        .collect::<Option<_>>()?;
    match json["type"].as_i64()? {
        1 => Some(crate::linalg::Vectors::dense(values)),
        0 => {
            let size = usize::try_from(json["size"].as_u64()?).ok()?;
            let indices = json["indices"].as_array()?;
            let indices: Vec<u32> = indices
                .iter()
                .map(|i| i.as_u64().and_then(|i| u32::try_from(i).ok()))
                .collect::<Option<_>>()?;
            crate::linalg::Vectors::sparse(size, indices, values).ok()
        }
        _ => None,
    }
}

/// A stage's params: its uid, the params it has, their defaults and what the user set.
#[derive(Debug, Clone)]
pub struct Params {
    uid: String,
    specs: &'static [ParamSpec],
    defaults: BTreeMap<&'static str, ParamValue>,
    set: BTreeMap<&'static str, ParamValue>,
}

impl Params {
    /// The params `specs` of a new stage whose uid starts with `prefix` (Spark's
    /// `Identifiable.randomUID`: the prefix, `_`, and 12 hex digits).
    pub fn new(prefix: &str, specs: &'static [ParamSpec]) -> Params {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Params::with_uid(format!("{prefix}_{}", &random[random.len() - 12..]), specs)
    }

    /// The params `specs` of the stage `uid`.
    pub fn with_uid(uid: String, specs: &'static [ParamSpec]) -> Params {
        Params {
            uid,
            specs,
            defaults: BTreeMap::new(),
            set: BTreeMap::new(),
        }
    }

    /// These params under the uid `uid` (a loaded stage's).
    pub fn renamed(self, uid: String) -> Params {
        Params { uid, ..self }
    }

    /// The stage's unique id.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The params the stage has.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    /// Gives param `name` the default `value`.
    ///
    /// # Panics
    /// The stage has no param `name`: a stage declares its defaults with its params.
    pub fn default(mut self, name: &str, value: ParamValue) -> Params {
        let spec = self.spec(name).expect("a default for a declared param");
        self.defaults.insert(spec.name, value);
        self
    }

    /// Sets param `name` to `value`; the value is checked when the stage runs
    /// ([`Params::validate`]).
    ///
    /// # Panics
    /// The stage has no param `name`: stages set only their own params.
    pub fn set(&mut self, name: &str, value: ParamValue) {
        let spec = self.spec(name).expect("a declared param");
        self.set.insert(spec.name, value);
    }

    /// Forgets the value set for `name`, leaving its default (Spark's `clear`).
    pub fn clear(&mut self, name: &str) {
        self.set.remove(name);
    }

    /// Whether the user set `name`.
    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// The value of `name`: what was set, else its default.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.set.get(name).or_else(|| self.defaults.get(name))
    }

    /// The double `name`.
    ///
    /// # Panics
    /// `name` is not a double param with a value: a stage reads only its own params.
    pub fn double(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(ParamValue::Double(v)) => *v,
            other => panic!("param {name} is not a double with a value: {other:?}"),
        }
    }

    /// The int `name`.
    ///
    /// # Panics
    /// `name` is not an int param with a value.
    pub fn int(&self, name: &str) -> i32 {
        match self.get(name) {
            Some(ParamValue::Int(v)) => *v,
            other => panic!("param {name} is not an int with a value: {other:?}"),
        }
    }

    /// The long `name`.
    ///
    /// # Panics
    /// `name` is not a long param with a value.
    pub fn long(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(ParamValue::Long(v)) => *v,
            other => panic!("param {name} is not a long with a value: {other:?}"),
        }
    }

    /// The boolean `name`.
    ///
    /// # Panics
    /// `name` is not a boolean param with a value.
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Some(ParamValue::Bool(v)) => *v,
            other => panic!("param {name} is not a boolean with a value: {other:?}"),
        }
    }

    /// The string `name`, if it has a value.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(ParamValue::String(v)) => Some(v),
            _ => None,
        }
    }

    /// The string array `name`, if it has a value.
    pub fn strings(&self, name: &str) -> Option<&[String]> {
        match self.get(name) {
            Some(ParamValue::StringArray(v)) => Some(v),
            _ => None,
        }
    }

    /// Checks every value set against what its param accepts.
    ///
    /// # Errors
    /// A value out of range, naming the param, the value and the range.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in &self.set {
            self.spec(name)
                .expect("set params are declared")
                .check(value)?;
        }
        Ok(())
    }

    /// Every param, one a line: its name, doc, default and current value (Spark's
    /// `explainParams`).
    pub fn explain(&self) -> String {
        let mut lines = Vec::with_capacity(self.specs.len());
        for spec in self.specs {
            let default = self.defaults.get(spec.name).map(ParamValue::shown);
            let current = self.set.get(spec.name).map(ParamValue::shown);
            let values = match (default, current) {
                (Some(d), Some(c)) => format!("default: {d}, current: {c}"),
                (Some(d), None) => format!("default: {d}"),
                (None, Some(c)) => format!("current: {c}"),
                (None, None) => "undefined".to_string(),
            };
            lines.push(format!("{}: {} ({values})", spec.name, spec.doc));
        }
        lines.join("\n")
    }

    /// The values set, as a saved stage's `paramMap`.
    pub fn set_json(&self) -> Map<String, Value> {
        to_json_map(&self.set)
    }

    /// The defaults, as a saved stage's `defaultParamMap`: those of the params Spark had by
    /// the release whose format is written.
    pub fn defaults_json(&self) -> Map<String, Value> {
        let format = crate::persist::format_version();
        let known = |name: &&str| self.spec(name).is_some_and(|s| s.since <= format);
        self.defaults
            .iter()
            .filter(|(name, _)| known(name))
            .map(|(name, value)| (name.to_string(), value.to_json()))
            .collect()
    }

    /// Sets the params of a saved stage's `paramMap`, and takes its `defaultParamMap` over
    /// the stage's own defaults (Spark's `getAndSetParams`).
    ///
    /// # Errors
    /// A param the stage does not have, or a value not of its param's kind.
    pub fn load_json(
        &mut self,
        set: &Map<String, Value>,
        defaults: &Map<String, Value>,
    ) -> Result<()> {
        for (name, json) in set {
            let spec = self.known(name)?;
            self.set
                .insert(spec.name, ParamValue::from_json(spec.kind, json)?);
        }
        for (name, json) in defaults {
            let spec = self.known(name)?;
            self.defaults
                .insert(spec.name, ParamValue::from_json(spec.kind, json)?);
        }
        self.validate()
    }

    /// The values of every param `other` also has, set where they were set here and default
    /// where they were default (Spark's `copyValues`: how a model takes its estimator's
    /// params).
    pub fn copy_to(&self, mut other: Params) -> Params {
        for (name, value) in &self.defaults {
            if let Some(spec) = other.spec(name) {
                other.defaults.insert(spec.name, value.clone());
            }
        }
        for (name, value) in &self.set {
            if let Some(spec) = other.spec(name) {
                other.set.insert(spec.name, value.clone());
            }
        }
        other
    }

    pub(crate) fn spec(&self, name: &str) -> Option<&'static ParamSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    fn known(&self, name: &str) -> Result<&'static ParamSpec> {
        self.spec(name)
            .ok_or_else(|| Error::Input(format!("stage {} has no param {name}", self.uid)))
    }
}

fn to_json_map(values: &BTreeMap<&'static str, ParamValue>) -> Map<String, Value> {
    values
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_json()))
        .collect()
}

/// A builder-style setter of a stage's param: `setter!(/// doc, set_x, "x", f64,
/// ParamValue::Double)` sets param `x` to the value made by the last argument.
macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $param:literal, $ty:ty, $value:expr) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            #[allow(clippy::redundant_closure_call)]
            self.params.set($param, ($value)(value));
            self
        }
    };
}
pub(crate) use setter;

/// Values for params of named stages (Spark's `ParamMap`): each value names its stage by uid,
/// so one map can set params of several stages of a pipeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamMap {
    entries: Vec<(String, &'static str, ParamValue)>,
}

impl ParamMap {
    /// An empty map.
    pub fn new() -> ParamMap {
        ParamMap::default()
    }

    /// This map with param `name` of the stage whose params are `stage` set to `value` (an
    /// earlier value of the same param is replaced).
    ///
    /// # Errors
    /// The stage has no param `name`, or `value` is not of its kind.
    pub fn put(mut self, stage: &Params, name: &str, value: ParamValue) -> Result<ParamMap> {
        let spec = stage.spec(name).ok_or_else(|| {
            Error::Input(format!(
                "stage {} has no param {name}; its params are: {}",
                stage.uid(),
                stage
                    .specs()
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if value.kind() != spec.kind {
            return Err(Error::Input(format!(
                "param {name} takes a {:?}, not {value:?}",
                spec.kind
            )));
        }
        self.entries
            .retain(|(uid, n, _)| !(uid == stage.uid() && *n == spec.name));
        self.entries
            .push((stage.uid().to_string(), spec.name, value));
        Ok(self)
    }

    /// Sets in `params` the values this map holds for their stage.
    pub fn apply_to(&self, params: &mut Params) {
        for (uid, name, value) in &self.entries {
            if uid == params.uid() {
                params.set(name, value.clone());
            }
        }
    }

    /// The (stage uid, param name, value) triples.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &ParamValue)> {
        self.entries.iter().map(|(u, n, v)| (u.as_str(), *n, v))
    }
}

/// The params most stages share, with Spark's docs.
pub(crate) mod shared {
    use super::{Accepts, ParamKind, ParamSpec};

    pub(crate) const FEATURES_COL: ParamSpec =
        ParamSpec::new("featuresCol", ParamKind::String, "features column name");
    pub(crate) const LABEL_COL: ParamSpec =
        ParamSpec::new("labelCol", ParamKind::String, "label column name");
    pub(crate) const PREDICTION_COL: ParamSpec =
        ParamSpec::new("predictionCol", ParamKind::String, "prediction column name");
    pub(crate) const RAW_PREDICTION_COL: ParamSpec = ParamSpec::new(
        "rawPredictionCol",
        ParamKind::String,
        "raw prediction (a.k.a. confidence) column name",
    );
    pub(crate) const PROBABILITY_COL: ParamSpec = ParamSpec::new(
        "probabilityCol",
        ParamKind::String,
        "Column name for predicted class conditional probabilities. Note: Not all models \
         output well-calibrated probability estimates! These probabilities should be treated \
         as confidences, not precise probabilities",
    );
    pub(crate) const WEIGHT_COL: ParamSpec = ParamSpec::new(
        "weightCol",
        ParamKind::String,
        "weight column name. If this is not set or empty, we treat all instance weights as 1.0",
    );
    pub(crate) const INPUT_COL: ParamSpec =
        ParamSpec::new("inputCol", ParamKind::String, "input column name");
    pub(crate) const INPUT_COLS: ParamSpec =
        ParamSpec::new("inputCols", ParamKind::StringArray, "input column names");
    pub(crate) const OUTPUT_COL: ParamSpec =
        ParamSpec::new("outputCol", ParamKind::String, "output column name");
    pub(crate) const MAX_ITER: ParamSpec = ParamSpec::new(
        "maxIter",
        ParamKind::Int,
        "maximum number of iterations (>= 0)",
    )
    .accepting(Accepts::AtLeast(0.0));
    pub(crate) const TOL: ParamSpec = ParamSpec::new(
        "tol",
        ParamKind::Double,
        "the convergence tolerance for iterative algorithms (>= 0)",
    )
    .accepting(Accepts::AtLeast(0.0));
    pub(crate) const REG_PARAM: ParamSpec = ParamSpec::new(
        "regParam",
        ParamKind::Double,
        "regularization parameter (>= 0)",
    )
    .accepting(Accepts::AtLeast(0.0));
    pub(crate) const ELASTIC_NET_PARAM: ParamSpec = ParamSpec::new(
        "elasticNetParam",
        ParamKind::Double,
        "the ElasticNet mixing parameter, in range [0, 1]. For alpha = 0, the penalty is an L2 \
         penalty. For alpha = 1, it is an L1 penalty",
    )
    .accepting(Accepts::Between(0.0, 1.0));
    pub(crate) const FIT_INTERCEPT: ParamSpec = ParamSpec::new(
        "fitIntercept",
        ParamKind::Bool,
        "whether to fit an intercept term",
    );
    pub(crate) const STANDARDIZATION: ParamSpec = ParamSpec::new(
        "standardization",
        ParamKind::Bool,
        "whether to standardize the training features before fitting the model",
    );
    pub(crate) const AGGREGATION_DEPTH: ParamSpec = ParamSpec::new(
        "aggregationDepth",
        ParamKind::Int,
        "suggested depth for treeAggregate (>= 2)",
    )
    .accepting(Accepts::AtLeast(2.0));
    pub(crate) const MAX_BLOCK_SIZE_IN_MB: ParamSpec = ParamSpec::new(
        "maxBlockSizeInMB",
        ParamKind::Double,
        "Maximum memory in MB for stacking input data into blocks. Data is stacked within \
         partitions. If more than remaining data size in a partition then it is adjusted to \
         the data size. Default 0.0 represents choosing optimal value, depends on specific \
         algorithm. Must be >= 0.",
    )
    .accepting(Accepts::AtLeast(0.0));
    pub(crate) const INTERMEDIATE_STORAGE_LEVEL: ParamSpec = ParamSpec::new(
        "intermediateStorageLevel",
        ParamKind::String,
        "StorageLevel for intermediate datasets. Cannot be 'NONE'.",
    )
    .accepting(Accepts::OneOf(&[
        "MEMORY_ONLY",
        "MEMORY_ONLY_SER",
        "MEMORY_AND_DISK",
        "MEMORY_AND_DISK_SER",
        "DISK_ONLY",
    ]))
    .since(4, 3);
    pub(crate) const SEED: ParamSpec = ParamSpec::new("seed", ParamKind::Long, "random seed");
    pub(crate) const HANDLE_INVALID_ASSEMBLER: ParamSpec = ParamSpec::new(
        "handleInvalid",
        ParamKind::String,
        "Param for how to handle invalid data (NULL and NaN values). Options are 'skip' (filter \
         out rows with invalid data), 'error' (throw an error), or 'keep' (return relevant \
         number of NaN in the output). Column lengths are taken from the size of ML Attribute \
         Group, which can be set using `VectorSizeHint` in a pipeline before \
         `VectorAssembler`. Column lengths can also be inferred from first rows of the data \
         since it is safe to do so but only in case of 'error' or 'skip'.",
    )
    .accepting(Accepts::OneOf(&["skip", "error", "keep"]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Vectors;

    const SPECS: &[ParamSpec] = &[shared::REG_PARAM, shared::MAX_ITER, shared::FEATURES_COL];

    fn params() -> Params {
        Params::new("demo", SPECS)
            .default("regParam", ParamValue::Double(0.0))
            .default("maxIter", ParamValue::Int(100))
            .default("featuresCol", ParamValue::String("features".into()))
    }

    #[test]
    fn uids_are_the_prefix_and_twelve_hex_digits() {
        let uid = params().uid().to_string();
        let (prefix, hex) = uid.split_once('_').unwrap();
        assert_eq!(prefix, "demo");
        assert_eq!(hex.len(), 12);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{uid}");
        assert_ne!(uid, params().uid());
    }

    #[test]
    fn doubles_are_written_as_spark_reads_them() {
        assert_eq!(ParamValue::Double(0.0).to_json().to_string(), "0.0");
        assert_eq!(ParamValue::Double(1e-6).to_json().to_string(), "1e-6");
        assert_eq!(ParamValue::Double(f64::NAN).to_json(), Value::from("NaN"));
        assert_eq!(
            ParamValue::Double(f64::NEG_INFINITY).to_json(),
            Value::from("-Inf")
        );
        let back = ParamValue::from_json(ParamKind::Double, &Value::from("Inf")).unwrap();
        assert_eq!(back, ParamValue::Double(f64::INFINITY));
        // An int param refuses a double, as Spark's reader does.
        assert!(ParamValue::from_json(ParamKind::Int, &serde_json::json!(1.5)).is_err());
    }

    #[test]
    fn vectors_take_sparks_json_form() {
        let sparse = ParamValue::Vector(Vectors::sparse(4, vec![1, 3], vec![2.0, -1.0]).unwrap());
        let json = sparse.to_json();
        assert_eq!(
            json.to_string(),
            r#"{"indices":[1,3],"size":4,"type":0,"values":[2.0,-1.0]}"#
        );
        assert_eq!(
            ParamValue::from_json(ParamKind::Vector, &json).unwrap(),
            sparse
        );
        let dense = ParamValue::Vector(Vectors::dense(vec![0.5]));
        assert_eq!(
            ParamValue::from_json(ParamKind::Vector, &dense.to_json()).unwrap(),
            dense
        );
    }

    #[test]
    fn values_set_are_checked_when_the_stage_runs() {
        let mut p = params();
        p.set("regParam", ParamValue::Double(-0.5));
        let err = p.validate().unwrap_err().to_string();
        assert_eq!(err, "param regParam given -0.5 but it must be >= 0");
        p.set("regParam", ParamValue::Double(0.5));
        p.validate().unwrap();
        assert_eq!(p.double("regParam"), 0.5);
        p.clear("regParam");
        assert_eq!(p.double("regParam"), 0.0);
    }

    #[test]
    fn explain_prints_each_param_with_its_default_and_value() {
        let mut p = params();
        p.set("maxIter", ParamValue::Int(10));
        assert_eq!(
            p.explain(),
            "regParam: regularization parameter (>= 0) (default: 0.0)\n\
             maxIter: maximum number of iterations (>= 0) (default: 100, current: 10)\n\
             featuresCol: features column name (default: features)"
        );
    }

    #[test]
    fn defaults_of_params_newer_than_the_written_format_stay_out_of_files() {
        const NEWER: &[ParamSpec] = &[shared::TOL, shared::INTERMEDIATE_STORAGE_LEVEL];
        let mut p = Params::new("demo", NEWER)
            .default("tol", ParamValue::Double(1e-4))
            .default(
                "intermediateStorageLevel",
                ParamValue::String("MEMORY_AND_DISK".into()),
            );
        let defaults = p.defaults_json();
        assert_eq!(defaults.keys().collect::<Vec<_>>(), ["tol"]);
        // Set by the user, it is written: only a Spark that has it can take the stage.
        p.set(
            "intermediateStorageLevel",
            ParamValue::String("DISK_ONLY".into()),
        );
        assert_eq!(p.set_json()["intermediateStorageLevel"], "DISK_ONLY");
    }

    #[test]
    fn saved_maps_load_back_and_unknown_params_are_named() {
        let mut p = params();
        p.set("maxIter", ParamValue::Int(7));
        let mut q = Params::with_uid(p.uid().to_string(), SPECS);
        q.load_json(&p.set_json(), &p.defaults_json()).unwrap();
        assert_eq!(q.int("maxIter"), 7);
        assert_eq!(q.double("regParam"), 0.0);
        assert!(q.is_set("maxIter") && !q.is_set("regParam"));
        let mut unknown = Map::new();
        unknown.insert("k".into(), Value::from(3));
        let err = q.load_json(&unknown, &Map::new()).unwrap_err().to_string();
        assert!(err.contains("has no param k"), "{err}");
    }
}
