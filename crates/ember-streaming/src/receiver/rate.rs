//! How fast receivers may store records: a fixed limit (`ember.streaming.receiver.maxRate`)
//! and, with `ember.streaming.backpressure.enabled`, a limit the driver adjusts after every
//! batch so that batches are processed about as fast as they arrive (Spark's
//! `RateController` with its `PIDRateEstimator`).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Paces `store` calls to at most `rate` records a second; 0 means no limit.
///
/// It keeps the time the next record may be stored and lets callers run ahead of it by up to
/// [`SLACK`] before making them sleep, so that a high rate costs a few sleeps a second rather
/// than one per record.
pub(crate) struct RateLimiter {
    rate: AtomicU64,
    next: Mutex<Instant>,
}

/// How far ahead of the rate a receiver may get before it waits.
const SLACK: Duration = Duration::from_millis(5);

impl RateLimiter {
    pub(crate) fn new(rate: u64) -> RateLimiter {
        RateLimiter {
            rate: AtomicU64::new(rate),
            next: Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn set_rate(&self, rate: u64) {
        self.rate.store(rate, Ordering::Relaxed);
    }

    /// Waits until `records` more may be stored.
    pub(crate) fn acquire(&self, records: u64) {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 || records == 0 {
            return;
        }
        let wait = {
            let mut next = self.next.lock();
            let now = Instant::now();
            // Time not used while idle is not saved up for a burst.
            *next = (*next).max(now);
            *next += Duration::from_secs_f64(records as f64 / rate as f64);
            (*next - now).saturating_sub(SLACK)
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// The receiving rate the driver sets from each completed batch (Spark's `PIDRateEstimator`
/// with its defaults: proportional 1.0, integral 0.2, derivative 0, at least 100 records/s).
///
/// The error is the gap between the rate it set and the rate the last batch was processed
/// at; the integral term is the backlog: records waiting in scheduled batches, as a rate.
#[derive(Debug)]
pub(crate) struct RateController {
    batch_ms: f64,
    latest: Option<Latest>,
}

#[derive(Debug, Clone, Copy)]
struct Latest {
    time_ms: i64,
    rate: f64,
    error: f64,
}

const PROPORTIONAL: f64 = 1.0;
const INTEGRAL: f64 = 0.2;
const DERIVATIVE: f64 = 0.0;
const MIN_RATE: f64 = 100.0;

impl RateController {
    pub(crate) fn new(batch: Duration) -> RateController {
        RateController {
            batch_ms: batch.as_millis() as f64,
            latest: None,
        }
    }

    /// The rate to set after the batch of `time_ms` with `records` took `processing` after
    /// waiting `scheduling`; `None` when the batch says nothing new (no records, no time).
    pub(crate) fn compute(
        &mut self,
        time_ms: i64,
        records: u64,
        processing: Duration,
        scheduling: Duration,
    ) -> Option<u64> {
        let processing_ms = processing.as_millis() as f64;
        if records == 0 || processing_ms <= 0.0 {
            return None;
        }
        let processing_rate = records as f64 / processing_ms * 1000.0;
        let Some(latest) = self.latest else {
            self.latest = Some(Latest {
                time_ms,
                rate: processing_rate,
                error: 0.0,
            });
            return None;
        };
        if time_ms <= latest.time_ms {
            return None;
        }
        let since_update = (time_ms - latest.time_ms) as f64 / 1000.0;
        let error = latest.rate - processing_rate;
        let backlog = scheduling.as_millis() as f64 * processing_rate / self.batch_ms;
        let d_error = (error - latest.error) / since_update;
        let rate = (latest.rate - PROPORTIONAL * error - INTEGRAL * backlog - DERIVATIVE * d_error)
            .max(MIN_RATE);
        self.latest = Some(Latest {
            time_ms,
            rate,
            error,
        });
        Some(rate.round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_holds_a_receiver_to_its_rate() {
        let limiter = RateLimiter::new(2_000);
        let start = Instant::now();
        for _ in 0..1_000 {
            limiter.acquire(1);
        }
        let took = start.elapsed();
        // 1,000 records at 2,000 a second: half a second, less the slack.
        assert!(took >= Duration::from_millis(490), "{took:?}");
        assert!(took < Duration::from_millis(900), "{took:?}");
    }

    #[test]
    fn an_unlimited_limiter_never_waits() {
        let limiter = RateLimiter::new(0);
        let start = Instant::now();
        limiter.acquire(1_000_000);
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn the_controller_lowers_the_rate_to_what_batches_are_processed_at() {
        let mut controller = RateController::new(Duration::from_secs(1));
        // The first batch only sets the reference: 10,000 records in 2 s is 5,000/s.
        assert_eq!(
            controller.compute(1_000, 10_000, Duration::from_secs(2), Duration::ZERO),
            None
        );
        // The same again, with a second of backlog: lower than the processing rate.
        let rate = controller
            .compute(
                2_000,
                10_000,
                Duration::from_secs(2),
                Duration::from_secs(1),
            )
            .unwrap();
        assert_eq!(
            rate, 4_000,
            "5,000/s less 0.2 × a second of 5,000/s backlog"
        );
        // Without records nothing changes, and the rate never falls under 100/s.
        assert_eq!(
            controller.compute(3_000, 0, Duration::from_secs(1), Duration::ZERO),
            None
        );
        let floor = controller
            .compute(4_000, 1, Duration::from_secs(100), Duration::from_secs(100))
            .unwrap();
        assert_eq!(floor, 100);
    }
}
