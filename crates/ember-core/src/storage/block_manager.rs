//! The blocks of one executor: cached RDD partitions in memory and on disk (Spark's
//! `BlockManager`).
//!
//! A block is one partition of a persisted RDD, or a batch of records a streaming receiver
//! stored, kept according to its [`StorageLevel`]:
//! - deserialized levels keep an `Arc<Vec<T>>` that readers iterate by cloning elements;
//! - serialized levels keep bincode bytes (lz4-compressed when `ember.rdd.compress` is set);
//! - disk levels write the same bytes to `<local dir>/blocks/<block name>`.
//!
//! The memory store is bounded by the [`MemoryManager`]. To make room it evicts the least
//! recently used blocks of *other* RDDs (evicting a sibling partition of the RDD being cached
//! would only cause thrashing); an evicted block whose level allows disk is written there first.
//! A block that cannot be stored anywhere is simply not cached, and its lineage recomputes it the
//! next time.
//!
//! THREADING: all maps sit behind one mutex held only for bookkeeping, never while computing or
//! doing I/O on a block's contents, except for writing an evicted block to disk.

use super::{MemoryManager, StorageLevel};
use crate::error::{Error, Result};
use crate::Data;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Names a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BlockId {
    /// Partition `partition` of RDD `rdd`.
    Rdd {
        /// The RDD's id.
        rdd: usize,
        /// The partition index.
        partition: usize,
    },
    /// Records a streaming receiver stored (Spark's `StreamBlockId`).
    Stream {
        /// The id of the receiver's input stream.
        stream: usize,
        /// The block's number among the stream's, unique in the application.
        id: u64,
    },
}

impl BlockId {
    /// The block's name, as Spark writes it: `rdd_<rdd>_<partition>`, `input-<stream>-<id>`.
    pub fn name(&self) -> String {
        match self {
            BlockId::Rdd { rdd, partition } => format!("rdd_{rdd}_{partition}"),
            BlockId::Stream { stream, id } => format!("input-{stream}-{id}"),
        }
    }

    /// The block named `name`, if it is one.
    pub fn parse(name: &str) -> Option<BlockId> {
        if let Some(rest) = name.strip_prefix("input-") {
            let (stream, id) = rest.split_once('-')?;
            return Some(BlockId::Stream {
                stream: stream.parse().ok()?,
                id: id.parse().ok()?,
            });
        }
        let (rdd, partition) = name.strip_prefix("rdd_")?.split_once('_')?;
        Some(BlockId::Rdd {
            rdd: rdd.parse().ok()?,
            partition: partition.parse().ok()?,
        })
    }

    fn file_name(&self) -> String {
        self.name()
    }

    /// The RDD the block is a partition of; `None` for stream blocks.
    fn rdd(&self) -> Option<usize> {
        match self {
            BlockId::Rdd { rdd, .. } => Some(*rdd),
            BlockId::Stream { .. } => None,
        }
    }
}

enum Stored {
    Objects(Arc<dyn Any + Send + Sync>),
    Bytes(Arc<Vec<u8>>),
}

struct MemoryEntry {
    stored: Stored,
    size: u64,
    level: StorageLevel,
    last_used: u64,
    // Evicting a block to disk needs its bytes; deserialized blocks keep a way to make them.
    to_bytes: fn(&(dyn Any + Send + Sync), bool) -> Result<Vec<u8>>,
    /// Being written to disk by an eviction, which no other eviction may choose.
    evicting: bool,
}

#[derive(Default)]
struct Stores {
    memory: HashMap<BlockId, MemoryEntry>,
    disk: HashMap<BlockId, u64>,
    clock: u64,
}

/// The block store of one executor.
pub struct BlockManager {
    memory: Arc<MemoryManager>,
    dir: PathBuf,
    compress: bool,
    stores: Mutex<Stores>,
}

impl std::fmt::Debug for BlockManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockManager")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl BlockManager {
    /// A block manager storing disk blocks under `dir`.
    pub fn new(memory: Arc<MemoryManager>, dir: PathBuf, compress: bool) -> Self {
        BlockManager {
            memory,
            dir,
            compress,
            stores: Mutex::new(Stores::default()),
        }
    }

    /// The cached partition `id`, if any store holds it.
    ///
    /// # Errors
    /// A disk block that cannot be read or decoded.
    pub fn get<T: Data>(&self, id: BlockId) -> Result<Option<Arc<Vec<T>>>> {
        let found = {
            let mut s = self.stores.lock();
            s.clock += 1;
            let now = s.clock;
            match s.memory.get_mut(&id) {
                Some(e) => {
                    e.last_used = now;
                    Some(match &e.stored {
                        Stored::Objects(o) => Stored::Objects(o.clone()),
                        Stored::Bytes(b) => Stored::Bytes(b.clone()),
                    })
                }
                None => None,
            }
        };
        match found {
            Some(Stored::Objects(o)) => o
                .downcast::<Vec<T>>()
                .map(Some)
                .map_err(|_| Error::Internal(format!("block {id:?} holds another type"))),
            Some(Stored::Bytes(b)) => decode::<T>(&b, self.compress).map(|v| Some(Arc::new(v))),
            None => self.get_from_disk(id),
        }
    }

    fn get_from_disk<T: Data>(&self, id: BlockId) -> Result<Option<Arc<Vec<T>>>> {
        if !self.stores.lock().disk.contains_key(&id) {
            return Ok(None);
        }
        let path = self.dir.join(id.file_name());
        match std::fs::read(&path) {
            Ok(bytes) => decode::<T>(&bytes, self.compress).map(|v| Some(Arc::new(v))),
            // A block deleted under us is a lost block: recompute it from lineage.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.stores.lock().disk.remove(&id);
                Ok(None)
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Stores a computed partition at `level`, where it fits; returns whether it was stored.
    ///
    /// # Errors
    /// Serialization or disk I/O failures.
    pub fn put<T: Data>(
        &self,
        id: BlockId,
        values: Arc<Vec<T>>,
        level: StorageLevel,
    ) -> Result<bool> {
        if level.use_memory {
            let (stored, size) = if level.deserialized {
                // The serialized size is a fair, cheap-to-get estimate of the objects' footprint.
                let size = bincode::serialized_size(&*values)? + 64;
                (Stored::Objects(values.clone()), size)
            } else {
                let bytes = encode(&*values, self.compress)?;
                let size = bytes.len() as u64;
                (Stored::Bytes(Arc::new(bytes)), size)
            };
            if self.reserve(size, id.rdd())? {
                let mut s = self.stores.lock();
                s.clock += 1;
                let entry = MemoryEntry {
                    stored,
                    size,
                    level,
                    last_used: s.clock,
                    to_bytes: objects_to_bytes::<T>,
                    evicting: false,
                };
                if let Some(old) = s.memory.insert(id, entry) {
                    self.memory.release_storage(old.size);
                }
                return Ok(true);
            }
        }
        if level.use_disk {
            let bytes = encode(&*values, self.compress)?;
            self.write_disk(id, &bytes)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Frees room for `size` bytes by evicting LRU blocks of other RDDs than `rdd` (any block
    /// for a stream block); true when reserved.
    fn reserve(&self, size: u64, rdd: Option<usize>) -> Result<bool> {
        if size > self.memory.storage_limit() {
            return Ok(false);
        }
        while !self.memory.acquire_storage(size) {
            if self.evict_lru(rdd)? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Evicts least recently used blocks until `bytes` are freed or nothing is left to evict;
    /// returns the bytes freed. Execution calls this to take back memory that storage borrowed.
    ///
    /// # Errors
    /// An evicted block that should go to disk cannot be written.
    pub fn free_memory(&self, bytes: u64) -> Result<u64> {
        let mut freed = 0;
        while freed < bytes {
            match self.evict_lru(None)? {
                0 => break,
                n => freed += n,
            }
        }
        Ok(freed)
    }

    /// Evicts the least recently used block (not of RDD `keep`, when given), to disk if its
    /// level allows; returns its size, 0 when there is none.
    ///
    /// The block stays readable in memory until its disk copy is written: a reader never finds
    /// it in neither store (a received block of a running batch must not seem lost).
    fn evict_lru(&self, keep: Option<usize>) -> Result<u64> {
        let victim = {
            let mut s = self.stores.lock();
            let chosen = s
                .memory
                .iter_mut()
                .filter(|(id, e)| !e.evicting && (keep.is_none() || id.rdd() != keep))
                .min_by_key(|(_, e)| e.last_used);
            chosen.map(|(id, e)| {
                e.evicting = true;
                let stored = match &e.stored {
                    Stored::Objects(o) => Stored::Objects(o.clone()),
                    Stored::Bytes(b) => Stored::Bytes(b.clone()),
                };
                (*id, stored, e.level, e.to_bytes)
            })
        };
        let Some((id, stored, level, to_bytes)) = victim else {
            return Ok(0);
        };
        if level.use_disk {
            let written = match &stored {
                Stored::Objects(o) => to_bytes(&**o, self.compress),
                Stored::Bytes(b) => Ok(b.to_vec()),
            }
            .and_then(|bytes| self.write_disk(id, &bytes));
            if let Err(e) = written {
                if let Some(entry) = self.stores.lock().memory.get_mut(&id) {
                    entry.evicting = false;
                }
                return Err(e);
            }
        }
        let removed = self.stores.lock().memory.remove(&id);
        let size = match removed {
            Some(entry) => {
                self.memory.release_storage(entry.size);
                entry.size
            }
            // Removed meanwhile (its RDD unpersisted, the block dropped), its memory released
            // then: the copy just written must not bring it back.
            None => {
                if level.use_disk && self.stores.lock().disk.remove(&id).is_some() {
                    let _ = std::fs::remove_file(self.dir.join(id.file_name()));
                }
                0
            }
        };
        tracing::debug!(block = ?id, bytes = size, "evicted block from memory");
        Ok(size.max(1))
    }

    fn write_disk(&self, id: BlockId, bytes: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let path = self.dir.join(id.file_name());
        // Written aside and renamed: a reader never sees half a block.
        let mut temp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        std::io::Write::write_all(&mut temp, bytes).map_err(|e| Error::io(temp.path(), e))?;
        temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        self.stores.lock().disk.insert(id, bytes.len() as u64);
        Ok(())
    }

    /// Block `id` as bytes another executor can decode with [`BlockManager::decode_bytes`].
    ///
    /// # Errors
    /// The block cannot be serialized or read from disk.
    pub fn get_bytes(&self, id: BlockId) -> Result<Option<Vec<u8>>> {
        let in_memory = self.stores.lock().memory.get(&id).map(|e| {
            let stored = match &e.stored {
                Stored::Objects(o) => Stored::Objects(o.clone()),
                Stored::Bytes(b) => Stored::Bytes(b.clone()),
            };
            (stored, e.to_bytes)
        });
        match in_memory {
            Some((Stored::Objects(o), to_bytes)) => to_bytes(&*o, self.compress).map(Some),
            Some((Stored::Bytes(b), _)) => Ok(Some(b.to_vec())),
            None if self.stores.lock().disk.contains_key(&id) => {
                let path = self.dir.join(id.file_name());
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(path, e)),
                }
            }
            None => Ok(None),
        }
    }

    /// `values` as the bytes [`BlockManager::decode_bytes`] reads, in this store's format (its
    /// compression): for copies of a block kept elsewhere, such as a write-ahead log.
    ///
    /// # Errors
    /// A value cannot be serialized.
    pub fn encode_values<T: Data>(&self, values: &Vec<T>) -> Result<Vec<u8>> {
        encode(values, self.compress)
    }

    /// The values of a block fetched as bytes from another executor's [`BlockManager::get_bytes`].
    ///
    /// # Errors
    /// The bytes are not a block of `T`.
    pub fn decode_bytes<T: Data>(&self, bytes: &[u8]) -> Result<Vec<T>> {
        decode(bytes, self.compress)
    }

    /// Drops every block of RDD `rdd` from memory and disk.
    pub fn remove_rdd(&self, rdd: usize) {
        let (memory, disk): (Vec<_>, Vec<_>) = {
            let mut s = self.stores.lock();
            let memory: Vec<_> = s
                .memory
                .keys()
                .filter(|id| id.rdd() == Some(rdd))
                .copied()
                .collect();
            let memory = memory
                .into_iter()
                .filter_map(|id| s.memory.remove(&id))
                .collect();
            let disk: Vec<_> = s
                .disk
                .keys()
                .filter(|id| id.rdd() == Some(rdd))
                .copied()
                .collect();
            for id in &disk {
                s.disk.remove(id);
            }
            (memory, disk)
        };
        for entry in memory {
            self.memory.release_storage(entry.size);
        }
        for id in disk {
            // Already gone is as good as removed.
            let _ = std::fs::remove_file(self.dir.join(id.file_name()));
        }
    }

    /// Drops block `id` from memory and disk; nothing when it is not stored.
    pub fn remove(&self, id: BlockId) {
        let (memory, on_disk) = {
            let mut s = self.stores.lock();
            (s.memory.remove(&id), s.disk.remove(&id).is_some())
        };
        if let Some(entry) = memory {
            self.memory.release_storage(entry.size);
        }
        if on_disk {
            let _ = std::fs::remove_file(self.dir.join(id.file_name()));
        }
    }

    /// Where the block is stored now: (in memory, on disk).
    pub fn location(&self, id: BlockId) -> (bool, bool) {
        let s = self.stores.lock();
        (s.memory.contains_key(&id), s.disk.contains_key(&id))
    }

    /// Bytes held by the memory store.
    pub fn memory_used(&self) -> u64 {
        self.stores.lock().memory.values().map(|e| e.size).sum()
    }
}

fn objects_to_bytes<T: Data>(objects: &(dyn Any + Send + Sync), compress: bool) -> Result<Vec<u8>> {
    let values = objects
        .downcast_ref::<Vec<T>>()
        .ok_or_else(|| Error::Internal("evicted block holds another type".into()))?;
    encode(values, compress)
}

fn encode<T: Data>(values: &Vec<T>, compress: bool) -> Result<Vec<u8>> {
    let bytes = bincode::serialize(values)?;
    Ok(if compress {
        lz4_flex::compress_prepend_size(&bytes)
    } else {
        bytes
    })
}

fn decode<T: Data>(bytes: &[u8], compressed: bool) -> Result<Vec<T>> {
    if compressed {
        let raw = lz4_flex::decompress_size_prepended(bytes)
            .map_err(|e| Error::Serialization(format!("corrupt cached block: {e}")))?;
        Ok(bincode::deserialize(&raw)?)
    } else {
        Ok(bincode::deserialize(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(pool: u64, dir: &std::path::Path) -> BlockManager {
        BlockManager::new(Arc::new(MemoryManager::new(pool, 0.5, 1)), dir.into(), true)
    }

    fn block(rdd: usize, partition: usize) -> BlockId {
        BlockId::Rdd { rdd, partition }
    }

    #[test]
    fn every_level_gives_back_what_was_put() {
        let dir = tempfile::tempdir().unwrap();
        let bm = manager(1 << 20, dir.path());
        let levels = [
            StorageLevel::MEMORY_ONLY,
            StorageLevel::MEMORY_ONLY_SER,
            StorageLevel::MEMORY_AND_DISK,
            StorageLevel::DISK_ONLY,
        ];
        for (i, level) in levels.into_iter().enumerate() {
            let values = Arc::new(vec![format!("v{i}"); 10]);
            assert!(bm.put(block(i, 0), values.clone(), level).unwrap());
            assert_eq!(*bm.get::<String>(block(i, 0)).unwrap().unwrap(), *values);
        }
        assert_eq!(bm.location(block(3, 0)), (false, true));
    }

    #[test]
    fn lru_blocks_of_other_rdds_are_evicted_to_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let bm = manager(3000, dir.path());
        let values = Arc::new(vec![7u64; 100]); // ~870 bytes each
        bm.put(block(1, 0), values.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap();
        bm.put(block(2, 0), values.clone(), StorageLevel::MEMORY_AND_DISK)
            .unwrap();
        bm.get::<u64>(block(1, 0)).unwrap();
        bm.put(block(3, 0), values.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap();
        bm.put(block(4, 0), values.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap();
        // Block 2 was least recently used: evicted, and kept on disk as its level allows.
        assert_eq!(bm.location(block(2, 0)), (false, true));
        assert_eq!(*bm.get::<u64>(block(2, 0)).unwrap().unwrap(), *values);
        assert!(bm.memory_used() <= 3000);
    }

    #[test]
    fn a_block_larger_than_memory_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let bm = manager(100, dir.path());
        let stored = bm
            .put(
                block(1, 0),
                Arc::new(vec![1u64; 1000]),
                StorageLevel::MEMORY_ONLY,
            )
            .unwrap();
        assert!(!stored);
        assert!(bm.get::<u64>(block(1, 0)).unwrap().is_none());
    }

    #[test]
    fn stream_blocks_go_by_spark_names_and_are_removed_one_by_one() {
        let stream = BlockId::Stream { stream: 2, id: 17 };
        assert_eq!(stream.name(), "input-2-17");
        assert_eq!(BlockId::parse("input-2-17"), Some(stream));
        assert_eq!(BlockId::parse("rdd_3_1"), Some(block(3, 1)));
        assert_eq!(BlockId::parse("input-2"), None);
        let dir = tempfile::tempdir().unwrap();
        let bm = manager(1 << 20, dir.path());
        let values = Arc::new(vec!["line".to_string(); 5]);
        bm.put(stream, values.clone(), StorageLevel::DISK_ONLY)
            .unwrap();
        bm.put(block(3, 1), values.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap();
        bm.remove(stream);
        assert_eq!(bm.location(stream), (false, false));
        assert!(bm.get::<String>(stream).unwrap().is_none());
        assert_eq!(bm.location(block(3, 1)), (true, false));
    }

    #[test]
    fn a_block_being_evicted_to_disk_can_be_read_all_along() {
        let dir = tempfile::tempdir().unwrap();
        let bm = Arc::new(manager(1 << 20, dir.path()));
        let stored = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writer = {
            let (bm, stored) = (bm.clone(), stored.clone());
            std::thread::spawn(move || {
                for id in 0..200u64 {
                    let block = BlockId::Stream { stream: 0, id };
                    // Values that do not compress away: each block takes its room.
                    let values = (0..20_000).map(|i| id * 1_000_003 + i * 7_919).collect();
                    let values = Arc::new(values);
                    assert!(bm
                        .put(block, values, StorageLevel::MEMORY_AND_DISK_SER)
                        .unwrap());
                    stored.store(id + 1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        };
        // Memory holds a few blocks: every put evicts one to disk while this reads them all,
        // the one being evicted among them.
        let mut reads = 0;
        while !writer.is_finished() {
            let upto = stored.load(std::sync::atomic::Ordering::SeqCst);
            for id in upto.saturating_sub(16)..upto {
                let got = bm.get::<u64>(BlockId::Stream { stream: 0, id }).unwrap();
                assert_eq!(
                    got.map(|v| v[0]),
                    Some(id * 1_000_003),
                    "block {id} missing"
                );
                reads += 1;
            }
        }
        writer.join().unwrap();
        assert!(reads > 0);
    }
}
