//! The receiver of [`socket_text_stream`](crate::StreamingContext::socket_text_stream): lines
//! read from a TCP server (Spark's `SocketReceiver`).

use super::{Receiver, ReceiverContext};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

/// Connects to `host:port` and stores each line it reads (UTF-8, without its line ending).
/// When the connection cannot be made or ends, it asks to be restarted, so a server that
/// comes back later is read again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocketReceiver {
    host: String,
    port: u16,
    /// The open connection, to shut down on stop (which ends the blocked read).
    #[serde(skip)]
    connection: Arc<Mutex<Option<TcpStream>>>,
}

impl SocketReceiver {
    /// A receiver of the lines the server at `host:port` sends.
    pub fn new(host: &str, port: u16) -> SocketReceiver {
        SocketReceiver {
            host: host.to_string(),
            port,
            connection: Arc::default(),
        }
    }

    fn receive(&self, context: &ReceiverContext<String>) {
        let address = format!("{}:{}", self.host, self.port);
        let socket = match TcpStream::connect(&address) {
            Ok(socket) => socket,
            Err(e) => {
                context.restart(format!(
                    "could not connect to {address}: {e}; start the server first (for a \
                     try, `nc -lk {}` on {}), or give socket_text_stream the right host and \
                     port",
                    self.port, self.host
                ));
                return;
            }
        };
        *self.connection.lock() = socket.try_clone().ok();
        for line in BufReader::new(socket).lines() {
            if context.is_stopped() {
                return;
            }
            match line {
                Ok(line) => context.store(line),
                Err(e) => {
                    context.restart(format!("error reading from {address}: {e}"));
                    return;
                }
            }
        }
        if !context.is_stopped() {
            context.restart(format!("{address} closed the connection"));
        }
    }
}

impl Receiver<String> for SocketReceiver {
    fn on_start(&self, context: &ReceiverContext<String>) {
        let (receiver, reading) = (self.clone(), context.clone());
        let started = std::thread::Builder::new()
            .name("ember-socket-receiver".into())
            .spawn(move || receiver.receive(&reading));
        if let Err(e) = started {
            context.restart(format!("could not start the socket receiver's thread: {e}"));
        }
    }

    fn on_stop(&self) {
        if let Some(socket) = self.connection.lock().take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}
