//! Kafka read into RDDs from the real broker `scripts/kafka up` starts: offset ranges read by
//! executor processes equal what was produced, each record once; `read_committed` skips
//! aborted transactions and their markers; a missing topic is named.

use ember_integration::{context, unique};
use ember_kafka::{latest_offsets, ConsumerRecord, KafkaUtils, OffsetRange};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::time::Duration;

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

#[test]
fn read_committed_ranges_skip_aborted_transactions_and_their_markers() {
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
    let (low, high) = latest_offsets(&params(), &topic).unwrap()[&0];
    // 250 records and three transaction markers.
    assert_eq!((low, high), (0, 253));
    let mut settings = params();
    settings.insert("isolation.level".into(), "read_committed".into());
    let ctx = context("local[2]", &[]);
    let range = OffsetRange::new(&topic, 0, low, high);
    let read = KafkaUtils::create_rdd(&ctx, &settings, vec![range]).unwrap();
    let values: Vec<String> = read
        .collect()
        .unwrap()
        .iter()
        .map(|r| text(&r.value))
        .collect();
    let want: Vec<String> = (0..100)
        .chain(150..250)
        .map(|i| format!("value{i}"))
        .collect();
    assert_eq!(values, want);
}

#[test]
fn a_missing_topic_and_missing_brokers_setting_are_named() {
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
}
