//! Starting executors: who launches the processes that run tasks (Spark's `deploy`).
//!
//! Whatever starts them, an executor is this very binary, started with the variables of
//! [`ExecutorArgs`](crate::ExecutorArgs); it registers with the driver, which schedules it like
//! any other. What differs is the launcher:
//! - `local-cluster[E,C,M]` starts them as child processes of the driver (`LocalCluster`),
//!   built into this crate as Spark's `local-cluster` is;
//! - every other cluster is an [`ExternalClusterManager`] that another crate provides and
//!   registers ([`cluster_manager`] explains how a master URL finds it, and what a manager
//!   may tell the driver through its [`DriverEndpointRef`]).

pub mod cluster_manager;
mod local_cluster;
mod pending_tasks;

pub use cluster_manager::{
    available_masters, DriverEndpointRef, ExecutorLauncher, Executors, ExternalClusterManager,
};
pub(crate) use local_cluster::LocalCluster;
pub use pending_tasks::{pending_tasks, PendingTasks};
