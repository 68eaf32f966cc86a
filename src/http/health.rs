//! `GET /healthcheck` (no auth, for load balancers) and `GET /metrics` (Prometheus text).

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
    let text = crate::features::metrics::prometheus(app);
    let mut r = text.into_response();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    finish(app, "metrics", Ok(r))
}
