//! Streams read from the mini cluster's HDFS and S3: `text_file_stream` on the system clock
//! takes each file moved into the directory once, the lines of all batches are the lines
//! written, each once, and every batch's windowed, stateful and joined word counts equal a
//! plain-Rust oracle over the lines it read.

use ember_core::Fn;
use ember_integration::{context, create_bucket, put, unique};
use ember_streaming::{DStream, StreamingContext, Time};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FILES: usize = 6;

const BATCH: Duration = Duration::from_millis(500);

fn lines_of(file: usize) -> Vec<String> {
    (0..50).map(|i| format!("file {file} line {i}")).collect()
}

type PerBatch<T> = Arc<Mutex<BTreeMap<Time, Vec<T>>>>;

/// Keeps every batch's RDD of `stream`, collected and sorted, by batch time.
fn capture<T: ember_core::Data + Ord>(stream: &DStream<T>) -> PerBatch<T> {
    let kept: PerBatch<T> = Arc::default();
    let into = kept.clone();
    stream.foreach_rdd(move |rdd, time| {
        let mut values = rdd.collect()?;
        values.sort();
        into.lock().unwrap().insert(time, values);
        Ok(())
    });
    kept
}

/// Word counts of `lines`, sorted by word.
fn count_words<'a>(lines: impl IntoIterator<Item = &'a String>) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for word in lines.into_iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// Streams `dir` on `master` while files are written into it a few hundred milliseconds
/// apart, counting words per batch, over a window of three batches, in state (checkpointed
/// beside `dir`) and the batch's counts joined with the window's; checks each batch's results
/// against a plain-Rust oracle over the lines the batch read. Returns every line the batches
/// saw, and how many batches had lines.
fn stream_directory(master: &str, dir: &str) -> (Vec<String>, usize) {
    // The directory must exist before the stream starts; a hidden file makes it.
    put(&format!("{dir}/_started"), "");
    let ctx = context(master, &[]);
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    ssc.checkpoint(&format!("{dir}-checkpoint")).unwrap();
    let lines = ssc
        .text_file_stream(dir)
        .unwrap()
        .map(Fn!(|l: String| l.to_uppercase()));
    let pairs = lines
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(String::from)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)));
    let add = Fn!(|a: u64, b: u64| a + b);
    let batch_counts = pairs.reduce_by_key(add);
    let window_counts = pairs
        .reduce_by_key_and_window(add, 3 * BATCH, BATCH)
        .unwrap();
    let totals = pairs.update_state_by_key(
        Fn!(|new: Vec<u64>, total: Option<u64>| Some(total.unwrap_or(0) + new.iter().sum::<u64>())),
        2,
    );
    let (inputs, counts, windowed, totals, joined) = (
        capture(&lines),
        capture(&batch_counts),
        capture(&window_counts),
        capture(&totals),
        capture(&batch_counts.join(&window_counts)),
    );
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
    let seen = || inputs.lock().unwrap().values().map(Vec::len).sum::<usize>();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two more batches: a file read twice would show now.
    std::thread::sleep(Duration::from_millis(1200));
    ssc.stop(true, true);
    let inputs = inputs.lock().unwrap().clone();
    let (counts, windowed, totals, joined) = (
        counts.lock().unwrap().clone(),
        windowed.lock().unwrap().clone(),
        totals.lock().unwrap().clone(),
        joined.lock().unwrap().clone(),
    );
    let mut so_far: Vec<&String> = Vec::new();
    for (time, batch) in &inputs {
        assert_eq!(counts[time], count_words(batch), "counts of batch {time}");
        let window = inputs.range(*time - 2 * BATCH..=*time).flat_map(|(_, b)| b);
        let mut expected = count_words(window);
        let mut got = windowed[time].clone();
        got.retain(|(_, n)| *n > 0);
        assert_eq!(got, expected, "window ending at {time}");
        let window: BTreeMap<String, u64> = expected.drain(..).collect();
        let pairs: Vec<(String, (u64, u64))> = count_words(batch)
            .into_iter()
            .map(|(w, n)| (w.clone(), (n, window[&w])))
            .collect();
        assert_eq!(joined[time], pairs, "join at {time}");
        so_far.extend(batch);
        assert_eq!(
            totals[time],
            count_words(so_far.iter().copied()),
            "state at {time}"
        );
    }
    let batches = inputs.values().filter(|b| !b.is_empty()).count();
    let mut lines: Vec<String> = inputs.into_values().flatten().collect();
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
