//! The accept loop: TCP → (rustls) → hyper-util (HTTP/1.1 and h2) → warp routes. warp 0.4
//! has no TLS of its own, and its remote-address filter is empty when served this way, so
//! the peer address goes into request extensions here. Shutdown stops accepting, lets
//! in-flight requests finish within the grace period, then returns.
//!
//! What one client may hold (`[http]`): connections in all and per address (closed at
//! once beyond the caps), time to finish the TLS handshake and send headers, HTTP/2
//! streams per connection, and an idle timeout: a connection with no request in flight
//! and no bytes moving is closed.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::proxy::Cidr;
use super::request::PeerAddr;
use crate::app::App;

/// Serves `routes` (the API's, or the admin console's) until `shutdown` turns true, then
/// drains for at most `grace`.
pub async fn run(
    app: App,
    routes: BoxedFilter<(Response,)>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let cfg = app.config.http.clone();
    let service = TowerToHyperService::new(warp::service(routes));
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout());
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(cfg.h2_max_concurrent_streams);
    let trusted: Vec<Cidr> = app
        .config
        .server
        .trusted_proxies
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
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
        // Over a cap the connection is dropped before a byte of TLS is spent on it.
        if app.http_connections.load(Ordering::Relaxed) >= cfg.max_connections as i64 {
            app.metrics.rate_limited("http_connections");
            tracing::debug!(%peer, "HTTP connection cap reached: connection closed");
            continue;
        }
        let ip = peer.ip();
        let counted = !trusted.iter().any(|c| c.contains(ip));
        if counted {
            let mut open = per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let n = open.entry(ip).or_insert(0);
            if *n >= cfg.max_connections_per_ip {
                drop(open);
                app.metrics.rate_limited("http_connections_per_ip");
                tracing::debug!(%peer, "per-address HTTP connection cap reached: connection closed");
                continue;
            }
            *n += 1;
        }
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let app = app.clone();
        let per_ip = per_ip.clone();
        let handshake = cfg.header_read_timeout();
        let idle = cfg.idle_timeout();
        app.http_connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let activity = Arc::new(Activity::new());
            let svc = {
                let activity = activity.clone();
                hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    let in_flight = InFlight::start(activity.clone());
                    let h2 = req.version() == http::Version::HTTP_2;
                    let call = hyper::service::Service::call(&service, req);
                    async move {
                        let mut reply = call.await;
                        drop(in_flight);
                        // `Connection: close` (a refusal that left the body unread) means
                        // nothing to HTTP/2, which forbids the header.
                        if let (true, Ok(r)) = (h2, reply.as_mut()) {
                            r.headers_mut().remove(http::header::CONNECTION);
                        }
                        reply
                    }
                })
            };
            match acceptor {
                Some(acceptor) => match tokio::time::timeout(handshake, acceptor.accept(tcp)).await
                {
                    Ok(Ok(stream)) => {
                        let io = Watched::new(stream, activity, idle);
                        let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
                        if let Err(e) = watcher.watch(conn).await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
                None => {
                    let io = Watched::new(tcp, activity, idle);
                    let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
            }
            app.http_connections.fetch_sub(1, Ordering::Relaxed);
            if counted {
                let mut open = per_ip.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(n) = open.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        open.remove(&ip);
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("HTTP connections drained"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over: closing remaining HTTP connections"),
    }
}

/// What a connection is doing: requests in flight and when bytes last moved.
struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch`.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// When the connection counts as idle if nothing happens before.
    fn idle_at(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Instant::now() + idle;
        }
        self.epoch + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle
    }
}

/// One request being handled: the connection is not idle meanwhile.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.touch();
        InFlight(a)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's byte stream that fails its reads once the connection has been idle for
/// `idle`, so hyper closes it (HTTP/1.1 keep-alive and HTTP/2 alike).
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<S> Watched<S> {
    fn new(inner: S, activity: Arc<Activity>, idle: Duration) -> Self {
        activity.touch();
        let at = activity.idle_at(idle);
        Watched {
            inner,
            activity,
            idle,
            timer: Box::pin(tokio::time::sleep_until(at.into())),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.activity.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => loop {
                let at = this.activity.idle_at(this.idle);
                if at <= Instant::now() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "connection idle",
                    )));
                }
                if this.timer.deadline() != at.into() {
                    this.timer.as_mut().reset(at.into());
                }
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
