//! ember on YARN: `ember submit --master yarn` and the ApplicationMaster it starts.
//!
//! This crate owns the YARN side of an application: the client of the ResourceManager
//! ([`YarnClient`]: new applications, submission, reports, kills), the staging directory on HDFS
//! ([`staging`]), cluster-mode submission that follows the application to its end
//! ([`submit`]), client mode with the driver on the submitting machine ([`client_mode`]), and
//! the ApplicationMaster ([`am`]) that registers with the scheduler, runs the
//! driver and keeps it in executors ([`allocator`], started on NodeManagers). It speaks YARN's
//! protocols through ember-hadoop's IPC client, with its own message definitions
//! (`proto/yarn.proto`). It does not schedule tasks: the driver, in ember-core, does, with the
//! executors this crate starts.
//!
//! On the driver's side it is the cluster manager of the master URL `yarn`
//! ([`YarnClusterManager`], registered with ember-core as every cluster manager is): it sizes
//! the application, picks the host the driver serves executors on, tells the launcher that
//! address ([`driver_file`]) and holds scheduling until enough executors registered. Its
//! settings are declared in [`keys`]. A program runs on YARN when this crate is linked into
//! it; the `ember` facade links it for every application.
//!
//! One application binary plays every role: YARN starts the `ember` binary as the
//! ApplicationMaster (`ember application-master -- <driver command>`), which starts the
//! application binary as the driver; executors are the application binary again, told where
//! the driver is through their environment.
#![deny(missing_docs)]

mod allocator;
pub mod am;
mod client;
pub mod client_mode;
mod cluster_manager;
pub mod driver_file;
mod error;
pub mod keys;
pub mod launch;
mod node_managers;
mod records;
pub mod staging;
pub mod submit;

pub use client::{NewApplication, YarnClient};
pub use cluster_manager::YarnClusterManager;
pub use error::{Error, Result};
pub use records::{ApplicationId, ContainerId};

/// YARN's protocol messages, as ember declares them.
#[allow(missing_docs, clippy::doc_markdown)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/ember.yarn.rs"));
}
