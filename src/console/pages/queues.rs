//! Matchmaking queues: each (mode, region) queue's size and waits, and the game's modes.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, failed, no_game};
use crate::console::request::Page;

fn secs(v: &serde_json::Value) -> String {
    match v.as_f64() {
        Some(s) => format!("{s:.1} s"),
        None => compact(v),
    }
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/queues", "Matchmaking queues", no_game());
    };
    let stats = ctx
        .call("matchmaking_get_queue_stats", json!({"game_id": game}))
        .await;
    let modes = ctx
        .call("matchmaking_list_modes", json!({"game_id": game}))
        .await;
    let body = html! {
        p.muted { "Figures since the server started; the page shows them as they are when it loads. Change the modes with the " code { "matchmaking_set_modes" } " admin RPC." }
        h2 { "Queues" }
        @match &stats {
            Ok(v) => {
                @let queues = v["queues"].as_array().cloned().unwrap_or_default();
                @if queues.is_empty() {
                    p { "No ticket has been queued in " (ctx.game_name()) " yet." }
                } @else {
                    table id="queues" {
                        tr { th { "mode" } th { "region" } th.num { "waiting tickets" } th.num { "waiting players" } th.num { "matched tickets" } th.num { "average wait" } th.num { "p90 wait" } th.num { "longest wait" } th.num { "matches last minute" } th.num { "matches" } }
                        @for q in &queues {
                            tr {
                                td { (compact(&q["mode"])) } td { (compact(&q["region"])) }
                                td.num { (compact(&q["waiting_tickets"])) } td.num { (compact(&q["waiting_players"])) }
                                td.num { (compact(&q["matched_tickets"])) }
                                td.num { (secs(&q["avg_wait_secs"])) } td.num { (secs(&q["p90_wait_secs"])) } td.num { (secs(&q["longest_wait_secs"])) }
                                td.num { (compact(&q["matches_last_minute"])) } td.num { (compact(&q["matches_total"])) }
                            }
                        }
                    }
                }
            }
            Err(e) => (failed("queue stats", e)),
        }
        h2 { "Modes" }
        @match &modes {
            Ok(v) => {
                table id="modes" {
                    tr { th { "mode" } th { "teams" } th { "players" } th { "rating" } th { "widening" } th { "expires after" } th { "regions" } th { "match" } }
                    @for m in v["modes"].as_array().into_iter().flatten() {
                        tr {
                            td { (compact(&m["name"])) }
                            td { (compact(&m["team_count"])) " × " (compact(&m["team_size"])) }
                            td { (compact(&m["min_players"])) "–" (compact(&m["max_players"])) }
                            td { (compact(&m["rating"])) " from " (compact(&m["initial_rating"])) }
                            td.mono { (compact(&m["widening"])) }
                            td { (compact(&m["expire_after_secs"])) " s" }
                            td { (compact(&m["regions"])) }
                            td { (compact(&m["match_mode"])) }
                        }
                    }
                }
            }
            Err(e) => (failed("modes", e)),
        }
    };
    ctx.ok("/queues", "Matchmaking queues", body)
}
