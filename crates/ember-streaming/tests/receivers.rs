//! Receivers: a real TCP server feeding `socket_text_stream` on `local[2]` and on
//! `local-cluster` (with the receiver's executor killed), a custom receiver, and the errors a
//! user meets. Batches run on the real clock; each test captures every batch's input and checks
//! what the batch computed against a plain-Rust oracle over that input.

use ember_core::{Context, EmberConf, Fn};
use ember_streaming::{
    BatchInfo, Receiver, ReceiverContext, ReceiverInfo, StreamingContext, StreamingListener, Time,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const BATCH: Duration = Duration::from_millis(300);

fn context(master: &str) -> Context {
    Context::new(conf(master)).unwrap()
}

fn conf(master: &str) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set("ember.ui.showConsoleProgress", "false")
        .set("ember.streaming.blockInterval", "50ms")
        .set("ember.streaming.receiverRestartDelay", "200ms")
}

/// A TCP server the test writes lines to, through whichever connection came last (a
/// receiver that starts again connects anew).
struct LineServer {
    port: u16,
    connection: Arc<(Mutex<Option<TcpStream>>, Condvar)>,
}

impl LineServer {
    fn start() -> LineServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connection: Arc<(Mutex<Option<TcpStream>>, Condvar)> = Arc::default();
        let accepted = connection.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *accepted.0.lock().unwrap() = Some(stream);
                accepted.1.notify_all();
            }
        });
        LineServer { port, connection }
    }

    /// Waits for a connection, then writes `lines` to it.
    fn send(&self, lines: &[String]) {
        let (connection, connected) = &*self.connection;
        let (mut connection, timeout) = connected
            .wait_timeout_while(connection.lock().unwrap(), Duration::from_secs(60), |c| {
                c.is_none()
            })
            .unwrap();
        assert!(!timeout.timed_out(), "no receiver connected");
        let socket = connection.as_mut().unwrap();
        for line in lines {
            writeln!(socket, "{line}").unwrap();
        }
        socket.flush().unwrap();
    }

    /// Forgets the current connection: the next `send` waits for a new one.
    fn drop_connection(&self) {
        self.connection.0.lock().unwrap().take();
    }
}

/// What listeners heard: completed batches and receiver events.
#[derive(Clone, Default)]
struct Heard {
    inner: Arc<(Mutex<HeardState>, Condvar)>,
}

#[derive(Default)]
struct HeardState {
    submitted: Vec<BatchInfo>,
    running: Vec<BatchInfo>,
    batches: Vec<BatchInfo>,
    started: Vec<ReceiverInfo>,
    errors: Vec<ReceiverInfo>,
    stopped: Vec<ReceiverInfo>,
}

impl StreamingListener for Heard {
    fn on_batch_submitted(&self, batch: &BatchInfo) {
        self.change(|h| h.submitted.push(batch.clone()));
    }
    fn on_batch_started(&self, batch: &BatchInfo) {
        self.change(|h| h.running.push(batch.clone()));
    }
    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.change(|h| h.batches.push(batch.clone()));
    }
    fn on_receiver_started(&self, receiver: &ReceiverInfo) {
        self.change(|h| h.started.push(receiver.clone()));
    }
    fn on_receiver_error(&self, receiver: &ReceiverInfo) {
        self.change(|h| h.errors.push(receiver.clone()));
    }
    fn on_receiver_stopped(&self, receiver: &ReceiverInfo) {
        self.change(|h| h.stopped.push(receiver.clone()));
    }
}

impl Heard {
    fn change(&self, f: impl FnOnce(&mut HeardState)) {
        f(&mut self.inner.0.lock().unwrap());
        self.inner.1.notify_all();
    }

    /// Waits up to 60 s until `done` holds of what was heard.
    fn wait_until(&self, what: &str, done: impl Fn(&HeardState) -> bool) {
        let (state, changed) = &*self.inner;
        let (state, timeout) = changed
            .wait_timeout_while(state.lock().unwrap(), Duration::from_secs(60), |s| !done(s))
            .unwrap();
        drop(state);
        assert!(!timeout.timed_out(), "waited 60 s for {what}");
    }

    fn with<R>(&self, f: impl FnOnce(&HeardState) -> R) -> R {
        f(&self.inner.0.lock().unwrap())
    }
}

type PerBatch<T> = Arc<Mutex<BTreeMap<Time, T>>>;

/// Keeps every batch's RDD of `stream`, collected and sorted, by batch time.
fn capture<T: ember_core::Data + Ord>(stream: &ember_streaming::DStream<T>) -> PerBatch<Vec<T>> {
    let kept: PerBatch<Vec<T>> = Arc::default();
    let into = kept.clone();
    stream.foreach_rdd(move |rdd, time| {
        let mut values = rdd.collect()?;
        values.sort();
        into.lock().unwrap().insert(time, values);
        Ok(())
    });
    kept
}

fn words(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split(' ').map(String::from)
}

/// Word counts of `lines`, sorted by word.
fn count_words<'a>(lines: impl IntoIterator<Item = &'a String>) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for line in lines {
        for word in words(line) {
            *counts.entry(word).or_insert(0) += 1;
        }
    }
    counts.into_iter().collect()
}

fn round(r: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("w{} r{r} v{}", i % 7, (i * 13 + r) % 5))
        .collect()
}

/// Waits until the batches' inputs hold `n` lines in all.
fn wait_for_lines(inputs: &PerBatch<Vec<String>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: usize = inputs.lock().unwrap().values().map(Vec::len).sum();
        if got >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {got} of {n} lines arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[test]
fn a_socket_stream_counts_per_batch_per_window_in_state_and_joined_what_a_server_sent() {
    let ctx = context("local[2]");
    let checkpoints = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    ssc.checkpoint(checkpoints.path().to_str().unwrap())
        .unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let server = LineServer::start();
    let lines = ssc.socket_text_stream("127.0.0.1", server.port);
    let pairs = lines
        .flat_map(Fn!(|l: String| l
            .split(' ')
            .map(String::from)
            .collect::<Vec<_>>()))
        .map(Fn!(|w: String| (w, 1u64)));
    let add = Fn!(|a: u64, b: u64| a + b);
    let inputs = capture(&lines);
    let batch_counts = pairs.reduce_by_key(add);
    let window_counts = pairs
        .reduce_by_key_and_window(add, 3 * BATCH, BATCH)
        .unwrap();
    let counts = capture(&batch_counts);
    let windowed = capture(&window_counts);
    // Each word of a batch beside its count over the window: a join of two streams.
    let joined = capture(&batch_counts.join(&window_counts));
    let totals = capture(&pairs.update_state_by_key(
        Fn!(|new: Vec<u64>, total: Option<u64>| Some(total.unwrap_or(0) + new.iter().sum::<u64>())),
        2,
    ));
    ssc.start().unwrap();
    let mut sent = Vec::new();
    for r in 0..6 {
        let lines = round(r, 200 + 50 * r);
        server.send(&lines);
        sent.extend(lines);
        std::thread::sleep(BATCH / 2);
    }
    wait_for_lines(&inputs, sent.len());
    ssc.stop(false, true);

    let inputs = inputs.lock().unwrap().clone();
    let received: Vec<String> = inputs.values().flatten().cloned().collect();
    assert_eq!(sorted(received), sorted(sent.clone()), "every line once");
    assert!(
        inputs.values().filter(|b| !b.is_empty()).count() > 1,
        "the lines spread over several batches"
    );
    let (counts, windowed, totals, joined) = (
        counts.lock().unwrap().clone(),
        windowed.lock().unwrap().clone(),
        totals.lock().unwrap().clone(),
        joined.lock().unwrap().clone(),
    );
    let mut so_far: Vec<&String> = Vec::new();
    for (time, batch) in &inputs {
        assert_eq!(counts[time], count_words(batch), "counts of batch {time}");
        let window = inputs.range(*time - 2 * BATCH..=*time).flat_map(|(_, b)| b);
        let mut expected = count_words(window);
        expected.retain(|(_, n)| *n > 0);
        let mut got = windowed[time].clone();
        got.retain(|(_, n)| *n > 0);
        assert_eq!(got, expected, "window ending at {time}");
        let window: BTreeMap<String, u64> = expected.into_iter().collect();
        let pairs: Vec<(String, (u64, u64))> = count_words(batch)
            .into_iter()
            .map(|(w, n)| (w.clone(), (n, window[&w])))
            .collect();
        assert_eq!(joined[time], pairs, "join at {time}");
        so_far.extend(batch);
        assert_eq!(
            totals[time],
            count_words(so_far.iter().copied()),
            "state at {time}"
        );
    }
    let records: u64 = heard.with(|h| h.batches.iter().map(|b| b.num_records.unwrap()).sum());
    assert_eq!(
        records,
        sent.len() as u64,
        "batch lines count what was received"
    );
    heard.with(|h| {
        assert_eq!(h.started.len(), 1);
        assert_eq!(
            h.started[0].name,
            format!("socket_text_stream 127.0.0.1:{}", server.port)
        );
        assert!(h
            .batches
            .iter()
            .all(|b| b.summary().contains("records received")));
    });
}

#[test]
fn each_batch_takes_what_arrived_before_it_even_when_only_a_window_reads_it() {
    let ctx = context("local[2]");
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let server = LineServer::start();
    // Tumbling windows of three batches: the lines are read only every third batch.
    let windows = capture(
        &ssc.socket_text_stream("127.0.0.1", server.port)
            .map(Fn!(|l: String| (l, 1u64)))
            .reduce_by_key_and_window(Fn!(|a: u64, b: u64| a + b), 3 * BATCH, 3 * BATCH)
            .unwrap(),
    );
    ssc.start().unwrap();
    let mut sent = Vec::new();
    for r in 0..8 {
        let lines = round(r, 100);
        server.send(&lines);
        sent.extend(lines);
        std::thread::sleep(BATCH / 2);
    }
    let total = sent.len() as u64;
    let counted = |w: &PerBatch<Vec<(String, u64)>>| -> u64 {
        w.lock().unwrap().values().flatten().map(|(_, n)| n).sum()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while counted(&windows) < total {
        assert!(
            Instant::now() < deadline,
            "the windows counted {} of {total}",
            counted(&windows)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, false);
    assert_eq!(counted(&windows), total, "each line in one window");
    let windows = windows.lock().unwrap().clone();
    let mut all: Vec<(String, u64)> = Vec::new();
    for window in windows.values() {
        all.extend(window.iter().cloned());
    }
    let mut by_line = BTreeMap::new();
    for (line, n) in all {
        *by_line.entry(line).or_insert(0) += n;
    }
    assert_eq!(
        by_line.into_iter().collect::<Vec<_>>(),
        count_words_whole(&sent)
    );
    heard.with(|h| {
        let unread = h
            .batches
            .iter()
            .filter(|b| b.output_operations == 0 && b.num_records.unwrap() > 0)
            .count();
        assert!(
            unread > 0,
            "batches no window read still took their lines: {:?}",
            h.batches
        );
    });
}

/// Counts from 0 to `to`, then stops itself.
#[derive(Serialize, Deserialize)]
struct CountTo {
    to: u64,
}

impl Receiver<u64> for CountTo {
    fn on_start(&self, context: &ReceiverContext<u64>) {
        let (context, to) = (context.clone(), self.to);
        std::thread::spawn(move || {
            for n in 0..to {
                if context.is_stopped() {
                    return;
                }
                context.store(n);
            }
            context.stop(format!("counted to {to}"));
        });
    }

    fn on_stop(&self) {}
}

#[test]
fn a_custom_receiver_stores_every_record_once_and_may_stop_itself() {
    let ctx = context("local[2]");
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let numbers = capture(&ssc.receiver_stream(CountTo { to: 50_000 }));
    ssc.start().unwrap();
    heard.wait_until("the receiver to stop", |h| !h.stopped.is_empty());
    let last = heard.with(|h| h.batches.len());
    heard.wait_until("two batches after the stop", |h| {
        h.batches.len() >= last + 2
    });
    ssc.stop(false, true);
    let all: Vec<u64> = numbers
        .lock()
        .unwrap()
        .values()
        .flatten()
        .copied()
        .collect();
    let mut all = all;
    all.sort_unstable();
    assert_eq!(all, (0..50_000).collect::<Vec<_>>());
    heard.with(|h| {
        assert_eq!(
            h.started.len(),
            1,
            "a receiver that stopped itself is not launched again"
        );
        assert_eq!(h.stopped[0].name, "receiver_stream CountTo");
        assert!(!h.stopped[0].active);
    });
}

/// Stores numbers as fast as it is let, until stopped.
#[derive(Serialize, Deserialize)]
struct Flood;

impl Receiver<u64> for Flood {
    fn on_start(&self, context: &ReceiverContext<u64>) {
        let context = context.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !context.is_stopped() {
                context.store_all(n..n + 100);
                n += 100;
            }
        });
    }

    fn on_stop(&self) {}
}

/// Runs a `Flood` on `local[2]` with `settings` for `seconds`, each record costing `cost` to
/// process; what listeners heard of the batches.
fn flood(settings: &[(&str, &str)], cost: Duration, seconds: u64) -> Vec<BatchInfo> {
    let mut conf = conf("local[2]");
    for &(key, value) in settings {
        conf = conf.set(key, value);
    }
    let ctx = Context::new(conf).unwrap();
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(250)).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let micros = cost.as_micros() as u64;
    ssc.receiver_stream(Flood).foreach_rdd(move |rdd, _| {
        let slow = rdd.map_partitions(Fn!(move |records: ember_core::rdd::BoxIter<u64>| {
            let n = records.count() as u64;
            std::thread::sleep(Duration::from_micros(micros * n));
            Box::new(std::iter::once(n)) as ember_core::rdd::BoxIter<u64>
        }));
        slow.count().map(drop)
    });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_secs(seconds));
    ssc.stop(false, false);
    heard.with(|h| h.batches.clone())
}

#[test]
fn receiver_max_rate_caps_the_records_every_batch_takes() {
    let batches = flood(
        &[("ember.streaming.receiver.maxRate", "2000")],
        Duration::ZERO,
        3,
    );
    let records: Vec<u64> = batches.iter().filter_map(|b| b.num_records).collect();
    assert!(records.len() >= 8, "{records:?}");
    // 2,000 a second is 500 a 250 ms batch; a batch may take a block more or less.
    assert!(records.iter().all(|&n| n <= 800), "{records:?}");
    let steady = &records[2..records.len() - 1];
    let mean = steady.iter().sum::<u64>() / steady.len() as u64;
    assert!((350..=650).contains(&mean), "mean {mean} of {records:?}");
}

#[test]
fn under_backpressure_a_flood_slower_to_process_than_to_receive_keeps_its_delay_bounded() {
    // A record costs 100 µs on the one slot the receiver leaves: 10,000 a second at most,
    // where the flood could store millions.
    let batches = flood(
        &[
            ("ember.streaming.backpressure.enabled", "true"),
            ("ember.streaming.backpressure.initialRate", "1000"),
        ],
        Duration::from_micros(100),
        8,
    );
    assert!(batches.len() >= 16, "{} batches", batches.len());
    let late = &batches[batches.len() - 8..];
    let describe = || {
        let lines: Vec<String> = batches.iter().map(BatchInfo::summary).collect();
        lines.join("\n")
    };
    for batch in late {
        let delay = batch.scheduling_delay().unwrap();
        assert!(delay < Duration::from_secs(2), "{}", describe());
        assert!(batch.num_records.unwrap() <= 10_000, "{}", describe());
    }
    // The rate rose from the initial 1,000 a second (250 a batch) towards what the slot
    // processes.
    let taken: u64 = late.iter().map(|b| b.num_records.unwrap()).sum();
    assert!(taken > 8 * 400, "{}", describe());
}

#[test]
fn a_port_nobody_listens_on_is_reported_with_the_fix_and_retried() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let ctx = context("local[2]");
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    ssc.socket_text_stream("127.0.0.1", port).print(10);
    ssc.start().unwrap();
    heard.wait_until("two failed connections", |h| h.errors.len() >= 2);
    ssc.stop(false, false);
    let error = heard.with(|h| h.errors[0].last_error.clone().unwrap());
    assert!(
        error.contains(&format!("could not connect to 127.0.0.1:{port}")),
        "{error}"
    );
    assert!(error.contains(&format!("nc -lk {port}")), "{error}");
}

#[test]
fn receivers_need_a_slot_more_than_they_take() {
    let ctx = context("local[1]");
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    ssc.socket_text_stream("127.0.0.1", 9).print(10);
    let error = ssc.start().unwrap_err().to_string();
    assert!(
        error.contains("1 receiver(s) each take a task slot"),
        "{error}"
    );
    assert!(error.contains("local[2]"), "{error}");
}

/// Kills the process of the executor the first receiver started on, as the kernel would,
/// and forgets the server's connection to it; returns the executor's id.
fn kill_receiver_executor(ctx: &Context, heard: &Heard, server: &LineServer) -> String {
    let executor = heard.with(|h| h.started[0].executor_id.clone());
    assert_ne!(
        executor, "driver",
        "the receiver runs in an executor process"
    );
    let pid = ctx
        .executors()
        .into_iter()
        .find(|e| e.executor_id == executor)
        .unwrap()
        .pid;
    server.drop_connection();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    executor
}

#[test]
fn on_local_cluster_a_receiver_whose_executor_is_killed_starts_again_on_another() {
    let ctx = context("local-cluster[2,1,512]");
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let server = LineServer::start();
    let lines = ssc.socket_text_stream("127.0.0.1", server.port);
    let inputs = capture(&lines);
    let counts = capture(
        &lines
            .map(Fn!(|l: String| (l, 1u64)))
            .reduce_by_key(Fn!(|a: u64, b: u64| a + b)),
    );
    ssc.start().unwrap();
    let first = round(0, 500);
    server.send(&first);
    wait_for_lines(&inputs, first.len());
    // The batch that read the last of them has run all its jobs: none reads the blocks now.
    let done = heard.with(|h| h.batches.len());
    heard.wait_until("the batch to complete", |h| h.batches.len() > done);
    let executor = kill_receiver_executor(&ctx, &heard, &server);
    heard.wait_until("the receiver to start again", |h| h.started.len() >= 2);
    let again = heard.with(|h| h.started[1].executor_id.clone());
    assert_ne!(again, executor, "started again on another executor");
    let second = round(1, 500);
    server.send(&second);
    wait_for_lines(&inputs, first.len() + second.len());
    ssc.stop(false, true);
    let inputs = inputs.lock().unwrap().clone();
    let received: Vec<String> = inputs.values().flatten().cloned().collect();
    let sent: Vec<String> = first.into_iter().chain(second).collect();
    assert_eq!(sorted(received), sorted(sent));
    let counts = counts.lock().unwrap().clone();
    for (time, batch) in &inputs {
        assert_eq!(
            counts[time],
            count_words_whole(batch),
            "counts of batch {time}"
        );
    }
}

/// A door output functions wait at while the test holds it shut.
#[derive(Clone, Default)]
struct Gate {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    fn set_shut(&self, shut: bool) {
        *self.inner.0.lock().unwrap() = shut;
        self.inner.1.notify_all();
    }

    fn pass(&self) {
        let (shut, opened) = &*self.inner;
        drop(opened.wait_while(shut.lock().unwrap(), |s| *s).unwrap());
    }
}

#[test]
fn with_the_write_ahead_log_blocks_whose_executor_was_killed_are_read_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new(
        conf("local-cluster[2,1,512]").set("ember.streaming.receiver.writeAheadLog.enable", "true"),
    )
    .unwrap();
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    ssc.checkpoint(dir.path().to_str().unwrap()).unwrap();
    let heard = Heard::default();
    ssc.add_streaming_listener(heard.clone());
    let server = LineServer::start();
    let lines = ssc.socket_text_stream("127.0.0.1", server.port);
    // Batches wait here, so that the lines sent are stored, logged and handed to batches
    // before any batch reads them.
    let gate = Gate::default();
    let inputs: PerBatch<Vec<String>> = Arc::default();
    let (door, into) = (gate.clone(), inputs.clone());
    lines.foreach_rdd(move |rdd, time| {
        door.pass();
        let lines = sorted(rdd.collect()?);
        into.lock().unwrap().insert(time, lines);
        Ok(())
    });
    let counts = capture(
        &lines
            .flat_map(Fn!(|l: String| words(&l).collect::<Vec<_>>()))
            .map(Fn!(|w: String| (w, 1u64)))
            .reduce_by_key(Fn!(|a: u64, b: u64| a + b)),
    );
    ssc.start().unwrap();
    heard.wait_until("the receiver to start", |h| !h.started.is_empty());
    gate.set_shut(true);
    let held = heard.with(|h| h.running.len());
    heard.wait_until("a batch to wait at the gate", |h| h.running.len() > held);
    let waiting = heard.with(|h| h.running.last().unwrap().batch_time);
    let sent = round(0, 2_000);
    server.send(&sent);
    heard.wait_until("every line to go to a batch", |h| {
        let later = h.submitted.iter().filter(|b| b.batch_time > waiting);
        later.filter_map(|b| b.num_records).sum::<u64>() >= sent.len() as u64
    });
    kill_receiver_executor(&ctx, &heard, &server);
    gate.set_shut(false);
    wait_for_lines(&inputs, sent.len());
    ssc.stop(false, true);
    let inputs = inputs.lock().unwrap().clone();
    let received: Vec<String> = inputs.values().flatten().cloned().collect();
    assert_eq!(sorted(received), sorted(sent));
    let counts = counts.lock().unwrap().clone();
    for (time, batch) in inputs.iter().filter(|(_, b)| !b.is_empty()) {
        assert_eq!(counts[time], count_words(batch), "counts of batch {time}");
    }
    let failed: Vec<_> =
        heard.with(|h| h.batches.iter().flat_map(|b| b.failures.clone()).collect());
    assert!(failed.is_empty(), "{failed:?}");
    // The log was written, and its files went with the batches that read them.
    let log = format!("{}/receivedData/0", ctx.checkpoint_dir().unwrap());
    let left = std::fs::read_dir(log.trim_start_matches("file://")).unwrap();
    assert_eq!(left.count(), 0);
}

#[test]
fn the_write_ahead_log_needs_a_checkpoint_directory() {
    let ctx =
        Context::new(conf("local[2]").set("ember.streaming.receiver.writeAheadLog.enable", "true"))
            .unwrap();
    let ssc = StreamingContext::new(&ctx, BATCH).unwrap();
    ssc.socket_text_stream("127.0.0.1", 9).print(1);
    let error = ssc.start().unwrap_err().to_string();
    assert!(error.contains("writeAheadLog.enable"), "{error}");
    assert!(error.contains("StreamingContext::checkpoint"), "{error}");
}

/// Line counts of `lines`, sorted by line.
fn count_words_whole(lines: &[String]) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.clone()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}
