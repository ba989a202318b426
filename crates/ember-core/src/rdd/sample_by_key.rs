//! Stratified samples of pair RDDs: each key sampled at its own rate (Spark's `sampleByKey` and
//! `sampleByKeyExact`).
//!
//! `sample_by_key` decides element by element, in one pass and no job: each pair is kept with its
//! key's probability (or repeated a Poisson number of times, with replacement), so a key's sample
//! size is only expected to be `fraction * count`.
//!
//! `sample_by_key_exact` takes exactly `ceil(fraction * count)` pairs of each key. A first job
//! counts each key's pairs in each partition; the driver then draws, with the seed, which
//! positions of each key are taken (distinct ones, or with repeats), and the sampling tasks keep
//! the pairs at those positions. The drawn positions travel with the tasks, so the driver must
//! hold the sample's positions: fine for samples, not for fractions near 1 of huge RDDs.

use super::actions::CountByKeyFn;
use super::map_partitions::{partition_rng, poisson, PartitionOp};
use super::{BoxIter, Rdd};
use crate::data::{Data, Key};
use crate::error::{Error, Result};
use crate::task_context::abort;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// A sample with a rate per key: each pair of key `k` kept with probability `fractions[k]`
    /// or, `with_replacement`, repeated a Poisson(`fractions[k]`) number of times. The same seed
    /// gives the same sample.
    ///
    /// ```
    /// # use ember_core::Context;
    /// # use std::collections::HashMap;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// let pairs = ctx.parallelize((0..1000).map(|i| (i % 2, i)).collect::<Vec<_>>(), 4);
    /// let fractions = HashMap::from([(0, 0.0), (1, 1.0)]);
    /// let sample = pairs.sample_by_key(false, fractions, 7).unwrap().collect().unwrap();
    /// assert_eq!(sample.len(), 500);
    /// assert!(sample.iter().all(|(k, _)| *k == 1));
    /// ```
    ///
    /// # Errors
    /// A fraction is negative or not a number, or above 1 without replacement. A key missing
    /// from `fractions` fails the job that meets it.
    pub fn sample_by_key(
        &self,
        with_replacement: bool,
        fractions: HashMap<K, f64>,
        seed: u64,
    ) -> Result<Rdd<(K, V)>> {
        check_fractions(&fractions, with_replacement)?;
        let op = SampleByKeyOp {
            with_replacement,
            fractions: fractions.into_iter().collect(),
            seed,
        };
        Ok(self.with_op_keeping_partitioner("sample_by_key", op))
    }

    /// A sample of exactly `ceil(fractions[k] * count of k)` pairs of each key `k` (Spark's
    /// `sampleByKeyExact`), distinct pairs or, `with_replacement`, pairs drawn with repeats. Runs
    /// a job to count the keys; see the module's notes on memory.
    ///
    /// # Errors
    /// As [`sample_by_key`](Self::sample_by_key); also a key of the RDD missing from
    /// `fractions`, or the counting job failed.
    pub fn sample_by_key_exact(
        &self,
        with_replacement: bool,
        fractions: HashMap<K, f64>,
        seed: u64,
    ) -> Result<Rdd<(K, V)>> {
        check_fractions(&fractions, with_replacement)?;
        let counts = self
            .context()
            .run_job(self, CountByKeyFn::<V>::default(), None)?;
        let picks = draw_positions(&counts, &fractions, with_replacement, seed)?;
        let op = TakePositionsOp { picks };
        Ok(self.with_op_keeping_partitioner("sample_by_key_exact", op))
    }
}

fn check_fractions<K>(fractions: &HashMap<K, f64>, with_replacement: bool) -> Result<()> {
    let bad = fractions
        .values()
        .find(|f| !f.is_finite() || **f < 0.0 || (!with_replacement && **f > 1.0));
    match bad {
        None => Ok(()),
        Some(f) => Err(Error::Input(format!(
            "sample_by_key fractions must be between 0 and 1 without replacement, or at least 0 \
             with it; got {f}"
        ))),
    }
}

fn missing_key() -> Error {
    Error::Input(
        "a key of the RDD has no fraction in sample_by_key's fractions: give every key one \
         (0.0 to leave it out)"
            .into(),
    )
}

/// `sample_by_key`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "K: Key")]
struct SampleByKeyOp<K: Key> {
    with_replacement: bool,
    fractions: FxHashMap<K, f64>,
    seed: u64,
}

impl<K: Key, V: Data> PartitionOp<(K, V), (K, V)> for SampleByKeyOp<K> {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, V)> {
        let mut rng = partition_rng(self.seed, partition);
        Box::new(input.flat_map(move |(k, v)| {
            let fraction = *self
                .fractions
                .get(&k)
                .unwrap_or_else(|| abort(missing_key()));
            let copies = if self.with_replacement {
                poisson(&mut rng, fraction)
            } else {
                usize::from(rng.random::<f64>() < fraction)
            };
            std::iter::repeat_n((k, v), copies)
        }))
    }
}

/// Per partition, per key: the positions among that key's pairs in that partition that are
/// taken, and how many times each.
type Picks<K> = Vec<FxHashMap<K, FxHashMap<u64, u32>>>;

/// Draws each key's positions over the whole RDD and splits them by partition.
fn draw_positions<K: Key>(
    counts: &[Vec<(K, u64)>],
    fractions: &HashMap<K, f64>,
    with_replacement: bool,
    seed: u64,
) -> Result<Picks<K>> {
    // Each key's partitions in order, with the number of its pairs in each.
    let mut by_key: FxHashMap<&K, Vec<(usize, u64)>> = FxHashMap::default();
    for (partition, part) in counts.iter().enumerate() {
        for (k, n) in part {
            by_key.entry(k).or_default().push((partition, *n));
        }
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut picks: Picks<K> = vec![FxHashMap::default(); counts.len()];
    // Keys in a fixed order, so that the seed alone decides the sample.
    let mut keys: Vec<&K> = by_key.keys().copied().collect();
    keys.sort_by_key(crate::partitioner::key_hash);
    for k in keys {
        let fraction = *fractions.get(k).ok_or_else(missing_key)?;
        let spans = &by_key[k];
        let total: u64 = spans.iter().map(|s| s.1).sum();
        let wanted = (fraction * total as f64).ceil() as u64;
        for position in draw(&mut rng, total, wanted, with_replacement) {
            let (partition, local) = locate(spans, position);
            *picks[partition]
                .entry(k.clone())
                .or_default()
                .entry(local)
                .or_default() += 1;
        }
    }
    Ok(picks)
}

/// `wanted` positions in `0..total`: distinct ones, or with repeats.
fn draw(rng: &mut impl Rng, total: u64, wanted: u64, with_replacement: bool) -> Vec<u64> {
    if with_replacement {
        (0..wanted).map(|_| rng.random_range(0..total)).collect()
    } else {
        let wanted = wanted.min(total) as usize;
        rand::seq::index::sample(rng, total as usize, wanted)
            .into_iter()
            .map(|i| i as u64)
            .collect()
    }
}

/// The partition and the position within it of a key's `position`-th pair overall.
fn locate(spans: &[(usize, u64)], mut position: u64) -> (usize, u64) {
    for &(partition, n) in spans {
        if position < n {
            return (partition, position);
        }
        position -= n;
    }
    unreachable!("a drawn position lies below the key's count")
}

/// `sample_by_key_exact`'s tasks: the pairs at the drawn positions.
#[derive(Serialize, Deserialize)]
#[serde(bound = "K: Key")]
struct TakePositionsOp<K: Key> {
    picks: Picks<K>,
}

impl<K: Key, V: Data> PartitionOp<(K, V), (K, V)> for TakePositionsOp<K> {
    fn apply(self: Arc<Self>, partition: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, V)> {
        let mut seen: FxHashMap<K, u64> = FxHashMap::default();
        Box::new(input.flat_map(move |(k, v)| {
            let position = seen.entry(k.clone()).or_default();
            let copies = self.picks[partition]
                .get(&k)
                .and_then(|taken| taken.get(position))
                .copied()
                .unwrap_or(0);
            *position += 1;
            std::iter::repeat_n((k, v), copies as usize)
        }))
    }
}
