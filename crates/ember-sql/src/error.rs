//! The one error type of ember-sql.

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with a DataFrame or a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query cannot be planned or run: a parse error, an unknown table or column, a type
    /// mismatch, or a failure reading or writing data. The message is DataFusion's.
    #[error("{0}")]
    Query(String),
    /// A bad argument: an unknown option, format or save mode, or an output that exists.
    #[error("{0}")]
    Input(String),
    /// The Hive Metastore cannot be reached, or refused a call.
    #[error("{0}")]
    Metastore(String),
    /// The engine failed (a path that cannot be resolved, a store that cannot be reached).
    #[error(transparent)]
    Ember(#[from] ember_core::Error),
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        // DataFusion wraps errors in context ("External error: ..."); the innermost says what
        // is wrong, and one of ember's own keeps its kind.
        match e.find_root() {
            datafusion::error::DataFusionError::External(inner) => {
                match inner.downcast_ref::<Error>() {
                    Some(Error::Metastore(m)) => Error::Metastore(m.clone()),
                    Some(Error::Input(m)) => Error::Input(m.clone()),
                    _ => Error::Query(inner.to_string()),
                }
            }
            root => Error::Query(root.to_string()),
        }
    }
}

/// Committing output, or a Hadoop setting it reads: the engine's kind of failure.
impl From<ember_hadoop::Error> for Error {
    fn from(e: ember_hadoop::Error) -> Self {
        Error::Ember(ember_core::Error::Hadoop(e))
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Error::Query(e.to_string())
    }
}
