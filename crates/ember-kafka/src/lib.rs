//! Apache Kafka for ember, as Spark's `spark-streaming-kafka-0-10` offers it: RDDs whose
//! partitions are Kafka partitions' offset ranges, one to one, read by the executors.
//!
//! This crate owns reading Kafka into RDDs ([`KafkaUtils::create_rdd`]), the records it reads
//! ([`ConsumerRecord`]), the ranges it reads ([`OffsetRange`]), asking a broker where its
//! partitions begin and end ([`latest_offsets`]), and the direct stream
//! ([`KafkaUtils::create_direct_stream`]): a DStream whose every batch is such an RDD, its
//! ranges chosen on the driver and kept in the streaming checkpoint. With feature `sql` it also
//! registers format `kafka` for DataFrames: a Structured Streaming source and transactional
//! sink, and batch reads (`sql` module). It does not own the streaming engines
//! (`ember-streaming`, `ember_sql::streaming`).
//!
//! The client is librdkafka through the `rdkafka` crate, built from the source that crate
//! carries: it has consumer offsets, transactions and `read_committed`, which exactly-once
//! reading and writing need (see `docs/kafka.md`).
//!
//! # Kafka parameters
//!
//! Parameters are librdkafka's (`bootstrap.servers`, `group.id`, `isolation.level`, ...), which
//! for the common keys are the Java client's names too. `bootstrap.servers` is required. As in
//! Spark, executors never commit offsets (`enable.auto.commit` is set to `false`) and read from
//! the offsets they are given.
//!
//! ```
//! use ember_core::Context;
//! use ember_kafka::{KafkaUtils, OffsetRange};
//! use std::collections::BTreeMap;
//!
//! let ctx = Context::with_master("local[2]").unwrap();
//! let params = BTreeMap::from([("bootstrap.servers".to_string(), "127.0.0.1:9092".to_string())]);
//! // Nothing is read, and no broker asked, until a job runs.
//! let ranges = vec![OffsetRange::new("events", 0, 0, 100), OffsetRange::new("events", 1, 0, 100)];
//! let records = KafkaUtils::create_rdd(&ctx, &params, ranges).unwrap();
//! assert_eq!(records.num_partitions(), 2);
//! ```

mod cache;
mod direct;
mod fetched;
mod params;
#[cfg(feature = "sql")]
mod produced;
mod rdd;
#[cfg(feature = "sql")]
mod sql;

pub use direct::{DirectKafkaStream, StartingOffsets};
pub use params::KafkaParams;
pub use rdd::{latest_offsets, ConsumerRecord, KafkaUtils, OffsetRange};

/// The `ember.streaming.kafka.*` keys, as Spark's `spark.streaming.kafka.*`.
pub mod conf {
    use ember_core::conf::ConfigEntry;

    ember_core::config_keys! {
        area: "Kafka";
        /// How long an executor waits for the records of its offset range before the task
        /// fails (`ember.streaming.kafka.consumer.poll.ms`, Spark's default: two minutes).
        pub const POLL_TIMEOUT: ConfigEntry<std::time::Duration> = ConfigEntry::milliseconds(
            "ember.streaming.kafka.consumer.poll.ms",
            Some("120000"),
            "how long a task waits for the records of its Kafka offset range before it fails",
            "0.1.0",
        );

        /// The most records a batch of a direct stream reads from each Kafka partition, per
        /// second of the batch interval (`ember.streaming.kafka.maxRatePerPartition`); 0 for
        /// no limit.
        pub const MAX_RATE_PER_PARTITION: ConfigEntry<u64> = ConfigEntry::count(
            "ember.streaming.kafka.maxRatePerPartition",
            Some("0"),
            "most records a second of batch interval a direct stream's batch reads from each Kafka partition; 0 for no limit",
            "0.1.0",
        );

        /// Whether executors keep their Kafka consumers between tasks, so that the next range
        /// of a partition reads on without a new connection
        /// (`ember.streaming.kafka.consumer.cache.enabled`, as Spark's).
        pub const CONSUMER_CACHE_ENABLED: ConfigEntry<bool> = ConfigEntry::boolean(
            "ember.streaming.kafka.consumer.cache.enabled",
            Some("true"),
            "whether executors keep their Kafka consumers between tasks",
            "0.1.0",
        );

        /// The most Kafka consumers an executor keeps between tasks, the least recently used
        /// closed first (`ember.streaming.kafka.consumer.cache.maxCapacity`, as Spark's).
        pub const CONSUMER_CACHE_CAPACITY: ConfigEntry<usize> = ConfigEntry::positive(
            "ember.streaming.kafka.consumer.cache.maxCapacity",
            Some("64"),
            "most Kafka consumers an executor keeps between tasks",
            "0.1.0",
        );
    }
}
