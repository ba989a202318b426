//! Executors as child processes of the driver (Spark's `LocalSparkCluster`).
//!
//! The driver starts E copies of its own executable in executor role, each told the driver's
//! address, its id and its cores; its memory comes with the rest of the
//! configuration when it registers. A child that ends is reported to the driver through
//! its [`DriverEndpointRef`] (a registered one is lost; one that never registered could not
//! start). A lost executor is replaced by a new one with a new id, as a standalone worker
//! would, up to `max(2 E, 3)` replacements (Spark's default for `spark.executor.maxFailures`).
//! Stopping the cluster asks every child to end, then kills those still there after a grace
//! period.
//!
//! It is built in, not a registered cluster manager, but drives the driver through the same
//! public handle as one: [`DriverEndpointRef`] and [`ExecutorLauncher`].

use super::{DriverEndpointRef, ExecutorLauncher};
use crate::error::{Error, Result};
use crate::executor::ExecutorArgs;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long children get to end by themselves when the application stops.
const GRACE: Duration = Duration::from_secs(2);

/// The executor processes of a `local-cluster` application.
pub(crate) struct LocalCluster {
    driver_address: String,
    executors: usize,
    cores: usize,
    children: Mutex<HashMap<String, Child>>,
    next_id: AtomicUsize,
    replacements_left: AtomicUsize,
    stopping: AtomicBool,
    /// Told of children that end.
    driver: DriverEndpointRef,
}

impl LocalCluster {
    /// Starts `executors` processes connecting to `driver`.
    ///
    /// # Errors
    /// The executable cannot be found or started.
    pub(crate) fn start(
        driver: DriverEndpointRef,
        executors: usize,
        cores: usize,
    ) -> Result<Arc<Self>> {
        let cluster = Arc::new(LocalCluster {
            driver_address: driver.address().to_string(),
            executors,
            cores,
            children: Mutex::new(HashMap::new()),
            next_id: AtomicUsize::new(0),
            replacements_left: AtomicUsize::new((2 * executors).max(3)),
            stopping: AtomicBool::new(false),
            driver,
        });
        for _ in 0..executors {
            cluster.spawn()?;
        }
        let watcher = Arc::downgrade(&cluster);
        std::thread::Builder::new()
            .name("ember-local-cluster".into())
            .spawn(move || {
                while let Some(cluster) = watcher.upgrade() {
                    if !cluster.reap() {
                        return;
                    }
                    drop(cluster);
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
            .map_err(|e| Error::io("local-cluster watcher thread", e))?;
        Ok(cluster)
    }

    fn spawn(&self) -> Result<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
        let args = ExecutorArgs {
            driver_address: self.driver_address.clone(),
            executor_id: id.clone(),
            host: "127.0.0.1".into(),
            cores: self.cores,
        };
        let mut command = Command::new(&exe);
        args.apply(&mut command);
        // Executors' output goes to the driver's stderr: its stdout is the application's.
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(&exe, e))?;
        tracing::debug!("started executor {id} as process {}", child.id());
        self.children.lock().insert(id, child);
        Ok(())
    }

    /// Reports children that ended; returns false once stopped and empty.
    fn reap(&self) -> bool {
        let mut ended = Vec::new();
        {
            let mut children = self.children.lock();
            children.retain(|id, child| match child.try_wait() {
                Ok(Some(status)) => {
                    ended.push((id.clone(), format!("its process ended ({status})")));
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    ended.push((id.clone(), format!("its process cannot be watched: {e}")));
                    false
                }
            });
            if self.stopping.load(Ordering::Relaxed) && children.is_empty() {
                return false;
            }
        }
        if !self.stopping.load(Ordering::Relaxed) {
            for (id, reason) in ended {
                self.driver.executor_exited(&id, &reason);
            }
        }
        true
    }

    /// The scheduler lost executor `id`: make sure its process is gone, and start another.
    fn replace(&self, id: &str) {
        if let Some(mut child) = self.children.lock().remove(id) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        let left = self.replacements_left.load(Ordering::Relaxed);
        if left == 0 {
            if self.children.lock().is_empty() {
                let reason = format!(
                    "every executor was lost, the last one being executor {id}, and the {} \
                     replacements allowed were all used",
                    (2 * self.executors).max(3)
                );
                self.driver.no_more_executors(reason);
            }
            return;
        }
        self.replacements_left.store(left - 1, Ordering::Relaxed);
        if let Err(e) = self.spawn() {
            tracing::error!("cannot start an executor to replace executor {id}: {e}");
        }
    }

    /// Ends every child: they were told to shut down; those still running after a grace period
    /// are killed.
    fn stop_children(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + GRACE;
        let mut children: Vec<Child> = self.children.lock().drain().map(|(_, c)| c).collect();
        while Instant::now() < deadline {
            children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
            if children.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for mut child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl ExecutorLauncher for LocalCluster {
    fn executor_lost(&self, executor_id: &str) {
        self.replace(executor_id);
    }

    fn stop(&self) {
        self.stop_children();
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop_children();
    }
}
