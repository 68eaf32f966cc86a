//! Remote config: the current version, an editor for it (the JSON of its `default` values
//! and `audiences`), a review of the edit as a diff against the current version before it
//! is saved (`update_remote_config`, refused if someone saved in between), and the version
//! history with a rollback to any version (`remote_config_rollback`).

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::diff::{self, Line};
use crate::console::layout::{compact, csrf, failed, no_game, when};
use crate::console::request::Page;
use crate::rpc::RpcError;

/// What an edit covers: the default values and the audiences.
fn editable(version: &Value) -> Value {
    json!({
        "default": if version["default"].is_object() { version["default"].clone() } else { json!({}) },
        "audiences": if version["audiences"].is_array() { version["audiences"].clone() } else { json!([]) },
    })
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The edit as typed: an object with `default` (object) and `audiences` (array).
fn parse(text: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(m) = v.as_object() else {
        return Err("the config must be a JSON object with `default` and `audiences`".into());
    };
    if let Some(k) = m.keys().find(|k| *k != "default" && *k != "audiences") {
        return Err(format!(
            "`{k}`: only `default` and `audiences` are edited here"
        ));
    }
    if !m.get("default").is_some_and(Value::is_object) {
        return Err("`default` must be an object of keys and values".into());
    }
    if !m.get("audiences").is_none_or(Value::is_array) {
        return Err("`audiences` must be an array".into());
    }
    Ok(json!({
        "default": m["default"].clone(),
        "audiences": m.get("audiences").cloned().unwrap_or_else(|| json!([])),
    }))
}

/// The newest version (version 0, empty, before the first save) and the history page.
async fn history(ctx: &Ctx<'_>, game: &str) -> Result<(Value, Vec<Value>), RpcError> {
    let v = ctx
        .call(
            "remote_config_history",
            json!({"game_id": game, "limit": 50}),
        )
        .await?;
    let versions = v["versions"].as_array().cloned().unwrap_or_default();
    let current = versions
        .first()
        .cloned()
        .unwrap_or_else(|| json!({"version": 0, "default": {}, "audiences": []}));
    Ok((current, versions))
}

fn editor(ctx: &Ctx<'_>, game: &str, expected: &Value, text: &str, note: &str) -> Markup {
    html! {
        form.stack.wide method="post" action="/config/preview" {
            (csrf(ctx))
            input type="hidden" name="game" value=(game);
            input type="hidden" name="expected_version" value=(compact(expected));
            label for="config-json" { "Default values and audiences (JSON)" }
            textarea id="config-json" name="config" rows="18" spellcheck="false" required { (text) }
            label for="config-note" { "Note for the history (optional)" }
            input id="config-note" name="note" type="text" maxlength="500" value=(note);
            button type="submit" { "Review the change" }
        }
    }
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/config", "Remote config", no_game());
    };
    let (current, versions) = match history(ctx, &game).await {
        Ok(h) => h,
        Err(e) => return ctx.ok("/config", "Remote config", failed("remote config", &e)),
    };
    let body = html! {
        p {
            "Version " strong { (compact(&current["version"])) }
            @if !current["by"].is_null() { ", saved by " span.mono { (compact(&current["by"])) } " at " (compact(&current["at"])) }
            "."
        }
        p.muted { "Players fetch the resolved values with " code { "fetch_remote_config" } ": the highest-priority audience that matches a player wins each key, the default the rest. An edit is shown as a diff before it is saved." }
        (editor(ctx, &game, &current["version"], &pretty(&editable(&current)), ""))
        (history_table(ctx, &game, &versions, &current["version"]))
    };
    ctx.ok("/config", "Remote config", body)
}

fn history_table(ctx: &Ctx<'_>, game: &str, versions: &[Value], current: &Value) -> Markup {
    html! {
        h2 { "History" }
        @if versions.is_empty() {
            p { "Nothing saved yet." }
        } @else {
            table id="config-history" {
                tr { th.num { "version" } th { "saved" } th { "by" } th { "note" } th { "changes" } th { "" } }
                @for v in versions {
                    tr {
                        td.num { (compact(&v["version"])) }
                        td { (when(&v["at"])) }
                        td.mono { (compact(&v["by"])) }
                        td { (compact(&v["note"])) }
                        td {
                            @for c in v["changes"].as_array().into_iter().flatten() { (compact(c)) br; }
                            details { summary { "content" } pre { (pretty(&editable(v))) } }
                        }
                        td {
                            @if v["version"] != *current {
                                form.inline method="post" action="/config/rollback" {
                                    (csrf(ctx))
                                    input type="hidden" name="game" value=(game);
                                    input type="hidden" name="version" value=(compact(&v["version"]));
                                    button.plain type="submit" aria-label=(format!("Roll back to version {}", compact(&v["version"]))) { "Roll back to this" }
                                }
                            } @else {
                                span.tag { "current" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn diff_view(old: &str, new: &str) -> Markup {
    let lines = diff::lines(old, new);
    html! {
        pre.diff aria-label="Changes: lines starting with + are added, with − removed" {
            @for l in &lines {
                @match l {
                    Line::Same(t) => { span.same { "  " (t) } "\n" }
                    Line::Removed(t) => { del { "− " (t) } "\n" }
                    Line::Added(t) => { ins { "+ " (t) } "\n" }
                }
            }
        }
    }
}

/// The review: the diff against the current version, and the button that saves it.
async fn preview(ctx: &Ctx<'_>, game: &str) -> Page {
    let text = ctx.req.form("config").unwrap_or_default();
    let note = ctx.req.form("note").unwrap_or_default().trim();
    let (current, versions) = match history(ctx, game).await {
        Ok(h) => h,
        Err(e) => return ctx.ok("/config", "Remote config", failed("remote config", &e)),
    };
    let expected = ctx
        .req
        .form("expected_version")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(current["version"].clone(), |v| json!(v));
    let proposed = match parse(text) {
        Ok(v) => v,
        Err(why) => {
            let body = html! {
                p.banner.err role="alert" { "config: " (why) }
                (editor(ctx, game, &expected, text, note))
            };
            return ctx.ok("/config", "Remote config: fix the edit", body);
        }
    };
    let old = pretty(&editable(&current));
    let new = pretty(&proposed);
    let moved = expected != current["version"];
    let body = html! {
        @if moved {
            p.banner.err role="alert" { "Version " (compact(&current["version"])) " was saved since you started editing version " (compact(&expected)) ": the diff is against the newest version. Review your edit again from the editor below (it starts from the newest version) before you can save it." }
        }
        @if old == new {
            p { "Nothing differs from version " (compact(&current["version"])) ": saving would make no new version." }
        } @else {
            p { "Against version " (compact(&current["version"])) ":" }
            (diff_view(&old, &new))
            @if !moved { form.inline method="post" action="/config/save" {
                (csrf(ctx))
                input type="hidden" name="game" value=(game);
                input type="hidden" name="config" value=(new);
                input type="hidden" name="note" value=(note);
                input type="hidden" name="expected_version" value=(compact(&current["version"]));
                button type="submit" { "Save as a new version" }
            } }
        }
        h2 { "Edit again" }
        (editor(ctx, game, &current["version"], &new, note))
        (history_table(ctx, game, &versions, &current["version"]))
    };
    ctx.ok("/config", "Remote config: review the change", body)
}

pub async fn act(ctx: &Ctx<'_>, action: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.not_found();
    };
    let outcome = match action {
        "preview" => return preview(ctx, &game).await,
        "save" => {
            let text = ctx.req.form("config").unwrap_or_default();
            let expected = ctx
                .req
                .form("expected_version")
                .and_then(|v| v.parse::<u64>().ok());
            match parse(text) {
                Ok(v) => {
                    let note = ctx.req.form("note").unwrap_or_default().trim();
                    ctx.call(
                        "update_remote_config",
                        json!({"game_id": game, "default": v["default"], "audiences": v["audiences"],
                               "note": (!note.is_empty()).then_some(note), "expected_version": expected}),
                    )
                    .await
                    .map(|r| {
                        if r["changed"] == json!(false) {
                            "Nothing differed: no new version.".to_string()
                        } else {
                            format!("Saved version {}.", compact(&r["version"]))
                        }
                    })
                }
                Err(why) => Err(RpcError::invalid(format!("config: {why}"))),
            }
        }
        "rollback" => match ctx.req.form("version").and_then(|v| v.parse::<u64>().ok()) {
            Some(version) => ctx
                .call(
                    "remote_config_rollback",
                    json!({"game_id": game, "version": version}),
                )
                .await
                .map(|r| {
                    format!(
                        "Rolled back: version {} holds version {version}'s content.",
                        compact(&r["version"])
                    )
                }),
            None => Err(RpcError::invalid("version: a version number")),
        },
        _ => return ctx.not_found(),
    };
    ctx.done("/config", outcome)
}
