//! `ember sql` driven as a script would: `-e`, `-f` and piped standard input, rows printed as
//! spark-sql prints them (tabs, NULL), a failing statement's message and exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ember_sql(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .arg("sql")
        .args(["--master", "local[2]"])
        .args(args)
        .env("EMBER_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ember binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A CSV of people, one without an age; the statement making it view `people`.
fn people() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, "name,age\nann,31\nbob,\ncid,45\n").unwrap();
    let view = format!(
        "CREATE TEMPORARY VIEW people USING csv OPTIONS (path '{}', header 'true', \
         inferSchema 'true')",
        path.display()
    );
    (dir, view)
}

#[test]
fn e_prints_rows_with_tabs_and_nulls() {
    let (_dir, view) = people();
    let out = ember_sql(
        &[
            "-e",
            &format!("{view}; SELECT name, age FROM people ORDER BY name"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ann\t31\nbob\tNULL\ncid\t45\n");
    let said = text(&out.stderr);
    assert!(said.contains("Fetched 3 rows"), "{said}");
    let with_header = ember_sql(&["--header", "-e", "SELECT 1 AS one, 'x' AS two"], None);
    assert_eq!(text(&with_header.stdout), "one\ttwo\n1\tx\n");
}

#[test]
fn f_stops_at_the_first_failing_statement_with_status_1() {
    let (dir, view) = people();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        format!("{view};\nSELECT count(*) FROM people;\nSELECT nope FROM people;\nSELECT 42;\n"),
    )
    .unwrap();
    let out = ember_sql(&["-f", script.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "3\n", "nothing after the failure runs");
    let said = text(&out.stderr);
    assert!(said.contains("Error in query"), "{said}");
    assert!(said.contains("nope"), "{said}");
}

#[test]
fn a_session_goes_on_after_a_failing_statement() {
    let (_dir, view) = people();
    let input = format!("{view};\nSELEC 1;\nSELECT max(age)\n  FROM people;\n");
    let out = ember_sql(&[], Some(&input));
    assert_eq!(out.status.code(), Some(1), "a statement failed");
    assert_eq!(
        text(&out.stdout),
        "45\n",
        "the statement after the failure ran"
    );
    let said = text(&out.stderr);
    assert!(said.contains("Error in query"), "{said}");
    assert!(said.contains("SELEC"), "{said}");
}

#[test]
fn queries_run_on_executor_processes_with_local_cluster() {
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["sql", "--master", "local-cluster[2,1,512]"])
        .args(["-e", "SELECT k, sum(x) FROM (SELECT x, x % 2 AS k FROM generate_series(1, 1000) AS t(x)) GROUP BY k ORDER BY k"])
        .env("EMBER_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0\t250500\n1\t250000\n");
}

#[test]
fn the_shell_on_yarn_is_a_client_session_only() {
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args([
            "sql",
            "--master",
            "yarn",
            "--conf",
            &format!("{}=cluster", ember::conf::keys::SUBMIT_DEPLOY_MODE.key),
        ])
        .args(["-e", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("client"),
        "{}",
        text(&out.stderr)
    );
}

/// A person at a terminal (a pseudo-terminal made by `script`): the shell draws tables, edits
/// the line (a backspace), recalls the last statement with the up arrow, reports a failing
/// statement and runs the next, keeps the history in the home directory, and ends at Ctrl-D
/// with exit status 1 since a statement failed.
#[test]
fn the_shell_on_a_terminal_edits_recalls_and_goes_on_after_an_error() {
    let home = tempfile::tempdir().unwrap();
    let command = format!("{} sql --master local[1]", env!("CARGO_BIN_EXE_ember"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env("EMBER_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    let mut keys = child.stdin.take().unwrap();
    // Typed as a person would: each line once the shell waits for it.
    for typed in [
        "SELECT nope;\r",
        "SELECT 9\x7f2\r",
        "AS two;\r",
        "\x1b[A\r",
        "\x04",
    ] {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        keys.write_all(typed.as_bytes()).unwrap();
        keys.flush().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let screen = text(&out.stdout);
    assert!(screen.contains("Error in query"), "{screen}");
    assert!(screen.contains("nope"), "{screen}");
    // The corrected statement, then the same one recalled from history.
    assert_eq!(screen.matches("|two|").count(), 2, "{screen}");
    assert!(screen.contains("|  2|"), "{screen}");
    assert_eq!(out.status.code(), Some(1), "{screen}");
    let history = std::fs::read_to_string(home.path().join(".ember_sql_history")).unwrap();
    assert!(
        history.contains("SELECT 2\nAS two;") || history.contains("SELECT 2"),
        "{history}"
    );
}
