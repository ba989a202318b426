//! The SQL session of an application: DataFusion's `SessionContext`, kept per ember
//! [`Context`] (Spark's `SparkSession`), with ember's object stores for `hdfs://` and `s3a://`.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::reader::DataFrameReader;
use crate::statements::TemporaryView;
use crate::udf::{self, UdfValue};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use ember_core::{Context, Env};
use ember_hadoop::ResolvedPath;
use object_store::ObjectStoreExt;
use std::sync::Arc;

/// DataFusion's context and the threads queries run on.
pub(crate) struct SqlSession {
    pub(crate) datafusion: SessionContext,
    env: Arc<Env>,
    runtime: tokio::runtime::Runtime,
}

impl SqlSession {
    fn new(ctx: &Context) -> Self {
        let threads = ctx.default_parallelism().max(1);
        let config = SessionConfig::new()
            .with_target_partitions(threads)
            .with_information_schema(true);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("ember-sql")
            .enable_all()
            .build()
            // Without threads no query can run; there is nothing to fall back on.
            .expect("cannot start the threads of SQL queries");
        // Files are listed again at every read, as Spark does for a new DataFrame: what was
        // written since shows.
        let caches = CacheManagerConfig::default().with_list_files_cache_limit(0);
        let datafusion = RuntimeEnvBuilder::new()
            .with_cache_manager(caches)
            .build_arc()
            .map(|rt| SessionContext::new_with_config_rt(config, rt))
            // Built from defaults and a cache limit: nothing in it can be refused.
            .expect("DataFusion's runtime from default settings");
        SqlSession {
            datafusion,
            env: ctx.env().clone(),
            runtime,
        }
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
        self.register_store(&resolved)?;
        let is_file = if let Some(local) = url.strip_prefix("file://") {
            !std::path::Path::new(local).is_dir()
        } else {
            self.block_on(resolved.store.head(&resolved.path)).is_ok()
        };
        Ok(if is_file { url } else { format!("{url}/") })
    }

    /// Makes DataFusion read and write `resolved`'s scheme and authority through ember's
    /// store for them; local files are DataFusion's own.
    pub(crate) fn register_store(&self, resolved: &ResolvedPath) -> Result<()> {
        let url = &resolved.url;
        if url.starts_with("file://") {
            return Ok(());
        }
        let parsed = url::Url::parse(url).map_err(|e| Error::Input(format!("{url}: {e}")))?;
        let root = url::Url::parse(&format!("{}://{}", parsed.scheme(), parsed.authority()))
            .map_err(|e| Error::Input(format!("{url}: {e}")))?;
        self.datafusion
            .register_object_store(&root, resolved.store.clone());
        Ok(())
    }

    /// The engine's view of the application (object stores, Hadoop settings).
    pub(crate) fn env(&self) -> &Arc<Env> {
        &self.env
    }
}

/// DataFrames and SQL on an ember [`Context`] (Spark's `SparkSession`): every clone of a
/// Context shares one session, with its temporary views.
pub trait SqlContextExt {
    /// Reads files into a DataFrame (Spark's `spark.read`).
    fn read(&self) -> DataFrameReader;

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
    fn register_udf<A: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Fn(A) -> R + Send + Sync + 'static,
    );

    /// Makes `f` the SQL function `name` of two arguments; a null argument gives a null
    /// result.
    fn register_udf2<A: UdfValue, B: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Fn(A, B) -> R + Send + Sync + 'static,
    );
}

impl SqlContextExt for Context {
    fn read(&self) -> DataFrameReader {
        DataFrameReader::new(SqlSession::of(self))
    }

    fn sql(&self, statement: &str) -> Result<DataFrame> {
        let session = SqlSession::of(self);
        if let Some(view) = TemporaryView::parse(statement)? {
            return view.create(self);
        }
        let df = session.block_on(session.datafusion.sql(statement))?;
        Ok(DataFrame::new(df, session))
    }

    fn table(&self, name: &str) -> Result<DataFrame> {
        let session = SqlSession::of(self);
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

    fn register_udf<A: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Fn(A) -> R + Send + Sync + 'static,
    ) {
        SqlSession::of(self)
            .datafusion
            .register_udf(udf::udf1(name, f));
    }

    fn register_udf2<A: UdfValue, B: UdfValue, R: UdfValue>(
        &self,
        name: &str,
        f: impl Fn(A, B) -> R + Send + Sync + 'static,
    ) {
        SqlSession::of(self)
            .datafusion
            .register_udf(udf::udf2(name, f));
    }
}
