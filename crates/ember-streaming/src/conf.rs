//! The `ember.streaming.*` keys, as Spark's `spark.streaming.*` of the same names.

use ember_core::conf::ConfigEntry;

ember_core::config_keys! {
    area: "Streaming";
    /// How often a receiver turns what it received into a block (`ember.streaming.blockInterval`):
    /// each block is a partition, so a batch of a receiver's stream has about
    /// batch interval / block interval partitions.
    pub const BLOCK_INTERVAL: ConfigEntry<std::time::Duration> = ConfigEntry::seconds(
        "ember.streaming.blockInterval",
        Some("200ms"),
        "how often a receiver stores what it received as a block, a partition of its stream's batch",
        "0.1.0",
    );

    /// The most records a second each receiver stores (`ember.streaming.receiver.maxRate`);
    /// 0 for no limit. Backpressure never sets a higher rate.
    pub const RECEIVER_MAX_RATE: ConfigEntry<u64> = ConfigEntry::count(
        "ember.streaming.receiver.maxRate",
        Some("0"),
        "most records a second each receiver stores; 0 for no limit",
        "0.1.0",
    );

    /// How long a failed receiver waits before it starts again
    /// (`ember.streaming.receiverRestartDelay`).
    pub const RECEIVER_RESTART_DELAY: ConfigEntry<std::time::Duration> = ConfigEntry::seconds(
        "ember.streaming.receiverRestartDelay",
        Some("2s"),
        "how long a receiver that failed or asked to restart waits before it starts again",
        "0.1.0",
    );

    /// Whether receivers write what they store to the checkpoint directory before reporting it
    /// (`ember.streaming.receiver.writeAheadLog.enable`), so that a batch whose blocks died with
    /// their executor reads them from the log. Needs `StreamingContext::checkpoint`.
    pub const RECEIVER_WAL_ENABLE: ConfigEntry<bool> = ConfigEntry::boolean(
        "ember.streaming.receiver.writeAheadLog.enable",
        Some("false"),
        "write every block a receiver stores to the checkpoint directory before it is reported, so no received data is lost with an executor",
        "0.1.0",
    );

    /// Whether receivers' rates follow how fast batches are processed
    /// (`ember.streaming.backpressure.enabled`).
    pub const BACKPRESSURE_ENABLED: ConfigEntry<bool> = ConfigEntry::boolean(
        "ember.streaming.backpressure.enabled",
        Some("false"),
        "set receivers' rates after every batch so that batches are processed as fast as they arrive",
        "0.1.0",
    );

    /// The rate receivers start at under backpressure, before a batch has set one
    /// (`ember.streaming.backpressure.initialRate`); none by default.
    pub const BACKPRESSURE_INITIAL_RATE: ConfigEntry<u64> = ConfigEntry::count(
        "ember.streaming.backpressure.initialRate",
        None,
        "records a second each receiver stores under backpressure until the first batch sets a rate",
        "0.1.0",
    );
}
