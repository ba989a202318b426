//! What a driver's waiting tasks want, asked over RPC by a cluster manager that runs apart from
//! the driver (Spark's host-to-local-task counts, which the driver sends its cluster manager
//! with each request for executors), so that it can ask its cluster for executors on the hosts
//! that hold the tasks' input.

use crate::error::Result;

/// What a driver's waiting tasks would like, for placing requests for executors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingTasks {
    /// Tasks waiting for a slot.
    pub tasks: usize,
    /// How many of them prefer each host, sorted by host.
    pub per_host: Vec<(String, usize)>,
}

/// Asks the driver at `address` (`host:port`, its
/// [`DriverEndpointRef::address`](super::DriverEndpointRef::address)) about its waiting tasks.
///
/// # Errors
/// The driver cannot be reached.
pub async fn pending_tasks(address: &str) -> Result<PendingTasks> {
    use crate::network::rpc::driver_client::DriverClient;
    use crate::network::rpc::PendingTasksRequest;
    let channel = crate::network::channel(address)?;
    let answer = DriverClient::new(channel)
        .get_pending_tasks(PendingTasksRequest {})
        .await
        .map_err(|e| crate::network::rpc_error(address, e))?
        .into_inner();
    let mut per_host: Vec<(String, usize)> = answer
        .tasks_per_host
        .into_iter()
        .map(|(host, n)| (host, n as usize))
        .collect();
    per_host.sort();
    Ok(PendingTasks {
        tasks: answer.tasks as usize,
        per_host,
    })
}
