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

/// Runs a store operation of a test to completion.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(future)
}

/// Writes `bytes` at `url` (any scheme ember reads) through ember's object stores.
///
/// # Panics
/// When the store refuses.
pub fn put(url: &str, bytes: impl Into<Vec<u8>>) {
    let resolved = ember_hadoop::resolve(url, &hadoop_conf()).expect("a URL ember resolves");
    let payload = object_store::PutPayload::from(bytes.into());
    block_on(object_store::ObjectStoreExt::put(
        &resolved.store,
        &resolved.path,
        payload,
    ))
    .unwrap_or_else(|e| panic!("writing {url}: {e}"));
}

/// The contents of the object at `url`.
///
/// # Panics
/// When it cannot be read.
pub fn get(url: &str) -> Vec<u8> {
    let resolved = ember_hadoop::resolve(url, &hadoop_conf()).expect("a URL ember resolves");
    block_on(async {
        let object = object_store::ObjectStoreExt::get(&resolved.store, &resolved.path).await?;
        object.bytes().await
    })
    .unwrap_or_else(|e| panic!("reading {url}: {e}"))
    .to_vec()
}

/// The names of every object under directory `url`, relative to it, sorted.
///
/// # Panics
/// When the store cannot be listed.
pub fn names_under(url: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let resolved = ember_hadoop::resolve(url, &hadoop_conf()).expect("a URL ember resolves");
    let listed: Vec<object_store::ObjectMeta> =
        block_on(resolved.store.list(Some(&resolved.path)).try_collect())
            .unwrap_or_else(|e| panic!("listing {url}: {e}"));
    let prefix = resolved.path.as_ref().len();
    let mut names: Vec<String> = listed
        .into_iter()
        .map(|m| {
            m.location.as_ref()[prefix..]
                .trim_start_matches('/')
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// A directory name no earlier run of the tests used: the mini cluster may be kept up between
/// runs.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The `ember` command of this build (`target/<profile>/ember`, beside the test binaries).
///
/// # Panics
/// When it has not been built: `cargo build -p ember-cli --features sql` builds it, and
/// `ember-sql` beside it (scripts/test does).
pub fn ember_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("tests run from target/<profile>/deps");
    let bin = profile_dir.join("ember");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p ember-cli --features sql` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// A context on `master` with `settings`, without the console progress bar.
///
/// # Panics
/// When the context cannot start.
pub fn context(master: &str, settings: &[(&str, &str)]) -> ember_core::Context {
    let conf = settings.iter().fold(
        ember_core::EmberConf::empty()
            .set_master(master)
            .set(ember_core::conf::keys::SHOW_CONSOLE_PROGRESS.key, "false"),
        |conf, &(key, value)| conf.set(key, value),
    );
    ember_core::Context::new(conf).expect("the context starts")
}

/// Some text, and its words counted by plain Rust.
pub fn corpus() -> (String, std::collections::HashMap<String, u64>) {
    let text: String = (0..20_000)
        .map(|i| format!("w{} x{}\tw{}  end\n", (i * 7) % 101, i % 13, i % 5))
        .collect();
    let mut counts = std::collections::HashMap::new();
    for word in text.split_ascii_whitespace() {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    (text, counts)
}

/// The `word<TAB>count` lines of the part files of the word count output at `out`, which must
/// be complete (`_SUCCESS`).
///
/// # Panics
/// When the output is incomplete, a line is not `word<TAB>count`, or a word comes twice.
pub fn counts_under(out: &str) -> std::collections::HashMap<String, u64> {
    let names = names_under(out);
    assert!(names.contains(&"_SUCCESS".to_string()), "{out}: {names:?}");
    let mut counts = std::collections::HashMap::new();
    for name in names.iter().filter(|n| n.starts_with("part-")) {
        let text = String::from_utf8(get(&format!("{out}/{name}"))).expect("text");
        for line in text.lines() {
            let (word, n) = line.split_once('\t').expect("word<TAB>count");
            let fresh = counts.insert(word.to_string(), n.parse().expect("a count"));
            assert!(fresh.is_none(), "{word} twice in {out}");
        }
    }
    counts
}

/// The directory of the mini cluster's state (NodeManager logs are under `nm-*/logs`).
pub fn cluster_dir() -> PathBuf {
    conf_dir()
        .parent()
        .map(PathBuf::from)
        .expect("the configuration is inside the cluster's directory")
}

/// The lines of the part files of the output at `url`, part by part.
///
/// # Panics
/// When the output cannot be listed or read, or is not text.
pub fn lines_under(url: &str) -> Vec<String> {
    names_under(url)
        .iter()
        .filter(|name| name.starts_with("part-"))
        .flat_map(|name| {
            let text = String::from_utf8(get(&format!("{url}/{name}"))).expect("text");
            text.lines().map(String::from).collect::<Vec<_>>()
        })
        .collect()
}
