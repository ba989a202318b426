//! The one error type of the core engine.
//!
//! Variants are grouped by who must act: the user's input, the configuration, a job that failed
//! while running, or an internal bug. Messages name the thing, the value and the fix; they are
//! lowercase and end without a period so that callers can wrap them.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration key has a value that cannot be used.
    #[error("invalid value '{value}' for {key}: {reason}")]
    Config {
        /// The `ember.*` key.
        key: String,
        /// The value given.
        value: String,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// A configuration file cannot be parsed.
    #[error("{path}:{line}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The master URL is not one this program knows, or is malformed.
    #[error(
        "invalid master URL '{url}': {reason}; the masters this program knows are {available}"
    )]
    Master {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
        /// Every master URL form this program accepts, built in or from a linked cluster
        /// manager.
        available: String,
    },
    /// An I/O operation on a path failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input given to an operation cannot be used.
    #[error("{0}")]
    Input(String),
    /// A job was aborted: a task failed too often, or a stage could not complete.
    #[error("job {job_id} aborted: {reason}")]
    JobAborted {
        /// The job id, as the console and event log print it.
        job_id: usize,
        /// Why, naming the stage, the partition and the original message.
        reason: String,
    },
    /// A job was cancelled before it ended (its job group, or every job, was cancelled).
    #[error("job {job_id} cancelled {reason}")]
    JobCancelled {
        /// The job id.
        job_id: usize,
        /// What cancelled it, as Spark says it (`part of cancelled job group <id>`).
        reason: String,
    },
    /// A task attempt was stopped because no job needs it any more.
    #[error("task killed: {0}")]
    TaskKilled(String),
    /// User code in a task panicked or returned an error.
    #[error("{0}")]
    UserCode(String),
    /// A value could not be serialized or deserialized.
    #[error("serialization failed: {0}")]
    Serialization(String),
    /// A reduce task could not read a map task's shuffle output; the map stage must run again.
    #[error("fetch failed: shuffle {shuffle_id}, map {map_index}, reduce {reduce_id}: {message}")]
    FetchFailed {
        /// The shuffle.
        shuffle_id: usize,
        /// The map partition whose output is missing.
        map_index: usize,
        /// The reduce partition that wanted it.
        reduce_id: usize,
        /// What went wrong.
        message: String,
    },
    /// An executor went away while it ran tasks or held shuffle outputs.
    #[error("executor {executor_id} lost: {reason}")]
    ExecutorLost {
        /// The executor.
        executor_id: String,
        /// Why the driver considers it lost.
        reason: String,
    },
    /// A failure reported by an executor, as it described it.
    #[error("{0}")]
    Remote(String),
    /// The network between driver and executors failed.
    #[error("rpc to {peer} failed: {message}")]
    Rpc {
        /// Who was called (`driver` or an executor's address).
        peer: String,
        /// What went wrong.
        message: String,
    },
    /// Hadoop's configuration or file systems.
    #[error(transparent)]
    Hadoop(#[from] ember_hadoop::Error),
    /// A bug in ember.
    #[error("internal error: {0}; please report this as a bug")]
    Internal(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// An [`Error`] as it travels from an executor to the driver: fetch failures keep their fields
/// (the scheduler acts on them), user code stays user code, the rest keeps its message.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum RemoteError {
    FetchFailed {
        shuffle_id: usize,
        map_index: usize,
        reduce_id: usize,
        message: String,
    },
    UserCode(String),
    Other(String),
}

impl From<&Error> for RemoteError {
    fn from(e: &Error) -> Self {
        match e {
            Error::FetchFailed {
                shuffle_id,
                map_index,
                reduce_id,
                message,
            } => RemoteError::FetchFailed {
                shuffle_id: *shuffle_id,
                map_index: *map_index,
                reduce_id: *reduce_id,
                message: message.clone(),
            },
            Error::UserCode(m) => RemoteError::UserCode(m.clone()),
            other => RemoteError::Other(other.to_string()),
        }
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::FetchFailed {
                shuffle_id,
                map_index,
                reduce_id,
                message,
            } => Error::FetchFailed {
                shuffle_id,
                map_index,
                reduce_id,
                message,
            },
            RemoteError::UserCode(m) => Error::UserCode(m),
            RemoteError::Other(m) => Error::Remote(m),
        }
    }
}

impl From<bincode::Error> for Error {
    fn from(e: bincode::Error) -> Self {
        Error::Serialization(e.to_string())
    }
}
