//! The engine's promises beyond single operations: retries, failure messages, caching and
//! recomputation, spilling under a tiny memory budget, shuffle reuse and recovery, accumulators,
//! broadcast variables, text input and committed output.

#[path = "support/files.rs"]
mod support;
use ember_core::conf::keys;
use ember_core::{Context, EmberConf, Error, Fn, HashPartitioner, StorageLevel};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::names_in;

fn local(threads: usize) -> Context {
    Context::new(conf(threads)).unwrap()
}

/// `local[threads]` trying each task up to four times (`local[N]` tries once, as Spark's).
fn retrying(threads: usize) -> Context {
    Context::new(conf(threads).set(keys::TASK_MAX_FAILURES.key, "4")).unwrap()
}

fn conf(threads: usize) -> EmberConf {
    EmberConf::empty()
        .set_master(&format!("local[{threads}]"))
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
}

#[test]
fn a_closure_that_fails_its_first_attempt_succeeds_on_retry() {
    let ctx = retrying(2);
    let doubled = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .map_partitions_with_index(Fn!(|p: usize, it: ember_core::BoxIter<i32>| {
            let tc = ember_core::TaskContext::get().unwrap();
            if p == 2 && tc.attempt_number == 0 {
                panic!("flaky partition {p}");
            }
            it.map(|x| x * 2).collect::<Vec<_>>()
        }));
    let got = doubled.collect().unwrap();
    assert_eq!(got, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    let summary = ctx.last_job_summary().unwrap();
    assert_eq!(summary.failed_tasks, 1);
    assert_eq!(summary.tasks, 5);
}

#[test]
fn a_task_that_always_fails_aborts_the_job_with_stage_partition_and_message() {
    let ctx = Context::new(conf(2).set(keys::TASK_MAX_FAILURES.key, "3")).unwrap();
    let rdd = ctx
        .parallelize((0..10).collect::<Vec<i32>>(), 2)
        .map(Fn!(|x: i32| {
            if x == 7 {
                panic!("bad record {x}");
            }
            x
        }));
    let err = rdd.collect().unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::JobAborted { .. }), "{message}");
    assert!(
        message.contains("task 1 in stage 0.0 failed 3 times"),
        "{message}"
    );
    assert!(message.contains("bad record 7"), "{message}");
    assert!(
        message.contains("engine.rs"),
        "the panic location is named: {message}"
    );
    assert_eq!(ctx.last_job_summary().unwrap().failed_tasks, 3);
    // The Context runs another job afterwards.
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}

#[test]
fn local_n_f_sets_the_attempts_per_task() {
    let ctx = Context::new(EmberConf::empty().set_master("local[2,1]")).unwrap();
    let err = ctx
        .parallelize(vec![1], 1)
        .map(Fn!(|x: i32| {
            assert!(x < 0, "once is enough");
            x
        }))
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("failed 1 times"), "{err}");
}

static COMPUTED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_cached_rdd_is_computed_once_across_two_actions() {
    let ctx = local(2);
    let rdd = ctx
        .parallelize((0..1000).collect::<Vec<u64>>(), 4)
        .map(Fn!(|x: u64| {
            COMPUTED.fetch_add(1, Ordering::SeqCst);
            x * 3
        }))
        .cache();
    assert_eq!(rdd.count().unwrap(), 1000);
    assert_eq!(rdd.sum().unwrap(), 3.0 * 999.0 * 1000.0 / 2.0);
    assert_eq!(
        COMPUTED.load(Ordering::SeqCst),
        1000,
        "each element computed once"
    );
    rdd.unpersist();
    assert_eq!(rdd.count().unwrap(), 1000);
    assert_eq!(
        COMPUTED.load(Ordering::SeqCst),
        2000,
        "unpersisted: computed again"
    );
}

static EVICTED_COMPUTED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn evicted_partitions_are_recomputed_from_lineage() {
    // A pool of ~600 KiB: two 40k-element RDDs cannot both stay cached.
    let ctx = Context::new(
        conf(1)
            .set(keys::EXECUTOR_MEMORY.key, "1m")
            .set(keys::RESERVED_MEMORY.key, "0"),
    )
    .unwrap();
    let first = ctx
        .parallelize((0..40_000).collect::<Vec<u64>>(), 2)
        .map(Fn!(|x: u64| {
            EVICTED_COMPUTED.fetch_add(1, Ordering::SeqCst);
            x + 1
        }))
        .persist(StorageLevel::MEMORY_ONLY);
    assert_eq!(first.count().unwrap(), 40_000);
    let second = ctx
        .parallelize((0..40_000).collect::<Vec<u64>>(), 2)
        .map(Fn!(|x: u64| x + 2))
        .cache();
    assert_eq!(second.count().unwrap(), 40_000);
    let before = EVICTED_COMPUTED.load(Ordering::SeqCst);
    let total: f64 = first.sum().unwrap();
    assert_eq!(total, (1..=40_000u64).sum::<u64>() as f64);
    assert!(
        EVICTED_COMPUTED.load(Ordering::SeqCst) > before,
        "the evicted partitions of the first RDD were recomputed"
    );
}

#[test]
fn every_storage_level_gives_the_same_answer() {
    let ctx = local(2);
    for level in [
        StorageLevel::MEMORY_ONLY,
        StorageLevel::MEMORY_ONLY_SER,
        StorageLevel::MEMORY_AND_DISK,
        StorageLevel::DISK_ONLY,
    ] {
        let rdd = ctx
            .parallelize((0..500).map(|i| format!("s{i}")).collect::<Vec<_>>(), 3)
            .persist(level);
        assert_eq!(rdd.storage_level(), level);
        let a = rdd.collect().unwrap();
        let b = rdd.collect().unwrap();
        assert_eq!(a, b, "{level}");
        assert_eq!(a.len(), 500, "{level}");
    }
}

fn tiny_memory(threads: usize) -> Context {
    // The unified pool is 60% of 2 MiB: shuffles of tens of MiB must spill many times.
    Context::new(
        conf(threads)
            .set(keys::EXECUTOR_MEMORY.key, "2m")
            .set(keys::RESERVED_MEMORY.key, "0"),
    )
    .unwrap()
}

#[test]
fn a_shuffle_larger_than_memory_spills_and_is_correct() {
    let ctx = tiny_memory(2);
    let n = 300_000u64;
    let pairs = ctx
        .range(0, n as i64, 1, 4)
        .unwrap()
        .map(Fn!(|i: i64| (format!("key-{}", i % 50_000), i as u64)));
    let sums = pairs
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .collect()
        .unwrap();
    let spill = ctx.last_job_summary().unwrap().metrics;
    let mut expected: HashMap<String, u64> = HashMap::new();
    for i in 0..n {
        *expected.entry(format!("key-{}", i % 50_000)).or_default() += i;
    }
    assert_eq!(sums.len(), expected.len());
    for (k, v) in sums {
        assert_eq!(expected[&k], v, "{k}");
    }
    assert!(spill.spill_count > 0 && spill.spill_bytes > 0, "{spill:?}");
}

#[test]
fn a_shuffle_without_combine_bypasses_the_buffers_up_to_the_threshold() {
    // 4 reduce partitions: under the default threshold (200) each map task streams a file per
    // partition and never spills; with the threshold at 0 the buffers fill the 2 MiB and spill.
    let run = |threshold: &str| {
        let ctx = Context::new(
            conf(2)
                .set(keys::EXECUTOR_MEMORY.key, "2m")
                .set(keys::RESERVED_MEMORY.key, "0")
                .set(keys::SHUFFLE_BYPASS_MERGE_THRESHOLD.key, threshold),
        )
        .unwrap();
        let mut pairs = ctx
            .range(0, 200_000, 1, 3)
            .unwrap()
            .map(Fn!(|i: i64| (i % 977, format!("value-{i}"))))
            .partition_by(HashPartitioner::new(4))
            .collect()
            .unwrap();
        pairs.sort();
        (pairs, ctx.last_job_summary().unwrap().metrics.spill_count)
    };
    let (bypassed, bypass_spills) = run("200");
    let (buffered, buffer_spills) = run("0");
    let mut expected: Vec<(i64, String)> = (0..200_000)
        .map(|i| (i % 977, format!("value-{i}")))
        .collect();
    expected.sort();
    assert_eq!(bypassed, expected);
    assert_eq!(buffered, expected);
    assert_eq!(bypass_spills, 0);
    assert!(buffer_spills > 0);
}

#[test]
fn a_group_by_key_larger_than_memory_spills_and_is_correct() {
    let ctx = tiny_memory(2);
    let groups = ctx
        .range(0, 200_000, 1, 4)
        .unwrap()
        .map(Fn!(|i: i64| (i % 1000, i)))
        .group_by_key()
        .collect()
        .unwrap();
    assert!(ctx.last_job_summary().unwrap().metrics.spill_count > 0);
    assert_eq!(groups.len(), 1000);
    for (k, mut vs) in groups {
        vs.sort();
        assert_eq!(vs, (0..200).map(|j| k + 1000 * j).collect::<Vec<_>>());
    }
}

#[test]
fn a_sort_larger_than_memory_spills_and_is_correct() {
    let ctx = tiny_memory(2);
    let n = 200_000i64;
    let sorted = ctx
        .range(0, n, 1, 4)
        .unwrap()
        .map(Fn!(|i: i64| ((i * 7919) % 200_003, format!("v{i}"))))
        .sort_by_key(true, 3)
        .unwrap()
        .keys()
        .collect()
        .unwrap();
    let summary = ctx.last_job_summary().unwrap();
    assert!(summary.metrics.spill_count > 0, "{summary}");
    let mut expected: Vec<i64> = (0..n).map(|i| (i * 7919) % 200_003).collect();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn a_second_action_on_a_shuffled_rdd_does_not_redo_the_map_stage() {
    let ctx = local(2);
    let counts = ctx
        .parallelize((0..1000).map(|i| i % 10).collect::<Vec<i32>>(), 4)
        .map(Fn!(|x: i32| (x, 1)))
        .reduce_by_key(Fn!(|a: i32, b: i32| a + b));
    assert_eq!(counts.count().unwrap(), 10);
    assert_eq!(ctx.last_job_summary().unwrap().stages, 2);
    assert_eq!(counts.values().sum().unwrap(), 1000.0);
    let second = ctx.last_job_summary().unwrap();
    assert_eq!(second.stages, 1, "{second}");
    assert_eq!(second.metrics.shuffle_bytes_written, 0);
}

#[test]
fn a_lost_shuffle_file_is_recomputed_and_the_job_succeeds() {
    let ctx = local(2);
    let counts = ctx
        .parallelize((0..1000).map(|i| i % 10).collect::<Vec<i32>>(), 4)
        .map(Fn!(|x: i32| (x, 1)))
        .reduce_by_key(Fn!(|a: i32, b: i32| a + b));
    assert_eq!(counts.count().unwrap(), 10);
    let manager = &ctx.env().shuffle_manager;
    std::fs::remove_file(manager.data_path(0, 2)).unwrap();
    let mut got = counts.collect().unwrap();
    got.sort();
    assert_eq!(got, (0..10).map(|k| (k, 100)).collect::<Vec<_>>());
    let summary = ctx.last_job_summary().unwrap();
    assert!(
        summary.failed_tasks >= 1,
        "the fetch failed first: {summary}"
    );
    assert!(summary.stages >= 3, "the map stage ran again: {summary}");
}

#[test]
fn a_retried_task_counts_its_accumulator_updates_once() {
    let ctx = retrying(2);
    let acc = ctx.long_accumulator();
    let seen = ctx.collection_accumulator::<i32>();
    let (a, s) = (acc.clone(), seen.clone());
    ctx.parallelize((1..=10).collect::<Vec<i32>>(), 2)
        .foreach_partition(Fn!(move |it: ember_core::BoxIter<i32>| {
            let tc = ember_core::TaskContext::get().unwrap();
            for x in it {
                a.add(x as i64);
                s.add(x);
            }
            if tc.partition_id == 1 && tc.attempt_number == 0 {
                panic!("fail after adding");
            }
        }))
        .unwrap();
    assert_eq!(acc.value(), 55);
    let mut values = seen.value();
    values.sort();
    assert_eq!(values, (1..=10).collect::<Vec<_>>());
}

#[test]
fn double_and_user_defined_accumulators_merge() {
    let ctx = local(2);
    let total = ctx.double_accumulator();
    let longest = ctx.merge_accumulator(
        String::new(),
        Fn!(|a: String, b: String| if b.len() > a.len() { b } else { a }),
    );
    let (t, l) = (total.clone(), longest.clone());
    ctx.parallelize(
        vec!["a", "bbbb", "cc", "ddd"]
            .into_iter()
            .map(String::from)
            .collect(),
        3,
    )
    .foreach(Fn!(move |s: String| {
        t.add(s.len() as f64 / 2.0);
        l.add(s);
    }))
    .unwrap();
    assert_eq!(total.value(), 5.0);
    assert_eq!(longest.value(), "bbbb");
}

#[test]
fn broadcast_values_reach_every_task() {
    let ctx = local(2);
    let table: HashMap<i32, String> = (0..100).map(|i| (i, format!("name{i}"))).collect();
    let b = ctx.broadcast(table);
    let names = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .map(Fn!(move |i: i32| b.value()[&i].clone()))
        .collect()
        .unwrap();
    assert_eq!(
        names,
        (0..100).map(|i| format!("name{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn a_destroyed_broadcast_fails_the_job_with_a_clear_message() {
    let ctx = local(1);
    let b = ctx.broadcast(vec![1, 2, 3]);
    ctx.destroy_broadcast(&b);
    let err = ctx
        .parallelize(vec![0usize], 1)
        .map(Fn!(move |i: usize| b.value()[i]))
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("was destroyed"), "{err}");
}

#[test]
fn text_files_directories_and_globs_are_read_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for f in 0..3 {
        let lines: Vec<String> = (0..200)
            .map(|i| format!("file{f} line{i} {}", "x".repeat(i % 13)))
            .collect();
        std::fs::write(
            dir.path().join(format!("part{f}.txt")),
            lines.join("\n") + "\n",
        )
        .unwrap();
        expected.extend(lines);
    }
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let ctx = local(2);
    let path = dir.path().to_str().unwrap();
    for min_partitions in [1, 2, 7] {
        let mut got = ctx
            .text_file(path, min_partitions)
            .unwrap()
            .collect()
            .unwrap();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "{min_partitions}");
    }
    let glob = format!("{path}/part[01].txt");
    assert_eq!(ctx.text_file(&glob, 0).unwrap().count().unwrap(), 400);
    let files = ctx.whole_text_files(path, 2).unwrap().collect().unwrap();
    assert_eq!(files.len(), 3);
    assert!(files
        .iter()
        .all(|(p, c)| p.starts_with("file:/") && c.lines().count() == 200));
}

#[test]
fn gzip_text_is_read_whole() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    for i in 0..1000 {
        writeln!(gz, "line {i}").unwrap();
    }
    gz.finish().unwrap();
    let ctx = local(2);
    let rdd = ctx.text_file(path.to_str().unwrap(), 4).unwrap();
    assert_eq!(rdd.num_partitions(), 1);
    assert_eq!(
        rdd.collect().unwrap(),
        (0..1000).map(|i| format!("line {i}")).collect::<Vec<_>>()
    );
}

#[test]
fn save_as_text_file_writes_part_files_and_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = local(2);
    ctx.parallelize((0..100).collect::<Vec<i32>>(), 3)
        .save_as_text_file(out.to_str().unwrap())
        .unwrap();
    assert_eq!(
        names_in(&out),
        vec!["_SUCCESS", "part-00000", "part-00001", "part-00002"]
    );
    let mut lines: Vec<i32> = Vec::new();
    for p in 0..3 {
        let text = std::fs::read_to_string(out.join(format!("part-{p:05}"))).unwrap();
        lines.extend(text.lines().map(|l| l.parse::<i32>().unwrap()));
    }
    assert_eq!(lines, (0..100).collect::<Vec<_>>());
    let again = ctx
        .parallelize(vec![1], 1)
        .save_as_text_file(out.to_str().unwrap());
    assert!(again.unwrap_err().to_string().contains("already exists"));
}

#[test]
fn a_failed_save_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = Context::new(conf(2).set(keys::TASK_MAX_FAILURES.key, "2")).unwrap();
    let err = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .map(Fn!(|x: i32| {
            if x == 90 {
                panic!("disk full, say");
            }
            x
        }))
        .save_as_text_file(out.to_str().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(!out.exists(), "no partial output is left");
}

/// The key choosing Hadoop's commit algorithm, as ember's settings carry it.
const COMMIT_ALGORITHM: &str = "ember.hadoop.mapreduce.fileoutputcommitter.algorithm.version";

#[test]
fn a_retried_task_does_not_duplicate_output() {
    // Algorithm 1 commits a task into `_temporary` and the job into the output; algorithm 2
    // moves a task's file into the output at its commit. Either way the retried partition is
    // there once, and whole.
    for algorithm in ["1", "2"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let settings = conf(2)
            .set("ember.task.maxFailures", "4")
            .set(COMMIT_ALGORITHM, algorithm);
        let ctx = Context::new(settings).unwrap();
        // The first attempt of partition 1 dies half-way through writing its part file.
        ctx.parallelize((0..100).collect::<Vec<i32>>(), 2)
            .map(Fn!(|x: i32| {
                let tc = ember_core::TaskContext::get().unwrap();
                if x == 75 && tc.attempt_number == 0 {
                    panic!("lost half-way");
                }
                x
            }))
            .save_as_text_file(out.to_str().unwrap())
            .unwrap();
        assert_eq!(
            names_in(&out),
            ["_SUCCESS", "part-00000", "part-00001"],
            "{algorithm}"
        );
        let mut lines: Vec<i32> = Vec::new();
        for p in 0..2 {
            let text = std::fs::read_to_string(out.join(format!("part-{p:05}"))).unwrap();
            lines.extend(text.lines().map(|l| l.parse::<i32>().unwrap()));
        }
        assert_eq!(lines, (0..100).collect::<Vec<_>>(), "{algorithm}");
    }
}

#[test]
fn a_commit_algorithm_hadoop_lacks_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = Context::new(conf(1).set(COMMIT_ALGORITHM, "3")).unwrap();
    let err = ctx
        .parallelize(vec![1], 1)
        .save_as_text_file(out.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("algorithms are 1 and 2"), "{err}");
    assert!(!out.exists());
}

#[test]
fn validate_output_specs_false_writes_into_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("part-00000"), "old\n").unwrap();
    std::fs::write(out.join("keep.txt"), "mine\n").unwrap();
    let ctx = Context::new(conf(2).set(keys::HADOOP_VALIDATE_OUTPUT_SPECS.key, "false")).unwrap();
    ctx.parallelize(vec![1, 2], 1)
        .save_as_text_file(out.to_str().unwrap())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("part-00000")).unwrap(),
        "1\n2\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine\n"
    );
    // A failed job into an existing directory takes only its own temporary files away.
    let failed = ctx
        .parallelize(vec![1, 2], 1)
        .map(Fn!(|x: i32| {
            if x > 0 {
                panic!("bad record {x}");
            }
            x
        }))
        .save_as_text_file(out.to_str().unwrap());
    assert!(failed.is_err());
    assert!(out.join("keep.txt").exists() && !out.join("_temporary").exists());
}

#[test]
fn settings_in_code_win_over_submit_settings_which_win_over_the_defaults_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ember-defaults.conf"),
        "ember.task.maxFailures 7\nember.default.parallelism 3\nember.local.dir /from-file\n",
    )
    .unwrap();
    // Environment variables are process-wide: this is the only test that sets them.
    std::env::set_var("EMBER_CONF_DIR", dir.path());
    std::env::set_var(
        ember_core::conf::SUBMIT_CONF_ENV,
        "ember.default.parallelism=5\nember.local.dir=/from-submit\n",
    );
    let conf = EmberConf::new()
        .unwrap()
        .set(keys::LOCAL_DIR.key, "/from-code");
    std::env::remove_var("EMBER_CONF_DIR");
    std::env::remove_var(ember_core::conf::SUBMIT_CONF_ENV);
    assert_eq!(conf.get_raw(keys::TASK_MAX_FAILURES.key), Some("7"));
    assert_eq!(conf.get_raw(keys::DEFAULT_PARALLELISM.key), Some("5"));
    assert_eq!(conf.get_raw(keys::LOCAL_DIR.key), Some("/from-code"));
}

#[test]
fn bad_settings_are_errors_that_name_the_key() {
    let err = Context::new(
        EmberConf::empty()
            .set_master("local[2]")
            .set(keys::EXECUTOR_MEMORY.key, "lots"),
    )
    .unwrap_err();
    assert!(err.to_string().contains(keys::EXECUTOR_MEMORY.key), "{err}");
    let err = Context::new(EmberConf::empty().set_master("local[two]")).unwrap_err();
    assert!(err.to_string().contains("local[two]"), "{err}");
    let err = Context::new(EmberConf::empty()).unwrap_err();
    assert!(err.to_string().contains("master URL must be set"), "{err}");
}

#[test]
fn a_dropped_parallelized_rdd_frees_its_slices() {
    let ctx = local(2);
    let held = ctx.env().broadcast_manager.len();
    let rdd = ctx
        .parallelize((0..1000).collect::<Vec<i32>>(), 4)
        .map(Fn!(|x: i32| x + 1));
    assert_eq!(rdd.count().unwrap(), 1000);
    assert_eq!(ctx.env().broadcast_manager.len(), held + 4);
    drop(rdd);
    assert_eq!(ctx.env().broadcast_manager.len(), held);
}

#[test]
fn jobs_from_several_threads_share_one_context() {
    let ctx = local(2);
    let counts = ctx
        .parallelize((0..20_000).map(|i| i % 100).collect::<Vec<i64>>(), 8)
        .map(Fn!(|x: i64| (x, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    let (done, finished) = std::sync::mpsc::channel();
    for t in 0..4 {
        let (counts, done) = (counts.clone(), done.clone());
        std::thread::spawn(move || {
            let result = if t % 2 == 0 {
                counts.count().map(|n| n as f64)
            } else {
                counts.values().sum()
            };
            done.send((t, result.map_err(|e| e.to_string()))).unwrap();
        });
    }
    for _ in 0..4 {
        let (t, result) = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("every job finishes");
        let expected = if t % 2 == 0 { 100.0 } else { 20_000.0 };
        assert_eq!(result.unwrap(), expected, "job of thread {t}");
    }
}

#[test]
fn tasks_of_a_job_on_some_partitions_see_their_own_partition_id() {
    let ctx = local(2);
    let ids = ctx
        .parallelize((0..10).collect::<Vec<i32>>(), 10)
        .map(Fn!(|_: i32| ember_core::TaskContext::get()
            .unwrap()
            .partition_id));
    assert_eq!(ids.take(10).unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
fn execution_takes_back_memory_that_cached_blocks_borrowed() {
    // A 1.2 MiB pool, with cached blocks protected only up to 10% of it.
    let ctx = Context::new(
        conf(1)
            .set(keys::EXECUTOR_MEMORY.key, "2m")
            .set(keys::RESERVED_MEMORY.key, "0")
            .set(keys::MEMORY_STORAGE_FRACTION.key, "0.1"),
    )
    .unwrap();
    let cached = ctx
        .parallelize((0..100_000).collect::<Vec<u64>>(), 4)
        .persist(StorageLevel::MEMORY_AND_DISK);
    assert_eq!(cached.count().unwrap(), 100_000);
    let blocks = ctx.env().block_manager.memory_used();
    assert!(
        blocks > 600_000,
        "the cache holds most of the pool: {blocks}"
    );
    let sums = cached
        .map(Fn!(|x: u64| (x % 10_000, x)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .collect()
        .unwrap();
    assert_eq!(sums.len(), 10_000);
    let after = ctx.env().block_manager.memory_used();
    assert!(
        after < blocks,
        "execution evicted cached blocks: {after} < {blocks}"
    );
    let memory = &ctx.env().memory_manager;
    assert!(memory.execution_used() + after <= memory.pool());
    // Evicted blocks went to disk and still give the right answer.
    assert_eq!(cached.sum().unwrap(), (0..100_000u64).sum::<u64>() as f64);
}

#[test]
fn concurrent_jobs_compute_a_shared_shuffle_once() {
    let ctx = local(2);
    let seen = ctx.long_accumulator();
    let s = seen.clone();
    let counts = ctx
        .parallelize((0..2000).collect::<Vec<i64>>(), 4)
        .map(Fn!(move |x: i64| {
            s.add(1);
            std::thread::sleep(std::time::Duration::from_micros(200));
            (x % 10, 1u64)
        }))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let counts = counts.clone();
            std::thread::spawn(move || counts.count().unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 10);
    }
    assert_eq!(seen.value(), 2000, "each map task ran once");
}

/// 1,000 jobs from 8 threads at once: each gets its own results, and jobs over one shuffle
/// compute it once between them.
fn thousand_concurrent_jobs(ctx: &ember_core::Context) {
    let maps = ctx.long_accumulator();
    let m = maps.clone();
    let counts = ctx
        .parallelize((0..4000).collect::<Vec<i64>>(), 4)
        .map(Fn!(move |x: i64| {
            m.add(1);
            (x % 50, 1u64)
        }))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    let threads: Vec<_> = (0..8i64)
        .map(|t| {
            let (ctx, counts) = (ctx.clone(), counts.clone());
            std::thread::spawn(move || {
                for j in 0..125i64 {
                    if j % 5 == 0 {
                        assert_eq!(counts.values().sum().unwrap(), 4000.0);
                    } else {
                        let base = t * 1000 + j;
                        let got = ctx
                            .parallelize((base..base + 10).collect::<Vec<i64>>(), 2)
                            .map(Fn!(|x: i64| x * 2))
                            .collect()
                            .unwrap();
                        let want: Vec<i64> = (base..base + 10).map(|x| x * 2).collect();
                        assert_eq!(got, want, "job {j} of thread {t}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("every thread's jobs succeed");
    }
    assert_eq!(
        maps.value(),
        4000,
        "the shared shuffle's map tasks ran once"
    );
    assert_eq!(ctx.job_summaries().len(), 1000);
}

#[test]
fn a_thousand_jobs_from_eight_threads_get_their_own_results() {
    thousand_concurrent_jobs(&local(2));
}

#[test]
fn a_thousand_jobs_from_eight_threads_get_their_own_results_on_executors() {
    let conf = EmberConf::empty()
        .set_master("local-cluster[2,1,512]")
        .set("ember.ui.showConsoleProgress", "false");
    thousand_concurrent_jobs(&Context::new(conf).unwrap());
}

/// Attempts running now, and attempts started, in each pool of
/// `fair_pools_share_task_slots_by_weight`: light, heavy, and the gate.
static RUNNING_IN_POOL: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
static STARTED_IN_POOL: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
/// Holds the gate job's tasks, and so every slot, until both measured jobs are queued.
static GATE_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs a job of `tasks` tasks in `pool`, counted in slot `slot` of the statics above, each
/// task taking `each` (the gate's waiting for the gate to open instead).
fn pool_job(
    ctx: &Context,
    pool: &'static str,
    slot: usize,
    tasks: u32,
    each: std::time::Duration,
) -> std::thread::JoinHandle<u64> {
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        ctx.set_local_property("ember.scheduler.pool", Some(pool));
        ctx.parallelize((0..tasks).collect::<Vec<u32>>(), tasks as usize)
            .map(Fn!(move |x: u32| {
                STARTED_IN_POOL[slot].fetch_add(1, Ordering::SeqCst);
                RUNNING_IN_POOL[slot].fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(each);
                while slot == 2 && !GATE_OPEN.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                RUNNING_IN_POOL[slot].fetch_sub(1, Ordering::SeqCst);
                x
            }))
            .count()
            .unwrap()
    })
}

#[test]
fn fair_pools_share_task_slots_by_weight() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pools.xml");
    std::fs::write(
        &file,
        r#"<allocations>
             <pool name="light"><weight>1</weight></pool>
             <pool name="heavy"><weight>3</weight></pool>
           </allocations>"#,
    )
    .unwrap();
    let ctx = Context::new(
        conf(4)
            .set("ember.scheduler.mode", "FAIR")
            .set("ember.scheduler.allocation.file", file.to_str().unwrap()),
    )
    .unwrap();
    let count = |statics: &[AtomicUsize; 3], pool: usize| statics[pool].load(Ordering::SeqCst);
    // The gate's four tasks take every slot; both jobs queue behind them in full.
    let gate = pool_job(&ctx, "gate", 2, 4, std::time::Duration::ZERO);
    while count(&RUNNING_IN_POOL, 2) < 4 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    const TASKS: u32 = 200;
    let each = std::time::Duration::from_millis(10);
    let jobs = [
        pool_job(&ctx, "light", 0, TASKS, each),
        pool_job(&ctx, "heavy", 1, TASKS, each),
    ];
    std::thread::sleep(std::time::Duration::from_secs(2));
    GATE_OPEN.store(true, Ordering::SeqCst);
    // Sample the pools' running attempts while both still have attempts waiting.
    let (mut light, mut heavy) = (0usize, 0usize);
    let backlogged = |pool| count(&STARTED_IN_POOL, pool) < TASKS as usize;
    while backlogged(0) && backlogged(1) {
        light += count(&RUNNING_IN_POOL, 0);
        heavy += count(&RUNNING_IN_POOL, 1);
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
    assert_eq!(gate.join().unwrap(), 4);
    for job in jobs {
        assert_eq!(job.join().unwrap(), TASKS as u64);
    }
    let share = heavy as f64 / (light + heavy) as f64;
    eprintln!("fair-pools: heavy pool share {share:.3} of busy slots (weight 3 of 4)");
    assert!(
        (share - 0.75).abs() <= 0.075,
        "the heavy pool (weight 3 of 4) held {share:.3} of the busy slots ({heavy} vs {light})"
    );
}

/// Records the cancelled jobs of `cancelling_a_job_group_*` processed.
static PROCESSED: AtomicUsize = AtomicUsize::new(0);

/// Starts a job in group `group` on another thread that would take about a minute: 60,000
/// records of 1 ms on each of two partitions.
fn start_slow_job(ctx: &Context, group: &str) -> std::thread::JoinHandle<Result<u64, Error>> {
    let (ctx, group) = (ctx.clone(), group.to_string());
    std::thread::spawn(move || {
        ctx.set_job_group(&group, "slow on purpose", true);
        ctx.parallelize((0..120_000).collect::<Vec<u32>>(), 2)
            .map(Fn!(|x: u32| {
                PROCESSED.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(1));
                x
            }))
            .count()
    })
}

#[test]
fn cancelling_a_job_group_fails_its_jobs_and_stops_their_running_tasks() {
    let ctx = local(2);
    let slow = start_slow_job(&ctx, "nightly");
    while PROCESSED.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    ctx.cancel_job_group("other-group");
    ctx.cancel_job_group("nightly");
    let error = slow.join().unwrap().unwrap_err();
    assert!(matches!(error, Error::JobCancelled { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("part of cancelled job group nightly"),
        "{error}"
    );
    // The job returned once its tasks stopped: nothing of it processes records any more.
    let after = PROCESSED.load(Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(PROCESSED.load(Ordering::SeqCst), after);
    assert!(after < 120_000, "the tasks stopped early ({after} records)");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}

#[test]
fn cancel_all_jobs_stops_jobs_running_on_executors() {
    let conf = EmberConf::empty()
        .set_master("local-cluster[1,1,512]")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false");
    let ctx = Context::new(conf).unwrap();
    let slow = start_slow_job(&ctx, "batch");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let cancelled_at = std::time::Instant::now();
    ctx.cancel_all_jobs();
    let error = slow.join().unwrap().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cancelled as part of cancellation of all jobs"),
        "{error}"
    );
    // The executor's one slot is free again: its task stopped instead of running its minute.
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 1).count().unwrap(), 3);
    assert!(
        cancelled_at.elapsed() < std::time::Duration::from_secs(20),
        "the killed task held the slot for {:?}",
        cancelled_at.elapsed()
    );
}
