//! `text_file` and `whole_text_files` over the mini cluster's HDFS and S3: splits follow the
//! 1 MiB blocks, and every line is read exactly once, on `local[N]` and on executor processes.

use ember_core::{Context, EmberConf, Fn};
use ember_hadoop::{resolve, HadoopConf};
use object_store::{ObjectStoreExt, PutPayload};

fn conf() -> HadoopConf {
    ember_integration::hadoop_conf()
}

/// Lines of varied length (some longer than a 1 MiB block's remainder would allow).
fn lines(n: usize, seed: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{i} {}", "abcdefghij".repeat((i * 7 + seed) % 23)))
        .collect()
}

fn put(url: &str, text: &str) {
    let resolved = resolve(url, &conf()).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(
            resolved
                .store
                .put(&resolved.path, PutPayload::from(text.to_string())),
        )
        .unwrap();
}

fn context(master: &str) -> Context {
    Context::new(
        EmberConf::empty()
            .set_master(master)
            .set("ember.ui.showConsoleProgress", "false"),
    )
    .unwrap()
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
    assert!(text.len() > 4 << 20, "several 1 MiB blocks");
    let url = format!(
        "{}/ember-it/text/big.txt",
        conf().default_fs().trim_end_matches('/')
    );
    put(&url, &text);
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let ctx = context(master);
        let (partitions, got) = read_lines(&ctx, &url);
        assert!(
            partitions >= text.len() >> 20,
            "{master}: {partitions} splits"
        );
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
}

#[test]
fn directories_and_globs_on_hdfs_and_s3() {
    let fs = conf().default_fs();
    let fs = fs.trim_end_matches('/');
    ember_integration::create_bucket("ember-text");
    let ctx = context("local[2]");
    for base in [
        format!("{fs}/ember-it/dir"),
        "s3a://ember-text/dir".to_string(),
    ] {
        let parts: Vec<Vec<String>> = (0..3).map(|p| lines(500, p)).collect();
        for (p, part) in parts.iter().enumerate() {
            put(&format!("{base}/part-{p:05}"), &(part.join("\n") + "\n"));
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
fn hdfs_splits_prefer_the_hosts_hadoop_reports_for_their_blocks() {
    let text = lines(30_000, 7).join("\n") + "\n";
    let url = format!(
        "{}/ember-it/text/located.txt",
        conf().default_fs().trim_end_matches('/')
    );
    put(&url, &text);
    let blocks = ember_integration::hadoop_block_hosts(&url);
    assert!(blocks.len() >= 3, "{blocks:?}");
    let ctx = context("local[2]");
    let rdd = ctx.text_file(&url, 0).unwrap();
    // Splits are capped at the 1 MiB block size, so each split is one block.
    assert_eq!(rdd.num_partitions(), blocks.len());
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
    }
}
