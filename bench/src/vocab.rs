//! A vocabulary of distinct made-up words, short ones first.

use rand::Rng;
use rustc_hash::FxHashSet;

/// Distinct lowercase ASCII words stored back to back; rank 0 comes first.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    bytes: Vec<u8>,
    /// `ends[i]` is where word `i` ends in `bytes`; it starts at `ends[i - 1]` (or 0).
    ends: Vec<u32>,
}

impl Vocabulary {
    /// Makes `n` distinct words of letters `a`–`z`.
    ///
    /// Like in natural language, frequent ranks get short words: the length of
    /// rank `r` is drawn from `b..=b + 5` where `b` grows with log₂₆(r + 1), so
    /// the first ranks have 1 to 6 letters and ranks near 200 000 have 4 to 9.
    /// A word already taken is drawn again.
    ///
    /// # Panics
    /// If `n` is too large for the words to fit in 4 GiB.
    pub fn generate<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Self {
        let mut seen: FxHashSet<Vec<u8>> = FxHashSet::default();
        seen.reserve(n);
        let mut bytes = Vec::with_capacity(n * 8);
        let mut ends = Vec::with_capacity(n);
        let mut word = Vec::with_capacity(16);
        for rank in 0..n {
            let base = 1 + ((rank + 1) as f64).log(26.0).floor() as usize;
            loop {
                let len = base + rng.random_range(0..=5);
                word.clear();
                word.extend((0..len).map(|_| b'a' + rng.random_range(0..26u8)));
                if seen.insert(word.clone()) {
                    break;
                }
            }
            bytes.extend_from_slice(&word);
            ends.push(u32::try_from(bytes.len()).expect("vocabulary larger than 4 GiB"));
        }
        Self { bytes, ends }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The word of rank `i`.
    #[inline]
    pub fn word(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn words_are_distinct_lowercase_and_deterministic() {
        let a = Vocabulary::generate(20_000, &mut SmallRng::seed_from_u64(42));
        let b = Vocabulary::generate(20_000, &mut SmallRng::seed_from_u64(42));
        assert_eq!(a.len(), 20_000);
        let mut set = FxHashSet::default();
        for i in 0..a.len() {
            let w = a.word(i);
            assert_eq!(w, b.word(i));
            assert!(!w.is_empty() && w.iter().all(u8::is_ascii_lowercase));
            assert!(set.insert(w.to_vec()), "duplicate word");
        }
        assert!(a.word(0).len() <= 6);
    }
}
