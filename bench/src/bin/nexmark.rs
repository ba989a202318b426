//! `nexmark`: the Kafka side of the Nexmark benchmark (`bench/nexmark.sh`).
//!
//! - `produce`: `--events N` bids into a new topic of `--partitions P`, as fast as the broker
//!   takes them, their event times 10 a millisecond from 2026-01-01: the backlog both engines
//!   read for throughput. With `--mix`, Nexmark's mix of events instead: of every 50, one new
//!   person and three new auctions (by recent persons), the rest bids.
//! - `feed`: bids at `--rate R` a second for `--seconds S`, stamped with the time they are
//!   sent: the input of the latency runs.
//! - `latency`: reads `--topic` as it is written (`read_committed`) for `--seconds`, and prints
//!   the median and p99 time from a bid's stamp to its output record being readable.
//! - `create`: a new topic of `--partitions P`.
//!
//! A bid is Nexmark's (auction, bidder, price, channel, url, dateTime, extra) as one JSON
//! object, with `ts`, its event time in milliseconds, which the queries carry to their output.

use clap::{Parser, Subcommand};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
struct Args {
    /// The brokers.
    #[arg(long)]
    bootstrap: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Produce {
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        #[arg(long)]
        events: u64,
        /// Persons and auctions among the bids, as Nexmark's generator mixes them.
        #[arg(long)]
        mix: bool,
    },
    Feed {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        rate: u64,
        #[arg(long)]
        seconds: u64,
    },
    Latency {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        seconds: u64,
        /// Records of the first seconds are not counted: the engines are starting.
        #[arg(long, default_value_t = 10)]
        skip: u64,
    },
    Create {
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
}

/// 2026-01-01T00:00:00Z in milliseconds.
const EPOCH_MS: i64 = 1_767_225_600_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `ms` as Spark and ember read a JSON timestamp: ISO 8601 in UTC.
fn iso(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// The date `days` after 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A bid at event time `ms`, as Nexmark's generator draws them: auctions and bidders from
/// recent ranges, a few hot ones taking most bids.
fn bid(rng: &mut SmallRng, ms: i64) -> String {
    let hot = rng.random_bool(0.9);
    let auction = if hot {
        1000 + rng.random_range(0..100)
    } else {
        1000 + rng.random_range(0..10_000)
    };
    let bidder = if hot {
        2000 + rng.random_range(0..100)
    } else {
        2000 + rng.random_range(0..100_000)
    };
    let price = rng.random_range(100..100_000);
    let channel = rng.random_range(0..10);
    format!(
        "{{\"auction\":{auction},\"bidder\":{bidder},\"price\":{price},\
         \"channel\":\"channel-{channel}\",\"url\":\"https://www.nexmark.com/item.htm?query={channel}\",\
         \"dateTime\":\"{}\",\"extra\":\"{}\",\"ts\":{ms}}}",
        iso(ms),
        "x".repeat(16)
    )
}

/// Event `i` of Nexmark's mix at event time `ms`: a person, an auction or a bid. Persons and
/// auctions carry `type`; a person's id is its number, and an auction's seller one of the ten
/// latest persons.
fn mixed_event(rng: &mut SmallRng, i: u64, ms: i64) -> String {
    let persons = i / 50 + 1;
    let (dt, extra) = (iso(ms), "x".repeat(16));
    match i % 50 {
        0 => format!(
            "{{\"type\":\"person\",\"id\":{persons},\"name\":\"person-{persons}\",\
             \"email\":\"p{persons}@nexmark.com\",\"city\":\"city-{}\",\"state\":\"OR\",\
             \"dateTime\":\"{dt}\",\"extra\":\"{extra}\",\"ts\":{ms}}}",
            rng.random_range(0..100)
        ),
        1..=3 => {
            let seller = persons.saturating_sub(rng.random_range(0..10)).max(1);
            format!(
                "{{\"type\":\"auction\",\"id\":{},\"itemName\":\"item\",\"seller\":{seller},\
                 \"reserve\":{},\"category\":{},\"dateTime\":\"{dt}\",\"extra\":\"{extra}\",\
                 \"ts\":{ms}}}",
                i,
                rng.random_range(100..100_000),
                rng.random_range(0..10)
            )
        }
        _ => bid(rng, ms),
    }
}

fn producer(bootstrap: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("compression.type", "lz4")
        .create()
        .expect("a Kafka producer")
}

fn send(producer: &BaseProducer, topic: &str, value: &str) {
    let mut record = BaseRecord::<(), str>::to(topic).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((_, back)) => {
                record = back;
                producer.poll(Duration::from_millis(1));
            }
        }
    }
}

fn create(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("a Kafka admin client");
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let made = futures_lite_block_on(admin.create_topics([&new], &AdminOptions::new()));
    for result in made.expect("the broker answers") {
        if let Err((name, e)) = result {
            panic!("cannot create topic {name}: {e}");
        }
    }
}

/// Runs a future to its end on this thread (the admin client's futures need no runtime).
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut context) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = Args::parse();
    let mut rng = SmallRng::seed_from_u64(42);
    match args.command {
        Command::Create { topic, partitions } => create(&args.bootstrap, &topic, partitions),
        Command::Produce {
            topic,
            partitions,
            events,
            mix,
        } => {
            create(&args.bootstrap, &topic, partitions);
            let producer = producer(&args.bootstrap);
            let began = Instant::now();
            for i in 0..events {
                let ms = EPOCH_MS + (i / 10) as i64;
                let event = if mix {
                    mixed_event(&mut rng, i, ms)
                } else {
                    bid(&mut rng, ms)
                };
                send(&producer, &topic, &event);
                if i % 1000 == 0 {
                    producer.poll(Duration::ZERO);
                }
            }
            producer
                .flush(Duration::from_secs(300))
                .expect("the broker takes the bids");
            eprintln!(
                "nexmark: produced {events} events in {:.1} s",
                began.elapsed().as_secs_f64()
            );
        }
        Command::Feed {
            topic,
            rate,
            seconds,
        } => {
            let producer = producer(&args.bootstrap);
            let began = Instant::now();
            let mut sent = 0u64;
            while began.elapsed() < Duration::from_secs(seconds) {
                let due = (began.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    send(&producer, &topic, &bid(&mut rng, now_ms()));
                    sent += 1;
                }
                producer.poll(Duration::from_millis(1));
            }
            producer
                .flush(Duration::from_secs(60))
                .expect("the broker takes the bids");
            println!("nexmark: fed {sent} bids at {rate} a second");
        }
        Command::Latency {
            topic,
            seconds,
            skip,
        } => {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &args.bootstrap)
                .set("group.id", format!("nexmark-latency-{}", now_ms()))
                .set("isolation.level", "read_committed")
                .set("auto.offset.reset", "earliest")
                .set("enable.auto.commit", "false")
                .create()
                .expect("a Kafka consumer");
            consumer.subscribe(&[&topic]).expect("the output topic");
            let began = Instant::now();
            let mut latencies = Vec::new();
            let mut records = 0u64;
            while began.elapsed() < Duration::from_secs(seconds) {
                let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) else {
                    continue;
                };
                records += 1;
                let stamp = message
                    .payload()
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(|ts| ts.trim().parse::<i64>().ok());
                if let (Some(stamp), true) = (stamp, began.elapsed() > Duration::from_secs(skip)) {
                    latencies.push(now_ms() - stamp);
                }
            }
            latencies.sort_unstable();
            println!(
                "nexmark: latency records={records} counted={} p50_ms={} p99_ms={} max_ms={}",
                latencies.len(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                percentile(&latencies, 1.0)
            );
        }
    }
}
