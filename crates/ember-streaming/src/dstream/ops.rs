//! Operations on every stream: transformations applied to each batch's RDD, and the output
//! operations that make a batch's jobs.

use super::{union_of, DStream, GraphNode};
use crate::output::{OutputJob, OutputOp};
use crate::time::Time;
use ember_core::{BoxIter, Data, Fn, Func, Key, Rdd, Result};
use std::sync::Arc;
use std::time::Duration;

impl<T: Data> DStream<T> {
    /// Applies `f` to every element.
    pub fn map<U: Data, F: Func<(T,), Output = U> + Clone>(&self, f: F) -> DStream<U> {
        self.derive_each("map", move |rdd| rdd.map(f.clone()))
    }

    /// Applies `f` to every element and flattens the results.
    pub fn flat_map<U: Data, I, F>(&self, f: F) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(T,), Output = I> + Clone,
    {
        self.derive_each("flat_map", move |rdd| rdd.flat_map(f.clone()))
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F: for<'a> Func<(&'a T,), Output = bool> + Clone>(&self, f: F) -> DStream<T> {
        self.derive_each("filter", move |rdd| rdd.filter(f.clone()))
    }

    /// Applies `f` to each partition of each batch.
    pub fn map_partitions<U: Data, I, F>(&self, f: F) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
        F: Func<(BoxIter<T>,), Output = I> + Clone,
    {
        self.derive_each("map_partitions", move |rdd| rdd.map_partitions(f.clone()))
    }

    /// Each partition of each batch as one vector.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.derive_each("glom", |rdd| rdd.glom())
    }

    /// Spreads each batch over `partitions` partitions.
    pub fn repartition(&self, partitions: usize) -> DStream<T> {
        self.derive_each("repartition", move |rdd| rdd.repartition(partitions))
    }

    /// Any RDD-to-RDD function of each batch, run on the driver when the batch is made: joins
    /// with a static RDD, operations DStreams lack (Spark's `transform`).
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(&Rdd<T>, Time) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive_each_at("transform", f)
    }

    /// A function of the batches of this stream and `other` at the same time (Spark's
    /// `transformWith`).
    ///
    /// # Panics
    /// The two streams have different slides.
    pub fn transform_with<U: Data, V: Data>(
        &self,
        other: &DStream<U>,
        f: impl Fn(&Rdd<T>, &Rdd<U>, Time) -> Rdd<V> + Send + Sync + 'static,
    ) -> DStream<V> {
        assert_same_slide(
            self.slide_duration(),
            other.slide_duration(),
            "transform_with",
        );
        let (a, b) = (self.node.clone(), other.node.clone());
        let ctx = self.ssc.context().clone();
        let others: Vec<Arc<dyn GraphNode>> = vec![other.node.clone()];
        self.derive(
            "transform_with",
            self.slide_duration(),
            Duration::ZERO,
            others,
            move |_, t| {
                let left = a.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
                let right = b.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
                Ok(Some(f(&left, &right, t)))
            },
        )
    }

    /// The elements of this stream and `other`, batch by batch.
    ///
    /// # Panics
    /// The two streams have different slides.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        assert_same_slide(self.slide_duration(), other.slide_duration(), "union");
        let parents = [self.node.clone(), other.node.clone()];
        let ctx = self.ssc.context().clone();
        let others: Vec<Arc<dyn GraphNode>> = vec![other.node.clone()];
        self.derive(
            "union",
            self.slide_duration(),
            Duration::ZERO,
            others,
            move |_, t| {
                let mut rdds = Vec::new();
                for parent in &parents {
                    rdds.extend(parent.get_or_compute(t)?);
                }
                Ok((!rdds.is_empty()).then(|| union_of(&ctx, rdds)))
            },
        )
    }

    /// One element per batch: its number of elements (0 for an empty batch).
    pub fn count(&self) -> DStream<u64> {
        let ctx = self.ssc.context().clone();
        self.derive_each("count", move |rdd| {
            rdd.map(Fn!(|_: T| ((), 1u64)))
                .union(&ctx.parallelize(vec![((), 0u64)], 1))
                .reduce_by_key_in(Fn!(|a: u64, b: u64| a + b), 1)
                .map(Fn!(|(_, n): ((), u64)| n))
        })
    }

    /// At most one element per batch: its elements combined by `f` (none for an empty batch).
    pub fn reduce<F: Func<(T, T), Output = T> + Clone>(&self, f: F) -> DStream<T> {
        self.derive_each("reduce", move |rdd| {
            rdd.map(Fn!(|x: T| ((), x)))
                .reduce_by_key_in(f.clone(), 1)
                .map(Fn!(|(_, x): ((), T)| x))
        })
    }

    /// Runs `f` on the driver with each batch's RDD and time: the output operation others are
    /// made of (Spark's `foreachRDD`). Nothing runs until `f` runs an action.
    ///
    /// # Panics
    /// The streaming context was started already: outputs are added before `start`.
    pub fn foreach_rdd(&self, f: impl Fn(&Rdd<T>, Time) -> Result<()> + Send + Sync + 'static) {
        let node = self.node.clone();
        let f = Arc::new(f);
        let op = OutputOp::new(self.node.clone(), move |t| {
            let f = f.clone();
            Ok(node
                .get_or_compute(t)?
                .map(|rdd| Box::new(move || f(&rdd, t)) as OutputJob))
        });
        self.ssc.register_output(op);
    }
}

impl<T: Data + std::fmt::Debug> DStream<T> {
    /// Prints the first `n` elements of each batch under a header with its time, as Spark's
    /// `print` does; elements show in their `Debug` form, strings bare.
    pub fn print(&self, n: usize) {
        self.foreach_rdd(move |rdd, t| {
            let first = rdd.take(n + 1)?;
            println!("-------------------------------------------");
            println!("Time: {t}");
            println!("-------------------------------------------");
            for x in first.iter().take(n) {
                let any: &dyn std::any::Any = x;
                match any.downcast_ref::<String>() {
                    Some(s) => println!("{s}"),
                    None => println!("{x:?}"),
                }
            }
            if first.len() > n {
                println!("...");
            }
            println!();
            Ok(())
        })
    }
}

impl<T: Data + std::fmt::Display> DStream<T> {
    /// Writes each batch as text files in the directory `{prefix}-{time in ms}[.{suffix}]`,
    /// through the commit protocol (Spark's `saveAsTextFiles`).
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str) {
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        self.foreach_rdd(move |rdd, t| rdd.save_as_text_file(&batch_directory(&prefix, &suffix, t)))
    }
}

impl<T: Key> DStream<T> {
    /// Each distinct element of each batch with its number of occurrences.
    pub fn count_by_value(&self) -> DStream<(T, u64)> {
        self.map(Fn!(|x: T| (x, 1u64)))
            .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
    }
}

/// The directory Spark's `saveAsTextFiles` names for batch `time`.
pub(crate) fn batch_directory(prefix: &str, suffix: &str, time: Time) -> String {
    if suffix.is_empty() {
        format!("{prefix}-{}", time.millis())
    } else {
        format!("{prefix}-{}.{suffix}", time.millis())
    }
}

pub(crate) fn assert_same_slide(a: Duration, b: Duration, what: &str) {
    assert_eq!(
        a, b,
        "{what} needs streams with the same slide duration, not {a:?} and {b:?}"
    );
}
