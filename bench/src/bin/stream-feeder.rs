//! `stream-feeder`: the input of the streaming benchmark, a TCP server that sends lines at a
//! set rate to the first client that connects.
//!
//! Lines hold `--words` words drawn from the Zipf-like vocabulary of `gen-text`; with
//! `--stamped`, each line starts with the time it was written, in milliseconds since the epoch,
//! for latency. Lines go out in slices every few milliseconds so that the rate holds within a
//! batch; a client that reads more slowly than the rate holds the feeder back (TCP), and the
//! closing line says how many lines went out, so that a reader that fell behind shows.

use clap::Parser;
use ember_bench::vocab::Vocabulary;
use ember_bench::zipf::Zipf;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Send lines at a set rate to a TCP client.
#[derive(Parser, Debug)]
struct Args {
    /// Port to listen on, on loopback.
    #[arg(long)]
    port: u16,
    /// Lines a second.
    #[arg(long)]
    rate: u64,
    /// How long to send, from the moment the client connects.
    #[arg(long)]
    seconds: u64,
    /// Words per line.
    #[arg(long, default_value_t = 8)]
    words: usize,
    /// Start each line with the time it is written (ms since the epoch).
    #[arg(long)]
    stamped: bool,
}

/// Lines made once and sent round and round: making them must not cost the feeder the CPU the
/// engines need.
fn line_pool(words: usize) -> Vec<Vec<u8>> {
    let mut rng = SmallRng::seed_from_u64(42);
    let vocabulary = Vocabulary::generate(10_000, &mut rng);
    let zipf = Zipf::new(vocabulary.len(), 1.0);
    (0..50_000)
        .map(|_| {
            let mut line = Vec::new();
            for w in 0..words {
                if w > 0 {
                    line.push(b' ');
                }
                line.extend_from_slice(vocabulary.word(zipf.sample(&mut rng)));
            }
            line.push(b'\n');
            line
        })
        .collect()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let pool = line_pool(args.words);
    let listener = TcpListener::bind(("127.0.0.1", args.port))?;
    let (mut socket, _) = listener.accept()?;
    socket.set_nodelay(true)?;
    let started = Instant::now();
    let until = Duration::from_secs(args.seconds);
    let (mut sent, mut next) = (0u64, 0usize);
    let mut slice = Vec::new();
    while started.elapsed() < until {
        let due = (started.elapsed().as_secs_f64() * args.rate as f64) as u64;
        slice.clear();
        let stamp = now_ms();
        while sent < due {
            if args.stamped {
                write!(slice, "{stamp} ")?;
            }
            slice.extend_from_slice(&pool[next]);
            next = (next + 1) % pool.len();
            sent += 1;
        }
        if socket.write_all(&slice).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "stream-feeder: sent {sent} lines in {took:.1} s ({:.0}/s, {} asked)",
        sent as f64 / took,
        args.rate
    );
    Ok(())
}
