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

use crate::streaming::{run_for, seconds, word_ones, StreamSummary};
use crate::ExampleError;
use ember::streaming::StreamingContext;
use ember::{Context, Fn};
use std::time::Duration;

const USAGE: &str = "hdfs_wordcount <directory> [batch-seconds] [run-seconds]";

/// Runs the stream over `<directory>` for `run-seconds` (forever without).
///
/// # Errors
/// Bad arguments, a directory that does not exist, or a failed batch.
pub fn run(ctx: &Context, args: &[String]) -> Result<StreamSummary, ExampleError> {
    let [directory, rest @ ..] = args else {
        return Err(ExampleError::Usage(USAGE.into()));
    };
    if rest.len() > 2 {
        return Err(ExampleError::Usage(USAGE.into()));
    }
    let batch = seconds(rest.first(), Some(2), USAGE)?.unwrap_or(2);
    let run_seconds = seconds(rest.get(1), None, USAGE)?;
    let ssc = StreamingContext::new(ctx, Duration::from_secs(batch))?;
    let counts =
        word_ones(&ssc.text_file_stream(directory)?).reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    counts.print(10);
    let summary = StreamSummary::tally("hdfs_wordcount", &counts);
    run_for(&ssc, run_seconds)?;
    Ok(summary())
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
