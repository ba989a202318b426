//! SQL's threads are the ones `docs/threads-and-runtimes.md` lists: the session's query
//! runtime (`ember-sql`, as many threads as the application's parallelism) and the runtime of
//! SQL tasks (`ember-sql-task`), both apart from the process's I/O runtime (`ember-io`).
//!
//! One test in this file: the test harness runs each test on a thread of its own, and a second
//! test's session would add its threads to this one's.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf};
use ember_sql::SqlContextExt;
use std::collections::{BTreeMap, BTreeSet};

/// The names of this process's threads but its main thread, each with how many threads carry
/// it; a trailing `-<number>` (a task slot's) counts as the name without it.
fn threads() -> BTreeMap<String, usize> {
    let pid = std::process::id().to_string();
    let mut names = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(Result::unwrap)
    {
        if task.file_name().to_string_lossy() == pid {
            continue;
        }
        // A thread that ended since the listing has no name left to read.
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let name = name.trim_end();
        let name = match name.rsplit_once('-') {
            Some((stem, n)) if n.parse::<u32>().is_ok() => stem,
            _ => name,
        };
        *names.entry(name.to_string()).or_default() += 1;
    }
    names
}

#[test]
fn queries_run_on_session_threads_as_many_as_the_parallelism_and_on_the_task_runtime() {
    // local[3] with stages: the driver plans on its session's threads and runs the stages'
    // tasks in its own slots, so both SQL runtimes live in this one process.
    let ctx = Context::new(
        EmberConf::empty()
            .set_master("local[3]")
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
            .set("ember.sql.distributed", "true"),
    )
    .unwrap();
    let query =
        "SELECT x % 7 AS k, count(*) AS n FROM generate_series(1, 10000) AS t(x) GROUP BY k";
    let batches = ctx.sql(query).unwrap().collect().unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 7);

    // The query reads no files: no blocking thread joins the session's workers.
    let threads = threads();
    assert_eq!(
        threads.get("ember-sql"),
        Some(&3),
        "the session has as many query threads as the application's parallelism: {threads:?}"
    );
    assert!(threads.contains_key("ember-sql-task"), "{threads:?}");
    assert_eq!(threads.get("ember-task"), Some(&3), "{threads:?}");
    let this_test = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let documented = BTreeSet::from([
        "ember-dag-sched",
        "ember-io",
        "ember-sql",
        "ember-sql-task",
        "ember-task",
        this_test.trim_end(),
    ]);
    let unknown: Vec<_> = threads
        .keys()
        .filter(|name| !documented.contains(name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "threads the docs do not list: {unknown:?} of {threads:?}"
    );
}
