//! The driver-file handshake: how whoever launched a YARN driver learns where executors reach it.
//!
//! A driver serves executors on a port it picks when it starts, and its executors are launched
//! by the ApplicationMaster, which must be told that address. The launcher and the driver share
//! a file system (the AM's container in cluster mode, the submitting machine in client mode),
//! so a file carries it:
//!
//! 1. The launcher names a file in [`DRIVER_FILE_ENV`] and starts the driver: the
//!    ApplicationMaster in its container (cluster mode), or `ember submit` on this machine
//!    (client mode). The variable also tells the application binary that it is the driver, not
//!    a command to submit again.
//! 2. The driver's [`Context`](ember_core::Context) starts serving executors, then
//!    [`announce`]s the address: written whole under another name and renamed, so that the
//!    reader never sees half an address.
//! 3. The launcher [waits for the file](wait_for_address) while it watches the driver process:
//!    a driver that exits first failed to start, and one that takes longer than two minutes is
//!    given up on. Then it launches executors told the address (cluster mode), or submits an
//!    ApplicationMaster that does (client mode).

use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Names the file where a YARN driver writes its address.
pub const DRIVER_FILE_ENV: &str = "EMBER_YARN_DRIVER_FILE";

/// How long a starting driver may take to serve executors.
const DRIVER_START: Duration = Duration::from_secs(120);

/// Whether this process was started as the driver of a YARN application (by its
/// ApplicationMaster or by `ember submit`): it runs the application here rather than submit it.
pub fn is_yarn_driver() -> bool {
    std::env::var_os(DRIVER_FILE_ENV).is_some()
}

/// Step 2: tells whoever launched this driver where executors reach it.
///
/// # Errors
/// Not launched for YARN (no `EMBER_YARN_DRIVER_FILE`: the message says to use
/// `ember submit --master yarn`), or the file cannot be written.
pub(crate) fn announce(address: SocketAddr) -> ember_core::Result<()> {
    let file = std::env::var_os(DRIVER_FILE_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| {
            ember_core::Error::Input(
                "master yarn runs through `ember submit --master yarn`, which starts the \
                 application's ApplicationMaster; run the application with it"
                    .into(),
            )
        })?;
    write_address(&file, address)
}

/// Writes `address` to `file` whole: under another name first, then renamed.
fn write_address(file: &Path, address: SocketAddr) -> ember_core::Result<()> {
    let partial = file.with_extension("partial");
    std::fs::write(&partial, address.to_string())
        .map_err(|e| ember_core::Error::io(&partial, e))?;
    std::fs::rename(&partial, file).map_err(|e| ember_core::Error::io(file, e))
}

/// Step 3: waits for the driver's address in the file at `path`.
///
/// # Errors
/// No address within two minutes.
pub(crate) async fn wait_for_address(path: &Path) -> Result<String> {
    let deadline = tokio::time::Instant::now() + DRIVER_START;
    loop {
        if let Ok(address) = tokio::fs::read_to_string(path).await {
            return Ok(address.trim().to_string());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "the driver did not start serving executors within {} s",
                DRIVER_START.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_announced_address_is_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("driver.address");
        let address: SocketAddr = "10.0.0.7:41234".parse().unwrap();
        write_address(&file, address).unwrap();
        assert_eq!(wait_for_address(&file).await.unwrap(), "10.0.0.7:41234");
        assert!(!file.with_extension("partial").exists());
    }
}
