//! SASL for Hadoop IPC: TOKEN authentication with DIGEST-MD5 (RFC 2831), as Hadoop's
//! `SaslRpcClient` does it.
//!
//! The user name is the token's identifier and the password its password, both base64
//! encoded; the realm and server id are `default` and the protocol empty, so the digest URI is
//! `/default`. The exchange, in frames with call id -33:
//!
//! ```text
//! client: NEGOTIATE
//! server: NEGOTIATE  auths: [TOKEN DIGEST-MD5 with the challenge (realm, nonce, qop, ...)]
//! client: INITIATE   auths: [the chosen one]  token: the digest response
//! server: SUCCESS    token: rspauth (or CHALLENGE with it, answered by an empty RESPONSE)
//! ```
//!
//! The quality of protection is the first of the client's `hadoop.rpc.protection` that the
//! server offers in its challenge; with integrity or privacy the connection goes on through a
//! [`SecurityLayer`]. A server offering none of the client's is refused with a message naming
//! both.

use super::connection::{Connection, RpcClient};
use super::proto::{rpc_response_header::Status, rpc_sasl::State, RpcSasl};
use super::security_layer::{Protection, Qop, SecurityLayer};
use crate::error::{Error, Result};
use crate::tokens::Token;
use base64::Engine;
use md5::{Digest, Md5};
use prost::Message;

/// Call id of SASL frames.
pub(crate) const SASL_CALL_ID: i32 = -33;
/// Nonce count: each connection authenticates once.
const NONCE_COUNT: &str = "00000001";

/// Authenticates `connection` with `token`; the security layer the connection goes on
/// through, if the negotiated protection has one.
///
/// # Errors
/// The server refuses the token, speaks a mechanism ember does not, or offers none of the
/// qualities of `protection`.
pub(crate) async fn authenticate(
    connection: &mut Connection,
    client: &RpcClient,
    token: &Token,
    protection: &Protection,
) -> Result<Option<SecurityLayer>> {
    let mut exchange = Exchange { connection, client };
    let offer = exchange.step(RpcSasl::state_only(State::Negotiate)).await?;
    // A server without security says SUCCESS at once: the connection goes on unauthenticated.
    if offer.state() == State::Success {
        return Ok(None);
    }
    let Some(auth) = offer
        .auths
        .iter()
        .find(|a| a.method == "TOKEN" && a.mechanism == "DIGEST-MD5")
    else {
        let offered: Vec<String> = offer
            .auths
            .iter()
            .map(|a| format!("{}/{}", a.method, a.mechanism))
            .collect();
        return Err(client_error(
            client,
            format!("the server accepts {offered:?}; ember authenticates with TOKEN/DIGEST-MD5"),
        ));
    };
    let challenge = String::from_utf8_lossy(auth.challenge.as_deref().unwrap_or_default());
    let digest_uri = format!(
        "{}/{}",
        auth.protocol.as_deref().unwrap_or(""),
        auth.server_id.as_deref().unwrap_or("default")
    );
    let digest = DigestResponse::new(&challenge, token, &digest_uri, &cnonce(), protection)
        .map_err(|m| client_error(client, m))?;
    let mut chosen = auth.clone();
    chosen.challenge = None;
    let initiate = RpcSasl {
        version: None,
        state: State::Initiate as i32,
        token: Some(digest.response().into_bytes().into()),
        auths: vec![chosen],
    };
    let mut reply = exchange.step(initiate).await?;
    if reply.state() == State::Challenge {
        digest.check_rspauth(reply.token.as_deref().unwrap_or_default(), client)?;
        reply = exchange.step(RpcSasl::state_only(State::Response)).await?;
    }
    match reply.state() {
        State::Success => Ok(digest.security_layer()),
        other => Err(client_error(
            client,
            format!("SASL ended in state {other:?}, not SUCCESS"),
        )),
    }
}

impl RpcSasl {
    fn state_only(state: State) -> Self {
        RpcSasl {
            version: None,
            state: state as i32,
            token: None,
            auths: Vec::new(),
        }
    }
}

fn client_error(client: &RpcClient, message: String) -> Error {
    Error::Protocol {
        source_name: client.address().to_string(),
        message: format!("authentication failed: {message}"),
    }
}

/// Sends SASL messages and reads the server's answers.
struct Exchange<'a> {
    connection: &'a mut Connection,
    client: &'a RpcClient,
}

impl Exchange<'_> {
    async fn step(&mut self, message: RpcSasl) -> Result<RpcSasl> {
        let broken = |e: std::io::Error| Error::Connection {
            server: self.client.address().to_string(),
            message: format!("during SASL negotiation: {e}"),
        };
        self.connection
            .send(&self.client.header(SASL_CALL_ID), &[&message])
            .await
            .map_err(broken)?;
        let (header, mut body) = self.connection.receive().await.map_err(broken)?;
        if header.status() != Status::Success {
            return Err(self.client.remote_error("SASL authentication", &header));
        }
        RpcSasl::decode_length_delimited(&mut body)
            .map_err(|e| client_error(self.client, format!("a SASL answer: {e}")))
    }
}

/// A fresh client nonce.
fn cnonce() -> String {
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// The client's answer to a DIGEST-MD5 challenge.
#[derive(Debug)]
struct DigestResponse {
    username: String,
    realm: String,
    nonce: String,
    cnonce: String,
    digest_uri: String,
    /// MD5 of A1, as RFC 2831 defines it for `md5-sess`: the session key.
    ha1: [u8; 16],
    qop: Qop,
}

impl DigestResponse {
    fn new(
        challenge: &str,
        token: &Token,
        digest_uri: &str,
        cnonce: &str,
        protection: &Protection,
    ) -> std::result::Result<Self, String> {
        let fields = parse_challenge(challenge);
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let nonce = field("nonce").ok_or("the DIGEST-MD5 challenge has no nonce")?;
        let qops = field("qop").unwrap_or_else(|| "auth".into());
        let qop = protection.choose(&qops).ok_or_else(|| {
            format!(
                "the server offers SASL protection {qops:?} and this client accepts {} \
                 (hadoop.rpc.protection): set hadoop.rpc.protection as the cluster has it \
                 (auth-int is integrity, auth-conf privacy)",
                protection.describe()
            )
        })?;
        let ciphers = field("cipher").unwrap_or_default();
        if qop == Qop::Privacy && !ciphers.split(',').any(|c| c.trim() == "rc4") {
            return Err(format!(
                "the server encrypts with {ciphers:?}; ember encrypts with rc4 only"
            ));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let username = b64.encode(&token.identifier);
        let password = b64.encode(&token.password);
        let realm = field("realm").unwrap_or_default();
        let secret = Md5::digest(format!("{username}:{realm}:{password}"));
        let mut a1 = secret.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        Ok(DigestResponse {
            username,
            realm,
            nonce,
            cnonce: cnonce.to_string(),
            digest_uri: digest_uri.to_string(),
            ha1: Md5::digest(&a1).into(),
            qop,
        })
    }

    /// RFC 2831's response value for A2 = `prefix:digest-uri` (and, with integrity or
    /// privacy, 32 zeros for the body's hash).
    fn digest(&self, prefix: &str) -> String {
        let body = if self.qop == Qop::Authentication {
            ""
        } else {
            ":00000000000000000000000000000000"
        };
        let ha2 = hex(&Md5::digest(format!("{prefix}:{}{body}", self.digest_uri)));
        hex(&Md5::digest(format!(
            "{}:{}:{NONCE_COUNT}:{}:{}:{ha2}",
            hex(&self.ha1),
            self.nonce,
            self.cnonce,
            self.qop.sasl_name()
        )))
    }

    /// The response the client sends.
    fn response(&self) -> String {
        let cipher = if self.qop == Qop::Privacy {
            ",cipher=\"rc4\""
        } else {
            ""
        };
        format!(
            "charset=utf-8,username=\"{}\",realm=\"{}\",nonce=\"{}\",nc={NONCE_COUNT},\
             cnonce=\"{}\",digest-uri=\"{}\",maxbuf=65536,response={},qop={}{cipher}",
            self.username,
            self.realm,
            self.nonce,
            self.cnonce,
            self.digest_uri,
            self.digest("AUTHENTICATE"),
            self.qop.sasl_name()
        )
    }

    /// The layer the connection goes on through: none for authentication only.
    fn security_layer(&self) -> Option<SecurityLayer> {
        (self.qop != Qop::Authentication).then(|| SecurityLayer::client(&self.ha1, self.qop))
    }

    /// Checks the server's `rspauth`: it proves the server knew the password too.
    fn check_rspauth(&self, answer: &[u8], client: &RpcClient) -> Result<()> {
        let answer = String::from_utf8_lossy(answer);
        let fields = parse_challenge(&answer);
        let rspauth = fields.iter().find(|(k, _)| k == "rspauth").map(|(_, v)| v);
        match rspauth {
            Some(value) if *value == self.digest("") => Ok(()),
            _ => Err(client_error(
                client,
                "the server's rspauth does not match: it does not know the token's secret".into(),
            )),
        }
    }
}

/// `key=value` pairs of a DIGEST-MD5 challenge; values may be quoted (and then hold commas).
fn parse_challenge(text: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = text.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_string();
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let value = quoted[..end].to_string();
            rest = quoted.get(end + 1..).unwrap_or("");
            value
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let value = rest[..end].trim().to_string();
            rest = &rest[end..];
            value
        };
        fields.push((key, value));
        rest = rest.trim_start_matches([',', ' ']);
    }
    fields
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        let fields = parse_challenge(
            r#"realm="default",nonce="a,b=c",qop="auth-int,auth",charset=utf-8,algorithm=md5-sess"#,
        );
        assert_eq!(
            fields,
            [
                ("realm".into(), "default".into()),
                ("nonce".into(), "a,b=c".into()),
                ("qop".into(), "auth-int,auth".into()),
                ("charset".into(), "utf-8".into()),
                ("algorithm".into(), "md5-sess".into()),
            ]
        );
    }

    /// RFC 2831's own example (section 4): user chris, password secret, realm
    /// elwood.innosoft.com, for imap/elwood.innosoft.com.
    #[test]
    fn the_digest_is_rfc_2831s() {
        let challenge = r#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
        let fields = parse_challenge(challenge);
        let field = |key: &str| fields.iter().find(|(k, _)| k == key).unwrap().1.clone();
        let secret = Md5::digest("chris:elwood.innosoft.com:secret");
        let mut a1 = secret.to_vec();
        a1.extend_from_slice(format!(":{}:OA6MHXh6VqTrRk", field("nonce")).as_bytes());
        let digest = DigestResponse {
            username: "chris".into(),
            realm: field("realm"),
            nonce: field("nonce"),
            cnonce: "OA6MHXh6VqTrRk".into(),
            digest_uri: "imap/elwood.innosoft.com".into(),
            ha1: Md5::digest(&a1).into(),
            qop: Qop::Authentication,
        };
        assert_eq!(
            digest.digest("AUTHENTICATE"),
            "d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(digest.digest(""), "ea40f60335c427b5527b84dbabcdfffd");
    }

    /// What the JDK's DIGEST-MD5 client answers a Hadoop server, for a token with identifier
    /// `Cg0KCQgHEAE=` and password `AQIDBAU=` (base64).
    #[test]
    fn the_response_is_what_hadoops_server_expects() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let token = Token {
            identifier: b64.decode("Cg0KCQgHEAE=").unwrap(),
            password: b64.decode("AQIDBAU=").unwrap(),
            ..Token::default()
        };
        let challenge = r#"realm="default",nonce="Y1uPWuUF6NTxj9KAHHWl7N02DgQUewbXefA9NS2J",qop="auth",charset=utf-8,algorithm=md5-sess"#;
        let digest = DigestResponse::new(
            challenge,
            &token,
            "/default",
            "+sOTXBkJ6PtmXE29/EjbDGOUGWCdj9qhvKyMrnpM",
            &Protection::default(),
        )
        .unwrap();
        let response = digest.response();
        assert!(
            response.contains("response=9ccb07755049823737ac9ba15cedd249"),
            "{response}"
        );
        assert!(
            response.contains(r#"username="Cg0KCQgHEAE=""#),
            "{response}"
        );
        assert_eq!(digest.digest(""), "ac2828005bf4caf6e6ccbdd5b5c53eb1");
    }

    #[test]
    fn a_server_that_demands_more_protection_than_the_client_accepts_is_refused_clearly() {
        let err = DigestResponse::new(
            r#"realm="default",nonce="n",qop="auth-conf",cipher="rc4""#,
            &Token::default(),
            "/default",
            "c",
            &Protection::default(),
        )
        .unwrap_err();
        assert!(err.contains("hadoop.rpc.protection"), "{err}");
        assert!(err.contains("auth-conf privacy"), "{err}");
    }

    #[test]
    fn privacy_answers_with_its_qop_and_cipher() {
        let digest = DigestResponse::new(
            r#"realm="default",nonce="n",qop="auth-conf",cipher="rc4-40,rc4-56,rc4,des,3des""#,
            &Token::default(),
            "/default",
            "c",
            &Protection::parse("privacy").unwrap(),
        )
        .unwrap();
        let response = digest.response();
        assert!(
            response.ends_with(r#"qop=auth-conf,cipher="rc4""#),
            "{response}"
        );
        assert!(digest.security_layer().is_some());
    }
}
