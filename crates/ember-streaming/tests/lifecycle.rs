//! Starting, stopping and failing: the errors a user meets, and what each kind of stop runs.

mod support;

use ember_core::Fn;
use ember_streaming::{StreamingContext, StreamingContextState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{context, queue, Driven, BATCH};

fn message<T>(result: ember_core::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_batch_interval_of_zero_is_refused_with_the_fix() {
    let ctx = context("local[1]");
    let err = message(StreamingContext::new(&ctx, Duration::ZERO));
    assert!(err.contains("at least 1 ms"), "{err}");
    assert!(err.contains("Duration::from_secs(1)"), "{err}");
}

#[test]
fn a_context_without_outputs_does_not_start() {
    let driven = Driven::new("local[1]");
    let _ = queue::<u32>(&driven.ssc);
    let err = message(driven.ssc.start());
    assert!(err.contains("no output operations registered"), "{err}");
    assert_eq!(driven.ssc.state(), StreamingContextState::Initialized);
}

#[test]
fn state_without_a_checkpoint_directory_names_the_stream_and_the_call() {
    let driven = Driven::new("local[1]");
    let (_, stream) = queue::<(u32, u32)>(&driven.ssc);
    stream
        .update_state_by_key(Fn!(|_: Vec<u32>, s: Option<u32>| s), 1)
        .foreach_rdd(|_, _| Ok(()));
    let err = message(driven.ssc.start());
    assert!(err.contains("update_state_by_key"), "{err}");
    assert!(err.contains("StreamingContext::checkpoint"), "{err}");
}

#[test]
fn windows_must_be_multiples_of_the_batch_interval() {
    let driven = Driven::new("local[1]");
    let (_, stream) = queue::<u32>(&driven.ssc);
    let err = message(stream.window(Duration::from_millis(2500), BATCH));
    assert!(err.contains("whole multiple"), "{err}");
    assert!(err.contains("2.5s"), "{err}");
}

#[test]
fn a_context_starts_once_and_not_after_it_stopped() {
    let driven = Driven::new("local[1]");
    let (_, stream) = queue::<u32>(&driven.ssc);
    stream.foreach_rdd(|_, _| Ok(()));
    driven.ssc.start().unwrap();
    assert_eq!(driven.ssc.state(), StreamingContextState::Active);
    assert!(message(driven.ssc.start()).contains("already been started"));
    driven.ssc.stop(false, false);
    assert_eq!(driven.ssc.state(), StreamingContextState::Stopped);
    assert!(message(driven.ssc.start()).contains("already been stopped"));
    // The Context goes on.
    assert_eq!(driven.ctx.parallelize(vec![1, 2, 3], 1).count().unwrap(), 3);
}

#[test]
fn a_failed_batch_reaches_await_termination_and_later_batches_still_run() {
    let mut driven = Driven::new("local[2]");
    let (input, stream) = queue::<u32>(&driven.ssc);
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    stream.foreach_rdd(move |rdd, _| {
        let n = rdd.count()?;
        counter.fetch_add(1, Ordering::SeqCst);
        match n {
            2 => Err(ember_core::Error::Input("two is too many".into())),
            _ => Ok(()),
        }
    });
    driven.ssc.start().unwrap();
    input.push(driven.ctx.parallelize(vec![1, 2], 1));
    driven.step();
    let err = message(
        driven
            .ssc
            .await_termination_or_timeout(Duration::from_secs(10)),
    );
    assert!(err.contains("two is too many"), "{err}");
    input.push(driven.ctx.parallelize(vec![1], 1));
    driven.step();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    let failures: Vec<usize> = driven
        .batches
        .wait_for(2)
        .iter()
        .map(|b| b.failures.len())
        .collect();
    assert_eq!(failures, vec![1, 0]);
    driven.ssc.stop(true, false);
}

/// Three batches due at once behind a slow first one; returns how many ran after the stop.
fn stop_with_three_due(graceful: bool) -> usize {
    let driven = Driven::new("local[2]");
    let (input, stream) = queue::<u32>(&driven.ssc);
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    stream.foreach_rdd(move |rdd, _| {
        rdd.count()?;
        std::thread::sleep(Duration::from_millis(300));
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    driven.ssc.start().unwrap();
    for i in 0..3 {
        input.push(driven.ctx.parallelize(vec![i], 1));
    }
    driven.clock.advance(3 * BATCH);
    // The first batch is running, the other two wait behind it.
    std::thread::sleep(Duration::from_millis(100));
    driven.ssc.stop(true, graceful);
    ran.load(Ordering::SeqCst)
}

#[test]
fn a_graceful_stop_runs_the_batches_already_due() {
    assert_eq!(stop_with_three_due(true), 3);
}

#[test]
fn a_forced_stop_drops_the_batches_waiting() {
    assert!(stop_with_three_due(false) < 3);
}

#[test]
fn batch_lines_give_their_delays() {
    let mut driven = Driven::new("local[1]");
    let (input, stream) = queue::<u32>(&driven.ssc);
    stream
        .count()
        .foreach_rdd(|rdd, _| rdd.collect().map(|_| ()));
    driven.ssc.start().unwrap();
    input.push(driven.ctx.parallelize(vec![1], 1));
    driven.step();
    let info = &driven.batches.wait_for(1)[0];
    assert_eq!(info.batch_time.millis(), 1000);
    assert_eq!(info.output_operations, 1);
    let line = info.summary();
    assert!(
        line.starts_with("batch 1000 ms: 1 output operations"),
        "{line}"
    );
    assert!(line.contains("scheduling delay 0 ms"), "{line}");
    driven.ssc.stop(true, false);
}

#[test]
fn a_panicking_output_fails_its_batch_without_stopping_the_stream() {
    let mut driven = Driven::new("local[1]");
    let (input, stream) = queue::<u32>(&driven.ssc);
    stream.foreach_rdd(|rdd, _| {
        if rdd.count()? == 2 {
            panic!("two records");
        }
        Ok(())
    });
    driven.ssc.start().unwrap();
    input.push(driven.ctx.parallelize(vec![1, 2], 1));
    driven.step();
    input.push(driven.ctx.parallelize(vec![1], 1));
    driven.step();
    let failures: Vec<Vec<String>> = driven
        .batches
        .wait_for(2)
        .into_iter()
        .map(|b| b.failures)
        .collect();
    assert!(
        failures[0][0].contains("an output operation panicked: two records"),
        "{failures:?}"
    );
    assert!(failures[1].is_empty(), "{failures:?}");
    let err = message(
        driven
            .ssc
            .await_termination_or_timeout(Duration::from_secs(1)),
    );
    assert!(err.contains("two records"), "{err}");
    driven.ssc.stop(true, false);
}

#[test]
#[should_panic(expected = "output operations must be added before StreamingContext::start")]
fn outputs_added_after_start_are_refused() {
    let driven = Driven::new("local[1]");
    let (_, stream) = queue::<u32>(&driven.ssc);
    stream.foreach_rdd(|_, _| Ok(()));
    driven.ssc.start().unwrap();
    stream.count().foreach_rdd(|_, _| Ok(()));
}

#[test]
fn the_event_log_records_every_batch_as_spark_names_its_streaming_events() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ember_core::Context::new(
        ember_core::EmberConf::empty()
            .set_master("local[2]")
            .set("ember.ui.showConsoleProgress", "false")
            .set("ember.eventLog.enabled", "true")
            .set("ember.eventLog.dir", dir.path().to_str().unwrap()),
    )
    .unwrap();
    let clock = ember_streaming::ManualClock::new(ember_streaming::Time::from_millis(0));
    let ssc = StreamingContext::with_clock(&ctx, BATCH, clock.clone()).unwrap();
    let batches = support::BatchCounter::default();
    ssc.add_streaming_listener(batches.clone());
    let (input, stream) = queue::<u32>(&ssc);
    stream.count().foreach_rdd(|rdd, _| rdd.collect().map(drop));
    ssc.start().unwrap();
    for b in 1..=3 {
        input.push(ctx.parallelize((0..b).collect(), 2));
        clock.advance(BATCH);
        batches.wait_for(b as usize);
    }
    ssc.stop(true, true);
    let log = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let name = |e: &serde_json::Value| e["Event"].as_str().unwrap().to_string();
    let streaming: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| name(e).starts_with("org.apache.spark.streaming.scheduler."))
        .collect();
    let short = |e: &serde_json::Value| name(e).rsplit('.').next().unwrap().to_string();
    assert_eq!(short(streaming[0]), "StreamingListenerStreamingStarted");
    assert_eq!(streaming[0]["time"], 1000);
    for (b, per_batch) in streaming[1..].chunks(3).enumerate() {
        let kinds: Vec<String> = per_batch.iter().map(|e| short(e)).collect();
        assert_eq!(
            kinds,
            [
                "StreamingListenerBatchSubmitted",
                "StreamingListenerBatchStarted",
                "StreamingListenerBatchCompleted"
            ]
        );
        let time = 1000 * (b as i64 + 1);
        for event in per_batch {
            let info = &event["batchInfo"];
            assert_eq!(info["batchTime"]["milliseconds"], time);
            assert_eq!(info["numOutputOperations"], 1);
        }
        assert!(per_batch[0]["batchInfo"]["processingStartTime"].is_null());
        assert!(per_batch[1]["batchInfo"]["processingEndTime"].is_null());
        assert!(per_batch[2]["batchInfo"]["totalDelay"].is_u64());
    }
    assert_eq!(streaming.len(), 1 + 3 * 3);
    // Each batch's job is logged between its start and its completion.
    let position = |kind: &str, time: i64| {
        events.iter().position(|e| {
            name(e).ends_with(kind) && e["batchInfo"]["batchTime"]["milliseconds"] == time
        })
    };
    for time in [1000, 2000, 3000] {
        let (started, completed) = (
            position("BatchStarted", time).unwrap(),
            position("BatchCompleted", time).unwrap(),
        );
        let jobs = events[started..completed]
            .iter()
            .filter(|e| name(e) == "SparkListenerJobStart")
            .count();
        assert_eq!(jobs, 1, "jobs of batch {time}");
    }
}
