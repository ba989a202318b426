//! Building blocks of ember's word-count benchmark.
//!
//! The benchmark (`bench/wordcount.sh`) runs the same word count over the same
//! generated text with ember, with a hand-written two-thread Rust program and
//! with Apache Spark. This crate holds the parts written in Rust:
//!
//! * [`zipf`] and [`vocab`]: the Zipf-like vocabulary behind `gen-text`;
//! * [`count`]: the plain multi-threaded word count behind `wordcount-baseline`;
//! * [`procfs`]: reading resident memory of a process tree, behind `measure`;
//! * [`args`]: the command line the word-count programs share.

pub mod args;
pub mod count;
pub mod procfs;
pub mod vocab;
pub mod zipf;
