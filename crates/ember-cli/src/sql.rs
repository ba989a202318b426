//! `ember sql`: SQL statements from `-e`, `-f` or standard input, with rows printed as
//! `spark-sql` prints them for scripts: one line per row, values separated by tabs, `NULL` for
//! nulls (`--header` adds a line of column names). After each statement its row count and time
//! go to standard error.
//!
//! With `-e` or `-f` the first failing statement ends the run with exit status 1. Statements
//! from standard input go on after a failure (as a shell session does) and the exit status
//! says whether any failed.

use crate::args::{CliError, SubmitArgs};
use ember::sql::{output, split_statements, SqlContextExt};
use ember::Context;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

/// What `ember sql` runs, and how.
#[derive(Debug)]
pub struct SqlArgs {
    /// Master and settings, as for `ember submit`.
    pub submit: SubmitArgs,
    /// Statements given with `-e`.
    pub execute: Option<String>,
    /// A file of statements given with `-f`.
    pub file: Option<String>,
    /// Print a line of column names before the rows.
    pub header: bool,
}

/// Runs the statements `args` name: the exit status.
///
/// # Errors
/// Bad arguments, a Context that cannot start, or (with `-e`, `-f`) a failing statement.
pub fn run(args: &SqlArgs) -> Result<ExitCode, CliError> {
    let settings = crate::submit::settings(&args.submit)?;
    let ctx = crate::submit::context(&settings)?;
    let script = match (&args.execute, &args.file) {
        (Some(_), Some(_)) => {
            return Err(CliError::Usage("give -e or -f, not both".into()));
        }
        (Some(statements), None) => statements.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| CliError::Usage(format!("cannot read {file}: {e}")))?,
        (None, None) => return session(&ctx, args.header),
    };
    for statement in split_statements(&script) {
        run_statement(&ctx, &statement, args.header).map_err(CliError::Failed)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one statement and prints its rows; on failure, the message to print.
fn run_statement(ctx: &Context, statement: &str, header: bool) -> Result<(), String> {
    let started = Instant::now();
    let df = ctx
        .sql(statement)
        .map_err(|e| format!("Error in query: {e}"))?;
    let batches = df.collect().map_err(|e| format!("Error in query: {e}"))?;
    let rows = output::tab_rows(&df.schema(), &batches, header && !batches.is_empty())
        .map_err(|e| format!("Error in query: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is the reader's choice, not an error of the statement.
    let _ = stdout
        .write_all(rows.as_bytes())
        .and_then(|()| stdout.flush());
    let count = output::row_count(&batches);
    eprintln!(
        "Time taken: {:.3} seconds, Fetched {count} row{}",
        started.elapsed().as_secs_f64(),
        if count == 1 { "" } else { "s" }
    );
    Ok(())
}

/// Statements from standard input, each run once its `;` arrives; a prompt when it is a
/// terminal. Failures are printed and the session goes on.
fn session(ctx: &Context, header: bool) -> Result<ExitCode, CliError> {
    let interactive = std::io::stdin().is_terminal();
    let mut pending = String::new();
    let mut failed = false;
    let prompt = |pending: &str| {
        if interactive {
            eprint!(
                "{}",
                if pending.is_empty() {
                    "ember-sql> "
                } else {
                    "         > "
                }
            );
        }
    };
    prompt(&pending);
    for line in std::io::stdin().lock().lines() {
        let line =
            line.map_err(|e| CliError::Failed(format!("cannot read standard input: {e}")))?;
        pending.push_str(&line);
        pending.push('\n');
        if line.trim_end().ends_with(';') {
            failed |= run_all(ctx, &std::mem::take(&mut pending), header);
        }
        prompt(&pending);
    }
    failed |= run_all(ctx, &pending, header);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs every statement of `text`, printing failures; whether any failed.
fn run_all(ctx: &Context, text: &str, header: bool) -> bool {
    let mut failed = false;
    for statement in split_statements(text) {
        if let Err(message) = run_statement(ctx, &statement, header) {
            eprintln!("{message}");
            failed = true;
        }
    }
    failed
}
