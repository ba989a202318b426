//! Hadoop's delegation tokens and the token files that carry them (Hadoop's `Credentials`).
//!
//! YARN hands every container its tokens in a file named by `HADOOP_TOKEN_FILE_LOCATION`: the
//! ApplicationMaster finds there the AMRMToken it must present to the ResourceManager's scheduler.
//! The file starts with `HDTS` and a format byte: 0 for Hadoop's `Writable` encoding (what YARN
//! writes), 1 for a varint-delimited protocol-buffer message. Both are read; files are written in
//! the `Writable` form, which every Hadoop version reads.
//!
//! ```
//! use ember_hadoop::tokens::{Credentials, Token};
//! let mut credentials = Credentials::default();
//! credentials.add("am", Token {
//!     identifier: vec![1, 2, 3],
//!     password: b"secret".to_vec(),
//!     kind: "YARN_AM_RM_TOKEN".into(),
//!     service: "10.0.0.1:8030".into(),
//! });
//! let bytes = credentials.to_bytes();
//! let back = Credentials::parse(&bytes, "example").unwrap();
//! assert_eq!(back.token_of_kind("YARN_AM_RM_TOKEN").unwrap().password, b"secret");
//! ```

use crate::error::{Error, Result};
use crate::ipc::proto;
use prost::Message;
use std::path::Path;

/// The environment variable YARN sets to the container's token file.
pub const TOKEN_FILE_ENV: &str = "HADOOP_TOKEN_FILE_LOCATION";

const MAGIC: &[u8] = b"HDTS";
const WRITABLE: u8 = 0;
const PROTOBUF: u8 = 1;

/// A token: an identifier the server can read, the password it proves, its kind and the service
/// (usually `host:port`) it is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token {
    /// The serialized token identifier.
    pub identifier: Vec<u8>,
    /// The password, a MAC of the identifier under the server's secret.
    pub password: Vec<u8>,
    /// Such as `YARN_AM_RM_TOKEN` or `HDFS_DELEGATION_TOKEN`.
    pub kind: String,
    /// The service the token is for.
    pub service: String,
}

impl Token {
    /// The token as Hadoop's protocols carry it.
    pub fn to_proto(&self) -> proto::Token {
        proto::Token {
            identifier: self.identifier.clone().into(),
            password: self.password.clone().into(),
            kind: self.kind.clone(),
            service: self.service.clone(),
        }
    }

    /// A token received in a protocol message.
    pub fn from_proto(token: &proto::Token) -> Self {
        Token {
            identifier: token.identifier.to_vec(),
            password: token.password.to_vec(),
            kind: token.kind.clone(),
            service: token.service.clone(),
        }
    }
}

/// Tokens and secret keys by alias, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    tokens: Vec<(String, Token)>,
    secrets: Vec<(String, Vec<u8>)>,
}

impl Credentials {
    /// The token file of this container, when YARN gave it one.
    ///
    /// # Errors
    /// The file named by `HADOOP_TOKEN_FILE_LOCATION` cannot be read or parsed.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var_os(TOKEN_FILE_ENV) {
            Some(path) => Self::read_file(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    /// Reads a token file.
    ///
    /// # Errors
    /// The file cannot be read, or is not a Hadoop token file.
    pub fn read_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, &path.display().to_string())
    }

    /// Parses the bytes of a token file; `name` says where they came from in errors.
    ///
    /// # Errors
    /// Not a Hadoop token file, or one cut short.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self> {
        let bad = |message: String| Error::Protocol {
            source_name: name.to_string(),
            message,
        };
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a Hadoop token file (no HDTS header)".into()))?;
        match rest.split_first() {
            Some((&WRITABLE, body)) => parse_writable(body).map_err(bad),
            Some((&PROTOBUF, body)) => proto::Credentials::decode_length_delimited(body)
                .map(Self::from_proto)
                .map_err(|e| bad(e.to_string())),
            Some((format, _)) => Err(bad(format!(
                "token file format {format} is unknown (0 and 1 are Hadoop's)"
            ))),
            None => Err(bad("the token file ends after its header".into())),
        }
    }

    /// Adds (or replaces) the token under `alias`.
    pub fn add(&mut self, alias: &str, token: Token) {
        self.tokens.retain(|(a, _)| a != alias);
        self.tokens.push((alias.to_string(), token));
    }

    /// The tokens, by alias.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, &Token)> {
        self.tokens
            .iter()
            .map(|(alias, token)| (alias.as_str(), token))
    }

    /// The first token of `kind`: YARN names tokens by kind, whatever their alias.
    pub fn token_of_kind(&self, kind: &str) -> Option<&Token> {
        self.tokens().map(|(_, t)| t).find(|t| t.kind == kind)
    }

    /// The token file's bytes, in Hadoop's `Writable` form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(WRITABLE);
        write_vint(&mut out, self.tokens.len() as i64);
        for (alias, token) in &self.tokens {
            write_bytes(&mut out, alias.as_bytes());
            write_bytes(&mut out, &token.identifier);
            write_bytes(&mut out, &token.password);
            write_bytes(&mut out, token.kind.as_bytes());
            write_bytes(&mut out, token.service.as_bytes());
        }
        write_vint(&mut out, self.secrets.len() as i64);
        for (alias, secret) in &self.secrets {
            write_bytes(&mut out, alias.as_bytes());
            write_bytes(&mut out, secret);
        }
        out
    }

    fn from_proto(credentials: proto::Credentials) -> Self {
        Credentials {
            tokens: credentials
                .tokens
                .iter()
                .filter_map(|e| Some((e.alias.clone(), Token::from_proto(e.token.as_ref()?))))
                .collect(),
            secrets: credentials
                .secrets
                .iter()
                .filter_map(|e| Some((e.alias.clone(), e.secret.as_ref()?.to_vec())))
                .collect(),
        }
    }
}

/// The `Writable` body: tokens, then secret keys, each list a vint count of entries.
fn parse_writable(body: &[u8]) -> std::result::Result<Credentials, String> {
    let mut input = Reader(body);
    let mut credentials = Credentials::default();
    for _ in 0..input.count()? {
        let alias = input.text()?;
        let token = Token {
            identifier: input.bytes()?.to_vec(),
            password: input.bytes()?.to_vec(),
            kind: input.text()?,
            service: input.text()?,
        };
        credentials.tokens.push((alias, token));
    }
    for _ in 0..input.count()? {
        let alias = input.text()?;
        credentials.secrets.push((alias, input.bytes()?.to_vec()));
    }
    Ok(credentials)
}

/// Reads Hadoop's `Writable` primitives from a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "the token file is cut short ({n} bytes wanted, {} left)",
                self.0.len()
            ));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    /// Hadoop's `WritableUtils.readVLong`: one byte for -112..=127, else a byte giving sign
    /// and length, then the big-endian magnitude.
    fn vint(&mut self) -> std::result::Result<i64, String> {
        let first = self.take(1)?[0] as i8;
        if first >= -112 {
            return Ok(i64::from(first));
        }
        let negative = first < -120;
        let len = if negative {
            -120 - i32::from(first)
        } else {
            -112 - i32::from(first)
        };
        let magnitude = self
            .take(len as usize)?
            .iter()
            .fold(0i64, |n, &b| (n << 8) | i64::from(b));
        Ok(if negative { !magnitude } else { magnitude })
    }

    fn count(&mut self) -> std::result::Result<usize, String> {
        let n = self.vint()?;
        usize::try_from(n).map_err(|_| format!("a negative count ({n}) in the token file"))
    }

    fn bytes(&mut self) -> std::result::Result<&'a [u8], String> {
        let n = self.count()?;
        self.take(n)
    }

    fn text(&mut self) -> std::result::Result<String, String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|e| format!("text that is not UTF-8: {e}"))
    }
}

/// Hadoop's `WritableUtils.writeVLong`.
fn write_vint(out: &mut Vec<u8>, n: i64) {
    if (-112..=127).contains(&n) {
        out.push(n as u8);
        return;
    }
    let (magnitude, base) = if n < 0 { (!n, -120i32) } else { (n, -112i32) };
    let len = 8 - (magnitude.leading_zeros() / 8) as i32;
    out.push((base - len) as u8);
    for i in (0..len).rev() {
        out.push((magnitude >> (i * 8)) as u8);
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_vint(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_round_trip_across_their_length_boundaries() {
        for n in [
            0,
            1,
            -1,
            127,
            128,
            -112,
            -113,
            255,
            256,
            65_535,
            -65_536,
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write_vint(&mut out, n);
            assert_eq!(Reader(&out).vint().unwrap(), n, "{n}: {out:?}");
        }
        // Hadoop's encodings of a few values, as WritableUtils writes them.
        let mut out = Vec::new();
        write_vint(&mut out, 300);
        assert_eq!(out, [0x8e, 0x01, 0x2c]);
        out.clear();
        write_vint(&mut out, -300);
        assert_eq!(out, [0x86, 0x01, 0x2b]);
    }

    #[test]
    fn both_file_formats_read() {
        let token = Token {
            identifier: vec![9; 200],
            password: vec![7; 20],
            kind: "YARN_AM_RM_TOKEN".into(),
            service: "127.0.0.1:8030".into(),
        };
        let mut credentials = Credentials::default();
        credentials.add("amrm", token.clone());
        credentials.secrets.push(("key".into(), b"v".to_vec()));
        let writable = credentials.to_bytes();
        assert_eq!(Credentials::parse(&writable, "w").unwrap(), credentials);
        let as_proto = proto::Credentials {
            tokens: vec![proto::credentials::Entry {
                alias: "amrm".into(),
                token: Some(token.to_proto()),
                secret: None,
            }],
            secrets: vec![proto::credentials::Entry {
                alias: "key".into(),
                token: None,
                secret: Some(b"v".to_vec().into()),
            }],
        };
        let mut protobuf = b"HDTS\x01".to_vec();
        protobuf.extend(as_proto.encode_length_delimited_to_vec());
        assert_eq!(Credentials::parse(&protobuf, "p").unwrap(), credentials);
    }

    /// The bytes Hadoop 3.5's `Credentials.writeTokenStorageToStream` writes for one AMRMToken
    /// and one secret key.
    #[test]
    fn the_writable_form_is_byte_for_byte_hadoops() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let mut credentials = Credentials::default();
        credentials.add(
            "alias1",
            Token {
                identifier: hex("0a0d0a0908071080d095ffbc311001102a"),
                password: vec![1, 2, 3],
                kind: "YARN_AM_RM_TOKEN".into(),
                service: "127.0.0.1:8030".into(),
            },
        );
        credentials.secrets.push(("sk".into(), vec![9, 9]));
        let hadoop = hex(concat!(
            "4844545300",
            "0106616c69617331",
            "110a0d0a0908071080d095ffbc311001102a",
            "03010203",
            "105941524e5f414d5f524d5f544f4b454e",
            "0e3132372e302e302e313a38303330",
            "0102736b020909"
        ));
        assert_eq!(credentials.to_bytes(), hadoop);
        assert_eq!(Credentials::parse(&hadoop, "hadoop").unwrap(), credentials);
        assert_eq!(
            Credentials::parse(b"HDTS\0\0\0", "empty").unwrap(),
            Credentials::default()
        );
    }

    #[test]
    fn damaged_files_are_named_and_explained() {
        let err = Credentials::parse(b"NOPE", "t.tokens")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.tokens") && err.contains("HDTS"), "{err}");
        let mut cut = Credentials::default();
        cut.add("a", Token::default());
        let bytes = cut.to_bytes();
        let err = Credentials::parse(&bytes[..bytes.len() - 1], "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cut short"), "{err}");
    }
}
