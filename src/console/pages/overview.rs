//! Overview: how the server is doing now, and charts of the last hour.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{bytes, compact, failed};
use crate::console::request::Page;
use crate::console::series;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let app = &ctx.req.app;
    let (ccu, live_matches) = series::live(app);
    let latest = ctx.req.series.latest();
    let last_backup = crate::features::backups::last(&app.store);
    let bans = ctx
        .call("moderation_list_bans", json!({"limit": 1000}))
        .await;
    let body = html! {
        section aria-labelledby="now" {
            h2 id="now" { "Now" }
            div.cards {
                div.card { div.k { "Players online (QUIC)" } div.v id="ccu" { (ccu) } }
                div.card { div.k { "Live matches" } div.v { (live_matches) } }
                div.card { div.k { "RPC/s (last 10 s)" } div.v { (latest.map_or("–".to_string(), |s| format!("{:.1}", s.rpc_per_sec))) } }
                div.card { div.k { "Failed RPC/s" } div.v { (latest.map_or("–".to_string(), |s| format!("{:.2}", s.errors_per_sec))) } }
                div.card { div.k { "RPC p99" } div.v { (latest.map_or("–".to_string(), |s| format!("{:.2} ms", s.p99_ms))) } }
                div.card { div.k { "HTTPS connections" } div.v { (app.http_connections.load(std::sync::atomic::Ordering::Relaxed)) } }
                div.card { div.k { "Accounts" } div.v { (app.auth.count()) } }
                div.card { div.k { "Games" } div.v { (ctx.games.len()) } }
                div.card { div.k { "Active bans" } div.v {
                    @match &bans { Ok(b) => (b["bans"].as_array().map_or(0, |a| a.len())), Err(_) => "?" }
                } }
                div.card { div.k { "Database on disk" } div.v { (bytes(app.store.size_on_disk())) } }
                div.card { div.k { "Uptime" } div.v { (uptime(app.started.elapsed().as_secs())) } }
                div.card { div.k { "Last backup" } div.v style="font-size:1rem" {
                    @match &last_backup {
                        Ok(Some(b)) => { (b.at) br; span.muted { (bytes(b.bytes)) } }
                        Ok(None) => "never",
                        Err(_) => "?",
                    }
                } }
            }
            @if app.config.server.dev_mode {
                p.banner.err { "DEV MODE is on: games' clocks can be moved forward. Never on a live game." }
            }
        }
        section aria-labelledby="hour" {
            h2 id="hour" { "The last hour" }
            p.muted { "One sample every 10 seconds since the server started (at most an hour). The charts need JavaScript; the figures above do not." }
            div.charts {
                figure data-series="ccu" data-label="players" { figcaption { "Players online" } div.chart {} }
                figure data-series="rpc_per_sec" data-label="RPC/s" { figcaption { "RPCs per second" } div.chart {} }
                figure data-series="errors_per_sec" data-label="failed/s" { figcaption { "Failed RPCs per second" } div.chart {} }
                figure data-series="p99_ms" data-label="p99 ms" { figcaption { "RPC latency p99 (ms)" } div.chart {} }
            }
        }
        @if let Err(e) = &bans { (failed("bans", e)) }
        @if let Ok(v) = ctx.call("realtime_stats", json!({})).await {
            section aria-labelledby="rt" {
                h2 id="rt" { "Realtime" }
                table {
                    tr { th { "figure" } th.num { "value" } }
                    @for (k, v) in v["realtime"].as_object().into_iter().flatten() {
                        tr { td { (k) } td.num { (compact(v)) } }
                    }
                }
            }
        }
        script src="/assets/uPlot.iife.min.js" {}
        script src="/assets/charts.js" {}
    };
    ctx.ok("/", "Overview", body)
}

/// The samples behind the charts.
pub fn series(ctx: &Ctx<'_>) -> Page {
    Page::json(
        &json!({ "every_secs": series::EVERY.as_secs(), "samples": ctx.req.series.snapshot() }),
    )
}

fn uptime(secs: u64) -> String {
    if secs >= 86_400 {
        format!("{}d {}h", secs / 86_400, secs / 3600 % 24)
    } else {
        format!("{}h {:02}m", secs / 3600, secs / 60 % 60)
    }
}
