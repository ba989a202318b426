//! The threads of a driver and of its executors are the ones `docs/threads-and-runtimes.md`
//! lists, under the names `top -H` shows (the kernel keeps 15 bytes of a name). A thread or a
//! runtime started without a name, or under one the page does not list, fails here; so does a
//! listed one that is gone.
//!
//! One test in this file: the test harness runs each test on a thread of its own, and a second
//! test would add its threads to the driver's.

use ember_core::conf::keys;
use ember_core::{Context, EmberConf, Fn};
use std::collections::{BTreeMap, BTreeSet};
#[path = "support/threads.rs"]
mod support;
use support::{this_thread, threads_of};

fn names(threads: &BTreeMap<String, usize>) -> BTreeSet<&str> {
    threads.keys().map(String::as_str).collect()
}

#[test]
fn drivers_and_executors_run_the_documented_threads_and_one_io_runtime() {
    let conf = EmberConf::empty()
        .set_master("local-cluster[2,2,512]")
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false");
    let ctx = Context::new(conf).unwrap();
    let counts = ctx
        .parallelize((0..1000u64).collect::<Vec<_>>(), 4)
        .map(Fn!(|i: u64| (i % 7, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .collect()
        .unwrap();
    assert_eq!(counts.len(), 7);

    let driver = threads_of(std::process::id());
    let this_test = this_thread();
    let mut expected = BTreeSet::from(["ember-dag-sched", "ember-io", "ember-local-clu"]);
    expected.insert(this_test.as_str());
    assert_eq!(names(&driver), expected, "the driver's threads: {driver:?}");
    // At least the runtime's workers (blocking threads come and go beside them).
    assert!(
        driver["ember-io"] >= ember_hadoop::io_runtime::workers(),
        "{driver:?}"
    );

    let executors = ctx.executors();
    assert_eq!(executors.len(), 2);
    for executor in executors {
        let threads = threads_of(executor.pid);
        assert_eq!(
            names(&threads),
            BTreeSet::from(["ember-io", "ember-status", "ember-task"]),
            "the threads of executor {}: {threads:?}",
            executor.executor_id
        );
        assert_eq!(threads["ember-task"], 2, "one thread per core: {threads:?}");
    }
}
