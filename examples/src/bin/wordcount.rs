//! Word count as a standalone ember application.
//!
//! ```text
//! cargo build --release -p ember-examples
//! ember submit --master 'local[2]' target/release/wordcount <input> <output-dir>
//! ```
//!
//! `ember submit` hands the master URL and `--conf` settings to the application;
//! `EmberConf::new()` picks them up (with `conf/ember-defaults.conf`).

use ember::{Context, EmberConf};
use ember_examples::{wordcount, ExampleError};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ember::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = match EmberConf::new().and_then(|conf| Context::new(conf.set_app_name("wordcount"))) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("wordcount: {e}");
            return ExitCode::FAILURE;
        }
    };
    match wordcount::run(&ctx, &args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e @ ExampleError::Usage(_)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("wordcount: {e}");
            ExitCode::FAILURE
        }
    }
}
