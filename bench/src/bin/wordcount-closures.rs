//! `wordcount-closures`: ember's word count closures run by plain threads, without any engine.
//!
//! It does per word what the word-count application asks of ember, in the same order: a `String`
//! per line, a `Vec<String>` of its words, a `(word, 1)` pair per word, merged by owned key into
//! a hash map per thread. What ember takes beyond this program is the engine's own cost; what this
//! program takes beyond `wordcount-baseline` is the cost of the closures' allocations.

use clap::Parser;
use ember_bench::args::WordCountArgs;
use ember_bench::count::per_range;
use rustc_hash::FxHashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn count_range(path: &Path, start: u64, end: u64) -> io::Result<FxHashMap<String, u64>> {
    // Its own handle: a shared (or duplicated) one would share the seek position between threads.
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let reader = BufReader::with_capacity(1 << 20, file.take(end - start));
    let mut counts: FxHashMap<String, u64> = FxHashMap::default();
    for line in reader.split(b'\n') {
        let line = String::from_utf8_lossy(&line?).into_owned();
        let words: Vec<String> = line.split_ascii_whitespace().map(String::from).collect();
        for (word, n) in words.into_iter().map(|w| (w, 1u64)) {
            match counts.get_mut(&word) {
                Some(c) => *c += n,
                None => {
                    counts.insert(word, n);
                }
            }
        }
    }
    Ok(counts)
}

fn main() -> io::Result<()> {
    let started = Instant::now();
    let args = WordCountArgs::parse();
    let parts = per_range(&args.input, args.threads, |_, start, end| {
        count_range(&args.input, start, end)
    })?;
    let mut all: FxHashMap<String, u64> = FxHashMap::default();
    for part in parts {
        for (word, n) in part {
            *all.entry(word).or_insert(0) += n;
        }
    }
    fs::create_dir_all(&args.output_dir)?;
    let mut out =
        BufWriter::with_capacity(1 << 20, File::create(args.output_dir.join("part-00000"))?);
    for (word, n) in &all {
        writeln!(out, "{word}\t{n}")?;
    }
    out.flush()?;
    File::create(args.output_dir.join("_SUCCESS"))?;
    println!(
        "wordcount: {} distinct words, {} words in {:.3} s",
        all.len(),
        all.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
