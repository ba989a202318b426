//! The `ember` command: `ember submit` runs an application or a built-in example, like
//! spark-submit; `ember examples` lists the examples.
//!
//! This file only parses, runs and maps errors to exit codes: 0 on success, 1 when the job or
//! application failed, 2 for bad arguments.

mod args;
mod submit;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ember::init_logging();
    let cli = args::Cli::parse();
    let outcome = match cli.command {
        args::Command::Submit(raw) => args::SubmitArgs::validate(raw).and_then(|a| submit::run(&a)),
        args::Command::Examples => {
            submit::list_examples();
            Ok(ExitCode::SUCCESS)
        }
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("ember: {e}");
        e.exit_code()
    })
}
