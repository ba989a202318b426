//! Structured Streaming: sources, sinks, output modes, triggers, state, event time and
//! recovery from the checkpoint, each checked against rows computed here in plain Rust.

use datafusion::arrow::array::{
    AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use datafusion::functions::core::expr_ext::FieldAccessor;
use ember_core::Context;
use ember_sql::streaming::{MemoryStream, OutputMode, Trigger};
use ember_sql::{cast, col, count, lit, max, sliding_window, sum, window, SqlContextExt};
use std::collections::BTreeMap;
use std::sync::Arc;

fn ctx() -> Context {
    Context::with_master("local[2]").unwrap()
}

fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("amount", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]))
}

/// Events as (key, amount, seconds since the epoch).
fn events(rows: &[(&str, i64, i64)]) -> RecordBatch {
    let keys: StringArray = rows.iter().map(|r| Some(r.0)).collect();
    let amounts: Int64Array = rows.iter().map(|r| r.1).collect();
    let times: TimestampMicrosecondArray = rows.iter().map(|r| Some(r.2 * 1_000_000)).collect();
    RecordBatch::try_new(
        events_schema(),
        vec![Arc::new(keys), Arc::new(amounts), Arc::new(times)],
    )
    .unwrap()
}

/// The rows of `sql` as (string, i64) pairs.
fn pairs(ctx: &Context, sql: &str) -> Vec<(String, i64)> {
    let batches = ctx.sql(sql).unwrap().collect().unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let names = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
        let names = names.as_string::<i32>();
        let values = datafusion::arrow::compute::cast(b.column(1), &DataType::Int64).unwrap();
        let values = values.as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push((names.value(i).to_string(), values.value(i)));
        }
    }
    out.sort();
    out
}

#[test]
fn an_aggregation_in_complete_and_update_mode_matches_a_running_total() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let totals = input
        .to_df()
        .unwrap()
        .group_by(vec![col("key")])
        .agg(vec![sum(col("amount")).alias("total")])
        .unwrap();
    let complete = totals
        .write_stream()
        .format("memory")
        .query_name("complete_totals")
        .output_mode(OutputMode::Complete)
        .start()
        .unwrap();
    let update = totals
        .write_stream()
        .format("memory")
        .query_name("update_totals")
        .output_mode(OutputMode::Update)
        .start()
        .unwrap();
    let batches = [
        vec![("a", 1, 0), ("b", 2, 0), ("a", 3, 0)],
        vec![("b", 10, 0), ("c", 5, 0)],
        vec![("a", 100, 0)],
    ];
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for (n, batch) in batches.iter().enumerate() {
        input.add_data(events(batch)).unwrap();
        complete.process_all_available().unwrap();
        update.process_all_available().unwrap();
        for (k, v, _) in batch {
            *expected.entry(k.to_string()).or_default() += v;
        }
        let want: Vec<(String, i64)> = expected.clone().into_iter().collect();
        assert_eq!(
            pairs(&ctx, "SELECT key, total FROM complete_totals"),
            want,
            "batch {n}"
        );
    }
    // Update mode wrote each batch's changed keys: the last row per key is its total.
    let updates = pairs(&ctx, "SELECT key, count(*) FROM update_totals GROUP BY key");
    assert_eq!(
        updates,
        vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 1)]
    );
    let progress = complete.last_progress().unwrap();
    assert_eq!(progress.state_operators[0].num_rows_total, 3);
    assert_eq!(progress.num_input_rows, 1);
    complete.stop().unwrap();
    update.stop().unwrap();
}

#[test]
fn a_windowed_count_in_append_mode_writes_each_window_once_after_the_watermark() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let counts = input
        .to_df()
        .unwrap()
        .with_watermark("time", "10 seconds")
        .unwrap()
        .group_by(vec![window(col("time"), "10 seconds").unwrap(), col("key")])
        .agg(vec![count(lit(1)).alias("n")])
        .unwrap()
        .select(vec![
            col("window").field("start").alias("start"),
            col("key"),
            col("n"),
        ])
        .unwrap();
    let query = counts
        .write_stream()
        .format("memory")
        .query_name("window_counts")
        .output_mode(OutputMode::Append)
        .start()
        .unwrap();
    let rows = |ctx: &Context| {
        pairs(
            ctx,
            "SELECT concat(key, '@', CAST(CAST(start AS BIGINT) / 1000000 AS VARCHAR)), n \
             FROM window_counts",
        )
    };
    // Windows [0,10) and [10,20); the watermark after this batch is 15 - 10 = 5.
    input
        .add_data(events(&[
            ("a", 1, 1),
            ("a", 1, 2),
            ("b", 1, 12),
            ("a", 1, 15),
        ]))
        .unwrap();
    query.process_all_available().unwrap();
    assert_eq!(rows(&ctx), vec![], "no window has closed yet");
    // Event time 25: the watermark moves to 15, which closes [0,10).
    input
        .add_data(events(&[("a", 1, 25), ("a", 1, 3)]))
        .unwrap();
    query.process_all_available().unwrap();
    assert_eq!(rows(&ctx), vec![("a@0".into(), 3)]);
    // A row for [0,10) now is late: dropped. Event time 40 moves the watermark to 30.
    input
        .add_data(events(&[("a", 1, 4), ("b", 1, 40)]))
        .unwrap();
    query.process_all_available().unwrap();
    assert_eq!(
        rows(&ctx),
        vec![
            ("a@0".into(), 3),
            ("a@10".into(), 1),
            ("a@20".into(), 1),
            ("b@10".into(), 1)
        ]
    );
    let progress = query.recent_progress();
    let dropped: u64 = progress
        .iter()
        .map(|p| p.state_operators[0].num_rows_dropped_by_watermark)
        .sum();
    assert_eq!(dropped, 1, "the late row for [0,10)");
    let last = query.last_progress().unwrap();
    assert_eq!(last.event_time["watermark"], "1970-01-01T00:00:30.000Z");
    assert_eq!(
        last.state_operators[0].num_rows_total, 1,
        "only b@40 is left"
    );
    query.stop().unwrap();
}

#[test]
fn files_stream_to_files_exactly_once_across_restarts() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let checkpoint = dir.path().join("checkpoint");
    std::fs::create_dir(&input).unwrap();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("word", DataType::Utf8, false),
    ]);
    let write_input = |n: usize| {
        let lines: String = (0..100)
            .map(|i| format!("{{\"id\": {}, \"word\": \"w{}\"}}\n", n * 100 + i, i % 7))
            .collect();
        std::fs::write(input.join(format!("part-{n}.json")), lines).unwrap();
    };
    let run = |ctx: &Context| {
        let query = ctx
            .read_stream()
            .schema(schema.clone())
            .option("maxFilesPerTrigger", "2")
            .json(input.to_str().unwrap())
            .unwrap()
            .filter(col("word").not_eq(lit("w0")))
            .unwrap()
            .write_stream()
            .format("parquet")
            .option("path", output.to_str().unwrap())
            .option("checkpointLocation", checkpoint.to_str().unwrap())
            .trigger(Trigger::AvailableNow)
            .start()
            .unwrap();
        query.await_termination().unwrap();
        query
    };
    for n in 0..5 {
        write_input(n);
    }
    let first = run(&ctx);
    assert_eq!(
        first.recent_progress().len(),
        3,
        "5 files at most 2 per batch"
    );
    // The driver died after batch 2 wrote its files but before the sink listed them: the
    // batch is redone on restart, and the files it wrote the first time must not be read.
    std::fs::remove_file(checkpoint.join("commits/2")).unwrap();
    std::fs::remove_file(output.join("_spark_metadata/2")).unwrap();
    write_input(5);
    let second = run(&ctx);
    assert_eq!(
        second.recent_progress()[0].batch_id,
        2,
        "the uncommitted batch is redone"
    );
    let read = ctx.read().parquet(output.to_str().unwrap()).unwrap();
    let ids = read.select(vec![col("id")]).unwrap().collect().unwrap();
    let mut got: Vec<i64> = ids
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    got.sort_unstable();
    let want: Vec<i64> = (0..600).filter(|i| (i % 100) % 7 != 0).collect();
    assert_eq!(got, want, "every row once");
    // The first attempt's files of batch 2 are still there, unlisted.
    let on_disk = std::fs::read_dir(&output)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    let listed: usize = (0..4)
        .map(|n| {
            std::fs::read_to_string(output.join(format!("_spark_metadata/{n}")))
                .unwrap()
                .lines()
                .skip(1)
                .count()
        })
        .sum();
    assert!(on_disk > listed, "{on_disk} files, {listed} listed");
    assert!(checkpoint.join("sources/0/0").exists());
    assert!(checkpoint.join("offsets/3").exists() && checkpoint.join("commits/3").exists());
}

#[test]
fn aggregation_state_survives_a_restart_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let output = dir.path().join("totals");
    let run = |round: usize| {
        let ctx = ctx();
        let query = ctx
            .read_stream()
            .text(input.to_str().unwrap())
            .unwrap()
            .group_by(vec![col("value")])
            .agg(vec![count(lit(1)).alias("n")])
            .unwrap()
            .write_stream()
            .foreach_batch({
                let output = output.clone();
                move |df, id| {
                    let text = df.tab_rows(false)?;
                    std::fs::write(output.with_extension(format!("{round}-{id}")), text).unwrap();
                    Ok(())
                }
            })
            .option("checkpointLocation", checkpoint.to_str().unwrap())
            .output_mode(OutputMode::Complete)
            .trigger(Trigger::Once)
            .start()
            .unwrap();
        query.await_termination().unwrap();
    };
    std::fs::write(input.join("1.txt"), "x\ny\nx\n").unwrap();
    run(1);
    std::fs::write(input.join("2.txt"), "x\nz\n").unwrap();
    run(2);
    let mut last: Vec<&str> = Vec::new();
    let text = std::fs::read_to_string(output.with_extension("2-1")).unwrap();
    last.extend(text.lines());
    last.sort_unstable();
    assert_eq!(last, vec!["x\t3", "y\t1", "z\t1"]);
    assert!(checkpoint.join("state/0").exists());
}

#[test]
fn sql_over_a_stream_and_what_streaming_refuses() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let stream = input.to_df().unwrap();
    assert!(stream.is_streaming());
    let err = stream.count().unwrap_err().to_string();
    assert!(err.contains("write_stream().start()"), "{err}");
    stream.create_or_replace_temp_view("events").unwrap();
    let by_key = ctx
        .sql("SELECT key, max(amount) AS highest FROM events GROUP BY key")
        .unwrap();
    assert!(by_key.is_streaming());
    let err = by_key
        .write_stream()
        .format("memory")
        .query_name("x")
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("Append output mode not supported"), "{err}");
    let err = stream
        .write_stream()
        .format("memory")
        .query_name("y")
        .output_mode(OutputMode::Complete)
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("Complete output mode not supported"), "{err}");
    let err = stream
        .write_stream()
        .format("parquet")
        .option("path", "/tmp/nowhere")
        .start()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checkpointLocation must be specified"),
        "{err}"
    );
    let err = ctx.read_stream().json("/tmp").unwrap_err().to_string();
    assert!(err.contains("Schema must be specified"), "{err}");
    let err = ctx
        .read_stream()
        .format("kafka")
        .load()
        .unwrap_err()
        .to_string();
    assert!(err.contains("kafka"), "{err}");
    let query = by_key
        .write_stream()
        .format("memory")
        .query_name("tops")
        .output_mode(OutputMode::Update)
        .start()
        .unwrap();
    input
        .add_data(events(&[("a", 5, 0), ("a", 7, 0), ("b", 1, 0)]))
        .unwrap();
    query.process_all_available().unwrap();
    assert_eq!(
        pairs(&ctx, "SELECT key, highest FROM tops"),
        vec![("a".into(), 7), ("b".into(), 1)]
    );
    let _ = max(col("amount"));
    query.stop().unwrap();
    assert!(!query.is_active());
}

#[test]
fn sliding_windows_count_each_row_in_every_window_that_holds_it() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let counts = input
        .to_df()
        .unwrap()
        .with_watermark("time", "5 seconds")
        .unwrap()
        .group_by(vec![
            sliding_window(col("time"), "10 seconds", "4 seconds").unwrap()
        ])
        .agg(vec![count(lit(1)).alias("n")])
        .unwrap()
        .select(vec![
            col("window").field("start").alias("start"),
            col("window").field("end").alias("end"),
            col("n"),
        ])
        .unwrap();
    let query = counts
        .write_stream()
        .format("memory")
        .query_name("sliding_counts")
        .start()
        .unwrap();
    let seconds: Vec<i64> = (0..60).map(|i| (i * 7) % 45).collect();
    for chunk in seconds.chunks(13) {
        let rows: Vec<(&str, i64, i64)> = chunk.iter().map(|s| ("k", 1, *s)).collect();
        input.add_data(events(&rows)).unwrap();
        query.process_all_available().unwrap();
    }
    // An event far later closes every window so far.
    input.add_data(events(&[("k", 1, 1000)])).unwrap();
    query.process_all_available().unwrap();
    // Rows came in event-time order but for stragglers: windows whose end had passed the
    // watermark when a row came were closed. Count what should be there the same way.
    let mut watermark = i64::MIN;
    let mut max_seen = i64::MIN;
    let mut open: BTreeMap<i64, i64> = BTreeMap::new();
    let mut emitted: BTreeMap<i64, i64> = BTreeMap::new();
    let batches: Vec<Vec<i64>> = seconds
        .chunks(13)
        .map(<[i64]>::to_vec)
        .chain([vec![1000]])
        .collect();
    let close = |open: &mut BTreeMap<i64, i64>, emitted: &mut BTreeMap<i64, i64>, wm: i64| {
        let done: Vec<i64> = open.keys().copied().filter(|s| s + 10 <= wm).collect();
        for start in done {
            emitted.insert(start, open.remove(&start).unwrap());
        }
    };
    for batch in &batches {
        for &t in batch {
            let mut start = t.div_euclid(4) * 4;
            while start + 10 > t {
                if start + 10 > watermark {
                    *open.entry(start).or_default() += 1;
                }
                start -= 4;
            }
            max_seen = max_seen.max(t);
        }
        close(&mut open, &mut emitted, watermark);
        watermark = watermark.max(max_seen - 5);
        // The no-data batch that follows a watermark move.
        close(&mut open, &mut emitted, watermark);
    }
    let want: Vec<(String, i64)> = emitted
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    let got = pairs(
        &ctx,
        "SELECT CAST(CAST(start AS BIGINT) / 1000000 AS VARCHAR), n FROM sliding_counts",
    );
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
    query.stop().unwrap();
}

#[test]
fn drop_duplicates_keeps_the_first_row_of_each_key_and_forgets_keys_the_watermark_passed() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let unique = input
        .to_df()
        .unwrap()
        .with_watermark("time", "10 seconds")
        .unwrap()
        .drop_duplicates(&["key", "time"])
        .unwrap();
    let query = unique
        .write_stream()
        .format("memory")
        .query_name("unique_events")
        .start()
        .unwrap();
    let batches: Vec<Vec<(&str, i64, i64)>> = vec![
        vec![("a", 1, 1), ("a", 2, 1), ("b", 3, 1), ("a", 4, 5)],
        vec![("a", 5, 1), ("b", 6, 30), ("c", 7, 2)],
        // The watermark is now 20: (a, 1) is late, and so forgotten, not a duplicate.
        vec![("a", 8, 1), ("b", 9, 30), ("d", 10, 25)],
    ];
    for batch in &batches {
        input.add_data(events(batch)).unwrap();
        query.process_all_available().unwrap();
    }
    let got = pairs(&ctx, "SELECT key, amount FROM unique_events");
    // The first row of each (key, time), but the late ones of the last batch.
    let want: Vec<(String, i64)> = [("a", 1), ("a", 4), ("b", 3), ("b", 6), ("c", 7), ("d", 10)]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(got, want);
    let last = query.last_progress().unwrap();
    assert_eq!(last.state_operators[0].operator_name, "dedupe");
    assert_eq!(
        last.state_operators[0].num_rows_total, 2,
        "(b, 30) and (d, 25) are left"
    );
    query.stop().unwrap();
    // On a batch DataFrame, the first row of each key.
    let table = ctx
        .create_data_frame(vec![events(&[("x", 1, 0), ("x", 2, 0), ("y", 3, 0)])])
        .unwrap();
    assert_eq!(table.drop_duplicates(&["key"]).unwrap().count().unwrap(), 2);
    assert!(table.drop_duplicates(&["nope"]).is_err());
}

/// Rows as (key, id, seconds) of one round of a stream-stream join test.
type Round = (Vec<(&'static str, i64, i64)>, Vec<(&'static str, i64, i64)>);

/// A left outer join of impressions with the clicks on the same ad at most `within` seconds
/// after them, computed by nested loops over the rows each round admits, as the watermark
/// (the least over both streams of their latest time less `delay`) moves after each round:
/// (impression, click) for each pair, and (impression, none) for each impression no pair has
/// once the watermark is `within` past it.
fn left_outer_join_oracle(rounds: &[Round], delay: i64, within: i64) -> Vec<(i64, Option<i64>)> {
    let (mut impressions, mut clicks) = (Vec::new(), Vec::new());
    let (mut watermark, mut latest) = (0, [i64::MIN, i64::MIN]);
    for (imps, cls) in rounds {
        for (side, rows, kept) in [(0, imps, &mut impressions), (1, cls, &mut clicks)] {
            for row in rows {
                latest[side] = latest[side].max(row.2);
                if row.2 > watermark {
                    kept.push(*row);
                }
            }
        }
        if latest.iter().all(|t| *t > i64::MIN) {
            watermark = watermark.max(latest[0].min(latest[1]) - delay);
        }
    }
    let mut out = Vec::new();
    for imp in &impressions {
        let matches: Vec<i64> = clicks
            .iter()
            .filter(|c| c.0 == imp.0 && c.2 >= imp.2 && c.2 <= imp.2 + within)
            .map(|c| c.1)
            .collect();
        if matches.is_empty() && imp.2 + within <= watermark {
            out.push((imp.1, None));
        }
        out.extend(matches.into_iter().map(|c| (imp.1, Some(c))));
    }
    out.sort_unstable();
    out
}

#[test]
fn a_stream_stream_left_outer_join_pairs_rows_once_and_outputs_the_unmatched_after_the_watermark() {
    use datafusion::arrow::array::Array;
    use ember_sql::{interval, JoinType};
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint");
    let impressions = MemoryStream::new(&ctx, events_schema());
    let clicks = MemoryStream::new(&ctx, events_schema());
    let side = |stream: &MemoryStream, name: &str| {
        stream
            .to_df()
            .unwrap()
            .with_watermark("time", "10 seconds")
            .unwrap()
            .alias(name)
            .unwrap()
    };
    let joined = side(&impressions, "imp")
        .join_on(
            &side(&clicks, "click"),
            JoinType::Left,
            vec![
                col("imp.key").eq(col("click.key")),
                col("click.time").between(
                    col("imp.time"),
                    col("imp.time") + interval("20 seconds").unwrap(),
                ),
            ],
        )
        .unwrap()
        .select(vec![
            col("imp.amount").alias("imp"),
            col("click.amount").alias("click"),
        ])
        .unwrap();
    let rounds: Vec<Round> = vec![
        (
            vec![("a", 1, 100), ("b", 2, 100), ("c", 3, 105)],
            vec![("a", 11, 110)],
        ),
        // The watermark is 95: c's click at 90 is late; a's at 125 is too long after.
        (
            vec![("d", 4, 150)],
            vec![("b", 12, 118), ("a", 13, 125), ("c", 14, 90)],
        ),
        (vec![("e", 5, 200)], vec![("d", 15, 165), ("e", 16, 200)]),
        // The watermark is 190, which let a to d go: c unmatched. c's click at 108 is late.
        (vec![("f", 6, 300)], vec![("c", 17, 108), ("z", 18, 400)]),
    ];
    let output = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut progress = Vec::new();
    for (imps, cls) in &rounds {
        impressions.add_data(events(imps)).unwrap();
        clicks.add_data(events(cls)).unwrap();
        // A new query each round: the state goes on from the checkpoint.
        let sink = output.clone();
        let query = joined
            .write_stream()
            .foreach_batch(move |df, _| {
                for batch in df.collect()? {
                    let imp = batch.column(0).as_primitive::<Int64Type>();
                    let click = batch.column(1).as_primitive::<Int64Type>();
                    for i in 0..batch.num_rows() {
                        let click = (!click.is_null(i)).then(|| click.value(i));
                        sink.lock().unwrap().push((imp.value(i), click));
                    }
                }
                Ok(())
            })
            .option("checkpointLocation", checkpoint.to_str().unwrap())
            .trigger(Trigger::AvailableNow)
            .start()
            .unwrap();
        query.await_termination().unwrap();
        progress.extend(query.recent_progress());
    }
    let mut got = output.lock().unwrap().clone();
    got.sort_unstable();
    let want = left_outer_join_oracle(&rounds, 10, 20);
    assert_eq!(got, want);
    assert_eq!(
        got,
        vec![
            (1, Some(11)),
            (2, Some(12)),
            (3, None),
            (4, Some(15)),
            (5, Some(16))
        ]
    );
    let operators: Vec<_> = progress.iter().map(|p| &p.state_operators[0]).collect();
    assert!(operators
        .iter()
        .all(|o| o.operator_name == "symmetricHashJoin"));
    let dropped: u64 = operators
        .iter()
        .map(|o| o.num_rows_dropped_by_watermark)
        .sum();
    assert_eq!(dropped, 2, "c's clicks at 90 and 108");
    assert_eq!(
        operators.last().unwrap().num_rows_total,
        2,
        "f's impression and z's click are left"
    );
}

#[test]
fn a_stream_stream_inner_join_in_sql_and_the_joins_streaming_refuses() {
    let ctx = ctx();
    let views = MemoryStream::new(&ctx, events_schema());
    let buys = MemoryStream::new(&ctx, events_schema());
    for (stream, name) in [(&views, "views"), (&buys, "buys")] {
        stream
            .to_df()
            .unwrap()
            .with_watermark("time", "5 seconds")
            .unwrap()
            .create_or_replace_temp_view(name)
            .unwrap();
    }
    let joined = ctx
        .sql(
            "SELECT v.amount AS viewed, b.amount AS bought FROM views v JOIN buys b \
             ON v.key = b.key AND b.time BETWEEN v.time AND v.time + INTERVAL '1 minute'",
        )
        .unwrap();
    let err = joined
        .write_stream()
        .format("memory")
        .query_name("no")
        .output_mode(OutputMode::Update)
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("only in Append output mode"), "{err}");
    let unbounded = ctx
        .sql("SELECT * FROM views v FULL JOIN buys b ON v.key = b.key")
        .unwrap();
    let err = unbounded
        .write_stream()
        .format("memory")
        .query_name("no")
        .start()
        .unwrap_err()
        .to_string();
    assert!(err.contains("Stream-stream FullOuter join"), "{err}");
    let query = joined
        .write_stream()
        .format("memory")
        .query_name("sales")
        .start()
        .unwrap();
    // Within the minute, in either order across batches; x's buy is too late after its view.
    type Rows = &'static [(&'static str, i64, i64)];
    let steps: [(Rows, Rows); 3] = [
        (&[("a", 1, 0), ("x", 2, 0)], &[]),
        (&[("b", 3, 10)], &[("a", 11, 30), ("x", 12, 70)]),
        (&[], &[("b", 13, 10), ("a", 14, 59)]),
    ];
    for (v, b) in steps {
        views.add_data(events(v)).unwrap();
        buys.add_data(events(b)).unwrap();
        query.process_all_available().unwrap();
    }
    let rows = pairs(&ctx, "SELECT CAST(viewed AS VARCHAR), bought FROM sales");
    let want: Vec<(String, i64)> = [("1", 11), ("1", 14), ("3", 13)]
        .iter()
        .map(|(v, b)| (v.to_string(), *b))
        .collect();
    assert_eq!(rows, want);
    query.stop().unwrap();
}

#[test]
fn a_join_on_the_same_event_time_window_forgets_windows_the_watermark_passed() {
    let ctx = ctx();
    let events = MemoryStream::new(&ctx, events_schema());
    events
        .to_df()
        .unwrap()
        .with_watermark("time", "1 second")
        .unwrap()
        .create_or_replace_temp_view("events")
        .unwrap();
    // Nexmark's q8: persons (amount 0) and the auctions they open (amount 1) in one window.
    let joined = ctx
        .sql(
            "SELECT p.key AS person, CAST(a.time AS BIGINT) / 1000000 AS opened \
             FROM (SELECT key, window(time, '10 seconds') AS w FROM events WHERE amount = 0) p \
             JOIN (SELECT key, time, window(time, '10 seconds') AS w FROM events \
                   WHERE amount = 1) a \
             ON p.key = a.key AND p.w = a.w",
        )
        .unwrap();
    let query = joined
        .write_stream()
        .format("memory")
        .query_name("new_sellers")
        .start()
        .unwrap();
    let steps: [&[(&str, i64, i64)]; 3] = [
        &[("ann", 0, 1), ("bob", 0, 2), ("ann", 1, 3), ("cat", 1, 4)],
        // bob opens in the next window: no pair. The watermark moves to 14.
        &[("bob", 1, 12), ("cat", 0, 15), ("ann", 1, 9)],
        // The window [0,10) is closed: ann's auction at 8 is late.
        &[("ann", 1, 8), ("cat", 1, 19)],
    ];
    for step in steps {
        events.add_data(self::events(step)).unwrap();
        query.process_all_available().unwrap();
    }
    let rows = pairs(&ctx, "SELECT person, opened FROM new_sellers");
    let want: Vec<(String, i64)> = [("ann", 3), ("ann", 9), ("cat", 19)]
        .iter()
        .map(|(p, t)| (p.to_string(), *t))
        .collect();
    assert_eq!(rows, want);
    let dropped: u64 = query
        .recent_progress()
        .iter()
        .map(|p| p.state_operators[0].num_rows_dropped_by_watermark)
        .sum();
    assert_eq!(dropped, 1, "ann's auction at 8");
    let last = query.last_progress().unwrap();
    assert_eq!(
        last.state_operators[0].num_rows_total, 3,
        "the window [0,10) is gone: bob's auction, cat as a person and cat's auction are left"
    );
    query.stop().unwrap();
}

/// Sessions of `rows` (key, amount, seconds) with `gap` seconds, by plain sorting: (key, start,
/// end, rows, total amount), where a row less than `gap` after the session's last row joins it.
fn sessions_oracle(rows: &[(&str, i64, i64)], gap: i64) -> Vec<(String, i64, i64, i64, i64)> {
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|r| (r.0, r.2));
    let mut out: Vec<(String, i64, i64, i64, i64)> = Vec::new();
    for (key, amount, t) in sorted {
        match out.last_mut() {
            Some(s) if s.0 == key && t < s.2 => {
                s.2 = s.2.max(t + gap);
                s.3 += 1;
                s.4 += amount;
            }
            _ => out.push((key.to_string(), t, t + gap, 1, amount)),
        }
    }
    out.sort();
    out
}

/// The rows of `df` as (key, start and end in seconds, n, total).
fn session_rows(batches: &[RecordBatch]) -> Vec<(String, i64, i64, i64, i64)> {
    let mut out = Vec::new();
    for b in batches {
        let seconds = |i: usize| {
            let c = datafusion::arrow::compute::cast(b.column(i), &DataType::Int64).unwrap();
            c.as_primitive::<Int64Type>().values().to_vec()
        };
        let keys = b.column(0).as_string::<i32>();
        let (start, end, n, total) = (seconds(1), seconds(2), seconds(3), seconds(4));
        for i in 0..b.num_rows() {
            out.push((
                keys.value(i).to_string(),
                start[i] / 1_000_000,
                end[i] / 1_000_000,
                n[i],
                total[i],
            ));
        }
    }
    out.sort();
    out
}

fn sessions_of(df: ember_sql::DataFrame) -> ember_sql::DataFrame {
    df.group_by(vec![
        col("key"),
        ember_sql::session_window(col("time"), "10 seconds").unwrap(),
    ])
    .agg(vec![
        count(lit(1)).alias("n"),
        sum(col("amount")).alias("total"),
    ])
    .unwrap()
    .select(vec![
        col("key"),
        col("session_window").field("start").alias("start"),
        col("session_window").field("end").alias("end"),
        col("n"),
        col("total"),
    ])
    .unwrap()
}

#[test]
fn session_windows_of_a_batch_match_sessions_found_by_sorting() {
    let ctx = ctx();
    // A fixed pseudo-random spread of times: gaps both shorter and longer than 10 seconds.
    let mut state = 7u64;
    let mut rows = Vec::new();
    for i in 0..300 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let key = ["a", "b", "c"][(state >> 33) as usize % 3];
        rows.push((key, i, ((state >> 40) % 2000) as i64));
    }
    let table = ctx.create_data_frame(vec![events(&rows)]).unwrap();
    let got = session_rows(&sessions_of(table).collect().unwrap());
    let want = sessions_oracle(&rows, 10);
    assert!(want.len() > 30 && want.iter().any(|s| s.3 > 1), "{want:?}");
    assert_eq!(got, want);
}

#[test]
fn streaming_session_windows_merge_across_batches_and_close_after_the_watermark() {
    let ctx = ctx();
    let input = MemoryStream::new(&ctx, events_schema());
    let query = sessions_of(
        input
            .to_df()
            .unwrap()
            .with_watermark("time", "30 seconds")
            .unwrap(),
    )
    .write_stream()
    .format("memory")
    .query_name("sessions")
    .start()
    .unwrap();
    let batches: [&[(&str, i64, i64)]; 3] = [
        &[("a", 1, 0), ("a", 2, 25), ("b", 3, 5)],
        // a at 8 and 17 join a's two sessions into one, [0, 35).
        &[("a", 4, 8), ("a", 5, 17), ("b", 6, 40)],
        // The watermark moves to 40: a's session and b's first close.
        &[("b", 7, 70)],
    ];
    let mut admitted = Vec::new();
    for batch in batches {
        input.add_data(events(batch)).unwrap();
        query.process_all_available().unwrap();
        admitted.extend_from_slice(batch);
    }
    let got = session_rows(
        &ctx.sql("SELECT * FROM sessions")
            .unwrap()
            .collect()
            .unwrap(),
    );
    let closed: Vec<_> = sessions_oracle(&admitted, 10)
        .into_iter()
        .filter(|s| s.2 <= 40)
        .collect();
    assert_eq!(got, closed);
    assert_eq!(
        got,
        vec![("a".into(), 0, 35, 4, 12), ("b".into(), 5, 15, 1, 3)]
    );
    let last = query.last_progress().unwrap();
    assert_eq!(
        last.state_operators[0].num_rows_total, 2,
        "b's [40,50) and [70,80)"
    );
    query.stop().unwrap();
}

#[test]
fn a_partitioned_file_sink_writes_a_directory_per_value_and_lists_every_file() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let (output, checkpoint) = (dir.path().join("out"), dir.path().join("checkpoint"));
    let input = MemoryStream::new(&ctx, events_schema());
    let query = input
        .to_df()
        .unwrap()
        .write_stream()
        .format("parquet")
        .partition_by(&["key"])
        .option("path", output.to_str().unwrap())
        .option("checkpointLocation", checkpoint.to_str().unwrap())
        .start()
        .unwrap();
    let mut want = Vec::new();
    for batch in 0..3 {
        let rows: Vec<(&str, i64, i64)> = (0..30)
            .map(|i| (["a", "b", "c"][i as usize % 3], batch * 100 + i, 0))
            .collect();
        want.extend(rows.iter().map(|r| (r.0.to_string(), r.1)));
        input.add_data(events(&rows)).unwrap();
        query.process_all_available().unwrap();
    }
    query.stop().unwrap();
    for key in ["a", "b", "c"] {
        assert!(output.join(format!("key={key}")).is_dir(), "key={key}");
    }
    let listed: Vec<String> = (0..3)
        .flat_map(|n| {
            std::fs::read_to_string(output.join(format!("_spark_metadata/{n}")))
                .unwrap()
                .lines()
                .skip(1)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(listed.iter().all(|l| l.contains("/key=")), "{listed:?}");
    let read = ctx.read().parquet(output.to_str().unwrap()).unwrap();
    read.create_or_replace_temp_view("partitioned").unwrap();
    want.sort();
    assert_eq!(
        pairs(&ctx, "SELECT key, amount FROM partitioned"),
        want,
        "every row once, its key from its directory"
    );
}

#[test]
fn sliding_and_session_windows_from_sql_match_the_dataframe_api() {
    let ctx = ctx();
    let rows: Vec<(&str, i64, i64)> = (0..60)
        .map(|i| (["a", "b"][i as usize % 2], i, (i * i * 7) % 300))
        .collect();
    let table = ctx.create_data_frame(vec![events(&rows)]).unwrap();
    table.create_or_replace_temp_view("timed").unwrap();
    let sliding_sql = ctx
        .sql(
            "SELECT key, CAST(window(time, '30 seconds', '10 seconds')['start'] AS VARCHAR) \
             AS start, count(*) AS n FROM timed \
             GROUP BY key, window(time, '30 seconds', '10 seconds') ORDER BY key, start",
        )
        .unwrap()
        .tab_rows(false)
        .unwrap();
    let sliding_api = table
        .group_by(vec![
            col("key"),
            sliding_window(col("time"), "30 seconds", "10 seconds").unwrap(),
        ])
        .agg(vec![count(lit(1)).alias("n")])
        .unwrap()
        .select(vec![
            col("key"),
            cast(col("window").field("start"), DataType::Utf8).alias("start"),
            col("n"),
        ])
        .unwrap()
        .order_by(vec![
            col("key").sort(true, true),
            col("start").sort(true, true),
        ])
        .unwrap()
        .tab_rows(false)
        .unwrap();
    assert!(sliding_sql.lines().count() > 20, "{sliding_sql}");
    assert_eq!(sliding_sql, sliding_api);
    let sessions_sql = ctx
        .sql(
            "SELECT key, session_window(time, '10 seconds')['start'] AS start, \
             session_window(time, '10 seconds')['end'] AS end, count(*) AS n, \
             sum(amount) AS total FROM timed GROUP BY key, session_window(time, '10 seconds')",
        )
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(session_rows(&sessions_sql), sessions_oracle(&rows, 10));
    // Sessions of a stream from SQL merge across batches as the DataFrame API's do.
    let input = MemoryStream::new(&ctx, events_schema());
    input
        .to_df()
        .unwrap()
        .with_watermark("time", "30 seconds")
        .unwrap()
        .create_or_replace_temp_view("timed_stream")
        .unwrap();
    let query = ctx
        .sql(
            "SELECT key, session_window(time, '10 seconds')['start'] AS start, \
             session_window(time, '10 seconds')['end'] AS end, count(*) AS n, \
             sum(amount) AS total FROM timed_stream GROUP BY key, session_window(time, '10 seconds')",
        )
        .unwrap()
        .write_stream()
        .format("memory")
        .query_name("sql_sessions")
        .output_mode(OutputMode::Update)
        .start()
        .unwrap();
    for batch in [
        &[("a", 1, 0), ("a", 2, 25)][..],
        &[("a", 4, 8), ("a", 5, 17)][..],
    ] {
        input.add_data(events(batch)).unwrap();
        query.process_all_available().unwrap();
    }
    let updates = session_rows(
        &ctx.sql("SELECT * FROM sql_sessions")
            .unwrap()
            .collect()
            .unwrap(),
    );
    assert!(
        updates.contains(&("a".into(), 0, 35, 4, 12)),
        "the second batch joins a's sessions: {updates:?}"
    );
    query.stop().unwrap();
    let err = ctx
        .sql("SELECT window(time, '30 seconds', '10 seconds') FROM timed")
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    assert!(err.contains("group by it"), "{err}");
}
