//! `text_file_stream` on a local directory, on a manual clock: each new file is read once, in
//! the batch its modification time falls in; files older than the stream, files still being
//! copied (`._COPYING_`) and files from the future wait or are skipped as Spark's rules say.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use support::Driven;

fn write(dir: &Path, name: &str, lines: &[&str], modified_ms: u64) {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_millis(modified_ms))
        .unwrap();
}

#[test]
fn each_new_file_is_read_once_in_the_batch_of_its_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.txt", &["from before the stream"], 5_000);
    let mut driven = Driven::at("local[2]", 10_000);
    let got = Arc::new(Mutex::new(BTreeMap::new()));
    let sink = got.clone();
    driven
        .ssc
        .text_file_stream(dir.path().to_str().unwrap())
        .unwrap()
        .foreach_rdd(move |rdd, t| {
            let mut lines = rdd.collect()?;
            lines.sort();
            sink.lock().unwrap().insert(t.millis(), lines);
            Ok(())
        });
    driven.ssc.start().unwrap();

    write(dir.path(), "a.txt", &["a1", "a2"], 10_500);
    write(dir.path(), "x.txt._COPYING_", &["x1"], 10_600);
    driven.step();

    std::fs::rename(dir.path().join("x.txt._COPYING_"), dir.path().join("x.txt")).unwrap();
    write(dir.path(), "b.txt", &["b1"], 12_500);
    driven.step();
    driven.step();
    driven.ssc.stop(true, true);

    let want: BTreeMap<i64, Vec<String>> = [
        (11_000, vec!["a1", "a2"]),
        (12_000, vec!["x1"]),
        (13_000, vec!["b1"]),
    ]
    .into_iter()
    .map(|(t, lines)| (t, lines.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(*got.lock().unwrap(), want);
}

#[test]
fn a_directory_that_does_not_exist_is_named() {
    let driven = Driven::new("local[1]");
    let err = match driven.ssc.text_file_stream("/no/such/stream/dir") {
        Ok(_) => panic!("a missing directory was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("directory does not exist: /no/such/stream/dir"),
        "{err}"
    );
}
