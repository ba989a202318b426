//! Kafka for DataFrames (Spark's `spark-sql-kafka-0-10`): format `kafka` as a Structured
//! Streaming source and sink, and as a batch table (`ctx.read().load("kafka")`, SQL's
//! `CREATE TEMPORARY VIEW ... USING kafka OPTIONS (...)`).
//!
//! Rows read have Spark's columns: `key` and `value` (binary), `topic`, `partition`, `offset`,
//! `timestamp` and `timestampType`, and `headers` with option `includeHeaders`; `CAST(value AS
//! STRING)` gives the text. Options are Spark's:
//! `kafka.<name>` passes `<name>` to the client (`kafka.bootstrap.servers` is required),
//! `subscribe` names the topics, `startingOffsets` (`earliest`, `latest`, or JSON such as
//! `{"events":{"0":42,"1":-2}}`, -2 for earliest and -1 for latest), `endingOffsets` for
//! batch reads, and `maxOffsetsPerTrigger` caps a batch, spread over the partitions by their
//! lag. A source's offsets are Spark's JSON, `{"topic":{"partition":offset}}`.
//!
//! The sink writes each batch in one Kafka transaction, and in the same transaction commits the
//! batch's number as an offset of the consumer group `ember-sink-<query id>`; a batch redone
//! after a failure finds its number there and is skipped, so a consumer that reads
//! `read_committed` sees every row once. Rows need a `value` column (binary or string) and may
//! have `key`, `topic` and `headers`; option `topic` names the topic for all of them.

use crate::params::KafkaParams;
use crate::produced::{self, OutRecord, TopicHandle};
use crate::rdd::{topic_offsets, KafkaRdd, MessageSink, OffsetRange};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, Int32Array, Int64Array, ListArray,
    ListBuilder, StringArray, StringBuilder, StructBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Fields, SchemaRef, TimeUnit};
use ember_core::accumulator::{Accumulator, LongSum};
use ember_core::rdd::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use ember_core::task_context::abort;
use ember_core::{Context, Rdd, TaskContext};
use ember_sql::streaming::{
    number_option, Offset, Options, PlannedBatch, ReadLimit, Sink, SinkContext, Source,
    StreamFormat,
};
use ember_sql::{
    ArrowBatch, ArrowRddExt, DataFrame, DataType, Error, Field, RecordBatch, Result, Schema,
};
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, Timestamp};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::TopicPartitionList;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long the sink waits for the brokers in a transaction's steps.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// A source's offsets: for each topic, each partition's next offset.
type PartitionOffsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// For each topic, each partition's earliest and latest offsets.
type TopicWatermarks = BTreeMap<String, BTreeMap<i32, (i64, i64)>>;

/// The `kafka` format.
struct KafkaFormat;

ember_sql::register_stream_format!(KafkaFormat);

/// Spark's columns of a Kafka row; `headers` with option `includeHeaders`.
fn kafka_schema(headers: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("key", DataType::Binary, true),
        Field::new("value", DataType::Binary, true),
        Field::new("topic", DataType::Utf8, false),
        Field::new("partition", DataType::Int32, false),
        Field::new("offset", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("timestampType", DataType::Int32, false),
    ];
    if headers {
        fields.push(Field::new("headers", headers_type(), true));
    }
    Arc::new(Schema::new(fields))
}

/// The fields of a header in Spark's `headers` column.
fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

/// Spark's type of `headers`: an array of structs of `key` and `value`.
fn headers_type() -> DataType {
    DataType::new_list(DataType::Struct(header_fields()), true)
}

/// Whether the rows read have `headers` (option `includeHeaders`).
fn includes_headers(options: &Options) -> Result<bool> {
    match options.get("includeheaders").map(|v| v.trim()) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(Error::Input(format!(
            "option includeHeaders is {v:?}; it takes true or false"
        ))),
    }
}

/// The client's parameters: every `kafka.<name>` option as `<name>`.
fn client_params(options: &Options) -> Result<KafkaParams> {
    let settings: BTreeMap<String, String> = options
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("kafka.").map(|k| (k.to_string(), v.clone())))
        .collect();
    if !settings.contains_key("bootstrap.servers") {
        return Err(Error::Input(
            "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer"
                .into(),
        ));
    }
    Ok(KafkaParams::new(&settings)?)
}

/// The topics of option `subscribe`.
fn subscribed(options: &Options) -> Result<Vec<String>> {
    if options.contains_key("assign") || options.contains_key("subscribepattern") {
        return Err(Error::Input(
            "ember's Kafka source takes option subscribe (topics separated by commas); \
             assign and subscribePattern are not supported yet"
                .into(),
        ));
    }
    let topics: Vec<String> = options
        .get("subscribe")
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if topics.is_empty() {
        return Err(Error::Input(
            "One of the following options must be specified for Kafka source: subscribe, \
             subscribePattern, assign"
                .into(),
        ));
    }
    Ok(topics)
}

/// A position option: `earliest`, `latest`, or Spark's JSON of offsets per partition.
#[derive(Debug, Clone)]
enum Position {
    Earliest,
    Latest,
    Specific(PartitionOffsets),
}

fn position(options: &Options, name: &str, default: Position) -> Result<Position> {
    match options.get(&name.to_ascii_lowercase()).map(|v| v.trim()) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("earliest") => Ok(Position::Earliest),
        Some(v) if v.eq_ignore_ascii_case("latest") => Ok(Position::Latest),
        Some(json) => serde_json::from_str(json)
            .map(Position::Specific)
            .map_err(|e| {
                Error::Input(format!(
                    "option {name} is {json:?}: give earliest, latest or JSON such as \
                 {{\"topic\":{{\"0\":42}}}} ({e})"
                ))
            }),
    }
}

/// The Kafka side of a source or batch read: the client and the topics.
struct Reader {
    params: KafkaParams,
    topics: Vec<String>,
    headers: bool,
    client: Mutex<Option<BaseConsumer>>,
}

impl Reader {
    fn new(options: &Options) -> Result<Reader> {
        Ok(Reader {
            params: client_params(options)?,
            topics: subscribed(options)?,
            headers: includes_headers(options)?,
            client: Mutex::new(None),
        })
    }

    /// Each partition's earliest and latest offsets, asked of the brokers.
    fn watermarks(&self) -> Result<TopicWatermarks> {
        let mut client = self.client.lock();
        if client.is_none() {
            *client = Some(self.params.metadata_client()?);
        }
        let consumer = client.as_ref().expect("made above");
        let mut all = BTreeMap::new();
        for topic in &self.topics {
            all.insert(topic.clone(), topic_offsets(consumer, &self.params, topic)?);
        }
        Ok(all)
    }

    /// The offsets `position` means now.
    fn resolve(&self, position: &Position) -> Result<PartitionOffsets> {
        let watermarks = self.watermarks()?;
        let pick = |earliest: bool| -> PartitionOffsets {
            watermarks
                .iter()
                .map(|(t, ps)| {
                    let offsets = ps
                        .iter()
                        .map(|(p, (low, high))| (*p, if earliest { *low } else { *high }));
                    (t.clone(), offsets.collect())
                })
                .collect()
        };
        Ok(match position {
            Position::Earliest => pick(true),
            Position::Latest => pick(false),
            Position::Specific(given) => {
                let mut offsets = pick(true);
                for (topic, partitions) in given {
                    let known = offsets.get_mut(topic).ok_or_else(|| {
                        Error::Input(format!("startingOffsets names topic {topic}, which the query does not subscribe to"))
                    })?;
                    for (partition, offset) in partitions {
                        let (low, high) = watermarks[topic].get(partition).copied().ok_or_else(|| {
                            Error::Input(format!("startingOffsets names partition {partition} of {topic}, which does not exist"))
                        })?;
                        let offset = match offset {
                            -2 => low,
                            -1 => high,
                            n => *n,
                        };
                        known.insert(*partition, offset);
                    }
                }
                offsets
            }
        })
    }

    /// The rows between `start` and `end` (a partition not in `start` from its beginning);
    /// the tasks that read them add how many to `counter`, if given.
    fn rows(
        &self,
        ctx: &Context,
        start: &PartitionOffsets,
        end: &PartitionOffsets,
        counter: Option<Accumulator<LongSum>>,
    ) -> Result<DataFrame> {
        let mut ranges = Vec::new();
        for (topic, partitions) in end {
            for (partition, until) in partitions {
                let from = start
                    .get(topic)
                    .and_then(|p| p.get(partition))
                    .copied()
                    .unwrap_or(0);
                if *until > from {
                    ranges.push(OffsetRange::new(topic, *partition, from, *until));
                }
            }
        }
        let rows = KafkaRowsRdd {
            kafka: KafkaRdd::new(ctx, self.params.clone(), ranges)?,
            headers: self.headers,
            counter,
        };
        Rdd::from_compute(ctx, rows).batches_to_data_frame(kafka_schema(self.headers))
    }
}

/// Kafka's records as Arrow batches of Spark's columns, built by the tasks that read them
/// straight from the client's messages.
#[derive(Serialize, Deserialize)]
struct KafkaRowsRdd {
    kafka: KafkaRdd,
    /// Whether the rows have `headers`.
    headers: bool,
    /// What the tasks add the records they read to.
    counter: Option<Accumulator<LongSum>>,
}

/// Records a batch holds.
const BATCH_RECORDS: usize = 8192;

impl RddBase for KafkaRowsRdd {
    fn core(&self) -> &RddCore {
        self.kafka.core()
    }

    fn num_partitions(&self) -> usize {
        self.kafka.num_partitions()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        self.kafka.dependencies()
    }
}

impl RddCompute<ArrowBatch> for KafkaRowsRdd {
    fn compute(
        &self,
        partition: usize,
        _: &Arc<TaskContext>,
    ) -> ember_core::Result<BoxIter<ArrowBatch>> {
        let Some(mut reader) = self.kafka.reader(partition)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        let (headers, counter) = (self.headers, self.counter.clone());
        let mut ended = false;
        Ok(Box::new(std::iter::from_fn(move || {
            let mut columns = KafkaColumns::new(headers);
            while !ended && columns.rows < BATCH_RECORDS {
                ended = !reader.read_into(&mut columns).unwrap_or_else(|e| abort(e));
            }
            if let Some(counter) = &counter {
                counter.add(columns.rows as i64);
            }
            (columns.rows > 0).then(|| {
                columns
                    .finish()
                    .map(ArrowBatch::new)
                    .unwrap_or_else(|e| abort(ember_core::Error::Serialization(e.to_string())))
            })
        })))
    }
}

/// The columns of [`kafka_schema`], filled one message at a time.
struct KafkaColumns {
    rows: usize,
    keys: BinaryBuilder,
    values: BinaryBuilder,
    topics: StringBuilder,
    partitions: Vec<i32>,
    offsets: Vec<i64>,
    timestamps: Vec<i64>,
    types: Vec<i32>,
    /// With option `includeHeaders`.
    headers: Option<ListBuilder<StructBuilder>>,
}

impl KafkaColumns {
    fn new(with_headers: bool) -> Self {
        let headers = with_headers.then(|| {
            ListBuilder::new(StructBuilder::from_fields(header_fields(), 0)).with_field(
                Field::new_list_field(DataType::Struct(header_fields()), true),
            )
        });
        KafkaColumns {
            rows: 0,
            keys: BinaryBuilder::new(),
            values: BinaryBuilder::new(),
            topics: StringBuilder::new(),
            partitions: Vec::new(),
            offsets: Vec::new(),
            timestamps: Vec::new(),
            types: Vec::new(),
            headers,
        }
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.keys.finish()),
            Arc::new(self.values.finish()),
            Arc::new(self.topics.finish()),
            Arc::new(Int32Array::from(self.partitions)),
            Arc::new(Int64Array::from(self.offsets)),
            Arc::new(TimestampMicrosecondArray::from(self.timestamps)),
            Arc::new(Int32Array::from(self.types)),
        ];
        if let Some(headers) = &mut self.headers {
            columns.push(Arc::new(headers.finish()));
        }
        Ok(RecordBatch::try_new(
            kafka_schema(self.headers.is_some()),
            columns,
        )?)
    }
}

impl MessageSink for KafkaColumns {
    fn take<M: Message>(&mut self, message: &M) {
        self.rows += 1;
        self.keys.append_option(message.key());
        self.values.append_option(message.payload());
        self.topics.append_value(message.topic());
        self.partitions.push(message.partition());
        self.offsets.push(message.offset());
        // Spark's timestampType: 0 for CreateTime, 1 for LogAppendTime.
        let (millis, kind) = match message.timestamp() {
            Timestamp::CreateTime(t) => (t, 0),
            Timestamp::LogAppendTime(t) => (t, 1),
            Timestamp::NotAvailable => (-1, -1),
        };
        self.timestamps.push(millis.max(0) * 1000);
        self.types.push(kind);
        if let Some(list) = &mut self.headers {
            append_headers(list, message.headers());
        }
    }
}

/// Appends one record's headers, as a list of (key, value) structs.
fn append_headers<H: Headers>(list: &mut ListBuilder<StructBuilder>, headers: Option<&H>) {
    let entries = list.values();
    for header in headers.into_iter().flat_map(|h| h.iter()) {
        entries
            .field_builder::<StringBuilder>(0)
            .expect("a header's key is a string")
            .append_value(header.key);
        entries
            .field_builder::<BinaryBuilder>(1)
            .expect("a header's value is binary")
            .append_option(header.value);
        entries.append(true);
    }
    list.append(true);
}

impl StreamFormat for KafkaFormat {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn source_schema(
        &self,
        _: &Context,
        options: &Options,
        schema: Option<SchemaRef>,
    ) -> Result<SchemaRef> {
        if schema.is_some() {
            return Err(Error::Input(
                "Kafka source has a fixed schema and cannot be set with a custom one".into(),
            ));
        }
        client_params(options)?;
        subscribed(options)?;
        Ok(kafka_schema(includes_headers(options)?))
    }

    fn create_source(
        &self,
        ctx: &Context,
        options: &Options,
        _schema: SchemaRef,
        metadata_path: &str,
    ) -> Result<Arc<dyn Source>> {
        let max_per_trigger = number_option(options, "maxOffsetsPerTrigger")?;
        Ok(Arc::new(KafkaSource {
            ctx: ctx.clone(),
            reader: Reader::new(options)?,
            read: ctx.long_accumulator(),
            starting: position(options, "startingOffsets", Position::Latest)?,
            max_per_trigger,
            initial_path: format!("{}/initial-offsets", metadata_path.trim_end_matches('/')),
            initial: Mutex::new(None),
        }))
    }

    fn create_sink(
        &self,
        _: &Context,
        options: &Options,
        query: &SinkContext,
    ) -> Result<Arc<dyn Sink>> {
        KafkaSink::create(options, query)
    }

    fn read_batch(&self, ctx: &Context, options: &Options) -> Result<DataFrame> {
        let reader = Reader::new(options)?;
        let start = reader.resolve(&position(options, "startingOffsets", Position::Earliest)?)?;
        let end = reader.resolve(&position(options, "endingOffsets", Position::Latest)?)?;
        reader.rows(ctx, &start, &end, None)
    }
}

/// Spark's `KafkaSource`: offsets per partition, the first ones fixed when the query first
/// starts (in `<checkpoint>/sources/<n>/initial-offsets`) so that a restart begins where the
/// first run did.
struct KafkaSource {
    ctx: Context,
    reader: Reader,
    /// The records the tasks of planned batches read.
    read: Accumulator<LongSum>,
    starting: Position,
    max_per_trigger: Option<u64>,
    initial_path: String,
    initial: Mutex<Option<PartitionOffsets>>,
}

fn parse_offsets(offset: &Offset) -> Result<PartitionOffsets> {
    serde_json::from_value(offset.0.clone()).map_err(|e| {
        Error::Input(format!(
            "offset {offset} is not Kafka's {{\"topic\":{{\"partition\":offset}}}} ({e}): the \
             checkpoint was written for another source"
        ))
    })
}

fn as_offset(offsets: &PartitionOffsets) -> Offset {
    Offset(serde_json::to_value(offsets).expect("offsets are JSON"))
}

impl KafkaSource {
    fn initial(&self) -> Result<PartitionOffsets> {
        let mut initial = self.initial.lock();
        if let Some(offsets) = initial.as_ref() {
            return Ok(offsets.clone());
        }
        let env = self.ctx.env();
        let offsets = match env.read_file(&self.initial_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Input(format!("{} is damaged: {e}", self.initial_path)))?,
            Err(_) => {
                let offsets = self.reader.resolve(&self.starting)?;
                env.write_file(
                    &self.initial_path,
                    serde_json::to_string(&offsets).expect("JSON").as_bytes(),
                )?;
                offsets
            }
        };
        *initial = Some(offsets.clone());
        Ok(offsets)
    }

    fn start_of(&self, start: Option<&Offset>) -> Result<PartitionOffsets> {
        match start {
            Some(start) => parse_offsets(start),
            None => self.initial(),
        }
    }
}

/// `latest` capped to `max` more records than `start` in all, each partition given a share of
/// the cap by its lag (Spark's `maxOffsetsPerTrigger`).
fn cap(start: &PartitionOffsets, latest: PartitionOffsets, max: u64) -> PartitionOffsets {
    let from = |t: &str, p: &i32| start.get(t).and_then(|ps| ps.get(p)).copied().unwrap_or(0);
    let lag: u64 = latest
        .iter()
        .flat_map(|(t, ps)| ps.iter().map(move |(p, o)| (o - from(t, p)).max(0) as u64))
        .sum();
    if lag <= max {
        return latest;
    }
    latest
        .iter()
        .map(|(t, ps)| {
            let capped = ps
                .iter()
                .map(|(p, o)| {
                    let begin = from(t, p);
                    let share =
                        ((o - begin).max(0) as f64 * max as f64 / lag as f64).floor() as i64;
                    (*p, begin + share)
                })
                .collect();
            (t.clone(), capped)
        })
        .collect()
}

impl Source for KafkaSource {
    fn schema(&self) -> SchemaRef {
        kafka_schema(self.reader.headers)
    }

    fn latest_offset(&self, start: Option<&Offset>, limit: ReadLimit) -> Result<Option<Offset>> {
        let start = self.start_of(start)?;
        let mut latest = self.reader.resolve(&Position::Latest)?;
        // A partition the start does not know (added since) is read from its beginning.
        for (topic, partitions) in &mut latest {
            for (partition, offset) in partitions.iter_mut() {
                let from = start
                    .get(topic)
                    .and_then(|p| p.get(partition))
                    .copied()
                    .unwrap_or(0);
                *offset = (*offset).max(from);
            }
        }
        let latest = match (limit, self.max_per_trigger) {
            (ReadLimit::Configured, Some(max)) => cap(&start, latest, max),
            _ => latest,
        };
        Ok(Some(as_offset(&latest)))
    }

    fn get_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<DataFrame> {
        let start = self.start_of(start)?;
        self.reader
            .rows(&self.ctx, &start, &parse_offsets(end)?, None)
    }

    fn plan_batch(&self, start: Option<&Offset>, end: &Offset) -> Result<Option<PlannedBatch>> {
        let start = self.start_of(start)?;
        // One counter for all batches (each would stay registered with the context): a
        // batch's count is how far it moved. Batches run one after another.
        let before = self.read.value();
        let rows = self.reader.rows(
            &self.ctx,
            &start,
            &parse_offsets(end)?,
            Some(self.read.clone()),
        )?;
        let read = self.read.clone();
        Ok(Some(PlannedBatch {
            rows,
            rows_read: Box::new(move || (read.value() - before).max(0) as u64),
        }))
    }

    fn description(&self) -> String {
        format!("KafkaV2[Subscribe[{}]]", self.reader.topics.join(","))
    }
}

/// Spark's Kafka sink, with transactions: see the module's documentation.
struct KafkaSink {
    producer: ThreadedProducer<DefaultProducerContext>,
    /// The client of the consumer group whose offset records the last batch committed.
    group: BaseConsumer,
    topic: Option<String>,
    servers: String,
}

impl KafkaSink {
    fn create(options: &Options, query: &SinkContext) -> Result<Arc<dyn Sink>> {
        let params = client_params(options)?;
        let servers = params.bootstrap_servers().to_string();
        let transactional_id = options
            .get("kafka.transactional.id")
            .cloned()
            .unwrap_or_else(|| format!("ember-{}", query.query_id));
        let producer: ThreadedProducer<DefaultProducerContext> = params
            .sink_producer(&transactional_id)
            .create()
            .map_err(|e| Error::Input(format!("cannot make a Kafka producer: {e}")))?;
        // Fences any producer an earlier run of this query left, and aborts its open
        // transaction.
        producer
            .init_transactions(TRANSACTION_TIMEOUT)
            .map_err(|e| unreachable_brokers(&servers, &e))?;
        let mut group = params.client();
        group
            .set("group.id", format!("ember-sink-{}", query.query_id))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed");
        let group: BaseConsumer = group
            .create()
            .map_err(|e| Error::Input(format!("cannot make a Kafka client: {e}")))?;
        Ok(Arc::new(KafkaSink {
            producer,
            group,
            topic: options.get("topic").cloned(),
            servers,
        }))
    }

    /// The next batch the group's offset says to write, on `marker`'s partition 0.
    fn next_batch(&self, marker: &str) -> Result<i64> {
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition(marker, 0);
        let committed = self
            .group
            .committed_offsets(partitions, TRANSACTION_TIMEOUT)
            .map_err(|e| unreachable_brokers(&self.servers, &e))?;
        Ok(
            match committed.find_partition(marker, 0).map(|p| p.offset()) {
                Some(rdkafka::Offset::Offset(n)) => n,
                _ => 0,
            },
        )
    }

    fn write(&self, batch_id: i64, marker: &str, rows: &[OutRows]) -> Result<()> {
        let fail = |e: KafkaError| unreachable_brokers(&self.servers, &e);
        self.producer.begin_transaction().map_err(fail)?;
        let sent = (|| -> Result<()> {
            for batch in rows {
                self.send_rows(batch)?;
            }
            let mut mark = TopicPartitionList::new();
            mark.add_partition_offset(marker, 0, rdkafka::Offset::Offset(batch_id + 1))
                .map_err(fail)?;
            self.await_delivery()?;
            let metadata = self.group.group_metadata().ok_or_else(|| {
                Error::Input("the sink's Kafka client has no consumer group".into())
            })?;
            self.producer
                .send_offsets_to_transaction(&mark, &metadata, TRANSACTION_TIMEOUT)
                .map_err(fail)?;
            self.producer
                .commit_transaction(TRANSACTION_TIMEOUT)
                .map_err(fail)
        })();
        if sent.is_err() {
            let _ = self.producer.abort_transaction(TRANSACTION_TIMEOUT);
        }
        sent
    }

    /// Waits until the broker has answered for every queued record. Committing flushes the
    /// queue too, but rdkafka's flush polls for the delivery reports that the producer's own
    /// polling thread takes first, and so sleeps out its 100 ms poll on every batch.
    fn await_delivery(&self) -> Result<()> {
        let began = std::time::Instant::now();
        while self.producer.in_flight_count() > 0 {
            if began.elapsed() > TRANSACTION_TIMEOUT {
                return Err(Error::Input(format!(
                    "Kafka at {}: records not delivered within {} s; are the brokers running?",
                    self.servers,
                    TRANSACTION_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// Queues `rows`' records: each run of rows bound for one topic in one call to
    /// librdkafka, or one at a time if they have headers (see [`crate::produced`]).
    fn send_rows(&self, rows: &OutRows) -> Result<()> {
        let fail = |e: KafkaError| unreachable_brokers(&self.servers, &e);
        let option = self.topic.as_deref();
        if rows.headers.is_some() {
            for i in 0..rows.rows {
                produced::send_one(&self.producer, rows.record(i, option)?).map_err(fail)?;
            }
            return Ok(());
        }
        let mut start = 0;
        while start < rows.rows {
            let topic = rows.topic(start, option)?;
            let mut end = start + 1;
            while end < rows.rows && rows.topic(end, option)? == topic {
                end += 1;
            }
            let handle = TopicHandle::new(&self.producer, topic).map_err(fail)?;
            let records: Vec<_> = (start..end).map(|i| rows.out_record(i)).collect();
            produced::send_all(&handle, &records).map_err(fail)?;
            start = end;
        }
        Ok(())
    }
}

fn unreachable_brokers(servers: &str, e: &KafkaError) -> Error {
    Error::Input(format!(
        "Kafka at {servers}: {e}; are the brokers running, and is kafka.bootstrap.servers right?"
    ))
}

/// One batch's rows as the sink sends them: `value`, and `key` and `topic` if present, cast
/// to what Kafka takes; `headers` if present.
struct OutRows {
    rows: usize,
    values: BinaryArray,
    keys: Option<BinaryArray>,
    topics: Option<StringArray>,
    headers: Option<ListArray>,
}

impl OutRows {
    fn of(batch: &RecordBatch) -> Result<OutRows> {
        let schema = batch.schema();
        let column = |name: &str, to: &DataType| -> Result<Option<ArrayRef>> {
            match schema.index_of(name) {
                Ok(i) => Ok(Some(cast(batch.column(i), to).map_err(|e| {
                    Error::Input(format!(
                        "{name} attribute type must be a string or binary: {e}"
                    ))
                })?)),
                Err(_) => Ok(None),
            }
        };
        let binary = |name: &str| -> Result<Option<BinaryArray>> {
            Ok(column(name, &DataType::Binary)?.map(|c| c.as_binary::<i32>().clone()))
        };
        let values = binary("value")?
            .ok_or_else(|| Error::Input("Required attribute 'value' not found".into()))?;
        let headers = match schema.index_of("headers") {
            Ok(i) => Some(
                batch
                    .column(i)
                    .as_list_opt::<i32>()
                    .cloned()
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "headers attribute type must be {}, not {}",
                            headers_type(),
                            batch.column(i).data_type()
                        ))
                    })?,
            ),
            Err(_) => None,
        };
        Ok(OutRows {
            rows: batch.num_rows(),
            values,
            keys: binary("key")?,
            topics: column("topic", &DataType::Utf8)?.map(|c| c.as_string::<i32>().clone()),
            headers,
        })
    }

    /// Row `i`'s topic: option `topic` if given, else its `topic` column.
    fn topic<'a>(&'a self, i: usize, option: Option<&'a str>) -> Result<&'a str> {
        match (&self.topics, option) {
            (_, Some(t)) => Ok(t),
            (Some(t), None) if !t.is_null(i) => Ok(t.value(i)),
            _ => Err(Error::Input(
                "topic option required when no 'topic' attribute is present".into(),
            )),
        }
    }

    /// Row `i`'s key and value, borrowed from the columns.
    fn out_record(&self, i: usize) -> OutRecord<'_> {
        OutRecord {
            key: self
                .keys
                .as_ref()
                .filter(|k| !k.is_null(i))
                .map(|k| k.value(i)),
            value: (!self.values.is_null(i)).then(|| self.values.value(i)),
        }
    }

    /// Row `i` as a record with its headers, its bytes borrowed from the columns.
    fn record<'a>(
        &'a self,
        i: usize,
        topic: Option<&'a str>,
    ) -> Result<BaseRecord<'a, [u8], [u8]>> {
        let mut record = BaseRecord::to(self.topic(i, topic)?);
        let OutRecord { key, value } = self.out_record(i);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        match &self.headers {
            Some(list) if !list.is_null(i) => {
                let headers = headers_of(&list.value(i))?;
                Ok(record.headers(
                    headers
                        .iter()
                        .fold(OwnedHeaders::new(), |all, (key, value)| {
                            all.insert(Header {
                                key,
                                value: value.as_deref(),
                            })
                        }),
                ))
            }
            _ => Ok(record),
        }
    }
}

/// One row's headers: a list's structs of `key` (string) and `value` (binary or string).
fn headers_of(entries: &ArrayRef) -> Result<Vec<(String, Option<Vec<u8>>)>> {
    let bad = || {
        Error::Input(format!(
            "headers attribute type must be {}, not a list of {}",
            headers_type(),
            entries.data_type()
        ))
    };
    let entries = entries.as_struct_opt().ok_or_else(bad)?;
    let field = |name: &str, to: &DataType| -> Result<ArrayRef> {
        let column = entries.column_by_name(name).ok_or_else(bad)?;
        cast(column, to).map_err(|_| bad())
    };
    let (keys, values) = (
        field("key", &DataType::Utf8)?,
        field("value", &DataType::Binary)?,
    );
    let (keys, values) = (keys.as_string::<i32>(), values.as_binary::<i32>());
    Ok((0..entries.len())
        .map(|i| {
            let value = (!values.is_null(i)).then(|| values.value(i).to_vec());
            (keys.value(i).to_string(), value)
        })
        .collect())
}

impl Sink for KafkaSink {
    fn add_batch(&self, batch_id: i64, rows: DataFrame) -> Result<()> {
        let batches = rows.collect()?;
        let rows = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(OutRows::of)
            .collect::<Result<Vec<_>>>()?;
        let marker = match (&self.topic, rows.first()) {
            (Some(topic), _) => topic.clone(),
            (None, Some(first)) => first.topic(0, None)?.to_string(),
            (None, None) => return Ok(()),
        };
        if self.next_batch(&marker)? > batch_id {
            tracing::info!("skipping batch {batch_id}: Kafka has it from an earlier run");
            return Ok(());
        }
        self.write(batch_id, &marker, &rows)
    }

    fn description(&self) -> String {
        format!(
            "KafkaSink[{}]",
            self.topic.as_deref().unwrap_or("topic column")
        )
    }
}
