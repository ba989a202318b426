//! Scalar user-defined functions: Rust closures callable from SQL and DataFrame expressions by
//! name (Spark's `spark.udf.register`).
//!
//! A function takes and returns plain Rust values ([`UdfValue`]: `i64`, `f64`, `bool`,
//! `String`); it runs once per row over whole Arrow columns. As with Spark's UDFs of primitive
//! types, a row with a null argument gets a null result without calling the function.
//!
//! Functions are written with [`Fn!`](ember_core::Fn), like RDD closures, because they run on
//! executors too: a plan fragment that calls one carries the closure with it (see
//! [`UdfBody::ship`]), and the executor rebuilds it from this same binary.

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use ember_core::ship::{decode_as, Decoder, Shipped};
use ember_core::Func;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// A Rust type a UDF takes or returns, with its SQL type.
pub trait UdfValue: Sized + Send + Sync + 'static {
    /// Its SQL (Arrow) type; arguments of other types are cast to it, as SQL casts.
    fn data_type() -> DataType;
    /// The values of `array` (of [`data_type`](UdfValue::data_type)), `None` for nulls.
    fn column(array: &ArrayRef) -> Vec<Option<Self>>;
    /// An array of `values`.
    fn array(values: Vec<Option<Self>>) -> ArrayRef;
}

macro_rules! udf_value {
    ($rust:ty, $data_type:expr, $array:ty, |$v:ident| $get:expr) => {
        impl UdfValue for $rust {
            fn data_type() -> DataType {
                $data_type
            }
            fn column(array: &ArrayRef) -> Vec<Option<Self>> {
                match array.as_any().downcast_ref::<$array>() {
                    Some(typed) => typed.iter().map(|o| o.map(|$v| $get)).collect(),
                    None => vec![None; array.len()],
                }
            }
            fn array(values: Vec<Option<Self>>) -> ArrayRef {
                Arc::new(<$array>::from(values))
            }
        }
    };
}

udf_value!(i64, DataType::Int64, Int64Array, |v| v);
udf_value!(f64, DataType::Float64, Float64Array, |v| v);
udf_value!(bool, DataType::Boolean, BooleanArray, |v| v);
udf_value!(String, DataType::Utf8, StringArray, |v| v.to_string());

/// What a UDF computes, whatever the closure's type: callable here, shippable to executors.
pub(crate) trait UdfBody: Send + Sync {
    /// The result of one call over `args`.
    fn invoke(&self, args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError>;
    /// The body as bytes an executor of this binary rebuilds (see [`ember_core::ship`]).
    fn ship(&self) -> ember_core::Result<Shipped>;
}

/// The argument `value` as an array of `rows` rows of `A`'s type.
fn argument<A: UdfValue>(
    value: &ColumnarValue,
    rows: usize,
) -> Result<Vec<Option<A>>, DataFusionError> {
    let array = value.to_array(rows)?;
    let array = cast(&array, &A::data_type())?;
    Ok(A::column(&array))
}

/// How many rows a call covers: the length of its array arguments, 1 for scalars only.
fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(array) => Some(array.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn decode_body<B: UdfBody + serde::de::DeserializeOwned + 'static>(
    bytes: &[u8],
) -> ember_core::Result<Arc<dyn UdfBody>> {
    decode_as::<dyn UdfBody, B>(bytes, |b| Arc::new(b))
}

/// A function of one argument.
#[derive(Serialize, Deserialize)]
#[serde(bound = "F: Func<(A,), Output = R>")]
struct Unary<A, R, F> {
    f: F,
    #[serde(skip)]
    _types: PhantomData<fn(A) -> R>,
}

impl<A: UdfValue, R: UdfValue, F: Func<(A,), Output = R>> UdfBody for Unary<A, R, F> {
    fn invoke(&self, args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
        let rows = rows_of(args);
        let a = argument::<A>(&args[0], rows)?;
        let out = a.into_iter().map(|a| a.map(|a| self.f.call((a,))));
        Ok(ColumnarValue::Array(R::array(out.collect())))
    }
    fn ship(&self) -> ember_core::Result<Shipped> {
        Shipped::new(decode_body::<Self> as Decoder<dyn UdfBody>, self)
    }
}

/// A function of two arguments.
#[derive(Serialize, Deserialize)]
#[serde(bound = "F: Func<(A, B), Output = R>")]
struct Binary<A, B, R, F> {
    f: F,
    #[serde(skip)]
    _types: PhantomData<fn(A, B) -> R>,
}

impl<A: UdfValue, B: UdfValue, R: UdfValue, F: Func<(A, B), Output = R>> UdfBody
    for Binary<A, B, R, F>
{
    fn invoke(&self, args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
        let rows = rows_of(args);
        let a = argument::<A>(&args[0], rows)?;
        let b = argument::<B>(&args[1], rows)?;
        let out = a.into_iter().zip(b);
        let out = out.map(|(a, b)| Some(self.f.call((a?, b?))));
        Ok(ColumnarValue::Array(R::array(out.collect())))
    }
    fn ship(&self) -> ember_core::Result<Shipped> {
        Shipped::new(decode_body::<Self> as Decoder<dyn UdfBody>, self)
    }
}

/// A function of whole Arrow columns: for libraries whose functions take or return values
/// richer than [`UdfValue`]s (ember-ml's models, which read and write vector columns). It is
/// a value of a serde type, so that it travels with the plans that call it, as UDFs do; see
/// [`column_function`].
pub trait ColumnFunction: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// The type of the column it returns.
    fn return_type(&self) -> DataType;

    /// Its result for `args`, one array per argument, each of the same rows; as many rows out.
    ///
    /// # Errors
    /// A row it cannot take: the message stops the query.
    fn invoke(&self, args: &[ArrayRef]) -> Result<ArrayRef, String>;
}

/// `function` as a scalar function of arguments of exactly the types `inputs`, named `name`
/// in plans; call it on columns with [`ScalarUDF::call`]. Nothing is registered: each plan
/// that calls it carries it, to executors and into streaming queries alike.
///
/// ```
/// use datafusion::arrow::array::{ArrayRef, Float64Array, AsArray};
/// use datafusion::arrow::datatypes::{DataType, Float64Type};
/// use ember_core::Context;
/// use ember_sql::{col, column_function, ColumnFunction, SqlContextExt};
/// use serde::{Deserialize, Serialize};
/// use std::sync::Arc;
///
/// #[derive(Serialize, Deserialize)]
/// struct Scale(f64);
///
/// impl ColumnFunction for Scale {
///     fn return_type(&self) -> DataType {
///         DataType::Float64
///     }
///     fn invoke(&self, args: &[ArrayRef]) -> Result<ArrayRef, String> {
///         let xs = args[0].as_primitive::<Float64Type>();
///         Ok(Arc::new(xs.iter().map(|x| x.map(|x| x * self.0)).collect::<Float64Array>()))
///     }
/// }
///
/// let ctx = Context::with_master("local[1]").unwrap();
/// let df = ctx.sql("SELECT 1.5 AS x").unwrap();
/// let triple = column_function("triple", vec![DataType::Float64], Scale(3.0));
/// let out = df.select(vec![triple.call(vec![col("x")])]).unwrap();
/// assert_eq!(out.tab_rows(false).unwrap(), "4.5\n");
/// ```
pub fn column_function<F: ColumnFunction>(
    name: &str,
    inputs: Vec<DataType>,
    function: F,
) -> ScalarUDF {
    let returns = function.return_type();
    EmberUdf::udf(name, inputs, returns, Arc::new(Columns(function)))
}

/// A [`ColumnFunction`] as a UDF's body.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct Columns<F: ColumnFunction>(F);

impl<F: ColumnFunction> UdfBody for Columns<F> {
    fn invoke(&self, args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
        let rows = rows_of(args);
        let arrays = args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.0.invoke(&arrays).map_err(DataFusionError::Execution)?;
        Ok(ColumnarValue::Array(out))
    }
    fn ship(&self) -> ember_core::Result<Shipped> {
        Shipped::new(decode_body::<Self> as Decoder<dyn UdfBody>, self)
    }
}

/// A user's function as DataFusion calls it.
pub(crate) struct EmberUdf {
    name: String,
    signature: Signature,
    returns: DataType,
    body: Arc<dyn UdfBody>,
}

impl EmberUdf {
    fn udf(
        name: &str,
        inputs: Vec<DataType>,
        returns: DataType,
        body: Arc<dyn UdfBody>,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(EmberUdf {
            name: name.to_string(),
            signature: Signature::exact(inputs, Volatility::Immutable),
            returns,
            body,
        })
    }

    /// The function's wire form: its types and its shipped body.
    pub(crate) fn encode(&self) -> ember_core::Result<Vec<u8>> {
        let wire = UdfWire {
            inputs: exact_inputs(&self.signature),
            returns: self.returns.to_string(),
            body: self.body.ship()?,
        };
        Ok(bincode::serialize(&wire)?)
    }

    /// The function `name` rebuilt from [`encode`](Self::encode)'s bytes.
    pub(crate) fn decode(name: &str, bytes: &[u8]) -> Result<ScalarUDF, DataFusionError> {
        let wire: UdfWire = bincode::deserialize(bytes)
            .map_err(|e| DataFusionError::Internal(format!("UDF {name}: {e}")))?;
        let body = wire.body.open::<dyn UdfBody>().map_err(external)?;
        let parse = |t: &str| t.parse::<DataType>();
        let inputs = wire
            .inputs
            .iter()
            .map(|t| parse(t))
            .collect::<Result<_, _>>()?;
        Ok(EmberUdf::udf(name, inputs, parse(&wire.returns)?, body))
    }
}

fn external(e: ember_core::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The argument types of an exact signature, as text (Arrow's own notation).
fn exact_inputs(signature: &Signature) -> Vec<String> {
    match &signature.type_signature {
        datafusion::logical_expr::TypeSignature::Exact(types) => {
            types.iter().map(DataType::to_string).collect()
        }
        _ => Vec::new(),
    }
}

#[derive(Serialize, Deserialize)]
struct UdfWire {
    inputs: Vec<String>,
    returns: String,
    body: Shipped,
}

impl std::fmt::Debug for EmberUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmberUdf")
            .field("name", &self.name)
            .finish()
    }
}

// Two functions are the same when they are the same registration.
impl PartialEq for EmberUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.body, &other.body)
    }
}

impl Eq for EmberUdf {}

impl std::hash::Hash for EmberUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for EmberUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType, DataFusionError> {
        Ok(self.returns.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue, DataFusionError> {
        self.body.invoke(&args.args)
    }
}

/// The UDF `name` of one argument.
pub(crate) fn udf1<A: UdfValue, R: UdfValue, F: Func<(A,), Output = R>>(
    name: &str,
    f: F,
) -> ScalarUDF {
    let body = Unary::<A, R, F> {
        f,
        _types: PhantomData,
    };
    EmberUdf::udf(name, vec![A::data_type()], R::data_type(), Arc::new(body))
}

/// The UDF `name` of two arguments.
pub(crate) fn udf2<A: UdfValue, B: UdfValue, R: UdfValue, F: Func<(A, B), Output = R>>(
    name: &str,
    f: F,
) -> ScalarUDF {
    let body = Binary::<A, B, R, F> {
        f,
        _types: PhantomData,
    };
    let inputs = vec![A::data_type(), B::data_type()];
    EmberUdf::udf(name, inputs, R::data_type(), Arc::new(body))
}
