//! Example ember applications, written the way a user writes their own.
//!
//! Each example is a module with a `run` function taking a [`Context`](ember::Context) and the
//! example's arguments, and a binary in `src/bin/` that is a complete application: build it with
//! `cargo build --release -p ember-examples` and run it with
//! `ember submit --master 'local[2]' target/release/wordcount <input> <output-dir>`. The `ember`
//! command also runs them by name: `ember submit --master 'local[2]' wordcount <input> <output>`.

#![deny(missing_docs)]

pub mod hdfs_wordcount;
pub mod network_wordcount;
pub mod pi;
pub mod sort;
pub mod stateful_wordcount;
pub mod streaming;
pub mod windowed_wordcount;
pub mod wordcount;

/// An example's usage line and what it does, for `ember examples`.
pub struct ExampleInfo {
    /// The name `ember submit` knows it by.
    pub name: &'static str,
    /// Its arguments.
    pub usage: &'static str,
    /// One line on what it computes.
    pub about: &'static str,
}

/// Every example.
pub const EXAMPLES: &[ExampleInfo] = &[
    ExampleInfo {
        name: "wordcount",
        usage: "wordcount <input> <output-dir>",
        about: "counts the words of text files; writes word<TAB>count part files",
    },
    ExampleInfo {
        name: "sort",
        usage: "sort <input> <output-dir>",
        about: "sorts text records by their first ten bytes (TeraSort style)",
    },
    ExampleInfo {
        name: "hdfs_wordcount",
        usage: "hdfs_wordcount <dir> [batch] [run]",
        about: "counts the words of new files in a directory, per batch (seconds)",
    },
    ExampleInfo {
        name: "network_wordcount",
        usage: "network_wordcount <host> <port> [batch] [run]",
        about: "counts the words of lines a TCP server sends (nc -lk 9999), per batch (seconds)",
    },
    ExampleInfo {
        name: "windowed_wordcount",
        usage: "windowed_wordcount <host> <port> [window] [slide] [run]",
        about: "counts the words a TCP server sent over a sliding window (seconds)",
    },
    ExampleInfo {
        name: "stateful_wordcount",
        usage: "stateful_wordcount <host> <port> [checkpoint-dir] [run]",
        about: "keeps a running count of every word a TCP server sends",
    },
    ExampleInfo {
        name: "pi",
        usage: "pi [slices]",
        about: "estimates pi by throwing darts at the unit square",
    },
];

/// Errors of the examples: the engine's, or arguments they cannot use.
#[derive(Debug)]
pub enum ExampleError {
    /// Wrong arguments; the message holds the usage line.
    Usage(String),
    /// The job failed.
    Job(ember::Error),
}

impl std::fmt::Display for ExampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExampleError::Usage(usage) => write!(f, "usage: {usage}"),
            ExampleError::Job(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExampleError {}

impl From<ember::Error> for ExampleError {
    fn from(e: ember::Error) -> Self {
        ExampleError::Job(e)
    }
}
