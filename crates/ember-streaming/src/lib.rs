//! Spark Streaming's discretized streams on ember: a live input cut into micro-batches, each
//! batch a job of ordinary ember RDD stages, so that every master (`local[N]`,
//! `local-cluster`, YARN) runs streams on the scheduler, shuffle and storage it already has.
//!
//! This crate owns the [`StreamingContext`] (batch timing, the stream graph, running batches
//! in order, stopping), [`DStream`]s and their operations (per batch, windowed, stateful), and
//! stream sources. It leaves everything a batch runs to `ember-core`: a batch's RDDs are plain
//! [`Rdd`](ember_core::Rdd)s, and its output operations are plain actions on them.
//!
//! | Spark | ember |
//! |---|---|
//! | `StreamingContext(sc, Seconds(1))` | [`StreamingContext::new`]`(&ctx, Duration::from_secs(1))` |
//! | `ssc.queueStream(queue)`, `ssc.textFileStream(dir)` | [`StreamingContext::queue_stream`], [`StreamingContext::text_file_stream`] |
//! | `ssc.socketTextStream(host, port)`, `ssc.receiverStream(r)`, `Receiver` | [`StreamingContext::socket_text_stream`], [`StreamingContext::receiver_stream`], [`Receiver`] |
//! | `map`, `flatMap`, `filter`, `reduceByKey`, `join`, `transform` | the same names on [`DStream`] |
//! | `window`, `reduceByKeyAndWindow` (with an inverse) | [`DStream::window`], [`DStream::reduce_by_key_and_window_inv`] |
//! | `updateStateByKey`, `mapWithState(StateSpec...)` | [`DStream::update_state_by_key`], [`DStream::map_with_state`] |
//! | `foreachRDD`, `print`, `saveAsTextFiles` | [`DStream::foreach_rdd`], [`DStream::print`], [`DStream::save_as_text_files`] |
//! | `StreamingListener`, `ManualClock` | [`StreamingListener`], [`ManualClock`] |
//!
//! # Example
//!
//! A word count per 10-second window, sliding every 2 seconds, over lines pushed onto a queue
//! (sockets and directories are sources too):
//!
//! ```
//! use ember_core::{Context, Fn};
//! use ember_streaming::{RddQueue, StreamingContext};
//! use std::time::Duration;
//!
//! let ctx = Context::with_master("local[2]").unwrap();
//! let ssc = StreamingContext::new(&ctx, Duration::from_secs(1)).unwrap();
//! let lines = RddQueue::new();
//! lines.push(ctx.parallelize(vec!["to be or not to be".to_string()], 1));
//! ssc.queue_stream(&lines, true)
//!     .flat_map(Fn!(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>()))
//!     .map(Fn!(|w: String| (w, 1u64)))
//!     .reduce_by_key_and_window(
//!         Fn!(|a: u64, b: u64| a + b),
//!         Duration::from_secs(10),
//!         Duration::from_secs(2),
//!     )
//!     .unwrap()
//!     .print(10);
//! ssc.start().unwrap();
//! ssc.await_termination_or_timeout(Duration::from_millis(100)).unwrap();
//! ssc.stop(true, false);
//! ```
#![deny(missing_docs)]

mod checkpoint;
mod clock;
pub mod conf;
mod context;
mod dstream;
mod event_log;
mod file_stream;
mod input;
mod listener;
mod output;
mod queue;
pub mod receiver;
mod scheduler;
mod time;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{StreamingContext, StreamingContextState};
pub use dstream::{DStream, MapWithStateDStream, State, StateSpec};
pub use input::InputSource;
pub use listener::{BatchInfo, ReceiverInfo, StreamingListener};
pub use queue::RddQueue;
pub use receiver::{Receiver, ReceiverContext, SocketReceiver};
pub use time::Time;
