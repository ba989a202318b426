//! Consumers kept between the tasks of one process (Spark's cached `KafkaDataConsumer`).
//!
//! A streaming query reads each Kafka partition range after range, batch after batch. Making
//! a consumer for every range costs a connection, a metadata request and a first fetch, which
//! for ranges of a few tens of thousands of records is most of the task's time. So a task
//! that ends its range cleanly leaves its consumer here, with the offset it stopped at; the
//! next task of the same parameters and partition takes it back. When that task's range
//! starts where the last one ended (the streaming case) it reads on from what librdkafka
//! already fetched in the background; otherwise it seeks.
//!
//! At most `ember.streaming.kafka.consumer.cache.maxCapacity` consumers are kept, the least
//! recently used closed first; `ember.streaming.kafka.consumer.cache.enabled=false` keeps
//! none. A task that failed does not leave its consumer: where it stood is unknown.

use crate::fetched::{Batch, RecordQueue};
use crate::params::KafkaParams;
use parking_lot::Mutex;
use rdkafka::consumer::BaseConsumer;
use std::sync::LazyLock;

/// Which consumers may serve a range: the same parameters, topic and partition.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ConsumerKey {
    pub params: KafkaParams,
    pub topic: String,
    pub partition: i32,
}

/// A consumer assigned to one partition, and where it stands in it. Its fields are dropped
/// in order: records before the queue they came from, the queue before its consumer.
pub(crate) struct AssignedConsumer {
    /// Records taken from the queue and not yet given: after the last range's end when
    /// transaction markers took its last offsets, given first by the next range that reads on.
    pub batch: Batch,
    pub queue: RecordQueue,
    pub consumer: BaseConsumer,
    /// The next offset a record may be given from.
    pub next: i64,
}

/// The consumers no task is using, the most recently left last.
static IDLE: LazyLock<Mutex<Vec<(ConsumerKey, AssignedConsumer)>>> =
    LazyLock::new(|| Mutex::new(Vec::new()));

/// The most recently left consumer of `key`, if one is kept.
pub(crate) fn take(key: &ConsumerKey) -> Option<AssignedConsumer> {
    let mut idle = IDLE.lock();
    let at = idle.iter().rposition(|(k, _)| k == key)?;
    Some(idle.remove(at).1)
}

/// Keeps `consumer` for the next task of `key`, closing the least recently used beyond
/// `capacity` (none are kept when it is 0).
pub(crate) fn leave(key: ConsumerKey, consumer: AssignedConsumer, capacity: usize) {
    let closed: Vec<_> = {
        let mut idle = IDLE.lock();
        idle.push((key, consumer));
        let excess = idle.len().saturating_sub(capacity);
        idle.drain(..excess).collect()
    };
    // Closing a consumer waits for its threads: outside the lock.
    drop(closed);
}
