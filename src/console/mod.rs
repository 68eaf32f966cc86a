//! The admin console: web pages inside the binary for the people who run the game. A
//! transport like `http/`: every action goes through the registry's admin RPCs as the
//! signed-in admin (same checks, same audit log), never into sled. Served on its own
//! listen address (`console.listen`, private by default) with the API's certificate.
//! Pages are rendered on the server (maud) and work without JavaScript; only the
//! overview's charts use the vendored uPlot, embedded like every other asset.

mod assets;
mod diff;
mod layout;
mod pages;
mod request;
mod series;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use warp::Filter;

use crate::app::App;
pub use request::Page;
use request::{redirect, ConsoleRequest};

/// What a console form may send: 64 KiB, but the remote config editor carries a whole
/// config (up to 256 KiB of JSON, which URL-encoding can nearly triple).
fn body_cap(path: &str) -> usize {
    if path.starts_with("/config") {
        1024 * 1024
    } else {
        64 * 1024
    }
}

/// The page for a body over its cap, or one that did not arrive in time.
fn body_refused(e: &crate::rpc::RpcError) -> Page {
    let status =
        http::StatusCode::from_u16(e.http_status()).unwrap_or(http::StatusCode::BAD_REQUEST);
    Page::plain(status, &e.to_string())
}

/// A running console.
pub struct Console {
    pub addr: SocketAddr,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Binds `console.listen` and serves until `stop`; `None` when the console is off.
pub async fn start(
    app: App,
    tls: Arc<rustls::ServerConfig>,
    stop: watch::Receiver<bool>,
    grace: Duration,
) -> anyhow::Result<Option<Console>> {
    let cfg = &app.config.console;
    if !cfg.enabled {
        return Ok(None);
    }
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on console.listen {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let series = Arc::new(series::Series::default());
    let routes = routes(app.clone(), series.clone());
    let serving = tokio::spawn(crate::http::serve::run(
        app.clone(),
        routes,
        listener,
        Some(tls),
        stop.clone(),
        grace,
    ));
    let sampling = tokio::spawn(series::run(app, series, stop));
    Ok(Some(Console {
        addr,
        tasks: vec![serving, sampling],
    }))
}

fn routes(
    app: App,
    series: Arc<series::Series>,
) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::host::optional())
        .and(warp::ext::optional::<crate::http::request::PeerAddr>())
        .and(warp::body::stream())
        .then(
            move |method: http::Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: http::HeaderMap,
                  authority: Option<warp::host::Authority>,
                  peer: Option<crate::http::request::PeerAddr>,
                  body| {
                let app = app.clone();
                let series = series.clone();
                async move {
                    // Read with a cap and a deadline, declared length or not (chunked, or
                    // HTTP/2 without one), before anything else looks at the request.
                    let cap = body_cap(path.as_str());
                    let body = match crate::http::request::read_body_max(&app, &headers, body, cap)
                        .await
                    {
                        Ok(b) => b,
                        Err(e) => return body_refused(&e).into_response(),
                    };
                    let req = ConsoleRequest::new(
                        app,
                        series,
                        method,
                        path.as_str(),
                        &query,
                        headers,
                        authority.map(|a| a.to_string()),
                        peer.map(|p| p.0.ip()),
                        &body,
                    );
                    handle(req).await.into_response()
                }
            },
        )
        .recover(|_: warp::Rejection| async move {
            let page = Page::plain(http::StatusCode::BAD_REQUEST, "bad request");
            Ok::<_, std::convert::Infallible>(page.into_response())
        })
        .unify()
        .boxed()
}

/// Routes one request.
async fn handle(req: ConsoleRequest) -> Page {
    let segments: Vec<String> = req.segments();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["assets", file] = parts.as_slice() {
        return assets::serve(file);
    }
    if req.is_post() && !req.same_origin() {
        return Page::plain(http::StatusCode::FORBIDDEN, "cross-site request refused");
    }
    match (req.is_post(), parts.as_slice()) {
        (false, ["login"]) => return pages::signin::form(&req, None),
        (true, ["login"]) => return pages::signin::submit(&req).await,
        _ => {}
    }
    let Some(admin) = req.admin() else {
        return redirect("/login");
    };
    if req.is_post() && !session::csrf_ok(&admin, req.form("csrf")) {
        return Page::plain(
            http::StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong: reload the page and try again",
        );
    }
    let ctx = pages::Ctx::new(&req, admin);
    match (req.is_post(), parts.as_slice()) {
        (true, ["logout"]) => pages::signin::sign_out(&req).await,
        (false, []) => pages::overview::page(&ctx).await,
        (false, ["api", "series"]) => pages::overview::series(&ctx),
        (false, ["games"]) => pages::games::page(&ctx).await,
        (false, ["players"]) => pages::players::search(&ctx).await,
        (false, ["players", id]) => pages::players::show(&ctx, id).await,
        (true, ["players", id, action]) => pages::players::act(&ctx, id, action).await,
        (false, ["moderation"]) => pages::moderation::page(&ctx).await,
        (false, ["matches"]) => pages::matches::page(&ctx).await,
        (true, ["matches", id, action]) => pages::matches::act(&ctx, id, action).await,
        (false, ["queues"]) => pages::queues::page(&ctx).await,
        (false, ["leaderboards"]) => pages::leaderboards::list(&ctx).await,
        (false, ["leaderboards", id]) => pages::leaderboards::show(&ctx, id).await,
        (true, ["leaderboards", id, action]) => pages::leaderboards::act(&ctx, id, action).await,
        (false, ["tournaments"]) => pages::tournaments::list(&ctx).await,
        (false, ["tournaments", id]) => pages::tournaments::show(&ctx, id).await,
        (true, ["tournaments", id, action]) => pages::tournaments::act(&ctx, id, action).await,
        (false, ["seasons"]) => pages::seasons::page(&ctx).await,
        (true, ["seasons", action]) => pages::seasons::act(&ctx, action).await,
        (false, ["events"]) => pages::events::page(&ctx).await,
        (true, ["events", id, action]) => pages::events::act(&ctx, id, action).await,
        (false, ["config"]) => pages::config::page(&ctx).await,
        (true, ["config", action]) => pages::config::act(&ctx, action).await,
        (false, ["experiments"]) => pages::experiments::page(&ctx).await,
        (false, ["analytics"]) => pages::analytics::page(&ctx).await,
        (false, ["backups"]) => pages::backups::page(&ctx).await,
        (true, ["backups", action]) => pages::backups::act(&ctx, action).await,
        (false, ["audit"]) => pages::audit::page(&ctx).await,
        _ => ctx.not_found(),
    }
}
