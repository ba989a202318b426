//! How a persisted RDD keeps its partitions (Spark's `StorageLevel`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a persisted RDD keeps its partitions.
///
/// ```
/// use ember_core::StorageLevel;
/// assert!(StorageLevel::MEMORY_AND_DISK.use_disk);
/// assert_eq!(StorageLevel::MEMORY_ONLY_SER.to_string(), "MEMORY_ONLY_SER");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StorageLevel {
    /// Blocks may be written to disk (always, or when evicted from memory).
    pub use_disk: bool,
    /// Blocks are kept in memory while the budget allows.
    pub use_memory: bool,
    /// In memory as objects (fast to read) rather than serialized bytes (compact).
    pub deserialized: bool,
}

impl StorageLevel {
    /// Not persisted.
    pub const NONE: StorageLevel = StorageLevel::new(false, false, false);
    /// Objects in memory; partitions that do not fit are recomputed when needed.
    pub const MEMORY_ONLY: StorageLevel = StorageLevel::new(false, true, true);
    /// Serialized bytes in memory: smaller, slower to read.
    pub const MEMORY_ONLY_SER: StorageLevel = StorageLevel::new(false, true, false);
    /// Objects in memory; what does not fit, or is evicted, goes to disk.
    pub const MEMORY_AND_DISK: StorageLevel = StorageLevel::new(true, true, true);
    /// Serialized bytes in memory, spilling to disk.
    pub const MEMORY_AND_DISK_SER: StorageLevel = StorageLevel::new(true, true, false);
    /// Serialized bytes on disk only.
    pub const DISK_ONLY: StorageLevel = StorageLevel::new(true, false, false);

    const fn new(use_disk: bool, use_memory: bool, deserialized: bool) -> Self {
        StorageLevel {
            use_disk,
            use_memory,
            deserialized,
        }
    }

    /// Whether this level keeps anything at all.
    pub fn is_valid(&self) -> bool {
        self.use_disk || self.use_memory
    }

    /// The level in words, as Spark's lineage and UI write it: `Disk Memory Deserialized 1x
    /// Replicated`; empty for [`NONE`](Self::NONE).
    pub fn description(&self) -> String {
        if !self.is_valid() {
            return String::new();
        }
        let disk = if self.use_disk { "Disk " } else { "" };
        let memory = if self.use_memory { "Memory " } else { "" };
        let form = if self.deserialized {
            "Deserialized"
        } else {
            "Serialized"
        };
        format!("{disk}{memory}{form} 1x Replicated")
    }
}

impl fmt::Display for StorageLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match (self.use_disk, self.use_memory, self.deserialized) {
            (false, false, _) => "NONE",
            (false, true, true) => "MEMORY_ONLY",
            (false, true, false) => "MEMORY_ONLY_SER",
            (true, true, true) => "MEMORY_AND_DISK",
            (true, true, false) => "MEMORY_AND_DISK_SER",
            (true, false, _) => "DISK_ONLY",
        };
        f.write_str(name)
    }
}
