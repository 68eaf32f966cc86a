//! `GET /healthcheck` (no auth, for load balancers) and `GET /metrics` (Prometheus text).

use std::sync::atomic::Ordering;

use warp::reply::Response;
use warp::Reply;

use super::request::{finish, json_reply, Req};

pub async fn healthcheck(req: Req) -> Response {
    finish(
        &req.app,
        "healthcheck",
        Ok(json_reply(200, &serde_json::json!({"status": "ok"}))),
    )
}

pub async fn metrics(req: Req) -> Response {
    let app = &req.app;
    let text = app.metrics.render(&[
        (
            "outpost_db_size_bytes",
            "Size of the database on disk.",
            app.store.size_on_disk() as f64,
        ),
        (
            "outpost_uptime_seconds",
            "Seconds since the server started.",
            app.started.elapsed().as_secs_f64(),
        ),
        (
            "outpost_accounts",
            "Accounts on this server.",
            app.auth.count() as f64,
        ),
        (
            "outpost_games",
            "Games registered on this server.",
            app.store.games().len() as f64,
        ),
        (
            "outpost_http_connections",
            "Open HTTP connections.",
            app.http_connections.load(Ordering::Relaxed) as f64,
        ),
    ]);
    let mut r = text.into_response();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    finish(app, "metrics", Ok(r))
}
