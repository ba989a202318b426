//! Kafka read into RDDs and direct streams from the real broker `scripts/kafka up` starts:
//! offset ranges read by executor processes equal what was produced, each record once;
//! `read_committed` skips aborted transactions and their markers; a missing topic is named; a
//! direct stream reads every record once in batches capped per partition and commits its
//! offsets; a restarted driver runs its batches again on the same ranges and goes on.

use ember_integration::{context, ember_bin, unique};
use ember_kafka::{
    latest_offsets, ConsumerRecord, DirectKafkaStream, KafkaUtils, OffsetRange, StartingOffsets,
};
use ember_streaming::{ManualClock, StreamingContext, StreamingListener, Time};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn bootstrap() -> String {
    std::env::var("EMBER_KAFKA_BOOTSTRAP_SERVERS").expect(
        "EMBER_KAFKA_BOOTSTRAP_SERVERS is not set: start the broker with scripts/kafka up, then \
         eval \"$(scripts/kafka env)\"",
    )
}

fn params() -> BTreeMap<String, String> {
    BTreeMap::from([("bootstrap.servers".to_string(), bootstrap())])
}

/// A new topic of `partitions` partitions.
fn create_topic(partitions: i32) -> String {
    let name = unique("kafka-rdd");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
    let created =
        futures::executor::block_on(admin.create_topics([&topic], &AdminOptions::new())).unwrap();
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    name
}

fn producer(settings: &[(&str, &str)]) -> BaseProducer {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap());
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config.create().unwrap()
}

/// Sends `key{i}` → `value{i}` for each i of `numbers` to `partition`.
fn send(producer: &BaseProducer, topic: &str, partition: i32, numbers: std::ops::Range<u32>) {
    for i in numbers {
        let (key, value) = (format!("key{i}"), format!("value{i}"));
        let record = BaseRecord::to(topic)
            .partition(partition)
            .key(&key)
            .payload(&value);
        producer.send(record).map_err(|(e, _)| e).unwrap();
        producer.poll(Duration::ZERO);
    }
}

fn text(bytes: &Option<Vec<u8>>) -> String {
    String::from_utf8(bytes.clone().unwrap()).unwrap()
}

#[test]
fn offset_ranges_read_by_executors_hold_each_record_produced_once() {
    let topic = create_topic(3);
    let producer = producer(&[]);
    for partition in 0..3 {
        send(
            &producer,
            &topic,
            partition,
            1000 * partition as u32..1000 * partition as u32 + 1000,
        );
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let offsets = latest_offsets(&params(), &topic).unwrap();
    assert_eq!(
        offsets,
        BTreeMap::from([(0, (0, 1000)), (1, (0, 1000)), (2, (0, 1000))])
    );
    let ctx = context("local-cluster[2,1,512]", &[]);
    let mut ranges: Vec<OffsetRange> = offsets
        .iter()
        .map(|(&p, &(low, high))| OffsetRange::new(&topic, p, low, high))
        .collect();
    ranges.push(OffsetRange::new(&topic, 1, 100, 250));
    let rdd = KafkaUtils::create_rdd(&ctx, &params(), ranges).unwrap();
    assert_eq!(rdd.num_partitions(), 4);
    let by_partition: Vec<Vec<ConsumerRecord>> = rdd.glom().collect().unwrap();
    for (partition, records) in by_partition.iter().take(3).enumerate() {
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(
            offsets,
            (0..1000).collect::<Vec<_>>(),
            "partition {partition}"
        );
        for record in records {
            let i = 1000 * partition as i64 + record.offset;
            assert_eq!(text(&record.key), format!("key{i}"));
            assert_eq!(text(&record.value), format!("value{i}"));
            assert_eq!(
                (record.topic.as_str(), record.partition),
                (topic.as_str(), partition as i32)
            );
            assert_eq!(record.timestamp_type, "CreateTime");
            assert!(record.timestamp > 0);
        }
    }
    let slice: Vec<i64> = by_partition[3].iter().map(|r| r.offset).collect();
    assert_eq!(slice, (100..250).collect::<Vec<_>>());
    assert!(by_partition[3].iter().all(|r| r.partition == 1));
}

/// A topic of one partition holding values 0..100 committed, 100..150 aborted and 150..250
/// committed, in three transactions: offsets 0..253 with three markers (100, 151, 252).
fn committed_and_aborted_topic() -> String {
    let topic = create_topic(1);
    let transactional = producer(&[("transactional.id", &unique("ember-txn"))]);
    let timeout = Duration::from_secs(30);
    transactional.init_transactions(timeout).unwrap();
    for (numbers, commit) in [(0..100, true), (100..150, false), (150..250, true)] {
        transactional.begin_transaction().unwrap();
        send(&transactional, &topic, 0, numbers);
        transactional.flush(timeout).unwrap();
        if commit {
            transactional.commit_transaction(timeout).unwrap();
        } else {
            transactional.abort_transaction(timeout).unwrap();
        }
    }
    // The coordinator writes a transaction's marker after its commit returns.
    let deadline = Instant::now() + timeout;
    while latest_offsets(&params(), &topic).unwrap()[&0].1 < 253 {
        assert!(
            Instant::now() < deadline,
            "the last marker was never written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    topic
}

fn read_committed_params() -> BTreeMap<String, String> {
    let mut settings = params();
    settings.insert("isolation.level".into(), "read_committed".into());
    settings
}

/// The values of offsets `from..until` of partition 0 of `topic`, read by one job.
fn values_of(ctx: &ember_core::Context, topic: &str, from: i64, until: i64) -> Vec<String> {
    let range = OffsetRange::new(topic, 0, from, until);
    let read = KafkaUtils::create_rdd(ctx, &read_committed_params(), vec![range]).unwrap();
    read.collect()
        .unwrap()
        .iter()
        .map(|r| text(&r.value))
        .collect()
}

fn value_names(numbers: impl Iterator<Item = u32>) -> Vec<String> {
    numbers.map(|i| format!("value{i}")).collect()
}

#[test]
fn read_committed_ranges_skip_aborted_transactions_and_their_markers() {
    let topic = committed_and_aborted_topic();
    // 250 records and three transaction markers.
    let (low, high) = latest_offsets(&params(), &topic).unwrap()[&0];
    assert_eq!((low, high), (0, 253));
    let ctx = context("local[2]", &[]);
    assert_eq!(
        values_of(&ctx, &topic, low, high),
        value_names((0..100).chain(150..250))
    );
}

#[test]
fn ranges_read_one_after_another_by_kept_consumers_hold_each_record_once() {
    let topic = committed_and_aborted_topic();
    for enabled in ["true", "false"] {
        // One task at a time, so each range's task finds the consumer the last one left.
        let ctx = context(
            "local[1]",
            &[("ember.streaming.kafka.consumer.cache.enabled", enabled)],
        );
        // The first range ends among aborted records: the consumer reads past its end to
        // the committed record at offset 152, which the second range must give first.
        assert_eq!(values_of(&ctx, &topic, 0, 120), value_names(0..100));
        assert_eq!(values_of(&ctx, &topic, 120, 200), value_names(150..198));
        assert_eq!(values_of(&ctx, &topic, 200, 253), value_names(198..250));
        // Back to earlier offsets, and on from there.
        assert_eq!(values_of(&ctx, &topic, 50, 60), value_names(50..60));
        assert_eq!(
            values_of(&ctx, &topic, 60, 253),
            value_names((60..100).chain(150..250)),
            "cache enabled: {enabled}"
        );
        ctx.stop();
    }
    let ctx = context(
        "local[1]",
        &[("ember.streaming.kafka.consumer.cache.maxCapacity", "0")],
    );
    let range = OffsetRange::new(&topic, 0, 0, 10);
    let err = KafkaUtils::create_rdd(&ctx, &params(), vec![range])
        .map(|_| ())
        .expect_err("a capacity of 0 is refused")
        .to_string();
    assert!(
        err.contains("ember.streaming.kafka.consumer.cache.maxCapacity"),
        "{err}"
    );
}

#[test]
fn records_compressed_with_every_codec_kafka_producers_use_are_read() {
    let codecs = ["gzip", "snappy", "lz4", "zstd"];
    let topic = create_topic(codecs.len() as i32);
    for (partition, codec) in codecs.iter().enumerate() {
        let producer = producer(&[("compression.type", codec)]);
        send(&producer, &topic, partition as i32, 0..500);
        producer.flush(Duration::from_secs(30)).unwrap();
    }
    let ctx = context("local[2]", &[]);
    let ranges = (0..codecs.len() as i32)
        .map(|p| OffsetRange::new(&topic, p, 0, 500))
        .collect();
    let by_partition = KafkaUtils::create_rdd(&ctx, &params(), ranges)
        .unwrap()
        .glom()
        .collect()
        .unwrap();
    for (codec, records) in codecs.iter().zip(by_partition) {
        let values: Vec<String> = records.iter().map(|r| text(&r.value)).collect();
        let want: Vec<String> = (0..500).map(|i| format!("value{i}")).collect();
        assert_eq!(values, want, "{codec}");
    }
}

#[test]
fn a_missing_topic_and_a_missing_brokers_setting_are_named() {
    let error = latest_offsets(&params(), "no-such-topic-here")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Kafka topic no-such-topic-here does not exist"),
        "{error}"
    );
    let ctx = context("local[1]", &[]);
    let error = KafkaUtils::create_rdd(&ctx, &BTreeMap::new(), Vec::new())
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("no bootstrap.servers"), "{error}");
    let ssc = StreamingContext::new(&ctx, Duration::from_secs(1)).unwrap();
    let error = KafkaUtils::create_direct_stream(
        &ssc,
        &["no-such-topic-here"],
        &params(),
        StartingOffsets::Latest,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        error.contains("Kafka topic no-such-topic-here does not exist"),
        "{error}"
    );
}

#[test]
fn brokers_that_are_down_are_a_clear_error_not_a_hang() {
    // A port nothing listens on: the brokers are down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = BTreeMap::from([("bootstrap.servers".to_string(), format!("127.0.0.1:{port}"))]);
    let began = Instant::now();
    let ctx = context("local[1]", &[]);
    let ssc = StreamingContext::new(&ctx, Duration::from_secs(1)).unwrap();
    let error = KafkaUtils::create_direct_stream(&ssc, &["events"], &down, StartingOffsets::Latest)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("reach"), "{error}");
    use ember_sql::SqlContextExt;
    let error = ctx
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &format!("127.0.0.1:{port}"))
        .option("subscribe", "events")
        .load()
        .and_then(|df| {
            df.write_stream()
                .format("memory")
                .query_name("down")
                .start()?
                .process_all_available()
        })
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(began.elapsed() < Duration::from_secs(120), "it hung");
}

/// `records` as (partition, offset, value), sorted.
fn sorted_records(records: &[ConsumerRecord]) -> Vec<(i32, i64, String)> {
    let mut records: Vec<_> = records
        .iter()
        .map(|r| (r.partition, r.offset, text(&r.value)))
        .collect();
    records.sort();
    records
}

/// Every record a direct stream's batches read, by batch time, as (partition, offset, value).
type Batches = Arc<Mutex<Vec<(Time, Vec<(i32, i64, String)>)>>>;

/// Collects every batch of `direct` into `into`, with the ranges the batch says it read, and
/// commits them.
fn collect_batches(direct: &DirectKafkaStream, into: &Batches, ranges: &RangesSeen) {
    let (handle, into, ranges) = (direct.clone(), into.clone(), ranges.clone());
    direct.stream().foreach_rdd(move |rdd, time| {
        let records = sorted_records(&rdd.collect()?);
        let read = handle.offset_ranges(time);
        handle.commit_async(&read)?;
        ranges.lock().unwrap().insert(time, read);
        into.lock().unwrap().push((time, records));
        Ok(())
    });
}

type RangesSeen = Arc<Mutex<BTreeMap<Time, Vec<OffsetRange>>>>;

fn wait_for_records(batches: &Batches, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: usize = batches.lock().unwrap().iter().map(|(_, b)| b.len()).sum();
        if got >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {got} of {n} records read");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_direct_stream_reads_each_record_once_in_batches_capped_per_partition() {
    let topic = create_topic(3);
    let producer = producer(&[]);
    let send_round = |numbers: std::ops::Range<u32>| {
        for partition in 0..3 {
            let base = 10_000 * partition as u32;
            send(
                &producer,
                &topic,
                partition,
                base + numbers.start..base + numbers.end,
            );
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    };
    send_round(0..600);
    let ctx = context(
        "local[2]",
        &[("ember.streaming.kafka.maxRatePerPartition", "400")],
    );
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(500)).unwrap();
    let mut settings = params();
    let group = unique("ember-direct");
    settings.insert("group.id".into(), group.clone());
    let direct =
        KafkaUtils::create_direct_stream(&ssc, &[&topic], &settings, StartingOffsets::Earliest)
            .unwrap();
    let (batches, ranges) = (Batches::default(), RangesSeen::default());
    collect_batches(&direct, &batches, &ranges);
    ssc.start().unwrap();
    wait_for_records(&batches, 1800);
    send_round(600..900);
    wait_for_records(&batches, 2700);
    ssc.stop(true, true);
    let batches = batches.lock().unwrap().clone();
    let ranges = ranges.lock().unwrap().clone();
    let mut all: Vec<(i32, i64, String)> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    all.sort();
    let want: Vec<(i32, i64, String)> = (0..3)
        .flat_map(|p| (0..900).map(move |o| (p, o, format!("value{}", 10_000 * p as i64 + o))))
        .collect();
    assert_eq!(all, want, "every record once");
    // 400 a second of a 500 ms batch: at most 200 from a partition, exactly its range.
    for (time, records) in &batches {
        for range in &ranges[time] {
            assert!(range.count() <= 200, "{range:?}");
            let offsets: Vec<i64> = records
                .iter()
                .filter(|r| r.0 == range.partition)
                .map(|r| r.1)
                .collect();
            assert_eq!(
                offsets,
                (range.from_offset..range.until_offset).collect::<Vec<_>>()
            );
        }
    }
    assert!(batches.iter().filter(|(_, b)| !b.is_empty()).count() >= 5);
    // The group's committed offsets are a batch's ends.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", &group)
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    for p in 0..3 {
        partitions.add_partition(&topic, p);
    }
    let committed = consumer
        .committed_offsets(partitions, Duration::from_secs(30))
        .unwrap();
    for element in committed.elements() {
        let Offset::Offset(n) = element.offset() else {
            panic!("nothing committed for {element:?}");
        };
        assert!((600..=900).contains(&n), "committed {n}");
    }
}

#[test]
fn a_recovered_direct_stream_runs_its_batches_on_the_same_ranges_and_goes_on() {
    let topic = create_topic(2);
    let producer = producer(&[]);
    for partition in 0..2 {
        send(&producer, &topic, partition, 0..100);
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let checkpoint = tempfile::tempdir().unwrap();
    // A file URL: bare paths are on HDFS when HADOOP_CONF_DIR names the mini cluster.
    let checkpoint_dir = &format!("file://{}", checkpoint.path().display());
    let batches = Batches::default();
    let driver = |at_ms: i64| {
        let ctx = context(
            "local[2]",
            &[("ember.streaming.kafka.maxRatePerPartition", "30")],
        );
        let clock = ManualClock::new(Time::from_millis(at_ms));
        let ssc = StreamingContext::get_or_create(checkpoint_dir, || {
            let ssc = StreamingContext::with_clock(&ctx, Duration::from_secs(1), clock.clone())?;
            let direct = KafkaUtils::create_direct_stream(
                &ssc,
                &[&topic],
                &params(),
                StartingOffsets::Earliest,
            )?;
            let (into, handle) = (batches.clone(), direct.clone());
            direct.stream().foreach_rdd(move |rdd, time| {
                let records = sorted_records(&rdd.collect()?);
                assert_eq!(handle.offset_ranges(time).len(), 2);
                into.lock().unwrap().push((time, records));
                Ok(())
            });
            Ok(ssc)
        })
        .unwrap();
        let counter = Arc::new(Mutex::new(0usize));
        ssc.add_streaming_listener(Completed(counter.clone()));
        ssc.start().unwrap();
        (ssc, clock, counter)
    };
    // The first driver runs two batches of 30 records a partition, and dies before the
    // checkpoint of the second is written.
    let (ssc, clock, done) = driver(0);
    for n in 1..=2 {
        clock.advance(Duration::from_secs(1));
        wait_until(&done, n);
    }
    ssc.stop(true, false);
    let mut written: Vec<_> = std::fs::read_dir(checkpoint.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("checkpoint-"))
        .collect();
    written.sort();
    std::fs::remove_file(written.last().unwrap()).unwrap();
    // The second runs the second batch again, then the rest.
    let (ssc, clock, done) = driver(2_000);
    wait_until(&done, 1);
    for n in 2..=3 {
        clock.advance(Duration::from_secs(1));
        wait_until(&done, n);
    }
    ssc.stop(true, true);
    let batches = batches.lock().unwrap().clone();
    let mut by_time: BTreeMap<Time, Vec<(i32, i64, String)>> = BTreeMap::new();
    for (time, records) in &batches {
        if let Some(before) = by_time.insert(*time, records.clone()) {
            assert_eq!(&before, records, "batch {time} ran again on other ranges");
        }
    }
    let times: Vec<i64> = by_time.keys().map(|t| t.millis()).collect();
    assert_eq!(times, [1_000, 2_000, 3_000, 4_000]);
    let mut all: Vec<(i32, i64, String)> = by_time.into_values().flatten().collect();
    all.sort();
    let want: Vec<(i32, i64, String)> = (0..2)
        .flat_map(|p| (0..100).map(move |o| (p, o, format!("value{o}"))))
        .collect();
    assert_eq!(
        all, want,
        "every record once, over four batches of at most 30 a partition"
    );
}

/// Counts completed batches.
struct Completed(Arc<Mutex<usize>>);

impl StreamingListener for Completed {
    fn on_batch_completed(&self, _: &ember_streaming::BatchInfo) {
        *self.0.lock().unwrap() += 1;
    }
}

fn wait_until(done: &Arc<Mutex<usize>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while *done.lock().unwrap() < n {
        assert!(Instant::now() < deadline, "batch {n} did not complete");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The test application (`rust/bin/it_app.rs`).
const IT_APP: &str = env!("CARGO_BIN_EXE_it-app");

/// `ember submit` of the `kafka-files` driver on `master`, for `seconds`; its processes
/// (executors included) have `EMBER_TEST_RUN=<run>` in their environment.
fn kafka_files_driver(
    master: &str,
    run: &str,
    [topic, out, checkpoint]: [&str; 3],
    seconds: &str,
) -> Child {
    Command::new(ember_bin())
        .args(["submit", "--master", master])
        .env("EMBER_TEST_RUN", run)
        .args(["--conf", "ember.streaming.kafka.maxRatePerPartition=2000"])
        .args([
            IT_APP,
            "kafka-files",
            &bootstrap(),
            topic,
            out,
            checkpoint,
            seconds,
        ])
        .env("EMBER_LOG", "warn,ember_streaming=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The pids of processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|p| {
            let pid: u32 = p.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

/// The batch files under `out`, by name, with their lines.
fn batch_files(out: &Path) -> BTreeMap<String, Vec<String>> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let text = std::fs::read_to_string(e.path()).ok()?;
            name.starts_with("batch-")
                .then(|| (name, text.lines().map(String::from).collect()))
        })
        .collect()
}

#[test]
fn a_direct_stream_driver_killed_mid_stream_writes_every_event_once_after_its_restart() {
    // 60,000 numbered events over six partitions before the first driver, 30,000 while no
    // driver runs.
    let topic = create_topic(6);
    let produce = |numbers: std::ops::Range<u32>| produce_events(&topic, numbers);
    produce(0..60_000);
    let dirs = tempfile::tempdir().unwrap();
    let (out, checkpoint) = (dirs.path().join("out"), dirs.path().join("checkpoint"));
    // File URLs: bare paths are on HDFS when HADOOP_CONF_DIR names the mini cluster.
    let (out_dir, checkpoint_dir) = (
        &format!("file://{}", out.display()),
        &format!("file://{}", checkpoint.display()),
    );
    // 2,000 a second a partition: 12,000 a batch, so the first driver dies mid-stream.
    let places = [topic.as_str(), out_dir, checkpoint_dir];
    let mut first = kafka_files_driver("local[2]", &unique("run"), places, "120");
    let deadline = Instant::now() + Duration::from_secs(120);
    while batch_files(&out).values().filter(|l| !l.is_empty()).count() < 2 {
        assert!(Instant::now() < deadline, "the first driver wrote no batch");
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in processes_with(checkpoint_dir) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let _ = first.wait();
    let written_before = batch_files(&out).values().map(Vec::len).sum::<usize>();
    assert!(
        written_before < 60_000,
        "the first driver read everything before it died"
    );
    produce(60_000..90_000);
    // The second driver reads on two executor processes, and loses one once it has written a
    // batch.
    let batches_before = batch_files(&out).len();
    let run = unique("run");
    let second = kafka_files_driver("local-cluster[2,1,1024]", &run, places, "25");
    kill_executor_once(
        &run,
        || batch_files(&out).len() > batches_before,
        "wrote no batch",
    );
    let output = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("recovering the streams from the checkpoint"),
        "{said}"
    );
    assert!(said.contains("lost executor 1"), "{said}");
    let files = batch_files(&out);
    let events: Vec<u64> = files
        .values()
        .flatten()
        .map(|v| v.strip_prefix("event").unwrap().parse().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<u64> = events.iter().copied().collect();
    assert_eq!(events.len(), 90_000, "events written, duplicates included");
    assert_eq!(distinct.len(), 90_000, "distinct events");
    assert_eq!(events.iter().sum::<u64>(), (0..90_000u64).sum::<u64>());
    // No batch was skipped: a batch every second from the first to the last.
    let times: Vec<i64> = files
        .keys()
        .map(|n| n.strip_prefix("batch-").unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] == 1000), "{times:?}");
}

/// The `kafka-structured` driver under `ember submit --master <master>`, for `seconds`; its
/// processes (executors included) have `EMBER_TEST_RUN=<run>` in their environment.
fn kafka_structured_driver(
    master: &str,
    run: &str,
    [topic, out_topic, out, checkpoint]: [&str; 4],
    seconds: &str,
) -> Child {
    Command::new(ember_bin())
        .args(["submit", "--master", master])
        .env("EMBER_TEST_RUN", run)
        .args([
            IT_APP,
            "kafka-structured",
            &bootstrap(),
            topic,
            out_topic,
            out,
            checkpoint,
            seconds,
        ])
        .env("EMBER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The pid of executor `id` of the run `EMBER_TEST_RUN=<run>`, if it is running.
fn executor_of(run: &str, id: &str) -> Option<u32> {
    let (run, id) = (
        format!("EMBER_TEST_RUN={run}\0"),
        format!("EMBER_EXECUTOR_ID={id}\0"),
    );
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|p| {
        let pid: u32 = p.file_name().to_str()?.parse().ok()?;
        let environ = std::fs::read(p.path().join("environ")).ok()?;
        let environ = String::from_utf8_lossy(&environ);
        (environ.contains(&run) && environ.contains(&id)).then_some(pid)
    })
}

/// Waits up to a minute for `ready` (else fails: the driver `failed_to`), then SIGKILLs
/// executor 1 of the run `EMBER_TEST_RUN=<run>`.
fn kill_executor_once(run: &str, ready: impl Fn() -> bool, failed_to: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "the second driver {failed_to}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let executor = executor_of(run, "1").expect("executor 1 runs");
    let _ = Command::new("kill")
        .args(["-9", &executor.to_string()])
        .status();
}

/// How many batches the query of `checkpoint` has committed.
fn commits(checkpoint: &Path) -> usize {
    std::fs::read_dir(checkpoint.join("kafka/commits")).map_or(0, |d| d.count())
}

/// Every value of `topic`, read `read_committed` from its start.
fn committed_values(topic: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("check"))
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let ends = latest_offsets(&params(), topic).unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in ends.keys() {
        assignment
            .add_partition_offset(topic, *partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let position = consumer.position().unwrap();
        let done = ends.iter().all(|(p, (_, high))| {
            matches!(position.find_partition(topic, *p).map(|e| e.offset()),
                Some(Offset::Offset(n)) if n >= *high)
        });
        if done {
            return values;
        }
        assert!(Instant::now() < deadline, "{topic} was not read to its end");
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            values.push(
                String::from_utf8(rdkafka::Message::payload(&message).unwrap().to_vec()).unwrap(),
            );
        }
    }
}

/// Sends `event<n>` for each n of `numbers`, to partition n % 6, and waits until the broker has
/// them all.
fn produce_events(topic: &str, numbers: std::ops::Range<u32>) {
    produce_numbered(topic, 6, numbers.start.into()..numbers.end.into(), |n| {
        format!("event{n}")
    });
}

/// Sends `value(n)` for each of `numbers` to partition `n % partitions` of `topic`, and waits
/// until the broker has them all.
fn produce_numbered(
    topic: &str,
    partitions: u64,
    numbers: std::ops::Range<u64>,
    value: impl Fn(u64) -> String,
) {
    let producer = producer(&[]);
    for n in numbers {
        let value = value(n);
        let record = BaseRecord::<(), String>::to(topic)
            .partition((n % partitions) as i32)
            .payload(&value);
        producer.send(record).map_err(|(e, _)| e).unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// The numbers of `event<n>` values: how many, how many distinct, and their sum.
fn tally(values: &[String]) -> (usize, usize, u64) {
    let numbers: Vec<u64> = values
        .iter()
        .map(|v| v.strip_prefix("event").unwrap().parse().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<u64> = numbers.iter().copied().collect();
    (numbers.len(), distinct.len(), numbers.iter().sum())
}

/// A stream of `topic`'s rows from its start, at most `per_trigger` a batch.
fn stream_from_start(
    ctx: &ember_core::Context,
    topic: &str,
    per_trigger: u32,
) -> ember_sql::DataFrame {
    use ember_sql::SqlContextExt;
    ctx.read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &bootstrap())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", &per_trigger.to_string())
        .load()
        .unwrap()
}

#[test]
fn a_structured_stream_reads_kafka_rows_with_sparks_columns_and_sql_reads_a_topic() {
    use ember_sql::streaming::OutputMode;
    use ember_sql::SqlContextExt;
    let topic = create_topic(3);
    let producer = producer(&[]);
    for partition in 0..3 {
        send(&producer, &topic, partition, 0..400);
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let ctx = context("local[2]", &[]);
    let stream = stream_from_start(&ctx, &topic, 500);
    let columns: Vec<String> = stream
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        columns,
        [
            "key",
            "value",
            "topic",
            "partition",
            "offset",
            "timestamp",
            "timestampType"
        ]
    );
    stream.create_or_replace_temp_view("kafka_rows").unwrap();
    let per_key = ctx
        .sql(
            "SELECT CAST(value AS STRING) AS value, count(*) AS n, max(offset) AS last \
             FROM kafka_rows GROUP BY CAST(value AS STRING)",
        )
        .unwrap();
    let query = per_key
        .write_stream()
        .format("memory")
        .query_name("kafka_counts")
        .output_mode(OutputMode::Complete)
        .start()
        .unwrap();
    query.process_all_available().unwrap();
    let rows = ctx
        .sql("SELECT count(*), sum(n), max(last) FROM kafka_counts")
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(
        rows, "400\t1200\t399\n",
        "400 values, 3 each, offsets 0..399"
    );
    let batches: Vec<u64> = query
        .recent_progress()
        .iter()
        .map(|p| p.num_input_rows)
        .collect();
    assert!(batches.iter().all(|n| *n <= 500), "{batches:?}");
    assert_eq!(batches.iter().sum::<u64>(), 1200);
    query.stop().unwrap();
    // A topic as a batch table, from SQL.
    ctx.sql(&format!(
        "CREATE TEMPORARY VIEW whole_topic USING kafka OPTIONS \
         (kafka.bootstrap.servers '{}', subscribe '{topic}')",
        bootstrap()
    ))
    .unwrap();
    let counted = ctx
        .sql(
            "SELECT partition, count(*), min(CAST(key AS STRING)) FROM whole_topic \
             GROUP BY partition ORDER BY partition",
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(counted, "0\t400\tkey0\n1\t400\tkey0\n2\t400\tkey0\n");
    let missing = ctx
        .read_stream()
        .format("kafka")
        .option("subscribe", &topic)
        .load()
        .unwrap_err()
        .to_string();
    assert!(missing.contains("kafka.bootstrap.servers"), "{missing}");
}

#[test]
fn headers_are_read_with_include_headers_and_written_by_the_sink() {
    use ember_sql::streaming::Trigger;
    use ember_sql::SqlContextExt;
    use rdkafka::message::{Header, OwnedHeaders};
    let (topic, out_topic) = (create_topic(1), create_topic(1));
    let producer = producer(&[]);
    for n in 0..20 {
        let value = format!("v{n}");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "n",
                value: Some(n.to_string().as_bytes()),
            })
            .insert(Header::<&[u8]> {
                key: "empty",
                value: None,
            });
        let record = BaseRecord::<(), String>::to(&topic)
            .payload(&value)
            .headers(headers);
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let ctx = context("local[2]", &[]);
    let options = |reader: ember_sql::DataFrameReader| {
        reader
            .option("kafka.bootstrap.servers", &bootstrap())
            .option("subscribe", &topic)
            .option("includeHeaders", "true")
    };
    options(ctx.read())
        .load("kafka")
        .unwrap()
        .create_or_replace_temp_view("with_headers")
        .unwrap();
    let seen = ctx
        .sql(
            "SELECT CAST(value AS STRING), headers[1]['key'], CAST(headers[1]['value'] AS STRING), \
             headers[2]['key'], headers[2]['value'] IS NULL FROM with_headers \
             WHERE CAST(value AS STRING) = 'v7'",
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert_eq!(seen, "v7\tn\t7\tempty\ttrue\n");
    // Through a query to another topic, headers and all.
    let dir = tempfile::tempdir().unwrap();
    let stream = ctx
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &bootstrap())
        .option("subscribe", &topic)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "true")
        .load()
        .unwrap();
    let query = stream
        .select(vec![ember_sql::col("value"), ember_sql::col("headers")])
        .unwrap()
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &bootstrap())
        .option("topic", &out_topic)
        .option("checkpointLocation", dir.path().to_str().unwrap())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap();
    query.await_termination().unwrap();
    let ranges = vec![OffsetRange::new(&out_topic, 0, 0, 20)];
    let copied = KafkaUtils::create_rdd(&ctx, &params(), ranges)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(copied.len(), 20);
    for record in &copied {
        let n = text(&record.value).strip_prefix('v').unwrap().to_string();
        assert_eq!(
            record.headers,
            vec![
                ("n".to_string(), Some(n.into_bytes())),
                ("empty".to_string(), None)
            ]
        );
    }
}

/// Kafka's `murmur2` (the Java client's `Utils.murmur2`), by which its default partitioner
/// places a keyed record: written here from Kafka's description, as the oracle.
fn java_partition(key: &[u8], partitions: u32) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ key.len() as u32;
    let mut words = key.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes(word.try_into().unwrap()).wrapping_mul(M);
        k ^= k >> 24;
        h = h.wrapping_mul(M) ^ k.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    ((h & 0x7fff_ffff) % partitions) as i32
}

/// Every record of `topic`, read by offset ranges from its start to its end.
fn whole_topic(ctx: &ember_core::Context, topic: &str) -> Vec<ConsumerRecord> {
    let ranges = latest_offsets(&params(), topic)
        .unwrap()
        .into_iter()
        .map(|(partition, (low, high))| OffsetRange::new(topic, partition, low, high))
        .collect();
    KafkaUtils::create_rdd(ctx, &params(), ranges)
        .unwrap()
        .collect()
        .unwrap()
}

#[test]
fn the_sink_sends_rows_to_their_topic_column_keyed_as_java_producers_partition() {
    use ember_sql::streaming::Trigger;
    use ember_sql::SqlContextExt;
    let (topic, even, odd) = (create_topic(1), create_topic(4), create_topic(4));
    let producer = producer(&[]);
    send(&producer, &topic, 0, 0..3000);
    producer.flush(Duration::from_secs(30)).unwrap();
    let ctx = context("local[2]", &[]);
    stream_from_start(&ctx, &topic, 1000)
        .create_or_replace_temp_view("numbered")
        .unwrap();
    // Every third value is missing (a tombstone); even offsets go to one topic, odd ones to
    // the other.
    let routed = ctx
        .sql(&format!(
            "SELECT key, CASE WHEN offset % 3 = 0 THEN NULL ELSE value END AS value, \
             CASE WHEN offset % 2 = 0 THEN '{even}' ELSE '{odd}' END AS topic FROM numbered"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    routed
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &bootstrap())
        .option("checkpointLocation", dir.path().to_str().unwrap())
        .trigger(Trigger::AvailableNow)
        .start()
        .unwrap()
        .await_termination()
        .unwrap();
    for (name, parity) in [(&even, 0), (&odd, 1)] {
        let records = whole_topic(&ctx, name);
        let mut seen: Vec<u32> = Vec::new();
        for record in &records {
            let key = record.key.as_deref().unwrap();
            let n: u32 = std::str::from_utf8(key).unwrap()[3..].parse().unwrap();
            assert_eq!(n % 2, parity, "key{n} in {name}");
            let value = record.value.as_ref().map(|_| text(&record.value));
            let expected = (!n.is_multiple_of(3)).then(|| format!("value{n}"));
            assert_eq!(value, expected, "key{n}'s value");
            assert_eq!(
                record.partition,
                java_partition(key, 4),
                "key{n}'s partition"
            );
            seen.push(n);
        }
        // In each partition the rows keep the order they were read in.
        for partition in 0..4 {
            let numbers: Vec<u32> = records
                .iter()
                .filter(|r| r.partition == partition)
                .map(|r| text(&r.key)[3..].parse().unwrap())
                .collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        }
        seen.sort_unstable();
        let expected: Vec<u32> = (0..3000).filter(|n| n % 2 == parity).collect();
        assert_eq!(seen, expected, "{name} holds each of its rows once");
    }
}

#[test]
fn a_structured_query_killed_mid_stream_writes_every_event_once_to_kafka_and_to_files() {
    let topic = create_topic(6);
    let out_topic = create_topic(3);
    produce_events(&topic, 0..60_000);
    let dirs = tempfile::tempdir().unwrap();
    let (out, checkpoint) = (dirs.path().join("out"), dirs.path().join("checkpoint"));
    let (out_dir, checkpoint_dir) = (
        &format!("file://{}", out.display()),
        &format!("file://{}", checkpoint.display()),
    );
    let places = [topic.as_str(), &out_topic, out_dir, checkpoint_dir];
    // At most 6,000 records a batch: the first driver dies mid-stream.
    let mut first = kafka_structured_driver("local[2]", &unique("run"), places, "120");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !checkpoint.join("kafka/commits/2").exists() {
        assert!(
            Instant::now() < deadline,
            "the first driver committed no batch"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in processes_with(checkpoint_dir) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let _ = first.wait();
    let done_before = commits(&checkpoint);
    assert!(
        done_before < 10,
        "the first driver read everything before it died"
    );
    produce_events(&topic, 60_000..90_000);
    // The second driver reads on two executor processes, and loses one once it has gone on
    // from the checkpoint.
    let run = unique("run");
    let second = kafka_structured_driver("local-cluster[2,1,1024]", &run, places, "40");
    let committed = || commits(&checkpoint) >= done_before + 2;
    kill_executor_once(&run, committed, "committed no batch");
    let output = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("lost executor 1"), "{said}");
    assert!(
        commits(&checkpoint) > done_before + 2,
        "batches ran after the executor was lost"
    );
    let expected = (90_000, 90_000, (0..90_000u64).sum::<u64>());
    assert_eq!(
        tally(&committed_values(&out_topic)),
        expected,
        "the output topic"
    );
    use ember_sql::SqlContextExt;
    let ctx = context("local[2]", &[]);
    let lines = ctx
        .read()
        .parquet(out_dir)
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let values: Vec<String> = lines.lines().map(String::from).collect();
    assert_eq!(
        tally(&values),
        expected,
        "the files, read through _spark_metadata"
    );
}

/// Point `i` of three blobs: blob `i % 3`, centred on (0, 0), (20, 0) or (0, 20), within 3 of
/// its centre.
fn blob_point(i: u64) -> (f64, f64) {
    const CENTRES: [(f64, f64); 3] = [(0.0, 0.0), (20.0, 0.0), (0.0, 20.0)];
    let mut state = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut noise = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) % 6000) as f64 / 1000.0 - 3.0
    };
    let (cx, cy) = CENTRES[(i % 3) as usize];
    (cx + noise(), cy + noise())
}

#[test]
fn a_kmeans_model_trained_on_a_batch_dataframe_labels_a_kafka_stream_exactly_once() {
    let dirs = tempfile::tempdir().unwrap();
    let train = dirs.path().join("train.csv");
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            let (x, y) = blob_point(i);
            format!("{x},{y}")
        })
        .collect();
    std::fs::write(&train, lines.join("\n")).unwrap();
    let topic = create_topic(3);
    let send_points = |ids: std::ops::Range<u64>| {
        produce_numbered(&topic, 3, ids, |i| {
            let (x, y) = blob_point(1_000_000 + i);
            format!("{i},{x},{y}")
        });
    };
    send_points(0..30_000);
    let (out, checkpoint) = (dirs.path().join("out"), dirs.path().join("checkpoint"));
    // File URLs: bare paths are on HDFS when HADOOP_CONF_DIR names the mini cluster.
    let out_dir = format!("file://{}", out.display());
    let checkpoint_dir = format!("file://{}", checkpoint.display());
    let train_file = format!("file://{}", train.display());
    let driver = |seconds: &str| {
        Command::new(ember_bin())
            .args(["submit", "--master", "local[2]"])
            .args([IT_APP, "kafka-kmeans", &bootstrap(), &train_file])
            .args([topic.as_str(), &out_dir, &checkpoint_dir, seconds])
            .env("EMBER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // 3,000 points a batch: the first driver dies after its third batch.
    let mut first = driver("120");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !checkpoint.join("commits/2").exists() {
        if first.try_wait().unwrap().is_some() {
            let said = first.wait_with_output().unwrap().stderr;
            panic!("the first driver ended: {}", String::from_utf8_lossy(&said));
        }
        assert!(
            Instant::now() < deadline,
            "the first driver committed no batch"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in processes_with(&checkpoint_dir) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    let _ = first.wait();
    send_points(30_000..36_000);
    let output = driver("25").wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("k-means centroids"), "{said}");
    use ember_sql::SqlContextExt;
    let ctx = context("local[2]", &[]);
    let rows = ctx
        .read()
        .parquet(&out_dir)
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut clusters_of_blob: [std::collections::BTreeSet<i64>; 3] = Default::default();
    let mut count = 0;
    for line in rows.lines() {
        let (id, cluster) = line.split_once('\t').unwrap();
        let (id, cluster): (u64, i64) = (id.parse().unwrap(), cluster.parse().unwrap());
        ids.insert(id);
        clusters_of_blob[(id % 3) as usize].insert(cluster);
        count += 1;
    }
    assert_eq!((count, ids.len()), (36_000, 36_000), "each point once");
    assert_eq!(ids.last(), Some(&35_999));
    // Each blob is one cluster, and no two blobs share one.
    let labels: std::collections::BTreeSet<i64> = clusters_of_blob
        .iter()
        .map(|c| {
            assert_eq!(c.len(), 1, "{clusters_of_blob:?}");
            *c.first().unwrap()
        })
        .collect();
    assert_eq!(labels.len(), 3, "{clusters_of_blob:?}");
}
