//! `gen-text`: writes deterministic text with a Zipf-like vocabulary, the input
//! of the word-count benchmark.
//!
//! Words are drawn from a fixed vocabulary with probability proportional to
//! 1 / rank^s; lines hold 5 to 20 words separated by single spaces and end in
//! `'\n'`. The same size, seed and options always give the same bytes.

use clap::Parser;
use ember_bench::vocab::Vocabulary;
use ember_bench::zipf::Zipf;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Generate word-count input text.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Size to write; the file stops at the first line end at or past it.
    #[arg(long, default_value_t = 500_000_000)]
    bytes: u64,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of distinct words in the vocabulary.
    #[arg(long, default_value_t = 200_000)]
    vocabulary: usize,
    /// Zipf exponent: rank r is drawn with weight 1 / r^s.
    #[arg(long, default_value_t = 1.0)]
    zipf_s: f64,
    /// Fewest words on a line.
    #[arg(long, default_value_t = 5)]
    min_words: u32,
    /// Most words on a line.
    #[arg(long, default_value_t = 20)]
    max_words: u32,
    /// Output file.
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if args.vocabulary == 0 || args.min_words == 0 || args.min_words > args.max_words {
        eprintln!("gen-text: need --vocabulary >= 1 and 1 <= --min-words <= --max-words");
        std::process::exit(2);
    }
    let started = Instant::now();
    let mut rng = SmallRng::seed_from_u64(args.seed);
    let vocabulary = Vocabulary::generate(args.vocabulary, &mut rng);
    let zipf = Zipf::new(vocabulary.len(), args.zipf_s);

    let mut out = BufWriter::with_capacity(8 << 20, File::create(&args.out)?);
    let mut line = Vec::with_capacity(1024);
    let mut written = 0u64;
    let mut lines = 0u64;
    let mut words = 0u64;
    while written < args.bytes {
        line.clear();
        let n = rng.random_range(args.min_words..=args.max_words);
        for i in 0..n {
            if i > 0 {
                line.push(b' ');
            }
            line.extend_from_slice(vocabulary.word(zipf.sample(&mut rng)));
        }
        line.push(b'\n');
        out.write_all(&line)?;
        written += line.len() as u64;
        lines += 1;
        words += u64::from(n);
    }
    out.flush()?;
    eprintln!(
        "gen-text: {written} bytes, {lines} lines, {words} words ({} distinct in vocabulary) \
         in {:.2} s -> {}",
        vocabulary.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
