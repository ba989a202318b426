//! `ember sql`: SQL statements from `-e`, `-f` or standard input, with rows printed as
//! `spark-sql` prints them for scripts: one line per row, values separated by tabs, `NULL` for
//! nulls (`--header` adds a line of column names). After each statement its row count and time
//! go to standard error.
//!
//! With `-e` or `-f` the first failing statement ends the run with exit status 1. Statements
//! from standard input go on after a failure (as a shell session does) and the exit status
//! says whether any failed.
//!
//! On a terminal it is an interactive shell: lines are edited in place, earlier statements come
//! back with the arrow keys (kept in `~/.ember_sql_history` between sessions), a statement may
//! span lines until its `;`, Ctrl-C drops the statement being typed and Ctrl-D ends the session.
//! Rows then print as aligned tables.
//!
//! With `--master local-cluster[E,C,M]` or `--master yarn` queries run as stages on executor
//! processes; on YARN the session is a client-mode application (the shell is the driver, the
//! executors are containers that stay for the session), as spark-sql's.

use crate::args::{CliError, SqlArgs};
use ember::conf::keys;
use ember::sql::{output, split_statements, SqlContextExt};
use ember::Context;
use ember_yarn::submit::DriverPlace;
use rustyline::error::ReadlineError;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Runs the statements `args` name: the exit status.
///
/// # Errors
/// Bad arguments, a Context that cannot start, or (with `-e`, `-f`) a failing statement.
pub fn run(args: &SqlArgs) -> Result<ExitCode, CliError> {
    let settings = crate::submit::settings(&args.submit)?;
    let on_yarn = settings
        .iter()
        .any(|(k, v)| k == keys::MASTER.key && v == "yarn");
    if on_yarn && !crate::yarn::is_yarn_driver() {
        return yarn_session(&settings);
    }
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
    let rows = Rows::Tabs {
        header: args.header,
    };
    for statement in split_statements(&script) {
        run_statement(&ctx, &statement, rows).map_err(CliError::Failed)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--master yarn`: a YARN application in client mode whose driver is this binary again, run
/// with the same arguments in a child process that keeps this terminal; its executors are
/// YARN containers for the whole session (spark-sql's yarn-client session).
fn yarn_session(settings: &[(String, String)]) -> Result<ExitCode, CliError> {
    let cluster_mode = settings
        .iter()
        .any(|(k, v)| k == keys::SUBMIT_DEPLOY_MODE.key && v == "cluster");
    if cluster_mode {
        return Err(CliError::Usage(
            "ember sql is a client of its queries: its deploy mode on YARN is client".into(),
        ));
    }
    let app = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the ember-sql binary: {e}")))?;
    let driver_args = std::env::args().skip(1).collect();
    let place = DriverPlace::Client {
        address: String::new(),
    };
    let mut submission = crate::yarn::submission(Some(app.clone()), driver_args, settings, place)?;
    // The ApplicationMaster is the ember binary's, the one installed beside this one.
    submission.ember_binary = app.with_file_name("ember");
    if !submission.ember_binary.is_file() {
        return Err(CliError::Failed(format!(
            "{} is missing: on YARN ember-sql needs the ember binary beside it (it runs the \
             ApplicationMaster)",
            submission.ember_binary.display()
        )));
    }
    crate::yarn::submit_client(&submission)
}

/// How rows are printed.
#[derive(Debug, Clone, Copy)]
enum Rows {
    /// One line per row, tab-separated, for scripts; `header` adds the column names.
    Tabs { header: bool },
    /// An aligned table, for people at a terminal.
    Table,
}

/// Runs one statement and prints its rows; on failure, the message to print.
fn run_statement(ctx: &Context, statement: &str, rows: Rows) -> Result<(), String> {
    let started = Instant::now();
    let df = ctx
        .sql(statement)
        .map_err(|e| format!("Error in query: {e}"))?;
    let batches = df.collect().map_err(|e| format!("Error in query: {e}"))?;
    let count = output::row_count(&batches);
    let rows = match rows {
        Rows::Tabs { header } => output::tab_rows(&df.schema(), &batches, header && count > 0),
        Rows::Table if count == 0 => Ok(String::new()),
        Rows::Table => output::show_table(&df.schema(), &batches, count),
    }
    .map_err(|e| format!("Error in query: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is the reader's choice, not an error of the statement.
    let _ = stdout
        .write_all(rows.as_bytes())
        .and_then(|()| stdout.flush());
    eprintln!(
        "Time taken: {:.3} seconds, Fetched {count} row{}",
        started.elapsed().as_secs_f64(),
        if count == 1 { "" } else { "s" }
    );
    Ok(())
}

/// Statements from standard input, each run once its `;` arrives. Failures are printed and the
/// session goes on.
fn session(ctx: &Context, header: bool) -> Result<ExitCode, CliError> {
    if std::io::stdin().is_terminal() {
        return shell(ctx, header);
    }
    let mut pending = String::new();
    let mut failed = false;
    let rows = Rows::Tabs { header };
    for line in std::io::stdin().lock().lines() {
        let line =
            line.map_err(|e| CliError::Failed(format!("cannot read standard input: {e}")))?;
        if let Some(statements) = add_line(&mut pending, &line) {
            failed |= run_all(ctx, &statements, rows);
        }
    }
    failed |= run_all(ctx, &pending, rows);
    Ok(exit_status(failed))
}

/// The interactive shell: line editing, history, aligned tables when standard output is the
/// terminal too.
fn shell(ctx: &Context, header: bool) -> Result<ExitCode, CliError> {
    let mut editor = rustyline::DefaultEditor::new()
        .map_err(|e| CliError::Failed(format!("cannot use the terminal: {e}")))?;
    let history = std::env::var_os("HOME").map(|home| Path::new(&home).join(HISTORY));
    if let Some(file) = &history {
        // None yet on a first session.
        let _ = editor.load_history(file);
    }
    let rows = if std::io::stdout().is_terminal() {
        Rows::Table
    } else {
        Rows::Tabs { header }
    };
    let mut pending = String::new();
    let mut failed = false;
    loop {
        let prompt = if pending.is_empty() {
            "ember-sql> "
        } else {
            "         > "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if let Some(statements) = add_line(&mut pending, &line) {
                    let _ = editor.add_history_entry(statements.trim_end());
                    failed |= run_all(ctx, &statements, rows);
                }
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::Failed(format!("cannot read the terminal: {e}"))),
        }
    }
    failed |= run_all(ctx, &pending, rows);
    if let Some(file) = &history {
        if let Err(e) = editor.save_history(file) {
            eprintln!("cannot keep the history in {}: {e}", file.display());
        }
    }
    Ok(exit_status(failed))
}

/// Where the shell keeps earlier statements, under the home directory.
const HISTORY: &str = ".ember_sql_history";

/// Adds `line` to the statement being typed; once it ends with `;`, the statements to run.
fn add_line(pending: &mut String, line: &str) -> Option<String> {
    pending.push_str(line);
    pending.push('\n');
    line.trim_end()
        .ends_with(';')
        .then(|| std::mem::take(pending))
}

fn exit_status(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs every statement of `text`, printing failures; whether any failed.
fn run_all(ctx: &Context, text: &str, rows: Rows) -> bool {
    let mut failed = false;
    for statement in split_statements(text) {
        if let Err(message) = run_statement(ctx, &statement, rows) {
            eprintln!("{message}");
            failed = true;
        }
    }
    failed
}
