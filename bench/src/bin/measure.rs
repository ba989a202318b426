//! `measure`: runs a command and reports its wall time, the peak of the summed
//! resident memory of its whole process tree, and how busy the rest of the
//! machine was meanwhile.
//!
//! ```text
//! measure --report run.txt [--interval-ms 50] -- COMMAND [ARGS...]
//! ```
//!
//! The command inherits standard input and output. The report file gets
//! `key=value` lines: `wall_seconds`, `tree_peak_kib`, `tree_cpu_seconds`
//! (CPU time of the tree), `other_cpu_seconds` and `other_cpu_percent` (CPU
//! time other processes used during the run, and its share of all cores:
//! above a few percent, the figures are skewed), `samples` and `exit`.
//! `measure` exits with the command's status (128 + signal if it was killed).
//! The wall time is taken from the spawn to the end of the wait, with
//! nanosecond resolution; memory and CPU time are sampled, so a spike or a
//! process shorter than the interval can be missed.

use clap::Parser;
use ember_bench::procfs::{machine_ticks, sample_tree, this_process};
use rustc_hash::FxHashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Run a command; report its wall time and the peak RSS of its process tree.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Where to write the `key=value` report.
    #[arg(long)]
    report: PathBuf,
    /// Milliseconds between two memory samples.
    #[arg(long, default_value_t = 50)]
    interval_ms: u64,
    /// The command to run, and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let machine_before = machine_ticks();
    let me_before = this_process();
    let started = Instant::now();
    let mut child = match Command::new(&args.command[0])
        .args(&args.command[1..])
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("measure: cannot run {}: {e}", args.command[0]);
            std::process::exit(127);
        }
    };
    let pid = child.id();
    let (stop, stopped) = mpsc::channel::<()>();
    let sampler = thread::spawn(move || {
        let mut peak = 0u64;
        let mut samples = 0u64;
        // The latest CPU time seen of every process that was in the tree.
        let mut cpu: FxHashMap<u32, u64> = FxHashMap::default();
        loop {
            let sample = sample_tree(pid);
            peak = peak.max(sample.rss_kib);
            cpu.extend(sample.cpu_ticks);
            samples += 1;
            match stopped.recv_timeout(interval) {
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                _ => return (peak, samples, cpu.values().sum::<u64>()),
            }
        }
    });
    let status = child.wait();
    let wall = started.elapsed().as_secs_f64();
    // The sender is dropped here too, so the sampler stops either way.
    let _ = stop.send(());
    let (peak, samples, tree_ticks) = sampler.join().expect("sampler thread panicked");
    // The command's CPU time: exact for the processes that were waited for
    // (this process's children time), sampled for any that were not.
    let machine_after = machine_ticks();
    let me_after = this_process();
    let (own_ticks, waited_ticks) = match (me_before, me_after) {
        (Some(before), Some(after)) => (
            after.cpu_ticks.saturating_sub(before.cpu_ticks),
            after
                .children_cpu_ticks
                .saturating_sub(before.children_cpu_ticks),
        ),
        _ => (0, 0),
    };
    let tree_ticks = tree_ticks.max(waited_ticks);
    // Busy ticks of the machine that neither the command nor this sampler used.
    let (other_ticks, other_percent) = match (machine_before, machine_after) {
        (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
            let other = (busy1 - busy0).saturating_sub(tree_ticks + own_ticks);
            (other, 100.0 * other as f64 / (total1 - total0) as f64)
        }
        _ => (0, 0.0),
    };
    // Clock ticks are USER_HZ, 100 a second on Linux.
    let tree_cpu = tree_ticks as f64 / 100.0;
    let other_cpu = other_ticks as f64 / 100.0;
    let code = match status {
        Ok(status) => status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(e) => {
            eprintln!("measure: waiting for the command failed: {e}");
            1
        }
    };
    let report = format!(
        "wall_seconds={wall:.3}\ntree_peak_kib={peak}\ntree_cpu_seconds={tree_cpu:.2}\n\
         other_cpu_seconds={other_cpu:.2}\nother_cpu_percent={other_percent:.1}\nsamples={samples}\nexit={code}\n"
    );
    if let Err(e) = std::fs::write(&args.report, report) {
        eprintln!("measure: cannot write {}: {e}", args.report.display());
        std::process::exit(1);
    }
    std::process::exit(code);
}
