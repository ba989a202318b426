//! An application for the YARN tests, run by `ember submit` like any user's binary: it depends
//! on the `ember` facade alone, as applications do, which is how it runs on `--master yarn`.
//!
//! - `slow <out> <tasks> <seconds>`: saves the numbers `0..tasks`, each task taking `seconds`;
//! - `panic`: a job whose closure panics on every record, so every attempt fails;
//! - `files <name> <out>`: saves, from two tasks, the text of file `name` of each executor's
//!   working directory;
//! - `stream-totals <in> <out> <checkpoint> <seconds>`: a stream of running word totals over
//!   the files moved into `<in>`, recovered from `<checkpoint>` when one is there (as a new
//!   ApplicationMaster attempt finds it), each batch's totals saved as `<out>/batch-<ms>`;
//!   stops after `<seconds>`;
//! - `kafka-files <bootstrap> <topic> <out> <checkpoint> <seconds>`: a direct Kafka stream of
//!   `<topic>` from its earliest offsets, recovered from `<checkpoint>` when one is there, each
//!   batch's record values saved as `<out>/batch-<ms>`; stops after `<seconds>`.
//! - `kafka-structured <bootstrap> <topic> <out-topic> <out> <checkpoint> <seconds>`: two
//!   Structured Streaming queries of `<topic>` from its earliest offsets, at most 6,000 records a
//!   batch, every 200 ms: one writes the values to `<out-topic>` (transactions), the other to
//!   Parquet files in `<out>`; checkpoints under `<checkpoint>/kafka` and `<checkpoint>/files`;
//!   both stop after `<seconds>`.
//! - `kafka-kmeans <bootstrap> <train> <topic> <out> <checkpoint> <seconds>`: ember-ml's
//!   `KMeans` (k = 3) trained on the points of the CSV file `<train>` (`x,y`) as a batch
//!   DataFrame, the model then applied to the records `id,x,y` of `<topic>` in a Structured
//!   Streaming query, `(id, cluster)` written to Parquet files in `<out>` exactly once; stops
//!   after `<seconds>`.

use ember::kafka::{ConsumerRecord, KafkaUtils, StartingOffsets};
use ember::streaming::StreamingContext;
use ember::{Context, EmberConf, Fn};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    ember::logging::init("warn,ember_core=info");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("it-app: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let ctx = EmberConf::new()
        .and_then(Context::new)
        .map_err(|e| e.to_string())?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["slow", out, tasks, seconds] => {
            let tasks: i64 = tasks.parse().map_err(|_| "tasks: a number")?;
            let seconds: u64 = seconds.parse().map_err(|_| "seconds: a number")?;
            ctx.range(0, tasks, 1, tasks as usize)
                .map_err(|e| e.to_string())?
                .map(Fn!(move |x: i64| {
                    std::thread::sleep(std::time::Duration::from_secs(seconds));
                    x
                }))
                .save_as_text_file(out)
                .map_err(|e| e.to_string())
        }
        ["panic"] => {
            let counted = ctx
                .range(0, 100, 1, 4)
                .map_err(|e| e.to_string())?
                .map(Fn!(|x: i64| -> i64 {
                    if x >= 0 {
                        panic!("bad record {x}");
                    }
                    x
                }))
                .count();
            counted.map(|_| ()).map_err(|e| e.to_string())
        }
        ["files", name, out] => {
            let name = name.to_string();
            ctx.range(0, 2, 1, 2)
                .map_err(|e| e.to_string())?
                .map(Fn!(move |_: i64| match std::fs::read_to_string(&name) {
                    Ok(text) => text.trim().to_string(),
                    Err(e) => format!("cannot read it: {e}"),
                }))
                .save_as_text_file(out)
                .map_err(|e| e.to_string())
        }
        ["stream-totals", input, out, checkpoint, seconds] => {
            let seconds: u64 = seconds.parse().map_err(|_| "seconds: a number")?;
            stream_totals(&ctx, input, out, checkpoint, seconds).map_err(|e| e.to_string())
        }
        ["kafka-files", bootstrap, topic, out, checkpoint, seconds] => {
            let seconds: u64 = seconds.parse().map_err(|_| "seconds: a number")?;
            kafka_files(&ctx, bootstrap, topic, out, checkpoint, seconds).map_err(|e| e.to_string())
        }
        ["kafka-structured", bootstrap, topic, out_topic, out, checkpoint, seconds] => {
            let seconds: u64 = seconds.parse().map_err(|_| "seconds: a number")?;
            let queries = KafkaQueries {
                bootstrap,
                topic,
                out_topic,
                out,
                checkpoint,
            };
            queries.run(&ctx, seconds).map_err(|e| e.to_string())
        }
        ["kafka-kmeans", bootstrap, train, topic, out, checkpoint, seconds] => {
            let seconds: u64 = seconds.parse().map_err(|_| "seconds: a number")?;
            let model = train_kmeans(&ctx, train, 3).map_err(|e| e.to_string())?;
            eprintln!("k-means centroids: {:?}", model.cluster_centers());
            let places = [bootstrap, topic, out, checkpoint];
            predict_kmeans(&ctx, &model, places, seconds).map_err(|e| e.to_string())
        }
        _ => Err(
            "usage: it-app slow <out> <tasks> <seconds> | it-app panic | it-app files \
                  <name> <out> | it-app stream-totals <in> <out> <checkpoint> <seconds> | \
                  it-app kafka-files <bootstrap> <topic> <out> <checkpoint> <seconds> | \
                  it-app kafka-structured <bootstrap> <topic> <out-topic> <out> <checkpoint> \
                  <seconds> | it-app kafka-kmeans <bootstrap> <train> <topic> <out> <checkpoint> \
                  <seconds>"
                .into(),
        ),
    }
}

fn stream_totals(
    ctx: &Context,
    input: &str,
    out: &str,
    checkpoint: &str,
    seconds: u64,
) -> ember::Result<()> {
    run_recovered(checkpoint, seconds, || {
        let ssc = StreamingContext::new(ctx, Duration::from_secs(1))?;
        let totals = ssc
            .text_file_stream(input)?
            .flat_map(Fn!(|l: String| l
                .split(' ')
                .map(String::from)
                .collect::<Vec<_>>()))
            .map(Fn!(|w: String| (w, 1u64)))
            .update_state_by_key(
                Fn!(|new: Vec<u64>, old: Option<u64>| Some(
                    old.unwrap_or(0) + new.iter().sum::<u64>()
                )),
                2,
            );
        let (writer, out) = (ctx.clone(), out.to_string());
        totals.foreach_rdd(move |rdd, time| {
            let mut totals = rdd.collect()?;
            totals.sort();
            let lines: String = totals.iter().map(|(w, n)| format!("{w} {n}\n")).collect();
            let file = format!("{out}/batch-{}", time.millis());
            writer.env().write_file(&file, lines.as_bytes())
        });
        Ok(ssc)
    })
}

/// A direct stream of `topic`, each batch's record values written whole to
/// `<out>/batch-<ms>`, one a line: a batch that runs again after a restart writes the same file
/// with the same records, so the files hold every record once.
fn kafka_files(
    ctx: &Context,
    bootstrap: &str,
    topic: &str,
    out: &str,
    checkpoint: &str,
    seconds: u64,
) -> ember::Result<()> {
    let params = BTreeMap::from([("bootstrap.servers".to_string(), bootstrap.to_string())]);
    run_recovered(checkpoint, seconds, || {
        let ssc = StreamingContext::new(ctx, Duration::from_secs(1))?;
        let direct =
            KafkaUtils::create_direct_stream(&ssc, &[topic], &params, StartingOffsets::Earliest)?;
        let (writer, out) = (ctx.clone(), out.to_string());
        direct.stream().foreach_rdd(move |rdd, time| {
            let values = rdd.map(Fn!(|r: ConsumerRecord| String::from_utf8_lossy(
                &r.value.unwrap_or_default()
            )
            .into_owned()));
            let lines: String = values.collect()?.iter().map(|v| format!("{v}\n")).collect();
            let file = format!("{out}/batch-{}", time.millis());
            writer.env().write_file(&file, lines.as_bytes())
        });
        Ok(ssc)
    })
}

/// Runs the stream `build` makes, or the one recovered from `checkpoint`, for `seconds`.
fn run_recovered(
    checkpoint: &str,
    seconds: u64,
    build: impl FnOnce() -> ember::Result<StreamingContext>,
) -> ember::Result<()> {
    let ssc = StreamingContext::get_or_create(checkpoint, build)?;
    ssc.start()?;
    ssc.await_termination_or_timeout(Duration::from_secs(seconds))?;
    ssc.stop(true, true);
    Ok(())
}

/// The two queries of `kafka-structured`.
struct KafkaQueries<'a> {
    bootstrap: &'a str,
    topic: &'a str,
    out_topic: &'a str,
    out: &'a str,
    checkpoint: &'a str,
}

impl KafkaQueries<'_> {
    fn run(&self, ctx: &Context, seconds: u64) -> ember::sql::Result<()> {
        use ember::sql::streaming::Trigger;
        use ember::sql::SqlContextExt;
        let values = ctx
            .read_stream()
            .format("kafka")
            .option("kafka.bootstrap.servers", self.bootstrap)
            .option("subscribe", self.topic)
            .option("startingOffsets", "earliest")
            .option("maxOffsetsPerTrigger", "6000")
            .load()?
            .select(vec![ember::sql::col("value")])?;
        let trigger = Trigger::processing_time("200 milliseconds")?;
        let to_kafka = values
            .write_stream()
            .format("kafka")
            .option("kafka.bootstrap.servers", self.bootstrap)
            .option("topic", self.out_topic)
            .option("checkpointLocation", &format!("{}/kafka", self.checkpoint))
            .trigger(trigger)
            .start()?;
        let text = values.select(vec![ember::sql::cast(
            ember::sql::col("value"),
            ember::sql::DataType::Utf8,
        )
        .alias("value")])?;
        let to_files = text
            .write_stream()
            .format("parquet")
            .option("path", self.out)
            .option("checkpointLocation", &format!("{}/files", self.checkpoint))
            .trigger(trigger)
            .start()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        for query in [&to_kafka, &to_files] {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            query.await_termination_timeout(left)?;
        }
        to_kafka.stop()?;
        to_files.stop()
    }
}

/// `x` and `y` assembled into the vector column `features`.
fn points(rows: &ember::sql::DataFrame) -> ember::ml::Result<ember::sql::DataFrame> {
    use ember::ml::feature::VectorAssembler;
    use ember::ml::Transformer;
    VectorAssembler::new()
        .set_input_cols(&["x", "y"])
        .set_output_col("features")
        .transform(rows)
}

/// k-means (ember-ml's `KMeans`, k-means||) over the points of the CSV file `train`, a batch
/// DataFrame.
fn train_kmeans(
    ctx: &Context,
    train: &str,
    k: i32,
) -> ember::ml::Result<ember::ml::clustering::KMeansModel> {
    use ember::ml::clustering::KMeans;
    use ember::ml::Estimator;
    use ember::sql::{DataType, Field, Schema, SqlContextExt};
    let schema = Schema::new(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ]);
    let rows = ctx
        .read()
        .schema(schema)
        .option("header", "false")
        .csv(train)?;
    KMeans::new().set_k(k).set_seed(1).fit(&points(&rows)?)
}

/// The model's cluster of each point of `topic`, as `(id, cluster)` in Parquet files: the
/// batch-trained model's `transform` applied to the streaming DataFrame, as in Spark.
fn predict_kmeans(
    ctx: &Context,
    model: &ember::ml::clustering::KMeansModel,
    [bootstrap, topic, out, checkpoint]: [&str; 4],
    seconds: u64,
) -> ember::ml::Result<()> {
    use ember::ml::Transformer;
    use ember::sql::streaming::Trigger;
    use ember::sql::{col, SqlContextExt};
    ctx.read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", "3000")
        .load()?
        .create_or_replace_temp_view("points")?;
    let rows = ctx.sql(
        "SELECT CAST(split_part(v, ',', 1) AS BIGINT) AS id, \
         CAST(split_part(v, ',', 2) AS DOUBLE) AS x, CAST(split_part(v, ',', 3) AS DOUBLE) AS y \
         FROM (SELECT CAST(value AS STRING) AS v FROM points)",
    )?;
    let predictions = model
        .transform(&points(&rows)?)?
        .select(vec![col("id"), col("prediction").alias("cluster")])?;
    let query = predictions
        .write_stream()
        .format("parquet")
        .option("path", out)
        .option("checkpointLocation", checkpoint)
        .trigger(Trigger::processing_time("200 milliseconds")?)
        .start()?;
    query.await_termination_timeout(Duration::from_secs(seconds))?;
    Ok(query.stop()?)
}
