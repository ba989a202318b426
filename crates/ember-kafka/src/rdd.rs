//! RDDs of Kafka offset ranges (Spark's `KafkaRDD` and `KafkaUtils.createRDD`): one partition
//! per range, read by a consumer the task assigns to exactly that range.

use crate::cache::{self, AssignedConsumer, ConsumerKey};
use crate::fetched::{Batch, RecordQueue};
use crate::params::KafkaParams;
use ember_core::rdd::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use ember_core::{Context, Error, Rdd, Result, TaskContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Offsets `from_offset..until_offset` of one Kafka partition (Spark's `OffsetRange`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic read.
    pub topic: String,
    /// The partition of the topic read.
    pub partition: i32,
    /// The first offset read.
    pub from_offset: i64,
    /// One past the last offset read.
    pub until_offset: i64,
}

impl OffsetRange {
    /// Offsets `from_offset..until_offset` of partition `partition` of `topic`.
    pub fn new(topic: &str, partition: i32, from_offset: i64, until_offset: i64) -> Self {
        OffsetRange {
            topic: topic.to_string(),
            partition,
            from_offset,
            until_offset,
        }
    }

    /// How many offsets it spans (records, unless transactions left markers among them).
    pub fn count(&self) -> u64 {
        (self.until_offset - self.from_offset).max(0) as u64
    }
}

/// A record read from Kafka (Spark's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConsumerRecord {
    /// The topic it was read from.
    pub topic: String,
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Milliseconds since the epoch; -1 when the record has none.
    pub timestamp: i64,
    /// `CreateTime`, `LogAppendTime` or `NoTimestampType`, as Kafka names them.
    pub timestamp_type: String,
    /// Its key's bytes, if it has one.
    pub key: Option<Vec<u8>>,
    /// Its value's bytes; `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Its headers, in order: each a key and perhaps a value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reading Kafka into RDDs (Spark's `KafkaUtils`).
pub struct KafkaUtils;

impl KafkaUtils {
    /// The records of `ranges`, a partition per range in the order given (Spark's
    /// `KafkaUtils.createRDD`). Nothing is read until a job runs; each task then reads its
    /// range whole, waiting up to `ember.streaming.kafka.consumer.poll.ms` for each poll.
    ///
    /// # Errors
    /// The parameters have no `bootstrap.servers`, a range ends before it starts, or the
    /// poll timeout or consumer cache settings do not parse.
    pub fn create_rdd(
        ctx: &Context,
        params: &BTreeMap<String, String>,
        ranges: Vec<OffsetRange>,
    ) -> Result<Rdd<ConsumerRecord>> {
        let rdd = KafkaRdd::new(ctx, KafkaParams::new(params)?, ranges)?;
        Ok(Rdd::from_compute(ctx, rdd))
    }
}

/// The earliest and latest offsets of each partition of `topic` (low and high watermarks),
/// by partition, asked of the brokers.
///
/// # Errors
/// The brokers cannot be reached, or the topic does not exist.
pub fn latest_offsets(
    params: &BTreeMap<String, String>,
    topic: &str,
) -> Result<BTreeMap<i32, (i64, i64)>> {
    let params = KafkaParams::new(params)?;
    topic_offsets(&params.metadata_client()?, &params, topic)
}

/// [`latest_offsets`] through `consumer`, a client of `params` kept for many questions.
pub(crate) fn topic_offsets(
    consumer: &BaseConsumer,
    params: &KafkaParams,
    topic: &str,
) -> Result<BTreeMap<i32, (i64, i64)>> {
    let timeout = Duration::from_secs(30);
    let unreachable = |e: rdkafka::error::KafkaError| {
        Error::Input(format!(
            "cannot reach the Kafka brokers at {} ({e}): are they running, and is \
             bootstrap.servers right?",
            params.bootstrap_servers()
        ))
    };
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(unreachable)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(Error::Input(format!(
            "Kafka topic {topic} does not exist on the brokers at {}: create it, or check \
             its name",
            params.bootstrap_servers()
        )));
    }
    let mut offsets = BTreeMap::new();
    for partition in partitions {
        let watermarks = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(unreachable)?;
        offsets.insert(partition, watermarks);
    }
    Ok(offsets)
}

/// An RDD of Kafka offset ranges, a partition per range; its records are read as
/// [`ConsumerRecord`]s here and as Arrow batches by the `kafka` format.
#[derive(Serialize, Deserialize)]
pub(crate) struct KafkaRdd {
    core: RddCore,
    params: KafkaParams,
    ranges: Vec<OffsetRange>,
    poll_timeout: Duration,
    /// How many consumers an executor keeps between tasks; 0 when it keeps none.
    kept_consumers: usize,
}

impl KafkaRdd {
    /// The RDD reading `ranges` with `params`, its settings from `ctx`'s configuration.
    ///
    /// # Errors
    /// A range ends before it starts, or a setting does not parse.
    pub(crate) fn new(
        ctx: &Context,
        params: KafkaParams,
        ranges: Vec<OffsetRange>,
    ) -> Result<KafkaRdd> {
        if let Some(bad) = ranges.iter().find(|r| r.until_offset < r.from_offset) {
            return Err(Error::Input(format!(
                "offset range {}-{} ends ({}) before it starts ({}): give from_offset <= \
                 until_offset",
                bad.topic, bad.partition, bad.until_offset, bad.from_offset
            )));
        }
        let conf = ctx.conf();
        let kept_consumers = match conf.require(&crate::conf::CONSUMER_CACHE_ENABLED)? {
            true => conf.require(&crate::conf::CONSUMER_CACHE_CAPACITY)?,
            false => 0,
        };
        Ok(KafkaRdd {
            core: ctx.new_rdd_core("kafka"),
            params,
            ranges,
            poll_timeout: conf.require(&crate::conf::POLL_TIMEOUT)?,
            kept_consumers,
        })
    }

    /// A reader of partition `partition`'s range; `None` when the range is empty.
    ///
    /// # Errors
    /// No consumer could be made or assigned to the range.
    pub(crate) fn reader(&self, partition: usize) -> Result<Option<RangeReader>> {
        let range = self.ranges[partition].clone();
        if range.count() == 0 {
            return Ok(None);
        }
        let key = ConsumerKey {
            params: self.params.clone(),
            topic: range.topic.clone(),
            partition: range.partition,
        };
        // A kept consumer that stands elsewhere is closed rather than moved: one made anew
        // cannot give records it fetched for its old position.
        let assigned = match cache::take(&key) {
            Some(kept) if kept.next == range.from_offset => kept,
            _ => self.assign(&range)?,
        };
        Ok(Some(RangeReader {
            key,
            assigned: Some(assigned),
            range,
            poll_timeout: self.poll_timeout,
            kept_consumers: self.kept_consumers,
        }))
    }

    /// A new consumer assigned to `range`'s partition from its first offset.
    fn assign(&self, range: &OffsetRange) -> Result<AssignedConsumer> {
        let consumer: BaseConsumer = self
            .params
            .executor_consumer()
            .create()
            .map_err(|e| Error::Input(format!("cannot make a Kafka consumer: {e}")))?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(
                &range.topic,
                range.partition,
                Offset::Offset(range.from_offset),
            )
            .and_then(|()| consumer.assign(&assignment))
            .map_err(|e| Error::Input(format!("cannot read {}: {e}", describe(range))))?;
        let queue = RecordQueue::of(&consumer).ok_or_else(|| {
            Error::Input(format!(
                "cannot read {}: the Kafka consumer has no queue",
                describe(range)
            ))
        })?;
        Ok(AssignedConsumer {
            batch: Batch::with_capacity(BATCH_CAPACITY),
            queue,
            consumer,
            next: range.from_offset,
        })
    }
}

impl RddBase for KafkaRdd {
    fn core(&self) -> &RddCore {
        &self.core
    }

    fn num_partitions(&self) -> usize {
        self.ranges.len()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddCompute<ConsumerRecord> for KafkaRdd {
    fn compute(&self, partition: usize, _tc: &Arc<TaskContext>) -> Result<BoxIter<ConsumerRecord>> {
        let Some(mut reader) = self.reader(partition)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        Ok(Box::new(std::iter::from_fn(move || {
            let mut record = NextRecord(None);
            match reader.read_into(&mut record) {
                Ok(_) => record.0,
                Err(e) => ember_core::task_context::abort(e),
            }
        })))
    }
}

/// Records taken from a consumer's queue at a time: the most a task's Arrow batch holds.
const BATCH_CAPACITY: usize = 8192;

/// Takes the records a [`RangeReader`] reads.
pub(crate) trait MessageSink {
    /// Takes one record.
    fn take<M: Message>(&mut self, message: &M);
}

/// The record read last, as a [`ConsumerRecord`].
struct NextRecord(Option<ConsumerRecord>);

impl MessageSink for NextRecord {
    fn take<M: Message>(&mut self, message: &M) {
        self.0 = Some(record_of(message));
    }
}

/// A consumer assigned to one range, giving its records in order; a failure to read fails
/// the task with why. Dropped after its range (or part of it) was read, it leaves its
/// consumer for the next task of the partition (see `cache`).
pub(crate) struct RangeReader {
    key: ConsumerKey,
    /// `None` once a read failed: where the consumer stands is then unknown.
    assigned: Option<AssignedConsumer>,
    range: OffsetRange,
    poll_timeout: Duration,
    kept_consumers: usize,
}

impl Drop for RangeReader {
    fn drop(&mut self) {
        if let Some(assigned) = self.assigned.take() {
            if self.kept_consumers > 0 {
                cache::leave(self.key.clone(), assigned, self.kept_consumers);
            }
        }
    }
}

impl RangeReader {
    /// Gives the range's next record to `sink`; `false` when the range has no more.
    ///
    /// # Errors
    /// The brokers failed the read, or no record came within the poll timeout.
    pub(crate) fn read_into(&mut self, sink: &mut impl MessageSink) -> Result<bool> {
        let read = self.read(sink);
        if read.is_err() {
            self.assigned = None;
        }
        read
    }

    fn read(&mut self, sink: &mut impl MessageSink) -> Result<bool> {
        let until = self.range.until_offset;
        // Since when the queue has come back empty (not read per record: clocks cost).
        let mut waiting: Option<Instant> = None;
        let AssignedConsumer {
            batch,
            queue,
            consumer,
            next,
        } = self
            .assigned
            .as_mut()
            .expect("a reader whose read failed is not read again");
        loop {
            if let Some(record) = batch.peek() {
                if let Some(e) = record.error() {
                    return Err(Error::Input(format!(
                        "reading {}: {e}",
                        describe(&self.range)
                    )));
                }
                let offset = record.offset();
                // Past the range (its last offsets were transaction markers): the next range
                // that reads on gives it.
                if offset >= until {
                    *next = until;
                    return Ok(false);
                }
                if offset >= *next {
                    *next = offset + 1;
                    sink.take(&record);
                    batch.advance();
                    return Ok(true);
                }
                batch.advance();
                continue;
            }
            if *next >= until {
                return Ok(false);
            }
            let wanted = usize::try_from(until - *next).unwrap_or(usize::MAX);
            queue.refill(batch, wanted, Duration::from_millis(100));
            if batch.peek().is_some() {
                continue;
            }
            // Transaction markers and aborted records take offsets no message carries: the
            // consumer's position says how far it got.
            if position(consumer, &self.range, *next)? >= until {
                *next = until;
            } else if waiting.get_or_insert_with(Instant::now).elapsed() >= self.poll_timeout {
                return Err(Error::Input(format!(
                    "no record of {} came within {} ms (ember.streaming.kafka.consumer.poll.ms), \
                     waiting for offset {}: the brokers are slow or down, or retention removed \
                     the offsets",
                    describe(&self.range),
                    self.poll_timeout.as_millis(),
                    next
                )));
            }
        }
    }
}

/// The offset `consumer` reads next in `range`'s partition; `next` if it does not say.
fn position(consumer: &BaseConsumer, range: &OffsetRange, next: i64) -> Result<i64> {
    let positions = consumer
        .position()
        .map_err(|e| Error::Input(format!("reading {}: {e}", describe(range))))?;
    let element = positions.find_partition(&range.topic, range.partition);
    Ok(match element.map(|e| e.offset()) {
        Some(Offset::Offset(n)) => n,
        _ => next,
    })
}

fn record_of<M: Message>(message: &M) -> ConsumerRecord {
    let (timestamp, timestamp_type) = match message.timestamp() {
        Timestamp::CreateTime(t) => (t, "CreateTime"),
        Timestamp::LogAppendTime(t) => (t, "LogAppendTime"),
        Timestamp::NotAvailable => (-1, "NoTimestampType"),
    };
    ConsumerRecord {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp,
        timestamp_type: timestamp_type.to_string(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers: message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn describe(range: &OffsetRange) -> String {
    format!(
        "offsets {}..{} of Kafka partition {}-{}",
        range.from_offset, range.until_offset, range.topic, range.partition
    )
}
