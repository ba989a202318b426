//! Storage: where cached partitions live, and how memory is shared between caching and execution.
//!
//! - [`StorageLevel`] says how a persisted RDD keeps its partitions: as objects or serialized
//!   bytes, in memory, on disk, or both.
//! - The [`BlockManager`] holds the blocks of one executor (in local mode, of the process): an LRU
//!   memory store bounded by the [`MemoryManager`], and a disk store under `ember.local.dir`.
//! - The [`MemoryManager`] splits one budget, `(ember.executor.memory - reserved) *
//!   ember.memory.fraction`, between execution (shuffle buffers, sorts, aggregations, which spill
//!   when refused) and storage (cached blocks, which are evicted least recently used first).
//!
//! A block that is evicted or lost is not an error: the RDD's lineage recomputes it.

mod block_manager;
mod block_manager_master;
mod memory_manager;
mod storage_level;

pub use block_manager::{BlockId, BlockManager};
pub use block_manager_master::BlockManagerMaster;
pub use memory_manager::{Grant, MemoryManager, TaskMemory};
pub use storage_level::StorageLevel;
