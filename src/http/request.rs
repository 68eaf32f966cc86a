//! What every route extracts: the app, the peer's IP, headers, query pairs and the body
//! (capped at `server.max_body_bytes`), plus the credential checks and reply rendering the
//! routes share.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::rpc::{Caller, RpcError, SessionUser};

/// The connection's peer, put into request extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// A rejection carrying an error to render in the SPEC's body shape.
#[derive(Debug)]
pub struct ApiRejection(pub RpcError);
impl warp::reject::Reject for ApiRejection {}

pub struct Req {
    pub app: App,
    pub peer: IpAddr,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl Req {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

/// Extracts a [`Req`]; a body over the cap is refused with 413.
pub fn req(app: App) -> impl Filter<Extract = (Req,), Error = Rejection> + Clone {
    // Validated at config load; parsed once here.
    let trusted: std::sync::Arc<Vec<super::proxy::Cidr>> = std::sync::Arc::new(
        app.config
            .server
            .trusted_proxies
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect(),
    );
    warp::any()
        .map(move || (app.clone(), trusted.clone()))
        .untuple_one()
        .and(warp::ext::optional::<PeerAddr>())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::body::stream())
        .and_then(
            |app: App,
             trusted: std::sync::Arc<Vec<super::proxy::Cidr>>,
             peer: Option<PeerAddr>,
             headers: HeaderMap,
             raw_query: String,
             body| async move {
                let max = app.config.server.max_body_bytes;
                let body = read_capped(body, max)
                    .await
                    .map_err(|e| warp::reject::custom(ApiRejection(e)))?;
                let query = form_urlencoded::parse(raw_query.as_bytes())
                    .into_owned()
                    .collect();
                let peer = peer
                    .map(|p| p.0.ip())
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
                let peer = super::proxy::client_ip(peer, &headers, &trusted);
                Ok::<_, Rejection>(Req {
                    app,
                    peer,
                    headers,
                    query,
                    body,
                })
            },
        )
}

async fn read_capped<S, B>(body: S, max: usize) -> Result<Bytes, RpcError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk
            .map_err(|e| RpcError::invalid(format!("could not read the request body: {e}")))?;
        if out.len() + chunk.remaining() > max {
            return Err(RpcError::PayloadTooLarge(format!(
                "request body is larger than {max} bytes"
            )));
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            out.extend_from_slice(c);
            let n = c.len();
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

/// Constant-time comparison of keys.
pub fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user part of `Authorization: Basic base64(user:pass)`.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or("").to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// Authentication endpoints need the server key as HTTP Basic user.
pub fn require_server_key(req: &Req) -> Result<(), RpcError> {
    match basic_user(&req.headers) {
        Some(user) if same_key(&user, &req.app.auth.secrets().server_key) => Ok(()),
        Some(_) => Err(RpcError::Unauthenticated("Server key invalid.".into())),
        None => Err(RpcError::Unauthenticated("Server key required.".into())),
    }
}

/// The caller of an API request: a session (Bearer), or a server (http key in the query or
/// as HTTP Basic user).
pub fn caller(req: &Req) -> Result<Caller, RpcError> {
    let http_key = &req.app.auth.secrets().http_key;
    if let Some(k) = req.query("http_key") {
        return if same_key(k, http_key) {
            Ok(Caller::Server)
        } else {
            Err(RpcError::Unauthenticated("HTTP key invalid.".into()))
        };
    }
    if let Some(token) = bearer(&req.headers) {
        let claims = req.app.auth.verify_session(token)?;
        let user_id = uuid::Uuid::parse_str(&claims.uid)
            .map_err(|_| RpcError::Unauthenticated("Auth token invalid.".into()))?;
        return Ok(Caller::Player(SessionUser {
            user_id,
            username: claims.usn,
            vars: claims.vrs,
            token_id: claims.tid,
        }));
    }
    if let Some(user) = basic_user(&req.headers) {
        return if same_key(&user, http_key) {
            Ok(Caller::Server)
        } else {
            Err(RpcError::Unauthenticated("HTTP key invalid.".into()))
        };
    }
    Err(RpcError::Unauthenticated(
        "Auth token or HTTP key required.".into(),
    ))
}

/// The player session of a request; server keys are refused where a session is needed.
pub fn session(req: &Req) -> Result<SessionUser, RpcError> {
    match caller(req)? {
        Caller::Player(s) => Ok(s),
        _ => Err(RpcError::Unauthenticated(
            "a player session (Bearer token) is required".into(),
        )),
    }
}

/// Parses a JSON body (empty is `{}`), naming what is wrong.
pub fn json_body(body: &Bytes) -> Result<serde_json::Value, RpcError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_json::from_slice(body)
        .map_err(|e| RpcError::invalid(format!("request body is not valid JSON: {e}")))
}

pub fn json_reply(status: u16, value: &serde_json::Value) -> Response {
    let mut r = warp::reply::json(value).into_response();
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r
}

pub fn error_reply(e: &RpcError) -> Response {
    let mut r = json_reply(e.http_status(), &e.body());
    if let RpcError::RateLimited { retry_after_secs } = e {
        if let Ok(v) = http::HeaderValue::from_str(&retry_after_secs.to_string()) {
            r.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
    }
    r
}

/// Renders a route's result and counts it under `route`.
pub fn finish(app: &App, route: &'static str, result: Result<Response, RpcError>) -> Response {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            if matches!(e, RpcError::Internal(_)) {
                tracing::error!(route, error = %e, "request failed");
            }
            error_reply(&e)
        }
    };
    app.metrics.http(route, response.status().as_u16());
    response
}

/// Applies the per-IP AUTH rate limit.
pub fn limit_auth(req: &Req) -> Result<(), RpcError> {
    req.app
        .limiters
        .check_auth(req.peer)
        .map_err(|retry_after_secs| {
            req.app.metrics.rate_limited("auth");
            RpcError::RateLimited { retry_after_secs }
        })
}

/// Turns rejections (unknown route, wrong method, oversized body) into SPEC error bodies.
pub async fn recover(rejection: Rejection) -> Result<Response, std::convert::Infallible> {
    let err = if let Some(ApiRejection(e)) = rejection.find::<ApiRejection>() {
        match e {
            RpcError::PayloadTooLarge(m) => RpcError::PayloadTooLarge(m.clone()),
            other => RpcError::invalid(other.to_string()),
        }
    } else if rejection.is_not_found() {
        RpcError::NotFound("no such endpoint".into())
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        let mut r = json_reply(405, &RpcError::invalid("method not allowed").body());
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(r);
    } else {
        RpcError::invalid(format!("bad request: {rejection:?}"))
    };
    Ok(error_reply(&err))
}
