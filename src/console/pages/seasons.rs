//! Seasons: the running and the next season with their tier rewards (any season by id),
//! and granting season XP to a player (`season_grant_xp`, once per form).

use maud::{html, Markup};
use serde_json::{json, Value};

use super::leaderboards::resolve_user;
use super::Ctx;
use crate::console::layout::{compact, csrf, failed, no_game};
use crate::console::request::Page;

fn season_table(s: &Value) -> Markup {
    html! {
        table {
            @for k in ["season_id", "title", "state", "starts_at", "ends_at", "max_tier", "premium_price", "end_policy", "xp_sources", "description"] {
                @if !s[k].is_null() { tr { th { (k.replace('_', " ")) } td.mono { (compact(&s[k])) } } }
            }
        }
    }
}

fn reward(v: &Value) -> Markup {
    html! { @if v.is_null() { span.muted { "–" } } @else { code { (compact(v)) } } }
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/seasons", "Seasons", no_game());
    };
    let active = ctx
        .call("season_get_active", json!({"game_id": game}))
        .await;
    let asked = ctx.req.query("season_id");
    let shown = match (asked, &active) {
        (Some(id), _) => Some(id.to_string()),
        (None, Ok(v)) => v["season"]["season_id"]
            .as_str()
            .or(v["next_season"]["season_id"].as_str())
            .map(str::to_string),
        _ => None,
    };
    let rewards = match &shown {
        Some(id) => Some(
            ctx.call(
                "season_get_all_rewards",
                json!({"game_id": game, "season_id": id}),
            )
            .await,
        ),
        None => None,
    };
    let body = html! {
        p.muted { "Create seasons with the " code { "season_create" } " admin RPC; a season starts and ends on its own at its times (the game's clock)." }
        @match &active {
            Ok(v) => {
                div.grid2 {
                    section aria-labelledby="running" {
                        h2 id="running" { "Running" }
                        @if v["season"].is_null() { p { "No season is running." } } @else { (season_table(&v["season"])) }
                    }
                    section aria-labelledby="next" {
                        h2 id="next" { "Next" }
                        @if v["next_season"].is_null() { p { "None scheduled." } } @else { (season_table(&v["next_season"])) }
                    }
                }
            }
            Err(e) => (failed("seasons", e)),
        }
        h2 { "Tier rewards" }
        form.inline method="get" action="/seasons" {
            input type="hidden" name="game" value=(game);
            label for="season_id" { "Season id" }
            input id="season_id" name="season_id" type="text" value=(shown.clone().unwrap_or_default()) required;
            button.plain type="submit" { "Show" }
        }
        @match &rewards {
            Some(Ok(v)) => {
                table id="tiers" {
                    tr { th.num { "tier" } th.num { "XP" } th { "free track" } th { "premium track" } }
                    @for t in v["tiers"].as_array().into_iter().flatten() {
                        @if !t["free"].is_null() || !t["premium"].is_null() {
                            tr { td.num { (compact(&t["tier"])) } td.num { (compact(&t["xp"])) } td { (reward(&t["free"])) } td { (reward(&t["premium"])) } }
                        }
                    }
                }
                p.muted { "Tiers without a reward are left out." }
            }
            Some(Err(e)) => (failed("tier rewards", e)),
            None => {}
        }
        h2 { "Grant season XP" }
        form.inline method="post" action="/seasons/grant-xp" {
            (csrf(ctx))
            input type="hidden" name="game" value=(game);
            input type="hidden" name="key" value=(format!("console-{}", uuid::Uuid::new_v4()));
            label for="xp-user" { "Player (user id, username, email or device id)" }
            input id="xp-user" name="user" type="text" required size="30";
            label for="xp-amount" { "XP" }
            input id="xp-amount" name="amount" type="number" min="1" max="1000000" required;
            button type="submit" { "Grant" }
        }
        p.muted { "Live XP events multiply it, as for every other XP source." }
    };
    ctx.ok("/seasons", "Seasons", body)
}

pub async fn act(ctx: &Ctx<'_>, action: &str) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.not_found();
    };
    if action != "grant-xp" {
        return ctx.not_found();
    }
    let form = |k: &str| ctx.req.form(k).unwrap_or_default().trim().to_string();
    let outcome = match (
        resolve_user(ctx, "user", &form("user")).await,
        form("amount").parse::<u64>(),
    ) {
        (Err(e), _) => Err(e),
        (_, Err(_)) => Err(crate::rpc::RpcError::invalid(
            "amount: a whole number from 1 to 1000000",
        )),
        (Ok(user), Ok(amount)) => ctx
            .call(
                "season_grant_xp",
                json!({"game_id": game, "user_id": user, "amount": amount, "idempotency_key": form("key")}),
            )
            .await
            .map(|v| {
                let g = &v["grant"];
                format!(
                    "{} XP granted in season {} (×{} %): now {} XP, tier {}.",
                    compact(&g["xp_granted"]),
                    compact(&g["season_id"]),
                    compact(&g["multiplier_percent"]),
                    compact(&g["xp"]),
                    compact(&g["tier"])
                )
            }),
    };
    ctx.done("/seasons", outcome)
}
