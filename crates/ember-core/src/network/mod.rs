//! Networking between the driver and executors: one tokio runtime per process for all I/O and
//! one RPC library (tonic) for everything.
//!
//! - The driver serves [`Driver`](rpc::driver_server::Driver): executors' control channels,
//!   broadcast values and map output locations (see `scheduler::cluster_backend`).
//! - Every executor serves [`BlockTransfer`](rpc::block_transfer_server::BlockTransfer): its
//!   shuffle files and stored blocks ([`block_transfer`]).
//!
//! The runtime is the process's I/O runtime, [`ember_hadoop::io_runtime`]: RPC shares it with
//! HDFS and S3 I/O, so a process has one runtime for all its connections (its threads are
//! named `ember-io`). ember-hadoop owns it because it cannot depend on this crate, and its
//! stores need it too. `docs/threads-and-runtimes.md` lists every thread and runtime of a
//! driver, an executor and an ApplicationMaster.
//!
//! The engine itself is synchronous (tasks run on plain threads); it enters the runtime only
//! through [`runtime`] to block on a call, never from inside the runtime's own threads (tokio
//! refuses a `block_on` there). Handlers of the servers run on the runtime, so they never
//! block: work that must (reading shuffle files) goes to `spawn_blocking`.

pub(crate) mod block_transfer;
pub(crate) mod executor_link;
pub(crate) mod rpc;

use crate::error::{Error, Result};
use tonic::transport::{Channel, Endpoint};

/// Largest message either side accepts: a stored task result travels as one message.
pub(crate) const MAX_MESSAGE: usize = i32::MAX as usize;

/// Shuffle data travels in pieces of at most this many bytes.
pub(crate) const CHUNK: usize = 1 << 20;

/// The runtime of this process's network I/O: [`ember_hadoop::io_runtime`], started on first
/// use.
///
/// # Panics
/// The system refuses the runtime's threads: no process of a cluster can work without them,
/// and there is nothing to fall back on.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    ember_hadoop::io_runtime().unwrap_or_else(|e| panic!("{e}"))
}

/// A lazily connecting channel to `address` (`host:port`).
pub(crate) fn channel(address: &str) -> Result<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{address}")).map_err(|e| Error::Rpc {
        peer: address.into(),
        message: e.to_string(),
    })?;
    // A lazy channel starts its connection task on the runtime it is made in.
    let _in_runtime = runtime().enter();
    Ok(endpoint
        .connect_timeout(std::time::Duration::from_secs(10))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Serves `routes` on `listener` until `shutdown` completes; `what` names the server in logs.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    routes: tonic::service::Routes,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    what: &'static str,
) {
    runtime().spawn(async move {
        // The builder's `tcp_nodelay` applies only to listeners it binds itself; set on the
        // accepted streams here, or every small reply waits out Nagle's algorithm against the
        // peer's delayed ACK (40 ms on Linux).
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let served = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, shutdown);
        if let Err(e) = served.await {
            tracing::error!("the {what} failed: {e}");
        }
    });
}

/// An RPC failure as an [`Error::Rpc`].
pub(crate) fn rpc_error(peer: &str, status: tonic::Status) -> Error {
    Error::Rpc {
        peer: peer.into(),
        message: status.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_runs_on_the_runtime_of_the_process_object_stores() {
        let stores = ember_hadoop::io_runtime().unwrap();
        assert_eq!(runtime().handle().id(), stores.handle().id());
        // A server's task, spawned as `serve` spawns, runs on the stores' threads.
        let on = runtime().block_on(runtime().spawn(async {
            let name = std::thread::current().name().map(str::to_string);
            (tokio::runtime::Handle::current().id(), name)
        }));
        let (id, name) = on.unwrap();
        assert_eq!(id, stores.handle().id());
        assert_eq!(name.as_deref(), Some(ember_hadoop::IO_THREAD_NAME));
    }
}
