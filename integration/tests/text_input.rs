//! `text_file` and `whole_text_files` over the mini cluster's HDFS and S3: splits follow the
//! 1 MiB blocks (or `ember.files.maxPartitionBytes`), every line is read exactly once on
//! `local[N]` and on executor processes, gzip files are read whole, and splits prefer the hosts
//! (and so the racks) holding their blocks.

use ember_core::{Context, Fn};
use ember_hadoop::HadoopConf;
use ember_integration::{context, put};
use std::io::Write;

fn conf() -> HadoopConf {
    ember_integration::hadoop_conf()
}

fn hdfs(path: &str) -> String {
    format!("{}{path}", conf().default_fs().trim_end_matches('/'))
}

/// Lines of varied length (some longer than a 1 MiB block's remainder would allow).
fn lines(n: usize, seed: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{i} {}", "abcdefghij".repeat((i * 7 + seed) % 23)))
        .collect()
}

/// How many splits Hadoop's `FileInputFormat` cuts `len` bytes into at `split` bytes each: the
/// last split may be 10% longer.
fn hadoop_splits(len: usize, split: usize) -> usize {
    let (mut remaining, mut splits) = (len, 0);
    while remaining as f64 / split as f64 > 1.1 {
        remaining -= split;
        splits += 1;
    }
    splits + usize::from(remaining > 0)
}

fn read_lines(ctx: &Context, url: &str) -> (usize, Vec<String>) {
    let rdd = ctx.text_file(url, 0).unwrap();
    let partitions = rdd.num_partitions();
    (partitions, rdd.collect().unwrap())
}

#[test]
fn hdfs_files_split_by_block_and_every_line_is_read_once() {
    let want = lines(40_000, 1);
    let text = want.join("\n") + "\n";
    let blocks = text.len().div_ceil(1 << 20);
    assert!(blocks >= 5, "several 1 MiB blocks");
    // Every block boundary falls inside a line, so every split must hand a line to the next.
    for b in 1..blocks {
        let at = b << 20;
        assert!(text.as_bytes()[at - 1] != b'\n' && text.as_bytes()[at] != b'\n');
    }
    let url = hdfs("/ember-it/text/big.txt");
    put(&url, text.clone());
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let ctx = context(master, &[]);
        let (partitions, got) = read_lines(&ctx, &url);
        assert_eq!(partitions, hadoop_splits(text.len(), 1 << 20), "{master}");
        assert_eq!(got, want, "{master}");
        // A bare path means fs.defaultFS: HDFS here.
        let (_, bare) = read_lines(&ctx, "/ember-it/text/big.txt");
        assert_eq!(bare.len(), want.len(), "{master}");
        let words = ctx
            .text_file(&url, 0)
            .unwrap()
            .flat_map(Fn!(|l: String| l
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>()))
            .count()
            .unwrap();
        let plain: usize = want.iter().map(|l| l.split(' ').count()).sum();
        assert_eq!(words as usize, plain, "{master}");
    }
    // Smaller splits than blocks: split boundaries inside blocks, still every line once.
    let ctx = context("local[2]", &[("ember.files.maxPartitionBytes", "256k")]);
    let (partitions, got) = read_lines(&ctx, &url);
    assert_eq!(partitions, hadoop_splits(text.len(), 256 << 10));
    assert_eq!(got, want, "maxPartitionBytes=256k");
}

#[test]
fn gzip_files_on_hdfs_and_s3_are_read_whole_by_one_task() {
    ember_integration::create_bucket("ember-gzip");
    // Pseudo-random hex, so that the compressed file still spans several blocks.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let want: Vec<String> = (0..50_000)
        .map(|i| {
            let words: Vec<String> = (0..4)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("{state:016x}")
                })
                .collect();
            format!("{i} {}", words.join(" "))
        })
        .collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all((want.join("\n") + "\n").as_bytes())
        .unwrap();
    let gz = encoder.finish().unwrap();
    assert!(
        gz.len() > 1 << 20,
        "spans several blocks: {} bytes",
        gz.len()
    );
    let ctx = context("local-cluster[2,1,512]", &[]);
    for url in [
        hdfs("/ember-it/gzip/lines.txt.gz"),
        "s3a://ember-gzip/lines.txt.gz".to_string(),
    ] {
        put(&url, gz.clone());
        let (partitions, got) = read_lines(&ctx, &url);
        assert_eq!(partitions, 1, "{url}: gzip cannot be split");
        assert_eq!(got, want, "{url}");
    }
}

#[test]
fn directories_and_globs_on_hdfs_and_s3() {
    ember_integration::create_bucket("ember-text");
    let ctx = context("local[2]", &[]);
    for base in [hdfs("/ember-it/dir"), "s3a://ember-text/dir".to_string()] {
        let parts: Vec<Vec<String>> = (0..3).map(|p| lines(500, p)).collect();
        for (p, part) in parts.iter().enumerate() {
            put(&format!("{base}/part-{p:05}"), part.join("\n") + "\n");
        }
        put(&format!("{base}/_SUCCESS"), "");
        let mut want: Vec<String> = parts.concat();
        want.sort();
        let (_, mut got) = read_lines(&ctx, &base);
        got.sort();
        assert_eq!(got, want, "{base}: directory");
        let (_, globbed) = read_lines(&ctx, &format!("{base}/part-0000[01]"));
        assert_eq!(globbed.len(), 1000, "{base}: glob");
        let whole = ctx.whole_text_files(&base, 2).unwrap().collect().unwrap();
        let mut names: Vec<&str> = whole.iter().map(|(name, _)| name.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{base}/part-00000"),
                format!("{base}/part-00001"),
                format!("{base}/part-00002")
            ]
        );
        assert!(whole.iter().all(|(_, body)| body.lines().count() == 500));
        let missing = ctx
            .text_file(&format!("{base}/nope"), 0)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("input path does not exist"), "{missing}");
    }
}

#[test]
fn hdfs_splits_prefer_the_hosts_and_racks_hadoop_reports_for_their_blocks() {
    let text = lines(30_000, 7).join("\n") + "\n";
    let url = hdfs("/ember-it/text/located.txt");
    put(&url, text);
    let blocks = ember_integration::hadoop_block_hosts(&url);
    assert!(blocks.len() >= 3, "{blocks:?}");
    let ctx = context("local[2]", &[]);
    let rdd = ctx.text_file(&url, 0).unwrap();
    // Splits are capped at the 1 MiB block size, so each split is one block.
    assert_eq!(rdd.num_partitions(), blocks.len());
    let script = conf()
        .topology_script()
        .expect("the cluster has a topology");
    for (p, (_, _, hosts)) in blocks.iter().enumerate() {
        let mut want = hosts.clone();
        want.sort();
        let mut got = rdd.preferred_locations(p);
        got.sort();
        assert_eq!(got, want, "split {p}");
        assert!(
            got.iter()
                .all(|h| h.starts_with("127.0.0.") && h != "127.0.0.1"),
            "{got:?}"
        );
        // Their racks are the ones Hadoop's topology script gives.
        let racks: Vec<String> = got.iter().map(|h| ctx.rack_for_host(h)).collect();
        let out = std::process::Command::new(&script)
            .args(&got)
            .output()
            .unwrap();
        let scripted: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(racks, scripted, "split {p}");
        assert!(racks.iter().all(|r| r.starts_with("/rack-")), "{racks:?}");
    }
}
