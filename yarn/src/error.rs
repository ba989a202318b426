//! The one error type of ember-yarn.

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong submitting, watching or running an application on YARN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Hadoop server could not be reached or refused a call; configuration that cannot be read.
    #[error(transparent)]
    Hadoop(#[from] ember_hadoop::Error),
    /// An HDFS operation of the staging directory failed.
    #[error("{path}: {message}")]
    Staging {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Settings or arguments that cannot work, with what to change.
    #[error("{0}")]
    Usage(String),
    /// The application ran and did not succeed.
    #[error("{0}")]
    Failed(String),
    /// This process was started in a role it cannot play here (say, an ApplicationMaster outside
    /// a YARN container).
    #[error("{0}")]
    Environment(String),
}
