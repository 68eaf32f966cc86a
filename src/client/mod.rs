//! The Rust client for Outpost: the HTTPS API here, the realtime QUIC protocol in [`quic`].
//! Used by the tests, the bench and studios' tools.

pub mod console;
mod leaderboard;
mod local;
pub mod quic;
mod tournaments;

pub use local::LocalServer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Value};
use uuid::Uuid;

/// An error reply from the server (or a transport failure, with status 0).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    /// The gRPC code of the error body.
    pub code: Option<u64>,
    pub message: String,
    /// Seconds, from `Retry-After` on 429.
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A transport failure, with every cause in the message.
    fn sending(e: reqwest::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self::transport(message)
    }

    pub(crate) fn transport(e: impl std::fmt::Display) -> Self {
        ApiError {
            status: 0,
            code: None,
            message: e.to_string(),
            retry_after: None,
            body: Value::Null,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A player's session pair.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub created: bool,
    pub user_id: Uuid,
    pub username: String,
}

impl Session {
    fn from_reply(v: &Value) -> Result<Session, ApiError> {
        let token = v["token"].as_str().unwrap_or_default().to_string();
        let refresh_token = v["refresh_token"].as_str().unwrap_or_default().to_string();
        let payload = token.split('.').nth(1).unwrap_or("");
        let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ApiError::transport(std::io::Error::other("session token could not be decoded"))
            })?;
        Ok(Session {
            user_id: claims["uid"]
                .as_str()
                .and_then(|u| Uuid::parse_str(u).ok())
                .unwrap_or_default(),
            username: claims["usn"].as_str().unwrap_or_default().to_string(),
            created: v["created"].as_bool().unwrap_or(false),
            token,
            refresh_token,
        })
    }
}

/// How a request proves itself.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    None,
    /// HTTP Basic with the server key (authentication endpoints).
    ServerKey,
    /// `?http_key=` (server callers).
    HttpKey(&'a str),
    Bearer(&'a str),
}

/// A raw reply: status, headers and JSON (or text as a JSON string).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    server_key: String,
}

#[derive(Debug)]
struct AcceptAnyCert;

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Which certificates a client trusts.
pub enum Trust<'a> {
    /// Only this PEM certificate (a self-signed server's own).
    Pem(&'a [u8]),
    /// Anything: development only.
    AnyCertificate,
}

/// A rustls client config for Outpost's certificate (also used by the QUIC client).
pub fn tls_client_config(
    trust: Trust<'_>,
    alpn: &[&[u8]],
) -> Result<rustls::ClientConfig, ApiError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = rustls::ClientConfig::builder();
    let mut cfg = match trust {
        Trust::Pem(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(ApiError::transport)?;
                roots.add(cert).map_err(ApiError::transport)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::AnyCertificate => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert))
            .with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(cfg)
}

impl Client {
    /// A client for `base` (`https://host:port`) trusting `trust`, presenting `server_key`
    /// at authentication. `one_connection` keeps a single keep-alive connection (bench).
    pub fn new(
        base: &str,
        server_key: &str,
        trust: Trust<'_>,
        one_connection: bool,
    ) -> Result<Client, ApiError> {
        let tls = tls_client_config(trust, &[b"http/1.1"])?;
        let mut b = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_secs(30))
            .http1_only();
        if one_connection {
            b = b.pool_max_idle_per_host(1);
        }
        Ok(Client {
            http: b.build().map_err(ApiError::transport)?,
            base: base.trim_end_matches('/').to_string(),
            server_key: server_key.to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any request: `path` may carry a query. Non-2xx replies are returned, not errors.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        creds: Credentials<'_>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ApiError> {
        let mut url = format!("{}{}", self.base, path);
        let mut rb = self.http.request(method, &url);
        match creds {
            Credentials::None => {}
            Credentials::ServerKey => rb = rb.basic_auth(&self.server_key, Some("")),
            Credentials::HttpKey(k) => {
                url.push(if path.contains('?') { '&' } else { '?' });
                url.push_str("http_key=");
                url.push_str(&form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>());
                rb = self.http.request(
                    rb.build().map_err(ApiError::transport)?.method().clone(),
                    &url,
                );
            }
            Credentials::Bearer(t) => rb = rb.bearer_auth(t),
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let resp = rb.send().await.map_err(ApiError::sending)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(ApiError::transport)?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        creds: Credentials<'_>,
        body: Value,
    ) -> Result<Value, ApiError> {
        let reply = self
            .request(method, path, creds, Some(body.to_string().into_bytes()))
            .await?;
        into_result(reply)
    }

    async fn authenticate(
        &self,
        kind: &str,
        body: Value,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session, ApiError> {
        let mut path = format!("/v2/account/authenticate/{kind}?create={create}");
        if let Some(u) = username {
            path.push_str("&username=");
            path.push_str(&form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>());
        }
        let v = self
            .json(Method::POST, &path, Credentials::ServerKey, body)
            .await?;
        Session::from_reply(&v)
    }

    pub async fn authenticate_device(
        &self,
        id: &str,
        create: bool,
        username: Option<&str>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Session, ApiError> {
        self.authenticate("device", json!({"id": id, "vars": vars}), create, username)
            .await
    }

    pub async fn authenticate_custom(
        &self,
        id: &str,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session, ApiError> {
        self.authenticate("custom", json!({"id": id}), create, username)
            .await
    }

    pub async fn authenticate_email(
        &self,
        email: &str,
        password: &str,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session, ApiError> {
        self.authenticate(
            "email",
            json!({"email": email, "password": password}),
            create,
            username,
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, ApiError> {
        let v = self
            .json(
                Method::POST,
                "/v2/account/session/refresh",
                Credentials::ServerKey,
                json!({"token": refresh_token}),
            )
            .await?;
        Session::from_reply(&v)
    }

    pub async fn logout(&self, s: &Session) -> Result<(), ApiError> {
        self.json(
            Method::POST,
            "/v2/session/logout",
            Credentials::Bearer(&s.token),
            json!({"token": s.token, "refresh_token": s.refresh_token}),
        )
        .await
        .map(|_| ())
    }

    pub async fn account(&self, s: &Session) -> Result<Value, ApiError> {
        into_result(
            self.request(
                Method::GET,
                "/v2/account",
                Credentials::Bearer(&s.token),
                None,
            )
            .await?,
        )
    }

    pub async fn update_account(&self, s: &Session, changes: Value) -> Result<(), ApiError> {
        self.json(
            Method::PUT,
            "/v2/account",
            Credentials::Bearer(&s.token),
            changes,
        )
        .await
        .map(|_| ())
    }

    /// An RPC as a player, with a JSON object body; returns the reply object.
    pub async fn rpc(&self, s: &Session, id: &str, payload: Value) -> Result<Value, ApiError> {
        self.json(
            Method::POST,
            &format!("/v2/rpc/{id}"),
            Credentials::Bearer(&s.token),
            payload,
        )
        .await
    }

    /// Nakama's `POST /v2/event`: one analytics event for the session's player.
    pub async fn event(&self, s: &Session, event: Value) -> Result<Value, ApiError> {
        self.json(
            Method::POST,
            "/v2/event",
            Credentials::Bearer(&s.token),
            event,
        )
        .await
    }

    /// An RPC as a studio server (`?http_key=`).
    pub async fn rpc_as_server(
        &self,
        http_key: &str,
        id: &str,
        payload: Value,
    ) -> Result<Value, ApiError> {
        self.json(
            Method::POST,
            &format!("/v2/rpc/{id}"),
            Credentials::HttpKey(http_key),
            payload,
        )
        .await
    }

    pub async fn healthcheck(&self) -> Result<Value, ApiError> {
        into_result(
            self.request(Method::GET, "/healthcheck", Credentials::None, None)
                .await?,
        )
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> Result<String, ApiError> {
        let r = self
            .request(Method::GET, "/metrics", Credentials::None, None)
            .await?;
        Ok(r.body.as_str().unwrap_or_default().to_string())
    }
}

fn into_result(r: Reply) -> Result<Value, ApiError> {
    if StatusCode::from_u16(r.status)
        .map(|s| s.is_success())
        .unwrap_or(false)
    {
        return Ok(r.body);
    }
    let retry_after = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Err(ApiError {
        status: r.status,
        code: r.body.get("code").and_then(Value::as_u64),
        message: r
            .body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| r.body.to_string()),
        retry_after,
        body: r.body,
    })
}

/// A player: a client with a session.
#[derive(Clone)]
pub struct Player {
    pub client: Client,
    pub session: Session,
}

impl Player {
    pub fn user_id(&self) -> Uuid {
        self.session.user_id
    }

    pub async fn rpc(&self, id: &str, payload: Value) -> Result<Value, ApiError> {
        self.client.rpc(&self.session, id, payload).await
    }
}
