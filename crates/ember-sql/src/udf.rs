//! Scalar user-defined functions: Rust closures callable from SQL and DataFrame expressions by
//! name (Spark's `spark.udf.register`).
//!
//! A function takes and returns plain Rust values ([`UdfValue`]: `i64`, `f64`, `bool`,
//! `String`); it runs once per row over whole Arrow columns. As with Spark's UDFs of primitive
//! types, a row with a null argument gets a null result without calling the function.

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use std::sync::Arc;

/// A Rust type a UDF takes or returns, with its SQL type.
pub trait UdfValue: Sized + 'static {
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

/// The UDF `name` of one argument.
pub(crate) fn udf1<A: UdfValue, R: UdfValue>(
    name: &str,
    f: impl Fn(A) -> R + Send + Sync + 'static,
) -> ScalarUDF {
    let body = move |args: &[ColumnarValue]| {
        let rows = rows_of(args);
        let a = argument::<A>(&args[0], rows)?;
        let out = a.into_iter().map(|a| a.map(&f)).collect();
        Ok(ColumnarValue::Array(R::array(out)))
    };
    create_udf(
        name,
        vec![A::data_type()],
        R::data_type(),
        Volatility::Immutable,
        Arc::new(body),
    )
}

/// The UDF `name` of two arguments.
pub(crate) fn udf2<A: UdfValue, B: UdfValue, R: UdfValue>(
    name: &str,
    f: impl Fn(A, B) -> R + Send + Sync + 'static,
) -> ScalarUDF {
    let body = move |args: &[ColumnarValue]| {
        let rows = rows_of(args);
        let a = argument::<A>(&args[0], rows)?;
        let b = argument::<B>(&args[1], rows)?;
        let out = a.into_iter().zip(b).map(|(a, b)| Some(f(a?, b?))).collect();
        Ok(ColumnarValue::Array(R::array(out)))
    };
    let inputs = vec![A::data_type(), B::data_type()];
    create_udf(
        name,
        inputs,
        R::data_type(),
        Volatility::Immutable,
        Arc::new(body),
    )
}
