//! The frame every console page shares: the top bar (sections, game picker, sign-out),
//! the message banner, and small pieces the pages repeat.

use maud::{html, Markup, DOCTYPE};

use super::pages::Ctx;

const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/games", "Games"),
    ("/players", "Players"),
    ("/moderation", "Moderation"),
    ("/matches", "Live matches"),
    ("/queues", "Queues"),
    ("/leaderboards", "Leaderboards"),
    ("/tournaments", "Tournaments"),
    ("/seasons", "Seasons"),
    ("/events", "Events"),
    ("/config", "Remote config"),
    ("/experiments", "Experiments"),
    ("/analytics", "Analytics"),
    ("/backups", "Backups"),
    ("/audit", "Audit log"),
];

/// A whole page: `section` is the nav entry it belongs to.
pub fn page(ctx: &Ctx, section: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Outpost console" }
                link rel="stylesheet" href="/assets/console.css";
                link rel="stylesheet" href="/assets/uPlot.min.css";
            }
            body {
                header.top {
                    span.brand { "Outpost" }
                    nav aria-label="Sections" {
                        @for (href, name) in SECTIONS {
                            @if *href == section {
                                a href=(ctx.link(href)) aria-current="page" { (name) }
                            } @else {
                                a href=(ctx.link(href)) { (name) }
                            }
                        }
                    }
                    @if !ctx.games.is_empty() {
                        form method="get" action=(section) {
                            label for="game-picker" { "Game" }
                            select id="game-picker" name="game" {
                                @for g in &ctx.games {
                                    option value=(g.id) selected[Some(g.id) == ctx.game_id()] { (g.name) }
                                }
                            }
                            button.plain type="submit" { "Show" }
                        }
                    }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(ctx.admin.csrf);
                        span.muted { (ctx.admin.username) " " }
                        button.plain type="submit" { "Sign out" }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(m) = ctx.req.query("ok") { p.banner.ok role="status" { (m) } }
                    @if let Some(m) = ctx.req.query("err") { p.banner.err role="alert" { (m) } }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form that changes something carries.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.admin.csrf); }
}

/// An error from an RPC, shown in place of what could not be read.
pub fn failed(what: &str, e: &crate::rpc::RpcError) -> Markup {
    html! { p.banner.err role="alert" { (what) ": " (e.to_string()) } }
}

/// A JSON value as compact text for a table cell.
pub fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Unix seconds (a number) as UTC time; text is shown as it is.
pub fn when(v: &serde_json::Value) -> String {
    match v.as_i64() {
        Some(0) => "never".into(),
        Some(secs) => crate::time::rfc3339(secs),
        None => compact(v),
    }
}

/// An id as one path segment of a console link.
pub fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// What a game page shows before any game is registered.
pub fn no_game() -> Markup {
    html! { p { "No game registered yet: " code { "outpost game create NAME" } "." } }
}

pub fn bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
