//! Stateful word count: the running count of every word a TCP server has sent, kept per key
//! across batches with `map_with_state` (Spark's `StatefulNetworkWordCount`, which starts from
//! "hello" and "world" seen once each). Each batch prints the words it changed with their new
//! totals. Batches are a second long.
//!
//! ```text
//! nc -lk 9999
//! ember submit --master 'local[2]' stateful_wordcount localhost 9999 [checkpoint-dir] [run-seconds]
//! ```
//!
//! The state is checkpointed under `checkpoint-dir` (local, `hdfs://` or `s3a://`; on a
//! cluster it must be a file system every executor reaches), by default a new directory under
//! the system's temporary directory. Without `run-seconds` it runs until stopped (Ctrl-C).

use crate::streaming::{run_for, seconds, socket_args, word_ones};
use crate::ExampleError;
use ember::streaming::{State, StateSpec, StreamingContext};
use ember::{Context, Fn};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What a run of the stateful count ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSummary {
    /// Distinct words counted (with "hello" and "world").
    pub words: u64,
    /// Their counts added up.
    pub total: u64,
}

impl std::fmt::Display for StateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stateful_wordcount: {} distinct words, {} in all",
            self.words, self.total
        )
    }
}

const USAGE: &str = "stateful_wordcount <host> <port> [checkpoint-dir] [run-seconds]";

/// Runs the stateful count from `<host>:<port>` for `run-seconds` (forever without).
///
/// # Errors
/// Bad arguments, a checkpoint directory that cannot be used, too few task slots, or a failed
/// batch.
pub fn run(ctx: &Context, args: &[String]) -> Result<StateSummary, ExampleError> {
    let (host, port, rest) = socket_args(args, 2, USAGE)?;
    let run_seconds = seconds(rest.get(1), None, USAGE)?;
    // A directory of its own when none is given, removed at the end.
    let own = match rest.first() {
        Some(_) => None,
        None => Some(
            std::env::temp_dir().join(format!("ember-stateful-wordcount-{}", std::process::id())),
        ),
    };
    let checkpoint = match (&own, rest.first()) {
        (Some(dir), _) => dir.to_string_lossy().into_owned(),
        (None, dir) => dir.cloned().unwrap_or_default(),
    };
    let ssc = StreamingContext::new(ctx, Duration::from_secs(1))?;
    ssc.checkpoint(&checkpoint)?;
    let initial = ctx.parallelize(
        vec![("hello".to_string(), 1u64), ("world".to_string(), 1)],
        1,
    );
    let spec = StateSpec::function(Fn!(
        |word: String, one: Option<u64>, state: &mut State<u64>| {
            let total = one.unwrap_or(0) + state.get().copied().unwrap_or(0);
            state.update(total);
            (word, total)
        }
    ))
    .initial_state(initial);
    let counts = word_ones(&ssc.socket_text_stream(host, port)).map_with_state(spec);
    counts.print(10);
    let last: Arc<Mutex<Option<StateSummary>>> = Arc::default();
    let into = last.clone();
    counts.state_snapshots().foreach_rdd(move |rdd, _| {
        let snapshot = rdd.collect()?;
        let summary = StateSummary {
            words: snapshot.len() as u64,
            total: snapshot.iter().map(|(_, n)| n).sum(),
        };
        *into.lock().unwrap_or_else(PoisonError::into_inner) = Some(summary);
        Ok(())
    });
    let outcome = run_for(&ssc, run_seconds);
    if let Some(dir) = own {
        let _ = std::fs::remove_dir_all(dir);
    }
    outcome?;
    let summary = *last.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(summary.unwrap_or(StateSummary { words: 0, total: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streaming::test_server::serve;

    #[test]
    fn totals_every_word_sent_on_top_of_hello_and_world() {
        let rounds = vec![vec!["to be or".to_string(), "not to be".to_string()]; 3];
        let port = serve(rounds, Duration::from_millis(500));
        let ctx = Context::with_master("local[2]").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "127.0.0.1",
            &port.to_string(),
            dir.path().to_str().unwrap(),
            "4",
        ]
        .map(String::from);
        let summary = run(&ctx, &args).unwrap();
        // to, be, or, not and the two initial words; 18 words sent and the initial 2.
        assert_eq!(
            summary,
            StateSummary {
                words: 6,
                total: 20
            },
            "{summary}"
        );
    }
}
