//! The accept loop: TCP → (rustls) → hyper-util (HTTP/1.1 and h2) → warp routes. warp 0.4
//! has no TLS of its own, and its remote-address filter is empty when served this way, so
//! the peer address goes into request extensions here. Shutdown stops accepting, lets
//! in-flight requests finish within the grace period, then returns.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::request::PeerAddr;
use crate::app::App;

/// Serves the API until `shutdown` turns true, then drains for at most `grace`.
pub async fn run(
    app: App,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let routes = super::routes(app.clone());
    run_routes(app, routes, listener, tls, shutdown, grace).await
}

/// Serves `routes` (the API's, or the console's) the same way.
pub async fn run_routes(
    app: App,
    routes: warp::filters::BoxedFilter<(warp::reply::Response,)>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let service = TowerToHyperService::new(warp::service(routes));
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(256);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let app = app.clone();
        tokio::spawn(async move {
            app.http_connections.fetch_add(1, Ordering::Relaxed);
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                hyper::service::Service::call(&service, req)
            });
            match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(stream)) => {
                            let conn = builder
                                .serve_connection(TokioIo::new(stream), svc)
                                .into_owned();
                            if let Err(e) = watcher.watch(conn).await {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(tcp), svc)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
            }
            app.http_connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("HTTP connections drained"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over: closing remaining HTTP connections"),
    }
}
