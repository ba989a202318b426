//! The process's I/O runtime: the one tokio runtime on which every network connection of an
//! ember process lives (see `docs/threads-and-runtimes.md` for every thread and runtime).
//!
//! What runs on it:
//!
//! - ember-core's RPC: the driver's and executors' tonic servers and clients, and shuffle and
//!   block fetches (ember-core's `network::runtime()` is this runtime);
//! - object store I/O: HDFS (NameNode RPC, DataNode transfers) and S3 (HTTP requests), whatever
//!   thread or runtime awaits the store's futures (see [`object_stores`](crate::object_stores));
//! - the Hive Metastore client of ember-sql;
//! - the whole of the YARN ApplicationMaster, and the `ember submit`, `status` and `kill`
//!   clients.
//!
//! # Why one
//!
//! 1. A connection belongs to the runtime whose reactor it was made on. Caches of idle
//!    connections (hdfs-native's DataNode connections are one cache per process; reqwest's pool
//!    is one per S3 store, and stores are shared by every query) hand a connection to the next
//!    caller, whatever runtime it runs on. With one runtime that is never shut down, no
//!    connection can outlive the reactor driving it.
//! 2. I/O waits far more than it computes: a few worker threads serve every connection of the
//!    process, so a process pays for them once, not once per library that needs a runtime.
//! 3. Compute stays off it: DataFusion's operators run on ember-sql's own runtimes and tasks on
//!    their slot threads, so a busy query never delays a heartbeat or a shuffle fetch.
//!
//! # Rules
//!
//! - Synchronous code (task threads, the DAG scheduler's thread, a program's `main`) enters it
//!   with `io_runtime()?.block_on(..)`, or spawns on it and waits for the task.
//! - Code already running on it never blocks: no `block_on` (tokio refuses it), no waiting on a
//!   channel or a lock held across I/O. Blocking work goes to `spawn_blocking`, whose threads
//!   carry the same name and may then block on the runtime again.
//! - Nothing shuts it down: it lives as long as the process.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// The name of the runtime's threads (its workers and its blocking pool), as `top -H` and
/// `/proc/<pid>/task/*/comm` show them.
pub const IO_THREAD_NAME: &str = "ember-io";

/// How many worker threads the runtime has: one per core, between 2 and 4. Two, so that a
/// connection busy checksumming or signing does not hold up the others; no more than the
/// cores or 4, because they mostly wait and every thread that handles buffers keeps a heap of
/// its own (4 workers on a 2-core machine cost each executor of a 2 GB sort 20 MiB more
/// resident memory, for no speed).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// The I/O runtime of this process, started on first use and never shut down.
///
/// # Errors
/// The system refused the runtime's threads; every later call returns the same error.
pub fn io_runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers())
                .thread_name(IO_THREAD_NAME)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| Error::Runtime(message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_returns_the_same_runtime() {
        let first = io_runtime().unwrap().handle().id();
        let second = std::thread::spawn(|| io_runtime().unwrap().handle().id())
            .join()
            .unwrap();
        assert_eq!(first, second, "two threads were given two runtimes");
    }

    #[test]
    fn tasks_and_blocking_work_run_on_threads_named_ember_io() {
        let runtime = io_runtime().unwrap();
        let name = || std::thread::current().name().map(str::to_string);
        let on_worker = runtime.block_on(runtime.spawn(async move { name() }));
        let on_blocking = runtime.block_on(runtime.spawn_blocking(name));
        assert_eq!(on_worker.unwrap().as_deref(), Some(IO_THREAD_NAME));
        assert_eq!(on_blocking.unwrap().as_deref(), Some(IO_THREAD_NAME));
    }
}
