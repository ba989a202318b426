//! The hand-written word count: split a file at line boundaries, count each
//! part on its own thread, merge.

use rustc_hash::FxHashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::thread;

/// Word → number of occurrences.
pub type Counts = FxHashMap<Box<[u8]>, u64>;

/// How many bytes a thread reads at a time.
pub const CHUNK: usize = 4 << 20;

/// Counts of a whole file or a part of it.
#[derive(Debug, Default)]
pub struct Tally {
    /// Occurrences of each distinct word.
    pub counts: Counts,
    /// Number of words seen, repeats included.
    pub total: u64,
}

impl Tally {
    /// Counts the words of `text`, which must not end in the middle of a word.
    /// Words are runs of bytes other than ASCII whitespace.
    pub fn add_text(&mut self, text: &[u8]) {
        for word in text.split(u8::is_ascii_whitespace) {
            if word.is_empty() {
                continue;
            }
            self.total += 1;
            match self.counts.get_mut(word) {
                Some(n) => *n += 1,
                None => {
                    self.counts.insert(word.into(), 1);
                }
            }
        }
    }

    /// Adds another tally into this one.
    pub fn merge(&mut self, other: Tally) {
        self.total += other.total;
        if self.counts.len() < other.counts.len() {
            // Fold the smaller map into the larger one.
            let mine = std::mem::replace(&mut self.counts, other.counts);
            self.fold(mine);
        } else {
            self.fold(other.counts);
        }
    }

    fn fold(&mut self, counts: Counts) {
        for (word, n) in counts {
            *self.counts.entry(word).or_insert(0) += n;
        }
    }
}

/// Cuts `0..len` of `file` into `parts` byte ranges that start right after a
/// `'\n'` (or at 0) and returns the `parts + 1` boundaries. Ranges can be empty
/// when lines are longer than a part.
pub fn split_at_lines(file: &File, len: u64, parts: usize) -> io::Result<Vec<u64>> {
    let parts = parts.max(1);
    let mut bounds = vec![0u64];
    let mut window = vec![0u8; 64 << 10];
    for i in 1..parts {
        let nominal = len * i as u64 / parts as u64;
        let previous = *bounds.last().unwrap_or(&0);
        // The first line start at or after `nominal`: just past the first '\n'
        // at or after `nominal - 1`.
        let mut pos = nominal.saturating_sub(1).max(previous);
        let boundary = loop {
            if pos >= len {
                break len;
            }
            let want = window.len().min((len - pos) as usize);
            file.read_exact_at(&mut window[..want], pos)?;
            if let Some(at) = window[..want].iter().position(|&b| b == b'\n') {
                break pos + at as u64 + 1;
            }
            pos += want as u64;
        };
        bounds.push(boundary.max(previous));
    }
    bounds.push(len);
    Ok(bounds)
}

/// Counts the words in bytes `start..end` of `file`, reading [`CHUNK`] bytes
/// at a time. The range must begin and end at word boundaries.
pub fn count_range(file: &File, start: u64, end: u64) -> io::Result<Tally> {
    let mut tally = Tally::default();
    let mut buf = vec![0u8; CHUNK.min((end - start) as usize).max(1)];
    // Bytes at the front of `buf` carried over from the last read: a word cut
    // by the end of the chunk.
    let mut carried = 0;
    let mut pos = start;
    while pos < end {
        if carried == buf.len() {
            // A single word longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let want = (buf.len() - carried).min((end - pos) as usize);
        file.read_exact_at(&mut buf[carried..carried + want], pos)?;
        pos += want as u64;
        let filled = carried + want;
        let cut = if pos == end {
            filled
        } else {
            buf[..filled]
                .iter()
                .rposition(u8::is_ascii_whitespace)
                .map_or(0, |i| i + 1)
        };
        tally.add_text(&buf[..cut]);
        buf.copy_within(cut..filled, 0);
        carried = filled - cut;
    }
    Ok(tally)
}

/// Cuts the file at `path` into `threads` ranges at line boundaries and runs `count` on each
/// range on its own thread; returns the results in file order.
pub fn per_range<T: Send>(
    path: &std::path::Path,
    threads: usize,
    count: impl Fn(&File, u64, u64) -> io::Result<T> + Sync,
) -> io::Result<Vec<T>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let bounds = split_at_lines(&file, len, threads.max(1))?;
    thread::scope(|scope| {
        let workers: Vec<_> = bounds
            .windows(2)
            .map(|range| {
                let (file, count) = (&file, &count);
                let (start, end) = (range[0], range[1]);
                scope.spawn(move || count(file, start, end))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("counting thread panicked"))
            .collect()
    })
}

/// Counts the words of the file at `path` on `threads` threads.
pub fn count_file(path: &std::path::Path, threads: usize) -> io::Result<Tally> {
    let mut all = Tally::default();
    for tally in per_range(path, threads, count_range)? {
        all.merge(tally);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn naive(text: &[u8]) -> FxHashMap<Vec<u8>, u64> {
        let mut m = FxHashMap::default();
        for w in text
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
        {
            *m.entry(w.to_vec()).or_insert(0) += 1;
        }
        m
    }

    fn sample_text() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..50_000u32 {
            for j in 0..(i % 7) {
                write!(text, "w{} ", (i * 31 + j) % 977).unwrap();
            }
            text.extend_from_slice(if i % 5 == 0 { b"\t\n" } else { b"\n" });
        }
        text.extend_from_slice(b"last-line-without-newline");
        text
    }

    #[test]
    fn matches_a_naive_count_for_any_thread_count() {
        let text = sample_text();
        let mut tmp = std::env::temp_dir();
        tmp.push(format!("ember-bench-count-{}", std::process::id()));
        std::fs::write(&tmp, &text).unwrap();
        let expected = naive(&text);
        for threads in [1, 2, 3, 8] {
            let tally = count_file(&tmp, threads).unwrap();
            assert_eq!(tally.total, expected.values().sum::<u64>());
            assert_eq!(tally.counts.len(), expected.len());
            for (w, n) in &expected {
                assert_eq!(tally.counts.get(w.as_slice()), Some(n));
            }
        }
        std::fs::remove_file(&tmp).unwrap();
    }

    #[test]
    fn words_cut_by_chunk_ends_are_rejoined() {
        // Words of varying length so that chunk ends fall inside them.
        let mut text = Vec::new();
        let mut i = 0u64;
        while text.len() < 3 * CHUNK + 12_345 {
            let len = 1 + (i * 7919 % 23) as usize;
            text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            text.push(if i.is_multiple_of(11) { b'\n' } else { b' ' });
            i += 1;
        }
        let mut tmp = std::env::temp_dir();
        tmp.push(format!("ember-bench-chunks-{}", std::process::id()));
        std::fs::write(&tmp, &text).unwrap();
        let file = File::open(&tmp).unwrap();
        let tally = count_range(&file, 0, text.len() as u64).unwrap();
        let expected = naive(&text);
        assert_eq!(tally.total, i);
        assert_eq!(tally.counts.len(), expected.len());
        std::fs::remove_file(&tmp).unwrap();
    }

    #[test]
    fn boundaries_follow_newlines() {
        let text = b"aaaa bbbb\ncc\ndddddddddddddddd\ne\n";
        let mut tmp = std::env::temp_dir();
        tmp.push(format!("ember-bench-split-{}", std::process::id()));
        std::fs::write(&tmp, text).unwrap();
        let file = File::open(&tmp).unwrap();
        let bounds = split_at_lines(&file, text.len() as u64, 4).unwrap();
        assert_eq!(bounds.len(), 5);
        assert_eq!(bounds[0], 0);
        assert_eq!(*bounds.last().unwrap(), text.len() as u64);
        for pair in bounds.windows(2) {
            assert!(pair[0] <= pair[1]);
        }
        for &b in &bounds[1..bounds.len() - 1] {
            assert!(b == text.len() as u64 || text[b as usize - 1] == b'\n');
        }
        std::fs::remove_file(&tmp).unwrap();
    }
}
