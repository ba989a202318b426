//! The driver of a YARN application (`--master yarn`): its executors are started by the
//! application's ApplicationMaster in YARN containers, not by the driver.
//!
//! The driver serves executors on its host, then writes its address to the file named by
//! `EMBER_YARN_DRIVER_FILE`. Whoever launched the driver set that variable and waits for the
//! file: the ApplicationMaster that runs the driver in its own container (cluster mode), or
//! `ember submit`, which then submits an ApplicationMaster that only launches executors (client
//! mode). Executors are told the address and connect back as on `local-cluster`.

use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Names the file where a YARN driver writes its address.
pub const DRIVER_FILE_ENV: &str = "EMBER_YARN_DRIVER_FILE";

/// The host a YARN driver serves executors on: `ember.driver.host`, else the NodeManager's
/// host inside a container (cluster mode), else this machine's name (client mode).
pub(crate) fn driver_host(conf: &crate::EmberConf) -> Result<String> {
    if let Some(host) = conf.get(&crate::conf::keys::DRIVER_HOST)? {
        return Ok(host);
    }
    let from_env = std::env::var("NM_HOST").ok().filter(|h| !h.is_empty());
    Ok(from_env
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "127.0.0.1".into()))
}

/// Tells whoever launched this driver where executors reach it.
///
/// # Errors
/// Not launched for YARN (no `EMBER_YARN_DRIVER_FILE`), or the file cannot be written.
pub(crate) fn announce(address: SocketAddr) -> Result<()> {
    let file = std::env::var_os(DRIVER_FILE_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::Input(
                "master yarn runs through `ember submit --master yarn`, which starts the \
             application's ApplicationMaster; run the application with it"
                    .into(),
            )
        })?;
    // Written whole under another name, then renamed: a reader never sees half an address.
    let partial = file.with_extension("partial");
    std::fs::write(&partial, address.to_string()).map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, &file).map_err(|e| Error::io(&file, e))
}

/// What a driver's waiting tasks would like, for placing container requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingTasks {
    /// Tasks waiting for a slot.
    pub tasks: usize,
    /// How many of them prefer each host.
    pub per_host: Vec<(String, usize)>,
}

/// Asks the driver at `address` about its waiting tasks.
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
