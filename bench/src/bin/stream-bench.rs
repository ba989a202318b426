//! `stream-bench`: ember's side of the streaming benchmark (`bench/streaming.sh`), reading
//! the lines `stream-feeder` sends.
//!
//! - `--mode throughput`: windowed word count, a 30-second window sliding every 5 seconds
//!   (incremental, with an inverse function, as Spark's `reduceByKeyAndWindow(add, sub)`),
//!   on 1-second batches. Prints the records received and the total delay of the batches of
//!   the last 20 seconds: the rate is sustained when every one stays under the interval.
//! - `--mode latency`: per-batch word counts on 100 ms batches of stamped lines; prints the
//!   median and p99 time from a line's stamp to its batch's counts reaching the driver.

use clap::{Parser, ValueEnum};
use ember::conf::keys;
use ember::streaming::{BatchInfo, StreamingContext, StreamingListener};
use ember::{Context, EmberConf, Fn};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Throughput,
    Latency,
}

/// Run ember's streaming benchmark against a feeder on loopback.
#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "local[2]")]
    master: String,
    #[arg(long, value_enum)]
    mode: Mode,
    /// The feeder's port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// How long to run.
    #[arg(long)]
    seconds: u64,
    /// Where incremental windows checkpoint.
    #[arg(long, default_value = "/tmp/ember-stream-bench")]
    checkpoint: String,
}

/// Every completed batch.
#[derive(Clone, Default)]
struct Batches(Arc<Mutex<Vec<BatchInfo>>>);

impl StreamingListener for Batches {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        lock(&self.0).push(batch.clone());
    }
}

/// The value behind `mutex`, even if a thread panicked holding it: what it gathered still
/// counts.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((n as f64 - 1.0) * p).round() as usize],
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

fn words(line: String) -> Vec<String> {
    line.split(' ').map(String::from).collect()
}

fn throughput(ctx: &Context, args: &Args) -> ember::Result<()> {
    let ssc = StreamingContext::new(ctx, Duration::from_secs(1))?;
    ssc.checkpoint(&args.checkpoint)?;
    let batches = Batches::default();
    ssc.add_streaming_listener(batches.clone());
    let windows = ssc
        .socket_text_stream("127.0.0.1", args.port)
        .flat_map(Fn!(|line: String| words(line)))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key_and_window_inv(
            Fn!(|a: u64, b: u64| a + b),
            Fn!(|a: u64, b: u64| a - b),
            Duration::from_secs(30),
            Duration::from_secs(5),
            0,
            Fn!(|(_, n): &(String, u64)| *n > 0),
        )?;
    windows.foreach_rdd(|rdd, _| rdd.count().map(|_| ()));
    ssc.start()?;
    ssc.await_termination_or_timeout(Duration::from_secs(args.seconds))?;
    ssc.stop(false, false);
    let batches = lock(&batches.0).clone();
    let received: u64 = batches.iter().filter_map(|b| b.num_records).sum();
    let last: Vec<&BatchInfo> = batches.iter().rev().take(20).collect();
    let mut delays: Vec<f64> = last
        .iter()
        .map(|b| b.total_delay().unwrap_or_default().as_secs_f64() * 1e3)
        .collect();
    delays.sort_by(f64::total_cmp);
    println!(
        "stream-bench: mode=throughput batches={} records={received} rate={:.0} \
         last20_median_delay_ms={:.0} last20_max_delay_ms={:.0}",
        batches.len(),
        received as f64 / args.seconds as f64,
        percentile(&delays, 0.5),
        percentile(&delays, 1.0),
    );
    Ok(())
}

fn latency(ctx: &Context, args: &Args) -> ember::Result<()> {
    let ssc = StreamingContext::new(ctx, Duration::from_millis(100))?;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let sink = latencies.clone();
    let started = now_ms();
    ssc.socket_text_stream("127.0.0.1", args.port)
        .flat_map(Fn!(|line: String| {
            let (stamp, rest) = line.split_once(' ').unwrap_or(("0", ""));
            let stamp: i64 = stamp.parse().unwrap_or(0);
            rest.split(' ')
                .map(|w| (w.to_string(), (1u64, vec![stamp])))
                .collect::<Vec<_>>()
        }))
        .reduce_by_key(Fn!(|a: (u64, Vec<i64>), b: (u64, Vec<i64>)| {
            (a.0 + b.0, [a.1, b.1].concat())
        }))
        .foreach_rdd(move |rdd, _| {
            let counts = rdd.collect()?;
            let now = now_ms();
            let mut sink = lock(&sink);
            // The first seconds warm up: connection made, code paged in.
            for stamp in counts.iter().flat_map(|(_, (_, s))| s) {
                if *stamp > started + 5_000 {
                    sink.push((now - stamp) as f64);
                }
            }
            Ok(())
        });
    ssc.start()?;
    ssc.await_termination_or_timeout(Duration::from_secs(args.seconds))?;
    ssc.stop(false, false);
    let mut latencies = lock(&latencies).clone();
    latencies.sort_by(f64::total_cmp);
    println!(
        "stream-bench: mode=latency words={} median_ms={:.0} p99_ms={:.0} max_ms={:.0}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    Ok(())
}

fn main() -> ember::Result<()> {
    // The batch lines (records received, delays) go to the run's log.
    ember::init_logging();
    let args = Args::parse();
    let conf = EmberConf::new()?
        .set_master(&args.master)
        .set_app_name("stream-bench")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false");
    let ctx = Context::new(conf)?;
    match args.mode {
        Mode::Throughput => throughput(&ctx, &args),
        Mode::Latency => latency(&ctx, &args),
    }
}
