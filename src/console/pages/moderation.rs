//! Moderation: active bans (lift one here), and suspicious realtime activity in the game.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, csrf, failed};
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let all = ctx.req.query("all").is_some();
    let bans = ctx
        .call("moderation_list_bans", json!({"all": all, "limit": 500}))
        .await;
    let suspicious = match ctx.game_id() {
        Some(g) => Some(
            ctx.call(
                "moderation_list_suspicious",
                json!({"game_id": g.to_string(), "limit": 100}),
            )
            .await,
        ),
        None => None,
    };
    let body = html! {
        h2 { "Bans" }
        p {
            @if all { a href=(ctx.link("/moderation")) { "Show active bans only" } }
            @else { a href=(ctx.link("/moderation?all=1")) { "Show lifted bans too" } }
        }
        @match &bans {
            Ok(v) => {
                table id="bans" {
                    tr { th { "player" } th { "reason" } th { "by" } th { "since" } th { "until" } th { "" } }
                    @for b in v["bans"].as_array().into_iter().flatten() {
                        tr {
                            td { a href=(ctx.link(&format!("/players/{}", compact(&b["user_id"])))) { (compact(&b["username"])) } }
                            td { (compact(&b["reason"])) }
                            td { (compact(&b["by"])) }
                            td { (compact(&b["created_at"])) }
                            td { @if b["until"].is_null() { "lifted by hand" } @else { (compact(&b["until"])) } }
                            td {
                                @if b["active"] == json!(true) {
                                    form.inline method="post" action=(format!("/players/{}/unban", compact(&b["user_id"]))) {
                                        (csrf(ctx))
                                        button.plain type="submit" { "Unban" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => (failed("bans", e)),
        }
        h2 { "Suspicious realtime activity in " (ctx.game_name()) }
        @match &suspicious {
            Some(Ok(v)) => {
                table {
                    tr { th { "player" } th { "kind" } th { "detail" } th.num { "count" } th { "match" } th { "at" } }
                    @for a in v["activities"].as_array().into_iter().flatten() {
                        tr {
                            td { a href=(ctx.link(&format!("/players/{}", compact(&a["user_id"])))) { span.mono { (compact(&a["user_id"])) } } }
                            td { (compact(&a["kind"])) } td { (compact(&a["detail"])) } td.num { (compact(&a["count"])) }
                            td.mono { (compact(&a["match_id"])) } td { (compact(&a["at"])) }
                        }
                    }
                }
            }
            Some(Err(e)) => (failed("anti-cheat", e)),
            None => p.muted { "No game registered yet." },
        }
    };
    ctx.ok("/moderation", "Moderation", body)
}
