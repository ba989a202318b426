//! `save_as_text_file` to the mini cluster's HDFS and S3: committed output, `_SUCCESS`, nothing
//! left of a failed job, an existing output refused.

use ember_core::Fn;
use ember_hadoop::HadoopConf;
use ember_integration::{context, lines_under, names_under, unique};

fn conf() -> HadoopConf {
    ember_integration::hadoop_conf()
}

/// The numbers in the part files of `out`, in part order.
fn numbers_in(out: &str) -> Vec<i64> {
    lines_under(out)
        .iter()
        .map(|l| l.parse::<i64>().unwrap())
        .collect()
}

#[test]
fn saved_text_is_committed_on_hdfs_and_s3() {
    ember_integration::create_bucket("ember-out");
    let fs = conf().default_fs();
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let ctx = context(master, &[]);
        // Unique per run, so that a cluster kept up between runs does not hold it already.
        let tag = format!(
            "{}-{}",
            master.replace(['[', ']', ','], "_"),
            std::process::id()
        );
        for out in [
            format!("{}/ember-it/out/{tag}", fs.trim_end_matches('/')),
            format!("s3a://ember-out/{tag}"),
        ] {
            let numbers = ctx.range(0, 10_000, 1, 4).unwrap();
            numbers.save_as_text_file(&out).unwrap();
            let names = names_under(&out);
            assert_eq!(
                names,
                [
                    "_SUCCESS",
                    "part-00000",
                    "part-00001",
                    "part-00002",
                    "part-00003"
                ],
                "{out}"
            );
            let mut back: Vec<i64> = ctx
                .text_file(&out, 0)
                .unwrap()
                .map(Fn!(|l: String| l.parse::<i64>().unwrap()))
                .collect()
                .unwrap();
            back.sort();
            assert!(back.iter().copied().eq(0..10_000), "{out}: read back");
            let again = numbers.save_as_text_file(&out).unwrap_err().to_string();
            assert!(again.contains("already exists"), "{again}");
            let failed = format!("{out}-failed");
            let err = ctx
                .range(0, 100, 1, 2)
                .unwrap()
                .map(Fn!(|x: i64| -> i64 {
                    if x == 77 {
                        panic!("bad record {x}");
                    }
                    x
                }))
                .save_as_text_file(&failed);
            assert!(err.is_err());
            assert!(
                names_under(&failed).is_empty(),
                "{failed}: a failed job leaves nothing"
            );
        }
    }
    // Hadoop's own client reads what ember wrote to HDFS.
    let local = std::env::temp_dir().join(format!("ember-it-out-{}", std::process::id()));
    let part = format!(
        "{}/ember-it/out/local_2_-{}/part-00000",
        fs.trim_end_matches('/'),
        std::process::id()
    );
    assert!(ember_integration::hadoop_fs(&[
        "-get",
        &part,
        local.to_str().unwrap()
    ]));
    let text = std::fs::read_to_string(&local).unwrap();
    assert_eq!(text.lines().count(), 2500);
    assert_eq!(text.lines().next(), Some("0"));
    std::fs::remove_file(&local).unwrap();
}

#[test]
fn a_task_lost_half_way_through_its_output_is_written_once() {
    ember_integration::create_bucket("ember-retry");
    let fs = conf().default_fs();
    let marks = std::env::temp_dir().join(unique("ember-it-lost"));
    std::fs::create_dir_all(&marks).unwrap();
    // local[N,F] retries, as local[N] alone does not.
    for master in ["local[2,4]", "local-cluster[2,1,512]"] {
        let ctx = context(master, &[]);
        let dies = master.starts_with("local-cluster");
        for out in [
            format!(
                "{}/ember-it/retry/{}",
                fs.trim_end_matches('/'),
                unique("out")
            ),
            format!("s3a://ember-retry/{}", unique("out")),
        ] {
            // The first attempt at partition 2 gets half-way through its part file, then its
            // task fails (local) or its whole executor process dies (local-cluster).
            let mark = marks.join(unique("first")).to_string_lossy().into_owned();
            let marked = std::path::PathBuf::from(&mark);
            ctx.range(0, 4000, 1, 4)
                .unwrap()
                .map(Fn!(move |x: i64| {
                    let first = x == 2500
                        && std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .open(&mark)
                            .is_ok();
                    if first && dies {
                        std::process::exit(17);
                    }
                    assert!(!first, "lost half-way");
                    x
                }))
                .save_as_text_file(&out)
                .unwrap();
            assert!(
                marked.exists(),
                "{master} {out}: the first attempt was lost"
            );
            assert!(numbers_in(&out).into_iter().eq(0..4000), "{master} {out}");
            assert_eq!(
                names_under(&out).len(),
                5,
                "{master} {out}: 4 parts and _SUCCESS"
            );
        }
    }
    std::fs::remove_dir_all(&marks).unwrap();
}

#[test]
fn validate_output_specs_false_writes_into_an_existing_hdfs_directory() {
    let fs = conf().default_fs();
    let out = format!(
        "{}/ember-it/into/{}",
        fs.trim_end_matches('/'),
        unique("out")
    );
    ember_integration::put(&format!("{out}/part-00000"), "-1\n");
    ember_integration::put(&format!("{out}/keep.txt"), "mine\n");
    let ctx = context("local[2]", &[("ember.hadoop.validateOutputSpecs", "false")]);
    ctx.range(0, 10, 1, 2)
        .unwrap()
        .save_as_text_file(&out)
        .unwrap();
    assert_eq!(
        names_under(&out),
        ["_SUCCESS", "keep.txt", "part-00000", "part-00001"]
    );
    assert!(
        numbers_in(&out).into_iter().eq(0..10),
        "replaced, not appended"
    );
    let refused = context("local[2]", &[])
        .range(0, 10, 1, 2)
        .unwrap()
        .save_as_text_file(&out)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("validateOutputSpecs"), "{refused}");
}
