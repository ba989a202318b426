//! Network word count: counts the words of the lines a TCP server sends, batch by batch
//! (Spark's `NetworkWordCount`), printing each batch's first counts.
//!
//! ```text
//! nc -lk 9999        # in another terminal: type lines into it
//! ember submit --master 'local[2]' network_wordcount localhost 9999 [batch-seconds] [run-seconds]
//! ```
//!
//! The receiver takes one task slot for as long as the stream runs, so the master needs at
//! least two. Without `run-seconds` it runs until stopped (Ctrl-C).

use crate::streaming::{run_for, seconds, socket_args, word_ones, StreamSummary};
use crate::ExampleError;
use ember::streaming::StreamingContext;
use ember::{Context, Fn};
use std::time::Duration;

const USAGE: &str = "network_wordcount <host> <port> [batch-seconds] [run-seconds]";

/// Runs the stream from `<host>:<port>` for `run-seconds` (forever without).
///
/// # Errors
/// Bad arguments, too few task slots, or a failed batch.
pub fn run(ctx: &Context, args: &[String]) -> Result<StreamSummary, ExampleError> {
    let (host, port, rest) = socket_args(args, 2, USAGE)?;
    let batch = seconds(rest.first(), Some(1), USAGE)?.unwrap_or(1);
    let run_seconds = seconds(rest.get(1), None, USAGE)?;
    let ssc = StreamingContext::new(ctx, Duration::from_secs(batch))?;
    let counts =
        word_ones(&ssc.socket_text_stream(host, port)).reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    counts.print(10);
    let summary = StreamSummary::tally("network_wordcount", &counts);
    run_for(&ssc, run_seconds)?;
    Ok(summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streaming::test_server::serve;

    #[test]
    fn counts_the_words_a_server_sends() {
        let rounds = vec![vec!["to be or".to_string(), "not to be".to_string()]; 3];
        let port = serve(rounds, Duration::from_millis(700));
        let ctx = Context::with_master("local[2]").unwrap();
        let args = ["127.0.0.1", &port.to_string(), "1", "4"].map(String::from);
        let summary = run(&ctx, &args).unwrap();
        assert_eq!(summary.words, 18, "{summary}");
        assert!(summary.batches >= 2, "{summary}");
    }

    #[test]
    fn bad_arguments_and_a_single_slot_are_refused() {
        let ctx = Context::with_master("local[1]").unwrap();
        let err = run(&ctx, &["localhost".to_string()]).unwrap_err();
        assert!(err.to_string().contains(USAGE), "{err}");
        let err = run(&ctx, &["localhost".to_string(), "http".to_string()]).unwrap_err();
        assert!(err.to_string().contains("port: 1 to 65535"), "{err}");
        let err = run(&ctx, &["localhost".to_string(), "9999".to_string()]).unwrap_err();
        assert!(err.to_string().contains("local[2]"), "{err}");
    }
}
