//! HDFS word count: counts the words of the files that appear in a directory, batch by batch
//! (Spark's `HdfsWordCount`), printing each batch's first counts.
//!
//! ```text
//! ember submit --master 'local[2]' hdfs_wordcount <directory> [batch-seconds] [run-seconds]
//! ```
//!
//! The directory may be local, `hdfs://` or `s3a://`. Move files into it whole (write them
//! elsewhere, then `mv` or `hdfs dfs -mv`; `hdfs dfs -put` is fine too): each is read once, in
//! the batch after it appears. Without `run-seconds` it runs until stopped (Ctrl-C).

use crate::ExampleError;
use ember::streaming::StreamingContext;
use ember::{Context, Fn};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a run of a streaming example saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSummary {
    /// Words counted over all batches.
    pub words: u64,
    /// Batches that had any.
    pub batches: u64,
}

impl std::fmt::Display for StreamSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "hdfs_wordcount: {} words in {} batches",
            self.words, self.batches
        )
    }
}

const USAGE: &str = "hdfs_wordcount <directory> [batch-seconds] [run-seconds]";

/// Runs the stream over `<directory>` for `run-seconds` (forever without).
///
/// # Errors
/// Bad arguments, a directory that does not exist, or a failed batch.
pub fn run(ctx: &Context, args: &[String]) -> Result<StreamSummary, ExampleError> {
    let seconds = |arg: Option<&String>, default: Option<u64>| match arg {
        None => Ok(default),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| ExampleError::Usage(format!("{USAGE} (seconds: positive numbers)"))),
    };
    let (directory, batch, run_for) = match args {
        [dir, rest @ ..] if rest.len() <= 2 => (
            dir,
            seconds(rest.first(), Some(2))?,
            seconds(rest.get(1), None)?,
        ),
        _ => return Err(ExampleError::Usage(USAGE.into())),
    };
    let ssc = StreamingContext::new(ctx, Duration::from_secs(batch.unwrap_or(2)))?;
    let counts = ssc
        .text_file_stream(directory)?
        .flat_map(Fn!(|line: String| line
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    counts.print(10);
    let (words, batches) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (w, b) = (words.clone(), batches.clone());
    counts.foreach_rdd(move |rdd, _| {
        let n: u64 = rdd
            .map(Fn!(|(_, n): (String, u64)| n))
            .collect()?
            .iter()
            .sum();
        w.fetch_add(n, Ordering::Relaxed);
        b.fetch_add(u64::from(n > 0), Ordering::Relaxed);
        Ok(())
    });
    ssc.start()?;
    let outcome = match run_for {
        Some(s) => ssc
            .await_termination_or_timeout(Duration::from_secs(s))
            .map(|_| ()),
        None => ssc.await_termination(),
    };
    ssc.stop(false, true);
    outcome?;
    Ok(StreamSummary {
        words: words.load(Ordering::Relaxed),
        batches: batches.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_words_of_files_moved_in_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let staging = tempfile::tempdir().unwrap();
        let target = dir.path().to_path_buf();
        let writer = std::thread::spawn(move || {
            for i in 0..3 {
                std::thread::sleep(Duration::from_millis(700));
                let file = staging.path().join(format!("f{i}"));
                std::fs::write(&file, "to be or\nnot to be\n").unwrap();
                std::fs::rename(&file, target.join(format!("f{i}"))).unwrap();
            }
        });
        let ctx = Context::with_master("local[2]").unwrap();
        let args = [dir.path().to_str().unwrap(), "1", "4"].map(String::from);
        let summary = run(&ctx, &args).unwrap();
        writer.join().unwrap();
        assert_eq!(summary.words, 18, "{summary}");
        assert!(summary.batches >= 2, "{summary}");
    }

    #[test]
    fn a_missing_directory_and_bad_seconds_are_refused() {
        let ctx = Context::with_master("local[1]").unwrap();
        let err = run(&ctx, &["/no/such/dir".to_string()]).unwrap_err();
        assert!(
            err.to_string().contains("directory does not exist"),
            "{err}"
        );
        let err = run(&ctx, &["/tmp".to_string(), "0".to_string()]).unwrap_err();
        assert!(err.to_string().contains("positive numbers"), "{err}");
    }
}
