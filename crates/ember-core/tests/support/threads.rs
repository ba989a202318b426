//! The threads of a process as `top -H` shows them, for the tests that hold them to
//! `docs/threads-and-runtimes.md` (ember-core's and ember-sql's `tests/threads.rs`).

use std::collections::BTreeMap;

/// The names of the threads of process `pid` but its main thread, each with how many threads
/// carry it; a trailing `-<number>` (a task slot's) counts as the name without it. Linux keeps
/// 15 bytes of a name.
pub fn threads_of(pid: u32) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    for task in tasks.map(Result::unwrap) {
        if task.file_name().to_string_lossy() == pid.to_string() {
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

/// The name of the calling thread, as [`threads_of`] lists it.
pub fn this_thread() -> String {
    let name = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    name.trim_end().to_string()
}
