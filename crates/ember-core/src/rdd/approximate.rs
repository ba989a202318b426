//! `count_approx` and the bounded result it returns (Spark's `RDD.countApprox`, which returns a
//! `PartialResult[BoundedDouble]`).
//!
//! Spark's version returns when the timeout passes, with an estimate from the tasks done so
//! far, and completes the result when the job ends. ember's scheduler reports a job's results
//! only when all its tasks are done, so `count_approx` always waits for the whole count job:
//! the answer is exact (`low == high == mean`, confidence 1), however long that takes. The
//! timeout only says whether the job overran it (see [`BoundedDouble::timed_out`]).

use super::Rdd;
use crate::data::Data;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// An estimate with its bounds at a confidence (Spark's `BoundedDouble`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundedDouble {
    /// The estimate.
    pub mean: f64,
    /// The probability that the true value lies within `low..=high`.
    pub confidence: f64,
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
    /// Whether the job took longer than the timeout it was given (ember waited for it anyway).
    pub timed_out: bool,
}

impl BoundedDouble {
    /// An exact value: both bounds equal to it, confidence 1.
    fn exact(value: f64, timed_out: bool) -> Self {
        BoundedDouble {
            mean: value,
            confidence: 1.0,
            low: value,
            high: value,
            timed_out,
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
    /// The number of elements as a [`BoundedDouble`] (Spark's `countApprox(timeout,
    /// confidence)`). Unlike Spark, ember waits for the whole count job even past `timeout`,
    /// since its scheduler does not hand out the results of a job's finished tasks before the
    /// job ends: the count returned is always exact, with `low == high == mean` and confidence
    /// 1, and [`timed_out`](BoundedDouble::timed_out) says whether the job overran `timeout`.
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
    /// `confidence` is not within 0 and 1, or the job failed.
    pub fn count_approx(&self, timeout: Duration, confidence: f64) -> Result<BoundedDouble> {
        if !(0.0..=1.0).contains(&confidence) {
            return Err(Error::Input(format!(
                "confidence ({confidence}) must be within 0 and 1, such as 0.95"
            )));
        }
        let started = Instant::now();
        let count = self.count()?;
        Ok(BoundedDouble::exact(
            count as f64,
            started.elapsed() > timeout,
        ))
    }
}
