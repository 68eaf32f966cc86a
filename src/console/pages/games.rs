//! Games: every game this server hosts, with its clock.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let mut rows = Vec::new();
    for g in &ctx.games {
        let clock = ctx
            .call("dev_clock_get", json!({"game_id": g.id.to_string()}))
            .await
            .ok();
        rows.push((g, clock));
    }
    let body = html! {
        p.muted { "Register a game with " code { "outpost game create NAME" } "." }
        table {
            tr { th { "name" } th { "game_id" } th { "created" } th { "game time" } th { "settings" } }
            @for (g, clock) in &rows {
                tr {
                    td { a href=(format!("/players?game={}", g.id)) { (g.name) } }
                    td.mono { (g.id) }
                    td { (crate::time::rfc3339(g.created_at)) }
                    td {
                        @if let Some(c) = clock {
                            (c["now"].as_str().unwrap_or(""))
                            @if c["offset_secs"].as_i64().unwrap_or(0) != 0 {
                                " " span.tag.bad { "+" (c["offset_secs"]) " s (dev)" }
                            }
                        }
                    }
                    td.mono { (serde_json::to_string(&g.settings).unwrap_or_default()) }
                }
            }
        }
    };
    ctx.ok("/games", "Games", body)
}
