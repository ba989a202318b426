//! Sort: orders text records by their first ten bytes, TeraSort style.
//!
//! ```text
//! ember submit --master 'local-cluster[2,1,2048]' sort <input> <output-dir>
//! ```
//!
//! Each line is a record: its first ten bytes (fewer on a shorter line) are the key, the rest is
//! the value. The output's part files, read in order, hold every line once, sorted by key
//! bytewise; lines with equal keys come in no particular order. Prints the records sorted and
//! the seconds taken.

use crate::ExampleError;
use ember::{Context, Fn};
use std::time::Instant;

/// Bytes of a line that form its key.
pub const KEY_BYTES: usize = 10;

/// What a sort did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortSummary {
    /// Records written.
    pub records: i64,
    /// Wall time of the whole job, in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for SortSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sort: {} records in {:.2} s", self.records, self.seconds)
    }
}

/// Splits a line into its key and value, on a character boundary at or before [`KEY_BYTES`].
pub fn split_record(line: &str) -> (&str, &str) {
    let mut at = line.len().min(KEY_BYTES);
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    line.split_at(at)
}

/// Runs the sort with the arguments `<input> <output-dir>`.
///
/// # Errors
/// Wrong arguments, an input that does not exist, an output directory that does, or a failed job.
pub fn run(ctx: &Context, args: &[String]) -> Result<SortSummary, ExampleError> {
    let [input, output] = args else {
        return Err(ExampleError::Usage("sort <input> <output-dir>".into()));
    };
    let started = Instant::now();
    let written = ctx.long_accumulator();
    let counter = written.clone();
    ctx.text_file(input, 0)?
        .map(Fn!(|line: String| {
            let (key, value) = split_record(&line);
            (key.to_string(), value.to_string())
        }))
        .sort_by_key(true, 0)?
        .map(Fn!(move |(key, value): (String, String)| {
            counter.add(1);
            let mut line = String::with_capacity(key.len() + value.len());
            line.push_str(&key);
            line.push_str(&value);
            line
        }))
        .save_as_text_file(output)?;
    Ok(SortSummary {
        records: written.value(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_first_ten_bytes_on_a_char_boundary() {
        assert_eq!(split_record("0123456789rest"), ("0123456789", "rest"));
        assert_eq!(split_record("short"), ("short", ""));
        assert_eq!(split_record("012345678é"), ("012345678", "é"));
    }
}
