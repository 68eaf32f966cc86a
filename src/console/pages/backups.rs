//! Backups: what is kept, take one now, verify one.

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{bytes, compact, csrf, failed};
use crate::console::request::Page;

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let listed = ctx.call("backup_list", json!({})).await;
    let body = html! {
        form.inline method="post" action="/backups/create" {
            (csrf(ctx))
            button type="submit" { "Take a backup now" }
        }
        p.muted { "Backups are taken while the server serves (writes pause well under a millisecond). Restore one with " code { "outpost restore FILE" } " on the stopped server." }
        @match &listed {
            Ok(v) => {
                p { "In " code { (compact(&v["dir"])) } }
                table id="backups" {
                    tr { th { "file" } th { "created" } th.num { "size" } th.num { "records" } th { "" } }
                    @for b in v["backups"].as_array().into_iter().flatten() {
                        tr {
                            td.mono { (compact(&b["file"])) }
                            td { (compact(&b["created_at"])) }
                            td.num { (bytes(b["bytes"].as_u64().unwrap_or(0))) }
                            td.num { @if b["error"].is_null() { (compact(&b["records"])) } @else { span.tag.bad { (compact(&b["error"])) } } }
                            td {
                                form.inline method="post" action="/backups/verify" {
                                    (csrf(ctx))
                                    input type="hidden" name="file" value=(compact(&b["file"]));
                                    button.plain type="submit" { "Verify" }
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => (failed("backups", e)),
        }
    };
    ctx.ok("/backups", "Backups", body)
}

pub async fn act(ctx: &Ctx<'_>, action: &str) -> Page {
    let outcome = match action {
        "create" => ctx.call("backup_create", json!({})).await.map(|v| {
            format!(
                "Backup {} taken: {}, sha256 {}",
                compact(&v["path"]),
                bytes(v["bytes"].as_u64().unwrap_or(0)),
                compact(&v["sha256"])
            )
        }),
        "verify" => {
            let file = ctx.req.form("file").unwrap_or_default();
            ctx.call("backup_verify", json!({"file": file}))
                .await
                .map(|v| {
                    format!(
                        "{} is a good backup: {} records, sha256 {}",
                        compact(&v["file"]),
                        compact(&v["records"]),
                        compact(&v["sha256"])
                    )
                })
        }
        _ => return ctx.not_found(),
    };
    ctx.done("/backups", outcome)
}
