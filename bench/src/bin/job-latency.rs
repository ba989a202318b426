//! `job-latency`: the fixed cost of a job and of a task, on any master.
//!
//! Runs a trivial job (`parallelize(1..=8, 2).map(|x| x + 1).collect()`) `--jobs` times in one
//! application and prints the median, p99 and max latency; then runs `--tasks` small tasks in
//! jobs of `--tasks-per-job` and prints the time per task. The figures are what a streaming batch
//! or an iterative algorithm pays per job and per task before doing any work.

use clap::Parser;
use ember::conf::keys;
use ember::{Context, EmberConf, Fn};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// The master: `local[2]`, `local-cluster[2,1,1024]`; without it, the one `ember submit`
    /// gives (`ember submit --master yarn job-latency`).
    #[arg(long)]
    master: Option<String>,
    /// Trivial jobs to time.
    #[arg(long, default_value_t = 1000)]
    jobs: usize,
    /// Small tasks to time, in jobs of `--tasks-per-job`.
    #[arg(long, default_value_t = 2496)]
    tasks: usize,
    #[arg(long, default_value_t = 16)]
    tasks_per_job: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1e3
}

fn main() -> ember::Result<()> {
    let args = Args::parse();
    let mut conf = EmberConf::new()?
        .set_app_name("job-latency")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false");
    if let Some(master) = &args.master {
        conf = conf.set_master(master);
    }
    let master = conf.get_raw(keys::MASTER.key).unwrap_or("?").to_string();
    let ctx = Context::new(conf)?;
    // Warm up: executors connected, code paths paged in.
    for _ in 0..20 {
        ctx.parallelize((1..=8).collect::<Vec<u64>>(), 2).count()?;
    }
    let mut latencies = Vec::with_capacity(args.jobs);
    for _ in 0..args.jobs {
        let started = Instant::now();
        let got = ctx
            .parallelize((1..=8).collect::<Vec<u64>>(), 2)
            .map(Fn!(|x: u64| x + 1))
            .collect()?;
        latencies.push(started.elapsed());
        assert_eq!(got, (2..=9).collect::<Vec<u64>>());
    }
    latencies.sort();
    println!(
        "job-latency: master={} jobs={} median_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        master,
        args.jobs,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    let jobs = args.tasks.div_ceil(args.tasks_per_job);
    let started = Instant::now();
    let mut total = 0;
    for _ in 0..jobs {
        total += ctx
            .parallelize(
                (0..args.tasks_per_job as u64).collect::<Vec<u64>>(),
                args.tasks_per_job,
            )
            .map(Fn!(|x: u64| x * 2))
            .count()?;
    }
    let elapsed = started.elapsed();
    assert_eq!(total, (jobs * args.tasks_per_job) as u64);
    println!(
        "task-cost: master={} tasks={} jobs={} per_task_ms={:.3}",
        master,
        jobs * args.tasks_per_job,
        jobs,
        elapsed.as_secs_f64() * 1e3 / (jobs * args.tasks_per_job) as f64
    );
    ctx.stop();
    Ok(())
}
