//! What the streaming examples share: reading their arguments, splitting lines into counted
//! words, tallying what a run counted, and running a context for a while.

use crate::ExampleError;
use ember::streaming::{DStream, StreamingContext};
use ember::{Fn, Rdd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a run of a word-counting stream saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// The example's name.
    pub example: &'static str,
    /// Words counted over all batches.
    pub words: u64,
    /// Batches that had any.
    pub batches: u64,
}

impl std::fmt::Display for StreamSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} words in {} batches",
            self.example, self.words, self.batches
        )
    }
}

impl StreamSummary {
    /// Counts, after each batch, the words of `counts` into a summary of `example`; the
    /// summary is read once the stream has stopped.
    pub(crate) fn tally(
        example: &'static str,
        counts: &DStream<(String, u64)>,
    ) -> impl Fn() -> StreamSummary {
        let (words, batches) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (w, b) = (words.clone(), batches.clone());
        counts.foreach_rdd(move |rdd, _| {
            let n = words_in(rdd)?;
            w.fetch_add(n, Ordering::Relaxed);
            b.fetch_add(u64::from(n > 0), Ordering::Relaxed);
            Ok(())
        });
        move || StreamSummary {
            example,
            words: words.load(Ordering::Relaxed),
            batches: batches.load(Ordering::Relaxed),
        }
    }
}

/// Argument `arg` as a positive number of seconds, `default` when absent.
///
/// # Errors
/// Not a positive whole number; the message holds `usage`.
pub(crate) fn seconds(
    arg: Option<&String>,
    default: Option<u64>,
    usage: &str,
) -> Result<Option<u64>, ExampleError> {
    match arg {
        None => Ok(default),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| ExampleError::Usage(format!("{usage} (seconds: positive numbers)"))),
    }
}

/// The host and port a socket example reads from, and its up to `optional` other arguments.
///
/// # Errors
/// Too few or too many arguments, or a port that is not one; the message holds `usage`.
pub(crate) fn socket_args<'a>(
    args: &'a [String],
    optional: usize,
    usage: &str,
) -> Result<(&'a str, u16, &'a [String]), ExampleError> {
    let [host, port, rest @ ..] = args else {
        return Err(ExampleError::Usage(usage.into()));
    };
    if rest.len() > optional {
        return Err(ExampleError::Usage(usage.into()));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| ExampleError::Usage(format!("{usage} (port: 1 to 65535)")))?;
    Ok((host, port, rest))
}

/// Each word of `lines` (split at white space) paired with 1.
pub(crate) fn word_ones(lines: &DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(Fn!(|line: String| line
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)))
}

/// The words a batch of word counts counted.
///
/// # Errors
/// The job failed.
pub(crate) fn words_in(counts: &Rdd<(String, u64)>) -> ember::Result<u64> {
    let counts = counts.map(Fn!(|(_, n): (String, u64)| n)).collect()?;
    Ok(counts.iter().sum())
}

/// Starts `ssc` and runs it for `run_for` seconds (until stopped without), then stops it
/// gracefully, leaving its [`Context`](ember::Context) running.
///
/// # Errors
/// The context could not start, or a batch failed.
pub(crate) fn run_for(ssc: &StreamingContext, run_for: Option<u64>) -> Result<(), ExampleError> {
    ssc.start()?;
    let outcome = match run_for {
        Some(s) => ssc
            .await_termination_or_timeout(Duration::from_secs(s))
            .map(|_| ()),
        None => ssc.await_termination(),
    };
    ssc.stop(false, true);
    Ok(outcome?)
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A TCP server for the examples' tests: sends its lines to whoever connects, slowly
    //! enough for them to fall in several batches, and keeps the connection open.

    use std::io::Write;
    use std::net::TcpListener;
    use std::time::Duration;

    /// Serves `lines` (a round every `pause`) on a port of loopback; returns the port.
    pub(crate) fn serve(rounds: Vec<Vec<String>>, pause: Duration) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            for round in rounds {
                for line in round {
                    writeln!(socket, "{line}").unwrap();
                }
                socket.flush().unwrap();
                std::thread::sleep(pause);
            }
            // Held open: a closed connection would make the receiver connect again.
            std::thread::sleep(Duration::from_secs(600));
        });
        port
    }
}
