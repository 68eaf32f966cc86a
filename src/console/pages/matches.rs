//! Live matches: the public rooms of the chosen game with their players and settings, and
//! the realtime transport's figures; finished matches with their results.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, failed};
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok(
            "/matches",
            "Live matches",
            html! { p { "No game registered yet." } },
        );
    };
    let rooms = ctx
        .call("room_list", json!({"game_id": game, "limit": 100}))
        .await;
    let online = ctx.call("presence_list", json!({"game_id": game})).await;
    let finished = ctx
        .call("match_list_history", json!({"game_id": game, "limit": 20}))
        .await;
    let body = html! {
        h2 { "Open rooms" }
        @match &rooms {
            Ok(v) => {
                table {
                    tr { th { "match" } th { "mode" } th { "label" } th.num { "players" } th.num { "tick rate" } th { "created" } }
                    @for r in v["rooms"].as_array().into_iter().flatten() {
                        tr {
                            td.mono { (compact(&r["match_id"])) } td { (compact(&r["mode"])) } td { (compact(&r["label"])) }
                            td.num { (compact(&r["size"])) " / " (compact(&r["max_size"])) }
                            td.num { (compact(&r["tick_rate"])) } td { (compact(&r["created_at"])) }
                        }
                    }
                }
            }
            Err(e) => (failed("rooms", e)),
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
