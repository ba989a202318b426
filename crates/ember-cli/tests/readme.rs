//! README.md's promises about its first two commands: that CI runs exactly them, and that the
//! first builds the `ember` command without the SQL engine. (CI itself runs the first command,
//! release build and all, and the second is this very test suite.)

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

/// The commands of README.md's first ```sh block, read here independently of
/// scripts/readme-commands.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split_once("\n```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(block, _)| block)
        .expect("README.md has a ```sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect()
}

/// What `command`, run at the root of the checkout, prints; it must succeed.
fn stdout_of(mut command: Command) -> String {
    let out = command
        .current_dir(root())
        .output()
        .expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cargo(args: &[&str]) -> String {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args(args);
    stdout_of(cargo)
}

#[test]
fn ci_runs_the_readme_commands_as_written() {
    let commands = readme_commands();
    assert_eq!(
        commands.len(),
        2,
        "word count, then the tests: {commands:?}"
    );
    assert!(
        commands[0].starts_with("cargo run --release -p ember-cli -- submit ")
            && commands[0].contains(" wordcount "),
        "the first command runs word count with the ember command: {}",
        commands[0]
    );
    let mut dry_run = Command::new("bash");
    dry_run.arg(".ci/run").env("EMBER_CI_DRY_RUN", "1");
    let would_run: Vec<String> = stdout_of(dry_run)
        .lines()
        .map(|line| line.strip_prefix("would run: ").unwrap_or(line).to_string())
        .collect();
    assert_eq!(would_run, commands);
}

#[test]
fn the_first_command_builds_one_binary_and_no_sql_engine() {
    // `cargo run -p ember-cli` must know which binary to run.
    let metadata = cargo(&["metadata", "--format-version", "1", "--no-deps", "--locked"]);
    assert!(
        metadata.contains(r#""name":"ember-cli""#) && metadata.contains(r#""default_run":"ember""#),
        "ember-cli names `ember` as its default-run binary"
    );
    let engine = |tree: &str| {
        tree.lines()
            .filter(|line| line.starts_with("datafusion ") || line.starts_with("arrow "))
            .count()
    };
    for package in ["ember-cli", "ember"] {
        let tree = cargo(&[
            "tree",
            "--locked",
            "-p",
            package,
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ]);
        assert_eq!(
            engine(&tree),
            0,
            "{package} without features compiles DataFusion:\n{tree}"
        );
    }
    let with_sql = cargo(&[
        "tree",
        "--locked",
        "-p",
        "ember",
        "--features",
        "sql",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]);
    assert!(engine(&with_sql) > 0, "the sql feature brings DataFusion");
}
