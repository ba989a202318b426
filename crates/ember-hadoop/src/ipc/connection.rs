//! One client connection to a Hadoop server, and the calls made over it.

use super::proto::{
    rpc_request_header::Operation, rpc_response_header::Status, IpcConnectionContext,
    RequestHeader, RpcKind, RpcRequestHeader, RpcResponseHeader, UserInformation,
};
use super::sasl;
use crate::error::{Error, Result};
use crate::tokens::Token;
use bytes::Bytes;
use prost::Message;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Call id of the connection context frame.
const CONTEXT_CALL_ID: i32 = -3;
/// Version of the IPC protocol ember speaks (Hadoop 2 and 3).
const IPC_VERSION: u8 = 9;
/// Authentication protocol bytes of the preamble.
const AUTH_NONE: u8 = 0;
const AUTH_SASL: u8 = 0xDF;
/// Largest response accepted, as Hadoop's `ipc.maximum.response.length` default.
const MAX_RESPONSE: usize = 128 << 20;
/// Attempts of a call whose connection broke.
const ATTEMPTS: u32 = 3;

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Auth {
    /// SIMPLE: the server takes the user's word for its name.
    Simple {
        /// The user to act as.
        user: String,
    },
    /// TOKEN: SASL DIGEST-MD5 with a token's identifier and password. The server learns the
    /// user from the token.
    Token(Token),
}

/// A client of one protocol on one Hadoop server.
pub struct RpcClient {
    address: String,
    protocol: String,
    auth: Auth,
    client_id: [u8; 16],
    connection: Mutex<Option<Connection>>,
    next_call_id: std::sync::atomic::AtomicI32,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("address", &self.address)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client of `protocol` (such as
    /// `org.apache.hadoop.yarn.api.ApplicationClientProtocolPB`) at `address` (`host:port`).
    /// It connects at the first call.
    pub fn new(address: &str, protocol: &str, auth: Auth) -> Self {
        RpcClient {
            address: address.to_string(),
            protocol: protocol.to_string(),
            auth,
            client_id: *uuid::Uuid::new_v4().as_bytes(),
            connection: Mutex::new(None),
            next_call_id: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// The server's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Calls `method` with `request`.
    ///
    /// # Errors
    /// The server cannot be reached ([`Error::Connection`]), or answered with an exception
    /// ([`Error::Remote`]).
    pub async fn call<Q: Message, R: Message + Default>(
        &self,
        method: &str,
        request: &Q,
    ) -> Result<R> {
        let mut connection = self.connection.lock().await;
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            if connection.is_none() {
                match self.connect().await {
                    Ok(opened) => *connection = Some(opened),
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                }
            }
            let Some(open) = connection.as_mut() else {
                continue;
            };
            let call_id = self
                .next_call_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                & i32::MAX;
            match open.call(self, call_id, method, request).await {
                Ok(body) => return self.decode(method, body),
                // The server answered: retrying will not change its mind.
                Err(e @ Error::Remote { .. }) => return Err(e),
                Err(e) => {
                    *connection = None;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| self.broken("no attempt was made")))
    }

    fn decode<R: Message + Default>(&self, method: &str, mut body: Bytes) -> Result<R> {
        R::decode_length_delimited(&mut body).map_err(|e| Error::Protocol {
            source_name: self.address.clone(),
            message: format!("the answer to {method} does not decode: {e}"),
        })
    }

    fn broken(&self, message: impl std::fmt::Display) -> Error {
        Error::Connection {
            server: self.address.clone(),
            message: message.to_string(),
        }
    }

    /// Opens a connection: preamble, authentication, connection context.
    async fn connect(&self) -> Result<Connection> {
        let stream = TcpStream::connect(&self.address)
            .await
            .map_err(|e| self.broken(e))?;
        stream.set_nodelay(true).map_err(|e| self.broken(e))?;
        let mut connection = Connection {
            stream: BufReader::new(stream),
        };
        let auth_byte = match self.auth {
            Auth::Simple { .. } => AUTH_NONE,
            Auth::Token(_) => AUTH_SASL,
        };
        let preamble = [b'h', b'r', b'p', b'c', IPC_VERSION, 0, auth_byte];
        connection
            .write(&preamble)
            .await
            .map_err(|e| self.broken(e))?;
        let user = match &self.auth {
            Auth::Simple { user } => Some(user.clone()),
            Auth::Token(token) => {
                sasl::authenticate(&mut connection, self, token).await?;
                // The server takes the user from the token.
                None
            }
        };
        let context = IpcConnectionContext {
            user_info: Some(UserInformation {
                effective_user: user,
                real_user: None,
            }),
            protocol: Some(self.protocol.clone()),
        };
        connection
            .send(&self.header(CONTEXT_CALL_ID), &[&context])
            .await
            .map_err(|e| self.broken(e))?;
        Ok(connection)
    }

    /// The header of a frame with `call_id`. As Hadoop's client: SASL frames carry no client
    /// id, and only calls have a retry count.
    pub(crate) fn header(&self, call_id: i32) -> RpcRequestHeader {
        RpcRequestHeader {
            rpc_kind: Some(RpcKind::RpcProtocolBuffer as i32),
            rpc_op: Some(Operation::RpcFinalPacket as i32),
            call_id,
            client_id: if call_id == sasl::SASL_CALL_ID {
                Bytes::new()
            } else {
                Bytes::copy_from_slice(&self.client_id)
            },
            retry_count: Some(if call_id >= 0 { 0 } else { -1 }),
        }
    }

    /// The error of a response whose header is not SUCCESS.
    pub(crate) fn remote_error(&self, method: &str, header: &RpcResponseHeader) -> Error {
        Error::Remote {
            server: self.address.clone(),
            method: method.to_string(),
            class: header
                .exception_class_name
                .clone()
                .unwrap_or_else(|| "an unnamed exception".into()),
            message: header.error_msg.clone().unwrap_or_default(),
        }
    }
}

/// An open, authenticated connection.
pub(crate) struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.get_mut().write_all(bytes).await
    }

    /// Sends one frame: the header, then each message, all length-delimited.
    pub(crate) async fn send(
        &mut self,
        header: &RpcRequestHeader,
        messages: &[&dyn ErasedMessage],
    ) -> std::io::Result<()> {
        let mut body = header.encode_length_delimited_to_vec();
        for message in messages {
            message.append_delimited(&mut body);
        }
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.extend_from_slice(&body);
        self.write(&frame).await
    }

    /// Receives one frame: its response header and the rest of its bytes.
    pub(crate) async fn receive(&mut self) -> std::io::Result<(RpcResponseHeader, Bytes)> {
        let len = self.stream.read_u32().await? as usize;
        if len > MAX_RESPONSE {
            return Err(std::io::Error::other(format!(
                "a response of {len} bytes is larger than the {MAX_RESPONSE} allowed"
            )));
        }
        let mut frame = vec![0; len];
        self.stream.read_exact(&mut frame).await?;
        let mut frame = Bytes::from(frame);
        let header = RpcResponseHeader::decode_length_delimited(&mut frame)
            .map_err(|e| std::io::Error::other(format!("a response header: {e}")))?;
        Ok((header, frame))
    }

    /// Sends a call and waits for its response's message bytes.
    async fn call(
        &mut self,
        client: &RpcClient,
        call_id: i32,
        method: &str,
        request: &dyn ErasedMessage,
    ) -> Result<Bytes> {
        let method_header = RequestHeader {
            method_name: method.to_string(),
            declaring_class_protocol_name: client.protocol.clone(),
            client_protocol_version: 1,
        };
        // A server that refuses the connection writes why before it closes it, so a failed
        // send is followed by a read: the reason beats "broken pipe".
        let sent = self
            .send(&client.header(call_id), &[&method_header, request])
            .await;
        loop {
            let (header, body) = match self.receive().await {
                Ok(received) => received,
                Err(e) => return Err(client.broken(sent.err().unwrap_or(e))),
            };
            let status = header.status();
            if status == Status::Fatal {
                return Err(client.remote_error(method, &header));
            }
            if header.call_id as i32 != call_id {
                // An answer to a call given up on earlier: not ours.
                continue;
            }
            return match status {
                Status::Success => Ok(body),
                _ => Err(client.remote_error(method, &header)),
            };
        }
    }
}

/// A protobuf message whose type is not known here, appended to a frame.
pub(crate) trait ErasedMessage: Send + Sync {
    fn append_delimited(&self, out: &mut Vec<u8>);
}

impl<M: Message> ErasedMessage for M {
    fn append_delimited(&self, out: &mut Vec<u8>) {
        // Encoding into a Vec cannot run out of space.
        let _ = self.encode_length_delimited(out);
    }
}
