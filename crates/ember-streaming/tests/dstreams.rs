//! DStream operations batch by batch on a manual clock, each result compared with a plain-Rust
//! computation over the same batches: per batch, windowed (sliding and tumbling, with and
//! without an inverse function), stateful and joined, on `local[2]` and `local-cluster`.

mod support;

use ember_core::Fn;
use ember_core::{Data, Rdd};
use ember_streaming::{DStream, Time};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{queue, Driven};

const SECOND: Duration = Duration::from_secs(1);

/// The words of batch `i` (1-based): a few of a small vocabulary, more in some batches than
/// others, none in batch 5.
fn words(i: usize) -> Vec<String> {
    let vocabulary = ["ember", "spark", "yarn", "hdfs", "stream"];
    let n = if i == 5 { 0 } else { (i * 7) % 11 + 1 };
    (0..n)
        .map(|j| vocabulary[(i * 3 + j * j) % vocabulary.len()].to_string())
        .collect()
}

fn count(words: impl IntoIterator<Item = String>) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for w in words {
        *counts.entry(w).or_insert(0u64) += 1;
    }
    counts.into_iter().collect()
}

/// The words of the batches `(t - window, t]`, in seconds.
fn window_words(t: usize, window: usize) -> Vec<String> {
    ((t.saturating_sub(window) + 1)..=t)
        .flat_map(words)
        .collect()
}

/// Collects each batch's elements, sorted, by batch time in seconds.
pub fn collect_sorted<T: Data + Ord>(stream: &DStream<T>) -> Arc<Mutex<BTreeMap<i64, Vec<T>>>> {
    let got = Arc::new(Mutex::new(BTreeMap::new()));
    let sink = got.clone();
    stream.foreach_rdd(move |rdd: &Rdd<T>, t: Time| {
        let mut batch = rdd.collect()?;
        batch.sort();
        sink.lock().unwrap().insert(t.millis() / 1000, batch);
        Ok(())
    });
    got
}

const BATCHES: usize = 12;

/// Runs `define` on a queue stream of `words(i)` for batches 1..=BATCHES and returns what it
/// collected.
fn run<T: ember_core::Data + Ord>(
    master: &str,
    define: impl FnOnce(&ember_streaming::DStream<String>) -> ember_streaming::DStream<T>,
) -> BTreeMap<i64, Vec<T>> {
    let mut driven = Driven::new(master);
    let dir = tempfile::tempdir().unwrap();
    driven.ssc.checkpoint(dir.path().to_str().unwrap()).unwrap();
    let (input, stream) = queue::<String>(&driven.ssc);
    let got = collect_sorted(&define(&stream));
    driven.ssc.start().unwrap();
    for i in 1..=BATCHES {
        input.push(driven.ctx.parallelize(words(i), 2));
        driven.step();
    }
    driven.ssc.stop(true, true);
    let got = got.lock().unwrap().clone();
    got
}

fn pairs(s: &ember_streaming::DStream<String>) -> ember_streaming::DStream<(String, u64)> {
    s.map(Fn!(|w: String| (w, 1u64)))
}

#[test]
fn word_counts_per_batch_equal_a_plain_count() {
    let got = run("local[2]", |s| {
        pairs(s).reduce_by_key(Fn!(|a: u64, b: u64| a + b))
    });
    let want: BTreeMap<i64, _> = (1..=BATCHES).map(|i| (i as i64, count(words(i)))).collect();
    assert_eq!(got, want);
}

#[test]
fn counts_per_batch_include_empty_batches() {
    let got = run("local[2]", |s| s.count());
    for i in 1..=BATCHES {
        assert_eq!(got[&(i as i64)], vec![words(i).len() as u64], "batch {i}");
    }
}

#[test]
fn sliding_windows_hold_the_batches_of_their_length() {
    let got = run("local[2]", |s| {
        pairs(s)
            .reduce_by_key_and_window(Fn!(|a: u64, b: u64| a + b), 4 * SECOND, 2 * SECOND)
            .unwrap()
    });
    let want: BTreeMap<i64, _> = (2..=BATCHES)
        .step_by(2)
        .map(|t| (t as i64, count(window_words(t, 4))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn tumbling_windows_do_not_overlap() {
    let got = run("local[2]", |s| s.window(3 * SECOND, 3 * SECOND).unwrap());
    let want: BTreeMap<i64, _> = (3..=BATCHES)
        .step_by(3)
        .map(|t| {
            let mut w = window_words(t, 3);
            w.sort();
            (t as i64, w)
        })
        .collect();
    assert_eq!(got, want);
}

/// Word counts over windows of `window` batches sliding by one, the incremental way, checked
/// against counts of each window's words.
fn check_incremental_window(master: &str, window: u32, partitions: usize) {
    let got = run(master, |s| {
        pairs(s)
            .reduce_by_key_and_window_inv(
                Fn!(|a: u64, b: u64| a + b),
                Fn!(|a: u64, b: u64| a - b),
                window * SECOND,
                SECOND,
                partitions,
                Fn!(|kv: &(String, u64)| kv.1 > 0),
            )
            .unwrap()
    });
    let want: BTreeMap<i64, _> = (1..=BATCHES)
        .map(|t| (t as i64, count(window_words(t, window as usize))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn incremental_windows_equal_windows_reduced_whole() {
    check_incremental_window("local[2]", 5, 3);
}

#[test]
fn incremental_windows_run_on_executor_processes() {
    check_incremental_window("local-cluster[2,1,512]", 3, 2);
}

#[test]
fn state_accumulates_across_batches_and_drops_keys_updated_to_none() {
    // Running totals; a key whose total passes 8 leaves the state (and starts again from
    // nothing if it comes back).
    let got = run("local[2]", |s| {
        pairs(s).update_state_by_key(
            Fn!(|new: Vec<u64>, total: Option<u64>| {
                let total = total.unwrap_or(0) + new.iter().sum::<u64>();
                (total <= 8).then_some(total)
            }),
            2,
        )
    });
    let mut want = BTreeMap::new();
    let mut totals = BTreeMap::<String, u64>::new();
    let mut dropped = 0;
    for i in 1..=BATCHES {
        for (w, n) in count(words(i)) {
            *totals.entry(w).or_default() += n;
        }
        let before = totals.len();
        totals.retain(|_, total| *total <= 8);
        dropped += before - totals.len();
        want.insert(i as i64, totals.clone().into_iter().collect::<Vec<_>>());
    }
    assert!(dropped > 0, "the input must make some key leave the state");
    assert_eq!(got, want);
}

#[test]
fn two_streams_join_batch_by_batch() {
    let got = run("local[2]", |s| {
        let counts = pairs(s).reduce_by_key(Fn!(|a: u64, b: u64| a + b));
        let lengths = s.map(Fn!(|w: String| (w.clone(), w.len())));
        counts.join(&lengths.reduce_by_key(Fn!(|a: usize, _b: usize| a)))
    });
    for i in 1..=BATCHES {
        let want: Vec<_> = count(words(i))
            .into_iter()
            .map(|(w, n)| {
                let len = w.len();
                (w, (n, len))
            })
            .collect();
        assert_eq!(got[&(i as i64)], want, "batch {i}");
    }
}

/// The count windows of `size` records sliding by `slide` over batches 1..=BATCHES, as a plain
/// computation: window k holds records k*slide..k*slide+size, emitted in the batch that
/// completes it.
fn count_windows(size: usize, slide: usize) -> BTreeMap<i64, Vec<(u64, String)>> {
    let mut seen = Vec::new();
    let mut next = 0;
    let mut out = BTreeMap::new();
    for i in 1..=BATCHES {
        seen.extend(words(i));
        let mut batch = Vec::new();
        while next * slide + size <= seen.len() {
            for w in &seen[next * slide..next * slide + size] {
                batch.push((next as u64, w.clone()));
            }
            next += 1;
        }
        batch.sort();
        out.insert(i as i64, batch);
    }
    out
}

#[test]
fn count_windows_hold_their_records_whatever_batches_they_came_in() {
    for (size, slide) in [(5, 5), (7, 3), (2, 4)] {
        // One partition per batch keeps the stream's order of records the oracle's.
        let got = run("local[2]", |s| {
            s.repartition(1)
                .count_window(size as u64, slide as u64)
                .unwrap()
        });
        assert_eq!(
            got,
            count_windows(size, slide),
            "size {size}, slide {slide}"
        );
    }
}

/// Calls of the reduce (and inverse) functions for a keyed window of 32 batches over 40
/// batches of 40 pairs on 5 keys, the whole-window or the incremental way.
fn window_reduce_calls(incremental: bool) -> u64 {
    let mut driven = Driven::new("local[2]");
    let dir = tempfile::tempdir().unwrap();
    driven.ssc.checkpoint(dir.path().to_str().unwrap()).unwrap();
    let (input, stream) = queue::<(u32, u64)>(&driven.ssc);
    let calls = driven.ctx.long_accumulator();
    let (add, undo) = (calls.clone(), calls.clone());
    let reduce = Fn!(move |a: u64, b: u64| {
        add.add(1);
        a + b
    });
    let (window, slide) = (32 * SECOND, SECOND);
    let windowed = if incremental {
        stream
            .reduce_by_key_and_window_inv(
                reduce,
                Fn!(move |a: u64, b: u64| {
                    undo.add(1);
                    a - b
                }),
                window,
                slide,
                2,
                Fn!(|kv: &(u32, u64)| kv.1 > 0),
            )
            .unwrap()
    } else {
        stream
            .reduce_by_key_and_window(reduce, window, slide)
            .unwrap()
    };
    windowed.foreach_rdd(|rdd, _| {
        assert_eq!(rdd.count()?, 5, "every key in every window");
        Ok(())
    });
    driven.ssc.start().unwrap();
    for i in 0..40u64 {
        let pairs: Vec<(u32, u64)> = (0..40).map(|j| ((j % 5) as u32, i + j)).collect();
        input.push(driven.ctx.parallelize(pairs, 2));
        driven.step();
    }
    driven.ssc.stop(true, true);
    calls.value() as u64
}

#[test]
fn incremental_windows_do_not_reduce_the_whole_window_each_slide() {
    let whole = window_reduce_calls(false);
    let incremental = window_reduce_calls(true);
    eprintln!("reduce calls over 40 batches: whole {whole}, incremental {incremental}");
    // Both reduce each batch once; then, each slide, whole windows merge every key's 32
    // batch values again, incremental ones add the batch that entered and take out the one
    // that left.
    assert!(
        incremental * 2 < whole,
        "incremental windows made {incremental} reduce calls against {whole} for whole ones"
    );
}

#[test]
fn map_with_state_maps_each_record_with_its_keys_state_and_times_idle_keys_out() {
    use ember_streaming::{State, StateSpec};
    // Each word maps to its running total; a word unseen for 3 batches maps once more to
    // (word, 0) and loses its total.
    let spec = StateSpec::function(Fn!(
        |word: String, one: Option<u64>, state: &mut State<u64>| match one {
            Some(n) => {
                let total = state.get().copied().unwrap_or(0) + n;
                state.update(total);
                (word, total)
            }
            None => {
                assert!(state.is_timing_out());
                (word, 0)
            }
        }
    ))
    .num_partitions(2)
    .timeout(3 * SECOND);
    let mut driven = Driven::new("local[2]");
    let dir = tempfile::tempdir().unwrap();
    driven.ssc.checkpoint(dir.path().to_str().unwrap()).unwrap();
    let (input, stream) = queue::<String>(&driven.ssc);
    let mapped = pairs(&stream).map_with_state(spec);
    let got = collect_sorted(&mapped);
    let snapshots = collect_sorted(&mapped.state_snapshots());
    driven.ssc.start().unwrap();
    for i in 1..=BATCHES {
        input.push(driven.ctx.parallelize(words(i), 2));
        driven.step();
    }
    driven.ssc.stop(true, true);

    let (mut want, mut want_snapshots) = (BTreeMap::new(), BTreeMap::new());
    let mut totals = BTreeMap::<String, (u64, usize)>::new();
    let mut timeouts = 0;
    for i in 1..=BATCHES {
        let mut batch = Vec::new();
        for w in words(i) {
            let entry = totals.entry(w.clone()).or_insert((0, i));
            *entry = (entry.0 + 1, i);
            batch.push((w, entry.0));
        }
        let idle: Vec<String> = totals
            .iter()
            .filter(|(_, &(_, last))| i - last >= 3)
            .map(|(w, _)| w.clone())
            .collect();
        for w in idle {
            totals.remove(&w);
            batch.push((w, 0));
            timeouts += 1;
        }
        batch.sort();
        want.insert(i as i64, batch);
        let snapshot: Vec<(String, u64)> =
            totals.iter().map(|(w, &(n, _))| (w.clone(), n)).collect();
        want_snapshots.insert(i as i64, snapshot);
    }
    assert!(
        timeouts > 0,
        "the input must leave some word idle for 3 batches"
    );
    assert_eq!(*got.lock().unwrap(), want);
    assert_eq!(*snapshots.lock().unwrap(), want_snapshots);
}

#[test]
fn batches_saved_as_text_files_land_in_a_directory_per_batch() {
    let mut driven = Driven::new("local[2]");
    let out = tempfile::tempdir().unwrap();
    let prefix = out.path().join("counts");
    let (input, stream) = queue::<String>(&driven.ssc);
    stream
        .map(Fn!(|w: String| format!("{w}!")))
        .save_as_text_files(prefix.to_str().unwrap(), "txt");
    driven.ssc.start().unwrap();
    for i in 1..=3 {
        input.push(driven.ctx.parallelize(words(i), 2));
        driven.step();
    }
    driven.ssc.stop(true, true);
    for i in 1..=3 {
        let dir = format!("{}-{}.txt", prefix.display(), i * 1000);
        assert!(
            std::path::Path::new(&dir).join("_SUCCESS").exists(),
            "{dir}"
        );
        let mut lines: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("part-")
            })
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.sort();
        let mut want: Vec<String> = words(i).into_iter().map(|w| format!("{w}!")).collect();
        want.sort();
        assert_eq!(lines, want, "batch {i}");
    }
}

/// Every window a count window emitted, in order: `(window, its records sorted)`.
type Emitted = Arc<Mutex<Vec<(u64, Vec<String>)>>>;

/// A stream of the lines of the files moved into `input`, in count windows of 4 sliding by 3,
/// on `clock`.
fn counted_lines(
    ctx: &ember_core::Context,
    clock: &ember_streaming::ManualClock,
    input: &str,
    emitted: &Emitted,
) -> ember_core::Result<ember_streaming::StreamingContext> {
    let ssc = ember_streaming::StreamingContext::with_clock(ctx, SECOND, clock.clone())?;
    let sink = emitted.clone();
    ssc.text_file_stream(input)?
        .count_window(4, 3)?
        .foreach_rdd(move |rdd, _| {
            let mut windows: BTreeMap<u64, Vec<String>> = BTreeMap::new();
            for (k, line) in rdd.collect()? {
                windows.entry(k).or_default().push(line);
            }
            for (k, mut lines) in windows {
                lines.sort();
                sink.lock().unwrap().push((k, lines));
            }
            Ok(())
        });
    Ok(ssc)
}

/// File `i` of the count window recovery test: 2, 3 or 4 lines, in the batch of `ms`.
fn write_numbered(dir: &std::path::Path, i: usize, ms: u64) -> Vec<String> {
    let lines: Vec<String> = (0..2 + i % 3).map(|j| format!("f{i}-{j}")).collect();
    let path = dir.join(format!("f{i}.txt"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(std::time::UNIX_EPOCH + Duration::from_millis(ms))
        .unwrap();
    lines
}

#[test]
fn a_recovered_count_window_numbers_on_from_its_checkpoint() {
    let (input, checkpoint) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (input_dir, checkpoint_dir) = (
        input.path().to_str().unwrap(),
        checkpoint.path().to_str().unwrap(),
    );
    let emitted = Emitted::default();
    let mut sent = Vec::new();
    let driver = |at_ms: i64| {
        let ctx = support::context("local[2]");
        let clock = ember_streaming::ManualClock::new(Time::from_millis(at_ms));
        let ssc = ember_streaming::StreamingContext::get_or_create(checkpoint_dir, || {
            counted_lines(&ctx, &clock, input_dir, &emitted)
        })
        .unwrap();
        let batches = support::BatchCounter::default();
        ssc.add_streaming_listener(batches.clone());
        ssc.start().unwrap();
        (ssc, clock, batches)
    };
    // The first driver runs three batches, then dies.
    let (ssc, clock, batches) = driver(10_000);
    for i in 0..3 {
        sent.extend(write_numbered(input.path(), i, 10_500 + 1_000 * i as u64));
        clock.advance(SECOND);
        batches.wait_for(i + 1);
    }
    ssc.stop(true, false);
    // It died before the checkpoint of its last batch was written: that batch runs again.
    let mut written: Vec<_> = std::fs::read_dir(checkpoint.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("checkpoint-")
        })
        .collect();
    written.sort();
    std::fs::remove_file(written.last().unwrap()).unwrap();
    // The second driver recovers and runs on.
    let (ssc, clock, batches) = driver(13_000);
    batches.wait_for(1);
    for i in 3..6 {
        sent.extend(write_numbered(
            input.path(),
            i,
            13_500 + 1_000 * (i as u64 - 3),
        ));
        clock.advance(SECOND);
        batches.wait_for(i - 1);
    }
    ssc.stop(true, true);
    // The oracle: windows of 4 of the 18 lines in the order sent, every 3.
    let want: BTreeMap<u64, Vec<String>> = (0..)
        .map(|k| k * 3)
        .take_while(|start| start + 4 <= sent.len())
        .map(|start| {
            let mut lines = sent[start..start + 4].to_vec();
            lines.sort();
            ((start / 3) as u64, lines)
        })
        .collect();
    let mut got = BTreeMap::new();
    for (k, lines) in emitted.lock().unwrap().iter() {
        // A window the replayed batch emitted again is the same window.
        if let Some(before) = got.insert(*k, lines.clone()) {
            assert_eq!(&before, lines, "window {k} emitted twice, differently");
        }
    }
    assert_eq!(got, want);
}
