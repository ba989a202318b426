//! Starting executors: who launches the processes that run tasks (Spark's `deploy`).
//!
//! `local-cluster[E,C,M]` starts them as child processes of the driver ([`LocalCluster`]); on
//! YARN, NodeManagers start them in containers. Either way an executor is this very binary,
//! started with the variables of [`ExecutorArgs`](crate::executor::ExecutorArgs).

mod local_cluster;
pub mod yarn;

pub(crate) use local_cluster::{ClusterEvent, LocalCluster};
