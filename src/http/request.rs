//! What every route extracts: the app, the peer's IP, headers, query pairs, the caller its
//! [`Gate`] admitted from the head, and then the body (capped at `server.max_body_bytes`,
//! read within `http.body_read_timeout_secs`), plus the reply rendering routes share.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::rpc::{Caller, Entry, Limit, RpcError, SessionUser};

/// The connection's peer, put into request extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// A refusal made before a route's handler ran (by its [`Gate`], or reading the body),
/// kept rendered in the SPEC's body shape.
#[derive(Debug)]
pub struct ApiRejection {
    status: u16,
    body: serde_json::Value,
    retry_after: Option<u64>,
    /// The request's body was left unread: the connection cannot carry another request.
    close: bool,
}
impl warp::reject::Reject for ApiRejection {}

impl ApiRejection {
    fn new(e: &RpcError, close: bool) -> Self {
        ApiRejection {
            close,
            status: e.http_status(),
            body: e.body(),
            retry_after: match e {
                RpcError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            },
        }
    }

    fn response(&self) -> Response {
        let mut r = json_reply(self.status, &self.body);
        if let Some(secs) = self.retry_after {
            if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        if self.close {
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        r
    }
}

/// What a route checks from the request's head (address, headers, query) before it reads
/// a byte of the body: a flood of unauthenticated or over-quota requests costs no body
/// reads, no JSON parsing and no memory for bodies.
#[derive(Debug, Clone, Copy)]
pub enum Gate {
    /// Authentication endpoints: the per-address AUTH limit and the server key.
    ServerKey,
    /// A player session (Bearer), rate-limited per user in this class.
    Session(Limit),
    /// `/v2/rpc/{id}`: the caller (session or http key) admitted as the registry admits
    /// that RPC: its caller class and its rate-limit class.
    Rpc,
    /// A Nakama REST route (storage, leaderboards, tournaments), admitted as the RPC it
    /// stands for.
    AsRpc(&'static str),
    /// No user (`/healthcheck`, `/metrics`): limited per client address.
    Public,
}

pub struct Req {
    pub app: App,
    pub peer: IpAddr,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// The caller the gate admitted (none for [`Gate::ServerKey`] and [`Gate::Public`]).
    pub caller: Option<Caller>,
    /// The RPC the gate admitted the caller for ([`Gate::Rpc`], [`Gate::AsRpc`]).
    pub rpc: Option<Entry>,
    /// The game of the session the caller came with, resolved before an admin account's
    /// session was raised to an admin caller (which carries no session vars).
    pub session_game: Option<String>,
}

impl Req {
    pub fn query(&self, name: &str) -> Option<&str> {
        query_value(&self.query, name)
    }

    pub fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The head of a request, as the gate sees it.
struct Head<'a> {
    app: &'a App,
    peer: IpAddr,
    headers: &'a HeaderMap,
    query: &'a [(String, String)],
    path: &'a str,
}

/// Extracts a [`Req`] for `route`: runs `gate` on the head, then reads the body (capped
/// at `server.max_body_bytes`, within `http.body_read_timeout_secs`).
pub fn req(
    app: App,
    gate: Gate,
    route: &'static str,
) -> impl Filter<Extract = (Req,), Error = Rejection> + Clone {
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
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::body::stream())
        .and_then(
            move |app: App,
                  trusted: std::sync::Arc<Vec<super::proxy::Cidr>>,
                  peer: Option<PeerAddr>,
                  path: warp::path::FullPath,
                  headers: HeaderMap,
                  raw_query: String,
                  body| async move {
                let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
                    .into_owned()
                    .collect();
                let peer = peer
                    .map(|p| p.0.ip())
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
                let peer = super::proxy::client_ip(peer, &headers, &trusted);
                let has_body = headers
                    .get(http::header::CONTENT_LENGTH)
                    .is_some_and(|v| v.as_bytes() != b"0")
                    || headers.contains_key(http::header::TRANSFER_ENCODING);
                let refuse = |e: RpcError| {
                    app.metrics.http(route, e.http_status());
                    warp::reject::custom(ApiRejection::new(&e, has_body))
                };
                let head = Head {
                    app: &app,
                    peer,
                    headers: &headers,
                    query: &query,
                    path: path.as_str(),
                };
                let (caller, rpc, session_game) = admit(&head, gate).map_err(&refuse)?;
                let body = read_body(&app, &headers, body).await.map_err(&refuse)?;
                Ok::<_, Rejection>(Req {
                    app: app.clone(),
                    peer,
                    headers,
                    query,
                    body,
                    caller,
                    rpc,
                    session_game,
                })
            },
        )
}

/// A refusal by the rate-limit class `class`, counted in `/metrics`.
fn limited<'a>(app: &'a App, class: &'static str) -> impl Fn(u64) -> RpcError + 'a {
    move |retry_after_secs| {
        app.metrics.rate_limited(class);
        RpcError::RateLimited { retry_after_secs }
    }
}

/// What a gate lets through: the caller, the RPC, and the caller's session game.
type Admitted = (Option<Caller>, Option<Entry>, Option<String>);

/// Runs a gate: the admitted caller and RPC, or why not.
fn admit(head: &Head, gate: Gate) -> Result<Admitted, RpcError> {
    let app = head.app;
    match gate {
        Gate::Public => {
            app.limiters
                .check_ip(head.peer)
                .map_err(limited(app, "ip"))?;
            Ok((None, None, None))
        }
        Gate::ServerKey => {
            app.limiters
                .check_auth(head.peer)
                .map_err(limited(app, "auth"))?;
            server_key(head)?;
            Ok((None, None, None))
        }
        Gate::Session(limit) => {
            let caller = caller_of(head)?;
            let Caller::Player(s) = &caller else {
                return Err(RpcError::Unauthenticated(
                    "a player session (Bearer token) is required".into(),
                ));
            };
            app.limiters
                .check_user(limit, s.user_id)
                .map_err(limited(app, limit.as_str()))?;
            Ok((Some(caller), None, None))
        }
        Gate::Rpc => {
            let id = head.path.rsplit('/').next().unwrap_or("");
            let id = percent_decode(id);
            let caller = caller_of(head)?;
            admit_rpc(app, caller, &id)
        }
        Gate::AsRpc(id) => {
            let caller = caller_of(head)?;
            if !matches!(caller, Caller::Player(_)) {
                return Err(RpcError::Unauthenticated(
                    "a player session (Bearer token) is required".into(),
                ));
            }
            admit_rpc(app, caller, id)
        }
    }
}

fn admit_rpc(app: &App, caller: Caller, id: &str) -> Result<Admitted, RpcError> {
    let entry = app
        .registry
        .get(id)
        .ok_or_else(|| RpcError::NotFound(format!("RPC function `{id}` not found")))?
        .clone();
    let game = crate::rpc::session_game(app, &caller);
    match app.registry.admit(app, caller, &entry) {
        Ok(caller) => Ok((Some(caller), Some(entry), game)),
        Err(e) => {
            app.metrics
                .observe_rpc(entry.id, e.status_label(), std::time::Duration::ZERO);
            Err(e)
        }
    }
}

fn percent_decode(text: &str) -> String {
    let plus_safe = text.replace('+', "%2B");
    form_urlencoded::parse(format!("x={plus_safe}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Reads the body once the gate has let the request in: refused at once when its
/// declared length is over the cap, and with 408 when it does not arrive in time.
async fn read_body<S, B>(app: &App, headers: &HeaderMap, body: S) -> Result<Bytes, RpcError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    read_body_max(app, headers, body, app.config.server.max_body_bytes).await
}

/// Reads a body of at most `max` bytes (declared or chunked) within
/// `http.body_read_timeout_secs`: 413 over the cap, 408 when it does not arrive in time.
pub async fn read_body_max<S, B>(
    app: &App,
    headers: &HeaderMap,
    body: S,
    max: usize,
) -> Result<Bytes, RpcError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let within = app.config.http.body_read_timeout();
    if let Some(n) = declared.filter(|n| *n > max as u64) {
        // A modest overrun is read and thrown away (never buffered) so the client, still
        // writing, reads the 413 instead of a broken pipe; a huge one is refused unread and
        // the connection closed.
        if n <= 4 * max as u64 {
            let _ = tokio::time::timeout(within, discard(body)).await;
        }
        return Err(RpcError::PayloadTooLarge(format!(
            "request body is larger than {max} bytes"
        )));
    }
    match tokio::time::timeout(within, read_capped(body, max)).await {
        Ok(read) => read,
        Err(_) => Err(RpcError::Timeout(format!(
            "request body not received within {} s",
            within.as_secs()
        ))),
    }
}

/// Reads a body to its end, keeping nothing.
async fn discard<S, B>(body: S)
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    while let Some(Ok(_)) = body.next().await {}
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

/// A key sent by a client: refused at once while its address has sent too many wrong
/// ones; a wrong one counts against the address.
fn check_key(head: &Head, given: &str, expected: &str, what: &str) -> Result<(), RpcError> {
    let limiters = &head.app.limiters;
    limiters
        .check_keys(head.peer)
        .map_err(limited(head.app, "bad_key"))?;
    if same_key(given, expected) {
        Ok(())
    } else {
        limiters.wrong_key(head.peer);
        Err(RpcError::Unauthenticated(format!("{what} invalid.")))
    }
}

/// Authentication endpoints need the server key as HTTP Basic user.
fn server_key(head: &Head) -> Result<(), RpcError> {
    match basic_user(head.headers) {
        Some(user) => check_key(
            head,
            &user,
            &head.app.auth.secrets().server_key,
            "Server key",
        ),
        None => Err(RpcError::Unauthenticated("Server key required.".into())),
    }
}

/// The caller of an API request: a session (Bearer), or a server (http key in the query or
/// as HTTP Basic user).
fn caller_of(head: &Head) -> Result<Caller, RpcError> {
    let http_key = &head.app.auth.secrets().http_key;
    if let Some(k) = query_value(head.query, "http_key") {
        check_key(head, k, http_key, "HTTP key")?;
        return Ok(Caller::Server);
    }
    if let Some(token) = bearer(head.headers) {
        let claims = head.app.auth.verify_session(token)?;
        let user_id = uuid::Uuid::parse_str(&claims.uid)
            .map_err(|_| RpcError::Unauthenticated("Auth token invalid.".into()))?;
        return Ok(Caller::Player(SessionUser {
            user_id,
            username: claims.usn,
            vars: claims.vrs,
            token_id: claims.tid,
        }));
    }
    if let Some(user) = basic_user(head.headers) {
        check_key(head, &user, http_key, "HTTP key")?;
        return Ok(Caller::Server);
    }
    Err(RpcError::Unauthenticated(
        "Auth token or HTTP key required.".into(),
    ))
}

/// The caller the route's gate admitted.
pub fn caller(req: &Req) -> Result<Caller, RpcError> {
    req.caller
        .clone()
        .ok_or_else(|| RpcError::Unauthenticated("Auth token or HTTP key required.".into()))
}

/// The player session the route's gate admitted.
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

/// Turns rejections (unknown route, wrong method, oversized body) into SPEC error bodies.
pub async fn recover(rejection: Rejection) -> Result<Response, std::convert::Infallible> {
    let err = if let Some(refused) = rejection.find::<ApiRejection>() {
        return Ok(refused.response());
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
