//! `nexmark-ember`: ember's side of the Nexmark benchmark (`bench/nexmark.sh`), Structured
//! Streaming from and to the local Kafka broker.
//!
//! - `--mode throughput`: the query over the whole backlog `nexmark produce` left in `--topic`,
//!   at most `--max-per-trigger` bids a batch, until it is read (`Trigger.AvailableNow`);
//!   prints the bids read and how long the query ran.
//! - `--mode latency`: the query from the topic's end on a 200 ms processing-time trigger for
//!   `--seconds`, while `nexmark feed` sends bids and `nexmark latency` reads the output.
//!
//! Queries: `q0` pass-through, `q1` currency conversion (a projection), `q2` selection (a
//! filter), `q5` bids per auction in 10-second tumbling windows (a watermark of 1 second,
//! windows written as they close), `q8` new persons joined with the auctions they opened in
//! the same 10-second window (a stream-stream join of two filters of the topic, Nexmark's mix
//! of events). Outputs go to `--out-topic`, one transaction a batch.

use clap::{Parser, ValueEnum};
use ember::sql::streaming::Trigger;
use ember::sql::{col, count, lit, window, SqlContextExt};
use ember::{Context, EmberConf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Throughput,
    Latency,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Query {
    Q0,
    Q1,
    Q2,
    Q5,
    Q8,
}

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "local[2]")]
    master: String,
    #[arg(long)]
    bootstrap: String,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    out_topic: String,
    #[arg(long, value_enum)]
    query: Query,
    #[arg(long, value_enum)]
    mode: Mode,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long)]
    checkpoint: String,
    #[arg(long, default_value_t = 200_000)]
    max_per_trigger: u64,
}

/// A bid's columns, as `nexmark produce` writes them.
const BID: &str = "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, \
                   dateTime TIMESTAMP, extra STRING, ts BIGINT";

/// The columns q8 reads of persons and auctions, as `nexmark produce --mix` writes them.
const EVENT: &str = "type STRING, id BIGINT, name STRING, seller BIGINT, dateTime TIMESTAMP, \
                     ts BIGINT";

fn main() -> ember::sql::Result<()> {
    let args = Args::parse();
    ember::init_logging();
    let conf = EmberConf::new()?
        .set_master(&args.master)
        .set_app_name("nexmark");
    let ctx = Context::new(conf)?;
    let starting = match args.mode {
        Mode::Throughput => "earliest",
        Mode::Latency => "latest",
    };
    ctx.read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("subscribe", &args.topic)
        .option("startingOffsets", starting)
        .option("maxOffsetsPerTrigger", &args.max_per_trigger.to_string())
        .load()?
        .create_or_replace_temp_view("kafka_in")?;
    let bids = ctx.sql(&format!(
        "SELECT b['auction'] AS auction, b['bidder'] AS bidder, b['price'] AS price, \
         b['dateTime'] AS \"dateTime\", b['ts'] AS ts \
         FROM (SELECT from_json(CAST(value AS STRING), '{BID}') AS b FROM kafka_in)"
    ))?;
    bids.create_or_replace_temp_view("bids")?;
    let out = match args.query {
        Query::Q0 => ctx.sql(
            "SELECT concat_ws(',', auction, bidder, price, \"dateTime\", ts) AS value FROM bids",
        )?,
        Query::Q1 => ctx.sql(
            "SELECT concat_ws(',', auction, bidder, CAST(0.908 * price AS BIGINT), ts) AS value \
             FROM bids",
        )?,
        Query::Q2 => ctx.sql(
            "SELECT concat_ws(',', auction, price, ts) AS value FROM bids \
             WHERE auction % 123 = 0",
        )?,
        Query::Q5 => {
            bids.with_watermark("dateTime", "1 second")?
                .group_by(vec![
                    window(col("\"dateTime\""), "10 seconds")?,
                    col("auction"),
                ])
                .agg(vec![count(lit(1)).alias("bids")])?
                .create_or_replace_temp_view("per_window")?;
            ctx.sql(
                "SELECT concat_ws(',', auction, bids, CAST(window['end'] AS STRING)) AS value \
                 FROM per_window",
            )?
        }
        Query::Q8 => {
            ctx.sql(&format!(
                "SELECT e['type'] AS type, e['id'] AS id, e['name'] AS name, \
                 e['seller'] AS seller, e['dateTime'] AS \"dateTime\", e['ts'] AS ts \
                 FROM (SELECT from_json(CAST(value AS STRING), '{EVENT}') AS e FROM kafka_in)"
            ))?
            .with_watermark("dateTime", "1 second")?
            .create_or_replace_temp_view("events")?;
            ctx.sql(
                "SELECT concat_ws(',', p.id, p.name, CAST(p.w['start'] AS STRING), \
                 greatest(p.ts, a.ts)) AS value \
                 FROM (SELECT id, name, window(\"dateTime\", '10 seconds') AS w, ts \
                       FROM events WHERE type = 'person') p \
                 JOIN (SELECT seller, window(\"dateTime\", '10 seconds') AS w, ts \
                       FROM events WHERE type = 'auction') a \
                 ON p.id = a.seller AND p.w = a.w",
            )?
        }
    };
    let trigger = match args.mode {
        Mode::Throughput => Trigger::AvailableNow,
        Mode::Latency => Trigger::processing_time("200 milliseconds")?,
    };
    let began = Instant::now();
    let query = out
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("topic", &args.out_topic)
        .option("checkpointLocation", &args.checkpoint)
        .trigger(trigger)
        .start()?;
    match args.mode {
        Mode::Throughput => query.await_termination()?,
        Mode::Latency => {
            query.await_termination_timeout(std::time::Duration::from_secs(args.seconds))?;
            query.stop()?;
        }
    }
    let took = began.elapsed();
    let progress = query.recent_progress();
    let events: u64 = progress.iter().map(|p| p.num_input_rows).sum();
    // Where the time went, summed over the batches.
    let mut steps = std::collections::BTreeMap::new();
    for p in &progress {
        for (step, ms) in &p.duration_ms {
            *steps.entry(step.clone()).or_insert(0) += ms;
        }
    }
    let steps: Vec<String> = steps.iter().map(|(s, ms)| format!("{s}_ms={ms}")).collect();
    println!(
        "nexmark: engine=ember query={:?} mode={:?} events={events} batches={} query_ms={} {}",
        args.query,
        args.mode,
        progress.len(),
        took.as_millis(),
        steps.join(" ")
    );
    Ok(())
}
