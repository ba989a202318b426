//! RDD checkpoints to the mini cluster's HDFS and S3: part files under the application's
//! checkpoint directory, read back instead of the lineage, and on HDFS preferred where their
//! blocks are.

use ember_core::rdd::Dependency;
use ember_core::{Context, Fn};
use ember_integration::{context, names_under, unique};
use std::collections::BTreeMap;

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2,1,512]"];

fn lines() -> Vec<String> {
    (0..3000)
        .map(|i| format!("w{} w{} x", i % 37, i % 11))
        .collect()
}

/// The oracle: word counts in plain Rust.
fn word_counts() -> Vec<(String, u64)> {
    let mut counts = BTreeMap::<String, u64>::new();
    for line in lines() {
        for w in line.split(' ') {
            *counts.entry(w.to_string()).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// Checkpoints word counts under `dir` and checks them read back; returns the part files' URLs
/// and, for each partition, the hosts the checkpoint RDD prefers.
fn checkpoint_word_counts(ctx: &Context, dir: &str) -> Vec<(String, Vec<String>)> {
    ctx.set_checkpoint_dir(dir).unwrap();
    let app_dir = ctx.checkpoint_dir().unwrap();
    assert!(app_dir.starts_with(dir.trim_end_matches('/')), "{app_dir}");
    let computed = ctx.long_accumulator();
    let acc = computed.clone();
    let counts = ctx
        .parallelize(lines(), 6)
        .flat_map(Fn!(move |l: String| {
            acc.add(1);
            l.split(' ').map(str::to_string).collect::<Vec<_>>()
        }))
        .map(Fn!(|w: String| (w, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
    counts.checkpoint().unwrap();
    let mut got = counts.collect().unwrap();
    got.sort();
    assert_eq!(got, word_counts(), "{dir}");
    let file = counts.get_checkpoint_file().unwrap();
    assert_eq!(file, format!("{app_dir}/rdd-{}", counts.id()));
    let parts: Vec<String> = (0..counts.num_partitions())
        .map(|p| format!("part-{p:05}"))
        .collect();
    let names: Vec<String> = names_under(&file)
        .into_iter()
        .filter(|n| n.starts_with("part-"))
        .collect();
    assert_eq!(names, parts, "{file}");
    assert!(
        !names_under(&file)
            .iter()
            .any(|n| n.starts_with("_temporary")),
        "{file}: uncommitted files left"
    );

    // Read back from the files: same results, one stage, the map side not computed again.
    let runs = computed.value();
    let mut again = counts.collect().unwrap();
    again.sort();
    assert_eq!(again, word_counts(), "{dir}");
    assert_eq!(ctx.last_job_summary().unwrap().stages, 1);
    assert_eq!(
        computed.value(),
        runs,
        "{dir}: the lineage was computed again"
    );
    let deps = counts.dependencies();
    let Some(Dependency::Narrow(checkpoint)) = deps.first() else {
        panic!("{dir}: a checkpointed RDD reads its checkpoint");
    };
    assert_eq!(deps.len(), 1);
    assert!(checkpoint.dependencies().is_empty());
    parts
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let hosts = checkpoint.preferred_locations(p);
            assert_eq!(counts.preferred_locations(p), hosts, "{dir}: partition {p}");
            (format!("{file}/{name}"), hosts)
        })
        .collect()
}

#[test]
fn an_rdd_checkpointed_to_hdfs_is_read_from_its_part_files_where_their_blocks_are() {
    let fs = ember_integration::hadoop_conf().default_fs();
    for master in MASTERS {
        let ctx = context(master, &[]);
        let dir = format!(
            "{}/ember-it/checkpoints/{}",
            fs.trim_end_matches('/'),
            unique("ckpt")
        );
        for (part, preferred) in checkpoint_word_counts(&ctx, &dir) {
            let mut hosts: Vec<String> = ember_integration::hadoop_block_hosts(&part)
                .into_iter()
                .flat_map(|(_, _, hosts)| hosts)
                .collect();
            hosts.sort();
            hosts.dedup();
            let mut preferred = preferred;
            preferred.sort();
            assert!(!hosts.is_empty(), "{part}: no blocks");
            assert_eq!(
                preferred, hosts,
                "{part}: preferred hosts are its block hosts"
            );
        }
    }
}

#[test]
fn an_rdd_checkpointed_to_s3_is_read_from_its_part_files() {
    ember_integration::create_bucket("ember-checkpoints");
    for master in MASTERS {
        let ctx = context(master, &[]);
        let dir = format!("s3a://ember-checkpoints/{}", unique("ckpt"));
        let parts = checkpoint_word_counts(&ctx, &dir);
        // S3 does not say where objects are: no preferred hosts.
        assert!(parts.iter().all(|(_, hosts)| hosts.is_empty()), "{parts:?}");
    }
}
