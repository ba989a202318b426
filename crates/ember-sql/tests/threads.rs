//! SQL's threads are the ones `docs/threads-and-runtimes.md` lists: the session's query
//! runtime (`ember-sql`, as many threads as the application's parallelism) and the runtime of
//! SQL tasks (`ember-sql-task`), both apart from the process's I/O runtime (`ember-io`).
//!
//! One test in this file: the test harness runs each test on a thread of its own, and a second
//! test's session would add its threads to this one's.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf};
use ember_sql::SqlContextExt;
use std::collections::BTreeSet;
// The same reading of /proc as ember-core's threads test.
#[path = "../../ember-core/tests/support/threads.rs"]
mod support;
use support::{this_thread, threads_of};

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
    let threads = threads_of(std::process::id());
    assert_eq!(
        threads.get("ember-sql"),
        Some(&3),
        "the session has as many query threads as the application's parallelism: {threads:?}"
    );
    assert!(threads.contains_key("ember-sql-task"), "{threads:?}");
    assert_eq!(threads.get("ember-task"), Some(&3), "{threads:?}");
    let this_test = this_thread();
    let documented = BTreeSet::from([
        "ember-dag-sched",
        "ember-io",
        "ember-sql",
        "ember-sql-task",
        "ember-task",
        this_test.as_str(),
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
