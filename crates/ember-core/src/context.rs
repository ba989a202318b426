//! The entry point of an application (Spark's `SparkContext`).

use crate::accumulator::{
    user_merge, Accumulator, AccumulatorParam, AccumulatorRegistry, Collection, DoubleSum, LongSum,
    Merge,
};
use crate::broadcast::Broadcast;
use crate::conf::{keys, EmberConf};
use crate::data::{Data, Func};
use crate::deploy::{cluster_manager, LocalCluster};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::master::Master;
use crate::partitioner::HashPartitioner;
use crate::rdd::{
    compute_splits, group_files, list_input_files, slice, EmptyRdd, ParallelCollectionRdd,
    RangeRdd, Rdd, RddBase, RddCore, RddRef, SliceOwner, TextFileRdd, UnionRdd, WholeTextFilesRdd,
};
use crate::scheduler::{
    now_millis, ClusterBackend, DagEvent, DagScheduler, EventLog, ExecutorInfo, JobSummary,
    LocalBackend, PartitionFunc, ResultTask, SchedulerBackend, SchedulerSettings, Task,
    JOB_GROUP_PROPERTY,
};
use crate::storage::BlockId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The local property describing a thread's jobs (Spark's `spark.job.description`).
const JOB_DESCRIPTION_PROPERTY: &str = "ember.job.description";
/// The local property of [`Context::set_job_group`]'s `interrupt_on_cancel`.
const INTERRUPT_ON_CANCEL_PROPERTY: &str = "ember.job.interruptOnCancel";

thread_local! {
    /// Each thread's local properties, by the Context they were set on.
    static LOCAL_PROPERTIES: std::cell::RefCell<HashMap<usize, Arc<HashMap<String, String>>>> =
        Default::default();
}

/// Starts where tasks run for `master`: threads here, or executor processes started by
/// `local-cluster` or by the cluster manager that accepted `url`.
fn start_backend(
    conf: &EmberConf,
    url: &str,
    master: Master,
    env: &Arc<Env>,
) -> Result<Arc<dyn SchedulerBackend>> {
    match master {
        Master::Local { threads, .. } => {
            Ok(Arc::new(LocalBackend::start(threads, env.clone(), conf)?))
        }
        Master::LocalCluster {
            executors,
            cores,
            memory_mib,
        } => {
            check_executor_memory(conf, memory_mib)?;
            // M of local-cluster[E,C,M] is the executors' memory: they read it, as every
            // other setting, from the configuration the driver answers their registration with.
            let executor_conf = conf
                .clone()
                .set(keys::EXECUTOR_MEMORY.key, format!("{memory_mib}m"));
            let backend = Arc::new(ClusterBackend::start(
                &executor_conf,
                env.clone(),
                "127.0.0.1",
            )?);
            let driver = backend.endpoint_ref();
            let cluster = LocalCluster::start(driver.clone(), executors, cores)?;
            backend.attach(cluster);
            driver.wait_for_executors(
                executors,
                conf.require(&keys::EXECUTOR_REGISTRATION_TIMEOUT)?,
            )?;
            Ok(backend)
        }
        Master::External { manager, .. } => {
            let Some(manager) = cluster_manager::for_url(url.trim())? else {
                return Err(Error::Internal(format!(
                    "cluster manager {manager} accepted {url} when it was parsed, but no \
                     longer does"
                )));
            };
            let host = manager.driver_host(url.trim(), conf)?;
            let backend = Arc::new(ClusterBackend::start(conf, env.clone(), &host)?);
            let launcher = manager.start(url.trim(), conf, backend.endpoint_ref())?;
            backend.attach(Arc::from(launcher));
            tracing::debug!(
                "cluster manager {} brings executors to {}",
                manager.name(),
                backend.address()
            );
            Ok(backend)
        }
    }
}

/// Refuses executors too small to run anything before starting them.
fn check_executor_memory(conf: &EmberConf, memory_mib: u64) -> Result<()> {
    let reserved = conf.require(&keys::RESERVED_MEMORY)? >> 20;
    if memory_mib > reserved {
        return Ok(());
    }
    Err(Error::Input(format!(
        "local-cluster executors with {memory_mib} MiB cannot run tasks: each needs more than \
         the {reserved} MiB of reserved memory; give local-cluster[E,C,M] an M of at least 512"
    )))
}

/// The entry point of an ember application: makes RDDs, broadcast variables and accumulators,
/// and runs jobs. Cheap to clone; every clone is the same application.
///
/// # Ending the application
/// [`stop`](Context::stop) ends it at once: the task threads or executor processes exit and the
/// event log is closed; jobs started afterwards fail with an error saying so. Without `stop`,
/// the application ends when its last handle is dropped, and every [`Rdd`] and
/// [`Broadcast`](crate::Broadcast) holds one: a program that keeps RDDs alive until it exits
/// keeps its executors until then, so long-running drivers should call `stop`.
///
/// ```
/// use ember_core::{Context, EmberConf, Fn};
/// let ctx = Context::new(EmberConf::empty().set_master("local[2]")).unwrap();
/// let squares = ctx.parallelize((1..=4).collect(), 2).map(Fn!(|x: i32| x * x));
/// assert_eq!(squares.collect().unwrap(), vec![1, 4, 9, 16]);
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    conf: EmberConf,
    master: Master,
    env: Arc<Env>,
    scheduler: DagScheduler,
    accumulators: Arc<AccumulatorRegistry>,
    default_parallelism: usize,
    parallelism_set: bool,
    app_id: String,
    next_rdd_id: AtomicUsize,
    next_shuffle_id: AtomicUsize,
    /// Set by `stop`: jobs are refused from then on.
    stopped: AtomicBool,
    /// State other crates keep per application, by type (see [`Context::extension`]).
    extensions: parking_lot::Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// A handle to a [`Context`] that does not keep the application alive: for state that the
/// Context itself holds (see [`Context::extension`]) and that must reach it again.
#[derive(Clone)]
pub struct WeakContext(std::sync::Weak<Inner>);

impl WeakContext {
    /// The Context, unless the application has ended.
    pub fn upgrade(&self) -> Option<Context> {
        self.0.upgrade().map(|inner| Context { inner })
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("master", &self.inner.master)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Starts an application with `conf`; `ember.master` must be set.
    ///
    /// # Errors
    /// No or a bad master URL, bad settings, or a local directory that cannot be made.
    pub fn new(conf: EmberConf) -> Result<Context> {
        conf.warn_unknown_keys();
        let url = conf.get(&keys::MASTER)?.ok_or_else(|| {
            Error::Input(format!(
                "a master URL must be set: use --master local[N] or {}",
                keys::MASTER.key
            ))
        })?;
        let master = Master::parse_with(&url, &conf)?;
        let threads = master.total_cores();
        let env = Arc::new(Env::new(&conf, "driver", threads)?);
        let accumulators = Arc::new(AccumulatorRegistry::default());
        let max_failures = match master {
            Master::Local {
                max_failures: Some(f),
                ..
            } => f,
            // As in Spark, local[N] tries a task once; local[N,F] or the key itself ask for more.
            Master::Local { .. } if conf.get_raw(keys::TASK_MAX_FAILURES.key).is_none() => 1,
            _ => conf.require(&keys::TASK_MAX_FAILURES)?,
        };
        let settings = SchedulerSettings {
            max_task_failures: max_failures,
            max_stage_attempts: conf.require(&keys::STAGE_MAX_CONSECUTIVE_ATTEMPTS)?,
            show_progress: conf.require(&keys::SHOW_CONSOLE_PROGRESS)?,
        };
        let app_id = match conf.get(&keys::APP_ID)? {
            Some(id) => id,
            None => format!("local-{}", now_millis()),
        };
        let event_log = EventLog::start(&conf, &env, &app_id)?;
        let backend = start_backend(&conf, &url, master, &env)?;
        let scheduler = DagScheduler::start(
            env.clone(),
            backend,
            accumulators.clone(),
            settings,
            event_log,
        )?;
        let configured = conf.get(&keys::DEFAULT_PARALLELISM)?;
        tracing::debug!(master = %url, app = conf.get_raw(keys::APP_NAME.key).unwrap_or("ember"), "started ember context");
        Ok(Context {
            inner: Arc::new(Inner {
                default_parallelism: configured.unwrap_or(threads),
                parallelism_set: configured.is_some(),
                app_id,
                conf,
                master,
                env,
                scheduler,
                accumulators,
                next_rdd_id: AtomicUsize::new(0),
                next_shuffle_id: AtomicUsize::new(0),
                stopped: AtomicBool::new(false),
                extensions: parking_lot::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A Context for `master` with the settings of `ember-defaults.conf` and `ember submit`.
    ///
    /// # Errors
    /// As [`Context::new`].
    pub fn with_master(master: &str) -> Result<Context> {
        Context::new(EmberConf::new()?.set_master(master))
    }

    /// The settings this application started with.
    pub fn conf(&self) -> &EmberConf {
        &self.inner.conf
    }

    /// Ends the application (Spark's `SparkContext.stop`): task threads and executors exit, the
    /// event log is closed, cached blocks go. Jobs running on other threads may fail. Calling it
    /// again does nothing.
    ///
    /// ```
    /// # use ember_core::Context;
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let numbers = ctx.parallelize(vec![1, 2, 3], 2);
    /// assert_eq!(numbers.count().unwrap(), 3);
    /// ctx.stop();
    /// assert!(ctx.is_stopped());
    /// let err = numbers.count().unwrap_err();
    /// assert!(err.to_string().contains("stopped"), "{err}");
    /// ```
    pub fn stop(&self) {
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.scheduler.stop();
        tracing::info!("application {} stopped", self.inner.app_id);
    }

    /// Sets a property of the jobs this thread submits from now on, or removes it with `None`
    /// (Spark's `setLocalProperty`). `ember.scheduler.pool` names the FAIR scheduling pool of
    /// the thread's jobs. Properties belong to the calling thread and this Context; unlike
    /// Spark's, a thread does not inherit them from the thread that started it.
    ///
    /// ```
    /// use ember_core::{Context, EmberConf};
    /// let ctx = Context::new(EmberConf::empty().set_master("local[2]").set("ember.scheduler.mode", "FAIR")).unwrap();
    /// ctx.set_local_property("ember.scheduler.pool", Some("reports"));
    /// assert_eq!(ctx.get_local_property("ember.scheduler.pool").as_deref(), Some("reports"));
    /// assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    /// ctx.set_local_property("ember.scheduler.pool", None);
    /// assert_eq!(ctx.get_local_property("ember.scheduler.pool"), None);
    /// ```
    pub fn set_local_property(&self, key: &str, value: Option<&str>) {
        let id = self.local_properties_key();
        LOCAL_PROPERTIES.with(|all| {
            let mut all = all.borrow_mut();
            let properties = Arc::make_mut(all.entry(id).or_default());
            match value {
                Some(v) => properties.insert(key.to_string(), v.to_string()),
                None => properties.remove(key),
            };
        });
    }

    /// Puts the jobs this thread submits from now on in job group `group_id`, described as
    /// `description`, so that [`cancel_job_group`](Self::cancel_job_group) can cancel them
    /// together (Spark's `setJobGroup`). A cancelled job's running attempts stop at their next
    /// record whatever `interrupt_on_cancel` says (a thread cannot be interrupted inside a
    /// blocking call in Rust); it is kept as `ember.job.interruptOnCancel` for parity.
    pub fn set_job_group(&self, group_id: &str, description: &str, interrupt_on_cancel: bool) {
        self.set_local_property(JOB_GROUP_PROPERTY, Some(group_id));
        self.set_local_property(JOB_DESCRIPTION_PROPERTY, Some(description));
        let interrupt = interrupt_on_cancel.to_string();
        self.set_local_property(INTERRUPT_ON_CANCEL_PROPERTY, Some(&interrupt));
    }

    /// Takes this thread's jobs out of their job group (Spark's `clearJobGroup`).
    pub fn clear_job_group(&self) {
        for key in [
            JOB_GROUP_PROPERTY,
            JOB_DESCRIPTION_PROPERTY,
            INTERRUPT_ON_CANCEL_PROPERTY,
        ] {
            self.set_local_property(key, None);
        }
    }

    /// Cancels every active job of job group `group_id`, from any thread (Spark's
    /// `cancelJobGroup`): each fails with [`Error::JobCancelled`], its queued attempts are
    /// dropped and its running ones stop at their next record. Stages other jobs still need
    /// go on for them.
    ///
    /// ```
    /// use ember_core::{Context, Error, Fn};
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let worker = ctx.clone();
    /// let job = std::thread::spawn(move || {
    ///     worker.set_job_group("nightly", "a job that would take minutes", true);
    ///     worker
    ///         .parallelize((0..100_000).collect::<Vec<u32>>(), 2)
    ///         .map(Fn!(|x: u32| { std::thread::sleep(std::time::Duration::from_millis(1)); x }))
    ///         .count()
    /// });
    /// std::thread::sleep(std::time::Duration::from_millis(200));
    /// ctx.cancel_job_group("nightly");
    /// let error = job.join().unwrap().unwrap_err();
    /// assert!(matches!(error, Error::JobCancelled { .. }), "{error}");
    /// assert!(error.to_string().contains("part of cancelled job group nightly"));
    /// ```
    pub fn cancel_job_group(&self, group_id: &str) {
        self.inner
            .scheduler
            .post(DagEvent::CancelJobGroup(group_id.to_string()));
    }

    /// Cancels every active job (Spark's `cancelAllJobs`); see
    /// [`cancel_job_group`](Self::cancel_job_group).
    pub fn cancel_all_jobs(&self) {
        self.inner.scheduler.post(DagEvent::CancelAllJobs);
    }

    /// A property this thread set with [`set_local_property`](Self::set_local_property).
    pub fn get_local_property(&self, key: &str) -> Option<String> {
        self.local_properties().get(key).cloned()
    }

    /// This thread's properties for this Context, as its next job carries them.
    fn local_properties(&self) -> Arc<HashMap<String, String>> {
        let id = self.local_properties_key();
        LOCAL_PROPERTIES.with(|all| all.borrow().get(&id).cloned().unwrap_or_default())
    }

    fn local_properties_key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// The application's id (Spark's `applicationId`): the one its cluster manager gave it
    /// (`ember.app.id`), else `local-<start time in ms>`. Event logs are named by it.
    pub fn application_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The application's one value of type `T`, made by `init` on first use: how crates built
    /// on the engine (DataFrames and SQL) keep their state per application. `T` must not hold
    /// the Context itself: the application would then never end.
    ///
    /// ```
    /// # let ctx = ember_core::Context::with_master("local[1]").unwrap();
    /// #[derive(Default)]
    /// struct Counter(std::sync::atomic::AtomicUsize);
    /// let a = ctx.extension(|_| Counter::default());
    /// a.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    /// let b = ctx.extension(|_| Counter::default());
    /// assert_eq!(b.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    /// ```
    pub fn extension<T: Any + Send + Sync>(&self, init: impl FnOnce(&Context) -> T) -> Arc<T> {
        let id = TypeId::of::<T>();
        let found = self.inner.extensions.lock().get(&id).cloned();
        let value = match found {
            Some(value) => value,
            None => {
                // Made unlocked, so that `init` may use other extensions; should two threads
                // race, the first stored wins.
                let made: Arc<dyn Any + Send + Sync> = Arc::new(init(self));
                self.inner
                    .extensions
                    .lock()
                    .entry(id)
                    .or_insert(made)
                    .clone()
            }
        };
        // Stored under T's own id: the downcast cannot fail.
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("an extension of another type"))
    }

    /// A handle that does not keep the application alive.
    pub fn downgrade(&self) -> WeakContext {
        WeakContext(Arc::downgrade(&self.inner))
    }

    /// Where tasks run.
    pub fn master(&self) -> Master {
        self.inner.master
    }

    /// Partitions used when an operation is given none.
    pub fn default_parallelism(&self) -> usize {
        self.inner.default_parallelism
    }

    /// The partitioner of a shuffle over `parents` when none is given (Spark's
    /// `Partitioner.defaultPartitioner`): the hash partitioner of the parent laid out by one with
    /// the most partitions, if it has at least a tenth of the most any parent has (or at least
    /// `ember.default.parallelism`, when that is set); else `ember.default.parallelism` hash
    /// partitions if set, else as many as the parent with the most.
    pub(crate) fn default_partitioner(&self, parents: &[Arc<dyn RddBase>]) -> HashPartitioner {
        let most = parents
            .iter()
            .map(|p| p.num_partitions())
            .max()
            .unwrap_or(1);
        let partitions = if self.inner.parallelism_set {
            self.inner.default_parallelism
        } else {
            most.max(1)
        };
        let existing = parents
            .iter()
            .filter_map(|p| p.partitioner()?.downcast::<HashPartitioner>())
            .max_by_key(HashPartitioner::num_partitions);
        match existing {
            Some(p) => {
                let theirs = p.num_partitions();
                // Within an order of magnitude of the largest parent, reusing saves a shuffle.
                if theirs * 10 > most || partitions <= theirs {
                    p
                } else {
                    HashPartitioner::new(partitions)
                }
            }
            None => HashPartitioner::new(partitions),
        }
    }

    /// The core of a new RDD named `name`, for RDDs made outside this crate.
    pub fn new_rdd_core(&self, name: &'static str) -> RddCore {
        RddCore::new(self.inner.next_rdd_id.fetch_add(1, Ordering::Relaxed), name)
    }

    /// A new shuffle's id, for shuffles planned outside this crate.
    pub fn new_shuffle_id(&self) -> usize {
        self.inner.next_shuffle_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The services of this process (Spark's `SparkEnv`): block manager, shuffle files, memory.
    pub fn env(&self) -> &Arc<Env> {
        &self.inner.env
    }

    /// Distributes `values` over `slices` partitions (the default parallelism when 0).
    pub fn parallelize<T: Data>(&self, values: Vec<T>, slices: usize) -> Rdd<T> {
        let slices = if slices == 0 {
            self.default_parallelism()
        } else {
            slices
        };
        let manager = &self.inner.env.broadcast_manager;
        let slices: Vec<_> = slice(values, slices)
            .into_iter()
            .map(|s| manager.new_broadcast(s))
            .collect();
        let owner = SliceOwner {
            env: Arc::downgrade(&self.inner.env),
            ids: slices.iter().map(Broadcast::id).collect(),
        };
        Rdd::from_impl(
            self,
            ParallelCollectionRdd {
                core: self.new_rdd_core("parallelize"),
                slices,
                _owner: Some(owner),
            },
        )
    }

    /// The integers `start..end` by `step` over `slices` partitions (default parallelism when 0).
    ///
    /// # Errors
    /// A step of 0.
    pub fn range(&self, start: i64, end: i64, step: i64, slices: usize) -> Result<Rdd<i64>> {
        if step == 0 {
            return Err(Error::Input("range step must not be 0".into()));
        }
        let slices = if slices == 0 {
            self.default_parallelism()
        } else {
            slices
        };
        Ok(Rdd::from_impl(
            self,
            RangeRdd {
                core: self.new_rdd_core("range"),
                start,
                end,
                step,
                slices,
            },
        ))
    }

    /// An RDD with no elements and no partitions.
    pub fn empty<T: Data>(&self) -> Rdd<T> {
        Rdd::from_impl(
            self,
            EmptyRdd {
                core: self.new_rdd_core("empty"),
                _t: std::marker::PhantomData,
            },
        )
    }

    /// The lines of text files: a file, a directory, a glob, or a comma-separated list of them,
    /// in at least `min_partitions` partitions (Spark's default: min(parallelism, 2) when 0).
    ///
    /// # Errors
    /// A path that matches nothing, or a directory that cannot be listed.
    pub fn text_file(&self, path: &str, min_partitions: usize) -> Result<Rdd<String>> {
        let files = list_input_files(path, &self.inner.env)?;
        let max_split_bytes = self.conf().require(&keys::FILES_MAX_PARTITION_BYTES)?;
        let splits = compute_splits(&files, self.min_partitions(min_partitions), max_split_bytes);
        Ok(Rdd::from_impl(
            self,
            TextFileRdd {
                core: self.new_rdd_core("text_file"),
                splits,
            },
        ))
    }

    /// Whole files as `(path, contents)` pairs; paths as `file:/absolute/path`.
    ///
    /// # Errors
    /// As [`Context::text_file`].
    pub fn whole_text_files(
        &self,
        path: &str,
        min_partitions: usize,
    ) -> Result<Rdd<(String, String)>> {
        let files = list_input_files(path, &self.inner.env)?;
        let groups = group_files(files, self.min_partitions(min_partitions));
        Ok(Rdd::from_impl(
            self,
            WholeTextFilesRdd::new(self.new_rdd_core("whole_text_files"), groups),
        ))
    }

    /// The rack of `host` as the Hadoop topology script or table places it (`/default-rack`
    /// without one), as the scheduler sees it (Spark's `TaskScheduler.getRackForHost`).
    ///
    /// ```
    /// use ember_core::{Context, EmberConf};
    /// let ctx = Context::new(EmberConf::empty().set_master("local[1]")).unwrap();
    /// # if std::env::var_os("HADOOP_CONF_DIR").is_none() {
    /// assert_eq!(ctx.rack_for_host("10.1.2.3"), "/default-rack");
    /// # }
    /// ```
    pub fn rack_for_host(&self, host: &str) -> String {
        self.inner.env.racks.rack_of(host)
    }

    pub(crate) fn min_partitions(&self, requested: usize) -> usize {
        if requested == 0 {
            self.default_parallelism().min(2)
        } else {
            requested
        }
    }

    /// The union of several RDDs: their partitions one after another, or, when all are laid
    /// out by the same partitioner, partition `i` of each together, keeping the partitioner.
    pub fn union<T: Data>(&self, rdds: &[Rdd<T>]) -> Rdd<T> {
        Rdd::from_impl(
            self,
            UnionRdd::new(
                self.new_rdd_core("union"),
                rdds.iter().map(|r| r.rdd_ref().clone()).collect(),
            ),
        )
    }

    /// A read-only value shipped to each executor once; capture the handle in closures.
    pub fn broadcast<T: Data>(&self, value: T) -> Broadcast<T> {
        let env = &self.inner.env;
        env.broadcast_manager.new_broadcast(value).held_by(env)
    }

    /// Destroys a broadcast variable; tasks that read it afterwards fail.
    pub fn destroy_broadcast<T: Data>(&self, broadcast: &Broadcast<T>) {
        self.inner.env.broadcast_manager.remove(broadcast.id());
    }

    /// An accumulator with `param`'s add and merge.
    pub fn accumulator<P: AccumulatorParam>(&self, param: P) -> Accumulator<P> {
        self.inner.accumulators.register(param)
    }

    /// An `i64` sum (Spark's `longAccumulator`).
    pub fn long_accumulator(&self) -> Accumulator<LongSum> {
        self.accumulator(LongSum)
    }

    /// An `f64` sum (Spark's `doubleAccumulator`).
    pub fn double_accumulator(&self) -> Accumulator<DoubleSum> {
        self.accumulator(DoubleSum)
    }

    /// A list of everything added (Spark's `collectionAccumulator`).
    pub fn collection_accumulator<T: Data>(&self) -> Accumulator<Collection<T>> {
        self.accumulator(Collection(std::marker::PhantomData))
    }

    /// An accumulator with a user-defined zero and merge function (associative and commutative).
    pub fn merge_accumulator<V: Data, F: Func<(V, V), Output = V> + Clone>(
        &self,
        zero: V,
        merge: F,
    ) -> Accumulator<Merge<V, F>> {
        self.accumulator(user_merge(zero, merge))
    }

    /// Runs `func` on `partitions` of `rdd` (all when `None`) and returns their results in order
    /// (Spark's `runJob`). Every action goes through here.
    ///
    /// # Errors
    /// The job was aborted: see [`Error::JobAborted`].
    pub fn run_job<T, U, F>(
        &self,
        rdd: &Rdd<T>,
        func: F,
        partitions: Option<&[usize]>,
    ) -> Result<Vec<U>>
    where
        T: Data,
        U: Serialize + DeserializeOwned + Send + 'static,
        F: PartitionFunc<T, U>,
    {
        if self.is_stopped() {
            return Err(Error::Input(crate::scheduler::STOPPED.into()));
        }
        let all: Vec<usize>;
        let partitions = match partitions {
            Some(p) => p,
            None => {
                all = (0..rdd.num_partitions()).collect();
                &all
            }
        };
        let func = Arc::new(func);
        let parent: RddRef<T> = rdd.rdd_ref().clone();
        let make = move |p: usize| -> Arc<dyn Task> {
            Arc::new(ResultTask::<T, U, F>::new(parent.clone(), func.clone(), p))
        };
        let bytes = self.inner.scheduler.run_job(
            rdd.rdd_ref().base(),
            partitions,
            Box::new(make),
            self.local_properties(),
        )?;
        crate::rdd::after_job(self, rdd.rdd_ref().base())?;
        bytes
            .iter()
            .map(|b| bincode::deserialize(b).map_err(Error::from))
            .collect()
    }

    /// What each job so far did, oldest first.
    pub fn job_summaries(&self) -> Vec<JobSummary> {
        self.inner.scheduler.summaries()
    }

    /// The executors running this application's tasks (the driver itself in local mode), by id
    /// (Spark's `statusTracker.getExecutorInfos`).
    pub fn executors(&self) -> Vec<ExecutorInfo> {
        self.inner.scheduler.executors()
    }

    /// How many times the driver served a broadcast value to an executor: at most once per value
    /// per executor, and once in all when executors hand the value on to each other.
    pub fn broadcast_fetches(&self) -> u64 {
        self.inner.scheduler.backend().broadcast_fetches()
    }

    /// Where executors reach this driver (`host:port`); `None` in local mode.
    pub fn driver_address(&self) -> Option<String> {
        self.inner.scheduler.backend().driver_address()
    }

    /// Sets the driver's endpoint `name`, which tasks ask with
    /// [`Env::ask_driver`](crate::Env::ask_driver): `handler` gets the asking executor's id and
    /// the request. It runs on the driver's connection threads, so it must not block for long.
    pub fn set_endpoint<Req, Rep, F>(&self, name: &str, handler: F)
    where
        Req: DeserializeOwned,
        Rep: Serialize,
        F: Fn(&str, Req) -> Result<Rep> + Send + Sync + 'static,
    {
        self.inner
            .env
            .endpoints
            .set(name, crate::endpoint::typed(handler));
    }

    /// Removes the driver's endpoint `name`: tasks asking it get an error.
    pub fn remove_endpoint(&self, name: &str) {
        self.inner.env.endpoints.remove(name);
    }

    /// Appends `event` to the application's event log (`ember.eventLog.enabled`); nothing
    /// without one. For parts of ember beside the scheduler, such as streaming, whose events
    /// carry their own `"Event"` name as Spark's listener events do.
    pub fn log_event(&self, event: &impl serde::Serialize) {
        self.inner.scheduler.log_event(event);
    }

    /// Drops blocks `ids` (such as a streaming receiver's) here and on every executor.
    pub fn remove_blocks(&self, ids: &[BlockId]) {
        for &id in ids {
            self.inner.env.block_manager.remove(id);
        }
        self.inner.scheduler.backend().remove_blocks(ids);
    }

    /// Drops the cached partitions of RDD `id` here and on every executor.
    pub(crate) fn unpersist_rdd(&self, id: usize) {
        self.inner.env.block_manager.remove_rdd(id);
        self.inner.env.block_manager_master.remove_rdd(id);
        self.inner.scheduler.backend().remove_rdd(id);
    }

    /// What the last job did.
    pub fn last_job_summary(&self) -> Option<JobSummary> {
        self.job_summaries().pop()
    }
}
