//! The services every executor has (Spark's `SparkEnv`): block manager, memory manager, shuffle
//! outputs and broadcast values. In local mode the driver and its task threads share one.

use crate::broadcast::BroadcastManager;
use crate::conf::{keys, EmberConf};
use crate::data::Data;
use crate::endpoint::Endpoints;
use crate::error::{Error, Result};
use crate::master::Master;
use crate::network::executor_link::ExecutorLink;
use crate::rdd::StoreCache;
use crate::scheduler::{CommitAsk, OutputCommitCoordinator};
use crate::shuffle::{MapOutputTracker, MapStatus, ShuffleManager};
use crate::storage::{BlockId, BlockManager, BlockManagerMaster, MemoryManager};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// The services of one executor.
#[derive(Debug)]
pub struct Env {
    /// `driver` in local mode.
    pub executor_id: String,
    /// Cached blocks.
    pub block_manager: BlockManager,
    /// The memory budget shared by execution and storage.
    pub memory_manager: Arc<MemoryManager>,
    /// Shuffle files of this executor.
    pub shuffle_manager: ShuffleManager,
    /// Where every map output is (kept by the driver).
    pub map_output_tracker: MapOutputTracker,
    /// Where every cached partition is (kept by the driver).
    pub block_manager_master: BlockManagerMaster,
    /// Broadcast values.
    pub broadcast_manager: BroadcastManager,
    /// On an executor: the driver and the other executors. Unset in the driver.
    pub(crate) link: OnceLock<Arc<ExecutorLink>>,
    /// In the driver: which attempt of each task may commit its output.
    pub(crate) output_commits: OutputCommitCoordinator,
    /// In the driver: what libraries set up for tasks to ask ([`Env::ask_driver`]).
    pub(crate) endpoints: Endpoints,
    /// Hadoop's configuration: `$HADOOP_CONF_DIR` and the `ember.hadoop.*` settings.
    pub hadoop: ember_hadoop::HadoopConf,
    /// The rack of each host, from Hadoop's topology script or table.
    pub racks: ember_hadoop::RackResolver,
    /// One object store per file system this process reads or writes.
    stores: StoreCache,
    /// This process's shuffle files and blocks on disk; removed, with everything in it, when
    /// the Env goes or [`remove_scratch`](Env::remove_scratch) is called.
    scratch: tempfile::TempDir,
}

impl Env {
    /// Removes this process's shuffle files and disk blocks, for a process about to exit
    /// without dropping its `Env` (an executor ends with `process::exit`, with tasks possibly
    /// still running). Anything still using them afterwards fails with an I/O error.
    pub fn remove_scratch(&self) {
        if let Err(e) = std::fs::remove_dir_all(self.scratch.path()) {
            tracing::warn!("could not remove {}: {e}", self.scratch.path().display());
        }
    }

    /// Builds the services from `conf` for an executor with `slots` task slots.
    ///
    /// # Errors
    /// Bad memory settings, or a local directory that cannot be created.
    pub fn new(conf: &EmberConf, executor_id: &str, slots: usize) -> Result<Self> {
        let memory = conf.require(&keys::EXECUTOR_MEMORY)?;
        let reserved = conf.require(&keys::RESERVED_MEMORY)?;
        let fraction = conf.require(&keys::MEMORY_FRACTION)?;
        let storage_fraction = conf.require(&keys::MEMORY_STORAGE_FRACTION)?;
        if memory <= reserved {
            return Err(Error::Config {
                key: keys::EXECUTOR_MEMORY.key.into(),
                value: conf
                    .get_raw(keys::EXECUTOR_MEMORY.key)
                    .unwrap_or("1g")
                    .into(),
                reason: format!(
                    "must exceed the {} MiB reserved memory; raise it (for example to 1g)",
                    reserved >> 20
                ),
            });
        }
        let pool = ((memory - reserved) as f64 * fraction) as u64;
        let memory_manager = Arc::new(MemoryManager::new(pool, storage_fraction, slots));
        let local_dir = conf.require(&keys::LOCAL_DIR)?;
        std::fs::create_dir_all(&local_dir).map_err(|e| Error::io(&local_dir, e))?;
        let scratch = tempfile::Builder::new()
            .prefix("ember-")
            .tempdir_in(&local_dir)
            .map_err(|e| Error::io(&local_dir, e))?;
        let in_process = match conf.get(&keys::MASTER)? {
            Some(url) => matches!(Master::parse(&url)?, Master::Local { .. }),
            None => false,
        };
        let compress_shuffle = conf.get(&keys::SHUFFLE_COMPRESS)?.unwrap_or(!in_process);
        let bypass_merge = conf.require(&keys::SHUFFLE_BYPASS_MERGE_THRESHOLD)?;
        let compress_rdd = conf.require(&keys::RDD_COMPRESS)?;
        let hadoop = ember_hadoop::HadoopConf::from_env()?.with_overrides(conf.iter());
        Ok(Env {
            executor_id: executor_id.to_string(),
            block_manager: BlockManager::new(
                memory_manager.clone(),
                scratch.path().join("blocks"),
                compress_rdd,
            ),
            shuffle_manager: ShuffleManager::new(
                scratch.path().join("shuffle"),
                compress_shuffle,
                bypass_merge,
            ),
            memory_manager,
            map_output_tracker: MapOutputTracker::default(),
            block_manager_master: BlockManagerMaster::default(),
            broadcast_manager: BroadcastManager::default(),
            link: OnceLock::new(),
            racks: ember_hadoop::RackResolver::new(&hadoop),
            hadoop,
            stores: StoreCache::default(),
            scratch,
            output_commits: OutputCommitCoordinator::default(),
            endpoints: Endpoints::default(),
        })
    }

    /// Whether the attempt asking may commit its output: asked of the driver's
    /// [`OutputCommitCoordinator`], directly or over the network.
    ///
    /// # Errors
    /// The driver could not be asked.
    pub(crate) fn can_commit(&self, ask: &CommitAsk) -> Result<bool> {
        match self.link.get() {
            Some(link) => link.ask_commit(ask),
            None => Ok(self.output_commits.can_commit(ask)),
        }
    }

    /// Where this executor serves its shuffle files and blocks (`host:port`); empty in local
    /// mode, where there is no other executor to serve.
    pub fn block_address(&self) -> String {
        self.link
            .get()
            .map(|l| l.block_address.clone())
            .unwrap_or_default()
    }

    /// Every map output of `shuffle` (`None` where missing); `None` for an unknown shuffle.
    /// Executors ask the driver, which tracks them.
    ///
    /// # Errors
    /// The driver cannot be reached.
    pub(crate) fn map_statuses(&self, shuffle: usize) -> Result<Option<Vec<Option<MapStatus>>>> {
        match self.link.get() {
            Some(link) => link.map_statuses(shuffle),
            None => Ok(self.map_output_tracker.statuses(shuffle)),
        }
    }

    /// Broadcast `id`'s value; an executor fetches it from the driver the first time.
    ///
    /// # Errors
    /// The broadcast was destroyed, or the driver cannot be reached.
    pub(crate) fn broadcast_value<T: Data>(&self, id: u64) -> Result<Arc<T>> {
        match self.link.get() {
            Some(link) => self
                .broadcast_manager
                .get_or_fetch(id, || link.broadcast(id, &self.executor_id)),
            None => self.broadcast_manager.get(id),
        }
    }

    /// Cached block `id` of another executor, when one holds it: an executor asks the driver
    /// where it is and fetches it. `None` when no other executor has it.
    pub(crate) fn remote_block<T: Data>(&self, id: BlockId) -> Option<Vec<T>> {
        let link = self.link.get()?;
        let bytes = link.fetch_cached_block(id, &self.executor_id)?;
        match self.block_manager.decode_bytes(&bytes) {
            Ok(values) => Some(values),
            Err(e) => {
                tracing::warn!("cannot read fetched block {}: {e}", id.name());
                None
            }
        }
    }

    /// Asks the driver's endpoint `endpoint` (set with
    /// [`Context::set_endpoint`](crate::Context::set_endpoint)) and returns its reply: over the
    /// network from an executor, by a direct call in the driver.
    ///
    /// # Errors
    /// The driver cannot be reached, has no such endpoint, or its handler failed.
    pub fn ask_driver<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Req,
    ) -> Result<Rep> {
        let request = bincode::serialize(request)?;
        let reply = match self.link.get() {
            Some(link) => link.ask_endpoint(endpoint, &self.executor_id, request)?,
            None => self.endpoints.ask(endpoint, &self.executor_id, &request)?,
        };
        Ok(bincode::deserialize(&reply)?)
    }

    /// Block `id` from executor `holder`, whose block server is at `address`: from this
    /// executor's own store when it is the holder (always in local mode), else fetched. `None`
    /// when the block is gone (evicted, removed, or its executor lost).
    ///
    /// # Errors
    /// The block is here but cannot be read, or what came is not a block of `T`.
    pub fn read_block<T: Data>(
        &self,
        id: BlockId,
        holder: &str,
        address: &str,
    ) -> Result<Option<Arc<Vec<T>>>> {
        let link = match self.link.get() {
            Some(link) if holder != self.executor_id => link,
            _ => return self.block_manager.get(id),
        };
        match link.fetch_block_from(address, id) {
            Some(bytes) => Ok(Some(Arc::new(self.block_manager.decode_bytes(&bytes)?))),
            None => Ok(None),
        }
    }

    /// `url` (or a bare path) resolved to its object store, which is kept for later calls.
    ///
    /// # Errors
    /// A scheme ember cannot read, or a store that cannot be set up.
    pub fn resolve(&self, url: &str) -> Result<ember_hadoop::ResolvedPath> {
        self.stores.resolve(url, &self.hadoop)
    }

    /// The block size input splits of `url` are capped at: `dfs.blocksize` on HDFS,
    /// `fs.local.block.size` for local files, `fs.s3a.block.size` on S3 (Hadoop's defaults:
    /// 128 MiB, 32 MiB and 32 MiB).
    pub(crate) fn block_size(&self, url: &str) -> u64 {
        let (key, default) = if url.starts_with("hdfs://") {
            ("dfs.blocksize", 128 << 20)
        } else if url.starts_with("file:") || !url.contains("://") {
            ("fs.local.block.size", 32 << 20)
        } else {
            ("fs.s3a.block.size", 32 << 20)
        };
        self.hadoop
            .get(key)
            .and_then(|v| crate::conf::parse_bytes(&v, 1).ok())
            .filter(|&b| b > 0)
            .unwrap_or(default)
    }
}
