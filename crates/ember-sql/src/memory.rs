//! DataFusion's memory on ember's books: how much a query's operators may hold, and where they
//! spill.
//!
//! Sorts, aggregations and the build sides of joins reserve memory from DataFusion's pool
//! before they grow. ember sizes that pool from the same budget as its own collections
//! (`ember.executor.memory` × `ember.memory.fraction`, Spark's unified memory):
//!
//! - In a stage task, the pool is the task's share of the executor's execution memory (the pool
//!   over the task slots, what a `reduce_by_key` task may hold), and every byte it grants to an
//!   operator that can spill is also claimed from the executor's
//!   [`MemoryManager`](ember_core::storage::MemoryManager):
//!   cached blocks are evicted to make room, and RDD tasks running beside it see the memory
//!   taken. Within the task, DataFusion's fair spill pool shares it among the operators.
//! - A query that runs whole on the driver's threads (`local[N]` without
//!   `ember.sql.distributed`) gets the driver's execution memory as its pool.
//!
//! An operator refused memory spills to disk (sorts, aggregations), under `ember.local.dir`, and
//! its spills are counted in the task's spill figures of the job summary. Operators that cannot
//! spill (writers, top-k heaps; also the batches in flight between partitions, see
//! [`refusable`]) are counted beside the pool and never refused: refusing them would only fail
//! a query that fits in the process's real memory.
//!
//! The build sides of hash joins cannot spill either, and can be as large as a table. They too
//! are counted beside the pool, until together they would hold more than the whole pool: then
//! the join is refused with [`HASH_JOIN_OUTGREW_MEMORY`], and the query runs again with
//! sort-merge joins, whose sorts spill (see [`crate::DataFrame`]).

use crate::session::PREFER_SORT_MERGE_JOIN;
use datafusion::common::Result as DfResult;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::physical_plan::ExecutionPlan;
use ember_core::conf::keys;
use ember_core::storage::TaskMemory;
use ember_core::{Env, TaskContext};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// What a query's error says when the build side of one of its hash joins outgrew execution
/// memory.
pub(crate) const HASH_JOIN_OUTGREW_MEMORY: &str =
    "the build side of a hash join outgrew execution memory";

/// A fair spill pool of a fixed size for the operators that can spill, whose grants may also be
/// claimed from an executor's memory manager. The others (writers, the build sides of hash
/// joins, top-k heaps) are counted beside it: charging them to the spill pool or the claim could
/// leave a sort nothing to sort with. Only hash join build sides are ever refused, when together
/// they would exceed the pool's size.
#[derive(Debug)]
pub(crate) struct EmberMemoryPool {
    share: FairSpillPool,
    // The pool's size.
    limit: usize,
    // What the operators that cannot spill hold.
    unspillable: AtomicUsize,
    // What the build sides of hash joins hold, counted in `unspillable` too.
    hash_join_builds: AtomicUsize,
    // The task's claim on its executor's execution memory; none on the driver.
    claim: Option<Mutex<TaskMemory>>,
}

impl EmberMemoryPool {
    /// The pool of task `tc`: its share of the executor's execution memory, claimed as granted.
    pub(crate) fn for_task(tc: &TaskContext) -> Self {
        let claim = Mutex::new(TaskMemory::for_task(tc));
        Self::of_size(tc.env().memory_manager.task_share() as usize, Some(claim))
    }

    /// The pool of queries run whole on the driver's threads: the driver's execution memory.
    pub(crate) fn for_driver(env: &Env) -> Self {
        Self::of_size(env.memory_manager.pool() as usize, None)
    }

    fn of_size(limit: usize, claim: Option<Mutex<TaskMemory>>) -> Self {
        EmberMemoryPool {
            share: FairSpillPool::new(limit),
            limit,
            unspillable: AtomicUsize::new(0),
            hash_join_builds: AtomicUsize::new(0),
            claim,
        }
    }

    /// Claims what the spilling operators hold; false when the executor refuses.
    fn claim_granted(&self) -> bool {
        self.claim
            .as_ref()
            .is_none_or(|claim| lock(claim).try_grow_to(self.share.reserved() as u64))
    }
}

fn lock(claim: &Mutex<TaskMemory>) -> std::sync::MutexGuard<'_, TaskMemory> {
    claim
        .lock()
        // The books are plain numbers: a panic elsewhere cannot leave them half made.
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Display for EmberMemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ember memory ({})", self.share)
    }
}

impl MemoryPool for EmberMemoryPool {
    fn name(&self) -> &str {
        "ember memory"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if refusable(consumer) {
            self.share.register(consumer);
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if refusable(consumer) {
            self.share.unregister(consumer);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        let consumer = reservation.consumer();
        if refusable(consumer) {
            self.share.grow(reservation, additional);
        } else {
            if builds_hash_join(consumer) {
                self.hash_join_builds
                    .fetch_add(additional, Ordering::Relaxed);
            }
            self.unspillable.fetch_add(additional, Ordering::Relaxed);
        }
        // Infallible by contract: the claim may fall short, the operator goes on regardless.
        self.claim_granted();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        if refusable(reservation.consumer()) {
            self.share.shrink(reservation, shrink);
            // What a finished sort held goes back to the task's other consumers (its shuffle
            // writer) and to the other tasks.
            if let Some(claim) = &self.claim {
                lock(claim).shrink_toward(self.share.reserved() as u64);
            }
        } else {
            if builds_hash_join(reservation.consumer()) {
                self.hash_join_builds.fetch_sub(shrink, Ordering::Relaxed);
            }
            self.unspillable.fetch_sub(shrink, Ordering::Relaxed);
        }
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let consumer = reservation.consumer();
        if builds_hash_join(consumer) {
            let held = self.hash_join_builds.load(Ordering::Relaxed);
            if held + additional > self.limit {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "{HASH_JOIN_OUTGREW_MEMORY}: {} asks for {} more bytes, and the build sides \
                     of hash joins already hold {held} of the {} bytes of execution memory (raise \
                     {}, or set {}=true)",
                    consumer.name(),
                    additional,
                    self.limit,
                    keys::EXECUTOR_MEMORY.key,
                    PREFER_SORT_MERGE_JOIN.key,
                )));
            }
        }
        if !refusable(consumer) {
            self.grow(reservation, additional);
            return Ok(());
        }
        self.share.try_grow(reservation, additional)?;
        if self.claim_granted() {
            return Ok(());
        }
        self.share.shrink(reservation, additional);
        Err(DataFusionError::ResourcesExhausted(format!(
            "{} could not have {additional} more bytes: the executor's execution memory is in \
             use (raise {} or {})",
            reservation.consumer().name(),
            keys::EXECUTOR_MEMORY.key,
            keys::MEMORY_FRACTION.key,
        )))
    }

    fn reserved(&self) -> usize {
        self.share.reserved() + self.unspillable.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.share.memory_limit()
    }
}

/// Whether `consumer` may be refused memory, and then spills.
///
/// Not the buffers of a `RepartitionExec`, which DataFusion marks as spilling: under a memory
/// limit, two of its input tasks spilling at once can leave it waiting forever on a file that
/// holds nothing for it, and the whole query with it (apache/datafusion#24883, fixed after
/// 55.2). Its buffers hold batches in flight between operators; they are counted, never refused.
fn refusable(consumer: &MemoryConsumer) -> bool {
    consumer.can_spill() && !consumer.name().starts_with("RepartitionExec[")
}

/// Whether `consumer` holds the build side of a hash join (DataFusion names its reservations
/// `HashJoinInput`, one per partition for partitioned joins).
fn builds_hash_join(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("HashJoinInput")
}

/// Adds the spills of every operator of `plan` to the task's spill figures.
pub(crate) fn record_spills(plan: &Arc<dyn ExecutionPlan>, tc: &TaskContext) {
    let (count, bytes) = spills(plan);
    if count > 0 {
        tc.metrics().add_spills(count as u64, bytes as u64);
    }
}

fn spills(plan: &Arc<dyn ExecutionPlan>) -> (usize, usize) {
    let own = plan.metrics().map_or((0, 0), |m| {
        (m.spill_count().unwrap_or(0), m.spilled_bytes().unwrap_or(0))
    });
    plan.children()
        .into_iter()
        .map(spills)
        .fold(own, |(c, b), (cc, cb)| (c + cc, b + cb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_join_build_sides_are_refused_past_the_pool_and_other_holders_never() {
        let pool: Arc<dyn MemoryPool> = Arc::new(EmberMemoryPool::of_size(1000, None));
        let build = |name: &str| MemoryConsumer::new(name).register(&pool);
        let (left, right) = (build("HashJoinInput[0]"), build("HashJoinInput[1]"));
        left.try_grow(600).unwrap();
        let err = right.try_grow(500).unwrap_err().to_string();
        assert!(err.contains(HASH_JOIN_OUTGREW_MEMORY), "{err}");
        assert!(err.contains(keys::EXECUTOR_MEMORY.key), "{err}");
        right.try_grow(400).unwrap();
        // What a build side gives back can be taken again.
        left.shrink(600);
        right.try_grow(600).unwrap();
        let heap = MemoryConsumer::new("TopK[0]").register(&pool);
        heap.try_grow(5000).unwrap();
        assert_eq!(pool.reserved(), 6000);
    }
}
