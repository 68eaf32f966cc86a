//! Wires everything: open the store, load keys and certificates, build the App, start
//! HTTPS (and the optional plain-HTTP listener) and the background jobs, then wait for a
//! signal. SIGINT/SIGTERM: stop accepting, drain in-flight requests (bounded), flush, exit.
//! SIGHUP: reload the TLS certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::auth::secrets;
use crate::config::Loaded;
use crate::store::{Store, StoreError};
use crate::tls::Certs;

/// Where a running server can be reached.
#[derive(Debug, Clone)]
pub struct Addresses {
    pub https: SocketAddr,
    pub plain_http: Option<SocketAddr>,
    /// QUIC (UDP).
    pub quic: SocketAddr,
    /// `/metrics` on its own plain-HTTP listener (`http.metrics_listen`).
    pub metrics: Option<SocketAddr>,
    /// The admin console (HTTPS), when it is on.
    pub console: Option<SocketAddr>,
}

/// Opens the database for a command, explaining plainly when a server holds it.
pub fn open_store(dir: &std::path::Path, flush_every_ms: u64) -> anyhow::Result<Store> {
    Store::open(dir, flush_every_ms).map_err(|e| match e {
        StoreError::Locked { path } => anyhow::anyhow!(
            "the database at {path} is held by a running `outpost serve`: stop the server first \
             (for example `systemctl stop outpost`)"
        ),
        other => anyhow::anyhow!(other),
    })
}

pub async fn serve(loaded: Loaded) -> anyhow::Result<()> {
    let mut cfg = loaded.config;
    for u in &loaded.unknown {
        tracing::warn!("unknown configuration ignored: {u}");
    }
    let data_dir = cfg.server.data_dir.clone();
    let store = open_store(&data_dir, cfg.storage.flush_every_ms)?;
    let (mut keys, first_run) = secrets::load_or_create(&data_dir)
        .with_context(|| format!("keys in {}", data_dir.display()))?;
    if let Some(k) = &cfg.auth.server_key {
        keys.server_key = k.clone();
    }
    if let Some(k) = &cfg.auth.http_key {
        keys.http_key = k.clone();
    }
    // Without a configured default game, the one a first start created (or creates now).
    let mut default_game = None;
    if cfg.server.default_game_id.is_none() {
        if let Some((game, created)) =
            crate::features::games::default_game(&store).context("the default game")?
        {
            if created {
                tracing::info!(game_id = %game.id, "created the default game");
            }
            cfg.server.default_game_id = Some(game.id.to_string());
            default_game = Some((game, created));
        }
    }
    let certs = Certs::load(&cfg.tls).context("TLS certificate")?;
    let app = App::new(cfg.clone(), store.clone(), keys.clone())?;

    let listener = TcpListener::bind(cfg.listen_addr())
        .await
        .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
    let https = listener.local_addr()?;
    let plain = match &cfg.server.plain_http_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    let metrics = match &cfg.http.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (http.metrics_listen)"))?,
        ),
        None => None,
    };
    let grace = Duration::from_secs(cfg.server.shutdown_grace_secs);
    let (stop_tx, stop_rx) = watch::channel(false);
    let quic_addr = cfg.realtime_addr(https.port());
    let realtime = crate::realtime::start(app.clone(), &certs, quic_addr, stop_rx.clone())
        .context("realtime (QUIC)")?;
    let addrs = Addresses {
        https,
        plain_http: plain.as_ref().and_then(|l| l.local_addr().ok()),
        quic: realtime.addr,
        metrics: metrics.as_ref().and_then(|l| l.local_addr().ok()),
        console: None,
    };
    let tls = Arc::new(certs.server_config(&[b"h2", b"http/1.1"], false));
    let tls_console = tls.clone();
    let mut tasks = vec![tokio::spawn(crate::http::serve::run(
        app.clone(),
        crate::http::routes(app.clone()),
        listener,
        Some(tls),
        stop_rx.clone(),
        grace,
    ))];
    if let Some(l) = plain {
        tasks.push(tokio::spawn(crate::http::serve::run(
            app.clone(),
            crate::http::routes(app.clone()),
            l,
            None,
            stop_rx.clone(),
            grace,
        )));
    }
    if let Some(l) = metrics {
        tasks.push(tokio::spawn(crate::http::serve::run(
            app.clone(),
            crate::http::metrics_routes(app.clone()),
            l,
            None,
            stop_rx.clone(),
            grace,
        )));
    }
    let console = crate::console::start(app.clone(), tls_console, stop_rx.clone(), grace)
        .await
        .context("admin console")?;
    let mut addrs = addrs;
    addrs.console = console.as_ref().map(|c| c.addr);
    if let Some(c) = console {
        tasks.extend(c.tasks);
    }
    tasks.push(tokio::spawn(crate::jobs::run(app.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::features::matchmaking::run(
        app.clone(),
        stop_rx.clone(),
    )));
    let socket = crate::admin::socket_path(&data_dir);
    let admin = crate::admin::bind(&socket)
        .with_context(|| format!("admin socket {}", socket.display()))?;
    tasks.push(tokio::spawn(crate::admin::serve(
        app.clone(),
        admin,
        stop_rx.clone(),
    )));
    tasks.push(realtime.task);

    print_banner(
        &cfg,
        &addrs,
        &certs,
        &keys,
        first_run,
        default_game.as_ref(),
    );
    tracing::info!(https = %addrs.https, quic = %addrs.quic, admin_socket = %socket.display(), "outpost serving");
    notify_systemd("READY=1");

    wait_for_stop(&certs).await;
    tracing::info!("shutting down: draining requests");
    notify_systemd("STOPPING=1");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(grace + Duration::from_secs(1), t).await;
    }
    store.flush()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

fn print_banner(
    cfg: &crate::config::Config,
    addrs: &Addresses,
    certs: &Certs,
    keys: &secrets::Secrets,
    first_run: bool,
    default_game: Option<&(crate::store::GameRecord, bool)>,
) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Outpost {} serving", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "  https      https://{}", addrs.https);
    if let Some(p) = addrs.plain_http {
        let _ = writeln!(out, "  http       http://{p}  (plain, for a reverse proxy)");
    }
    let _ = writeln!(out, "  quic       {}  (UDP, ALPN outpost/1)", addrs.quic);
    if let Some(m) = addrs.metrics {
        let _ = writeln!(out, "  metrics    http://{m}/metrics");
    }
    if let Some(c) = addrs.console {
        let _ = writeln!(out, "  console    https://{c}  (admin web console)");
    }
    let _ = writeln!(out, "  data       {}", cfg.server.data_dir.display());
    let _ = writeln!(
        out,
        "  admin      {} (for `outpost` commands)",
        crate::admin::socket_path(&cfg.server.data_dir).display()
    );
    let kind = if certs.paths().self_signed {
        "self-signed, for development"
    } else {
        "configured"
    };
    let _ = writeln!(
        out,
        "  cert       {} ({kind})",
        certs.paths().cert.display()
    );
    if cfg.server.dev_mode {
        let _ = writeln!(
            out,
            "  DEV MODE   on: admins can move games' clocks forward (server.dev_mode). Never on a live game."
        );
        tracing::warn!("dev mode is on: admins can move games' clocks forward");
    }
    if first_run {
        let _ = writeln!(
            out,
            "First run: keys generated and saved in {}/secrets.toml (mode 0600):",
            cfg.server.data_dir.display()
        );
        if cfg.auth.server_key.is_none() {
            let _ = writeln!(
                out,
                "  server key {}   (game clients: HTTP Basic user at authentication)",
                keys.server_key
            );
        }
        if cfg.auth.http_key.is_none() {
            let _ = writeln!(
                out,
                "  http key   {}   (studio servers: ?http_key= on /v2/rpc)",
                keys.http_key
            );
        }
        let _ = writeln!(out, "They are printed only this once.");
    }
    match (default_game, &cfg.server.default_game_id) {
        (Some((game, true)), _) => {
            let _ = writeln!(
                out,
                "  game       {} `{}`, created as the default game (clients that name none use it)",
                game.id, game.name
            );
        }
        (Some((game, false)), _) => {
            let _ = writeln!(
                out,
                "  game       {} `{}` (the default game)",
                game.id, game.name
            );
        }
        (None, Some(id)) => {
            let _ = writeln!(out, "  game       {id} (server.default_game_id)");
        }
        (None, None) => {}
    }
    if let Some(m) = addrs.metrics {
        let _ = writeln!(out, "ready metrics={m}");
    }
    let _ = writeln!(out, "ready quic={}", addrs.quic);
    if let Some(c) = addrs.console {
        let _ = writeln!(out, "ready console={c}");
    }
    let _ = writeln!(out, "ready https={}", addrs.https);
    let _ = out.flush();
}

/// Tells systemd (`Type=notify`) how the server is doing; nothing without `NOTIFY_SOCKET`.
fn notify_systemd(state: &str) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = UnixDatagram::unbound().and_then(|sock| {
        match target.as_encoded_bytes().strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)
                .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr)),
            None => sock.send_to(state.as_bytes(), &target),
        }
    });
    if let Err(e) = sent {
        tracing::warn!(error = %e, state, "could not notify systemd");
    }
}

async fn wait_for_stop(certs: &Certs) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => match certs.reload() {
                Ok(()) => tracing::info!(cert = %certs.paths().cert.display(), "TLS certificate reloaded"),
                Err(e) => tracing::error!(error = %e, "TLS certificate reload failed: keeping the old one"),
            },
        }
    }
}
