//! One memory budget shared by execution and storage (Spark's `UnifiedMemoryManager`).
//!
//! The pool is `(ember.executor.memory - ember.testing.reservedMemory) * ember.memory.fraction`.
//! Storage (cached blocks) may use whatever execution does not hold; when it needs more it evicts
//! its own least recently used blocks. Execution (shuffle buffers, aggregation maps, sort buffers)
//! may also take back what storage holds beyond its protected share
//! (`ember.memory.storageFraction` of the pool): such a request is granted after the block manager
//! has evicted that much. Each running task gets at most an equal share of the execution pool
//! among the task slots, so one task cannot starve the others. A refused request is not an error:
//! the consumer spills to disk and carries on. Execution and storage together never exceed the
//! pool.
//!
//! Sizes are estimates made by the consumers; the manager only keeps the books.

use crate::env::Env;
use crate::task_context::TaskContext;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// The books of one executor's memory.
#[derive(Debug)]
pub struct MemoryManager {
    pool: u64,
    storage_protected: u64,
    slots: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    execution_by_task: HashMap<u64, u64>,
    execution_used: u64,
    storage_used: u64,
}

impl MemoryManager {
    /// A manager for `pool` bytes shared by `slots` concurrent tasks.
    pub fn new(pool: u64, storage_fraction: f64, slots: usize) -> Self {
        MemoryManager {
            pool,
            storage_protected: (pool as f64 * storage_fraction) as u64,
            slots: slots.max(1) as u64,
            state: Mutex::new(State::default()),
        }
    }

    /// The whole pool in bytes.
    pub fn pool(&self) -> u64 {
        self.pool
    }

    /// The most execution memory one task may hold: an equal share of the pool per task slot.
    pub fn task_share(&self) -> u64 {
        self.pool / self.slots
    }

    /// Grants `bytes` of execution memory to `task` if its share allows and the memory is free.
    pub fn acquire_execution(&self, task: u64, bytes: u64) -> Grant {
        let mut s = self.state.lock();
        let execution_pool = self.pool - s.storage_used.min(self.storage_protected);
        let held = s.execution_by_task.get(&task).copied().unwrap_or(0);
        let fits_pool = s.execution_used + bytes <= execution_pool;
        let fits_share = held + bytes <= execution_pool / self.slots;
        if !(fits_pool && fits_share) {
            return Grant::Refused;
        }
        let free = self.pool.saturating_sub(s.execution_used + s.storage_used);
        if bytes > free {
            // Storage holds the rest beyond its protected share; evicting it makes room.
            return Grant::AfterEviction(bytes - free);
        }
        s.execution_used += bytes;
        *s.execution_by_task.entry(task).or_default() += bytes;
        Grant::Granted
    }

    /// Returns `bytes` of `task`'s execution memory.
    pub fn release_execution(&self, task: u64, bytes: u64) {
        let mut s = self.state.lock();
        let held = s.execution_by_task.entry(task).or_default();
        let bytes = bytes.min(*held);
        *held -= bytes;
        if *held == 0 {
            s.execution_by_task.remove(&task);
        }
        s.execution_used -= bytes;
    }

    /// The most storage can ever hold while execution holds what it holds now.
    pub(crate) fn storage_limit(&self) -> u64 {
        self.pool.saturating_sub(self.state.lock().execution_used)
    }

    /// Takes `bytes` for a block if they are free.
    pub(crate) fn acquire_storage(&self, bytes: u64) -> bool {
        let mut s = self.state.lock();
        if s.storage_used + s.execution_used + bytes <= self.pool {
            s.storage_used += bytes;
            true
        } else {
            false
        }
    }

    /// Gives back a dropped block's bytes.
    pub(crate) fn release_storage(&self, bytes: u64) {
        let mut s = self.state.lock();
        s.storage_used = s.storage_used.saturating_sub(bytes);
    }

    /// Execution memory held now, by all tasks.
    pub fn execution_used(&self) -> u64 {
        self.state.lock().execution_used
    }
}

/// The answer to a request for execution memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The memory is the task's.
    Granted,
    /// Over the task's share or the execution pool: spill instead.
    Refused,
    /// Within bounds, but cached blocks hold this many of the bytes: evict them and ask again.
    AfterEviction(u64),
}

/// A task's claim on execution memory, grown in steps and released when dropped.
///
/// Spillable collections call [`TaskMemory::try_grow_to`] with their estimated size; when it says
/// no, they spill and call [`TaskMemory::release_all`].
#[derive(Debug)]
pub struct TaskMemory {
    manager: Arc<MemoryManager>,
    // Evicts cached blocks when execution takes back memory that storage borrowed.
    blocks: Option<Arc<Env>>,
    task: u64,
    held: u64,
}

/// Memory is requested in multiples of this many bytes so that the manager's lock stays cold.
const STEP: u64 = 64 << 10;

impl TaskMemory {
    /// A claim of nothing yet, for `task`, that never evicts cached blocks.
    pub fn new(manager: Arc<MemoryManager>, task: u64) -> Self {
        TaskMemory {
            manager,
            blocks: None,
            task,
            held: 0,
        }
    }

    /// A claim of nothing yet for the running task `tc`, evicting cached blocks when needed.
    pub fn for_task(tc: &TaskContext) -> Self {
        let env = tc.env();
        TaskMemory {
            manager: env.memory_manager.clone(),
            blocks: Some(env.clone()),
            task: tc.task_attempt_id,
            held: 0,
        }
    }

    fn acquire(&self, bytes: u64) -> bool {
        match self.manager.acquire_execution(self.task, bytes) {
            Grant::Granted => true,
            Grant::Refused => false,
            Grant::AfterEviction(needed) => {
                let Some(env) = &self.blocks else {
                    return false;
                };
                // A block that cannot be evicted (its disk write failed) only means a spill.
                let freed = env.block_manager.free_memory(needed).unwrap_or(0);
                freed >= needed
                    && self.manager.acquire_execution(self.task, bytes) == Grant::Granted
            }
        }
    }

    /// Makes sure `bytes` are held; false when the manager refuses (the caller should spill).
    #[inline]
    pub fn try_grow_to(&mut self, bytes: u64) -> bool {
        bytes <= self.held || self.grow_to(bytes)
    }

    fn grow_to(&mut self, bytes: u64) -> bool {
        // Ask for double what is held, so a growing collection asks log(n) times; settle for
        // what it needs now if the doubling is refused.
        let need = (bytes - self.held).div_ceil(STEP) * STEP;
        for want in [need.max(self.held), need] {
            if self.acquire(want) {
                self.held += want;
                return true;
            }
        }
        false
    }

    /// Gives back what is held beyond twice `bytes` (and a step), keeping `bytes` and the same
    /// again for regrowth: a consumer whose use falls far below its peak hands the rest back to
    /// the other tasks without asking the manager at every small change.
    pub fn shrink_toward(&mut self, bytes: u64) {
        let keep = bytes.saturating_mul(2).saturating_add(STEP);
        if self.held > keep {
            self.manager.release_execution(self.task, self.held - keep);
            self.held = keep;
        }
    }

    /// Gives back everything held.
    pub fn release_all(&mut self) {
        self.manager.release_execution(self.task, self.held);
        self.held = 0;
    }
}

impl Drop for TaskMemory {
    fn drop(&mut self) {
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_gets_at_most_its_share() {
        let m = Arc::new(MemoryManager::new(100 * STEP, 0.5, 2));
        let mut a = TaskMemory::new(m.clone(), 1);
        assert!(a.try_grow_to(STEP));
        assert!(a.try_grow_to(30 * STEP));
        assert!(a.try_grow_to(50 * STEP));
        assert!(!a.try_grow_to(51 * STEP));
        let mut b = TaskMemory::new(m.clone(), 2);
        assert!(b.try_grow_to(50 * STEP));
        drop(a);
        assert_eq!(m.execution_used(), 50 * STEP);
        b.release_all();
        assert_eq!(m.execution_used(), 0);
    }

    #[test]
    fn a_claim_far_above_its_use_gives_the_rest_back() {
        let m = Arc::new(MemoryManager::new(100 * STEP, 0.5, 1));
        let mut a = TaskMemory::new(m.clone(), 1);
        assert!(a.try_grow_to(80 * STEP));
        // Within twice the use (and a step), nothing moves.
        a.shrink_toward(40 * STEP);
        assert_eq!(m.execution_used(), 80 * STEP);
        a.shrink_toward(10 * STEP);
        assert_eq!(m.execution_used(), 21 * STEP);
        let mut b = TaskMemory::new(m.clone(), 2);
        assert!(b.try_grow_to(70 * STEP));
        // Growing again asks for what was given back.
        assert!(a.try_grow_to(30 * STEP));
        assert_eq!(m.execution_used(), 100 * STEP);
    }

    #[test]
    fn storage_takes_only_what_execution_leaves() {
        let m = MemoryManager::new(10, 0.5, 1);
        assert_eq!(m.acquire_execution(1, 6), Grant::Granted);
        assert!(!m.acquire_storage(5));
        assert!(m.acquire_storage(4));
        m.release_execution(1, 6);
        // Storage below its protected share keeps it from execution.
        assert_eq!(m.acquire_execution(1, 7), Grant::Refused);
        assert_eq!(m.acquire_execution(1, 6), Grant::Granted);
    }

    #[test]
    fn execution_takes_back_only_what_storage_holds_beyond_its_share() {
        let m = MemoryManager::new(10, 0.3, 1);
        assert!(m.acquire_storage(9));
        // 1 byte is free; 6 more are storage's beyond its protected 3.
        assert_eq!(m.acquire_execution(1, 7), Grant::AfterEviction(6));
        assert_eq!(m.acquire_execution(1, 8), Grant::Refused);
        m.release_storage(6);
        assert_eq!(m.acquire_execution(1, 7), Grant::Granted);
    }
}
