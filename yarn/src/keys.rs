//! The `ember.*` keys that only YARN reads, declared here with the code that reads them (the
//! configuration reference lists them under "YARN").
//!
//! The executor counts and sizes and the deploy mode are ember-core's
//! ([`ember_core::conf::keys`]): `ember submit` and every cluster manager read them. Some keys
//! here are ones Spark keeps in its core because more than one cluster manager reads them
//! (`ember.driver.host`, the memory overheads, `ember.executor.maxFailures`, the registration
//! hold); YARN is ember's only reader today. A key is declared by one crate only, so when a
//! second cluster manager reads one, the key moves to ember-core rather than being declared
//! twice.

use ember_core::conf::ConfigEntry;
use std::time::Duration;

ember_core::config_keys! {
    area: "YARN";
    /// The host a YARN driver serves executors on.
    pub const DRIVER_HOST: ConfigEntry<String> = ConfigEntry::text(
        "ember.driver.host",
        None,
        "the host name or address executors reach a YARN driver at (default: this machine's name; in a container, its node's)",
        "0.1.0",
    );
    /// Container memory of a YARN executor beyond its heap budget.
    pub const EXECUTOR_MEMORY_OVERHEAD: ConfigEntry<u64> = ConfigEntry::mebibytes(
        "ember.executor.memoryOverhead",
        None,
        "memory a YARN executor container has beyond ember.executor.memory (default: 10% of it, at least 384m)",
        "0.1.0",
    );
    /// Container memory of a cluster-mode driver beyond its budget.
    pub const DRIVER_MEMORY_OVERHEAD: ConfigEntry<u64> = ConfigEntry::mebibytes(
        "ember.driver.memoryOverhead",
        None,
        "container memory of a cluster-mode driver beyond ember.driver.memory (default: 10%, at least 384m)",
        "0.1.0",
    );
    /// Executor failures a YARN application survives.
    pub const EXECUTOR_MAX_FAILURES: ConfigEntry<usize> = ConfigEntry::positive(
        "ember.executor.maxFailures",
        None,
        "executor failures before a YARN application fails (default: twice the executors, at least 3)",
        "0.1.0",
    );
    /// The YARN queue.
    pub const QUEUE: ConfigEntry<String> = ConfigEntry::text(
        "ember.yarn.queue",
        Some("default"),
        "the YARN queue applications are submitted to",
        "0.1.0",
    );
    /// Application attempts YARN makes.
    pub const MAX_APP_ATTEMPTS: ConfigEntry<usize> = ConfigEntry::positive(
        "ember.yarn.maxAppAttempts",
        None,
        "attempts YARN makes at an application (default: the cluster's yarn.resourcemanager.am.max-attempts)",
        "0.1.0",
    );
    /// Where applications stage their files.
    pub const STAGING_DIR: ConfigEntry<String> = ConfigEntry::text(
        "ember.yarn.stagingDir",
        None,
        "where submitted applications stage their files (default: /user/<user>/.emberStaging on fs.defaultFS)",
        "0.1.0",
    );
    /// Memory of a client-mode ApplicationMaster.
    pub const AM_MEMORY: ConfigEntry<u64> = ConfigEntry::mebibytes(
        "ember.yarn.am.memory",
        Some("512m"),
        "memory of the ApplicationMaster in client mode",
        "0.1.0",
    );
    /// Files every YARN container of the application finds in its working directory.
    pub const DIST_FILES: ConfigEntry<String> = ConfigEntry::text(
        "ember.yarn.dist.files",
        None,
        "comma-separated local files put in the working directory of a YARN application's driver and executors (--files)",
        "0.1.0",
    );
    /// Share of YARN executors to wait for before scheduling.
    pub const MIN_REGISTERED_RESOURCES_RATIO: ConfigEntry<f64> = ConfigEntry::ratio(
        "ember.scheduler.minRegisteredResourcesRatio",
        Some("0.8"),
        "share of the executors asked for that must register before a YARN driver schedules tasks",
        "0.1.0",
    );
    /// Longest wait for YARN executors before scheduling.
    pub const MAX_REGISTERED_RESOURCES_WAITING_TIME: ConfigEntry<Duration> = ConfigEntry::seconds(
        "ember.scheduler.maxRegisteredResourcesWaitingTime",
        Some("30s"),
        "longest a YARN driver waits for its executors before it schedules tasks anyway",
        "0.1.0",
    );
}
