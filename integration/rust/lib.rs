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

/// Runs a Java class against the mini cluster, with its configuration, the integration
/// project's classes and Hadoop's jars on the classpath; stderr is dropped.
///
/// # Panics
/// When the cluster is not up (see [`conf_dir`]), `integration/` was not built, or Java is missing.
pub fn java(class: &str, args: &[&str]) -> std::process::Output {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let classpath_file = root.join("target/classpath.txt");
    let jars = std::fs::read_to_string(&classpath_file).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `scripts/minicluster up`, which builds integration/",
            classpath_file.display()
        )
    });
    let classpath = format!(
        "{}:{}:{}",
        conf_dir().display(),
        root.join("target/classes").display(),
        jars.trim()
    );
    std::process::Command::new("java")
        .args(["-cp", &classpath, class])
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .expect("java runs")
}

/// Runs Hadoop's own `hadoop fs` (FsShell) against the mini cluster; returns whether it
/// succeeded.
pub fn hadoop_fs(args: &[&str]) -> bool {
    java("org.apache.hadoop.fs.FsShell", args).status.success()
}

/// Hadoop's own view of an HDFS file's blocks, through `FileSystem.getFileBlockLocations`:
/// `(offset, length, hosts)` per block.
///
/// # Panics
/// As [`java`], or when the file does not exist.
pub fn hadoop_block_hosts(url: &str) -> Vec<(u64, u64, Vec<String>)> {
    let out = java("org.ember.integration.BlockHosts", &[url]);
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

/// The mini cluster's Hadoop configuration, as ember reads it.
///
/// # Panics
/// As [`conf_dir`], or when the files do not parse.
pub fn hadoop_conf() -> ember_hadoop::HadoopConf {
    ember_hadoop::HadoopConf::load_dir(&conf_dir()).expect("the mini cluster's configuration reads")
}

/// Creates bucket `name` on the mini cluster's S3 server (object stores cannot).
///
/// # Panics
/// When the server refuses or cannot be reached.
pub fn create_bucket(name: &str) {
    let made = std::process::Command::new("curl")
        .args(["-sf", "-X", "PUT", &format!("{}/{name}", s3_endpoint())])
        .status()
        .expect("curl runs");
    assert!(made.success(), "creating bucket {name}");
}
