//! SASL quality of protection for Hadoop IPC (`hadoop.rpc.protection`), and the DIGEST-MD5
//! security layer that gives it (RFC 2831, sections 2.3 and 2.4).
//!
//! | `hadoop.rpc.protection` | SASL QOP    | what travels                                   |
//! |-------------------------|-------------|------------------------------------------------|
//! | `authentication`        | `auth`      | plain frames                                   |
//! | `integrity`             | `auth-int`  | each message followed by a MAC                 |
//! | `privacy`               | `auth-conf` | each message and its MAC encrypted (RC4, 128 bits) |
//!
//! With `auth-int` or `auth-conf` every IPC frame, the connection context included, goes
//! *wrapped*: `wrap(frame)` is sent as the token of a SASL `WRAP` message, and the server's
//! answers come the same way. A wrapped message is
//!
//! ```text
//! auth-int:   message ++ MAC ++ 0x0001 ++ sequence number
//! auth-conf:  RC4(message ++ MAC) ++ 0x0001 ++ sequence number
//! MAC = HMAC-MD5(signing key, sequence number ++ message)[0..10]
//! ```
//!
//! with a sequence number per direction counting from 0, and keys per direction derived from
//! the digest's session key H(A1). RC4 runs on across the messages of a direction.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rc4::consts::U16;
use rc4::{KeyInit, Rc4, StreamCipher};

/// A SASL quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// Authentication only (`auth`).
    Authentication,
    /// Authentication and integrity (`auth-int`).
    Integrity,
    /// Authentication, integrity and confidentiality (`auth-conf`).
    Privacy,
}

impl Qop {
    /// Its name in a DIGEST-MD5 exchange.
    pub(crate) fn sasl_name(self) -> &'static str {
        match self {
            Qop::Authentication => "auth",
            Qop::Integrity => "auth-int",
            Qop::Privacy => "auth-conf",
        }
    }

    fn from_conf_name(name: &str) -> Option<Qop> {
        match name.trim().to_ascii_lowercase().as_str() {
            "authentication" => Some(Qop::Authentication),
            "integrity" => Some(Qop::Integrity),
            "privacy" => Some(Qop::Privacy),
            _ => None,
        }
    }
}

/// The qualities of protection a client accepts, best liked first (Hadoop's
/// `hadoop.rpc.protection`, default `authentication`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection(Vec<Qop>);

impl Default for Protection {
    fn default() -> Self {
        Protection(vec![Qop::Authentication])
    }
}

impl Protection {
    /// Parses a `hadoop.rpc.protection` value such as `privacy,integrity`.
    ///
    /// # Errors
    /// A name other than authentication, integrity and privacy.
    pub fn parse(value: &str) -> Result<Self, String> {
        let qops = value
            .split(',')
            .filter(|n| !n.trim().is_empty())
            .map(|n| {
                Qop::from_conf_name(n).ok_or_else(|| {
                    format!(
                        "hadoop.rpc.protection has {:?}; its values are authentication, \
                         integrity and privacy",
                        n.trim()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if qops.is_empty() {
            return Ok(Protection::default());
        }
        Ok(Protection(qops))
    }

    /// The protection `conf` asks for.
    ///
    /// # Errors
    /// A malformed `hadoop.rpc.protection`.
    pub fn of(conf: &crate::HadoopConf) -> crate::Result<Self> {
        let value = conf.get("hadoop.rpc.protection").unwrap_or_default();
        Protection::parse(&value).map_err(crate::Error::Setting)
    }

    /// The first of this client's qualities that the server offers (`offered`, SASL names).
    pub(crate) fn choose(&self, offered: &str) -> Option<Qop> {
        let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
        self.0
            .iter()
            .copied()
            .find(|q| offered.contains(&q.sasl_name()))
    }

    /// Its names, as `hadoop.rpc.protection` spells them.
    pub(crate) fn describe(&self) -> String {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|q| match q {
                Qop::Authentication => "authentication",
                Qop::Integrity => "integrity",
                Qop::Privacy => "privacy",
            })
            .collect();
        names.join(",")
    }
}

const CLIENT_SIGNING: &[u8] = b"Digest session key to client-to-server signing key magic constant";
const SERVER_SIGNING: &[u8] = b"Digest session key to server-to-client signing key magic constant";
const CLIENT_SEALING: &[u8] = b"Digest H(A1) to client-to-server sealing key magic constant";
const SERVER_SEALING: &[u8] = b"Digest H(A1) to server-to-client sealing key magic constant";
/// The message type of every wrapped message.
const MESSAGE_TYPE: [u8; 2] = [0, 1];
/// Bytes of the MAC kept.
const MAC_LEN: usize = 10;
/// What follows the (encrypted) message and MAC.
const TRAILER_LEN: usize = 6;

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

/// One direction of a security layer: its keys and where it is.
struct Direction {
    signing: [u8; 16],
    cipher: Option<Rc4<U16>>,
    sequence: u32,
}

impl Direction {
    fn new(ha1: &[u8; 16], qop: Qop, signing: &[u8], sealing: &[u8]) -> Self {
        let cipher = (qop == Qop::Privacy).then(|| {
            let key = md5_of(&[ha1, sealing]);
            Rc4::new(&key.into())
        });
        Direction {
            signing: md5_of(&[ha1, signing]),
            cipher,
            sequence: 0,
        }
    }

    fn mac(&self, message: &[u8]) -> [u8; MAC_LEN] {
        // HMAC takes keys of any length: this cannot fail.
        let mut hmac =
            <Hmac<Md5> as Mac>::new_from_slice(&self.signing).expect("HMAC accepts a 16-byte key");
        hmac.update(&self.sequence.to_be_bytes());
        hmac.update(message);
        let full = hmac.finalize().into_bytes();
        let mut mac = [0; MAC_LEN];
        mac.copy_from_slice(&full[..MAC_LEN]);
        mac
    }
}

/// The DIGEST-MD5 security layer of one authenticated connection.
pub(crate) struct SecurityLayer {
    outgoing: Direction,
    incoming: Direction,
}

impl SecurityLayer {
    /// The client's layer for `qop` (integrity or privacy) with the session key `ha1`.
    pub(crate) fn client(ha1: &[u8; 16], qop: Qop) -> Self {
        SecurityLayer {
            outgoing: Direction::new(ha1, qop, CLIENT_SIGNING, CLIENT_SEALING),
            incoming: Direction::new(ha1, qop, SERVER_SIGNING, SERVER_SEALING),
        }
    }

    /// Wraps one message for the server.
    pub(crate) fn wrap(&mut self, message: &[u8]) -> Vec<u8> {
        let out = &mut self.outgoing;
        let mac = out.mac(message);
        let mut wrapped = Vec::with_capacity(message.len() + MAC_LEN + TRAILER_LEN);
        wrapped.extend_from_slice(message);
        wrapped.extend_from_slice(&mac);
        if let Some(cipher) = &mut out.cipher {
            cipher.apply_keystream(&mut wrapped);
        }
        wrapped.extend_from_slice(&MESSAGE_TYPE);
        wrapped.extend_from_slice(&out.sequence.to_be_bytes());
        out.sequence = out.sequence.wrapping_add(1);
        wrapped
    }

    /// Unwraps one message from the server, checking its order and MAC.
    ///
    /// # Errors
    /// Too short, out of sequence, or a MAC that does not match (altered, or another key).
    pub(crate) fn unwrap(&mut self, wrapped: &[u8]) -> Result<Vec<u8>, String> {
        let into = &mut self.incoming;
        if wrapped.len() < MAC_LEN + TRAILER_LEN {
            return Err(format!("a wrapped message of {} bytes", wrapped.len()));
        }
        let (sealed, trailer) = wrapped.split_at(wrapped.len() - TRAILER_LEN);
        let sequence = u32::from_be_bytes([trailer[2], trailer[3], trailer[4], trailer[5]]);
        if trailer[..2] != MESSAGE_TYPE || sequence != into.sequence {
            return Err(format!(
                "a wrapped message out of order (sequence {sequence}, expected {})",
                into.sequence
            ));
        }
        let mut body = sealed.to_vec();
        if let Some(cipher) = &mut into.cipher {
            cipher.apply_keystream(&mut body);
        }
        let mac = body.split_off(body.len() - MAC_LEN);
        if mac != into.mac(&body) {
            return Err("a wrapped message whose MAC does not match".into());
        }
        into.sequence = into.sequence.wrapping_add(1);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's side, for checking the client's against: the same keys, mirrored.
    fn server(ha1: &[u8; 16], qop: Qop) -> SecurityLayer {
        SecurityLayer {
            outgoing: Direction::new(ha1, qop, SERVER_SIGNING, SERVER_SEALING),
            incoming: Direction::new(ha1, qop, CLIENT_SIGNING, CLIENT_SEALING),
        }
    }

    #[test]
    fn protection_parses_hadoops_names() {
        assert_eq!(Protection::parse("").unwrap(), Protection::default());
        let both = Protection::parse("privacy, integrity").unwrap();
        assert_eq!(both.choose("auth-int,auth-conf"), Some(Qop::Privacy));
        assert_eq!(both.choose("auth-int"), Some(Qop::Integrity));
        assert_eq!(both.choose("auth"), None);
        let err = Protection::parse("secret").unwrap_err();
        assert!(
            err.contains("authentication, integrity and privacy"),
            "{err}"
        );
    }

    #[test]
    fn integrity_sends_the_message_with_a_mac_and_catches_changes() {
        let ha1 = md5_of(&[b"session"]);
        let mut client = SecurityLayer::client(&ha1, Qop::Integrity);
        let mut server = server(&ha1, Qop::Integrity);
        let wrapped = client.wrap(b"hello");
        assert_eq!(&wrapped[..5], b"hello");
        assert_eq!(wrapped.len(), 5 + MAC_LEN + TRAILER_LEN);
        assert_eq!(server.incoming.mac(b"hello")[..], wrapped[5..15]);
        assert_eq!(server.unwrap(&wrapped).unwrap(), b"hello");
        let mut altered = client.wrap(b"again");
        altered[0] ^= 1;
        assert!(server.unwrap(&altered).unwrap_err().contains("MAC"));
    }

    #[test]
    fn privacy_hides_the_message_and_both_sides_keep_in_step() {
        let ha1 = md5_of(&[b"session"]);
        let mut client = SecurityLayer::client(&ha1, Qop::Privacy);
        let mut server = server(&ha1, Qop::Privacy);
        for round in 0..3u8 {
            let message = vec![round; 100];
            let wrapped = client.wrap(&message);
            assert!(!wrapped.windows(100).any(|w| w == message), "encrypted");
            assert_eq!(server.unwrap(&wrapped).unwrap(), message);
            let answer = server.wrap(b"ok");
            assert_eq!(client.unwrap(&answer).unwrap(), b"ok");
        }
        // A replayed message is out of sequence.
        let first = client.wrap(b"x");
        server.unwrap(&first).unwrap();
        assert!(server.unwrap(&first).unwrap_err().contains("out of order"));
    }
}
