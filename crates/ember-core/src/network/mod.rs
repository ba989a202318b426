//! Networking between the driver and executors: one tokio runtime per process and one RPC
//! library (tonic) for everything.
//!
//! - The driver serves [`Driver`](rpc::driver_server::Driver): executors' control channels,
//!   broadcast values and map output locations (see `scheduler::cluster_backend`).
//! - Every executor serves [`BlockTransfer`](rpc::block_transfer_server::BlockTransfer): its
//!   shuffle files and stored blocks ([`block_transfer`]).
//!
//! The engine itself is synchronous (tasks run on plain threads); it enters the runtime only
//! through [`runtime`] to block on a call, never from inside the runtime's own threads.

pub(crate) mod block_transfer;
pub(crate) mod executor_link;
pub(crate) mod rpc;

use crate::error::{Error, Result};
use std::sync::OnceLock;
use tonic::transport::{Channel, Endpoint};

/// Largest message either side accepts: a stored task result travels as one message.
pub(crate) const MAX_MESSAGE: usize = i32::MAX as usize;

/// Shuffle data travels in pieces of at most this many bytes.
pub(crate) const CHUNK: usize = 1 << 20;

/// The runtime of this process's network I/O, started on first use.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ember-rpc")
            .enable_all()
            .build()
            // Without a runtime no process of a cluster can work; there is nothing to fall back on.
            .expect("cannot start the network runtime")
    })
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
