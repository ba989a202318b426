//! Helpers for ember's tests against real Hadoop.
//!
//! `scripts/minicluster up` starts HDFS, YARN and an S3 server; `eval "$(scripts/minicluster
//! env)"` tells a shell where they are. `scripts/test` does both around `cargo test`. A test that
//! needs the cluster and does not find it fails with those commands: it never skips.
#![deny(missing_docs)]

use std::path::PathBuf;

/// The mini cluster's Hadoop configuration directory.
///
/// # Panics
/// When `HADOOP_CONF_DIR` is unset or holds no `core-site.xml`: the message says how to start
/// the cluster.
pub fn conf_dir() -> PathBuf {
    let dir = std::env::var_os("HADOOP_CONF_DIR").map(PathBuf::from);
    match dir {
        Some(dir) if dir.join("core-site.xml").is_file() => dir,
        _ => panic!(
            "this test needs the Hadoop mini cluster: run `scripts/minicluster up` and \
             `eval \"$(scripts/minicluster env)\"` first (scripts/test does both)"
        ),
    }
}

/// The S3 server's endpoint, from the same environment.
///
/// # Panics
/// When `AWS_ENDPOINT` is unset, with the same advice as [`conf_dir`].
pub fn s3_endpoint() -> String {
    std::env::var("AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "this test needs the mini cluster's S3 server: run `scripts/minicluster up` and \
             `eval \"$(scripts/minicluster env)\"` first (scripts/test does both)"
        )
    })
}

/// Runs Hadoop's own `hadoop fs` (FsShell, from the integration project's classpath) against the
/// mini cluster, and returns whether it succeeded.
///
/// # Panics
/// When the cluster is not up (see [`conf_dir`]) or `integration/` was not built.
pub fn hadoop_fs(args: &[&str]) -> bool {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let classpath_file = root.join("target/classpath.txt");
    let classpath = std::fs::read_to_string(&classpath_file).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `scripts/minicluster up`, which builds integration/",
            classpath_file.display()
        )
    });
    let classpath = format!("{}:{}", conf_dir().display(), classpath.trim());
    std::process::Command::new("java")
        .args(["-cp", &classpath, "org.apache.hadoop.fs.FsShell"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Hadoop's own view of an HDFS file's blocks, through `FileSystem.getFileBlockLocations`:
/// `(offset, length, hosts)` per block.
///
/// # Panics
/// As [`hadoop_fs`], or when the file does not exist.
pub fn hadoop_block_hosts(url: &str) -> Vec<(u64, u64, Vec<String>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let classpath = std::fs::read_to_string(root.join("target/classpath.txt"))
        .expect("integration/ is built: run `scripts/minicluster up`");
    let classpath = format!(
        "{}:{}:{}",
        conf_dir().display(),
        root.join("target/classes").display(),
        classpath.trim()
    );
    let out = std::process::Command::new("java")
        .args(["-cp", &classpath, "org.ember.integration.BlockHosts", url])
        .stderr(std::process::Stdio::null())
        .output()
        .expect("java runs");
    assert!(out.status.success(), "BlockHosts {url} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let offset = fields.next()?.parse().ok()?;
            let length = fields.next()?.parse().ok()?;
            let hosts = fields.next()?.split(',').map(str::to_string).collect();
            Some((offset, length, hosts))
        })
        .collect()
}
