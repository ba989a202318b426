//! Sequence files against Hadoop's own `SequenceFile` writer and reader (the
//! `org.ember.integration.SequenceFiles` tool): ember reads exactly the records Hadoop wrote,
//! uncompressed, RECORD and BLOCK compressed with every codec ember has, split at their sync
//! markers, from local disk and from HDFS, on `local[N]` and on executor processes; and Hadoop
//! reads exactly the records ember wrote.

use ember_core::{CompressionCodec, Context, SequenceFileCompression, Writable};
use ember_integration::{context, java, unique};

const KEY: &str = "org.apache.hadoop.io.Text";

/// A test record type, made from its index as `SequenceFiles.make` makes it, and shown as
/// `SequenceFiles.show` prints it.
trait Sample: Writable + PartialEq + std::fmt::Debug {
    fn make(i: usize, key: bool) -> Self;
    fn show(&self) -> String;
}

impl Sample for String {
    fn make(i: usize, key: bool) -> Self {
        if key {
            format!("k{i}")
        } else {
            format!("v{i}{}{}", " é日本".repeat(i % 5), "x".repeat(i % 97))
        }
    }
    fn show(&self) -> String {
        self.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
    }
}

impl Sample for i32 {
    fn make(i: usize, key: bool) -> Self {
        if key {
            i as i32
        } else {
            i as i32 * 7919 - 1_000_000
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Sample for i64 {
    fn make(i: usize, key: bool) -> Self {
        if key {
            i as i64
        } else {
            i as i64 * 1_000_000_007 * if i.is_multiple_of(2) { 1 } else { -1 }
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Sample for Vec<u8> {
    fn make(i: usize, key: bool) -> Self {
        let len = if key { 4 } else { i % 61 };
        (0..len).map(|j| (i * 31 + j) as u8).collect()
    }
    fn show(&self) -> String {
        self.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Sample for () {
    fn make(_: usize, _: bool) -> Self {}
    fn show(&self) -> String {
        "(null)".into()
    }
}

impl Sample for bool {
    fn make(i: usize, _: bool) -> Self {
        i.is_multiple_of(3)
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Sample for f32 {
    fn make(i: usize, _: bool) -> Self {
        i as f32 * 0.25 - 3.5
    }
    fn show(&self) -> String {
        (self.to_bits() as i32).to_string()
    }
}

impl Sample for f64 {
    fn make(i: usize, _: bool) -> Self {
        i as f64 / 3.0 - 7.0
    }
    fn show(&self) -> String {
        (self.to_bits() as i64).to_string()
    }
}

fn samples<K: Sample, V: Sample>(n: usize) -> Vec<(K, V)> {
    (0..n)
        .map(|i| (K::make(i, true), V::make(i, false)))
        .collect()
}

/// Every compression Hadoop and ember both have: NONE, and RECORD and BLOCK with each codec.
fn compressions() -> Vec<SequenceFileCompression> {
    let mut all = vec![SequenceFileCompression::None];
    for codec in CompressionCodec::ALL {
        all.push(SequenceFileCompression::Record(codec));
        all.push(SequenceFileCompression::Block(codec));
    }
    all
}

/// The `SequenceFiles write` arguments of a compression.
fn hadoop_args(compression: SequenceFileCompression) -> (&'static str, &'static str) {
    match compression {
        SequenceFileCompression::None => ("NONE", "none"),
        SequenceFileCompression::Record(c) => ("RECORD", c.class_name()),
        SequenceFileCompression::Block(c) => ("BLOCK", c.class_name()),
    }
}

/// Has Hadoop write `n` sample records of `K` and `V` at `url`.
fn hadoop_writes<K: Writable, V: Writable>(
    url: &str,
    compression: SequenceFileCompression,
    n: usize,
) {
    let (kind, codec) = hadoop_args(compression);
    let n = n.to_string();
    let out = java(
        "org.ember.integration.SequenceFiles",
        &["write", url, K::CLASS, V::CLASS, kind, codec, &n],
    );
    assert!(
        out.status.success(),
        "Hadoop could not write {url} ({kind} {codec})"
    );
}

/// What Hadoop's reader reads at `url` (a file or a directory of part files): the header lines
/// and the record lines.
fn hadoop_reads(url: &str) -> (Vec<String>, Vec<String>) {
    let out = java("org.ember.integration.SequenceFiles", &["read", url]);
    assert!(out.status.success(), "Hadoop could not read {url}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let (headers, records) = text
        .lines()
        .map(str::to_string)
        .partition(|l| l.starts_with("# "));
    (headers, records)
}

/// How many sync markers a file holds: occurrences of the 16 bytes that end its header.
fn sync_markers(bytes: &[u8], header_end: usize) -> usize {
    let sync = &bytes[header_end - 16..header_end];
    bytes[header_end..]
        .windows(20)
        .filter(|w| w[..4] == [0xff; 4] && &w[4..] == sync)
        .count()
}

/// The length of the header of a file that has no metadata: up to and including its sync.
fn header_len(bytes: &[u8]) -> usize {
    let mut at = 4;
    let text = |at: &mut usize| {
        let len = bytes[*at] as usize; // class names are shorter than 128 bytes
        *at += 1 + len;
    };
    text(&mut at);
    text(&mut at);
    let compressed = bytes[at] != 0;
    at += 2;
    if compressed {
        text(&mut at);
    }
    at + 4 + 16
}

/// Reads `url` with ember in at least `min_partitions` partitions; returns the partitions'
/// record counts and the records.
fn ember_reads<K: Sample, V: Sample>(
    ctx: &Context,
    url: &str,
    min_partitions: usize,
) -> (Vec<usize>, Vec<(K, V)>) {
    let rdd = ctx.sequence_file::<K, V>(url, min_partitions).unwrap();
    let counts = rdd.glom().collect().unwrap().iter().map(Vec::len).collect();
    (counts, rdd.collect().unwrap())
}

#[test]
fn ember_reads_exactly_what_hadoop_wrote_with_every_compression_split_at_sync_markers() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[2]", &[]);
    let n = 20_000;
    let want = samples::<String, String>(n);
    for compression in compressions() {
        let path = dir.path().join(unique("hadoop"));
        let url = format!("file://{}", path.display());
        hadoop_writes::<String, String>(&url, compression, n);
        let bytes = std::fs::read(&path).unwrap();
        let syncs = sync_markers(&bytes, header_len(&bytes));
        assert!(syncs >= 5, "{compression:?}: {syncs} sync markers");
        let (counts, got) = ember_reads::<String, String>(&ctx, &url, 8);
        assert!(got == want, "{compression:?}: records differ");
        // The file was read in pieces that met at sync markers (a piece in which no marker
        // starts has no records).
        assert!(
            counts.iter().filter(|&&c| c > 0).count() >= 2,
            "{compression:?}: {counts:?}"
        );
    }
}

fn check_types<K: Sample, V: Sample>(ctx: &Context, dir: &std::path::Path) {
    let n = 3000;
    for compression in [
        SequenceFileCompression::None,
        SequenceFileCompression::Block(CompressionCodec::Default),
    ] {
        let url = format!("file://{}", dir.join(unique("types")).display());
        hadoop_writes::<K, V>(&url, compression, n);
        let (_, got) = ember_reads::<K, V>(ctx, &url, 2);
        assert!(
            got == samples::<K, V>(n),
            "{} / {} {compression:?}",
            K::CLASS,
            V::CLASS
        );
    }
}

#[test]
fn every_writable_reads_as_hadoop_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[2]", &[]);
    check_types::<i32, i64>(&ctx, dir.path());
    check_types::<i64, Vec<u8>>(&ctx, dir.path());
    check_types::<Vec<u8>, ()>(&ctx, dir.path());
    check_types::<bool, f32>(&ctx, dir.path());
    check_types::<f64, String>(&ctx, dir.path());
    check_types::<(), bool>(&ctx, dir.path());
}

#[test]
fn hdfs_files_hadoop_wrote_are_read_on_local_and_executor_processes() {
    let fs = ember_integration::hadoop_conf().default_fs();
    let n = 20_000;
    let want = samples::<String, String>(n);
    for compression in [
        SequenceFileCompression::None,
        SequenceFileCompression::Record(CompressionCodec::Snappy),
        SequenceFileCompression::Block(CompressionCodec::Default),
    ] {
        let url = format!(
            "{}/ember-it/seq/{}",
            fs.trim_end_matches('/'),
            unique("hadoop")
        );
        hadoop_writes::<String, String>(&url, compression, n);
        for master in ["local[2]", "local-cluster[2,1,512]"] {
            let ctx = context(master, &[("ember.files.maxPartitionBytes", "128k")]);
            let (counts, got) = ember_reads::<String, String>(&ctx, &url, 0);
            assert!(got == want, "{master} {compression:?}: records differ");
            assert!(
                counts.iter().filter(|&&c| c > 0).count() >= 2,
                "{master} {compression:?}: {counts:?}"
            );
        }
    }
}

#[test]
fn a_file_of_other_classes_or_an_unknown_codec_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[1]", &[]);
    let url = format!("file://{}", dir.path().join("ints").display());
    hadoop_writes::<i32, i64>(&url, SequenceFileCompression::None, 10);
    let err = ctx
        .sequence_file::<String, i64>(&url, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("org.apache.hadoop.io.IntWritable")
            && err.contains(KEY)
            && err.contains("sequence_file::<i32, i64>"),
        "{err}"
    );
    // A codec ember does not have (hadoop-lzo's, not in Hadoop itself): the header of a file
    // Hadoop wrote, renamed.
    let path = dir.path().join("lzo");
    let url = format!("file://{}", path.display());
    let default = CompressionCodec::Default;
    hadoop_writes::<String, String>(&url, SequenceFileCompression::Block(default), 10);
    let bytes = std::fs::read(&path).unwrap();
    let (old, new) = (default.class_name(), "com.hadoop.compression.lzo.LzoCodec");
    let at = bytes
        .windows(old.len())
        .position(|w| w == old.as_bytes())
        .unwrap();
    let mut renamed = bytes[..at - 1].to_vec();
    renamed.push(new.len() as u8);
    renamed.extend_from_slice(new.as_bytes());
    renamed.extend_from_slice(&bytes[at + old.len()..]);
    std::fs::write(&path, renamed).unwrap();
    let err = ctx
        .sequence_file::<String, String>(&url, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unsupported compression codec com.hadoop.compression.lzo.LzoCodec")
            && err.contains("GzipCodec"),
        "{err}"
    );
}

/// Has ember write samples of `K` and `V` at `url` in `parts` partitions and checks that
/// Hadoop's reader reads them exactly, with the classes and compression asked for.
fn hadoop_reads_what_ember_wrote<K: Sample, V: Sample>(
    ctx: &Context,
    url: &str,
    compression: SequenceFileCompression,
    n: usize,
) {
    let want = samples::<K, V>(n);
    ctx.parallelize(want.clone(), 3)
        .save_as_sequence_file_with(url, compression)
        .unwrap();
    let (headers, records) = hadoop_reads(url);
    let (kind, codec) = hadoop_args(compression);
    let flags = match kind {
        "NONE" => "false false",
        "RECORD" => "true false",
        _ => "true true",
    };
    let header = format!("# {} {} {flags} {codec}", K::CLASS, V::CLASS);
    assert_eq!(headers, vec![header; 3], "{url}");
    let shown: Vec<String> = want
        .iter()
        .map(|(k, v)| format!("{}\t{}", k.show(), v.show()))
        .collect();
    let differs = records.iter().zip(&shown).position(|(a, b)| a != b);
    assert!(
        records == shown,
        "{url} {compression:?}: Hadoop read {} records for {}, the first difference at {:?}",
        records.len(),
        shown.len(),
        differs.map(|i| (i, &records[i], &shown[i]))
    );
}

#[test]
fn hadoop_reads_exactly_what_ember_wrote_with_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[2]", &[]);
    for compression in compressions() {
        let url = format!("file://{}", dir.path().join(unique("ember")).display());
        hadoop_reads_what_ember_wrote::<String, String>(&ctx, &url, compression, 20_000);
        // And ember reads its own output back.
        let (_, back) = ember_reads::<String, String>(&ctx, &url, 0);
        assert!(back == samples::<String, String>(20_000), "{compression:?}");
    }
    let url = |name: &str| format!("file://{}", dir.path().join(unique(name)).display());
    let none = SequenceFileCompression::None;
    hadoop_reads_what_ember_wrote::<i32, i64>(&ctx, &url("i"), none, 1000);
    hadoop_reads_what_ember_wrote::<Vec<u8>, ()>(&ctx, &url("b"), none, 1000);
    hadoop_reads_what_ember_wrote::<bool, f32>(&ctx, &url("f"), none, 1000);
    hadoop_reads_what_ember_wrote::<f64, String>(&ctx, &url("d"), none, 1000);
    let lz4 = SequenceFileCompression::Record(CompressionCodec::Lz4);
    hadoop_reads_what_ember_wrote::<(), bool>(&ctx, &url("n"), lz4, 1000);
}

#[test]
fn sequence_files_on_s3_round_trip_through_the_commit_protocol() {
    ember_integration::create_bucket("ember-seq");
    let ctx = context("local-cluster[2,1,512]", &[]);
    let want = samples::<String, Vec<u8>>(5000);
    let url = format!("s3a://ember-seq/{}", unique("out"));
    ctx.parallelize(want.clone(), 2)
        .save_as_sequence_file(&url, Some(CompressionCodec::Lz4))
        .unwrap();
    assert_eq!(
        ember_integration::names_under(&url),
        ["_SUCCESS", "part-00000", "part-00001"]
    );
    let (_, got) = ember_reads::<String, Vec<u8>>(&ctx, &url, 0);
    assert!(got == want, "records differ");
}

#[test]
fn hadoop_reads_what_ember_wrote_to_hdfs_from_executor_processes() {
    let fs = ember_integration::hadoop_conf().default_fs();
    let ctx = context("local-cluster[2,1,512]", &[]);
    for compression in [
        SequenceFileCompression::Block(CompressionCodec::Gzip),
        SequenceFileCompression::Record(CompressionCodec::Default),
    ] {
        let url = format!(
            "{}/ember-it/seq/{}",
            fs.trim_end_matches('/'),
            unique("ember")
        );
        hadoop_reads_what_ember_wrote::<String, i64>(&ctx, &url, compression, 5000);
        let names = ember_integration::names_under(&url);
        assert_eq!(
            names,
            ["_SUCCESS", "part-00000", "part-00001", "part-00002"],
            "{url}"
        );
    }
}
