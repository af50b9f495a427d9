//! Authentication: cleartext password and SCRAM-SHA-256 (RFC 5802/7677, as PostgreSQL does it:
//! <https://www.postgresql.org/docs/15/sasl-authentication.html>). The verifier is derived once
//! at start-up from the configured password with a random salt; channel binding (SCRAM-PLUS)
//! needs TLS and is not offered. The password is not SASLprep-normalized (ASCII passwords are
//! unaffected).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's default `scram_iterations`.
pub const SCRAM_ITERATIONS: u32 = 4096;

type HmacSha256 = Hmac<Sha256>;

/// What the server keeps to check a password: the password itself (for the cleartext method)
/// and the SCRAM stored and server keys.
#[derive(Clone)]
pub struct Secret {
    password: String,
    salt: [u8; 16],
    stored_key: [u8; 32],
    server_key: [u8; 32],
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut m = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(data);
    m.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA256 with one output block (SCRAM's Hi()).
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

impl Secret {
    pub fn new(password: &str) -> Secret {
        let salt: [u8; 16] = rand::random();
        Secret::with_salt(password, salt)
    }

    fn with_salt(password: &str, salt: [u8; 16]) -> Secret {
        let salted = hi(password.as_bytes(), &salt, SCRAM_ITERATIONS);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let server_key = hmac(&salted, b"Server Key");
        Secret { password: password.to_string(), salt, stored_key, server_key }
    }

    /// Constant-time comparison of a cleartext password.
    pub fn check_password(&self, given: &str) -> bool {
        let (a, b) = (self.password.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Why a SCRAM exchange failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ScramError {
    /// The message does not follow RFC 5802 (PostgreSQL: 08P01 "malformed SCRAM message").
    Malformed(&'static str),
    /// The proof is wrong: the password is wrong (28P01).
    BadProof,
}

/// The server side of one SCRAM-SHA-256 exchange.
pub struct ScramServer<'a> {
    secret: &'a Secret,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl<'a> ScramServer<'a> {
    /// Takes the client-first-message, returns the server and the server-first-message.
    pub fn start(secret: &'a Secret, client_first: &[u8]) -> Result<(ScramServer<'a>, String), ScramError> {
        let msg = std::str::from_utf8(client_first).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (gs2_header, bare) = match msg.as_bytes().first() {
            Some(b'n') | Some(b'y') => {
                // gs2-header: cbind-flag "," [authzid] ","
                let mut parts = msg.splitn(3, ',');
                let flag = parts.next().unwrap_or("");
                let authzid = parts.next().ok_or(ScramError::Malformed("missing gs2 header"))?;
                let bare = parts.next().ok_or(ScramError::Malformed("missing client-first-message-bare"))?;
                if !authzid.is_empty() {
                    return Err(ScramError::Malformed("authorization identity is not supported"));
                }
                (format!("{flag},,"), bare)
            }
            Some(b'p') => return Err(ScramError::Malformed("channel binding is not supported")),
            _ => return Err(ScramError::Malformed("unexpected channel-binding flag")),
        };
        let mut client_nonce = None;
        for attr in bare.split(',') {
            if let Some(r) = attr.strip_prefix("r=") {
                client_nonce = Some(r);
            } else if attr.starts_with("m=") {
                return Err(ScramError::Malformed("extensions are not supported"));
            }
        }
        let client_nonce = client_nonce.filter(|n| !n.is_empty()).ok_or(ScramError::Malformed("missing nonce"))?;
        if !client_nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err(ScramError::Malformed("invalid nonce"));
        }
        let server_nonce: [u8; 18] = rand::random();
        let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
        let server_first = format!("r={nonce},s={},i={SCRAM_ITERATIONS}", B64.encode(secret.salt));
        let s = ScramServer {
            secret,
            gs2_header,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok((s, server_first))
    }

    /// Checks the client-final-message; returns the server-final-message ("v=...").
    pub fn finish(&self, client_final: &[u8]) -> Result<String, ScramError> {
        let msg = std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = msg.rsplit_once(",p=").ok_or(ScramError::Malformed("missing proof"))?;
        let mut binding = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(c) = attr.strip_prefix("c=") {
                binding = Some(c);
            } else if let Some(r) = attr.strip_prefix("r=") {
                nonce = Some(r);
            }
        }
        let expected_binding = B64.encode(self.gs2_header.as_bytes());
        if binding != Some(expected_binding.as_str()) {
            return Err(ScramError::Malformed("unexpected SCRAM channel-binding attribute in client-final-message"));
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(ScramError::Malformed("nonce does not match"));
        }
        let proof = B64.decode(proof).map_err(|_| ScramError::Malformed("invalid proof"))?;
        if proof.len() != 32 {
            return Err(ScramError::Malformed("invalid proof length"));
        }
        let auth_message = format!("{},{},{}", self.client_first_bare, self.server_first, without_proof);
        let client_signature = hmac(&self.secret.stored_key, auth_message.as_bytes());
        let mut client_key = [0u8; 32];
        for i in 0..32 {
            client_key[i] = proof[i] ^ client_signature[i];
        }
        let stored: [u8; 32] = Sha256::digest(client_key).into();
        if stored.iter().zip(&self.secret.stored_key).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
            return Err(ScramError::BadProof);
        }
        let server_signature = hmac(&self.secret.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client following RFC 5802, to check the server against.
    fn client_final(password: &str, client_first_bare: &str, server_first: &str) -> (String, String) {
        let attrs: Vec<&str> = server_first.split(',').collect();
        let nonce = &attrs[0][2..];
        let salt = B64.decode(&attrs[1][2..]).unwrap();
        let iterations: u32 = attrs[2][2..].parse().unwrap();
        let salted = hi(password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored: [u8; 32] = Sha256::digest(client_key).into();
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = hmac(&stored, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(sig).map(|(a, b)| a ^ b).collect();
        let server_sig = hmac(&hmac(&salted, b"Server Key"), auth.as_bytes());
        (format!("{without_proof},p={}", B64.encode(proof)), format!("v={}", B64.encode(server_sig)))
    }

    #[test]
    fn scram_exchange() {
        let secret = Secret::new("pencil");
        let (server, first) = ScramServer::start(&secret, b"n,,n=,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        assert!(first.starts_with("r=rOprNGfwEbeRWgbNEkqO"));
        let (fin, expect) = client_final("pencil", "n=,r=rOprNGfwEbeRWgbNEkqO", &first);
        assert_eq!(server.finish(fin.as_bytes()).unwrap(), expect);
        let (bad, _) = client_final("wrong", "n=,r=rOprNGfwEbeRWgbNEkqO", &first);
        assert_eq!(server.finish(bad.as_bytes()).unwrap_err(), ScramError::BadProof);
        assert!(ScramServer::start(&secret, b"p=tls-server-end-point,,n=,r=x").is_err());
    }

    #[test]
    fn pbkdf2_matches_rfc7914_vector() {
        // PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1), first 32 bytes, from RFC 7914 §11.
        let out = hi(b"passwd", b"salt", 1);
        assert_eq!(out[..4], [0x55, 0xac, 0x04, 0x6e]);
    }
}
