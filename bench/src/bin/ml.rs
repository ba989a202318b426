//! `ml`: the ember side of the machine-learning benchmark (`bench/ml.sh`), and the generator
//! of its data.
//!
//! ```text
//! ml gen --kind logistic|blobs --rows N --features D --out DIR [--seed S]
//! ml logistic-regression --input DIR [--iterations 20]
//! ml linear-regression --input DIR
//! ml kmeans --input DIR [--k 10] [--iterations 20]
//! ```
//!
//! `gen` writes Parquet of columns `label`, `f0` .. `f<D-1>`: for `logistic`, features of
//! different scales and a label drawn from a logistic model of them; for `blobs`, points
//! around ten centers (label: the center). The others read it as a Spark user would
//! (`read.parquet`, `VectorAssembler`), fit, and print
//! `ml (ember): <algorithm> fit <secs> s; <figure>=<value>`: the training accuracy of the
//! logistic regression, the training RMSE of the linear regression (least squares of the
//! logistic data's 0/1 label, by the normal equations as Spark's default solver does), the
//! cost (inertia) of k-means, which `bench/ml.sh` compares across engines.

use clap::{Parser, Subcommand, ValueEnum};
use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember::ml::classification::LogisticRegression;
use ember::ml::clustering::KMeans;
use ember::ml::evaluation::{Evaluator, RegressionEvaluator};
use ember::ml::feature::VectorAssembler;
use ember::ml::regression::LinearRegression;
use ember::ml::{Estimator, Transformer};
use ember::sql::{col, ArrowBatch, ArrowRddExt, DataFrame, SaveMode, SqlContextExt};
use ember::{Context, EmberConf, Fn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Generate machine-learning data, or fit a model to it with ember.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Where tasks run.
    #[arg(long, default_value = "local[2]")]
    master: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write generated rows as Parquet.
    Gen {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        features: usize,
        #[arg(long)]
        out: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Fit a logistic regression (no penalty) and report its training accuracy.
    LogisticRegression {
        #[arg(long)]
        input: String,
        #[arg(long, default_value_t = 20)]
        iterations: i32,
    },
    /// Fit a linear regression (no penalty, Spark's default solver) and report its training
    /// RMSE.
    LinearRegression {
        #[arg(long)]
        input: String,
    },
    /// Fit k-means (k-means||) and report its cost.
    Kmeans {
        #[arg(long)]
        input: String,
        #[arg(long, default_value_t = 10)]
        k: i32,
        #[arg(long, default_value_t = 20)]
        iterations: i32,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Kind {
    Logistic,
    Blobs,
}

/// Rows generated per task, and per batch.
const ROWS_PER_PARTITION: u64 = 250_000;
const BATCH_ROWS: u64 = 8_192;

fn main() -> ExitCode {
    ember::init_logging();
    let args = Args::parse();
    let conf = EmberConf::new().map(|c| c.set_master(&args.master).set_app_name("ml-bench"));
    let outcome = conf
        .and_then(Context::new)
        .map_err(|e| e.to_string())
        .and_then(|ctx| run(&ctx, args.command));
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ml: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(ctx: &Context, command: Command) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    match command {
        Command::Gen {
            kind,
            rows,
            features,
            out,
            seed,
        } => {
            generate(ctx, kind, rows, features, seed)
                .and_then(|df| Ok(df.write().mode(SaveMode::Overwrite).parquet(&out)?))
                .map_err(|e| fail(&e))?;
            Ok(format!(
                "ml gen: {rows} rows of {features} features in {out}"
            ))
        }
        Command::LogisticRegression { input, iterations } => {
            let data = assembled(ctx, &input).map_err(|e| fail(&e))?;
            let started = Instant::now();
            let model = LogisticRegression::new()
                .set_max_iter(iterations)
                .fit(&data)
                .map_err(|e| fail(&e))?;
            let secs = started.elapsed().as_secs_f64();
            let scored = model.transform(&data).map_err(|e| fail(&e))?;
            let right = scored
                .filter(col("prediction").eq(col("label")))
                .and_then(|d| d.count())
                .map_err(|e| fail(&e))?;
            let total = data.count().map_err(|e| fail(&e))?;
            let accuracy = right as f64 / total as f64;
            Ok(format!(
                "ml (ember): logistic-regression fit {secs:.3} s; accuracy={accuracy:.6}"
            ))
        }
        Command::LinearRegression { input } => {
            let data = assembled(ctx, &input).map_err(|e| fail(&e))?;
            let started = Instant::now();
            let model = LinearRegression::new().fit(&data).map_err(|e| fail(&e))?;
            let secs = started.elapsed().as_secs_f64();
            let scored = model.transform(&data).map_err(|e| fail(&e))?;
            let rmse = RegressionEvaluator::new()
                .evaluate(&scored)
                .map_err(|e| fail(&e))?;
            Ok(format!(
                "ml (ember): linear-regression fit {secs:.3} s; rmse={rmse:.6}"
            ))
        }
        Command::Kmeans {
            input,
            k,
            iterations,
        } => {
            let data = assembled(ctx, &input).map_err(|e| fail(&e))?;
            let started = Instant::now();
            let model = KMeans::new()
                .set_k(k)
                .set_max_iter(iterations)
                .set_seed(1)
                .fit(&data)
                .map_err(|e| fail(&e))?;
            let secs = started.elapsed().as_secs_f64();
            let cost = model.summary().map_or(f64::NAN, |s| s.training_cost);
            Ok(format!(
                "ml (ember): kmeans fit {secs:.3} s; cost={cost:.6e}"
            ))
        }
    }
}

/// The Parquet rows at `input` with their `f*` columns assembled into `features`.
fn assembled(ctx: &Context, input: &str) -> Result<DataFrame, Box<dyn std::error::Error>> {
    let rows = ctx.read().parquet(input)?;
    let features: Vec<String> = rows
        .columns()
        .into_iter()
        .filter(|c| c.starts_with('f'))
        .collect();
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let assembled = VectorAssembler::new()
        .set_input_cols(&names)
        .set_output_col("features")
        .transform(&rows)?;
    Ok(assembled.select(vec![col("label"), col("features")])?)
}

/// `rows` generated rows in partitions of [`ROWS_PER_PARTITION`], each from its own stream.
fn generate(
    ctx: &Context,
    kind: Kind,
    rows: u64,
    features: usize,
    seed: u64,
) -> Result<DataFrame, Box<dyn std::error::Error>> {
    let partitions = rows.div_ceil(ROWS_PER_PARTITION) as usize;
    let mut fields = vec![Field::new("label", DataType::Float64, false)];
    fields.extend((0..features).map(|j| Field::new(format!("f{j}"), DataType::Float64, false)));
    let schema = Arc::new(Schema::new(fields));
    let batches = ctx
        .parallelize((0..partitions as u64).collect::<Vec<u64>>(), partitions)
        .flat_map(Fn!(move |partition: u64| {
            let start = partition * ROWS_PER_PARTITION;
            let end = rows.min(start + ROWS_PER_PARTITION);
            let mut rng =
                StdRng::seed_from_u64(seed ^ partition.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut batches = Vec::new();
            let mut at = start;
            while at < end {
                let n = BATCH_ROWS.min(end - at) as usize;
                batches.push(ArrowBatch::new(batch(kind, n, features, seed, &mut rng)));
                at += n as u64;
            }
            batches
        }));
    Ok(batches.batches_to_data_frame(schema)?)
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// `n` rows of `kind`: the model behind them (coefficients, centers) comes from `seed` alone,
/// so every partition draws from the same one.
fn batch(kind: Kind, n: usize, features: usize, seed: u64, rng: &mut StdRng) -> RecordBatch {
    let mut model = StdRng::seed_from_u64(seed);
    let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(n); features + 1];
    match kind {
        Kind::Logistic => {
            let scales: Vec<f64> = (0..features).map(|j| 1.0 + (j % 5) as f64).collect();
            let truth: Vec<f64> = (0..features)
                .map(|_| normal(&mut model) / features as f64 * 4.0)
                .collect();
            for _ in 0..n {
                let mut margin = 0.1;
                for j in 0..features {
                    let x = normal(rng) * scales[j];
                    margin += truth[j] * x / scales[j];
                    columns[j + 1].push(x);
                }
                let label = rng.random::<f64>() < 1.0 / (1.0 + (-margin).exp());
                columns[0].push(f64::from(u8::from(label)));
            }
        }
        Kind::Blobs => {
            let centers: Vec<Vec<f64>> = (0..10)
                .map(|_| {
                    (0..features)
                        .map(|_| model.random_range(-20.0..20.0))
                        .collect()
                })
                .collect();
            for _ in 0..n {
                let c = rng.random_range(0..centers.len());
                for j in 0..features {
                    columns[j + 1].push(centers[c][j] + normal(rng));
                }
                columns[0].push(c as f64);
            }
        }
    }
    let mut fields = vec![Field::new("label", DataType::Float64, false)];
    fields.extend((0..features).map(|j| Field::new(format!("f{j}"), DataType::Float64, false)));
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns of one length")
}
