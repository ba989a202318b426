//! `ember submit` against the mini cluster, as a user runs it: word count between HDFS, S3 and
//! local files, checked against a plain count; and the errors a user gets for an input that is
//! not there, a NameNode that is down and a bucket that does not exist.

use ember_integration::{corpus, counts_under, create_bucket, ember_bin, hadoop_conf, put, unique};
use std::process::{Command, Output};

fn ember(args: &[&str]) -> Output {
    Command::new(ember_bin())
        .args(args)
        .env("EMBER_LOG", "warn")
        .output()
        .expect("the ember command runs")
}

fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn wordcount_between_hdfs_s3_and_local_files() {
    create_bucket("ember-wordcount");
    let (text, want) = corpus();
    let fs = hadoop_conf().default_fs();
    let base = format!(
        "{}/ember-it/{}",
        fs.trim_end_matches('/'),
        unique("wordcount")
    );
    let hdfs_in = format!("{base}/in");
    // Two files: the input is a directory, read in several splits.
    let half = text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1;
    put(&format!("{hdfs_in}/a.txt"), &text[..half]);
    put(&format!("{hdfs_in}/b.txt"), &text[half..]);
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), &text).unwrap();
    let local_in = format!("file://{}", local.path().display());
    let s3_out = format!("s3a://ember-wordcount/{}", unique("out"));
    // A bare path is on fs.defaultFS: HDFS.
    let bare_out = base
        .trim_start_matches(fs.trim_end_matches('/'))
        .to_string()
        + "/from-local";
    let runs = [
        ("local[2]", hdfs_in.as_str(), format!("{base}/out")),
        ("local[2]", hdfs_in.as_str(), s3_out),
        ("local[2]", local_in.as_str(), bare_out.clone()),
        (
            "local-cluster[2,1,512]",
            hdfs_in.as_str(),
            format!("{base}/cluster-out"),
        ),
    ];
    for (master, input, output) in &runs {
        let run = ember(&["submit", "--master", master, "wordcount", input, output]);
        assert!(
            run.status.success(),
            "{master} {input} -> {output}: {}",
            stderr(&run)
        );
        let output = if output.starts_with('/') {
            format!("{}{output}", fs.trim_end_matches('/'))
        } else {
            output.clone()
        };
        assert_eq!(counts_under(&output), want, "{master} {input} -> {output}");
    }
}

/// A loopback port nothing listens on.
fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

#[test]
fn missing_inputs_namenodes_and_buckets_are_clear_errors() {
    let local = tempfile::tempdir().unwrap();
    let input = local.path().join("in.txt");
    std::fs::write(&input, "a b a\n").unwrap();
    let local_in = format!("file://{}", input.display());
    let local_out = format!("file://{}/out", local.path().display());
    let down = format!("hdfs://127.0.0.1:{}", free_port());
    let fs = hadoop_conf().default_fs();
    let cases = [
        (
            format!("{}/ember-it/{}", fs.trim_end_matches('/'), unique("absent")),
            local_out.clone(),
            "input path does not exist",
        ),
        (
            format!("{down}/in"),
            local_out.clone(),
            "cannot reach the NameNode",
        ),
        (
            local_in.clone(),
            format!("{down}/out"),
            "cannot reach the NameNode",
        ),
        (
            "s3a://ember-no-such-bucket/in".to_string(),
            local_out.clone(),
            "bucket ember-no-such-bucket does not exist",
        ),
        (
            local_in.clone(),
            "s3a://ember-no-such-bucket/out".to_string(),
            "bucket ember-no-such-bucket does not exist",
        ),
    ];
    for (input, output, message) in &cases {
        let run = ember(&["submit", "wordcount", input, output]);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{input} -> {output}: {err}");
        assert!(err.contains(message), "{input} -> {output}: {err}");
        assert!(!err.contains("panicked"), "{input} -> {output}: {err}");
        assert!(!local.path().join("out").exists(), "{input}: no output");
    }
    // A NameNode that is down, named by fs.defaultFS through --conf, for a bare path.
    let run = ember(&[
        "submit",
        "--conf",
        &format!("ember.hadoop.fs.defaultFS={down}"),
        "wordcount",
        "/data/in",
        &local_out,
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains(&format!("cannot reach the NameNode of {}", &down[7..])));
}
