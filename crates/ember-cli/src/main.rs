//! The `ember` command: `ember submit` runs an application or a built-in example, like
//! spark-submit, locally or on YARN; `ember sql` runs SQL statements like spark-sql;
//! `ember examples` lists the examples; `ember status` and `ember kill` follow and stop YARN
//! applications.
//!
//! This file only parses, runs and maps errors to exit codes: 0 on success, 1 when the job or
//! application failed, 2 for bad arguments.

use clap::Parser;
use ember_cli::{args, submit, yarn};
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
        args::Command::Sql(raw) => raw.validate().and_then(|_| run_ember_sql()),
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

/// `ember sql ARGS`: becomes `ember-sql ARGS`, the binary beside this one.
fn run_ember_sql() -> Result<ExitCode, args::CliError> {
    use std::os::unix::process::CommandExt;
    let here = std::env::current_exe()
        .map_err(|e| args::CliError::Failed(format!("cannot find the ember binary: {e}")))?;
    let sql = here.with_file_name("ember-sql");
    if !sql.is_file() {
        return Err(args::CliError::Failed(sql_not_built(&sql)));
    }
    // Everything after `sql`, as given.
    let rest: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "sql")
        .skip(1)
        .collect();
    let error = std::process::Command::new(&sql).args(rest).exec();
    Err(args::CliError::Failed(format!(
        "cannot run {}: {error}",
        sql.display()
    )))
}

/// What to say when `ember sql` finds no `ember-sql` beside `ember`: the SQL engine is built
/// apart, so that `ember` builds in minutes; the command that builds it, for this build's
/// profile.
fn sql_not_built(sql: &std::path::Path) -> String {
    let in_debug = sql.parent().and_then(|dir| dir.file_name()) == Some("debug".as_ref());
    let release = if in_debug { "" } else { " --release" };
    format!(
        "ember sql needs the SQL engine, the ember-sql binary, and {} has none. It is built \
         apart from ember because it compiles Apache DataFusion (about half an hour the first \
         time on two cores). Build it from ember's source directory with\n\n    \
         cargo build{release} -p ember-cli --features sql\n\nand run `ember sql` again.",
        sql.parent()
            .map_or_else(|| sql.display(), |dir| dir.display())
    )
}
