//! One client connection to a Hadoop server, and the calls made over it.

use super::proto::{
    rpc_request_header::Operation, rpc_response_header::Status, IpcConnectionContext,
    RequestHeader, RpcKind, RpcRequestHeader, RpcResponseHeader, UserInformation,
};
use super::proto::{rpc_sasl::State as SaslState, RpcSasl};
use super::sasl;
use super::security_layer::{Protection, SecurityLayer};
use crate::error::{Error, Result};
use crate::tokens::Token;
use bytes::{Buf, Bytes, BytesMut};
use prost::Message;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Call id of the connection context frame.
const CONTEXT_CALL_ID: i32 = -3;
/// Call id of a ping: a header alone, which the server reads and drops.
const PING_CALL_ID: i32 = -4;
/// How long a call waits for its answer before it pings the server (`ipc.ping.interval`).
const PING_INTERVAL: Duration = Duration::from_secs(60);
/// Version of the IPC protocol ember speaks (Hadoop 2 and 3).
const IPC_VERSION: u8 = 9;
/// Authentication protocol bytes of the preamble.
const AUTH_NONE: u8 = 0;
const AUTH_SASL: u8 = 0xDF;
/// Largest response accepted, as Hadoop's `ipc.maximum.response.length` default.
const MAX_RESPONSE: usize = 128 << 20;
/// Attempts of a call whose connection broke.
const ATTEMPTS: u32 = 3;
/// Most bytes of frames wrapped into one SASL message: well under the 64 KiB a Hadoop server
/// takes (its `maxbuf`).
const WRAP_CHUNK: usize = 32 << 10;

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
    protection: Protection,
    ping_interval: Duration,
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
            protection: Protection::default(),
            ping_interval: PING_INTERVAL,
            client_id: *uuid::Uuid::new_v4().as_bytes(),
            connection: Mutex::new(None),
            next_call_id: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// The client with the qualities of protection it accepts for TOKEN authentication
    /// (`hadoop.rpc.protection`; authentication only by default, as Hadoop's).
    #[must_use]
    pub fn with_protection(mut self, protection: Protection) -> Self {
        self.protection = protection;
        self
    }

    /// The client pinging the server every `interval` while a call waits for its answer
    /// (Hadoop's `ipc.ping.interval`, 60 s by default): the server sees the connection is in
    /// use, and a dead connection fails the call instead of hanging it.
    #[must_use]
    pub fn with_ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
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

    /// Pings the server over this client's connection, opening it first if need be: what a
    /// waiting call does every ping interval. An answer is not awaited (the server sends
    /// none); a connection the server dropped shows at the next call.
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn ping(&self) -> Result<()> {
        let mut connection = self.connection.lock().await;
        if connection.is_none() {
            *connection = Some(self.connect().await?);
        }
        let Some(open) = connection.as_mut() else {
            return Err(self.broken("no connection"));
        };
        let pinged = open.send(&self.header(PING_CALL_ID), &[]).await;
        if let Err(e) = pinged {
            *connection = None;
            return Err(self.broken(e));
        }
        Ok(())
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
            layer: None,
            unwrapped: BytesMut::new(),
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
                connection.layer =
                    sasl::authenticate(&mut connection, self, token, &self.protection).await?;
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

    /// The header of this client's frame with `call_id` (see [`request_header`]).
    pub(crate) fn header(&self, call_id: i32) -> RpcRequestHeader {
        request_header(call_id, &self.client_id)
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
    /// Set when SASL negotiated integrity or privacy: frames then travel wrapped.
    layer: Option<SecurityLayer>,
    /// Bytes unwrapped from the server's messages and not yet read as frames.
    unwrapped: BytesMut,
}

/// A frame: its 4-byte length, then `body`.
fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

fn length_checked(len: usize) -> std::io::Result<usize> {
    if len > MAX_RESPONSE {
        return Err(std::io::Error::other(format!(
            "a response of {len} bytes is larger than the {MAX_RESPONSE} allowed"
        )));
    }
    Ok(len)
}

fn split_header(mut frame: Bytes) -> std::io::Result<(RpcResponseHeader, Bytes)> {
    let header = RpcResponseHeader::decode_length_delimited(&mut frame)
        .map_err(|e| std::io::Error::other(format!("a response header: {e}")))?;
    Ok((header, frame))
}

impl Connection {
    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.get_mut().write_all(bytes).await
    }

    /// Sends one frame: the header, then each message, all length-delimited; wrapped when
    /// the connection has a security layer.
    pub(crate) async fn send(
        &mut self,
        header: &RpcRequestHeader,
        messages: &[&dyn ErasedMessage],
    ) -> std::io::Result<()> {
        let mut body = header.encode_length_delimited_to_vec();
        for message in messages {
            message.append_delimited(&mut body);
        }
        let frame = frame_of(&body);
        let Some(layer) = self.layer.as_mut() else {
            return self.write(&frame).await;
        };
        // A server reads frames out of the unwrapped stream: one may span several messages.
        let mut wrapped = Vec::new();
        for chunk in frame.chunks(WRAP_CHUNK) {
            let message = RpcSasl {
                version: None,
                state: SaslState::Wrap as i32,
                token: Some(layer.wrap(chunk).into()),
                auths: Vec::new(),
            };
            let mut body = request_header(sasl::SASL_CALL_ID, &[]).encode_length_delimited_to_vec();
            message.append_delimited(&mut body);
            wrapped.extend_from_slice(&frame_of(&body));
        }
        self.write(&wrapped).await
    }

    /// Receives one frame as the server sent it: its response header and the rest.
    async fn receive_raw(&mut self) -> std::io::Result<(RpcResponseHeader, Bytes)> {
        let len = length_checked(self.stream.read_u32().await? as usize)?;
        let mut frame = vec![0; len];
        self.stream.read_exact(&mut frame).await?;
        split_header(Bytes::from(frame))
    }

    /// Receives one frame: its response header and the rest of its bytes, unwrapped when the
    /// connection has a security layer.
    pub(crate) async fn receive(&mut self) -> std::io::Result<(RpcResponseHeader, Bytes)> {
        if self.layer.is_none() {
            return self.receive_raw().await;
        }
        loop {
            if self.unwrapped.len() >= 4 {
                let len = length_checked(u32::from_be_bytes(
                    self.unwrapped[..4].try_into().unwrap_or_default(),
                ) as usize)?;
                if self.unwrapped.len() >= 4 + len {
                    self.unwrapped.advance(4);
                    return split_header(self.unwrapped.split_to(len).freeze());
                }
            }
            let (header, mut body) = self.receive_raw().await?;
            if header.call_id as i32 != sasl::SASL_CALL_ID {
                // Not wrapped: a server refusing the connection says so in the clear.
                return Ok((header, body));
            }
            let message = RpcSasl::decode_length_delimited(&mut body)
                .map_err(|e| std::io::Error::other(format!("a wrapped message: {e}")))?;
            let layer = self.layer.as_mut().ok_or_else(|| {
                std::io::Error::other("a wrapped message on a connection without protection")
            })?;
            let token = message.token.unwrap_or_default();
            let plain = layer.unwrap(&token).map_err(std::io::Error::other)?;
            self.unwrapped.extend_from_slice(&plain);
        }
    }

    /// Waits until the server has begun an answer (or closed the connection), pinging it
    /// every ping interval meanwhile: a ping keeps the connection known alive, or finds it
    /// dead.
    async fn answer_begun(&mut self, client: &RpcClient) -> std::io::Result<()> {
        if !self.unwrapped.is_empty() {
            return Ok(());
        }
        loop {
            // Waiting for buffered bytes reads nothing away: giving up on it loses nothing.
            match tokio::time::timeout(client.ping_interval, self.stream.fill_buf()).await {
                Ok(filled) => return filled.map(|_| ()),
                Err(_) => self.send(&client.header(PING_CALL_ID), &[]).await?,
            }
        }
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
            let received = match self.answer_begun(client).await {
                Ok(()) => self.receive().await,
                Err(e) => Err(e),
            };
            let (header, body) = match received {
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

/// The header of a frame with `call_id` from client `client_id`. As Hadoop's client: SASL
/// frames carry no client id, and only calls have a retry count.
fn request_header(call_id: i32, client_id: &[u8]) -> RpcRequestHeader {
    RpcRequestHeader {
        rpc_kind: Some(RpcKind::RpcProtocolBuffer as i32),
        rpc_op: Some(Operation::RpcFinalPacket as i32),
        call_id,
        client_id: if call_id == sasl::SASL_CALL_ID {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(client_id)
        },
        retry_count: Some(if call_id >= 0 { 0 } else { -1 }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// The call ids of the request frames in `bytes`, after the 7-byte preamble.
    fn call_ids(bytes: &[u8]) -> Vec<i32> {
        let mut rest = Bytes::copy_from_slice(&bytes[7..]);
        let mut ids = Vec::new();
        while rest.len() >= 4 {
            let len = rest.get_u32() as usize;
            let mut frame = rest.split_to(len);
            ids.push(
                RpcRequestHeader::decode_length_delimited(&mut frame)
                    .unwrap()
                    .call_id,
            );
        }
        ids
    }

    #[tokio::test]
    async fn a_call_waiting_for_its_answer_pings_the_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // A server slow to answer call 0: it reads for 300 ms, then answers.
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut read = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
            let mut buffer = [0u8; 4096];
            while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.read(&mut buffer)).await
            {
                read.extend_from_slice(&buffer[..n]);
            }
            let header = RpcResponseHeader {
                call_id: 0,
                status: Status::Success as i32,
                ..Default::default()
            };
            let mut body = header.encode_length_delimited_to_vec();
            RequestHeader::default().append_delimited(&mut body);
            socket.write_all(&frame_of(&body)).await.unwrap();
            read
        });
        let client = RpcClient::new(&address, "test", Auth::Simple { user: "u".into() })
            .with_ping_interval(Duration::from_millis(50));
        let _: RequestHeader = client
            .call("slow", &RequestHeader::default())
            .await
            .unwrap();
        let ids = call_ids(&server.await.unwrap());
        assert_eq!(ids[..2], [CONTEXT_CALL_ID, 0]);
        let pings = ids[2..].iter().filter(|&&id| id == PING_CALL_ID).count();
        assert!(pings >= 3, "{ids:?}");
        assert_eq!(pings, ids.len() - 2, "{ids:?}");
    }
}
