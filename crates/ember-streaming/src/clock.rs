//! The clock batches are timed by (Spark's `util.Clock`): the system's, or a manual one that
//! tests advance by hand so that every batch boundary is exact.

use crate::time::Time;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time that a waiting thread can sleep on.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Time;

    /// Sleeps until `target` or until `wake` returns true (checked at least every 100 ms and
    /// whenever the clock moves); returns the time then.
    fn wait_till(&self, target: Time, wake: &dyn Fn() -> bool) -> Time;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Time::from_millis(since.as_millis() as i64)
    }

    fn wait_till(&self, target: Time, wake: &dyn Fn() -> bool) -> Time {
        loop {
            let now = self.now();
            if now >= target || wake() {
                return now;
            }
            std::thread::sleep((target - now).min(Duration::from_millis(100)));
        }
    }
}

/// A clock that moves only when told to (Spark's `ManualClock`), for tests: batch `t` is
/// generated once the clock reaches `t`, and not before.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    inner: Arc<(Mutex<i64>, Condvar)>,
}

impl ManualClock {
    /// A clock that reads `start`.
    pub fn new(start: Time) -> ManualClock {
        let clock = ManualClock::default();
        *clock.inner.0.lock() = start.millis();
        clock
    }

    /// Moves the clock on by `by`, waking whoever waits for a time now passed.
    pub fn advance(&self, by: Duration) {
        let (now, moved) = &*self.inner;
        *now.lock() += crate::time::millis(by);
        moved.notify_all();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        Time::from_millis(*self.inner.0.lock())
    }

    fn wait_till(&self, target: Time, wake: &dyn Fn() -> bool) -> Time {
        let (now, moved) = &*self.inner;
        let mut now = now.lock();
        while *now < target.millis() && !wake() {
            moved.wait_for(&mut now, Duration::from_millis(100));
        }
        Time::from_millis(*now)
    }
}
