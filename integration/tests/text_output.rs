//! `save_as_text_file` to the mini cluster's HDFS and S3: committed output, `_SUCCESS`, nothing
//! left of a failed job, an existing output refused.

use ember_core::{Context, EmberConf, Fn};
use ember_hadoop::{resolve, HadoopConf};
use futures::TryStreamExt;

fn conf() -> HadoopConf {
    ember_integration::hadoop_conf()
}

fn names_under(url: &str) -> Vec<String> {
    let resolved = resolve(url, &conf()).unwrap();
    let mut names: Vec<String> = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(
            resolved
                .store
                .list(Some(&resolved.path))
                .try_collect::<Vec<_>>(),
        )
        .unwrap()
        .into_iter()
        .map(|m| {
            m.location.as_ref()[resolved.path.as_ref().len()..]
                .trim_start_matches('/')
                .to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn saved_text_is_committed_on_hdfs_and_s3() {
    ember_integration::create_bucket("ember-out");
    let fs = conf().default_fs();
    for master in ["local[2]", "local-cluster[2,1,512]"] {
        let ctx = Context::new(
            EmberConf::empty()
                .set_master(master)
                .set("ember.ui.showConsoleProgress", "false"),
        )
        .unwrap();
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
