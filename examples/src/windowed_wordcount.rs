//! Windowed word count: the words a TCP server sent over the last `window` seconds, every
//! `slide` seconds (Spark's `reduceByKeyAndWindow` example), printing each window's first
//! counts. Batches are a second long.
//!
//! ```text
//! nc -lk 9999
//! ember submit --master 'local[2]' windowed_wordcount localhost 9999 [window-seconds] [slide-seconds] [run-seconds]
//! ```
//!
//! The window defaults to 30 seconds and the slide to 10. Without `run-seconds` it runs until
//! stopped (Ctrl-C).

use crate::streaming::{run_for, seconds, socket_args, word_ones, words_in};
use crate::ExampleError;
use ember::streaming::StreamingContext;
use ember::{Context, Fn};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a run of the windowed count saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSummary {
    /// Windows computed.
    pub windows: u64,
    /// The most words any one window held.
    pub fullest: u64,
}

impl std::fmt::Display for WindowSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "windowed_wordcount: {} windows, the fullest with {} words",
            self.windows, self.fullest
        )
    }
}

const USAGE: &str =
    "windowed_wordcount <host> <port> [window-seconds] [slide-seconds] [run-seconds]";

/// Runs the windowed count from `<host>:<port>` for `run-seconds` (forever without).
///
/// # Errors
/// Bad arguments (a window or slide that is no whole number of seconds), too few task slots,
/// or a failed batch.
pub fn run(ctx: &Context, args: &[String]) -> Result<WindowSummary, ExampleError> {
    let (host, port, rest) = socket_args(args, 3, USAGE)?;
    let window = seconds(rest.first(), Some(30), USAGE)?.unwrap_or(30);
    let slide = seconds(rest.get(1), Some(10), USAGE)?.unwrap_or(10);
    let run_seconds = seconds(rest.get(2), None, USAGE)?;
    let ssc = StreamingContext::new(ctx, Duration::from_secs(1))?;
    let counts = word_ones(&ssc.socket_text_stream(host, port)).reduce_by_key_and_window(
        Fn!(|a: u64, b: u64| a + b),
        Duration::from_secs(window),
        Duration::from_secs(slide),
    )?;
    counts.print(10);
    let (windows, fullest) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (w, f) = (windows.clone(), fullest.clone());
    counts.foreach_rdd(move |rdd, _| {
        let words = words_in(rdd)?;
        w.fetch_add(1, Ordering::Relaxed);
        f.fetch_max(words, Ordering::Relaxed);
        Ok(())
    });
    run_for(&ssc, run_seconds)?;
    Ok(WindowSummary {
        windows: windows.load(Ordering::Relaxed),
        fullest: fullest.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streaming::test_server::serve;

    #[test]
    fn a_window_wide_enough_holds_every_word_sent() {
        let rounds = vec![vec!["to be or".to_string(), "not to be".to_string()]; 3];
        let port = serve(rounds, Duration::from_millis(500));
        let ctx = Context::with_master("local[2]").unwrap();
        let args = ["127.0.0.1", &port.to_string(), "4", "1", "5"].map(String::from);
        let summary = run(&ctx, &args).unwrap();
        assert_eq!(summary.fullest, 18, "{summary}");
        assert!(summary.windows >= 4, "{summary}");
    }

    #[test]
    fn bad_arguments_are_refused_with_the_usage() {
        let ctx = Context::with_master("local[2]").unwrap();
        for args in [
            &["127.0.0.1", "9999", "0"][..],
            &["127.0.0.1", "9999", "4", "2", "1", "9"],
        ] {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let err = run(&ctx, &args).unwrap_err();
            assert!(err.to_string().contains(USAGE), "{err}");
        }
    }
}
