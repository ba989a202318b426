//! `count_approx` and the bounded result it returns (Spark's `RDD.countApprox`, which returns a
//! `PartialResult[BoundedDouble]`).
//!
//! The count runs as up to [`MAX_GROUPS`] jobs over runs of neighbouring partitions, side by side,
//! so that counts come back while others are still being computed. When the timeout passes the
//! answer is built from the partitions counted so far, as Spark's `CountEvaluator` does: having
//! seen a fraction `p` of the partitions, holding `sum` elements, the elements not yet counted
//! follow a negative binomial distribution (`sum` successes of probability `p`; for `sum` above
//! 10 000, a Poisson distribution of mean `sum * (1 - p) / p`), whose quantiles at
//! `(1 ± confidence) / 2` bound the total. ember takes those quantiles from the normal
//! distribution of the same mean and variance. Jobs still running when the answer is returned
//! finish in the background; their counts are dropped.

use super::actions::CountFn;
use super::Rdd;
use crate::data::Data;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The most jobs a count is split into: the granularity of a partial answer.
const MAX_GROUPS: usize = 32;

/// An estimate with its bounds at a confidence (Spark's `BoundedDouble`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundedDouble {
    /// The estimate.
    pub mean: f64,
    /// The probability that the true value lies within `low..=high`; 1 for an exact value.
    pub confidence: f64,
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
    /// Whether the timeout passed before every partition was counted, so this is an estimate.
    pub timed_out: bool,
}

impl BoundedDouble {
    /// An exact value: both bounds equal to it, confidence 1.
    fn exact(value: f64) -> Self {
        BoundedDouble {
            mean: value,
            confidence: 1.0,
            low: value,
            high: value,
            timed_out: false,
        }
    }
}

impl std::fmt::Display for BoundedDouble {
    /// As Spark prints it: `[low.000, high.000]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:.3}, {:.3}]", self.low, self.high)
    }
}

impl<T: Data> Rdd<T> {
    /// The number of elements within `timeout` (Spark's `countApprox(timeout, confidence)`):
    /// exact (`low == high == mean`, confidence 1) if every partition is counted in time, else
    /// an estimate from the partitions counted so far with bounds at `confidence`, and
    /// [`timed_out`](BoundedDouble::timed_out) set. See the module's notes for how.
    ///
    /// ```
    /// # use ember_core::Context;
    /// # let ctx = Context::with_master("local[2]").unwrap();
    /// use std::time::Duration;
    /// let n = ctx.range(0, 1000, 1, 4).unwrap().count_approx(Duration::from_secs(60), 0.95).unwrap();
    /// assert_eq!((n.low, n.mean, n.high, n.confidence), (1000.0, 1000.0, 1000.0, 1.0));
    /// ```
    ///
    /// # Errors
    /// `confidence` is not within 0 and 1, or a counting job failed before the timeout.
    pub fn count_approx(&self, timeout: Duration, confidence: f64) -> Result<BoundedDouble> {
        if !(0.0..=1.0).contains(&confidence) {
            return Err(Error::Input(format!(
                "confidence ({confidence}) must be within 0 and 1, such as 0.95"
            )));
        }
        let total = self.num_partitions();
        if total == 0 {
            return Ok(BoundedDouble::exact(0.0));
        }
        let deadline = Instant::now() + timeout;
        let counted = self.start_counts(total)?;
        let (mut seen, mut sum) = (0, 0u64);
        while seen < total {
            let wait = deadline.saturating_duration_since(Instant::now());
            match counted.recv_timeout(wait) {
                Ok(Ok((partitions, count))) => {
                    seen += partitions;
                    sum += count;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(estimate(sum, seen as f64 / total as f64, confidence)),
            }
        }
        Ok(BoundedDouble::exact(sum as f64))
    }

    /// Starts one counting job per run of neighbouring partitions, each on a thread of its own;
    /// each sends how many partitions it counted and their elements.
    fn start_counts(
        &self,
        total: usize,
    ) -> Result<crossbeam_channel::Receiver<Result<(usize, u64)>>> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let groups = total.min(MAX_GROUPS);
        for g in 0..groups {
            let partitions: Vec<usize> = (g * total / groups..(g + 1) * total / groups).collect();
            let (rdd, tx) = (self.clone(), tx.clone());
            std::thread::Builder::new()
                .name(format!("ember-count-approx-{g}"))
                .spawn(move || {
                    let counts = rdd.context().run_job(&rdd, CountFn, Some(&partitions));
                    let _ = tx.send(counts.map(|c| (partitions.len(), c.iter().sum())));
                })
                .map_err(|e| Error::io("a count_approx thread", e))?;
        }
        Ok(rx)
    }
}

/// The total, from `sum` elements in a fraction `p` of the partitions (Spark's
/// `CountEvaluator.bound`, its quantiles from the normal distribution of equal mean and
/// variance).
fn estimate(sum: u64, p: f64, confidence: f64) -> BoundedDouble {
    if p == 0.0 || sum == 0 {
        return BoundedDouble {
            mean: 0.0,
            confidence: 0.0,
            low: 0.0,
            high: f64::INFINITY,
            timed_out: true,
        };
    }
    let sum = sum as f64;
    // The count not yet seen: its mean is the same for both of Spark's distributions; its
    // variance is the negative binomial's, or the Poisson's for large sums.
    let mean = sum * (1.0 - p) / p;
    let variance = if sum <= 10_000.0 { mean / p } else { mean };
    let sd = variance.sqrt();
    let z_low = inverse_normal((1.0 - confidence) / 2.0);
    let z_high = inverse_normal((1.0 + confidence) / 2.0);
    BoundedDouble {
        mean: sum + mean,
        confidence,
        low: sum + (mean + z_low * sd).max(0.0).floor(),
        high: sum + (mean + z_high * sd).max(0.0).ceil(),
        timed_out: true,
    }
}

/// The standard normal quantile of `q` (Acklam's rational approximation, relative error below
/// 1.2e-9); infinite at 0 and 1.
fn inverse_normal(q: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    if q <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if q >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |r: f64| {
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if q < LOW {
        tail((-2.0 * q.ln()).sqrt())
    } else if q > 1.0 - LOW {
        -tail((-2.0 * (1.0 - q).ln()).sqrt())
    } else {
        let x = q - 0.5;
        let r = x * x;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * x
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_are_the_textbook_ones() {
        for (q, z) in [
            (0.5, 0.0),
            (0.975, 1.959_964),
            (0.025, -1.959_964),
            (0.995, 2.575_829),
        ] {
            assert!(
                (inverse_normal(q) - z).abs() < 1e-5,
                "{q}: {}",
                inverse_normal(q)
            );
        }
        assert!((inverse_normal(0.001) + 3.090_232).abs() < 1e-5);
    }

    #[test]
    fn an_estimate_scales_what_was_seen_and_bounds_it() {
        let half = estimate(5_000, 0.5, 0.95);
        assert_eq!(half.mean, 10_000.0);
        assert!(half.low < 10_000.0 && half.high > 10_000.0);
        assert!(half.low >= 5_000.0);
        // A wider confidence gives wider bounds; more seen gives narrower ones.
        let wide = estimate(5_000, 0.5, 0.99);
        assert!(wide.low < half.low && wide.high > half.high);
        let most = estimate(9_000, 0.9, 0.95);
        assert!(most.high - most.low < half.high - half.low);
        let nothing = estimate(0, 0.0, 0.95);
        assert_eq!(
            (nothing.mean, nothing.confidence, nothing.high),
            (0.0, 0.0, f64::INFINITY)
        );
    }
}
