//! `gen-records`: writes the input of the sort benchmark: 100-byte records, TeraSort style,
//! as text lines.
//!
//! Each line is a 10-byte key of random printable ASCII, then 89 bytes of value (the record's
//! number in hex and filler) and `'\n'`. The same count and seed always give the same bytes.

use clap::Parser;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Bytes of a record, line end included.
const RECORD: usize = 100;
/// Bytes of its key.
const KEY: usize = 10;

/// Generate sort input records.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Size to write, rounded down to whole records.
    #[arg(long, default_value_t = 2_000_000_000)]
    bytes: u64,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output file.
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let mut rng = SmallRng::seed_from_u64(args.seed);
    let mut out = BufWriter::with_capacity(8 << 20, File::create(&args.out)?);
    let records = args.bytes / RECORD as u64;
    let mut line = [0u8; RECORD];
    for n in 0..records {
        for b in &mut line[..KEY] {
            *b = rng.random_range(b' '..=b'~');
        }
        let value = format!("{n:016x}");
        line[KEY..KEY + 16].copy_from_slice(value.as_bytes());
        for (i, b) in line[KEY + 16..RECORD - 1].iter_mut().enumerate() {
            *b = b'A' + ((n as usize + i) % 26) as u8;
        }
        line[RECORD - 1] = b'\n';
        out.write_all(&line)?;
    }
    out.flush()?;
    eprintln!(
        "gen-records: {records} records of {RECORD} bytes in {:.2} s -> {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
