//! Command-line arguments: parsed raw by clap, then validated into what `submit` runs.

use clap::{Args, Parser, Subcommand};
use ember::conf::keys;
use ember::conf::registry::{self, WARNED_KEYS_ENV};
use std::process::ExitCode;

/// ember: Apache Spark's jobs in Rust, on the Hadoop clusters you have.
#[derive(Parser, Debug)]
#[command(name = "ember", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `ember`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs an application binary or a built-in example, like spark-submit.
    Submit(Box<RawSubmitArgs>),
    /// Runs SQL statements, like spark-sql: from -e, -f or standard input.
    Sql(Box<RawSqlArgs>),
    /// Lists the built-in examples.
    Examples,
    /// Reports the state of a YARN application.
    Status {
        /// The application's id, such as application_1700000000000_0001.
        app_id: String,
    },
    /// Kills a YARN application.
    Kill {
        /// The application's id.
        app_id: String,
    },
    /// Runs the ApplicationMaster of a YARN application (YARN starts it; not for users).
    #[command(hide = true)]
    ApplicationMaster {
        /// Client mode: where the driver serves executors.
        #[arg(long, value_name = "HOST:PORT")]
        driver_address: Option<String>,
        /// Cluster mode: the driver's command line.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        driver: Vec<String>,
    },
}

/// `ember sql` as typed.
#[derive(Args, Debug)]
pub struct RawSqlArgs {
    /// Where queries run: local, local[N], local[*], local-cluster[E,C,M], or yarn for a session
    /// whose executors are YARN containers (default: ember.master, else local[*]).
    #[arg(long)]
    pub master: Option<String>,
    /// How many executors, of what size.
    #[command(flatten)]
    pub executors: ExecutorOptions,
    /// The YARN queue (ember.yarn.queue).
    #[arg(long)]
    pub queue: Option<String>,
    /// A configuration setting, key=value; may be repeated.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
    /// SQL statements to run, separated by `;`.
    #[arg(short = 'e', value_name = "STATEMENTS")]
    pub execute: Option<String>,
    /// A file of SQL statements to run.
    #[arg(short = 'f', value_name = "FILE")]
    pub file: Option<String>,
    /// Prints a line of column names before each statement's rows.
    #[arg(long)]
    pub header: bool,
}

impl RawSqlArgs {
    /// Checks the master and settings as `ember submit` does.
    pub fn validate(self) -> Result<SqlArgs, CliError> {
        let submit = SubmitArgs::validate(RawSubmitArgs {
            master: self.master,
            executors: self.executors,
            queue: self.queue,
            conf: self.conf,
            name: Some("ember-sql".into()),
            app: "sql".into(),
            ..RawSubmitArgs::default()
        })?;
        Ok(SqlArgs {
            submit,
            execute: self.execute,
            file: self.file,
            header: self.header,
        })
    }
}

/// `ember sql` after validation: what the `ember-sql` binary runs, and how.
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

/// The executors an application asks for, as `ember submit` and `ember sql` take them.
#[derive(Args, Debug, Default)]
pub struct ExecutorOptions {
    /// Executors to ask YARN for (ember.executor.instances).
    #[arg(long, value_name = "N")]
    pub num_executors: Option<String>,
    /// Task slots per executor (ember.executor.cores).
    #[arg(long, value_name = "N")]
    pub executor_cores: Option<String>,
    /// Memory per executor, such as 2g (ember.executor.memory).
    #[arg(long, value_name = "MEM")]
    pub executor_memory: Option<String>,
}

/// `ember submit` as typed.
#[derive(Args, Debug, Default)]
pub struct RawSubmitArgs {
    /// Where to run: local, local[N], local[*], local[N,F], local-cluster[E,C,M] or yarn (default: ember.master, else local[*]).
    #[arg(long)]
    pub master: Option<String>,
    /// On YARN, where the driver runs: client (here) or cluster (ember.submit.deployMode).
    #[arg(long, value_name = "MODE")]
    pub deploy_mode: Option<String>,
    /// How many executors, of what size.
    #[command(flatten)]
    pub executors: ExecutorOptions,
    /// Memory of the driver, such as 1g (ember.driver.memory).
    #[arg(long, value_name = "MEM")]
    pub driver_memory: Option<String>,
    /// Cores of the driver's container in cluster mode (ember.driver.cores).
    #[arg(long, value_name = "N")]
    pub driver_cores: Option<String>,
    /// The YARN queue (ember.yarn.queue).
    #[arg(long)]
    pub queue: Option<String>,
    /// Files, comma-separated, put in the working directory of the YARN driver and every
    /// executor (ember.yarn.dist.files).
    #[arg(long, value_name = "FILES")]
    pub files: Option<String>,
    /// A configuration setting, key=value; may be repeated.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
    /// The application's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Prints the settings the application gets.
    #[arg(long, short)]
    pub verbose: bool,
    /// An application binary, or the name of a built-in example (see `ember examples`).
    pub app: String,
    /// Arguments for the application.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub app_args: Vec<String>,
}

/// `ember submit` after validation.
#[derive(Debug)]
pub struct SubmitArgs {
    /// `--master`, if given.
    pub master: Option<String>,
    /// `--conf` settings, then the settings of spark-submit-style options, in order.
    pub conf: Vec<(String, String)>,
    /// `--name`, if given.
    pub name: Option<String>,
    /// `--verbose`.
    pub verbose: bool,
    /// The application binary or built-in example.
    pub app: String,
    /// Its arguments.
    pub app_args: Vec<String>,
}

impl SubmitArgs {
    /// Checks what clap cannot: the shape of `--conf` values and of the master URL. Warns about
    /// `ember.*` keys that no ember crate declares.
    pub fn validate(raw: RawSubmitArgs) -> Result<SubmitArgs, CliError> {
        let conf = raw
            .conf
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
                _ => Err(CliError::Usage(format!(
                    "--conf expects key=value, got '{kv}' (for example --conf {}=2)",
                    keys::TASK_MAX_FAILURES.key
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(master) = &raw.master {
            ember::Master::parse(master).map_err(|e| CliError::Usage(format!("{e} (--master)")))?;
        }
        let mut conf = conf;
        // spark-submit's options are shorthands for settings; they win over --conf.
        for (value, key) in [
            (&raw.deploy_mode, keys::SUBMIT_DEPLOY_MODE.key),
            (&raw.executors.num_executors, keys::EXECUTOR_INSTANCES.key),
            (&raw.executors.executor_cores, keys::EXECUTOR_CORES.key),
            (&raw.executors.executor_memory, keys::EXECUTOR_MEMORY.key),
            (&raw.driver_memory, keys::DRIVER_MEMORY.key),
            (&raw.driver_cores, keys::DRIVER_CORES.key),
            (&raw.queue, ember_yarn::keys::QUEUE.key),
            (&raw.files, ember_yarn::keys::DIST_FILES.key),
        ] {
            if let Some(value) = value {
                conf.push((key.to_string(), value.clone()));
            }
        }
        // As spark-submit: a key no crate declares is ignored, with a warning that names the
        // nearest one (a likely typo).
        warn_unknown_keys(&conf);
        Ok(SubmitArgs {
            master: raw.master,
            conf,
            name: raw.name,
            verbose: raw.verbose,
            app: raw.app,
            app_args: raw.app_args,
        })
    }
}

/// Warns about the `ember.*` keys among `settings` that no ember crate declares, each with the
/// nearest one there is, and marks them warned about for the processes this one starts
/// ([`WARNED_KEYS_ENV`]): the application that `ember submit` runs, or the `ember-sql` binary
/// that `ember sql` becomes, would otherwise warn about them a second time.
fn warn_unknown_keys(settings: &[(String, String)]) {
    let unknown = registry::unknown_keys(settings.iter().map(|(key, _)| key.as_str()));
    if unknown.is_empty() {
        return;
    }
    registry::warn_unknown(&unknown);
    let mut warned: Vec<String> = std::env::var(WARNED_KEYS_ENV)
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    warned.extend(unknown.into_iter().map(|u| u.key));
    // Arguments are checked before this process starts any thread of its own.
    std::env::set_var(WARNED_KEYS_ENV, warned.join(","));
}

/// What can go wrong in the command, by exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: exit code 2.
    Usage(String),
    /// The job or application failed: exit code 1.
    Failed(String),
}

impl CliError {
    /// The exit status this error ends the command with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::FAILURE,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<ember::Error> for CliError {
    fn from(e: ember::Error) -> Self {
        CliError::Failed(e.to_string())
    }
}
