//! Kafka parameters, checked once on the driver and turned into librdkafka configurations
//! for the driver's metadata queries and the executors' consumers.

use ember_core::{Error, Result};
use rdkafka::consumer::BaseConsumer;
use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The Kafka client's parameters: librdkafka's keys (`bootstrap.servers`, `group.id`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaParams {
    settings: BTreeMap<String, String>,
}

impl KafkaParams {
    /// `settings` checked: `bootstrap.servers` must be given.
    ///
    /// # Errors
    /// `bootstrap.servers` is missing or empty.
    pub fn new(settings: &BTreeMap<String, String>) -> Result<KafkaParams> {
        match settings.get("bootstrap.servers") {
            Some(servers) if !servers.trim().is_empty() => Ok(KafkaParams {
                settings: settings.clone(),
            }),
            _ => Err(Error::Input(
                "the Kafka parameters have no bootstrap.servers: give the brokers to start \
                 from, such as bootstrap.servers=broker1:9092,broker2:9092"
                    .into(),
            )),
        }
    }

    /// Every setting, by librdkafka's names.
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.settings
    }

    /// The brokers to start from.
    pub fn bootstrap_servers(&self) -> &str {
        &self.settings["bootstrap.servers"]
    }

    /// The configuration of an executor's consumer: the application's settings, reading from
    /// the offsets it is given and committing none, in a group of its own (Spark's
    /// `spark-executor-<group.id>`) so that it never joins the application's group.
    ///
    /// A consumer whose queue of prefetched records is full waits
    /// `fetch.queue.backoff.ms` before it fetches again; librdkafka's 1,000 ms left a
    /// stream's task, which takes a range at a time from a consumer kept between batches,
    /// waiting on an empty queue every few batches. Here it is 10 ms unless given.
    pub(crate) fn executor_consumer(&self) -> ClientConfig {
        let mut config = self.client();
        if !self.settings.contains_key("fetch.queue.backoff.ms") {
            config.set("fetch.queue.backoff.ms", "10");
        }
        let group = self
            .settings
            .get("group.id")
            .map_or("ember", String::as_str);
        config
            .set("group.id", format!("ember-executor-{group}"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "error");
        config
    }

    /// The configuration of a transactional sink's producer (`transactional.id` set): the
    /// application's settings, and unless given three of librdkafka's.
    ///
    /// - `partitioner` is `murmur2_random`, the Java client's: a keyed record goes to the
    ///   partition Spark's sink (and any Java producer) would send it to, so topics written by
    ///   both stay partitioned alike. librdkafka's own default hashes keys with CRC32.
    /// - `queue.buffering.max.messages` is 1,000,000: the sink queues a whole batch before it
    ///   waits, and librdkafka's 100,000 filled up halfway through a batch of 200,000 rows.
    /// - `delivery.report.only.error` is true: the sink counts what is still in flight and
    ///   needs no report of each record that arrived, which cost an event a record.
    #[cfg(feature = "sql")]
    pub(crate) fn sink_producer(&self, transactional_id: &str) -> ClientConfig {
        let mut config = self.client();
        for (key, value) in [
            ("partitioner", "murmur2_random"),
            ("queue.buffering.max.messages", "1000000"),
            ("delivery.report.only.error", "true"),
        ] {
            if !self.settings.contains_key(key) {
                config.set(key, value);
            }
        }
        config
            .set("transactional.id", transactional_id)
            .set("enable.idempotence", "true");
        config
    }

    /// A client with every setting given, for the driver's questions to the brokers (and its
    /// offset commits).
    ///
    /// # Errors
    /// librdkafka refused a setting.
    pub(crate) fn metadata_client(&self) -> Result<BaseConsumer> {
        self.client()
            .create()
            .map_err(|e| Error::Input(format!("cannot make a Kafka client: {e}")))
    }

    /// A configuration with every setting given.
    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.settings {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_servers_are_required_and_executors_never_commit() {
        let err = KafkaParams::new(&BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("bootstrap.servers=broker1:9092"), "{err}");
        let params = KafkaParams::new(&BTreeMap::from([
            ("bootstrap.servers".into(), "b:9092".into()),
            ("group.id".into(), "app".into()),
            ("enable.auto.commit".into(), "true".into()),
        ]))
        .unwrap();
        let consumer = params.executor_consumer();
        assert_eq!(consumer.get("group.id"), Some("ember-executor-app"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("bootstrap.servers"), Some("b:9092"));
    }

    #[test]
    fn executors_fetch_again_soon_after_a_full_queue_unless_told_otherwise() {
        let mut settings = BTreeMap::from([("bootstrap.servers".into(), "b:9092".into())]);
        let params = KafkaParams::new(&settings).unwrap();
        let consumer = params.executor_consumer();
        assert_eq!(consumer.get("fetch.queue.backoff.ms"), Some("10"));
        settings.insert("fetch.queue.backoff.ms".into(), "500".into());
        let consumer = KafkaParams::new(&settings).unwrap().executor_consumer();
        assert_eq!(consumer.get("fetch.queue.backoff.ms"), Some("500"));
    }

    #[test]
    #[cfg(feature = "sql")]
    fn sink_producers_take_their_defaults_unless_told_otherwise() {
        let mut settings = BTreeMap::from([("bootstrap.servers".into(), "b:9092".into())]);
        let producer = KafkaParams::new(&settings).unwrap().sink_producer("q1");
        assert_eq!(producer.get("transactional.id"), Some("q1"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        assert_eq!(producer.get("partitioner"), Some("murmur2_random"));
        assert_eq!(
            producer.get("queue.buffering.max.messages"),
            Some("1000000")
        );
        assert_eq!(producer.get("delivery.report.only.error"), Some("true"));
        settings.insert("queue.buffering.max.messages".into(), "5000".into());
        settings.insert("delivery.report.only.error".into(), "false".into());
        let producer = KafkaParams::new(&settings).unwrap().sink_producer("q1");
        assert_eq!(producer.get("queue.buffering.max.messages"), Some("5000"));
        assert_eq!(producer.get("delivery.report.only.error"), Some("false"));
    }
}
