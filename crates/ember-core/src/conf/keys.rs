//! Every `ember.*` key of the core engine, and for now of YARN (`ember-yarn` reads them from
//! here), grouped by the area of the configuration reference they appear in.
//!
//! Keys mirror Spark's `spark.*` keys where they mean the same.

use super::{
    parse_bool, parse_byte_count, parse_bytes, parse_fraction, parse_millis, parse_positive,
    parse_ratio, parse_seconds, parse_string, ConfigEntry,
};
use std::time::Duration;

crate::config_keys! {
    area: "Application";
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
    /// Where the driver of a YARN application runs.
    pub const SUBMIT_DEPLOY_MODE: ConfigEntry<String> = ConfigEntry {
        key: "ember.submit.deployMode",
        default: Some("client"),
        doc: "where the driver runs on a cluster: client (the submitting process) or cluster (in the YARN ApplicationMaster's container)",
        since: "0.1.0",
        parse: parse_deploy_mode,
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

crate::config_keys! {
    area: "YARN";
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
    /// The host a YARN driver serves executors on.
    pub const DRIVER_HOST: ConfigEntry<String> = ConfigEntry {
        key: "ember.driver.host",
        default: None,
        doc: "the host name or address executors reach a YARN driver at (default: this machine's name; in a container, its node's)",
        since: "0.1.0",
        parse: parse_string,
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
    /// Files every YARN container of the application finds in its working directory.
    pub const YARN_DIST_FILES: ConfigEntry<String> = ConfigEntry {
        key: "ember.yarn.dist.files",
        default: None,
        doc: "comma-separated local files put in the working directory of a YARN application's driver and executors (--files)",
        since: "0.1.0",
        parse: parse_string,
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
}

fn parse_mebibytes_default(s: &str) -> Result<u64, String> {
    parse_bytes(s, 1 << 20)
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
