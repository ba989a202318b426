//! Hadoop IPC: the RPC protocol of Hadoop's servers (NameNode, ResourceManager, NodeManagers),
//! as a client speaks it.
//!
//! # The wire, in order
//!
//! 1. **Preamble.** The client opens a TCP connection and writes `hrpc`, the protocol version
//!    (9), the service class (0) and the authentication protocol: 0 for none (SIMPLE
//!    authentication, the user simply named) or 0xDF for SASL.
//! 2. **SASL** (only with 0xDF), in frames with call id -33: the client asks to NEGOTIATE, the
//!    server lists the mechanisms it accepts, the client INITIATEs one and they exchange
//!    challenges until SUCCESS. ember speaks TOKEN authentication with DIGEST-MD5 ([`sasl`]),
//!    which YARN demands of ApplicationMasters and NodeManager clients even on clusters
//!    without Kerberos. A server that offers SIMPLE ends the negotiation there.
//!    With `hadoop.rpc.protection` of `integrity` or `privacy` the connection then carries
//!    every frame inside SASL `WRAP` messages, signed or encrypted ([`Protection`]).
//! 3. **Connection context**, call id -3: the user and the protocol the connection is for.
//! 4. **Calls.** Every frame is a 4-byte big-endian length and, each prefixed by its varint
//!    length, an `RpcRequestHeader` (call id, client id, retry count), a `RequestHeader`
//!    (method, protocol, protocol version 1) and the request message. The response frame holds
//!    an `RpcResponseHeader` and, on success, the response message; on failure the header
//!    names the Java exception and its message.
//!
//! [`RpcClient`] does one call at a time per connection; while a call waits for its answer it
//! pings the server (a header with call id -4) every 60 s, as Hadoop's client does. A broken
//! connection is opened again and the call sent again (Hadoop servers close idle connections
//! after some seconds).
//!
//! The messages are ember's own definitions (`proto/hadoop_rpc.proto`), with Hadoop's field
//! numbers.

mod connection;
pub mod sasl;
mod security_layer;

pub use connection::{Auth, RpcClient};
pub use security_layer::{Protection, Qop};

/// The protocol messages of Hadoop's IPC layer.
#[allow(missing_docs, clippy::doc_markdown)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/ember.hadoop.rpc.rs"));
}
