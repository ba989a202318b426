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
//! spill (writers, hash join build sides, top-k heaps; also the batches in flight between
//! partitions, see [`refusable`]) are counted beside the pool and never refused: refusing them would only fail a query that fits in the process's real memory. A join
//! larger than memory therefore needs `ember.sql.join.preferSortMergeJoin`, whose sorts spill.

use datafusion::common::Result as DfResult;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::physical_plan::ExecutionPlan;
use ember_core::storage::TaskMemory;
use ember_core::{Env, TaskContext};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// A fair spill pool of a fixed size for the operators that can spill, whose grants may also be
/// claimed from an executor's memory manager. The others (writers, the build sides of hash
/// joins, top-k heaps) are counted beside it and never refused: refusing them would fail a query
/// that fits in the process's real memory, and charging them to the spill pool or the claim could
/// leave a sort nothing to sort with.
#[derive(Debug)]
pub(crate) struct EmberMemoryPool {
    share: FairSpillPool,
    // What the operators that cannot spill hold.
    unspillable: AtomicUsize,
    // The task's claim on its executor's execution memory; none on the driver.
    claim: Option<Mutex<TaskMemory>>,
}

impl EmberMemoryPool {
    /// The pool of task `tc`: its share of the executor's execution memory, claimed as granted.
    pub(crate) fn for_task(tc: &TaskContext) -> Self {
        EmberMemoryPool {
            share: FairSpillPool::new(tc.env().memory_manager.task_share() as usize),
            unspillable: AtomicUsize::new(0),
            claim: Some(Mutex::new(TaskMemory::for_task(tc))),
        }
    }

    /// The pool of queries run whole on the driver's threads: the driver's execution memory.
    pub(crate) fn for_driver(env: &Env) -> Self {
        EmberMemoryPool {
            share: FairSpillPool::new(env.memory_manager.pool() as usize),
            unspillable: AtomicUsize::new(0),
            claim: None,
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
        if refusable(reservation.consumer()) {
            self.share.grow(reservation, additional);
        } else {
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
            self.unspillable.fetch_sub(shrink, Ordering::Relaxed);
        }
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        if !refusable(reservation.consumer()) {
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
             use (raise ember.executor.memory or ember.memory.fraction)",
            reservation.consumer().name()
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
