//! The `ember` command: `ember submit` runs an application or a built-in example, like
//! spark-submit, locally or on YARN; `ember sql` runs SQL statements like spark-sql;
//! `ember examples` lists the examples; `ember status` and `ember kill` follow and stop YARN
//! applications.
//!
//! This file only parses, runs and maps errors to exit codes: 0 on success, 1 when the job or
//! application failed, 2 for bad arguments.

mod args;
mod sql;
mod submit;
mod yarn;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ember::init_logging();
    let cli = args::Cli::parse();
    let outcome = match cli.command {
        args::Command::Submit(raw) => {
            args::SubmitArgs::validate(*raw).and_then(|a| submit::run(&a))
        }
        args::Command::Sql(raw) => raw.validate().and_then(|a| sql::run(&a)),
        args::Command::Examples => {
            submit::list_examples();
            Ok(ExitCode::SUCCESS)
        }
        args::Command::Status { app_id } => yarn::status(&app_id),
        args::Command::Kill { app_id } => yarn::kill(&app_id),
        args::Command::ApplicationMaster {
            driver_address,
            driver,
        } => {
            let driver = match driver_address {
                Some(address) => ember_yarn::am::Driver::Remote(address),
                None => ember_yarn::am::Driver::Command(driver),
            };
            let status = ember_yarn::am::run(driver);
            Ok(ExitCode::from(u8::try_from(status).unwrap_or(1)))
        }
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("ember: {e}");
        e.exit_code()
    })
}
