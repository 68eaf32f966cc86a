//! Session and refresh tokens: JWT HS256 with Nakama's claims (`tid, uid, usn, vrs, exp, iat`).
//!
//! The Nakama JavaScript SDK (2.8.0) decodes the payload segment with a plain base64
//! decoder that breaks on `-` and `_`. In base64url those two stand for the 6-bit values 62
//! and 63, which in pure ASCII text only appear when the third byte of a 3-byte group is
//! `>`, `?`, `~` or DEL. So the payload JSON is written in ASCII with those characters (and
//! everything non-ASCII) as `\uXXXX` escapes — the segment then never holds `-` or `_`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Token id: what logout revokes.
    pub tid: String,
    /// User id.
    pub uid: String,
    /// Username at issue time.
    pub usn: String,
    /// Session variables given at authentication (`game_id` selects the game).
    #[serde(default)]
    pub vrs: BTreeMap<String, String>,
    pub exp: i64,
    pub iat: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}

/// JSON text in which every byte is ASCII and none of `>`, `?`, `~`, DEL appears.
fn ascii_safe_json(claims: &Claims) -> String {
    let raw = serde_json::to_string(claims).unwrap_or_default();
    let mut out = String::with_capacity(raw.len() + 16);
    for ch in raw.chars() {
        match ch {
            '>' | '?' | '~' | '\u{7f}' => out.push_str(&format!("\\u{:04x}", ch as u32)),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let payload = URL_SAFE_NO_PAD.encode(ascii_safe_json(claims));
    let signing_input = format!("{HEADER}.{payload}");
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let sig = hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Checks signature and expiry and returns the claims.
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signed_len = h.len() + 1 + p.len();
    hmac::verify(&key, &token.as_bytes()[..signed_len], &sig)
        .map_err(|_| TokenError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(usn: &str, vars: &[(&str, &str)]) -> Claims {
        Claims {
            tid: "2f9f6f3e-2a52-4c1b-8d9e-000000000000".into(),
            uid: "8c3c4c35-0d1b-4a57-9f0e-111111111111".into(),
            usn: usn.into(),
            vrs: vars
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            exp: 2_000_000_000,
            iat: 1_700_000_000,
        }
    }

    #[test]
    fn payload_segment_never_holds_dash_or_underscore() {
        let nasty = [
            "~~~???>>>",
            "ünïcødé 🎮",
            "a?b>c~d\u{7f}",
            "plain",
            "?>~?>~?>~?>~",
        ];
        for (i, name) in nasty.iter().enumerate() {
            for pad in 0..6 {
                let usn = format!("{}{}", "x".repeat(pad + i), name);
                let c = claims(&usn, &[("game_id", "~?>"), ("k", name)]);
                let token = sign(&c, b"secret");
                let payload = token.split('.').nth(1).unwrap();
                assert!(
                    !payload.contains('-') && !payload.contains('_'),
                    "{usn}: {payload}"
                );
                assert_eq!(verify(&token, b"secret", 1_800_000_000).unwrap(), c);
            }
        }
    }

    #[test]
    fn tampering_and_expiry_are_caught() {
        let token = sign(&claims("ada", &[]), b"secret");
        assert_eq!(verify(&token, b"other", 0), Err(TokenError::BadSignature));
        assert_eq!(
            verify(&token, b"secret", 2_000_000_000),
            Err(TokenError::Expired)
        );
        let mut forged = claims("ada", &[]);
        forged.uid = "someone-else".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify(&tampered, b"secret", 0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify("not.a.token.really", b"secret", 0),
            Err(TokenError::Malformed)
        );
        assert_eq!(verify("garbage", b"secret", 0), Err(TokenError::Malformed));
    }
}
