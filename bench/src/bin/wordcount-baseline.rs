//! `wordcount-baseline`: the word count as one would write it by hand in Rust,
//! without any engine. It is the practical limit the benchmark holds ember to.
//!
//! The input is cut into one byte range per thread at line boundaries; each
//! thread reads its range in chunks and counts words (runs of non-whitespace
//! bytes) into its own hash map; the maps are merged and written as
//! `word\tcount` lines to `<output-dir>/part-00000`, with an empty `_SUCCESS`
//! beside it.

use clap::Parser;
use ember_bench::args::WordCountArgs;
use ember_bench::count::count_file;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let started = Instant::now();
    let args = WordCountArgs::parse();
    let tally = count_file(&args.input, args.threads.max(1))?;

    fs::create_dir_all(&args.output_dir)?;
    let mut out =
        BufWriter::with_capacity(1 << 20, File::create(args.output_dir.join("part-00000"))?);
    for (word, count) in &tally.counts {
        out.write_all(word)?;
        writeln!(out, "\t{count}")?;
    }
    out.flush()?;
    File::create(args.output_dir.join("_SUCCESS"))?;

    println!(
        "wordcount: {} distinct words, {} words in {:.3} s",
        tally.counts.len(),
        tally.total,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
