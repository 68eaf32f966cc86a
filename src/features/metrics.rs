//! Metrics over the one registry that feeds `GET /metrics` ([`crate::telemetry::Metrics`]):
//! a summary, per-RPC counts, errors and latency quantiles, per-game figures (players,
//! CCU, matches, events, revenue from entry fees and premium passes), and the Prometheus
//! export. Also `rate_limit_status`: the caller's quota as the governor limiters hold it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::rpc::{Caller, Limit, Registry, RpcContext, RpcError};
use crate::store::GameStore;
use crate::telemetry::{render_gauges, Gauge, RpcStats};

pub fn register(r: &mut Registry) {
    r.server("metrics_get_summary", Limit::Read, summary);
    r.server("metrics_get_rpc_stats", Limit::Read, rpc_stats);
    r.server("metrics_get_game_stats", Limit::Read, game_stats);
    r.admin("metrics_export", Limit::Read, export);
    r.player("rate_limit_status", Limit::Read, rate_limit_status);
}

/// Ledger reasons that count as revenue, by kind: a wallet change whose reason starts with
/// one of these is revenue (debits) or a refund of it (credits).
pub const ENTRY_FEE_REASONS: &[&str] = &["entry_fee", "tournament_entry"];
pub const PREMIUM_PASS_REASONS: &[&str] = &["premium_pass", "season_premium"];

/// Everything `GET /metrics` shows: counters and histograms of the registry, storage
/// operation counts, and gauges read now (server-wide, then per game).
pub fn prometheus(app: &App) -> String {
    let mut text = app.metrics.render(&[
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
    text.push_str("# HELP outpost_storage_operations_total Storage operations since start.\n");
    text.push_str("# TYPE outpost_storage_operations_total counter\n");
    for (op, n) in crate::store::ops::counts() {
        text.push_str(&format!(
            "outpost_storage_operations_total{{op=\"{op}\"}} {n}\n"
        ));
    }
    text.push_str(&render_gauges(&gauges(app)));
    text
}

/// Gauges with labels: CCU and players today per game, queue sizes, cache entries.
pub fn gauges(app: &App) -> Vec<Gauge> {
    let mut out = Vec::new();
    let directory = app.matches.get();
    for g in app.store.games() {
        let id = g.id.to_string();
        let ccu = directory.map_or(0, |d| d.presences(g.id, &[]).len());
        out.push(Gauge {
            name: "outpost_game_ccu",
            help: "Players connected over QUIC, per game.",
            labels: vec![("game", id.clone())],
            value: ccu as f64,
        });
        if let Ok(game) = app.store.game(g.id) {
            let due =
                crate::features::schedule::due(&game, game.now(), 10_000).map_or(0, |d| d.len());
            out.push(Gauge {
                name: "outpost_game_jobs_due",
                help: "Scheduled jobs whose time has come and that have not run yet, per game.",
                labels: vec![("game", id.clone())],
                value: due as f64,
            });
        }
        out.push(Gauge {
            name: "outpost_game_players_today",
            help: "Distinct players who called an RPC today (UTC), per game.",
            labels: vec![("game", id)],
            value: app.metrics.players_today(&g.id.to_string()) as f64,
        });
    }
    for (queue, n) in app.metrics.queue_sizes() {
        out.push(Gauge {
            name: "outpost_queue_size",
            help: "Entries waiting in a queue (matchmaking, jobs, …).",
            labels: vec![("queue", queue)],
            value: n as f64,
        });
    }
    for c in app.caches.stats() {
        out.push(Gauge {
            name: "outpost_cache_entries",
            help: "Entries held by a cache.",
            labels: vec![("cache", c.name)],
            value: c.entries as f64,
        });
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    uptime_secs: u64,
    rpc_calls: u64,
    rpc_errors: u64,
    /// Mean over every call since start.
    rpc_mean_ms: f64,
    rate_limited: u64,
    accounts: usize,
    games: usize,
    http_connections: i64,
    quic_connections: u64,
    live_matches: u64,
    db_size_bytes: u64,
    storage_operations: BTreeMap<&'static str, u64>,
    caches: usize,
}

fn summary_of(app: &App) -> Summary {
    let stats = app.metrics.rpc_stats();
    let calls: u64 = stats.iter().map(|s| s.calls).sum();
    let total_ms: f64 = stats.iter().map(|s| s.mean_ms * s.calls as f64).sum();
    let realtime = crate::features::matches::directory(app)
        .map(|d| d.stats(false))
        .unwrap_or_default();
    Summary {
        uptime_secs: app.started.elapsed().as_secs(),
        rpc_calls: calls,
        rpc_errors: stats.iter().map(|s| s.errors).sum(),
        rpc_mean_ms: if calls == 0 {
            0.0
        } else {
            total_ms / calls as f64
        },
        rate_limited: ["auth", "read", "write"]
            .iter()
            .map(|c| {
                app.metrics
                    .counter("outpost_rate_limited_total", &[("class", c)])
            })
            .sum(),
        accounts: app.auth.count(),
        games: app.store.games().len(),
        http_connections: app.http_connections.load(Ordering::Relaxed),
        quic_connections: realtime.connections,
        live_matches: realtime.matches,
        db_size_bytes: app.store.size_on_disk(),
        storage_operations: crate::store::ops::counts().into_iter().collect(),
        caches: app.caches.names().len(),
    }
}

async fn summary(ctx: RpcContext, _req: Empty) -> Result<Summary, RpcError> {
    Ok(summary_of(&ctx.app))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RpcStatsRequest {
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
    /// Only this RPC.
    #[serde(default)]
    rpc: Option<String>,
}

#[derive(Serialize)]
struct RpcStatsReply {
    rpcs: Vec<RpcStats>,
}

async fn rpc_stats(ctx: RpcContext, req: RpcStatsRequest) -> Result<RpcStatsReply, RpcError> {
    let mut rpcs = ctx.app.metrics.rpc_stats();
    if let Some(id) = &req.rpc {
        let Some(entry) = ctx.app.registry.get(id) else {
            return Err(RpcError::NotFound(format!("rpc: no RPC `{id}`")));
        };
        rpcs.retain(|s| s.rpc == entry.id);
    }
    Ok(RpcStatsReply { rpcs })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GameStatsRequest {
    game_id: String,
}

#[derive(Serialize, Default)]
struct Revenue {
    /// currency → amount, from tournament entry fees (net of refunds).
    entry_fees: BTreeMap<String, i64>,
    /// currency → amount, from premium passes.
    premium_passes: BTreeMap<String, i64>,
}

#[derive(Serialize)]
struct GameStats {
    game_id: String,
    name: String,
    /// Accounts on the server (accounts span games).
    accounts: usize,
    /// Distinct players who called an RPC of this game today (UTC), since the server started.
    daily_active_users: u64,
    /// Players connected over QUIC to this game now.
    ccu: usize,
    /// Matches of this game that ended and were stored.
    matches_finished: usize,
    /// Analytics events of this game today (game clock, UTC day).
    events_today: u64,
    revenue: Revenue,
}

fn revenue(game: &GameStore) -> Result<Revenue, RpcError> {
    let mut r = Revenue::default();
    let ledger = game.tree(crate::features::wallet::LEDGER)?;
    for entry in ledger.iter::<crate::features::wallet::LedgerEntry>() {
        let (_, e) = entry?;
        let bucket = if ENTRY_FEE_REASONS.iter().any(|p| e.reason.starts_with(p)) {
            &mut r.entry_fees
        } else if PREMIUM_PASS_REASONS.iter().any(|p| e.reason.starts_with(p)) {
            &mut r.premium_passes
        } else {
            continue;
        };
        for (currency, delta) in &e.changeset {
            *bucket.entry(currency.clone()).or_insert(0) -= delta;
        }
    }
    Ok(r)
}

async fn game_stats(ctx: RpcContext, req: GameStatsRequest) -> Result<GameStats, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let app = &ctx.app;
    let id = game.id();
    let name = app
        .store
        .game_record(id)
        .map(|g| g.name)
        .unwrap_or_default();
    let today = crate::time::utc_day(game.now());
    let events_today = crate::features::analytics::day_counts(&game, &[], today, today)?
        .iter()
        .map(|(_, _, n)| n)
        .sum();
    let g = game.clone();
    let revenue = tokio::task::spawn_blocking(move || revenue(&g))
        .await
        .map_err(|e| RpcError::Internal(format!("stats task: {e}")))??;
    Ok(GameStats {
        game_id: id.to_string(),
        name,
        accounts: app.auth.count(),
        daily_active_users: app.metrics.players_today(&id.to_string()),
        ccu: app.matches.get().map_or(0, |d| d.presences(id, &[]).len()),
        matches_finished: game.tree(crate::features::matches::FINISHED)?.len(),
        events_today,
        revenue,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
    /// `prometheus` (default) or `json`.
    #[serde(default)]
    format: Option<String>,
}

async fn export(ctx: RpcContext, req: ExportRequest) -> Result<serde_json::Value, RpcError> {
    let app = &ctx.app;
    match req.format.as_deref().unwrap_or("prometheus") {
        "prometheus" => Ok(serde_json::json!({
            "format": "prometheus",
            "content": prometheus(app),
        })),
        "json" => Ok(serde_json::json!({
            "format": "json",
            "summary": summary_of(app),
            "rpcs": app.metrics.rpc_stats(),
            "caches": app.caches.stats(),
        })),
        other => Err(RpcError::invalid(format!(
            "format: `{other}` is not `prometheus` or `json`"
        ))),
    }
}

#[derive(Serialize)]
struct ClassStatus {
    class: &'static str,
    /// What the quota is counted by: `user`, `server` (all http-key callers share one).
    per: &'static str,
    #[serde(flatten)]
    quota: crate::rpc::limit::QuotaStatus,
}

#[derive(Serialize)]
struct RateLimitReply {
    /// False for callers the limits do not apply to (admins, exempt servers).
    limited: bool,
    classes: Vec<ClassStatus>,
}

async fn rate_limit_status(ctx: RpcContext, _req: Empty) -> Result<RateLimitReply, RpcError> {
    let limiters = &ctx.app.limiters;
    let (key, per, limited) = match &ctx.caller {
        Caller::Player(s) => (s.user_id, "user", true),
        Caller::Server => (uuid::Uuid::nil(), "server", !limiters.exempt_server),
        Caller::Admin(id) => (id.unwrap_or_default(), "user", false),
    };
    let (read, write) = limiters.status_user(key);
    Ok(RateLimitReply {
        limited,
        classes: vec![
            ClassStatus {
                class: "read",
                per,
                quota: read,
            },
            ClassStatus {
                class: "write",
                per,
                quota: write,
            },
        ],
    })
}
