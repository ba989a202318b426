//! ember: Apache Spark's programming model in Rust, on the Hadoop clusters you already have.
//!
//! Applications depend on this crate. It re-exports the engine and will grow the entry point
//! that decides, at start-up, whether the binary runs as driver, ApplicationMaster or executor.
//!
//! # Architecture
//!
//! | crate | owns |
//! |---|---|
//! | `ember-core` | Context, RDDs, DAG and task scheduling, shuffle, storage, broadcast, accumulators |
//! | `ember` | this facade |
//! | `ember-cli` | the `ember` command: `ember submit`, built-in examples |
//!
//! A job flows from an action on an [`Rdd`] to the DAG scheduler, which cuts the lineage into
//! stages at shuffle boundaries; each stage's tasks are serialized with their closures and run on
//! task slots; map tasks write sorted, indexed shuffle files that the next stage reads.
//!
//! # Getting started
//!
//! Closures that run on executors are written with the [`Fn!`] macro, which makes them
//! serializable. The macro expands to code that names the `serde_closure` and `serde` crates,
//! so an application depends on them too:
//!
//! ```toml
//! [dependencies]
//! ember = "0.1"
//! serde = { version = "1", features = ["derive"] }
//! serde_closure = "0.3"
//! ```
//!
//! # Example
//!
//! ```
//! use ember::{Context, Fn};
//! let ctx = Context::with_master("local[2]").unwrap();
//! let lines = ctx.parallelize(vec!["to be or".to_string(), "not to be".to_string()], 2);
//! let counts = lines
//!     .flat_map(Fn!(|l: String| l.split_ascii_whitespace().map(String::from).collect::<Vec<_>>()))
//!     .map(Fn!(|w: String| (w, 1u64)))
//!     .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
//!     .collect_as_map()
//!     .unwrap();
//! assert_eq!(counts["to"], 2);
//! assert_eq!(counts["not"], 1);
//! ```
#![deny(missing_docs)]

pub use ember_core::*;

/// Sends ember's log to stderr: `info` for ember's own messages (stage failures, job
/// summaries), `warn` for everything else. `EMBER_LOG` overrides the filter with the usual
/// `tracing` directives, such as `EMBER_LOG=debug` or `EMBER_LOG=ember_core=warn`.
///
/// Call it once at the start of `main`; later calls do nothing.
pub fn init_logging() {
    let filter = std::env::var("EMBER_LOG").unwrap_or_else(|_| "warn,ember_core=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
