//! The command line of the word-count programs: `--threads N <input> <output-dir>`.

use clap::Parser;
use std::path::PathBuf;

/// Count the words of a text file with plain threads.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct WordCountArgs {
    /// Number of counting threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Input text file.
    pub input: PathBuf,
    /// Output directory (created if missing).
    pub output_dir: PathBuf,
}
