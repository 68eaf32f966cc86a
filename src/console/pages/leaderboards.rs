//! Leaderboards: the game's boards, one board's top N, and hiding an owner from a board
//! (or showing them again) through `leaderboard_hide_owner` / `leaderboard_unhide_owner`.

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::layout::{compact, csrf, failed, no_game, segment, when};
use crate::console::request::Page;
use crate::rpc::RpcError;

const TOP_DEFAULT: u32 = 50;

pub async fn list(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/leaderboards", "Leaderboards", no_game());
    };
    let cursor = ctx.req.query("cursor");
    let boards = ctx
        .call(
            "leaderboard_list",
            json!({"game_id": game, "limit": 100, "cursor": cursor}),
        )
        .await;
    let body = html! {
        p.muted { "Create boards with the " code { "leaderboard_create" } " admin RPC. Banned players are left out of every board while banned." }
        @match &boards {
            Ok(v) => {
                @let list = v["leaderboards"].as_array().cloned().unwrap_or_default();
                @if list.is_empty() {
                    p { "No leaderboard in " (ctx.game_name()) " yet." }
                } @else {
                    table id="leaderboards" {
                        tr { th { "board" } th { "sort" } th { "operator" } th { "reset" } th { "submitted by" } th { "period ends" } th.num { "archived periods" } }
                        @for b in &list {
                            @let id = compact(&b["id"]);
                            tr {
                                td { a href=(ctx.link(&format!("/leaderboards/{}", segment(&id)))) { (id) } }
                                td { (compact(&b["sort"])) } td { (compact(&b["operator"])) } td { (compact(&b["reset"])) }
                                td { (compact(&b["submitters"])) } td { (when(&b["expiry"])) }
                                td.num { (b["archived"].as_array().map_or(0, Vec::len)) }
                            }
                        }
                    }
                    @if let Some(next) = v["cursor"].as_str() {
                        p { a href=(ctx.link(&format!("/leaderboards?cursor={}", segment(next)))) { "Next page" } }
                    }
                }
            }
            Err(e) => (failed("leaderboards", e)),
        }
    };
    ctx.ok("/leaderboards", "Leaderboards", body)
}

fn owner_form(ctx: &Ctx<'_>, game: &str, board: &str, action: &str, label: &str) -> Markup {
    let field = format!("{action}-owner");
    html! {
        form.inline method="post" action=(format!("/leaderboards/{}/{action}", segment(board))) {
            (csrf(ctx))
            input type="hidden" name="game" value=(game);
            label for=(field) { "User id, username, email or device id" }
            input id=(field) name="owner" type="text" required size="36";
            button.plain type="submit" { (label) }
        }
    }
}

pub async fn show(ctx: &Ctx<'_>, id: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/leaderboards", "Leaderboards", no_game());
    };
    let n = ctx
        .req
        .query("n")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(TOP_DEFAULT)
        .clamp(1, 1000);
    let top = ctx
        .call(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": id, "limit": n}),
        )
        .await;
    if let Err(RpcError::NotFound(_)) = &top {
        return ctx.not_found();
    }
    let title = format!("Leaderboard {id}");
    let body = html! {
        p { a href=(ctx.link("/leaderboards")) { "All leaderboards" } }
        form.inline method="get" action=(format!("/leaderboards/{}", segment(id))) {
            input type="hidden" name="game" value=(game);
            label for="n" { "Show the top" }
            input id="n" name="n" type="number" min="1" max="1000" value=(n);
            button.plain type="submit" { "Show" }
        }
        @match &top {
            Ok(v) => {
                p { (compact(&v["rank_count"])) " ranked records this period (hidden and banned owners left out)." }
                table id="records" {
                    tr { th.num { "rank" } th { "player" } th.num { "score" } th.num { "subscore" } th.num { "submissions" } th { "updated" } th { "" } }
                    @for r in v["records"].as_array().into_iter().flatten() {
                        (record_row(ctx, &game, id, r))
                    }
                }
            }
            Err(e) => (failed("records", e)),
        }
        h2 { "Hide or show an owner" }
        p.muted { "A hidden owner drops out of this board's ranks (the ranks below close up); they still see themself. Their records stay stored." }
        (owner_form(ctx, &game, id, "hide", "Hide from this board"))
        (owner_form(ctx, &game, id, "unhide", "Show again"))
    };
    ctx.ok("/leaderboards", &title, body)
}

fn record_row(ctx: &Ctx<'_>, game: &str, board: &str, r: &Value) -> Markup {
    let owner = compact(&r["owner_id"]);
    html! {
        tr {
            td.num { (compact(&r["rank"])) }
            td { a href=(ctx.link(&format!("/players/{owner}"))) { (compact(&r["username"])) } }
            td.num { (compact(&r["score"])) } td.num { (compact(&r["subscore"])) }
            td.num { (compact(&r["num_score"])) } td { (when(&r["update_time"])) }
            td {
                form.inline method="post" action=(format!("/leaderboards/{}/hide", segment(board))) {
                    (csrf(ctx))
                    input type="hidden" name="game" value=(game);
                    input type="hidden" name="owner" value=(owner);
                    button.plain type="submit" aria-label=(format!("Hide {}", compact(&r["username"]))) { "Hide" }
                }
            }
        }
    }
}

/// A user id from what an admin typed: an id as it is, else the one account
/// `player_search` finds.
pub async fn resolve_user(ctx: &Ctx<'_>, field: &str, text: &str) -> Result<String, RpcError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RpcError::invalid(format!("{field}: name a player")));
    }
    if let Ok(id) = uuid::Uuid::parse_str(text) {
        return Ok(id.to_string());
    }
    let found = ctx.call("player_search", json!({"query": text})).await?;
    match found["players"].as_array().map(Vec::as_slice) {
        Some([one]) => Ok(compact(&one["user_id"])),
        Some([]) | None => Err(RpcError::invalid(format!(
            "{field}: no account matches {text}"
        ))),
        Some(_) => Err(RpcError::invalid(format!(
            "{field}: several accounts match {text}: use the user id"
        ))),
    }
}

pub async fn act(ctx: &Ctx<'_>, id: &str, action: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.not_found();
    };
    let (rpc, done, already) = match action {
        "hide" => (
            "leaderboard_hide_owner",
            "hidden from",
            "was already hidden from",
        ),
        "unhide" => (
            "leaderboard_unhide_owner",
            "shown again on",
            "was not hidden from",
        ),
        _ => return ctx.not_found(),
    };
    let outcome = match resolve_user(ctx, "owner", ctx.req.form("owner").unwrap_or_default()).await
    {
        Ok(owner) => ctx
            .call(
                rpc,
                json!({"game_id": game, "leaderboard_id": id, "owner_id": owner}),
            )
            .await
            .map(|v| {
                if v["changed"] == json!(false) {
                    format!("Nothing changed: {owner} {already} {id}.")
                } else {
                    format!("{owner} is {done} {id}.")
                }
            }),
        Err(e) => Err(e),
    };
    ctx.done(&format!("/leaderboards/{}", segment(id)), outcome)
}
