//! Batch times (Spark's `streaming.Time`): milliseconds since the Unix epoch, on the clock of
//! the [`StreamingContext`](crate::StreamingContext).

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// The instant a batch stands for: its RDDs hold what arrived up to it. Batch times are whole
/// multiples of the batch interval.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Time(i64);

impl Time {
    /// The time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: i64) -> Time {
        Time(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whether this time falls on a whole number of `interval`s after `zero`.
    pub fn is_multiple_of(self, zero: Time, interval: Duration) -> bool {
        let step = millis(interval);
        step > 0 && (self.0 - zero.0).rem_euclid(step) == 0
    }

    /// The latest whole multiple of `interval` at or before this time.
    pub fn floor(self, interval: Duration) -> Time {
        let step = millis(interval);
        Time(self.0 - self.0.rem_euclid(step))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + millis(d))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0 - millis(d))
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    /// The time from `other` to this one; zero if `other` is later.
    fn sub(self, other: Time) -> Duration {
        Duration::from_millis((self.0 - other.0).max(0) as u64)
    }
}

impl fmt::Display for Time {
    /// As Spark prints batch times: `1700000000000 ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// A duration in whole milliseconds, the resolution of batch times.
pub(crate) fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// Whether `d` is a whole, non-zero multiple of `unit`.
pub(crate) fn is_whole_multiple(d: Duration, unit: Duration) -> bool {
    millis(unit) > 0 && millis(d) > 0 && millis(d) % millis(unit) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_times_fall_on_multiples_of_the_interval() {
        let second = Duration::from_secs(1);
        let zero = Time::from_millis(5_000);
        assert!(Time::from_millis(7_000).is_multiple_of(zero, second));
        assert!(!Time::from_millis(7_500).is_multiple_of(zero, second));
        assert_eq!(
            Time::from_millis(7_500).floor(second),
            Time::from_millis(7_000)
        );
        assert_eq!(Time::from_millis(7_000) - zero, Duration::from_secs(2));
        assert_eq!(zero - Time::from_millis(7_000), Duration::ZERO);
        assert!(is_whole_multiple(
            Duration::from_secs(30),
            Duration::from_secs(5)
        ));
        assert!(!is_whole_multiple(
            Duration::from_millis(2500),
            Duration::from_secs(1)
        ));
        assert!(!is_whole_multiple(Duration::ZERO, Duration::from_secs(1)));
    }
}
