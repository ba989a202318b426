//! The parts of the `ember` and `ember-sql` commands: checking arguments ([`args`]),
//! `ember submit` ([`submit`]) and its YARN side ([`yarn`]), and `ember sql` ([`sql`]).
//!
//! Two binaries share them. `ember` is what YARN ships to run ApplicationMasters, drivers and
//! executors of the built-in examples, so it stays free of the SQL engine; `ember sql` runs
//! the `ember-sql` binary beside it, which holds DataFusion.

pub mod args;
pub mod sql;
pub mod submit;
pub mod yarn;
