//! Live matches: every live match of the chosen game (private and full ones too) with its
//! players and settings, and a button to end one now; who is online; finished matches
//! with their results.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, csrf, failed};
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok(
            "/matches",
            "Live matches",
            html! { p { "No game registered yet." } },
        );
    };
    let live = ctx
        .call("match_list_live", json!({"game_id": game, "limit": 200}))
        .await;
    let online = ctx.call("presence_list", json!({"game_id": game})).await;
    let finished = ctx
        .call("match_list_history", json!({"game_id": game, "limit": 20}))
        .await;
    let body = html! {
        h2 { "Live matches" }
        @match &live {
            Ok(v) => {
                @let list = v["matches"].as_array().cloned().unwrap_or_default();
                @if list.is_empty() {
                    p.muted { "No match is running in " (ctx.game_name()) "." }
                } @else {
                    table id="live-matches" {
                        tr { th { "match" } th { "mode" } th { "label" } th { "players" } th.num { "tick rate" } th { "settings" } th { "created" } th { "end it" } }
                        @for m in &list {
                            @let id = compact(&m["match_id"]);
                            tr {
                                td.mono { (id) @if m["private"] == json!(true) { " " span.tag { "private" } } }
                                td { (compact(&m["mode"])) }
                                td { (compact(&m["label"])) }
                                td {
                                    (compact(&m["size"])) " / " (compact(&m["max_size"]))
                                    @for p in m["players"].as_array().into_iter().flatten() {
                                        br;
                                        a href=(ctx.link(&format!("/players/{}", compact(&p["user_id"])))) { (compact(&p["username"])) }
                                    }
                                }
                                td.num { (compact(&m["tick_rate"])) " Hz" }
                                td {
                                    @if !m["map"].is_null() { "map " (compact(&m["map"])) br; }
                                    @if !m["kill_limit"].is_null() { "kill limit " (compact(&m["kill_limit"])) br; }
                                    @if !m["time_limit_secs"].is_null() { "time limit " (compact(&m["time_limit_secs"])) " s" }
                                }
                                td { (ms_time(&m["created_at"])) }
                                td {
                                    form.inline method="post" action=(format!("/matches/{id}/end")) {
                                        (csrf(ctx))
                                        input type="hidden" name="game" value=(game);
                                        label for=(format!("end-{id}")) { "Reason (players see it)" }
                                        input id=(format!("end-{id}")) name="reason" type="text" maxlength="256" required;
                                        button.danger type="submit" { "End match" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => (failed("live matches", e)),
        }
        h2 { "Online players" }
        @match &online {
            Ok(v) => {
                table {
                    tr { th { "player" } th.num { "connections" } th { "in matches" } }
                    @for p in v["presences"].as_array().into_iter().flatten() {
                        tr {
                            td { a href=(ctx.link(&format!("/players/{}", compact(&p["user_id"])))) { (compact(&p["username"])) } }
                            td.num { (compact(&p["sessions"])) } td.mono { (compact(&p["match_ids"])) }
                        }
                    }
                }
            }
            Err(e) => (failed("presence", e)),
        }
        h2 { "Recently finished" }
        @match &finished {
            Ok(v) => {
                table {
                    tr { th { "match" } th { "mode" } th { "winner" } th { "duration" } th { "ended" } }
                    @for m in v["matches"].as_array().into_iter().flatten() {
                        tr {
                            td.mono { (compact(&m["match_id"])) } td { (compact(&m["mode"])) } td { (compact(&m["winner"])) }
                            td { (compact(&m["duration_secs"])) " s" } td { (compact(&m["ended_at"])) }
                        }
                    }
                }
            }
            Err(e) => (failed("finished matches", e)),
        }
    };
    ctx.ok("/matches", "Live matches", body)
}

/// Unix milliseconds as UTC time.
fn ms_time(v: &serde_json::Value) -> String {
    match v.as_i64() {
        Some(ms) => crate::time::rfc3339(ms / 1000),
        None => compact(v),
    }
}

/// Ends a live match (the `match_end` admin RPC): its players see it end.
pub async fn act(ctx: &Ctx<'_>, match_id: &str, action: &str) -> Page {
    if action != "end" {
        return ctx.not_found();
    }
    let Some(game) = ctx.game_id() else {
        return ctx.not_found();
    };
    let reason = ctx
        .req
        .form("reason")
        .unwrap_or_default()
        .trim()
        .to_string();
    let outcome = ctx
        .call(
            "match_end",
            json!({"game_id": game.to_string(), "match_id": match_id, "reason": reason}),
        )
        .await
        .map(|v| {
            let players = compact(&v["match"]["size"]);
            match v["result"]["winner"].as_str() {
                Some(w) => format!(
                    "Match {match_id} ended ({players} player(s) told); {w} won on the scoreboard."
                ),
                None => format!("Match {match_id} ended ({players} player(s) told)."),
            }
        });
    ctx.done("/matches", outcome)
}
