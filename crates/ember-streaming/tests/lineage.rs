//! Streams that build on their own previous RDD (state, incremental windows) are checkpointed,
//! so that their lineage, and with it each task's size and each batch's planning, stays flat
//! however many batches run.

mod support;

use ember_core::Fn;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{queue, Driven};

const BATCHES: usize = 1_000;

/// The lines of each batch's lineage as `to_debug_string` prints it, batch by batch.
fn lineage_lengths(
    define: impl FnOnce(&ember_streaming::DStream<(u32, u64)>) -> ember_streaming::DStream<(u32, u64)>,
) -> Vec<usize> {
    let mut driven = Driven::new("local[2]");
    let dir = tempfile::tempdir().unwrap();
    driven.ssc.checkpoint(dir.path().to_str().unwrap()).unwrap();
    let (input, stream) = queue::<(u32, u64)>(&driven.ssc);
    let lengths = Arc::new(Mutex::new(Vec::new()));
    let sink = lengths.clone();
    define(&stream).foreach_rdd(move |rdd, _| {
        rdd.count()?;
        sink.lock()
            .unwrap()
            .push(rdd.to_debug_string().lines().count());
        Ok(())
    });
    driven.ssc.start().unwrap();
    for i in 0..BATCHES as u64 {
        input.push(driven.ctx.parallelize(vec![((i % 7) as u32, i), (1, 1)], 2));
        driven.step();
    }
    driven.ssc.stop(true, true);
    // Old RDD checkpoints go once no metadata checkpoint names them: a few remain, not one
    // per checkpoint interval of the run.
    let rdd_checkpoints = walkdir(dir.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("rdd-"))
        .count();
    assert!(
        (1..=6).contains(&rdd_checkpoints),
        "{rdd_checkpoints} RDD checkpoints left"
    );
    let lengths = lengths.lock().unwrap().clone();
    lengths
}

/// The directories under `root`, one level down from each of its own.
fn walkdir(root: &std::path::Path) -> impl Iterator<Item = std::path::PathBuf> {
    let children = |p: &std::path::Path| {
        std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    children(root)
        .into_iter()
        .filter(|p| p.is_dir())
        .flat_map(move |p| children(&p))
        .filter(|p| p.is_dir())
}

fn assert_flat(lengths: &[usize]) {
    assert_eq!(lengths.len(), BATCHES);
    let early = lengths[..30].iter().max().unwrap();
    let late = lengths[30..].iter().max().unwrap();
    // Each batch adds its lines until a checkpoint (every 10 s of batches) cuts them: a saw
    // whose teeth do not grow. Uncut, 1,000 batches would print thousands of lines.
    assert!(late <= early, "lineage grew: {lengths:?}");
    let cuts = lengths.iter().filter(|&&n| n <= 2).count();
    assert!(
        cuts >= BATCHES / 10 - 1,
        "lineage not cut by checkpoints: {lengths:?}"
    );
}

#[test]
fn state_lineage_stays_flat_over_a_thousand_batches() {
    let lengths = lineage_lengths(|s| {
        s.update_state_by_key(
            Fn!(|new: Vec<u64>, total: Option<u64>| Some(
                total.unwrap_or(0) + new.iter().sum::<u64>()
            )),
            2,
        )
    });
    assert_flat(&lengths);
}

#[test]
fn incremental_window_lineage_stays_flat_over_a_thousand_batches() {
    let lengths = lineage_lengths(|s| {
        s.reduce_by_key_and_window_inv(
            Fn!(|a: u64, b: u64| a + b),
            Fn!(|a: u64, b: u64| a - b),
            Duration::from_secs(5),
            Duration::from_secs(1),
            2,
            Fn!(|kv: &(u32, u64)| kv.1 > 0),
        )
        .unwrap()
    });
    assert_flat(&lengths);
}
