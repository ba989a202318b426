//! What goes into a container's launch: local resources, environment, and a command line that
//! survives YARN's launch script.
//!
//! The NodeManager joins a container's command with spaces into `exec /bin/bash -c "<command>"`
//! and writes each variable as `export K="V"`, escaping nothing. Arguments are therefore
//! single-quoted for the inner shell, with what the outer double quotes would expand escaped;
//! environment values ember sets never hold quotes.

use crate::error::{Error, Result};
use crate::proto;
use ember_core::conf::keys;
use ember_core::EmberConf;

/// The link name of the application binary in every container's working directory.
pub const APP_BINARY: &str = "__app__";
/// The link name of the `ember` binary that runs the ApplicationMaster.
pub const EMBER_BINARY: &str = "__ember__";
/// The link name of the application's settings file.
pub const CONF_FILE: &str = "__ember_conf__";

/// `arg` quoted for `bash -c "..."`.
///
/// ```
/// use ember_yarn::launch::quote;
/// assert_eq!(quote("hdfs:///in"), "'hdfs:///in'");
/// assert_eq!(quote("it's $HOME"), r"'it'\''s \$HOME'");
/// ```
pub fn quote(arg: &str) -> String {
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('\'');
    for c in arg.chars() {
        match c {
            '\'' => quoted.push_str(r"'\''"),
            '$' | '"' | '`' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// A command line whose output goes to the container's log directory, where `yarn logs` finds
/// it.
pub(crate) fn logged_command(program: &str, args: &[String]) -> Vec<String> {
    let mut command = vec![format!("./{program}")];
    command.extend(args.iter().map(|a| quote(a)));
    command.push("1><LOG_DIR>/stdout".into());
    command.push("2><LOG_DIR>/stderr".into());
    command
}

/// A launch context from its parts.
pub(crate) fn launch_context(
    resources: &[(String, proto::LocalResource)],
    environment: &[(String, String)],
    command: Vec<String>,
) -> proto::ContainerLaunchContext {
    proto::ContainerLaunchContext {
        local_resources: resources
            .iter()
            .map(|(name, resource)| proto::StringLocalResourceMap {
                key: Some(name.clone()),
                value: Some(resource.clone()),
            })
            .collect(),
        // Absent, not empty: YARN reads present bytes as a token file.
        tokens: None,
        environment: environment
            .iter()
            .map(|(k, v)| proto::StringStringMap {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
        command,
    }
}

/// An executor's memory as YARN needs it, read from the application's settings in one place
/// for the client (which checks that the cluster can grant it) and the ApplicationMaster (which
/// asks for it): the executor's own budget, `ember.executor.memory`, and its container's size,
/// which adds `ember.executor.memoryOverhead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorMemory {
    /// The executor's budget in MiB, which its memory manager divides.
    pub memory_mib: u64,
    /// The container's size in MiB: the budget and the overhead.
    pub container_mib: u64,
}

impl ExecutorMemory {
    /// The executor memory `conf` asks for.
    ///
    /// # Errors
    /// A memory setting that does not parse, as a usage error naming its key.
    pub fn of(conf: &EmberConf) -> Result<Self> {
        let usage = |e: ember_core::Error| Error::Usage(e.to_string());
        let memory_mib = conf.require(&keys::EXECUTOR_MEMORY).map_err(usage)? >> 20;
        let overhead_mib = conf
            .get(&crate::keys::EXECUTOR_MEMORY_OVERHEAD)
            .map_err(usage)?
            .map(|bytes| bytes >> 20);
        Ok(ExecutorMemory {
            memory_mib,
            container_mib: container_memory(memory_mib, overhead_mib),
        })
    }

    /// The container's memory beyond the executor's budget, in MiB.
    pub fn overhead_mib(&self) -> u64 {
        self.container_mib - self.memory_mib
    }
}

/// Container memory for a process with `memory_mib` of its own: Spark's overhead of 10%, at
/// least 384 MiB, unless `overhead_mib` is given.
pub fn container_memory(memory_mib: u64, overhead_mib: Option<u64>) -> u64 {
    memory_mib + overhead_mib.unwrap_or_else(|| (memory_mib / 10).max(384))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_every_argument_and_send_output_to_the_log_directory() {
        let command = logged_command(APP_BINARY, &["a b".into(), "`x`".into()]);
        assert_eq!(
            command,
            [
                "./__app__",
                "'a b'",
                r"'\`x\`'",
                "1><LOG_DIR>/stdout",
                "2><LOG_DIR>/stderr"
            ]
        );
    }

    #[test]
    fn container_memory_adds_sparks_overhead() {
        assert_eq!(container_memory(1024, None), 1024 + 384);
        assert_eq!(container_memory(8192, None), 8192 + 819);
        assert_eq!(container_memory(1024, Some(100)), 1124);
    }
}
