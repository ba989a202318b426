//! Sequence files through the public API, against plain Rust vectors as the oracle: what
//! `save_as_sequence_file` writes, `sequence_file` reads back exactly, with every compression,
//! on `local[2]` and on executor processes (`local-cluster`); large files are split at their
//! sync markers; broken files and wrong classes fail the job with a message, never a panic.
//! (Hadoop's own reader and writer check the bytes in `integration/tests/sequence_files.rs`.)

#[path = "support/files.rs"]
mod support;
use ember_core::conf::keys;
use ember_core::{CompressionCodec, Context, EmberConf, Fn, SequenceFileCompression};
use std::path::Path;
use support::names_in;

fn context(master: &str) -> Context {
    Context::new(
        EmberConf::empty()
            .set_master(master)
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .expect("a context starts")
}

fn compressions() -> Vec<SequenceFileCompression> {
    let mut all = vec![SequenceFileCompression::None];
    for codec in CompressionCodec::ALL {
        all.push(SequenceFileCompression::Record(codec));
        all.push(SequenceFileCompression::Block(codec));
    }
    all
}

/// Pairs whose values are hard to compress, of varied length.
fn pairs(n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut state = seed | 1;
    (0..n)
        .map(|i| {
            let value = (0..(i * 7) % 400)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            (format!("key {i} é"), value)
        })
        .collect()
}

#[test]
fn what_is_saved_is_read_back_exactly_on_every_master_with_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let want = pairs(3000, 7);
    let few = pairs(2, 9);
    for (m, master) in ["local[2]", "local-cluster[2,1,512]"]
        .into_iter()
        .enumerate()
    {
        let ctx = context(master);
        for (i, compression) in compressions().into_iter().enumerate() {
            let out = dir.path().join(format!("m{m}-{i}"));
            let out = out.to_str().unwrap();
            ctx.parallelize(want.clone(), 4)
                .save_as_sequence_file_with(out, compression)
                .unwrap();
            let names = names_in(Path::new(out));
            assert_eq!(
                names,
                [
                    "_SUCCESS",
                    "part-00000",
                    "part-00001",
                    "part-00002",
                    "part-00003"
                ],
                "{master} {compression:?}"
            );
            let back = ctx.sequence_file::<String, Vec<u8>>(out, 3).unwrap();
            assert!(
                back.collect().unwrap() == want,
                "{master} {compression:?}: records differ"
            );
            // Empty partitions make part files with a header and no records.
            let sparse = format!("{out}-sparse");
            ctx.parallelize(few.clone(), 6)
                .save_as_sequence_file_with(&sparse, compression)
                .unwrap();
            assert_eq!(names_in(Path::new(&sparse)).len(), 7);
            let back = ctx.sequence_file::<String, Vec<u8>>(&sparse, 0).unwrap();
            assert_eq!(back.collect().unwrap(), few, "{master} {compression:?}");
        }
        // Keys and values of every Writable, through a transformation on the executors.
        let out = dir.path().join(format!("m{m}-types"));
        let out = out.to_str().unwrap();
        let numbers: Vec<(i32, f64)> = (0..500).map(|i| (i - 250, f64::from(i) / 7.0)).collect();
        ctx.parallelize(numbers.clone(), 3)
            .save_as_sequence_file(out, Some(CompressionCodec::Snappy))
            .unwrap();
        let back = ctx
            .sequence_file::<i32, f64>(out, 0)
            .unwrap()
            .map(Fn!(|(k, v): (i32, f64)| (
                i64::from(k),
                (v > 10.0, v as f32, ())
            )));
        let oracle: Vec<(i64, (bool, f32, ()))> = numbers
            .iter()
            .map(|&(k, v)| (i64::from(k), (v > 10.0, v as f32, ())))
            .collect();
        assert_eq!(back.collect().unwrap(), oracle, "{master}");
    }
}

#[test]
fn a_large_file_is_split_at_its_sync_markers_and_every_record_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[2]");
    let want = pairs(16_000, 3);
    for compression in [
        SequenceFileCompression::None,
        SequenceFileCompression::Record(CompressionCodec::Lz4),
        SequenceFileCompression::Block(CompressionCodec::Default),
    ] {
        let out = dir.path().join(format!("{compression:?}"));
        let out = out.to_str().unwrap();
        // One partition: one file of about 3 MiB.
        ctx.parallelize(want.clone(), 1)
            .save_as_sequence_file_with(out, compression)
            .unwrap();
        let rdd = ctx.sequence_file::<String, Vec<u8>>(out, 8).unwrap();
        assert!(rdd.num_partitions() >= 8, "{compression:?}");
        let counts: Vec<usize> = rdd.glom().collect().unwrap().iter().map(Vec::len).collect();
        // Uncompressed and RECORD files have a marker every 100 KiB, BLOCK files one per
        // block of 1 MB: each split that holds a marker's start reads from there on.
        let reading = counts.iter().filter(|&&c| c > 0).count();
        let expected = match compression {
            SequenceFileCompression::Block(_) => 3,
            _ => 8,
        };
        assert!(reading >= expected, "{compression:?}: {counts:?}");
        assert!(
            rdd.collect().unwrap() == want,
            "{compression:?}: records differ"
        );
    }
}

#[test]
fn truncated_and_corrupt_files_fail_the_job_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[2]");
    for compression in [
        SequenceFileCompression::None,
        SequenceFileCompression::Block(CompressionCodec::Gzip),
    ] {
        let out = dir.path().join(format!("{compression:?}"));
        ctx.parallelize(pairs(4000, 5), 2)
            .save_as_sequence_file_with(out.to_str().unwrap(), compression)
            .unwrap();
        let part = out.join("part-00001");
        let bytes = std::fs::read(&part).unwrap();
        std::fs::write(&part, &bytes[..bytes.len() - 3]).unwrap();
        let err = ctx
            .sequence_file::<String, Vec<u8>>(out.to_str().unwrap(), 0)
            .unwrap()
            .count()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("truncated") && err.contains("part-00001"),
            "{compression:?}: {err}"
        );
        // A file that is not a sequence file, found by its task (the driver checks the first).
        std::fs::write(&part, "key\tvalue\n").unwrap();
        let err = ctx
            .sequence_file::<String, Vec<u8>>(out.to_str().unwrap(), 0)
            .unwrap()
            .count()
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a sequence file"), "{err}");
    }
}

#[test]
fn files_of_other_classes_are_refused_naming_both_and_the_types_that_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context("local[1]");
    let out = dir.path().join("longs");
    let out = out.to_str().unwrap();
    ctx.parallelize(vec![(1i64, "a".to_string())], 1)
        .save_as_sequence_file(out, None)
        .unwrap();
    let err = ctx
        .sequence_file::<String, String>(out, 0)
        .unwrap_err()
        .to_string();
    for part in [
        "org.apache.hadoop.io.LongWritable",
        "org.apache.hadoop.io.Text",
        "sequence_file::<i64, String>",
    ] {
        assert!(err.contains(part), "{part} in {err}");
    }
    let err = ctx
        .sequence_file::<String, String>(&dir.path().join("nothing").to_string_lossy(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("input path does not exist"), "{err}");
}
