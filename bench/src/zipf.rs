//! Constant-time sampling from a Zipf distribution with Vose's alias method.

use rand::Rng;

/// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)^s`.
///
/// Built once in O(n); each draw costs one 64-bit random number and two table
/// reads, whatever `n` is.
#[derive(Debug, Clone)]
pub struct Zipf {
    /// Per column: keep the column's own rank when the low 32 random bits are
    /// below this threshold, otherwise take `alias`.
    threshold: Vec<u32>,
    /// Per column: the rank that fills the rest of the column.
    alias: Vec<u32>,
}

impl Zipf {
    /// Builds the table for `n` ranks (1 ≤ n < 2³²) and exponent `s` (≥ 0).
    ///
    /// # Panics
    /// If `n` is zero or does not fit in a `u32`, or `s` is negative or not finite.
    pub fn new(n: usize, s: f64) -> Self {
        assert!(
            n > 0 && u32::try_from(n).is_ok(),
            "rank count out of range: {n}"
        );
        assert!(s.is_finite() && s >= 0.0, "bad Zipf exponent: {s}");
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = weights.iter().sum();
        // Scaled so that the mean column holds exactly 1.0.
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let mut small: Vec<u32> = Vec::new();
        let mut large: Vec<u32> = Vec::new();
        for (i, &p) in scaled.iter().enumerate() {
            if p < 1.0 {
                small.push(i as u32);
            } else {
                large.push(i as u32);
            }
        }
        while let (Some(&s_i), Some(&l_i)) = (small.last(), large.last()) {
            small.pop();
            alias[s_i as usize] = l_i;
            scaled[l_i as usize] -= 1.0 - scaled[s_i as usize];
            if scaled[l_i as usize] < 1.0 {
                large.pop();
                small.push(l_i);
            }
        }
        // Whatever is left is full up to rounding error; such columns were never
        // given an alias, so their alias is themselves.
        for i in small.into_iter().chain(large) {
            scaled[i as usize] = 1.0;
        }
        let threshold = scaled
            .iter()
            .map(|&p| {
                if p >= 1.0 {
                    u32::MAX
                } else {
                    (p * 4_294_967_296.0) as u32
                }
            })
            .collect();
        Self { threshold, alias }
    }

    /// Number of ranks.
    pub fn len(&self) -> usize {
        self.threshold.len()
    }

    /// Always false: a table has at least one rank.
    pub fn is_empty(&self) -> bool {
        self.threshold.is_empty()
    }

    /// Draws one rank, 0 being the most frequent.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let r: u64 = rng.random();
        // High half picks the column (multiply-shift, no modulo), low half the side.
        let column = ((r >> 32) * self.threshold.len() as u64) >> 32;
        let column = column as usize;
        // A full column (threshold u32::MAX) is its own alias, so `<` suffices.
        if (r as u32) < self.threshold[column] {
            column
        } else {
            self.alias[column] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn frequencies_follow_the_power_law() {
        let n = 1000;
        let zipf = Zipf::new(n, 1.0);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut hits = vec![0u64; n];
        let draws = 2_000_000;
        for _ in 0..draws {
            hits[zipf.sample(&mut rng)] += 1;
        }
        let harmonic: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
        for rank in [0usize, 1, 2, 9, 99] {
            let expected = draws as f64 / ((rank + 1) as f64 * harmonic);
            let got = hits[rank] as f64;
            assert!(
                (got - expected).abs() < 0.03 * expected + 50.0,
                "rank {rank}: expected {expected}, got {got}"
            );
        }
        assert!(hits.iter().all(|&h| h > 0), "every rank is reachable");
    }

    #[test]
    fn uniform_when_exponent_is_zero() {
        let zipf = Zipf::new(4, 0.0);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut hits = [0u32; 4];
        for _ in 0..40_000 {
            hits[zipf.sample(&mut rng)] += 1;
        }
        assert!(
            hits.iter().all(|&h| (9_000..11_000).contains(&h)),
            "{hits:?}"
        );
    }

    #[test]
    fn single_rank() {
        let zipf = Zipf::new(1, 1.0);
        let mut rng = SmallRng::seed_from_u64(3);
        assert!((0..100).all(|_| zipf.sample(&mut rng) == 0));
        assert_eq!(zipf.len(), 1);
    }
}
