//! Streams read from the mini cluster's HDFS and S3: `text_file_stream` on the system clock
//! takes each file moved into the directory once, and the lines of all batches are the lines
//! written, each once.

use ember_core::Fn;
use ember_integration::{context, create_bucket, put, unique};
use ember_streaming::StreamingContext;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FILES: usize = 6;

fn lines_of(file: usize) -> Vec<String> {
    (0..50).map(|i| format!("file {file} line {i}")).collect()
}

/// Streams `dir` on `master` while files are written into it a few hundred milliseconds
/// apart; returns every line the batches saw, and how many batches had lines.
fn stream_directory(master: &str, dir: &str) -> (Vec<String>, usize) {
    // The directory must exist before the stream starts; a hidden file makes it.
    put(&format!("{dir}/_started"), "");
    let ctx = context(master, &[]);
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(500)).unwrap();
    let seen = Arc::new(Mutex::new((Vec::new(), 0)));
    let sink = seen.clone();
    ssc.text_file_stream(dir)
        .unwrap()
        .map(Fn!(|l: String| l.to_uppercase()))
        .foreach_rdd(move |rdd, _| {
            let lines = rdd.collect()?;
            let mut seen = sink.lock().unwrap();
            seen.1 += usize::from(!lines.is_empty());
            seen.0.extend(lines);
            Ok(())
        });
    ssc.start().unwrap();
    // S3 gives modification times in whole seconds: a file written within the stream's first
    // second could look older than the stream, and would be skipped as Spark skips it.
    std::thread::sleep(Duration::from_millis(1100));
    for file in 0..FILES {
        std::thread::sleep(Duration::from_millis(300));
        put(
            &format!("{dir}/part-{file}.txt"),
            lines_of(file).join("\n") + "\n",
        );
    }
    let want = FILES * lines_of(0).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().0.len() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two more batches: a file read twice would show now.
    std::thread::sleep(Duration::from_millis(1200));
    ssc.stop(true, true);
    let (mut lines, batches) = seen.lock().unwrap().clone();
    lines.sort();
    (lines, batches)
}

fn want() -> Vec<String> {
    let mut want: Vec<String> = (0..FILES)
        .flat_map(lines_of)
        .map(|l| l.to_uppercase())
        .collect();
    want.sort();
    want
}

#[test]
fn files_moved_into_hdfs_are_streamed_once_each() {
    let dir = format!("hdfs:///user/ember/{}", unique("stream-in"));
    let (lines, batches) = stream_directory("local-cluster[2,1,512]", &dir);
    assert_eq!(lines, want());
    assert!(
        batches >= 2,
        "the files should arrive over several batches, not {batches}"
    );
}

#[test]
fn files_put_into_s3_are_streamed_once_each() {
    let bucket = unique("stream").to_lowercase();
    create_bucket(&bucket);
    let (lines, _) = stream_directory("local[2]", &format!("s3a://{bucket}/in"));
    assert_eq!(lines, want());
}
