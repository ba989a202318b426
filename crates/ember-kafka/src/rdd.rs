//! RDDs of Kafka offset ranges (Spark's `KafkaRDD` and `KafkaUtils.createRDD`): one partition
//! per range, read by a consumer the task assigns to exactly that range.

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
    /// poll timeout setting does not parse.
    pub fn create_rdd(
        ctx: &Context,
        params: &BTreeMap<String, String>,
        ranges: Vec<OffsetRange>,
    ) -> Result<Rdd<ConsumerRecord>> {
        let params = KafkaParams::new(params)?;
        if let Some(bad) = ranges.iter().find(|r| r.until_offset < r.from_offset) {
            return Err(Error::Input(format!(
                "offset range {}-{} ends ({}) before it starts ({}): give from_offset <= \
                 until_offset",
                bad.topic, bad.partition, bad.until_offset, bad.from_offset
            )));
        }
        let poll_timeout = ctx.conf().require(&crate::conf::POLL_TIMEOUT)?;
        let rdd = KafkaRdd {
            core: ctx.new_rdd_core("kafka"),
            params,
            ranges,
            poll_timeout,
        };
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

#[derive(Serialize, Deserialize)]
struct KafkaRdd {
    core: RddCore,
    params: KafkaParams,
    ranges: Vec<OffsetRange>,
    poll_timeout: Duration,
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
        let range = self.ranges[partition].clone();
        if range.count() == 0 {
            return Ok(Box::new(std::iter::empty()));
        }
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
            .map_err(|e| Error::Input(format!("cannot read {}: {e}", describe(&range))))?;
        Ok(Box::new(RangeReader {
            consumer,
            next: range.from_offset,
            range,
            poll_timeout: self.poll_timeout,
        }))
    }
}

/// A consumer assigned to one range, giving its records in order; a failure to read fails
/// the task with why.
struct RangeReader {
    consumer: BaseConsumer,
    range: OffsetRange,
    /// The next offset to give.
    next: i64,
    poll_timeout: Duration,
}

impl Iterator for RangeReader {
    type Item = ConsumerRecord;

    fn next(&mut self) -> Option<ConsumerRecord> {
        self.read()
            .unwrap_or_else(|e| ember_core::task_context::abort(e))
    }
}

impl RangeReader {
    fn read(&mut self) -> Result<Option<ConsumerRecord>> {
        let until = self.range.until_offset;
        let deadline = Instant::now() + self.poll_timeout;
        while self.next < until {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) if message.offset() < self.next => {}
                Some(Ok(message)) if message.offset() >= until => self.next = until,
                Some(Ok(message)) => {
                    self.next = message.offset() + 1;
                    return Ok(Some(record_of(&message)));
                }
                Some(Err(e)) => {
                    return Err(Error::Input(format!(
                        "reading {}: {e}",
                        describe(&self.range)
                    )))
                }
                // Transaction markers and aborted records take offsets no message carries:
                // the consumer's position says how far it got.
                None if self.consumer_position()? >= until => self.next = until,
                None if Instant::now() >= deadline => {
                    return Err(Error::Input(format!(
                    "no record of {} came within {} ms (ember.streaming.kafka.consumer.poll.ms), \
                         waiting for offset {}: the brokers are slow or down, or retention \
                         removed the offsets",
                    describe(&self.range),
                    self.poll_timeout.as_millis(),
                    self.next
                )))
                }
                None => {}
            }
        }
        Ok(None)
    }

    /// The offset the consumer reads next in its partition.
    fn consumer_position(&self) -> Result<i64> {
        let positions = self
            .consumer
            .position()
            .map_err(|e| Error::Input(format!("reading {}: {e}", describe(&self.range))))?;
        let element = positions.find_partition(&self.range.topic, self.range.partition);
        Ok(match element.map(|e| e.offset()) {
            Some(Offset::Offset(n)) => n,
            _ => self.next,
        })
    }
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
