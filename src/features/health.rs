//! Health: is the server up, and how is it doing.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::rpc::{Limit, Registry, RpcContext, RpcError};

pub fn register(r: &mut Registry) {
    r.player("health_check", Limit::Read, health_check);
    r.server("detailed_health_check", Limit::Read, detailed_health_check);
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Serialize)]
struct HealthReply {
    status: &'static str,
    version: &'static str,
    timestamp: i64,
}

async fn health_check(_ctx: RpcContext, _req: Empty) -> Result<HealthReply, RpcError> {
    Ok(HealthReply {
        status: "healthy",
        version: env!("CARGO_PKG_VERSION"),
        timestamp: crate::time::now(),
    })
}

#[derive(Serialize)]
struct DetailedReply {
    status: &'static str,
    version: &'static str,
    timestamp: i64,
    uptime_secs: u64,
    started_at: String,
    storage: StorageHealth,
    accounts: usize,
    games: usize,
    connections: Connections,
    /// Live realtime matches on this node.
    matches: u64,
    /// Live matchmaking tickets, every game.
    matchmaking_tickets: usize,
    rpcs_registered: usize,
}

#[derive(Serialize)]
struct StorageHealth {
    ok: bool,
    db_size_bytes: u64,
    probe_ms: f64,
}

#[derive(Serialize)]
struct Connections {
    http: i64,
    quic: u64,
}

async fn detailed_health_check(ctx: RpcContext, _req: Empty) -> Result<DetailedReply, RpcError> {
    let app = &ctx.app;
    let probe = std::time::Instant::now();
    let ok = app
        .store
        .global("health")
        .and_then(|t| t.get::<u8>(b"probe"))
        .is_ok();
    let probe_ms = probe.elapsed().as_secs_f64() * 1000.0;
    let realtime = crate::features::matches::directory(app)
        .map(|d| d.stats(false))
        .unwrap_or_default();
    Ok(DetailedReply {
        status: if ok { "healthy" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        timestamp: crate::time::now(),
        uptime_secs: app.started.elapsed().as_secs(),
        started_at: crate::time::rfc3339(app.started_at),
        storage: StorageHealth {
            ok,
            db_size_bytes: app.store.size_on_disk(),
            probe_ms,
        },
        accounts: app.auth.count(),
        games: app.store.games().len(),
        connections: Connections {
            http: app.http_connections.load(Ordering::Relaxed),
            quic: realtime.connections,
        },
        matches: realtime.matches,
        matchmaking_tickets: crate::features::matchmaking::matchmaker(app).ticket_count(),
        rpcs_registered: app.registry.entries().len(),
    })
}
