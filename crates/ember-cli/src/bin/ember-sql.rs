//! `ember-sql`: SQL statements like spark-sql, from `-e`, `-f` or standard input (see
//! [`ember_cli::sql`]). `ember sql` runs this binary.

use clap::Parser;
use ember_cli::args::RawSqlArgs;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ember-sql: SQL on ember, like spark-sql.
#[derive(Parser, Debug)]
#[command(name = "ember-sql", version, about)]
struct SqlCli {
    #[command(flatten)]
    args: RawSqlArgs,
}

fn main() -> ExitCode {
    ember::init_logging();
    let cli = SqlCli::parse();
    let outcome = cli.args.validate().and_then(|a| ember_cli::sql::run(&a));
    outcome.unwrap_or_else(|e| {
        eprintln!("ember-sql: {e}");
        e.exit_code()
    })
}
