//! `ember submit`: runs a built-in example in this process, or an application binary as a child
//! process that receives the settings through `EMBER_SUBMIT_CONF`; with `--master yarn
//! --deploy-mode cluster`, submits either to YARN instead.

use crate::args::{CliError, SubmitArgs};
use ember::conf::{keys, SUBMIT_CONF_ENV};
use ember::{Context, EmberConf};
use ember_examples::{ExampleError, EXAMPLES};
use ember_yarn::submit::DriverPlace;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The master when neither `--master` nor `ember.master` gives one, as spark-submit.
const DEFAULT_MASTER: &str = "local[*]";

/// Runs `ember submit` as `args` say: the exit status.
///
/// # Errors
/// Bad arguments or settings, or the application failed.
pub fn run(args: &SubmitArgs) -> Result<ExitCode, CliError> {
    let settings = settings(args)?;
    if args.verbose {
        for (k, v) in &settings {
            eprintln!("{k}={v}");
        }
    }
    let builtin = EXAMPLES.iter().any(|e| e.name == args.app);
    let path = Path::new(&args.app);
    if !builtin && !path.is_file() {
        return Err(unknown_app(args));
    }
    if let Some(mode) = yarn_deploy_mode(&settings)? {
        if !crate::yarn::is_yarn_driver() {
            return submit_to_yarn(&mode, builtin, args, &settings);
        }
    }
    if builtin {
        return run_example(args, &settings);
    }
    run_binary(path, args, &settings)
}

fn unknown_app(args: &SubmitArgs) -> CliError {
    CliError::Usage(format!(
        "no example or application named '{}': give the path to an application binary, or one \
         of the examples listed by `ember examples`",
        args.app
    ))
}

/// The last value of `key` among `settings`.
fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The deploy mode when the master is YARN (`ember.submit.deployMode`, client by default as
/// in spark-submit); `None` for other masters.
fn yarn_deploy_mode(settings: &[(String, String)]) -> Result<Option<String>, CliError> {
    if setting(settings, keys::MASTER.key) != Some("yarn") {
        return Ok(None);
    }
    let defaults = EmberConf::new()?;
    let mode = setting(settings, keys::SUBMIT_DEPLOY_MODE.key)
        .or_else(|| defaults.get_raw(keys::SUBMIT_DEPLOY_MODE.key))
        .unwrap_or("client");
    match mode {
        "client" | "cluster" => Ok(Some(mode.to_string())),
        other => Err(CliError::Usage(format!(
            "--deploy-mode is client or cluster, not '{other}'"
        ))),
    }
}

/// Runs the application on YARN.
fn submit_to_yarn(
    mode: &str,
    builtin: bool,
    args: &SubmitArgs,
    settings: &[(String, String)],
) -> Result<ExitCode, CliError> {
    let (app, driver_args) = if builtin {
        // The driver is this binary again, running the example.
        let mut driver_args = vec!["submit".to_string(), args.app.clone()];
        driver_args.extend(args.app_args.iter().cloned());
        (None, driver_args)
    } else {
        (Some(PathBuf::from(&args.app)), args.app_args.clone())
    };
    if mode == "client" {
        let place = DriverPlace::Client {
            address: String::new(),
        };
        let submission = crate::yarn::submission(app, driver_args, settings, place)?;
        return crate::yarn::submit_client(&submission);
    }
    let submission = crate::yarn::submission(app, driver_args, settings, DriverPlace::InCluster)?;
    crate::yarn::submit_cluster(&submission)
}

/// The settings the application gets from the command line: `--conf`, then `--master` and
/// `--name`, which win as in spark-submit.
pub(crate) fn settings(args: &SubmitArgs) -> Result<Vec<(String, String)>, CliError> {
    let mut settings = args.conf.clone();
    let defaults = EmberConf::new()?;
    let master = args
        .master
        .clone()
        .or_else(|| {
            settings
                .iter()
                .rev()
                .find(|(k, _)| k == keys::MASTER.key)
                .map(|(_, v)| v.clone())
        })
        .or_else(|| defaults.get_raw(keys::MASTER.key).map(String::from))
        .unwrap_or_else(|| DEFAULT_MASTER.into());
    settings.push((keys::MASTER.key.into(), master));
    let name = args.name.clone().unwrap_or_else(|| app_name(&args.app));
    settings.push((keys::APP_NAME.key.into(), name));
    Ok(settings)
}

fn app_name(app: &str) -> String {
    Path::new(app)
        .file_name()
        .map_or_else(|| app.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A Context in this process with `settings` over `ember-defaults.conf`.
pub(crate) fn context(settings: &[(String, String)]) -> Result<Context, CliError> {
    let conf = settings
        .iter()
        .fold(EmberConf::new()?, |conf, (k, v)| conf.set(k, v));
    Ok(Context::new(conf)?)
}

fn run_example(args: &SubmitArgs, settings: &[(String, String)]) -> Result<ExitCode, CliError> {
    let ctx = context(settings)?;
    let outcome = match args.app.as_str() {
        "wordcount" => ember_examples::wordcount::run(&ctx, &args.app_args).map(|s| s.to_string()),
        "sort" => ember_examples::sort::run(&ctx, &args.app_args).map(|s| s.to_string()),
        "hdfs_wordcount" => {
            ember_examples::hdfs_wordcount::run(&ctx, &args.app_args).map(|s| s.to_string())
        }
        "network_wordcount" => {
            ember_examples::network_wordcount::run(&ctx, &args.app_args).map(|s| s.to_string())
        }
        "windowed_wordcount" => {
            ember_examples::windowed_wordcount::run(&ctx, &args.app_args).map(|s| s.to_string())
        }
        "stateful_wordcount" => {
            ember_examples::stateful_wordcount::run(&ctx, &args.app_args).map(|s| s.to_string())
        }
        "pi" => {
            ember_examples::pi::run(&ctx, &args.app_args).map(|pi| format!("Pi is roughly {pi}"))
        }
        other => return Err(CliError::Usage(format!("no example named '{other}'"))),
    };
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(ExampleError::Usage(usage)) => Err(CliError::Usage(format!(
            "usage: ember submit [--master M] [--conf k=v]... {usage}"
        ))),
        Err(ExampleError::Job(e)) => Err(CliError::Failed(e.to_string())),
    }
}

fn run_binary(
    path: &Path,
    args: &SubmitArgs,
    settings: &[(String, String)],
) -> Result<ExitCode, CliError> {
    let conf: String = settings.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let status = std::process::Command::new(path)
        .args(&args.app_args)
        .env(SUBMIT_CONF_ENV, conf)
        .status()
        .map_err(|e| CliError::Failed(format!("cannot start {}: {e}", path.display())))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => {
            return Err(CliError::Failed(format!(
                "{} was killed by a signal",
                path.display()
            )))
        }
    })
}

/// Prints the built-in examples and how to run them.
pub fn list_examples() {
    println!("Built-in examples (ember submit [--master M] <example> [args]):");
    for e in EXAMPLES {
        println!("  {:<34} {}", e.usage, e.about);
    }
}
