//! Checkpoints, reliable and local, on `local[2]` and `local-cluster[2,1,512]`: results equal a
//! plain Rust computation before and after; the lineage is gone once checkpointed (the parents
//! are neither planned nor computed again, even when an executor dies); a lost local checkpoint
//! fails the job with the reason; a failed write leaves no files.

use ember_core::conf::keys;
use ember_core::rdd::Dependency;
use ember_core::{Context, EmberConf, Fn, Rdd, StorageLevel, TaskContext};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2,1,512]"];

fn conf(master: &str) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
        .set(keys::SHUFFLE_IO_RETRY_WAIT.key, "100ms")
}

fn context(master: &str, dir: &Path) -> Context {
    let ctx = Context::new(conf(master)).unwrap();
    ctx.set_checkpoint_dir(dir.to_str().unwrap()).unwrap();
    ctx
}

fn lines() -> Vec<String> {
    (0..2000)
        .map(|i| format!("w{} w{} x", i % 37, i % 11))
        .collect()
}

/// The oracle: word counts computed in plain Rust.
fn word_counts(lines: &[String]) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::<String, u64>::new();
    for w in lines.iter().flat_map(|l| l.split(' ')) {
        *counts.entry(w.to_string()).or_default() += 1;
    }
    counts.into_iter().collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Word counts whose map side adds one to `computed` per word it computes.
fn counted_words(
    ctx: &Context,
    computed: &ember_core::Accumulator<ember_core::accumulator::LongSum>,
) -> Rdd<(String, u64)> {
    let acc = computed.clone();
    ctx.parallelize(lines(), 6)
        .flat_map(Fn!(move |l: String| {
            let words: Vec<String> = l.split(' ').map(str::to_string).collect();
            acc.add(words.len() as i64);
            words
        }))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
}

/// The parents of `rdd` are one RDD that has none: the checkpoint.
fn assert_truncated<T: ember_core::Data>(rdd: &Rdd<T>) {
    let deps = rdd.dependencies();
    assert_eq!(deps.len(), 1, "one parent once checkpointed");
    match &deps[0] {
        Dependency::Narrow(parent) => {
            assert!(
                parent.dependencies().is_empty(),
                "the checkpoint has no parents"
            );
            assert_eq!(parent.num_partitions(), rdd.num_partitions());
        }
        Dependency::Shuffle(_) => panic!("a checkpointed RDD still depends on a shuffle"),
    }
}

fn kill_executor(ctx: &Context) {
    let victim = ctx.executors()[0].clone();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &victim.pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while ctx
        .executors()
        .iter()
        .any(|e| e.executor_id == victim.executor_id)
    {
        assert!(
            Instant::now() < deadline,
            "the driver never saw the executor die"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn checkpointed_results_equal_the_oracle_and_later_jobs_read_the_files_not_the_lineage() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(master, dir.path());
        let computed = ctx.long_accumulator();
        let counts = counted_words(&ctx, &computed);
        let want = word_counts(&lines());
        // Not persisted: the writing job reads the shuffle again (its map stage is skipped).
        counts.checkpoint().unwrap();
        assert!(
            !counts.is_checkpointed(),
            "{master}: marked, not yet computed"
        );
        assert_eq!(counts.get_checkpoint_file(), None);
        assert_eq!(sorted(counts.collect().unwrap()), want, "{master}");
        assert!(counts.is_checkpointed(), "{master}");
        assert!(!counts.is_locally_checkpointed());
        let words = 3 * lines().len() as i64;
        assert_eq!(computed.value(), words, "{master}: the map side ran once");

        let file = counts.get_checkpoint_file().unwrap();
        let app_dir = ctx.checkpoint_dir().unwrap();
        assert_eq!(file, format!("{app_dir}/rdd-{}", counts.id()));
        let local = file.strip_prefix("file://").unwrap();
        let mut parts: Vec<String> = std::fs::read_dir(local)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("part-"))
            .collect();
        parts.sort();
        let expected: Vec<String> = (0..counts.num_partitions())
            .map(|p| format!("part-{p:05}"))
            .collect();
        assert_eq!(parts, expected, "{master}");
        assert!(!Path::new(local).join("_temporary").exists());
        assert_truncated(&counts);

        // Later jobs: same results, one stage (no shuffle left to plan), parents not computed.
        for _ in 0..2 {
            assert_eq!(sorted(counts.collect().unwrap()), want, "{master}");
            assert_eq!(ctx.last_job_summary().unwrap().stages, 1, "{master}");
        }
        let doubled = counts.map_values(Fn!(|n: u64| 2 * n)).collect().unwrap();
        let want_doubled: Vec<(String, u64)> =
            want.iter().map(|(w, n)| (w.clone(), 2 * n)).collect();
        assert_eq!(sorted(doubled), want_doubled, "{master}");
        assert_eq!(
            computed.value(),
            words,
            "{master}: the lineage was computed again"
        );
    }
}

#[test]
fn a_persisted_rdd_is_checkpointed_from_its_cached_blocks() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(master, dir.path());
        let computed = ctx.long_accumulator();
        let acc = computed.clone();
        let squares = ctx
            .range(0, 1000, 1, 4)
            .unwrap()
            .map(Fn!(move |x: i64| {
                acc.add(1);
                x * x
            }))
            .persist(StorageLevel::MEMORY_ONLY);
        squares.checkpoint().unwrap();
        let want: i64 = (0..1000i64).map(|x| x * x).sum();
        assert_eq!(squares.sum().unwrap(), want as f64, "{master}");
        assert_eq!(
            computed.value(),
            1000,
            "{master}: the writing job computed the partitions instead of reading the cache"
        );
        assert!(squares.is_checkpointed());
        assert_truncated(&squares);
        assert_eq!(
            squares.collect().unwrap(),
            (0..1000i64).map(|x| x * x).collect::<Vec<_>>(),
            "{master}"
        );
        // Unpersisted, it is read from the checkpoint files.
        squares.unpersist();
        assert_eq!(squares.sum().unwrap(), want as f64, "{master}");
        assert_eq!(
            computed.value(),
            1000,
            "{master}: the lineage was computed again"
        );
    }
}

#[test]
fn after_an_executor_dies_the_checkpoint_is_read_instead_of_recomputing_the_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local-cluster[2,1,512]", dir.path());
    let computed = ctx.long_accumulator();
    let counts = counted_words(&ctx, &computed).persist(StorageLevel::MEMORY_ONLY);
    counts.checkpoint().unwrap();
    let want = word_counts(&lines());
    assert_eq!(sorted(counts.collect().unwrap()), want);
    let words = 3 * lines().len() as i64;
    assert_eq!(computed.value(), words);
    // The dead executor takes its cached partitions and its map outputs with it: without the
    // checkpoint the shuffle's map stage would have to run again.
    kill_executor(&ctx);
    assert_eq!(sorted(counts.collect().unwrap()), want);
    let summary = ctx.last_job_summary().unwrap();
    assert_eq!(summary.stages, 1, "{summary}");
    assert_eq!(computed.value(), words, "the lineage was computed again");
}

#[test]
fn a_local_checkpoint_truncates_the_lineage_and_keeps_results() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(master, dir.path());
        let computed = ctx.long_accumulator();
        let counts = counted_words(&ctx, &computed).local_checkpoint();
        assert_eq!(counts.storage_level(), StorageLevel::MEMORY_AND_DISK);
        // `first` computes one partition; the checkpoint computes the rest.
        counts.first().unwrap();
        assert!(counts.is_checkpointed(), "{master}");
        assert!(counts.is_locally_checkpointed());
        assert_eq!(counts.get_checkpoint_file(), None);
        assert_truncated(&counts);
        let runs = computed.value();
        let want = word_counts(&lines());
        assert_eq!(sorted(counts.collect().unwrap()), want, "{master}");
        assert_eq!(ctx.last_job_summary().unwrap().stages, 1);
        assert_eq!(
            computed.value(),
            runs,
            "{master}: the lineage was computed again"
        );
        // Nothing was written under the checkpoint directory.
        let app_dir = ctx.checkpoint_dir().unwrap();
        let local = app_dir.strip_prefix("file://").unwrap();
        assert_eq!(std::fs::read_dir(local).unwrap().count(), 0);

        // Dropped blocks cannot be computed again.
        counts.unpersist();
        let err = counts.count().unwrap_err().to_string();
        assert!(err.contains("checkpoint block rdd_"), "{master}: {err}");
        assert!(err.contains("unpersisted"), "{master}: {err}");
    }
}

#[test]
fn a_local_checkpoint_lost_with_its_executor_fails_the_job_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local-cluster[2,1,512]", dir.path());
    let computed = ctx.long_accumulator();
    let acc = computed.clone();
    let squares = ctx
        .range(0, 400, 1, 8)
        .unwrap()
        .map(Fn!(move |x: i64| {
            acc.add(1);
            x * x
        }))
        .local_checkpoint();
    assert_eq!(squares.count().unwrap(), 400);
    assert!(squares.is_checkpointed());
    kill_executor(&ctx);
    let err = squares.sum().unwrap_err().to_string();
    assert!(err.contains("checkpoint block rdd_"), "{err}");
    assert!(err.contains("no longer alive"), "{err}");
    assert!(err.contains("Rdd::checkpoint"), "{err}");
    assert_eq!(
        computed.value(),
        400,
        "a lost local checkpoint was recomputed"
    );
}

#[test]
fn checkpoint_without_a_directory_is_an_error_that_names_the_setter() {
    let ctx = Context::new(conf("local[2]")).unwrap();
    assert_eq!(ctx.checkpoint_dir(), None);
    let rdd = ctx.range(0, 10, 1, 2).unwrap();
    let err = rdd.checkpoint().unwrap_err().to_string();
    assert!(
        err.contains("checkpoint directory has not been set"),
        "{err}"
    );
    assert!(err.contains("Context::set_checkpoint_dir"), "{err}");
    assert_eq!(rdd.count().unwrap(), 10);
    assert!(!rdd.is_checkpointed());
}

#[test]
fn each_application_checkpoints_into_its_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let a = context("local[1]", dir.path());
    let b = context("local[1]", dir.path());
    let (a_dir, b_dir) = (a.checkpoint_dir().unwrap(), b.checkpoint_dir().unwrap());
    assert_ne!(a_dir, b_dir);
    for made in [a_dir, b_dir] {
        let local = made.strip_prefix("file://").unwrap();
        assert_eq!(Path::new(local).parent().unwrap(), dir.path());
        assert!(Path::new(local).is_dir());
    }
}

#[test]
fn a_failed_checkpoint_write_leaves_no_files_and_is_tried_again() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let marks = tempfile::tempdir().unwrap();
        let ctx = Context::new(conf(master).set(keys::TASK_MAX_FAILURES.key, "1")).unwrap();
        ctx.set_checkpoint_dir(dir.path().to_str().unwrap())
            .unwrap();
        let seen = marks.path().join("seen").to_string_lossy().into_owned();
        let failed = marks.path().join("failed").to_string_lossy().into_owned();
        // Partition 1 fails the second time it is computed, once: in the writing job.
        let rdd = ctx
            .range(0, 100, 1, 4)
            .unwrap()
            .map_partitions_with_index(Fn!(move |p: usize, it: ember_core::BoxIter<i64>| {
                if p == 1
                    && std::fs::File::create_new(&seen).is_err()
                    && std::fs::File::create_new(&failed).is_ok()
                {
                    panic!(
                        "injected failure on {}",
                        TaskContext::get().unwrap().executor_id()
                    );
                }
                it.map(|x| x + 1).collect::<Vec<_>>()
            }));
        rdd.checkpoint().unwrap();
        let err = rdd.count().unwrap_err().to_string();
        assert!(err.contains("injected failure"), "{master}: {err}");
        assert!(!rdd.is_checkpointed());
        let app_dir = ctx.checkpoint_dir().unwrap();
        let local = app_dir.strip_prefix("file://").unwrap();
        assert_eq!(
            std::fs::read_dir(local).unwrap().count(),
            0,
            "{master}: a failed write left files"
        );
        // Still marked: the next job writes it.
        assert_eq!(rdd.sum().unwrap(), (1..=100).sum::<i64>() as f64);
        assert!(rdd.is_checkpointed(), "{master}");
        assert_eq!(
            rdd.collect().unwrap(),
            (1..=100).collect::<Vec<i64>>(),
            "{master}"
        );
    }
}

#[test]
fn a_job_on_a_child_checkpoints_its_marked_parent_even_one_marked_after_earlier_jobs() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(master, dir.path());
        let computed = ctx.long_accumulator();
        let acc = computed.clone();
        let parent = ctx.range(0, 300, 1, 3).unwrap().map(Fn!(move |x: i64| {
            acc.add(1);
            x + 1
        }));
        // Already computed by a job before it was marked: the next job still checkpoints it.
        assert_eq!(parent.count().unwrap(), 300);
        parent.checkpoint().unwrap();
        let child = parent.filter(Fn!(|x: &i64| x % 2 == 0));
        assert_eq!(child.count().unwrap(), 150, "{master}");
        assert!(
            parent.is_checkpointed(),
            "{master}: a job on a child checkpoints the parent"
        );
        assert!(!child.is_checkpointed());
        assert_truncated(&parent);
        let runs = computed.value();
        let want: Vec<i64> = (1..=300).filter(|x| x % 2 == 0).collect();
        assert_eq!(child.collect().unwrap(), want, "{master}");
        assert_eq!(
            computed.value(),
            runs,
            "{master}: the parent was computed again"
        );
    }
}
