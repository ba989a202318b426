//! Orders of elements for the actions and sorts that take one (Spark's `Ordering[T]`).
//!
//! `min`, `max`, `top`, `take_ordered` and `sort_by` use a type's own [`Ord`]. Floats have none,
//! and a user may want another order, so each of those has a twin that takes an [`Order`]:
//! `min_by`, `max_by`, `top_by`, `take_ordered_by`. An `Order` is either a comparator written
//! with [`Fn!`](crate::Fn) (shipped to the executors like any closure) or one of the orders
//! here:
//!
//! - [`FloatOrder`]: `f64` and `f32` as Spark orders `Double` and `Float`.
//! - [`Natural`]: the type's [`Ord`]; [`Reversed`] turns any order around.
//!
//! Where a key must be [`Ord`] (the key of `sort_by` or `sort_by_key`, a [`RangePartitioner`]'s
//! bounds), wrap floats in [`TotalOrder`], which orders them as `FloatOrder` does.
//!
//! ```
//! use ember_core::order::{FloatOrder, TotalOrder};
//! use ember_core::{Context, Fn};
//! let ctx = Context::with_master("local[2]").unwrap();
//! let xs = ctx.parallelize(vec![2.5, f64::NAN, -1.0, 7.25], 2);
//! assert!(xs.max_by(FloatOrder).unwrap().is_nan(), "NaN is above every number, as in Spark");
//! assert_eq!(xs.min_by(FloatOrder).unwrap(), -1.0);
//! let by_magnitude = Fn!(|a: &f64, b: &f64| a.abs().total_cmp(&b.abs()));
//! assert_eq!(xs.filter(Fn!(|x: &f64| !x.is_nan())).top_by(1, by_magnitude).unwrap(), vec![7.25]);
//! let sorted = xs.sort_by(Fn!(|x: &f64| TotalOrder(*x)), true, 1).unwrap().collect().unwrap();
//! assert_eq!(&sorted[..3], &[-1.0, 2.5, 7.25]);
//! ```
//!
//! [`RangePartitioner`]: crate::RangePartitioner

use crate::data::Func;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// An order of `T`s that tasks can carry: a total order, consistent across calls.
pub trait Order<T>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Where `a` stands against `b`.
    fn compare(&self, a: &T, b: &T) -> Ordering;
}

/// A comparator closure: `Fn!(|a: &T, b: &T| a.len().cmp(&b.len()))`.
impl<T, F> Order<T> for F
where
    F: for<'a, 'b> Func<(&'a T, &'b T), Output = Ordering> + Clone,
{
    fn compare(&self, a: &T, b: &T) -> Ordering {
        self.call((a, b))
    }
}

/// The type's own [`Ord`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Natural;

impl<T: Ord> Order<T> for Natural {
    fn compare(&self, a: &T, b: &T) -> Ordering {
        a.cmp(b)
    }
}

/// The reverse of another order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversed<O>(pub O);

impl<T, O: Order<T>> Order<T> for Reversed<O> {
    fn compare(&self, a: &T, b: &T) -> Ordering {
        self.0.compare(b, a)
    }
}

/// Floats as Spark orders them (Java's `Double.compare`): every NaN equal to every other and
/// above all numbers, `+inf` included; `-0.0` below `0.0`; otherwise numeric order.
///
/// ```
/// use ember_core::order::{FloatOrder, Order};
/// use std::cmp::Ordering;
/// assert_eq!(FloatOrder.compare(&f64::NAN, &f64::INFINITY), Ordering::Greater);
/// assert_eq!(FloatOrder.compare(&-f64::NAN, &f64::NAN), Ordering::Equal);
/// assert_eq!(FloatOrder.compare(&-0.0f32, &0.0f32), Ordering::Less);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatOrder;

macro_rules! float_order {
    ($($t:ty),*) => {$(
        impl Order<$t> for FloatOrder {
            fn compare(&self, a: &$t, b: &$t) -> Ordering {
                match (a.is_nan(), b.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => a.total_cmp(b),
                }
            }
        }

        impl PartialEq for TotalOrder<$t> {
            fn eq(&self, other: &Self) -> bool {
                FloatOrder.compare(&self.0, &other.0) == Ordering::Equal
            }
        }

        impl Eq for TotalOrder<$t> {}

        impl PartialOrd for TotalOrder<$t> {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for TotalOrder<$t> {
            fn cmp(&self, other: &Self) -> Ordering {
                FloatOrder.compare(&self.0, &other.0)
            }
        }

        impl Hash for TotalOrder<$t> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                // Equal values hash alike: every NaN is one value.
                let bits = if self.0.is_nan() { <$t>::NAN.to_bits() } else { self.0.to_bits() };
                bits.hash(state);
            }
        }
    )*};
}

/// A float that is [`Ord`], [`Eq`] and [`Hash`] under [`FloatOrder`], so it can be a sort key, a
/// pair RDD's key or an element that `max` and `distinct` accept.
///
/// ```
/// use ember_core::order::TotalOrder;
/// let mut xs = vec![TotalOrder(1.5), TotalOrder(f64::NAN), TotalOrder(-0.0), TotalOrder(0.0)];
/// xs.sort();
/// assert_eq!(xs[..3], [TotalOrder(-0.0), TotalOrder(0.0), TotalOrder(1.5)]);
/// assert!(xs[3].0.is_nan());
/// ```
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TotalOrder<F>(pub F);

float_order!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_order_agrees_with_total_cmp_except_for_nan() {
        let xs = [-f64::INFINITY, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::INFINITY];
        for a in xs {
            for b in xs {
                assert_eq!(FloatOrder.compare(&a, &b), a.total_cmp(&b), "{a} {b}");
            }
            assert_eq!(FloatOrder.compare(&-f64::NAN, &a), Ordering::Greater);
        }
    }

    #[test]
    fn equal_totals_hash_alike() {
        let hash = |x: f64| crate::partitioner::key_hash(&TotalOrder(x));
        assert_eq!(hash(f64::NAN), hash(-f64::NAN));
        assert_eq!(TotalOrder(f64::NAN), TotalOrder(-f64::NAN));
        assert_ne!(TotalOrder(-0.0), TotalOrder(0.0));
    }
}
