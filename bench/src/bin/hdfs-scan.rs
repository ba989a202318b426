//! `hdfs-scan`: reads text with ember and reports its lines and characters, the ember side of
//! the HDFS scan benchmark (`bench/hdfs_scan.sh`).
//!
//! ```text
//! hdfs-scan [--master 'local[2]'] <url>
//! ```
//!
//! It does what a Spark user would to measure a scan: `text_file`, each line mapped to its
//! length, and one action adding up both the count and the lengths. One action, not `count` and
//! then `sum`: two would read the input twice. Prints
//! `hdfs-scan (ember, <master>): <lines> lines, <chars> characters; job <secs> s`, the job being
//! the time from listing the input to the result, without starting the context.
//!
//! A standalone application rather than one for `ember submit`, so that the benchmark runs one
//! process per engine; on `local-cluster` its executors are copies of this binary.

use clap::Parser;
use ember::{Context, EmberConf, Fn};
use std::process::ExitCode;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Count the lines of text files and their characters with ember.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Where tasks run: `local[N]`, `local-cluster[E,C,M]`, ...
    #[arg(long, default_value = "local[2]")]
    master: String,
    /// What to read: an `hdfs://`, `s3a://` or `file://` URL or a path (a file, directory or glob).
    url: String,
}

/// The number of lines and of their characters. Characters are Unicode scalar values, what
/// Python's `len` and Spark's `length` count; the line ends are not counted.
fn scan(ctx: &Context, url: &str) -> ember::Result<(u64, u64)> {
    ctx.text_file(url, 0)?
        .map(Fn!(|line: String| line.chars().count() as u64))
        .aggregate(
            (0u64, 0u64),
            Fn!(|(lines, chars): (u64, u64), n: u64| (lines + 1, chars + n)),
            Fn!(|a: (u64, u64), b: (u64, u64)| (a.0 + b.0, a.1 + b.1)),
        )
}

fn main() -> ExitCode {
    ember::init_logging();
    let args = Args::parse();
    let conf = EmberConf::new().map(|conf| conf.set_master(&args.master).set_app_name("hdfs-scan"));
    let ctx = match conf.and_then(Context::new) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("hdfs-scan: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    match scan(&ctx, &args.url) {
        Ok((lines, chars)) => {
            println!(
                "hdfs-scan (ember, {}): {lines} lines, {chars} characters; job {:.2} s",
                args.master,
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hdfs-scan: {e}");
            ExitCode::FAILURE
        }
    }
}
