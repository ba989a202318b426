//! The one error type of ember-hadoop.

use std::path::PathBuf;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading Hadoop's configuration, talking to Hadoop's servers,
/// or committing output to their stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is not well-formed Hadoop XML.
    #[error("{}:{line}: {message}; fix the file or point HADOOP_CONF_DIR elsewhere", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A URL whose scheme ember does not read or write.
    #[error("{url}: ember cannot read or write {scheme}:// paths; use hdfs://, s3://, s3a:// or file://")]
    UnsupportedScheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A URL that cannot be used.
    #[error("{url}: {message}")]
    Url {
        /// The URL or path as given.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A store could not be set up for a URL.
    #[error("cannot reach {url}: {message}")]
    Store {
        /// The store's URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A Hadoop server could not be reached, or the connection broke.
    #[error("cannot reach {server}: {message}")]
    Connection {
        /// The server's address.
        server: String,
        /// Why.
        message: String,
    },
    /// A Hadoop server answered a call with an exception (Hadoop's `RemoteException`).
    #[error("{server} refused {method}: {class}: {message}")]
    Remote {
        /// The server's address.
        server: String,
        /// The method called.
        method: String,
        /// The Java exception class, such as `org.apache.hadoop.security.AccessControlException`.
        class: String,
        /// The exception's message.
        message: String,
    },
    /// A server's answer that does not follow Hadoop's protocol, or a token file that does not
    /// follow Hadoop's format.
    #[error("{source_name}: {message}")]
    Protocol {
        /// The server or file.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A Hadoop setting has a value ember cannot use; the message names it and its values.
    #[error("{0}")]
    Setting(String),
    /// Output could not be written, moved or deleted; the message names the path and the
    /// store's reason.
    #[error("{0}")]
    Output(String),
    /// The process's I/O runtime could not start: the system refused its threads.
    #[error(
        "cannot start the I/O threads of this process: {0}; check the limit on threads (ulimit -u)"
    )]
    Runtime(String),
    /// The configuration directory does not exist.
    #[error("{} is not a directory; set HADOOP_CONF_DIR to the directory holding core-site.xml", .0.display())]
    ConfDir(PathBuf),
}
