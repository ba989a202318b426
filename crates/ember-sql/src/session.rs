//! The SQL session of an application: DataFusion's `SessionContext`, kept per ember
//! [`Context`] (Spark's `SparkSession`), with ember's object stores for `hdfs://` and `s3a://`.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::hive::{self, HiveCatalog, Metastore};
use crate::reader::DataFrameReader;
use crate::statements::{CatalogCommand, QueryView, TemporaryView};
use crate::stores::EmberStores;
use crate::udf::{self, UdfValue};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use ember_core::conf::ConfigEntry;
use ember_core::{Context, Env, Func, Master, WeakContext};
use object_store::ObjectStoreExt;
use std::sync::Arc;

/// DataFusion's context and the threads queries run on.
pub(crate) struct SqlSession {
    pub(crate) datafusion: SessionContext,
    env: Arc<Env>,
    /// The session's query threads (`ember-sql`), as many as the application's default
    /// parallelism (`local[4]`: four): planning, and in local mode DataFusion's operators.
    /// Operators compute, so they stay off the process's I/O runtime, where a busy query would
    /// delay heartbeats and shuffle fetches; their own object store I/O goes there anyway
    /// (`ember_hadoop::object_stores`). The runtime ends with the session.
    runtime: tokio::runtime::Runtime,
    // The Context holds this session; a strong handle back would keep both alive forever.
    context: WeakContext,
    distributed: Result<bool>,
    /// The metastore's catalog, when `ember.hive.metastore.uris` names one; a malformed
    /// setting fails every statement.
    hive: Result<Option<Arc<HiveCatalog>>>,
}

impl SqlSession {
    fn new(ctx: &Context) -> Self {
        let threads = ctx.default_parallelism().max(1);
        let local = matches!(ctx.master(), Master::Local { .. });
        let distributed = ctx
            .conf()
            .get(&DISTRIBUTED)
            .map(|set| set.unwrap_or(!local))
            .map_err(Error::from);
        let metastore = metastore(ctx);
        let mut config = SessionConfig::new()
            .with_target_partitions(threads)
            .with_information_schema(true);
        if let Ok(Some(_)) = &metastore {
            config = config
                .with_default_catalog_and_schema(hive::CATALOG, "default")
                .with_create_default_catalog_and_schema(false);
        }
        let sort_merge = ctx.conf().get(&PREFER_SORT_MERGE_JOIN).map_err(Error::from);
        config.options_mut().optimizer.prefer_hash_join = !matches!(sort_merge, Ok(Some(true)));
        // DataFusion's leaf-expression pushdown moves each field read of a struct that a
        // function computes into the projection computing it, inlining the function once per
        // field: `b['auction'], b['price']` over `from_json(value, ..) AS b` parsed every JSON
        // text once per field read (apache/datafusion#25329). Off: the function runs once.
        config
            .options_mut()
            .optimizer
            .enable_leaf_expression_pushdown = false;
        // A bad value fails every query, with the key and the value, as a bad
        // `ember.sql.distributed` does.
        let distributed = sort_merge.and(distributed);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("ember-sql")
            .enable_all()
            .build()
            // Without threads no query can run; there is nothing to fall back on.
            .expect("cannot start the threads of SQL queries");
        let memory = Arc::new(crate::memory::EmberMemoryPool::for_driver(ctx.env()));
        let datafusion = datafusion_context(ctx.env(), config, memory);
        let distributed = exclude_rules(&datafusion, ctx).and(distributed);
        let hive = metastore.map(|metastore| {
            metastore.map(|metastore| {
                let catalog = Arc::new(HiveCatalog::new(metastore, ctx.env().clone()));
                datafusion.register_catalog(hive::CATALOG, catalog.clone());
                catalog
            })
        });
        SqlSession {
            datafusion,
            env: ctx.env().clone(),
            runtime,
            context: ctx.downgrade(),
            distributed,
            hive,
        }
    }

    /// The metastore's catalog, if the session has one.
    ///
    /// # Errors
    /// `ember.hive.metastore.uris` is malformed.
    pub(crate) fn hive(&self) -> Result<Option<&Arc<HiveCatalog>>> {
        match &self.hive {
            Ok(catalog) => Ok(catalog.as_ref()),
            Err(e) => Err(Error::Input(e.to_string())),
        }
    }

    /// The metastore of the session's catalog, if it has one.
    pub(crate) fn metastore(&self) -> Option<&Arc<Metastore>> {
        self.hive()
            .ok()
            .flatten()
            .map(|catalog| catalog.metastore())
    }

    /// The session of `ctx`'s application.
    pub(crate) fn of(ctx: &Context) -> Arc<SqlSession> {
        ctx.extension(SqlSession::new)
    }

    /// Runs `future` to its end on the session's threads.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `path` (a bare path, `file://`, `hdfs://`, `s3a://`) as a URL DataFusion reads, with
    /// its store registered. A directory ends with `/`: DataFusion then reads every file in it.
    pub(crate) fn table_url(&self, path: &str) -> Result<String> {
        let resolved = self.env.resolve(path)?;
        let url = resolved.url.clone();
        if url.ends_with('/') {
            return Ok(url);
        }
        let is_file = if let Some(local) = url.strip_prefix("file://") {
            !std::path::Path::new(local).is_dir()
        } else {
            self.block_on(resolved.store.head(&resolved.path)).is_ok()
        };
        Ok(if is_file { url } else { format!("{url}/") })
    }

    /// The application, to run stages on; gone only once the application has ended.
    pub(crate) fn context(&self) -> Result<Context> {
        self.context
            .upgrade()
            .ok_or_else(|| Error::Input("the application of this DataFrame has ended".into()))
    }

    /// Whether queries run as stages of ember tasks rather than whole on the driver's threads.
    ///
    /// # Errors
    /// `ember.sql.distributed` is neither true nor false.
    pub(crate) fn distributed(&self) -> Result<bool> {
        match &self.distributed {
            Ok(distributed) => Ok(*distributed),
            Err(e) => Err(Error::Input(e.to_string())),
        }
    }

    /// The engine's view of the application (object stores, Hadoop settings).
    pub(crate) fn env(&self) -> &Arc<Env> {
        &self.env
    }
}

ember_core::config_keys! {
    area: "SQL";
    /// Where queries run as stages (`ember.sql.distributed`): on by default on executors
    /// (`local-cluster`, `yarn`); under `local[N]` a query runs whole on the driver's threads unless
    /// set, since every task would run in this process anyway.
    pub const DISTRIBUTED: ConfigEntry<bool> = ConfigEntry::boolean(
        "ember.sql.distributed",
        None,
        "run queries as stages of ember tasks; default true on executors (local-cluster, yarn), false under local[N]",
        "0.1.0",
    );

    /// Whether equi-joins sort and merge their sides rather than hash one
    /// (`ember.sql.join.preferSortMergeJoin`, Spark's `spark.sql.join.preferSortMergeJoin`). Sorts
    /// spill, so a sort-merge join completes in any memory; a hash join holds its build side whole
    /// but is faster, hence ember's default of false. A query whose hash joins outgrow execution
    /// memory runs again with sort-merge joins (see [`crate::DataFrame`]).
    pub const PREFER_SORT_MERGE_JOIN: ConfigEntry<bool> = ConfigEntry::boolean(
        "ember.sql.join.preferSortMergeJoin",
        Some("false"),
        "plan equi-joins as sort-merge joins (which spill) rather than hash joins (which hold their build side in memory)",
        "0.1.0",
    );

    /// Optimizer rules a query plan goes without (`ember.sql.optimizer.excludedRules`, Spark's
    /// `spark.sql.optimizer.excludedRules`): names separated by commas, DataFusion's logical
    /// optimizer rules (`push_down_filter`, ...) and ember's (`push_semi_join_down`).
    pub const EXCLUDED_RULES: ConfigEntry<String> = ConfigEntry::text(
        "ember.sql.optimizer.excludedRules",
        None,
        "logical optimizer rules to leave out, by name, separated by commas",
        "0.1.0",
    );
}

/// The metastore `ember.hive.metastore.uris` names, else `hive.metastore.uris` of the Hadoop
/// configuration (where a `hive-site.xml` puts it); none without either.
fn metastore(ctx: &Context) -> Result<Option<Arc<Metastore>>> {
    let uris = match ctx.conf().get(&hive::METASTORE_URIS)? {
        Some(uris) => Some(uris),
        None => ctx.env().hadoop.get("hive.metastore.uris"),
    };
    uris.map(|uris| Metastore::new(&uris).map(Arc::new))
        .transpose()
}

/// Removes the rules `ember.sql.optimizer.excludedRules` names from `datafusion`'s optimizer.
///
/// # Errors
/// A name no rule has: the error lists the names there are.
fn exclude_rules(datafusion: &SessionContext, ctx: &Context) -> Result<()> {
    let Some(names) = ctx.conf().get(&EXCLUDED_RULES)? else {
        return Ok(());
    };
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !datafusion.remove_optimizer_rule(name) {
            let state = datafusion.state();
            let known: Vec<&str> = state.optimizers().iter().map(|r| r.name()).collect();
            return Err(Error::Input(format!(
                "{} names no optimizer rule: {name}; the rules are {}",
                EXCLUDED_RULES.key,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// A DataFusion context that reads and writes through ember's object stores, holds at most
/// what `memory` grants and spills under `ember.local.dir` (see [`crate::memory`]).
pub(crate) fn datafusion_context(
    env: &Arc<Env>,
    config: SessionConfig,
    memory: Arc<dyn MemoryPool>,
) -> SessionContext {
    let build = |disk: DiskManagerMode| {
        // Files are listed again at every read, as Spark does for a new DataFrame: what was
        // written since shows.
        let caches = CacheManagerConfig::default().with_list_files_cache_limit(0);
        RuntimeEnvBuilder::new()
            .with_cache_manager(caches)
            .with_object_store_registry(Arc::new(EmberStores::new(env.clone())))
            .with_memory_pool(memory.clone())
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(disk))
            .build_arc()
    };
    let runtime = env
        .shuffle_manager
        .spill_dir()
        .map_err(|e| e.to_string())
        .and_then(|dir| {
            build(DiskManagerMode::Directories(vec![dir.to_path_buf()])).map_err(|e| e.to_string())
        })
        .or_else(|reason| {
            // Queries still run; should one spill, the system's directory is used.
            tracing::warn!("SQL operators spill to the system's temporary directory: {reason}");
            build(DiskManagerMode::OsTmpDirectory)
        })
        // Defaults, a registry, a pool and a directory made on first use: nothing to refuse.
        .expect("DataFusion's runtime from default settings");
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    ctx.add_optimizer_rule(Arc::new(crate::semi_join::PushSemiJoinDown));
    ctx.add_optimizer_rule(Arc::new(crate::json::PruneJsonFields));
    ctx.register_udf(crate::streaming::window_udf());
    ctx.register_udf(crate::streaming::session_udf());
    ctx.register_udf(crate::json::from_json_udf());
    ctx
}

/// DataFrames and SQL on an ember [`Context`] (Spark's `SparkSession`): every clone of a
/// Context shares one session, with its temporary views.
pub trait SqlContextExt {
    /// Reads files into a DataFrame (Spark's `spark.read`).
    fn read(&self) -> DataFrameReader;

    /// Reads a stream into a streaming DataFrame (Spark's `spark.readStream`).
    fn read_stream(&self) -> crate::streaming::DataStreamReader;

    /// Runs one SQL statement: a query gives its rows; DDL (`CREATE VIEW`, Spark's
    /// `CREATE TEMPORARY VIEW ... USING ... OPTIONS (path ...)`, `SHOW TABLES`, `DESCRIBE`)
    /// takes effect at once.
    ///
    /// # Errors
    /// A statement that does not parse, names what does not exist, or mixes types.
    fn sql(&self, statement: &str) -> Result<DataFrame>;

    /// The temporary view or table `name`.
    ///
    /// # Errors
    /// No such table.
    fn table(&self, name: &str) -> Result<DataFrame>;

    /// A DataFrame of `batches`, all of one schema (Spark's `createDataFrame`), kept in the
    /// driver's memory.
    ///
    /// # Errors
    /// No batches (they name the columns), or batches of different schemas.
    fn create_data_frame(&self, batches: Vec<RecordBatch>) -> Result<DataFrame>;

    /// Makes `f` the SQL function `name` of one argument (Spark's `spark.udf.register`),
    /// replacing one of that name. A null argument gives a null result.
    /// The function is written with [`Fn!`](ember_core::Fn): it runs on executors too.
    ///
    /// ```
    /// use ember_core::{Context, Fn};
    /// use ember_sql::SqlContextExt;
    /// let ctx = Context::with_master("local[1]").unwrap();
    /// ctx.register_udf("twice", Fn!(|x: i64| 2 * x));
    /// let rows = ctx.sql("SELECT twice(21)").unwrap().tab_rows(false).unwrap();
    /// assert_eq!(rows, "42\n");
    /// ```
    fn register_udf<A: UdfValue, R: UdfValue>(&self, name: &str, f: impl Func<(A,), Output = R>);

    /// Makes `f` the SQL function `name` of two arguments; a null argument gives a null
    /// result.
    fn register_udf2<A: UdfValue, B: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Func<(A, B), Output = R>,
    );
}

impl SqlContextExt for Context {
    fn read(&self) -> DataFrameReader {
        DataFrameReader::new(SqlSession::of(self))
    }

    fn read_stream(&self) -> crate::streaming::DataStreamReader {
        crate::streaming::DataStreamReader::new(self)
    }

    fn sql(&self, statement: &str) -> Result<DataFrame> {
        let session = SqlSession::of(self);
        session.hive()?;
        if let Some(view) = TemporaryView::parse(statement)? {
            return view.create(self);
        }
        if let Some(view) = QueryView::parse(statement) {
            return view.create(self);
        }
        if let Some(catalog) = session.hive()? {
            if let Some(ddl) = hive::Ddl::parse(statement) {
                return hive::run_ddl(self, catalog, ddl);
            }
            if let Some(create) = hive::CreateTable::parse(statement)? {
                return hive::create_table(self, catalog, create);
            }
            if let Some(insert) = hive::Insert::parse(statement)? {
                if let Some(done) = hive::insert(self, catalog, insert)? {
                    return Ok(done);
                }
            }
        }
        if let Some(command) = CatalogCommand::parse(statement)? {
            return command.run(self, &session);
        }
        let df = session.block_on(session.datafusion.sql(statement))?;
        let (state, plan) = df.into_parts();
        let plan = crate::streaming::expand_sql_windows(&session, plan)?;
        let df = datafusion::dataframe::DataFrame::new(state, plan);
        Ok(DataFrame::new(df, session))
    }

    fn table(&self, name: &str) -> Result<DataFrame> {
        let session = SqlSession::of(self);
        session.hive()?;
        let df = session.block_on(session.datafusion.table(name))?;
        Ok(DataFrame::new(df, session))
    }

    fn create_data_frame(&self, batches: Vec<RecordBatch>) -> Result<DataFrame> {
        let schema = batches.first().map(RecordBatch::schema).ok_or_else(|| {
            Error::Input("create_data_frame needs at least one batch: it names the columns".into())
        })?;
        let table = MemTable::try_new(schema, vec![batches])?;
        let session = SqlSession::of(self);
        let df = session.datafusion.read_table(Arc::new(table))?;
        Ok(DataFrame::new(df, session))
    }

    fn register_udf<A: UdfValue, R: UdfValue>(&self, name: &str, f: impl Func<(A,), Output = R>) {
        SqlSession::of(self)
            .datafusion
            .register_udf(udf::udf1(name, f));
    }

    fn register_udf2<A: UdfValue, B: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Func<(A, B), Output = R>,
    ) {
        SqlSession::of(self)
            .datafusion
            .register_udf(udf::udf2(name, f));
    }
}
