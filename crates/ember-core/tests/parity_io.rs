//! RDD input and output beyond text and sequence files, each against plain Rust on `local[2]`
//! and on `local-cluster`, with empty partitions: `pipe` through real commands (and commands
//! that fail or do not exist), `binary_files`, object files, `count_approx_distinct` and
//! `count_approx`.

use ember_core::conf::keys;
use ember_core::rdd::PipeOptions;
use ember_core::{Context, EmberConf, Fn, Rdd};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2,1,512]"];

fn context(master: &str) -> Context {
    Context::new(
        EmberConf::empty()
            .set_master(master)
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .unwrap()
}

/// Words in 7 partitions, some empty, then 2 more empty ones.
fn words(ctx: &Context) -> (Rdd<String>, Vec<String>) {
    let words: Vec<String> = ["ember", "Spark", "rdd", "", "pipe", "x y z", "ünïcode"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    let rdd = ctx
        .parallelize(words.clone(), 7)
        .union(&ctx.parallelize(vec![], 2));
    // Uneven: parallelize puts one word in each of 7 partitions; empty ones follow.
    let rdd = rdd.filter(Fn!(|w: &String| w != "rdd"));
    let kept = words.into_iter().filter(|w| w != "rdd").collect();
    (rdd, kept)
}

fn error_of<T: std::fmt::Debug>(result: ember_core::Result<T>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn pipe_runs_each_partition_through_the_command_as_lines() {
    for master in MASTERS {
        let ctx = context(master);
        let (rdd, words) = words(&ctx);
        assert_eq!(rdd.pipe("cat").collect().unwrap(), words, "{master}");
        let upper: Vec<String> = words
            .iter()
            .map(|w| {
                w.chars()
                    .map(|c| {
                        if c.is_ascii_lowercase() {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect()
            })
            .collect();
        assert_eq!(rdd.pipe("tr a-z A-Z").collect().unwrap(), upper, "{master}");

        // One line per partition, empty partitions included: the command runs once for each.
        let sizes: Vec<String> = rdd
            .glom()
            .collect()
            .unwrap()
            .iter()
            .map(|p| p.len().to_string())
            .collect();
        assert_eq!(sizes.len(), 9);
        let counted: Vec<String> = rdd
            .pipe("wc -l")
            .collect()
            .unwrap()
            .iter()
            .map(|l| l.trim().to_string())
            .collect();
        assert_eq!(counted, sizes, "{master}");

        // Argv as given, environment added, and the partition's index.
        let options = PipeOptions::new([
            "sh",
            "-c",
            "while read l; do echo \"$TAG$EMBER_PARTITION_ID:$l\"; done",
        ])
        .env("TAG", "t");
        let numbers = ctx.parallelize((0..6).collect::<Vec<i32>>(), 3);
        let tagged = numbers.pipe_with(options).collect().unwrap();
        let want: Vec<String> = (0..6).map(|i| format!("t{}:{i}", i / 2)).collect();
        assert_eq!(tagged, want, "{master}");
    }
}

#[test]
fn a_command_that_writes_before_it_reads_cannot_deadlock() {
    for master in MASTERS {
        let ctx = context(master);
        // Two megabytes out (20 000 lines of 99 bytes) before a byte is read, then a megabyte
        // in: with either pipe left
        // undrained, command and task would wait on each other forever.
        let options = PipeOptions::new([
            "sh",
            "-c",
            "head -c 1980000 /dev/zero | tr '\\0' 'x' | fold -w 99; echo; cat",
        ]);
        let input: Vec<String> = (0..20_000).map(|i| format!("{i:049}")).collect();
        let started = Instant::now();
        let out = ctx
            .parallelize(input.clone(), 2)
            .pipe_with(options)
            .filter(Fn!(|l: &String| !l.starts_with('x')))
            .collect()
            .unwrap();
        assert!(
            out == input,
            "{master}: {} lines of {}",
            out.len(),
            input.len()
        );
        assert!(started.elapsed() < Duration::from_secs(120), "{master}");
        // A command that stops reading early, and an iterator that stops early.
        let first = ctx
            .parallelize((0..100_000).collect::<Vec<u32>>(), 2)
            .pipe("head -n 1")
            .collect()
            .unwrap();
        assert_eq!(first, ["0", "50000"], "{master}");
        let endless = ctx.parallelize(vec![0], 1).pipe("yes").take(3).unwrap();
        assert_eq!(endless, ["y", "y", "y"], "{master}");
    }
}

#[test]
fn a_failing_command_fails_the_job_with_its_status_and_stderr() {
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.parallelize(vec![1, 2, 3], 2);
        let failing = PipeOptions::new(["sh", "-c", "echo 'disk full' >&2; exit 3"]);
        let err = error_of(rdd.pipe_with(failing).collect());
        assert!(
            err.contains(
                "subprocess exited with status 3. command ran: sh -c echo 'disk full' >&2; exit 3"
            ),
            "{master}: {err}"
        );
        assert!(err.contains("disk full"), "{master}: {err}");

        let err = error_of(rdd.pipe("no-such-command-for-ember --flag").collect());
        assert!(
            err.contains("cannot run program \"no-such-command-for-ember\""),
            "{master}: {err}"
        );
        assert!(err.contains("PATH"), "{master}: {err}");
        let err = error_of(rdd.pipe("  ").collect());
        assert!(err.contains("empty"), "{master}: {err}");
        // An RDD without partitions starts no command at all.
        let none = ctx.empty::<i32>().pipe("no-such-command-for-ember");
        assert_eq!(none.count().unwrap(), 0, "{master}");
    }
}

/// Files of varied bytes, an empty one, a gzip one, and files Hadoop skips.
fn binary_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut want = BTreeMap::new();
    for (name, bytes) in [
        ("a.bin", (0..=255u8).collect::<Vec<u8>>()),
        ("b.bin", Vec::new()),
        ("c.bin", vec![0xff; 100_000]),
        (
            "d.txt.gz",
            vec![
                0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
        ("e.bin", b"line\r\nnot utf-8: \xc3\x28".to_vec()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        want.insert(format!("file:{}", path.display()), bytes);
    }
    std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
    std::fs::write(dir.join(".a.bin.crc"), b"crc").unwrap();
    want
}

#[test]
fn binary_files_are_read_whole_as_stored_and_named_as_whole_text_files_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let want = binary_dir(dir.path());
    for master in MASTERS {
        let ctx = context(master);
        let path = dir.path().to_str().unwrap();
        for min_partitions in [0, 1, 3, 10] {
            let files = ctx.binary_files(path, min_partitions).unwrap();
            let got: BTreeMap<String, Vec<u8>> = files.collect().unwrap().into_iter().collect();
            assert_eq!(got, want, "{master}, {min_partitions} partitions");
        }
        let texts: Vec<String> = ctx
            .whole_text_files(path, 2)
            .unwrap()
            .keys()
            .collect()
            .unwrap();
        assert_eq!(
            texts.into_iter().collect::<HashSet<_>>(),
            want.keys().cloned().collect::<HashSet<_>>()
        );
        let glob = format!("{path}/*.bin");
        assert_eq!(ctx.binary_files(&glob, 2).unwrap().count().unwrap(), 4);
        let err = error_of(ctx.binary_files(&format!("{path}/nope"), 2));
        assert!(err.contains("input path does not exist"), "{err}");
    }
}

type Row = (String, Vec<i32>, Option<f64>);

fn rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let v = (0..i as i32 % 5).collect();
            let f = (i % 3 != 0).then_some(i as f64 / 4.0);
            (format!("row-{i}"), v, f)
        })
        .collect()
}

#[test]
fn object_files_are_sequence_files_of_batches_of_ten_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for (m, master) in MASTERS.iter().enumerate() {
        let ctx = context(master);
        let data = rows(47);
        // 47 rows in 6 partitions and 3 empty ones.
        let rdd = ctx
            .parallelize(data.clone(), 6)
            .union(&ctx.parallelize(vec![], 3));
        let out = dir.path().join(format!("objects-{m}"));
        let out = out.to_str().unwrap();
        rdd.save_as_object_file(out).unwrap();

        let back = ctx.object_file::<Row>(out, 0).unwrap();
        assert_eq!(back.collect().unwrap(), data, "{master}");
        assert_eq!(ctx.object_file::<Row>(out, 5).unwrap().count().unwrap(), 47);

        // The files are sequence files of Spark's classes: one record per batch of 10 of a
        // partition, one part file per partition, empty ones included.
        let batches: u64 = rdd
            .glom()
            .collect()
            .unwrap()
            .iter()
            .map(|p| p.len().div_ceil(10) as u64)
            .sum();
        let records = ctx.sequence_file::<(), Vec<u8>>(out, 0).unwrap();
        assert_eq!(records.count().unwrap(), batches, "{master}");
        let parts = std::fs::read_dir(out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("part-")
            })
            .count();
        assert_eq!(parts, 9);
        let part = std::fs::read(Path::new(out).join("part-00000")).unwrap();
        let classes = String::from_utf8_lossy(&part[..80]).to_string();
        assert!(
            classes.contains("org.apache.hadoop.io.NullWritable")
                && classes.contains("org.apache.hadoop.io.BytesWritable"),
            "{classes}"
        );

        let err = error_of(rdd.save_as_object_file(out));
        assert!(err.contains("already exists"), "{err}");
        let err = error_of(ctx.object_file::<u64>(out, 0).unwrap().collect());
        assert!(err.contains("does not decode as"), "{master}: {err}");
        let err = error_of(ctx.object_file::<u64>(&format!("{out}-missing"), 0));
        assert!(err.contains("input path does not exist"), "{err}");

        let empty = dir.path().join(format!("empty-{m}"));
        let empty = empty.to_str().unwrap();
        ctx.parallelize(Vec::<u8>::new(), 2)
            .save_as_object_file(empty)
            .unwrap();
        assert!(ctx
            .object_file::<u8>(empty, 0)
            .unwrap()
            .collect()
            .unwrap()
            .is_empty());
    }
}

/// Spark's precision for `relative_sd`, and the sketch's standard error at it.
fn standard_error(relative_sd: f64) -> f64 {
    let p = (2.0 * (1.054 / relative_sd).log2()).ceil().max(4.0);
    1.04 / 2f64.powf(p).sqrt()
}

#[test]
fn count_approx_distinct_is_within_three_standard_errors() {
    let n = 100_000u64;
    for master in MASTERS {
        let ctx = context(master);
        // Every value three times, in 8 partitions and 2 empty ones.
        let ints = ctx
            .range(0, 3 * n as i64, 1, 8)
            .unwrap()
            .map(Fn!(|x: i64| x % 100_000))
            .union(&ctx.parallelize(vec![], 2));
        let strings = ints.map(Fn!(|x: i64| format!("user-{x}")));
        for relative_sd in [0.05, 0.01] {
            let allowed = 3.0 * standard_error(relative_sd) * n as f64;
            for estimate in [
                ints.count_approx_distinct(relative_sd).unwrap(),
                strings.count_approx_distinct(relative_sd).unwrap(),
            ] {
                let error = (estimate as f64 - n as f64).abs();
                assert!(error <= allowed, "{master} at {relative_sd}: {estimate}");
            }
        }
        let few = ctx.parallelize(vec![7, 7, 8, 9, 9, 9], 4);
        assert_eq!(few.count_approx_distinct(0.05).unwrap(), 3, "{master}");
        let empty = ctx.parallelize(Vec::<i32>::new(), 3);
        assert_eq!(empty.count_approx_distinct(0.05).unwrap(), 0);

        let err = error_of(ints.count_approx_distinct(0.000017));
        assert!(
            err.contains("accuracy (0.000017) must be greater than 0.000017"),
            "{err}"
        );

        // By key: 4 keys of 20 000 distinct values each, and a key with one value.
        let pairs = ctx
            .range(0, 160_000, 1, 6)
            .unwrap()
            .map(Fn!(|x: i64| (x % 4, x % 80_000)))
            .union(&ctx.parallelize(vec![(9i64, 1i64), (9, 1)], 2));
        let per_key = pairs.count_approx_distinct_by_key(0.02).unwrap();
        let mut got = per_key.collect().unwrap();
        got.sort();
        assert_eq!(got.len(), 5, "{master}");
        let allowed = 3.0 * standard_error(0.02) * 20_000.0;
        for &(k, estimate) in &got[..4] {
            assert!(
                (estimate as f64 - 20_000.0).abs() <= allowed,
                "{master} key {k}: {estimate}"
            );
        }
        assert_eq!(got[4], (9, 1));
    }
}

#[test]
fn count_approx_is_exact_when_every_partition_is_counted_in_time() {
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx
            .parallelize((0..1234).collect::<Vec<u32>>(), 5)
            .union(&ctx.parallelize(vec![], 2));
        let count = rdd.count_approx(Duration::from_secs(600), 0.9).unwrap();
        assert_eq!(
            (count.low, count.mean, count.high, count.confidence),
            (1234.0, 1234.0, 1234.0, 1.0),
            "{master}"
        );
        assert!(!count.timed_out);
        assert_eq!(count.to_string(), "[1234.000, 1234.000]");
        let empty = ctx.parallelize(Vec::<u8>::new(), 2);
        assert_eq!(
            empty
                .count_approx(Duration::from_secs(60), 0.5)
                .unwrap()
                .high,
            0.0
        );
        let err = error_of(rdd.count_approx(Duration::from_secs(1), 1.5));
        assert!(err.contains("confidence (1.5)"), "{err}");
    }
}

#[test]
fn count_approx_past_its_timeout_estimates_from_the_partitions_counted() {
    // Enough slots for every task at once: half the partitions finish at once, half take 8 s.
    for master in ["local[8]", "local-cluster[2,4,512]"] {
        let ctx = context(master);
        let rdd = ctx
            .parallelize((0..800).collect::<Vec<u32>>(), 8)
            .map_partitions_with_index(Fn!(|p: usize, xs: ember_core::BoxIter<u32>| {
                if p % 2 == 1 {
                    std::thread::sleep(std::time::Duration::from_secs(8));
                }
                xs.collect::<Vec<_>>()
            }));
        let started = std::time::Instant::now();
        let count = rdd.count_approx(Duration::from_secs(3), 0.95).unwrap();
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(7),
            "{master}: waited {waited:?}, past the slow tasks"
        );
        assert!(count.timed_out, "{master}");
        assert_eq!(count.confidence, 0.95);
        // Four of eight partitions of 100 seen: 800 expected, the truth inside the bounds.
        assert_eq!(count.mean, 800.0, "{master}: {count:?}");
        assert!(
            count.low >= 400.0 && count.low < 800.0,
            "{master}: {count:?}"
        );
        assert!(count.high > 800.0, "{master}: {count:?}");
    }
}
