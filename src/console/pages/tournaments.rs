//! Tournaments: the running and coming ones, the ended ones with their results, one
//! tournament's standings and bracket, and ending one now (`tournament_end_now`).

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::layout::{compact, csrf, failed, no_game};
use crate::console::request::Page;
use crate::rpc::RpcError;

fn table(ctx: &Ctx<'_>, list: &[Value]) -> Markup {
    html! {
        table {
            tr { th { "tournament" } th { "format" } th { "state" } th.num { "players" } th { "entry fee" } th { "starts" } th { "ends" } }
            @for t in list {
                tr {
                    td { a href=(ctx.link(&format!("/tournaments/{}", compact(&t["tournament_id"])))) { (compact(&t["title"])) } }
                    td { (compact(&t["format"])) @if t["stages"].as_array().is_some_and(|s| s.len() > 1) { " (" (t["stages"].as_array().map_or(0, Vec::len)) " stages)" } }
                    td { span.tag { (compact(&t["state"])) } @if !t["ended_by"].is_null() { " by " (compact(&t["ended_by"])) } }
                    td.num { (compact(&t["players"])) " / " (compact(&t["max_players"])) }
                    td.mono { (compact(&t["entry_fee"])) }
                    td { (compact(&t["start_time"])) } td { (compact(&t["end_time"])) }
                }
            }
        }
    }
}

pub async fn list(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/tournaments", "Tournaments", no_game());
    };
    let active = ctx
        .call(
            "tournament_list_active",
            json!({"game_id": game, "limit": 100}),
        )
        .await;
    let past = ctx
        .call(
            "tournament_get_past_results",
            json!({"game_id": game, "limit": 20}),
        )
        .await;
    let body = html! {
        p.muted { "Create tournaments with the " code { "tournament_create" } " admin RPC." }
        h2 { "Coming and running" }
        @match &active {
            Ok(v) => {
                @let list = v["tournaments"].as_array().cloned().unwrap_or_default();
                @if list.is_empty() { p { "None." } } @else { (table(ctx, &list)) }
            }
            Err(e) => (failed("tournaments", e)),
        }
        h2 { "Ended (newest 20)" }
        @match &past {
            Ok(v) => {
                @let list = v["tournaments"].as_array().cloned().unwrap_or_default();
                @if list.is_empty() { p { "None." } } @else { (table(ctx, &list)) }
            }
            Err(e) => (failed("past tournaments", e)),
        }
    };
    ctx.ok("/tournaments", "Tournaments", body)
}

fn slot(ctx: &Ctx<'_>, s: &Value, winner: &Value) -> Markup {
    html! {
        @if s.is_null() {
            span.muted { "to be decided" }
        } @else if s["bye"] == json!(true) {
            span.muted { "bye" }
        } @else {
            @let name = html! { a href=(ctx.link(&format!("/players/{}", compact(&s["user_id"])))) { (compact(&s["username"])) } " " span.muted { "#" (compact(&s["seed"])) } };
            @if !winner.is_null() && s["user_id"] == *winner { strong { (name) } } @else { (name) }
        }
    }
}

/// Rounds side by side per section (winners, losers, third place, grand final).
fn bracket(ctx: &Ctx<'_>, b: &Value) -> Markup {
    let rounds = b["rounds"].as_array().cloned().unwrap_or_default();
    let mut sections: Vec<String> = Vec::new();
    for r in &rounds {
        let s = compact(&r["section"]);
        if !sections.contains(&s) {
            sections.push(s);
        }
    }
    html! {
        p { "Stage " (compact(&b["stage"])) " of " (b["stages"].as_array().map_or(1, Vec::len)) ", " (compact(&b["format"])) "; "
            (b["ready_matches"].as_array().map_or(0, Vec::len)) " match(es) ready to play"
            @if b["finished"] == json!(true) { "; decided" } "." }
        @for section in &sections {
            h3 { (section.replace('_', " ")) }
            div.bracket {
                @for r in rounds.iter().filter(|r| compact(&r["section"]) == *section) {
                    section.round aria-label=(format!("{section} round {}", compact(&r["round"]))) {
                        h4 { "Round " (compact(&r["round"])) }
                        @for m in r["matches"].as_array().into_iter().flatten() {
                            div.match {
                                div.slot { (slot(ctx, &m["a"], &m["winner_id"])) span.score { (compact(&m["score_a"])) } }
                                div.slot { (slot(ctx, &m["b"], &m["winner_id"])) span.score { (compact(&m["score_b"])) } }
                                div.muted { "match " (compact(&m["match_id"])) ": " (compact(&m["status"])) @if m["draw"] == json!(true) { ", draw" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn show(ctx: &Ctx<'_>, id: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/tournaments", "Tournaments", no_game());
    };
    let standing = ctx
        .call(
            "tournament_get_leaderboard",
            json!({"game_id": game, "tournament_id": id, "limit": 100}),
        )
        .await;
    let v = match standing {
        Ok(v) => v,
        Err(RpcError::NotFound(_)) | Err(RpcError::InvalidArgument(_)) => return ctx.not_found(),
        Err(e) => return ctx.ok("/tournaments", "Tournament", failed("tournament", &e)),
    };
    let t = &v["tournament"];
    let is_bracket = t["format"] != json!("leaderboard");
    let bracket_view = if is_bracket {
        Some(
            ctx.call(
                "tournament_get_bracket",
                json!({"game_id": game, "tournament_id": id}),
            )
            .await,
        )
    } else {
        None
    };
    let ended = matches!(t["state"].as_str(), Some("ended" | "rewards_distributed"));
    let title = format!("Tournament {}", compact(&t["title"]));
    let body = html! {
        p { a href=(ctx.link("/tournaments")) { "All tournaments" } }
        table {
            @for k in ["tournament_id", "state", "ended_by", "format", "players", "max_players", "entry_fee", "registration_time", "start_time", "end_time", "recurrence", "description"] {
                @if !t[k].is_null() { tr { th { (k) } td.mono { (compact(&t[k])) } } }
            }
            tr { th { "prizes" } td {
                @for p in t["prizes"].as_array().into_iter().flatten() {
                    "places " (compact(&p["from"])) "–" (compact(&p["to"])) ": " code { (compact(&p["reward"])) } br;
                }
            } }
        }
        @if !ended {
            form.inline method="post" action=(format!("/tournaments/{id}/end")) {
                (csrf(ctx))
                input type="hidden" name="game" value=(game);
                button.danger type="submit" { "End now" }
                span.muted { " An active tournament ends with its standings as they are and pays its prizes; one not started yet is cancelled and its fees refunded." }
            }
        }
        @if let Some(b) = &bracket_view {
            h2 { "Bracket" }
            @match b {
                Ok(b) => (bracket(ctx, b)),
                Err(e) => p.muted { (e.to_string()) },
            }
        }
        h2 { "Standings" }
        @if let Some(records) = v["records"].as_array() {
            table id="standings" {
                tr { th.num { "rank" } th { "player" } th.num { "score" } th.num { "subscore" } }
                @for r in records {
                    tr { td.num { (compact(&r["rank"])) } td { a href=(ctx.link(&format!("/players/{}", compact(&r["owner_id"])))) { (compact(&r["username"])) } } td.num { (compact(&r["score"])) } td.num { (compact(&r["subscore"])) } }
                }
            }
        } @else {
            table id="standings" {
                tr { th.num { "place" } th { "player" } th.num { "wins" } th.num { "losses" } th.num { "draws" } th.num { "points" } }
                @for r in v["standings"].as_array().into_iter().flatten() {
                    tr { td.num { (compact(&r["place"])) } td { a href=(ctx.link(&format!("/players/{}", compact(&r["user_id"])))) { (compact(&r["username"])) } } td.num { (compact(&r["wins"])) } td.num { (compact(&r["losses"])) } td.num { (compact(&r["draws"])) } td.num { (compact(&r["points"])) } }
                }
            }
        }
    };
    ctx.ok("/tournaments", &title, body)
}

pub async fn act(ctx: &Ctx<'_>, id: &str, action: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.not_found();
    };
    if action != "end" {
        return ctx.not_found();
    }
    let outcome = ctx
        .call(
            "tournament_end_now",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .map(|v| {
            format!(
                "Tournament {} is {} (by {}).",
                compact(&v["tournament"]["title"]),
                compact(&v["tournament"]["state"]),
                compact(&v["tournament"]["ended_by"])
            )
        });
    ctx.done(&format!("/tournaments/{id}"), outcome)
}
