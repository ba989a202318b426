//! The one error type of ember-ml.

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a machine learning step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad argument or column: a vector whose indices are out of order or out of range,
    /// vectors of different sizes, a column that holds no vectors. The message names the
    /// thing, the value and the fix.
    #[error("{0}")]
    Input(String),
    /// A job of the engine failed, or a file could not be read or written.
    #[error(transparent)]
    Engine(#[from] ember_core::Error),
    /// A DataFrame could not be planned or run.
    #[error(transparent)]
    Sql(#[from] ember_sql::Error),
}

impl From<ember_hadoop::Error> for Error {
    fn from(e: ember_hadoop::Error) -> Error {
        Error::Engine(e.into())
    }
}
