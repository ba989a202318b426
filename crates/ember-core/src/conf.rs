//! Configuration: `ember.*` keys, each defined once with its type, default and meaning.
//!
//! Settings come from three places, later ones winning, as in Spark:
//! 1. `ember-defaults.conf` in `$EMBER_CONF_DIR` (or `$EMBER_HOME/conf`): `key value` lines,
//!    `#` comments;
//! 2. `ember submit --conf key=value` (handed to the application through `EMBER_SUBMIT_CONF`);
//! 3. [`EmberConf::set`] in the application's code.
//!
//! Keys mirror Spark's `spark.*` keys where they mean the same; see [`keys`].

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The environment variable `ember submit` uses to hand `--conf` settings to an application:
/// `key=value` pairs separated by newlines.
pub const SUBMIT_CONF_ENV: &str = "EMBER_SUBMIT_CONF";
/// Names a file of settings (`key=value` lines) a submitter passed on, read before
/// [`SUBMIT_CONF_ENV`]: how YARN containers get theirs.
pub const SUBMIT_CONF_FILE_ENV: &str = "EMBER_SUBMIT_CONF_FILE";

/// One typed configuration key (Spark's `ConfigEntry`).
pub struct ConfigEntry<T> {
    /// The key, `ember.*`.
    pub key: &'static str,
    /// The default, in the same text form a user would write; `None` when derived at run time.
    pub default: Option<&'static str>,
    /// What the key means.
    pub doc: &'static str,
    /// The ember version that introduced it.
    pub since: &'static str,
    parse: fn(&str) -> std::result::Result<T, String>,
}

/// A constructor of keys of one type, for crates that keep keys of their own.
macro_rules! typed_entry {
    ($(#[$doc:meta])* $name:ident: $type:ty = $parse:ident) => {
        impl ConfigEntry<$type> {
            $(#[$doc])*
            pub const fn $name(
                key: &'static str,
                default: Option<&'static str>,
                doc: &'static str,
                since: &'static str,
            ) -> Self {
                ConfigEntry {
                    key,
                    default,
                    doc,
                    since,
                    parse: $parse,
                }
            }
        }
    };
}

typed_entry!(
    /// A `true`/`false` key.
    boolean: bool = parse_bool
);
typed_entry!(
    /// A text key.
    text: String = parse_string
);
typed_entry!(
    /// A size in bytes: `10m`, `512k`, or a bare number of bytes.
    bytes: u64 = parse_byte_count
);

impl<T> fmt::Debug for ConfigEntry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigEntry")
            .field("key", &self.key)
            .field("default", &self.default)
            .finish()
    }
}

/// Every `ember.*` key of the core engine.
pub mod keys {
    use super::{
        parse_bool, parse_byte_count, parse_bytes, parse_fraction, parse_millis, parse_positive,
        parse_ratio, parse_seconds, parse_string, ConfigEntry,
    };
    use std::time::Duration;

    /// The master URL.
    pub const MASTER: ConfigEntry<String> = ConfigEntry {
        key: "ember.master",
        default: None,
        doc: "where to run: local, local[N], local[*], local[N,F] or local-cluster[E,C,M]",
        since: "0.1.0",
        parse: parse_string,
    };
    /// The application's name, shown in logs and summaries.
    pub const APP_NAME: ConfigEntry<String> = ConfigEntry {
        key: "ember.app.name",
        default: Some("ember"),
        doc: "the application's name",
        since: "0.1.0",
        parse: parse_string,
    };
    /// The application's id, set by whoever launched it (YARN's application id).
    pub const APP_ID: ConfigEntry<String> = ConfigEntry {
        key: "ember.app.id",
        default: None,
        doc: "the application's id; set by `ember submit` on YARN (its application id), else local-<start time in ms>",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Whether the driver writes an event log.
    pub const EVENT_LOG_ENABLED: ConfigEntry<bool> = ConfigEntry {
        key: "ember.eventLog.enabled",
        default: Some("false"),
        doc: "write the scheduler's events (jobs, stages, tasks with their locality) to ember.eventLog.dir",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// Where event logs go.
    pub const EVENT_LOG_DIR: ConfigEntry<String> = ConfigEntry {
        key: "ember.eventLog.dir",
        default: Some("/tmp/ember-events"),
        doc: "directory of event logs, one file per application named by its id: a local path or a hdfs://, s3a:// URL",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Partitions of `parallelize` and shuffles when the caller gives none.
    pub const DEFAULT_PARALLELISM: ConfigEntry<usize> = ConfigEntry {
        key: "ember.default.parallelism",
        default: None,
        doc: "default number of partitions; the number of task slots when unset",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Attempts per task before its job is aborted.
    pub const TASK_MAX_FAILURES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.task.maxFailures",
        default: Some("4"),
        doc: "failures of one task before the job is aborted (local[N] tries once unless this \
              is set; local[N,F] sets F)",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Consecutive attempts of a stage (after fetch failures) before its job is aborted.
    pub const STAGE_MAX_CONSECUTIVE_ATTEMPTS: ConfigEntry<usize> = ConfigEntry {
        key: "ember.stage.maxConsecutiveAttempts",
        default: Some("4"),
        doc: "consecutive attempts of a stage before the job is aborted",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Scratch directory for shuffle files, spills and disk-cached blocks.
    pub const LOCAL_DIR: ConfigEntry<String> = ConfigEntry {
        key: "ember.local.dir",
        default: Some("/tmp"),
        doc: "directory for shuffle files, spills and blocks cached on disk",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Memory of one executor (in local mode, of the one process).
    pub const EXECUTOR_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.executor.memory",
        default: Some("1g"),
        doc: "memory per executor (k, m, g, t suffixes; MiB without one)",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Share of (memory - reserved) used for execution and storage together.
    pub const MEMORY_FRACTION: ConfigEntry<f64> = ConfigEntry {
        key: "ember.memory.fraction",
        default: Some("0.6"),
        doc: "fraction of (executor memory - reserved) for execution and storage",
        since: "0.1.0",
        parse: parse_fraction,
    };
    /// Share of the unified pool that cached blocks keep even when execution wants it.
    pub const MEMORY_STORAGE_FRACTION: ConfigEntry<f64> = ConfigEntry {
        key: "ember.memory.storageFraction",
        default: Some("0.5"),
        doc: "fraction of the unified pool immune to eviction by execution",
        since: "0.1.0",
        parse: parse_fraction,
    };
    /// Memory set aside before the unified pool is computed.
    pub const RESERVED_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.testing.reservedMemory",
        default: Some("300m"),
        doc: "memory reserved outside the unified pool (lower it only in tests)",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Whether shuffle outputs and spills are compressed. Unset, they are wherever executors
    /// run (`local-cluster`, `yarn`: segments cross the network) and are not under `local[N]`,
    /// where every segment is read back by the process that wrote it, mostly from the page
    /// cache, and lz4 would only spend the task threads' time.
    pub const SHUFFLE_COMPRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.shuffle.compress",
        default: None,
        doc: "compress shuffle outputs and spills with lz4; default true on executors (local-cluster, yarn), false under local[N]",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// Reduce partitions up to which a map task without map-side combine writes one file per
    /// partition as records come, instead of buffering them (Spark's
    /// `spark.shuffle.sort.bypassMergeThreshold`).
    pub const SHUFFLE_BYPASS_MERGE_THRESHOLD: ConfigEntry<usize> = ConfigEntry {
        key: "ember.shuffle.sort.bypassMergeThreshold",
        default: Some("200"),
        doc: "reduce partitions up to which map tasks without map-side combine stream each partition to its own file",
        since: "0.1.0",
        parse: parse_count,
    };
    /// Whether MEMORY_ONLY_SER and disk blocks are compressed.
    pub const RDD_COMPRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.rdd.compress",
        default: Some("false"),
        doc: "compress serialized cached partitions with lz4",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// Whether the stage progress bar is drawn on a terminal.
    pub const SHOW_CONSOLE_PROGRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.ui.showConsoleProgress",
        default: Some("true"),
        doc: "draw stage progress bars when stderr is a terminal",
        since: "0.1.0",
        parse: parse_bool,
    };

    /// How long the driver waits for an executor's heartbeat (and RPCs for an answer).
    pub const NETWORK_TIMEOUT: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.network.timeout",
        default: Some("120s"),
        doc: "an executor silent for this long is lost; a bare number is seconds",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// How often executors report to the driver.
    pub const EXECUTOR_HEARTBEAT_INTERVAL: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.executor.heartbeatInterval",
        default: Some("10s"),
        doc: "interval between executor heartbeats; a bare number is milliseconds",
        since: "0.1.0",
        parse: parse_millis,
    };
    /// How long the driver waits for the executors it started to register.
    pub const EXECUTOR_REGISTRATION_TIMEOUT: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.executor.registrationTimeout",
        default: Some("60s"),
        doc: "time for started executors to register before the application fails",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// Shuffle bytes a reduce task may have requested and not yet consumed.
    pub const REDUCER_MAX_SIZE_IN_FLIGHT: ConfigEntry<u64> = ConfigEntry {
        key: "ember.reducer.maxSizeInFlight",
        default: Some("48m"),
        doc: "most shuffle bytes a reduce task fetches ahead; a bare number is MiB",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Retries of a shuffle fetch that failed to connect.
    pub const SHUFFLE_IO_MAX_RETRIES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.shuffle.io.maxRetries",
        default: Some("3"),
        doc: "retries of a shuffle fetch whose connection failed",
        since: "0.1.0",
        parse: parse_count,
    };
    /// Pause between shuffle fetch retries.
    pub const SHUFFLE_IO_RETRY_WAIT: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.shuffle.io.retryWait",
        default: Some("5s"),
        doc: "pause between shuffle fetch retries; a bare number is seconds",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// Task results larger than this travel as blocks fetched by the driver.
    pub const TASK_MAX_DIRECT_RESULT_SIZE: ConfigEntry<u64> = ConfigEntry {
        key: "ember.task.maxDirectResultSize",
        default: Some("1m"),
        doc: "larger task results are kept by the executor and fetched by the driver",
        since: "0.1.0",
        parse: parse_byte_count,
    };
    /// How long a task waits for a slot on an executor holding its cached data.
    pub const LOCALITY_WAIT: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.locality.wait",
        default: Some("3s"),
        doc: "how long a task waits for an executor that has its data before running elsewhere",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// Whether a task stops being retried on executors where it failed.
    pub const EXCLUDE_ON_FAILURE_ENABLED: ConfigEntry<bool> = ConfigEntry {
        key: "ember.excludeOnFailure.enabled",
        default: Some("false"),
        doc: "retry a failed task on other executors than the ones it failed on",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// Failures of a task on one executor before that executor is excluded for the task.
    pub const EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR: ConfigEntry<usize> = ConfigEntry {
        key: "ember.excludeOnFailure.task.maxTaskAttemptsPerExecutor",
        default: Some("1"),
        doc: "failures of a task on one executor before it is excluded for that task",
        since: "0.1.0",
        parse: parse_positive,
    };

    /// The longest input split of `text_file`.
    pub const FILES_MAX_PARTITION_BYTES: ConfigEntry<u64> = ConfigEntry {
        key: "ember.files.maxPartitionBytes",
        default: Some("128m"),
        doc: "most bytes of a file one text_file partition reads (splits are also cut at blocks)",
        since: "0.1.0",
        parse: parse_byte_count,
    };
    /// Whether writing into an existing output directory is refused.
    pub const HADOOP_VALIDATE_OUTPUT_SPECS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.hadoop.validateOutputSpecs",
        default: Some("true"),
        doc: "refuse to save into an output directory that exists; false writes into it, \
              replacing files of the same name",
        since: "0.1.0",
        parse: parse_bool,
    };

    /// Where the driver of a YARN application runs.
    pub const SUBMIT_DEPLOY_MODE: ConfigEntry<String> = ConfigEntry {
        key: "ember.submit.deployMode",
        default: Some("client"),
        doc: "where the driver runs on a cluster: client (the submitting process) or cluster (in the YARN ApplicationMaster's container)",
        since: "0.1.0",
        parse: parse_deploy_mode,
    };
    /// Executors of a YARN application.
    pub const EXECUTOR_INSTANCES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.executor.instances",
        default: Some("2"),
        doc: "executors a YARN application asks for",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Task slots of a YARN executor.
    pub const EXECUTOR_CORES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.executor.cores",
        default: Some("1"),
        doc: "task slots of each YARN executor",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Container memory of a YARN executor beyond its heap budget.
    pub const EXECUTOR_MEMORY_OVERHEAD: ConfigEntry<u64> = ConfigEntry {
        key: "ember.executor.memoryOverhead",
        default: None,
        doc: "memory a YARN executor container has beyond ember.executor.memory (default: 10% of it, at least 384m)",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Memory of the driver.
    pub const DRIVER_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.driver.memory",
        default: Some("1g"),
        doc: "memory of the driver; on YARN in cluster mode, of the ApplicationMaster's container",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Cores of the driver's container in cluster mode.
    pub const DRIVER_CORES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.driver.cores",
        default: Some("1"),
        doc: "cores of the driver's YARN container in cluster mode",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Container memory of a cluster-mode driver beyond its budget.
    pub const DRIVER_MEMORY_OVERHEAD: ConfigEntry<u64> = ConfigEntry {
        key: "ember.driver.memoryOverhead",
        default: None,
        doc: "container memory of a cluster-mode driver beyond ember.driver.memory (default: 10%, at least 384m)",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };
    /// Executor failures a YARN application survives.
    pub const EXECUTOR_MAX_FAILURES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.executor.maxFailures",
        default: None,
        doc: "executor failures before a YARN application fails (default: twice the executors, at least 3)",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// The YARN queue.
    pub const YARN_QUEUE: ConfigEntry<String> = ConfigEntry {
        key: "ember.yarn.queue",
        default: Some("default"),
        doc: "the YARN queue applications are submitted to",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Application attempts YARN makes.
    pub const YARN_MAX_APP_ATTEMPTS: ConfigEntry<usize> = ConfigEntry {
        key: "ember.yarn.maxAppAttempts",
        default: None,
        doc: "attempts YARN makes at an application (default: the cluster's yarn.resourcemanager.am.max-attempts)",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Where applications stage their files.
    pub const YARN_STAGING_DIR: ConfigEntry<String> = ConfigEntry {
        key: "ember.yarn.stagingDir",
        default: None,
        doc: "where submitted applications stage their files (default: /user/<user>/.emberStaging on fs.defaultFS)",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Memory of a client-mode ApplicationMaster.
    pub const YARN_AM_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.yarn.am.memory",
        default: Some("512m"),
        doc: "memory of the ApplicationMaster in client mode",
        since: "0.1.0",
        parse: parse_mebibytes_default,
    };

    /// Share of YARN executors to wait for before scheduling.
    pub const MIN_REGISTERED_RESOURCES_RATIO: ConfigEntry<f64> = ConfigEntry {
        key: "ember.scheduler.minRegisteredResourcesRatio",
        default: Some("0.8"),
        doc: "share of the executors asked for that must register before a YARN driver schedules tasks",
        since: "0.1.0",
        parse: parse_ratio,
    };
    /// Longest wait for YARN executors before scheduling.
    pub const MAX_REGISTERED_RESOURCES_WAITING_TIME: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.scheduler.maxRegisteredResourcesWaitingTime",
        default: Some("30s"),
        doc: "longest a YARN driver waits for its executors before it schedules tasks anyway",
        since: "0.1.0",
        parse: parse_seconds,
    };

    /// The host a YARN driver serves executors on.
    pub const DRIVER_HOST: ConfigEntry<String> = ConfigEntry {
        key: "ember.driver.host",
        default: None,
        doc: "the host name or address executors reach a YARN driver at (default: this machine's name; in a container, its node's)",
        since: "0.1.0",
        parse: parse_string,
    };

    /// Files every YARN container of the application finds in its working directory.
    pub const YARN_DIST_FILES: ConfigEntry<String> = ConfigEntry {
        key: "ember.yarn.dist.files",
        default: None,
        doc: "comma-separated local files put in the working directory of a YARN application's driver and executors (--files)",
        since: "0.1.0",
        parse: parse_string,
    };

    /// `ember.locality.wait` for one level.
    pub const LOCALITY_WAIT_PROCESS: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.locality.wait.process",
        default: None,
        doc: "how long a task set waits for an executor holding a cached partition it reads (PROCESS_LOCAL) before the next level (default: ember.locality.wait)",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// `ember.locality.wait` for one level.
    pub const LOCALITY_WAIT_NODE: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.locality.wait.node",
        default: None,
        doc: "how long a task set waits for a host holding its input (NODE_LOCAL) before the next level (default: ember.locality.wait)",
        since: "0.1.0",
        parse: parse_seconds,
    };
    /// `ember.locality.wait` for one level.
    pub const LOCALITY_WAIT_RACK: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.locality.wait.rack",
        default: None,
        doc: "how long a task set waits for a rack holding its input (RACK_LOCAL) before the next level (default: ember.locality.wait)",
        since: "0.1.0",
        parse: parse_seconds,
    };

    fn parse_mebibytes_default(s: &str) -> Result<u64, String> {
        parse_bytes(s, 1 << 20)
    }

    fn parse_deploy_mode(s: &str) -> Result<String, String> {
        match s {
            "client" | "cluster" => Ok(s.to_string()),
            _ => Err("expected client or cluster".into()),
        }
    }

    fn parse_count(s: &str) -> Result<usize, String> {
        s.parse().map_err(|_| "expected a whole number".into())
    }

    /// All keys, for the generated configuration page and for typo hints.
    pub const ALL: &[(&str, Option<&str>, &str)] = &[
        (MASTER.key, MASTER.default, MASTER.doc),
        (APP_NAME.key, APP_NAME.default, APP_NAME.doc),
        (APP_ID.key, APP_ID.default, APP_ID.doc),
        (
            EVENT_LOG_ENABLED.key,
            EVENT_LOG_ENABLED.default,
            EVENT_LOG_ENABLED.doc,
        ),
        (EVENT_LOG_DIR.key, EVENT_LOG_DIR.default, EVENT_LOG_DIR.doc),
        (
            DEFAULT_PARALLELISM.key,
            DEFAULT_PARALLELISM.default,
            DEFAULT_PARALLELISM.doc,
        ),
        (
            TASK_MAX_FAILURES.key,
            TASK_MAX_FAILURES.default,
            TASK_MAX_FAILURES.doc,
        ),
        (
            STAGE_MAX_CONSECUTIVE_ATTEMPTS.key,
            STAGE_MAX_CONSECUTIVE_ATTEMPTS.default,
            STAGE_MAX_CONSECUTIVE_ATTEMPTS.doc,
        ),
        (LOCAL_DIR.key, LOCAL_DIR.default, LOCAL_DIR.doc),
        (
            EXECUTOR_MEMORY.key,
            EXECUTOR_MEMORY.default,
            EXECUTOR_MEMORY.doc,
        ),
        (
            MEMORY_FRACTION.key,
            MEMORY_FRACTION.default,
            MEMORY_FRACTION.doc,
        ),
        (
            MEMORY_STORAGE_FRACTION.key,
            MEMORY_STORAGE_FRACTION.default,
            MEMORY_STORAGE_FRACTION.doc,
        ),
        (
            RESERVED_MEMORY.key,
            RESERVED_MEMORY.default,
            RESERVED_MEMORY.doc,
        ),
        (
            SHUFFLE_COMPRESS.key,
            SHUFFLE_COMPRESS.default,
            SHUFFLE_COMPRESS.doc,
        ),
        (
            SHUFFLE_BYPASS_MERGE_THRESHOLD.key,
            SHUFFLE_BYPASS_MERGE_THRESHOLD.default,
            SHUFFLE_BYPASS_MERGE_THRESHOLD.doc,
        ),
        (RDD_COMPRESS.key, RDD_COMPRESS.default, RDD_COMPRESS.doc),
        (
            SHOW_CONSOLE_PROGRESS.key,
            SHOW_CONSOLE_PROGRESS.default,
            SHOW_CONSOLE_PROGRESS.doc,
        ),
        (
            NETWORK_TIMEOUT.key,
            NETWORK_TIMEOUT.default,
            NETWORK_TIMEOUT.doc,
        ),
        (
            EXECUTOR_HEARTBEAT_INTERVAL.key,
            EXECUTOR_HEARTBEAT_INTERVAL.default,
            EXECUTOR_HEARTBEAT_INTERVAL.doc,
        ),
        (
            EXECUTOR_REGISTRATION_TIMEOUT.key,
            EXECUTOR_REGISTRATION_TIMEOUT.default,
            EXECUTOR_REGISTRATION_TIMEOUT.doc,
        ),
        (
            REDUCER_MAX_SIZE_IN_FLIGHT.key,
            REDUCER_MAX_SIZE_IN_FLIGHT.default,
            REDUCER_MAX_SIZE_IN_FLIGHT.doc,
        ),
        (
            SHUFFLE_IO_MAX_RETRIES.key,
            SHUFFLE_IO_MAX_RETRIES.default,
            SHUFFLE_IO_MAX_RETRIES.doc,
        ),
        (
            SHUFFLE_IO_RETRY_WAIT.key,
            SHUFFLE_IO_RETRY_WAIT.default,
            SHUFFLE_IO_RETRY_WAIT.doc,
        ),
        (
            TASK_MAX_DIRECT_RESULT_SIZE.key,
            TASK_MAX_DIRECT_RESULT_SIZE.default,
            TASK_MAX_DIRECT_RESULT_SIZE.doc,
        ),
        (LOCALITY_WAIT.key, LOCALITY_WAIT.default, LOCALITY_WAIT.doc),
        (
            EXCLUDE_ON_FAILURE_ENABLED.key,
            EXCLUDE_ON_FAILURE_ENABLED.default,
            EXCLUDE_ON_FAILURE_ENABLED.doc,
        ),
        (
            EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR.key,
            EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR.default,
            EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR.doc,
        ),
        (
            FILES_MAX_PARTITION_BYTES.key,
            FILES_MAX_PARTITION_BYTES.default,
            FILES_MAX_PARTITION_BYTES.doc,
        ),
        (
            HADOOP_VALIDATE_OUTPUT_SPECS.key,
            HADOOP_VALIDATE_OUTPUT_SPECS.default,
            HADOOP_VALIDATE_OUTPUT_SPECS.doc,
        ),
        (
            SUBMIT_DEPLOY_MODE.key,
            SUBMIT_DEPLOY_MODE.default,
            SUBMIT_DEPLOY_MODE.doc,
        ),
        (
            EXECUTOR_INSTANCES.key,
            EXECUTOR_INSTANCES.default,
            EXECUTOR_INSTANCES.doc,
        ),
        (
            EXECUTOR_CORES.key,
            EXECUTOR_CORES.default,
            EXECUTOR_CORES.doc,
        ),
        (
            EXECUTOR_MEMORY_OVERHEAD.key,
            EXECUTOR_MEMORY_OVERHEAD.default,
            EXECUTOR_MEMORY_OVERHEAD.doc,
        ),
        (DRIVER_MEMORY.key, DRIVER_MEMORY.default, DRIVER_MEMORY.doc),
        (DRIVER_CORES.key, DRIVER_CORES.default, DRIVER_CORES.doc),
        (
            DRIVER_MEMORY_OVERHEAD.key,
            DRIVER_MEMORY_OVERHEAD.default,
            DRIVER_MEMORY_OVERHEAD.doc,
        ),
        (
            EXECUTOR_MAX_FAILURES.key,
            EXECUTOR_MAX_FAILURES.default,
            EXECUTOR_MAX_FAILURES.doc,
        ),
        (YARN_QUEUE.key, YARN_QUEUE.default, YARN_QUEUE.doc),
        (
            YARN_MAX_APP_ATTEMPTS.key,
            YARN_MAX_APP_ATTEMPTS.default,
            YARN_MAX_APP_ATTEMPTS.doc,
        ),
        (
            YARN_STAGING_DIR.key,
            YARN_STAGING_DIR.default,
            YARN_STAGING_DIR.doc,
        ),
        (
            YARN_AM_MEMORY.key,
            YARN_AM_MEMORY.default,
            YARN_AM_MEMORY.doc,
        ),
        (
            MIN_REGISTERED_RESOURCES_RATIO.key,
            MIN_REGISTERED_RESOURCES_RATIO.default,
            MIN_REGISTERED_RESOURCES_RATIO.doc,
        ),
        (
            MAX_REGISTERED_RESOURCES_WAITING_TIME.key,
            MAX_REGISTERED_RESOURCES_WAITING_TIME.default,
            MAX_REGISTERED_RESOURCES_WAITING_TIME.doc,
        ),
    ];
}

/// An application's settings (Spark's `SparkConf`).
///
/// ```
/// use ember_core::{EmberConf, conf::keys};
/// let conf = EmberConf::empty().set("ember.task.maxFailures", "2");
/// assert_eq!(conf.get(&keys::TASK_MAX_FAILURES).unwrap(), Some(2));
/// assert_eq!(conf.get(&keys::LOCAL_DIR).unwrap().as_deref(), Some("/tmp"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct EmberConf {
    settings: BTreeMap<String, String>,
}

impl EmberConf {
    /// Settings from `ember-defaults.conf` and `ember submit --conf`, ready for code to add to.
    ///
    /// # Errors
    /// A defaults file or submit setting that cannot be parsed.
    pub fn new() -> Result<Self> {
        let mut conf = EmberConf::empty();
        if let Some(dir) = conf_dir() {
            let file = dir.join("ember-defaults.conf");
            if file.is_file() {
                conf.load_defaults_file(&file)?;
            }
        }
        if let Some(file) = std::env::var_os(SUBMIT_CONF_FILE_ENV) {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            conf.add_submitted(SUBMIT_CONF_FILE_ENV, &text)?;
        }
        if let Ok(text) = std::env::var(SUBMIT_CONF_ENV) {
            conf.add_submitted(SUBMIT_CONF_ENV, &text)?;
        }
        Ok(conf)
    }

    /// Adds the `key=value` lines a submitter passed on.
    fn add_submitted(&mut self, source: &str, text: &str) -> Result<()> {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = split_key_value(line).ok_or_else(|| Error::Config {
                key: source.into(),
                value: line.into(),
                reason: "expected key=value".into(),
            })?;
            self.settings.insert(k.into(), v.into());
        }
        Ok(())
    }

    /// No settings at all: every key at its default.
    pub fn empty() -> Self {
        EmberConf::default()
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// Sets the master URL (`ember.master`).
    pub fn set_master(self, master: &str) -> Self {
        self.set(keys::MASTER.key, master)
    }

    /// Sets the application name (`ember.app.name`).
    pub fn set_app_name(self, name: &str) -> Self {
        self.set(keys::APP_NAME.key, name)
    }

    /// The raw value of `key`, if set.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// All settings, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The typed value of `entry`: the setting, else the default, else `None`.
    ///
    /// # Errors
    /// The setting (or default) does not parse as the key's type; the error names the key.
    pub fn get<T>(&self, entry: &ConfigEntry<T>) -> Result<Option<T>> {
        let Some(raw) = self.get_raw(entry.key).or(entry.default) else {
            return Ok(None);
        };
        (entry.parse)(raw.trim())
            .map(Some)
            .map_err(|reason| Error::Config {
                key: entry.key.into(),
                value: raw.into(),
                reason,
            })
    }

    /// Like [`get`](Self::get), for keys that always have a default.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn require<T>(&self, entry: &ConfigEntry<T>) -> Result<T> {
        self.get(entry)?
            .ok_or_else(|| Error::Internal(format!("{} has no default", entry.key)))
    }

    /// Reads `key value` (or `key=value`) lines; `#` starts a comment.
    ///
    /// # Errors
    /// The file cannot be read, or a line has a key but no value.
    pub fn load_defaults_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = split_key_value(line).ok_or_else(|| Error::ConfigFile {
                path: path.into(),
                line: n + 1,
                reason: format!("'{line}' has no value; write 'key value'"),
            })?;
            self.settings
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
        Ok(())
    }
}

fn conf_dir() -> Option<std::path::PathBuf> {
    if let Ok(dir) = std::env::var("EMBER_CONF_DIR") {
        return Some(dir.into());
    }
    std::env::var("EMBER_HOME")
        .ok()
        .map(|home| Path::new(&home).join("conf"))
}

fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let at = line.find(|c: char| c == '=' || c.is_whitespace())?;
    let (k, rest) = line.split_at(at);
    let v = rest[1..].trim_start_matches(|c: char| c == '=' || c.is_whitespace());
    (!k.is_empty() && !v.is_empty()).then_some((k, v.trim_end()))
}

fn parse_string(s: &str) -> std::result::Result<String, String> {
    Ok(s.to_string())
}

fn parse_positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive integer".into()),
    }
}

fn parse_byte_count(s: &str) -> std::result::Result<u64, String> {
    parse_bytes(s, 1)
}

fn parse_bool(s: &str) -> std::result::Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) && f > 0.0 => Ok(f),
        _ => Err("expected a number in (0, 1]".into()),
    }
}

fn parse_ratio(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("expected a number from 0 to 1".into()),
    }
}

/// Parses durations like Spark's time strings: `500ms`, `10s`, `2min`, `1h`; a bare number is
/// in `default_unit`.
pub fn parse_duration(
    s: &str,
    default_unit: std::time::Duration,
) -> std::result::Result<std::time::Duration, String> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u32 = digits
        .parse()
        .map_err(|_| "expected a duration such as 500ms, 10s or 2min".to_string())?;
    let unit = match unit {
        "" => default_unit,
        "ms" => std::time::Duration::from_millis(1),
        "s" => std::time::Duration::from_secs(1),
        "m" | "min" => std::time::Duration::from_secs(60),
        "h" => std::time::Duration::from_secs(3600),
        _ => return Err("expected a duration such as 500ms, 10s or 2min".into()),
    };
    Ok(unit * n)
}

fn parse_seconds(s: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(s, std::time::Duration::from_secs(1))
}

fn parse_millis(s: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(s, std::time::Duration::from_millis(1))
}

/// Parses sizes like Spark's byte strings: `512m`, `2g`, `64k`, `1t`, `100b`; a bare number is in
/// `default_unit` bytes.
pub fn parse_bytes(s: &str, default_unit: u64) -> std::result::Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let lower = lower
        .strip_suffix('b')
        .filter(|r| !r.is_empty())
        .unwrap_or(&lower);
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let unit = match unit {
        "" if s.to_ascii_lowercase().ends_with('b') => 1,
        "" => default_unit,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err("expected a size such as 512m, 2g or 1048576b".into()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| "expected a size such as 512m, 2g or 1048576b".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_spark_byte_strings() {
        assert_eq!(parse_bytes("512m", 1), Ok(512 << 20));
        assert_eq!(parse_bytes("2G", 1), Ok(2 << 30));
        assert_eq!(parse_bytes("100b", 1 << 20), Ok(100));
        assert_eq!(parse_bytes("3", 1 << 20), Ok(3 << 20));
        assert!(parse_bytes("lots", 1).is_err());
        assert!(parse_bytes("", 1).is_err());
    }

    #[test]
    fn durations_parse_like_spark_time_strings() {
        use std::time::Duration;
        assert_eq!(parse_seconds("120s"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_seconds("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_millis("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_millis("2min"), Ok(Duration::from_secs(120)));
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("5 weeks").is_err());
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let conf = EmberConf::empty().set("ember.task.maxFailures", "zero");
        let err = conf.get(&keys::TASK_MAX_FAILURES).unwrap_err().to_string();
        assert!(err.contains("ember.task.maxFailures"), "{err}");
        assert!(err.contains("positive integer"), "{err}");
    }

    #[test]
    fn defaults_file_loses_to_settings_already_made() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ember-defaults.conf");
        std::fs::write(&file, "# c\nember.task.maxFailures 7\nember.local.dir=/x\n").unwrap();
        let mut conf = EmberConf::empty().set("ember.local.dir", "/y");
        conf.load_defaults_file(&file).unwrap();
        assert_eq!(conf.get(&keys::TASK_MAX_FAILURES).unwrap(), Some(7));
        assert_eq!(conf.get_raw("ember.local.dir"), Some("/y"));
    }

    #[test]
    fn a_key_without_value_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ember-defaults.conf");
        std::fs::write(&file, "\nember.local.dir\n").unwrap();
        let err = EmberConf::empty().load_defaults_file(&file).unwrap_err();
        assert!(err.to_string().contains(":2:"), "{err}");
    }
}
