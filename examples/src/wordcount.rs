//! Word count: the "hello world" of Spark, written as a Spark user would.
//!
//! ```text
//! ember submit --master 'local[2]' wordcount <input> <output-dir>
//! ```
//!
//! Reads text files (a file, a directory or a glob), splits lines on ASCII whitespace, counts
//! each word and writes `word<TAB>count` lines as part files plus `_SUCCESS`. Prints one summary
//! line: distinct words, total words and seconds.

use crate::ExampleError;
use ember::{Context, Fn};
use std::time::Instant;

/// What a word count found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordCount {
    /// Different words.
    pub distinct: u64,
    /// All words.
    pub total: u64,
    /// Wall time of the whole job, in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for WordCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wordcount: {} distinct words, {} words in {:.2} s",
            self.distinct, self.total, self.seconds
        )
    }
}

/// Runs word count with the arguments `<input> <output-dir>`.
///
/// # Errors
/// Wrong arguments, an input that does not exist, an output directory that does, or a failed job.
pub fn run(ctx: &Context, args: &[String]) -> Result<WordCount, ExampleError> {
    let [input, output] = args else {
        return Err(ExampleError::Usage("wordcount <input> <output-dir>".into()));
    };
    let started = Instant::now();
    let counts = ctx
        .text_file(input, 0)?
        .flat_map(Fn!(|line: String| line
            .split_ascii_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()))
        .map(Fn!(|word: String| (word, 1u64)))
        .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
        .cache();
    counts
        .map(Fn!(|(word, n): (String, u64)| format!("{word}\t{n}")))
        .save_as_text_file(output)?;
    let (distinct, total) = counts.values().aggregate(
        (0u64, 0u64),
        Fn!(|(words, sum): (u64, u64), n: u64| (words + 1, sum + n)),
        Fn!(|a: (u64, u64), b: (u64, u64)| (a.0 + b.0, a.1 + b.1)),
    )?;
    Ok(WordCount {
        distinct,
        total,
        seconds: started.elapsed().as_secs_f64(),
    })
}
