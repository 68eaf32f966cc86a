//! The audit log: every admin action, newest first.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, failed};
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let action = ctx.req.query("action");
    let entries = ctx
        .call("audit_list", json!({"limit": 200, "action": action}))
        .await;
    let body = html! {
        form.inline method="get" action="/audit" {
            @if let Some(g) = ctx.game_id() { input type="hidden" name="game" value=(g); }
            label for="action" { "Only this action" }
            input id="action" name="action" type="text" value=(action.unwrap_or_default()) placeholder="ban, wallet_update, backup_create…";
            button.plain type="submit" { "Filter" }
        }
        @match &entries {
            Ok(v) => {
                table id="audit" {
                    tr { th { "when" } th { "who" } th { "action" } th { "target" } th { "detail" } }
                    @for e in v["entries"].as_array().into_iter().flatten() {
                        tr { td { (compact(&e["at"])) } td.mono { (compact(&e["actor"])) } td { (compact(&e["action"])) } td.mono { (compact(&e["target"])) } td { (compact(&e["detail"])) } }
                    }
                }
            }
            Err(e) => (failed("audit log", e)),
        }
    };
    ctx.ok("/audit", "Audit log", body)
}
