//! The direct stream (Spark's `DirectKafkaInputDStream`): no receiver; at each batch the
//! driver asks the brokers where every partition of the topics ends, and the batch is an RDD
//! of the offset ranges from where the last batch stopped to there, one partition per Kafka
//! partition, read by the executors.
//!
//! The ranges of each batch go into the streaming checkpoint, so a driver restarted with
//! `get_or_create` runs the batches it had made on the same ranges and goes on from where they
//! end: each record lands in exactly one batch, however often the driver dies. Offsets may
//! also be committed to Kafka for the application's consumer group
//! ([`DirectKafkaStream::commit_async`], Spark's `CanCommitOffsets`), for tools that watch the
//! group's lag; the stream itself never reads them back.

use crate::params::KafkaParams;
use crate::rdd::{topic_offsets, ConsumerRecord, KafkaUtils, OffsetRange};
use ember_core::{Context, Error, Rdd, Result};
use ember_streaming::{DStream, InputSource, StreamingContext, Time};
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a direct stream starts reading the partitions it finds at its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingOffsets {
    /// The oldest record each partition still holds.
    Earliest,
    /// What is written after the stream is created (Spark's default).
    Latest,
    /// These offsets, by topic and partition; partitions not named start at the earliest.
    Specific(BTreeMap<(String, i32), i64>),
}

/// A direct Kafka stream: its [`DStream`] of records, and the offset ranges each batch read.
/// Clones are handles of the same stream (for use in its own output functions).
#[derive(Clone)]
pub struct DirectKafkaStream {
    stream: DStream<ConsumerRecord>,
    source: Arc<DirectSource>,
}

/// How many batches' offset ranges a direct stream remembers (for
/// [`DirectKafkaStream::offset_ranges`] and the checkpoint).
const REMEMBERED: usize = 32;

impl KafkaUtils {
    /// A direct stream of the records of `topics` (Spark's `KafkaUtils.createDirectStream`
    /// with `Subscribe`): see the `direct` module. Each batch reads at most
    /// `ember.streaming.kafka.maxRatePerPartition` records a second of batch interval from
    /// each partition.
    ///
    /// # Errors
    /// No `bootstrap.servers`, brokers that cannot be reached, a topic that does not exist, or
    /// a bad setting.
    pub fn create_direct_stream(
        ssc: &StreamingContext,
        topics: &[&str],
        params: &BTreeMap<String, String>,
        starting: StartingOffsets,
    ) -> Result<DirectKafkaStream> {
        let ctx = ssc.context();
        let kafka = KafkaParams::new(params)?;
        let rate = ctx.conf().require(&crate::conf::MAX_RATE_PER_PARTITION)?;
        let per_batch =
            (rate > 0).then(|| ((rate as f64 * ssc.batch_duration().as_secs_f64()) as i64).max(1));
        let client = kafka.metadata_client()?;
        let mut next = BTreeMap::new();
        for topic in topics {
            for (partition, (low, high)) in topic_offsets(&client, &kafka, topic)? {
                let key = (topic.to_string(), partition);
                let start = match &starting {
                    StartingOffsets::Earliest => low,
                    StartingOffsets::Latest => high,
                    StartingOffsets::Specific(offsets) => offsets.get(&key).copied().unwrap_or(low),
                };
                next.insert(key, start);
            }
        }
        let source = Arc::new(DirectSource {
            ctx: ctx.clone(),
            kafka,
            client,
            params: params.clone(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            per_batch,
            state: Mutex::new(DirectState {
                next,
                batches: BTreeMap::new(),
                to_commit: Vec::new(),
            }),
        });
        let name = format!("kafka_direct_stream {}", topics.join(","));
        let stream = ssc.input_stream(&name, Shared(source.clone()));
        Ok(DirectKafkaStream { stream, source })
    }
}

impl DirectKafkaStream {
    /// The stream of records.
    pub fn stream(&self) -> &DStream<ConsumerRecord> {
        &self.stream
    }

    /// The offset ranges batch `time` read, one per partition (Spark's `HasOffsetRanges`);
    /// empty for a batch not made, or older than the last 32.
    pub fn offset_ranges(&self, time: Time) -> Vec<OffsetRange> {
        let state = self.source.state.lock();
        state.batches.get(&time).cloned().unwrap_or_default()
    }

    /// Commits the ends of `ranges` to Kafka as the consumer group's offsets, at the next batch
    /// (Spark's `CanCommitOffsets.commitAsync`). Needs `group.id` in the parameters.
    ///
    /// # Errors
    /// The parameters have no `group.id`.
    pub fn commit_async(&self, ranges: &[OffsetRange]) -> Result<()> {
        if !self.source.params.contains_key("group.id") {
            return Err(Error::Input(
                "committing offsets to Kafka needs a consumer group: give group.id in the \
                 Kafka parameters"
                    .into(),
            ));
        }
        self.source.state.lock().to_commit.extend_from_slice(ranges);
        Ok(())
    }
}

struct DirectSource {
    ctx: Context,
    kafka: KafkaParams,
    /// Asks the brokers where partitions end at every batch, and commits offsets: one client
    /// for the stream's life, not one a batch.
    client: BaseConsumer,
    params: BTreeMap<String, String>,
    topics: Vec<String>,
    /// The most offsets a batch reads from a partition, if limited.
    per_batch: Option<i64>,
    state: Mutex<DirectState>,
}

struct DirectState {
    /// Where each partition's next batch starts.
    next: BTreeMap<(String, i32), i64>,
    /// The ranges of the latest batches.
    batches: BTreeMap<Time, Vec<OffsetRange>>,
    /// Ranges whose ends are to be committed at the next batch.
    to_commit: Vec<OffsetRange>,
}

/// The source as the streaming context holds it, shared with the stream's handle.
struct Shared(Arc<DirectSource>);

impl InputSource<ConsumerRecord> for Shared {
    fn compute(&self, time: Time) -> Result<Option<Rdd<ConsumerRecord>>> {
        let source = &self.0;
        let ranges = source.next_ranges()?;
        let mut state = source.state.lock();
        for range in &ranges {
            state
                .next
                .insert((range.topic.clone(), range.partition), range.until_offset);
        }
        state.batches.insert(time, ranges.clone());
        while state.batches.len() > REMEMBERED {
            state.batches.pop_first();
        }
        source.commit(&mut state);
        drop(state);
        KafkaUtils::create_rdd(&source.ctx, &source.params, ranges).map(Some)
    }

    fn checkpoint_state(&self) -> serde_json::Value {
        let state = self.0.state.lock();
        let batches: BTreeMap<i64, &Vec<OffsetRange>> =
            state.batches.iter().map(|(t, r)| (t.millis(), r)).collect();
        serde_json::to_value(batches).unwrap_or_default()
    }

    fn restore(
        &self,
        ctx: &Context,
        saved: &serde_json::Value,
    ) -> Result<Vec<(Time, Rdd<ConsumerRecord>)>> {
        let batches: BTreeMap<i64, Vec<OffsetRange>> = serde_json::from_value(saved.clone())
            .map_err(|e| Error::Input(format!("a Kafka stream's checkpoint is unreadable: {e}")))?;
        let source = &self.0;
        let mut state = source.state.lock();
        let mut restored = Vec::new();
        for (time, ranges) in batches {
            let time = Time::from_millis(time);
            for range in &ranges {
                state
                    .next
                    .insert((range.topic.clone(), range.partition), range.until_offset);
            }
            restored.push((
                time,
                KafkaUtils::create_rdd(ctx, &source.params, ranges.clone())?,
            ));
            state.batches.insert(time, ranges);
        }
        Ok(restored)
    }
}

impl DirectSource {
    /// Every partition's range for the next batch: from where the last stopped to where the
    /// partition ends now, at most `per_batch` long. Partitions that appeared since start at
    /// their earliest offset.
    fn next_ranges(&self) -> Result<Vec<OffsetRange>> {
        let next = self.state.lock().next.clone();
        let mut ranges = Vec::new();
        for topic in &self.topics {
            for (partition, (low, high)) in topic_offsets(&self.client, &self.kafka, topic)? {
                let from = next
                    .get(&(topic.clone(), partition))
                    .copied()
                    .unwrap_or(low);
                let until = match self.per_batch {
                    Some(most) => high.min(from + most),
                    None => high,
                }
                .max(from);
                ranges.push(OffsetRange::new(topic, partition, from, until));
            }
        }
        Ok(ranges)
    }

    /// Commits the ranges waiting to be, asynchronously; a failure is logged, as Spark's
    /// commit callback would report it.
    fn commit(&self, state: &mut DirectState) {
        if state.to_commit.is_empty() {
            return;
        }
        let mut offsets = TopicPartitionList::new();
        for range in std::mem::take(&mut state.to_commit) {
            let end = Offset::Offset(range.until_offset);
            if let Err(e) = offsets.add_partition_offset(&range.topic, range.partition, end) {
                tracing::warn!(
                    "offsets of {}-{} not committed: {e}",
                    range.topic,
                    range.partition
                );
            }
        }
        if let Err(e) = self.client.commit(&offsets, CommitMode::Async) {
            tracing::warn!("Kafka offsets not committed: {e}");
        }
    }
}
