//! The bounds that elements and keys of an RDD must meet.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// What every RDD element must be: it crosses task (and later process) boundaries, so it is
/// serializable, and cached partitions hand out clones.
pub trait Data: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> Data for T {}

/// What a key of a pair RDD must be for hash partitioning and grouping.
pub trait Key: Data + Hash + Eq {}

impl<T: Data + Hash + Eq> Key for T {}

/// The serializable closures ember's transformations take: `Fn!(move |x: i32| x + k)`.
///
/// A closure written with the [`Fn!`](crate::Fn) macro captures only serializable values, so a
/// task that carries it can be shipped to another process of the same binary.
pub trait Func<Args>:
    serde_closure::traits::Fn<Args> + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<Args, F> Func<Args> for F where
    F: serde_closure::traits::Fn<Args> + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
