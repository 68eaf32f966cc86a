//! Events: the running and coming live-ops events with their missions, community goals and
//! tournament, the XP multipliers in force, and ending one now (`event_end`, which settles
//! it: everything owed is paid once).

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::layout::{compact, csrf, failed, no_game, segment};
use crate::console::request::Page;

fn event_card(ctx: &Ctx<'_>, game: &str, e: &Value, top: Option<&Value>) -> Markup {
    let id = compact(&e["event_id"]);
    html! {
        section.card aria-label=(format!("event {id}")) {
            h3 { (compact(&e["title"])) " " span.tag { (compact(&e["state"])) } }
            p.mono { (id) " · occurrence " (compact(&e["occurrence"])) }
            p { (compact(&e["starts_at"])) " → " (compact(&e["ends_at"]))
                @if let Some(left) = e["seconds_left"].as_i64().filter(|s| *s > 0) { " (" (left / 3600) " h " (left % 3600 / 60) " min left)" } }
            @if !e["xp_multiplier"].is_null() { p { "XP ×" (compact(&e["xp_multiplier"])) " on " (compact(&e["xp_applies_to"])) } }
            @if let Some(ms) = e["missions"].as_array().filter(|m| !m.is_empty()) {
                p { strong { "Missions: " } @for m in ms { (compact(&m["title"])) " (" (compact(&m["target"])) "); " } }
            }
            @if let Some(gs) = e["goals"].as_array().filter(|g| !g.is_empty()) {
                p { strong { "Community goals: " } @for g in gs { (compact(&g["title"])) " at " @for t in g["thresholds"].as_array().into_iter().flatten() { (compact(&t["at"])) " " } "; " } }
            }
            @if let Some(board) = e["leaderboard_id"].as_str() {
                p { "Tournament board: " a href=(ctx.link(&format!("/leaderboards/{}", segment(board)))) { (board) } }
            }
            @if let Some(t) = top {
                @let records = t["records"].as_array().cloned().unwrap_or_default();
                @if !records.is_empty() {
                    table {
                        tr { th.num { "rank" } th { "player" } th.num { "score" } }
                        @for r in &records {
                            tr { td.num { (compact(&r["rank"])) } td { a href=(ctx.link(&format!("/players/{}", compact(&r["user_id"])))) { (if r["username"].is_null() { compact(&r["user_id"]) } else { compact(&r["username"]) }) } } td.num { (compact(&r["score"])) } }
                        }
                    }
                    p.muted { (compact(&t["participants"])) " participant(s)." }
                }
            }
            form.inline method="post" action=(format!("/events/{}/end", segment(&id))) {
                (csrf(ctx))
                input type="hidden" name="game" value=(game);
                button.danger type="submit" { "End now and settle" }
            }
        }
    }
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/events", "Events", no_game());
    };
    let listed = ctx
        .call("event_get_active_events", json!({"game_id": game}))
        .await;
    let mut tops = Vec::new();
    if let Ok(v) = &listed {
        for e in v["events"].as_array().into_iter().flatten() {
            let has_board = e["leaderboard_id"].is_string()
                || e["goals"].as_array().is_some_and(|g| !g.is_empty());
            let top = if has_board {
                ctx.call(
                    "event_get_leaderboard",
                    json!({"game_id": game, "event_id": e["event_id"], "limit": 10}),
                )
                .await
                .ok()
            } else {
                None
            };
            tops.push(top);
        }
    }
    let body = html! {
        p.muted { "Create events with the " code { "event_create" } " admin RPC. Ending one now pays every participant what they earned (completed missions, reached goals, tournament prizes), each once; a recurring event does not come back." }
        @match &listed {
            Ok(v) => {
                p { "XP multipliers in force: season ×" (compact(&v["xp_multiplier"]["season"])) ", profile ×" (compact(&v["xp_multiplier"]["profile"])) "." }
                h2 { "Running" }
                @let running = v["events"].as_array().cloned().unwrap_or_default();
                @if running.is_empty() { p { "No event is running." } }
                div.cards {
                    @for (e, top) in running.iter().zip(tops.iter()) { (event_card(ctx, &game, e, top.as_ref())) }
                }
                h2 { "Coming" }
                @let upcoming = v["upcoming"].as_array().cloned().unwrap_or_default();
                @if upcoming.is_empty() { p { "None scheduled." } }
                div.cards {
                    @for e in &upcoming { (event_card(ctx, &game, e, None)) }
                }
            }
            Err(e) => (failed("events", e)),
        }
    };
    ctx.ok("/events", "Events", body)
}

pub async fn act(ctx: &Ctx<'_>, id: &str, action: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.not_found();
    };
    if action != "end" {
        return ctx.not_found();
    }
    let outcome = ctx
        .call("event_end", json!({"game_id": game, "event_id": id}))
        .await
        .map(|v| {
            format!(
                "Event {} ended and settled: {} reward(s) paid now.",
                compact(&v["event"]["title"]),
                compact(&v["rewards_paid"])
            )
        });
    ctx.done("/events", outcome)
}
