//! A stream driven batch by batch: a manual clock, queues to feed, and a listener to wait on.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use ember_core::{Context, Data, EmberConf};
use ember_streaming::{
    BatchInfo, DStream, ManualClock, RddQueue, StreamingContext, StreamingListener, Time,
};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub const BATCH: Duration = Duration::from_secs(1);

pub fn context(master: &str) -> Context {
    Context::new(
        EmberConf::empty()
            .set_master(master)
            .set("ember.ui.showConsoleProgress", "false"),
    )
    .unwrap()
}

/// Counts completed batches (Spark's test `BatchCounter`).
#[derive(Clone, Default)]
pub struct BatchCounter {
    done: Arc<(Mutex<Vec<BatchInfo>>, Condvar)>,
}

impl StreamingListener for BatchCounter {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.done.0.lock().unwrap().push(batch.clone());
        self.done.1.notify_all();
    }
}

impl BatchCounter {
    /// Waits until `n` batches have completed; panics after 60 s.
    pub fn wait_for(&self, n: usize) -> Vec<BatchInfo> {
        let (done, changed) = &*self.done;
        let (done, timeout) = changed
            .wait_timeout_while(done.lock().unwrap(), Duration::from_secs(60), |d| {
                d.len() < n
            })
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} of {n} batches completed",
            done.len()
        );
        done.clone()
    }
}

/// A streaming context on a manual clock at 0, with its batch counter.
pub struct Driven {
    pub ctx: Context,
    pub ssc: StreamingContext,
    pub clock: ManualClock,
    pub batches: BatchCounter,
    pub steps: usize,
}

impl Driven {
    pub fn new(master: &str) -> Driven {
        Driven::at(master, 0)
    }

    /// With the clock at `start_ms`.
    pub fn at(master: &str, start_ms: i64) -> Driven {
        let ctx = context(master);
        let clock = ManualClock::new(Time::from_millis(start_ms));
        let ssc = StreamingContext::with_clock(&ctx, BATCH, clock.clone()).unwrap();
        let batches = BatchCounter::default();
        ssc.add_streaming_listener(batches.clone());
        Driven {
            ctx,
            ssc,
            clock,
            batches,
            steps: 0,
        }
    }

    /// Runs one more batch and waits for it.
    pub fn step(&mut self) {
        self.steps += 1;
        self.clock.advance(BATCH);
        self.batches.wait_for(self.steps);
    }
}

/// A queue stream and its queue.
pub fn queue<T: Data>(ssc: &StreamingContext) -> (RddQueue<T>, DStream<T>) {
    let queue = RddQueue::new();
    let stream = ssc.queue_stream(&queue, true);
    (queue, stream)
}
