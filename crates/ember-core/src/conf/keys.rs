//! Every `ember.*` key of the core engine, grouped by the area of the configuration reference
//! they appear in, with the few that every cluster manager reads (`ember.executor.instances`,
//! `ember.executor.cores`, the driver's size and deploy mode). A cluster manager's own keys
//! are declared in its crate.
//!
//! Keys mirror Spark's `spark.*` keys where they mean the same.

use super::{
    parse_bool, parse_byte_count, parse_fraction, parse_mebibytes, parse_millis, parse_positive,
    parse_seconds, parse_string, ConfigEntry,
};
use std::time::Duration;

crate::config_keys! {
    area: "Application";
    /// The master URL.
    pub const MASTER: ConfigEntry<String> = ConfigEntry {
        key: "ember.master",
        default: None,
        doc: "where to run: local, local[N], local[*], local[N,F], local-cluster[E,C,M], or a master URL of a cluster manager that another ember crate provides (yarn)",
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
    /// The application's id, set by whoever launched it (its cluster manager's id for it).
    pub const APP_ID: ConfigEntry<String> = ConfigEntry {
        key: "ember.app.id",
        default: None,
        doc: "the application's id; set by `ember submit` to the id its cluster manager gave it, else local-<start time in ms>",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Where the driver of an application on a cluster runs.
    pub const SUBMIT_DEPLOY_MODE: ConfigEntry<String> = ConfigEntry {
        key: "ember.submit.deployMode",
        default: Some("client"),
        doc: "where the driver runs on a cluster: client (the submitting process) or cluster (in a container the cluster manager starts)",
        since: "0.1.0",
        parse: parse_deploy_mode,
    };
    /// Memory of the driver.
    pub const DRIVER_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.driver.memory",
        default: Some("1g"),
        doc: "memory of the driver; in cluster deploy mode, of the container it runs in",
        since: "0.1.0",
        parse: parse_mebibytes,
    };
    /// Cores of the driver's container in cluster mode.
    pub const DRIVER_CORES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.driver.cores",
        default: Some("1"),
        doc: "cores of the driver's container in cluster deploy mode",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Executors of an application on a cluster manager.
    pub const EXECUTOR_INSTANCES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.executor.instances",
        default: Some("2"),
        doc: "executors an application on a cluster manager asks for (local-cluster[E,C,M] gives E itself)",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Task slots of an executor a cluster manager starts.
    pub const EXECUTOR_CORES: ConfigEntry<usize> = ConfigEntry {
        key: "ember.executor.cores",
        default: Some("1"),
        doc: "task slots of each executor a cluster manager starts (local-cluster[E,C,M] gives C itself)",
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
    /// Whether the stage progress bar is drawn on a terminal.
    pub const SHOW_CONSOLE_PROGRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.ui.showConsoleProgress",
        default: Some("true"),
        doc: "draw stage progress bars when stderr is a terminal",
        since: "0.1.0",
        parse: parse_bool,
    };
}

crate::config_keys! {
    area: "Execution";
    /// Partitions of `parallelize` and shuffles when the caller gives none.
    pub const DEFAULT_PARALLELISM: ConfigEntry<usize> = ConfigEntry {
        key: "ember.default.parallelism",
        default: None,
        doc: "default number of partitions; the number of task slots when unset",
        since: "0.1.0",
        parse: parse_positive,
    };
    /// Task results larger than this travel as blocks fetched by the driver.
    pub const TASK_MAX_DIRECT_RESULT_SIZE: ConfigEntry<u64> = ConfigEntry {
        key: "ember.task.maxDirectResultSize",
        default: Some("1m"),
        doc: "larger task results are kept by the executor and fetched by the driver",
        since: "0.1.0",
        parse: parse_byte_count,
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
}

crate::config_keys! {
    area: "Memory and storage";
    /// Memory of one executor (in local mode, of the one process).
    pub const EXECUTOR_MEMORY: ConfigEntry<u64> = ConfigEntry {
        key: "ember.executor.memory",
        default: Some("1g"),
        doc: "memory per executor (k, m, g, t suffixes; MiB without one)",
        since: "0.1.0",
        parse: parse_mebibytes,
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
        parse: parse_mebibytes,
    };
    /// Whether MEMORY_ONLY_SER and disk blocks are compressed.
    pub const RDD_COMPRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.rdd.compress",
        default: Some("false"),
        doc: "compress serialized cached partitions with lz4",
        since: "0.1.0",
        parse: parse_bool,
    };
}

crate::config_keys! {
    area: "Shuffle";
    /// Whether shuffle outputs and spills are compressed. Unset, they are wherever executors
    /// run (`local-cluster`, cluster managers: segments cross the network) and are not under
    /// `local[N]`,
    /// where every segment is read back by the process that wrote it, mostly from the page
    /// cache, and lz4 would only spend the task threads' time.
    pub const SHUFFLE_COMPRESS: ConfigEntry<bool> = ConfigEntry {
        key: "ember.shuffle.compress",
        default: None,
        doc: "compress shuffle outputs and spills with lz4; default true on executors (local-cluster, cluster managers), false under local[N]",
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
    /// Shuffle bytes a reduce task may have requested and not yet consumed.
    pub const REDUCER_MAX_SIZE_IN_FLIGHT: ConfigEntry<u64> = ConfigEntry {
        key: "ember.reducer.maxSizeInFlight",
        default: Some("48m"),
        doc: "most shuffle bytes a reduce task fetches ahead; a bare number is MiB",
        since: "0.1.0",
        parse: parse_mebibytes,
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
}

crate::config_keys! {
    area: "Networking";
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
}

crate::config_keys! {
    area: "Scheduling";
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
    /// How long a task waits for a slot on an executor holding its cached data.
    pub const LOCALITY_WAIT: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.locality.wait",
        default: Some("3s"),
        doc: "how long a task waits for an executor that has its data before running elsewhere",
        since: "0.1.0",
        parse: parse_seconds,
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
    /// Whether a task stops being retried on executors where it failed.
    pub const EXCLUDE_ON_FAILURE_ENABLED: ConfigEntry<bool> = ConfigEntry {
        key: "ember.excludeOnFailure.enabled",
        default: Some("false"),
        doc: "retry a failed task on other executors than the ones it failed on",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// Whether slow attempts get a speculative copy on another executor.
    pub const SPECULATION: ConfigEntry<bool> = ConfigEntry {
        key: "ember.speculation",
        default: Some("false"),
        doc: "run a copy of an attempt that runs much longer than its stage's others on another \
              executor; the first to finish wins and the other is killed",
        since: "0.1.0",
        parse: parse_bool,
    };
    /// How often running attempts are checked for speculation.
    pub const SPECULATION_INTERVAL: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.speculation.interval",
        default: Some("100ms"),
        doc: "how often running attempts are checked for speculation",
        since: "0.1.0",
        parse: parse_millis,
    };
    /// How many times slower than the median an attempt must be to be speculated.
    pub const SPECULATION_MULTIPLIER: ConfigEntry<f64> = ConfigEntry {
        key: "ember.speculation.multiplier",
        default: Some("1.5"),
        doc: "how many times the median duration of its stage's finished tasks an attempt must \
              run to be speculated",
        since: "0.1.0",
        parse: parse_multiplier,
    };
    /// The share of a stage's tasks that must be done before speculation starts.
    pub const SPECULATION_QUANTILE: ConfigEntry<f64> = ConfigEntry {
        key: "ember.speculation.quantile",
        default: Some("0.75"),
        doc: "share of a stage's tasks that must have finished before its slow attempts are \
              speculated",
        since: "0.1.0",
        parse: parse_fraction,
    };
    /// The least an attempt must have run before it is speculated.
    pub const SPECULATION_MIN_TASK_RUNTIME: ConfigEntry<Duration> = ConfigEntry {
        key: "ember.speculation.minTaskRuntime",
        default: Some("100ms"),
        doc: "how long an attempt must have run at least before it is speculated",
        since: "0.1.0",
        parse: parse_millis,
    };
    /// How concurrent jobs share task slots: `FIFO` or `FAIR`.
    pub const SCHEDULER_MODE: ConfigEntry<String> = ConfigEntry {
        key: "ember.scheduler.mode",
        default: Some("FIFO"),
        doc: "how concurrent jobs share task slots: FIFO (the oldest job first) or FAIR (pools \
              share slots by weight and minimum share; see ember.scheduler.allocation.file)",
        since: "0.1.0",
        parse: parse_string,
    };
    /// The pools of FAIR scheduling, as Spark's `fairscheduler.xml`.
    pub const SCHEDULER_ALLOCATION_FILE: ConfigEntry<String> = ConfigEntry {
        key: "ember.scheduler.allocation.file",
        default: None,
        doc: "an XML file of FAIR scheduling pools (<allocations><pool name=\"...\"> with \
              schedulingMode, weight and minShare), as Spark's fairscheduler.xml; pools it \
              does not name are FIFO with weight 1 and minShare 0",
        since: "0.1.0",
        parse: parse_string,
    };
    /// Failures of a task on one executor before that executor is excluded for the task.
    pub const EXCLUDE_ON_FAILURE_TASK_MAX_ATTEMPTS_PER_EXECUTOR: ConfigEntry<usize> = ConfigEntry {
        key: "ember.excludeOnFailure.task.maxTaskAttemptsPerExecutor",
        default: Some("1"),
        doc: "failures of a task on one executor before it is excluded for that task",
        since: "0.1.0",
        parse: parse_positive,
    };
}

fn parse_deploy_mode(s: &str) -> Result<String, String> {
    match s {
        "client" | "cluster" => Ok(s.to_string()),
        _ => Err("expected client or cluster".into()),
    }
}

fn parse_multiplier(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f >= 1.0 => Ok(f),
        _ => Err("expected a number of at least 1".into()),
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    s.parse().map_err(|_| "expected a whole number".into())
}
