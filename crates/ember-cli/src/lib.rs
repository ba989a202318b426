//! The parts of the `ember` and `ember-sql` commands: checking arguments ([`args`]),
//! `ember submit` ([`submit`]) and its YARN side ([`yarn`]), and, with the `sql` feature,
//! `ember sql` ([`sql`]).
//!
//! Two binaries share them. `ember` is what YARN ships to run ApplicationMasters, drivers and
//! executors of the built-in examples, and what a new user builds first, so it holds no SQL
//! engine. `ember sql` runs the `ember-sql` binary beside it, which holds DataFusion and is
//! built only with the `sql` feature (`cargo build --release -p ember-cli --features sql`).

pub mod args;
#[cfg(feature = "sql")]
pub mod sql;
pub mod submit;
pub mod yarn;
