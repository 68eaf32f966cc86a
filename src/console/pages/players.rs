//! Players: find one by whatever a ticket names, see everything about them in the chosen
//! game, and act — ban (kicked at once), unban, grant currency or items with a reason,
//! take back today's daily claim. Every action is the admin RPC an API caller would make.

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::layout::{compact, csrf, failed};
use crate::console::request::Page;
use crate::rpc::RpcError;

pub async fn search(ctx: &Ctx<'_>) -> Page {
    let q = ctx.req.query("q");
    let found = match q {
        Some(q) => Some(ctx.call("player_search", json!({"query": q})).await),
        None => None,
    };
    // One exact match: go straight to the player.
    if let Some(Ok(v)) = &found {
        if let [only] = v["players"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(id) = only["user_id"].as_str() {
                return crate::console::request::redirect(&ctx.link(&format!("/players/{id}")));
            }
        }
    }
    let body = html! {
        form.inline method="get" action="/players" role="search" {
            @if let Some(g) = ctx.game_id() { input type="hidden" name="game" value=(g); }
            label for="q" { "User id, username, email, device id or custom id" }
            input id="q" name="q" type="search" value=(q.unwrap_or_default()) size="40" required;
            button type="submit" { "Find" }
        }
        @match &found {
            None => {}
            Some(Err(e)) => (failed("search", e)),
            Some(Ok(v)) => {
                @let players = v["players"].as_array().cloned().unwrap_or_default();
                @if players.is_empty() {
                    p { "No account matches " code { (q.unwrap_or_default()) } "." }
                } @else {
                    p { (players.len()) " accounts match: each matched on a different field." }
                    (player_table(ctx, &players))
                }
            }
        }
        h2 { "Accounts (the first 20 by id; search to find one)" }
        @match ctx.req.app.auth.list(20, None) {
            Ok(accounts) => {
                @let rows: Vec<Value> = accounts.iter().map(crate::features::players::account_view).collect();
                (player_table(ctx, &rows))
            }
            Err(e) => (failed("accounts", &e.into())),
        }
    };
    ctx.ok("/players", "Players", body)
}

fn player_table(ctx: &Ctx<'_>, players: &[Value]) -> Markup {
    html! {
        table {
            tr { th { "username" } th { "user id" } th { "email" } th { "role" } th { "matched by" } th { "created" } }
            @for p in players {
                tr {
                    td { a href=(ctx.link(&format!("/players/{}", compact(&p["user_id"])))) { (compact(&p["username"])) } }
                    td.mono { (compact(&p["user_id"])) }
                    td { (compact(&p["email"])) }
                    td { (compact(&p["role"])) }
                    td { (compact(&p["matched_by"])) }
                    td { (compact(&p["create_time"])) }
                }
            }
        }
    }
}

/// A fresh idempotency key for a grant form: submitting the same form twice pays once.
fn form_key() -> String {
    format!("console-{}", uuid::Uuid::new_v4())
}

pub async fn show(ctx: &Ctx<'_>, id: &str) -> Page {
    let Ok(uid) = uuid::Uuid::parse_str(id) else {
        return ctx.not_found();
    };
    let game = ctx.game_id().map(|g| g.to_string());
    let got = ctx
        .call("player_get", json!({"user_id": uid, "game_id": game}))
        .await;
    let who = match got {
        Ok(v) => v,
        Err(RpcError::NotFound(_)) => return ctx.not_found(),
        Err(e) => return ctx.ok("/players", "Player", failed("player", &e)),
    };
    let p = &who["player"];
    let title = format!("Player {}", compact(&p["username"]));
    let for_game = |rpc: &'static str, extra: Value| {
        let mut payload = json!({"game_id": game, "user_id": uid});
        if let (Some(m), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        async move { ctx.call(rpc, payload).await }
    };
    let (profile, wallet, ledger, inventory, history, daily, suspicious) = if game.is_some() {
        (
            Some(for_game("profile_get", json!({})).await),
            Some(for_game("wallet_get", json!({})).await),
            Some(for_game("wallet_ledger_list", json!({"limit": 20})).await),
            Some(for_game("inventory_list", json!({})).await),
            Some(for_game("match_list_history", json!({"limit": 10})).await),
            Some(for_game("daily_rewards_get_status", json!({})).await),
            Some(for_game("moderation_list_suspicious", json!({"limit": 20})).await),
        )
    } else {
        (None, None, None, None, None, None, None)
    };
    let collection = ctx.req.query("collection");
    let saves = match (collection, &game) {
        (Some(c), Some(_)) => {
            Some(for_game("cloud_save_list", json!({"collection": c, "limit": 50})).await)
        }
        _ => None,
    };
    let action = |name: &str| format!("/players/{uid}/{name}");
    let body = html! {
        div.grid2 {
            section aria-labelledby="account" {
                h2 id="account" { "Account" }
                table {
                    @for k in ["user_id", "username", "display_name", "email", "role", "devices", "custom_id", "lang_tag", "create_time", "update_time"] {
                        tr { th { (k) } td.mono { (compact(&p[k])) } }
                    }
                }
                h2 { "Ban" }
                @if who["ban"].is_null() {
                    p { "Not banned." }
                } @else {
                    p.banner.err {
                        "Banned: " (compact(&who["ban"]["reason"]))
                        " — until " (if who["ban"]["until"].is_null() { "lifted".to_string() } else { compact(&who["ban"]["until"]) })
                        " (by " (compact(&who["ban"]["by"])) ")"
                    }
                    form.inline method="post" action=(action("unban")) {
                        (csrf(ctx))
                        @if let Some(g) = &game { input type="hidden" name="game" value=(g); }
                        button type="submit" { "Unban" }
                    }
                }
                form.inline method="post" action=(action("ban")) {
                    (csrf(ctx))
                    @if let Some(g) = &game { input type="hidden" name="game" value=(g); }
                    label for="ban-for" { "For" }
                    select id="ban-for" name="duration" {
                        option value="1h" { "1 hour" }
                        option value="24h" selected { "24 hours" }
                        option value="7d" { "7 days" }
                        option value="30d" { "30 days" }
                        option value="" { "for good" }
                    }
                    label for="ban-reason" { "Reason" }
                    input id="ban-reason" name="reason" type="text" maxlength="256" required;
                    button.danger type="submit" { "Ban and kick" }
                }
                h2 { "Online" }
                @match who["online"].as_array().filter(|a| !a.is_empty()) {
                    Some(list) => {
                        @for o in list {
                            p { (compact(&o["sessions"])) " live connection(s); in matches: " (compact(&o["match_ids"])) }
                        }
                    }
                    None => p.muted { "Not connected to " (ctx.game_name()) "." },
                }
            }
            @if let Some(g) = &game {
                section aria-labelledby="economy" {
                    h2 id="economy" { "In " (ctx.game_name()) }
                    @match &profile {
                        Some(Ok(v)) => {
                            @let pr = &v["profile"];
                            p { "Level " (compact(&pr["level"])) ", " (compact(&pr["xp"])) " XP; stats " code { (compact(&pr["stats"])) } }
                        }
                        Some(Err(e)) => (failed("profile", e)),
                        None => {}
                    }
                    h2 { "Wallet" }
                    @match &wallet {
                        Some(Ok(v)) => {
                            table {
                                tr { th { "currency" } th.num { "balance" } }
                                @for (c, n) in v["wallet"].as_object().into_iter().flatten() {
                                    tr { td { (c) } td.num { (compact(n)) } }
                                }
                            }
                        }
                        Some(Err(e)) => (failed("wallet", e)),
                        None => {}
                    }
                    fieldset {
                        legend { "Grant currency" }
                        form.inline method="post" action=(action("grant")) {
                            (csrf(ctx))
                            input type="hidden" name="game" value=(g);
                            input type="hidden" name="key" value=(form_key());
                            label for="g-currency" { "Currency" }
                            input id="g-currency" name="currency" type="text" required size="10";
                            label for="g-amount" { "Amount (negative takes away)" }
                            input id="g-amount" name="amount" type="number" required;
                            label for="g-reason" { "Reason" }
                            input id="g-reason" name="reason" type="text" required maxlength="256";
                            button type="submit" { "Grant" }
                        }
                    }
                    fieldset {
                        legend { "Grant an item" }
                        form.inline method="post" action=(action("grant-item")) {
                            (csrf(ctx))
                            input type="hidden" name="game" value=(g);
                            input type="hidden" name="key" value=(form_key());
                            label for="i-id" { "Item id" }
                            input id="i-id" name="item" type="text" required size="14";
                            label for="i-qty" { "Quantity" }
                            input id="i-qty" name="quantity" type="number" min="1" value="1" required;
                            label for="i-reason" { "Reason" }
                            input id="i-reason" name="reason" type="text" required maxlength="256";
                            button type="submit" { "Grant" }
                        }
                    }
                    h2 { "Daily reward" }
                    @match &daily {
                        Some(Ok(v)) => {
                            p { "Streak " (compact(&v["streak"])) ", claimable today: " (compact(&v["claimable"])) }
                            @if v["claimable"] == json!(false) {
                                form.inline method="post" action=(action("reset-daily")) {
                                    (csrf(ctx))
                                    input type="hidden" name="game" value=(g);
                                    button.plain type="submit" { "Take back today's claim" }
                                }
                            }
                        }
                        Some(Err(e)) => p.muted { (e.to_string()) },
                        None => {}
                    }
                }
            }
        }
        @if game.is_some() {
            h2 { "Ledger (newest 20)" }
            @match &ledger {
                Some(Ok(v)) => {
                    table {
                        tr { th { "seq" } th { "change" } th { "balances after" } th { "reason" } th { "when" } }
                        @for e in v["entries"].as_array().into_iter().flatten() {
                            tr { td.num { (compact(&e["seq"])) } td.mono { (compact(&e["changeset"])) } td.mono { (compact(&e["balances"])) } td { (compact(&e["reason"])) } td { (compact(&e["created_at"])) } }
                        }
                    }
                }
                Some(Err(e)) => (failed("ledger", e)),
                None => {}
            }
            h2 { "Inventory" }
            @match &inventory {
                Some(Ok(v)) => {
                    table {
                        tr { th { "item" } th.num { "quantity" } th { "unique" } th { "properties" } }
                        @for i in v["items"].as_array().into_iter().flatten() {
                            tr { td { (compact(&i["id"])) } td.num { (compact(&i["quantity"])) } td { (compact(&i["unique"])) } td.mono { (compact(&i["properties"])) } }
                        }
                    }
                }
                Some(Err(e)) => (failed("inventory", e)),
                None => {}
            }
            h2 { "Storage objects" }
            form.inline method="get" action=(format!("/players/{uid}")) {
                @if let Some(g) = &game { input type="hidden" name="game" value=(g); }
                label for="collection" { "Collection" }
                input id="collection" name="collection" type="text" value=(collection.unwrap_or_default()) required;
                button.plain type="submit" { "List" }
            }
            @match &saves {
                Some(Ok(v)) => {
                    table {
                        tr { th { "key" } th { "version" } th { "value" } th { "updated" } }
                        @for o in v["objects"].as_array().into_iter().flatten() {
                            tr { td { (compact(&o["key"])) } td.mono { (compact(&o["version"])) } td.mono { (compact(&o["value"])) } td { (compact(&o["update_time"])) } }
                        }
                    }
                }
                Some(Err(e)) => (failed("storage", e)),
                None => {}
            }
            h2 { "Recent matches" }
            @match &history {
                Some(Ok(v)) => {
                    table {
                        tr { th { "match" } th { "mode" } th { "winner" } th { "ended" } }
                        @for m in v["matches"].as_array().into_iter().flatten() {
                            tr { td.mono { (compact(&m["match_id"])) } td { (compact(&m["mode"])) } td { (compact(&m["winner"])) } td { (compact(&m["ended_at"])) } }
                        }
                    }
                }
                Some(Err(e)) => (failed("matches", e)),
                None => {}
            }
            h2 { "Anti-cheat flags" }
            @match &suspicious {
                Some(Ok(v)) => {
                    table {
                        tr { th { "kind" } th { "detail" } th.num { "count" } th { "match" } th { "at" } }
                        @for a in v["activities"].as_array().into_iter().flatten() {
                            tr { td { (compact(&a["kind"])) } td { (compact(&a["detail"])) } td.num { (compact(&a["count"])) } td.mono { (compact(&a["match_id"])) } td { (compact(&a["at"])) } }
                        }
                    }
                }
                Some(Err(e)) => (failed("anti-cheat", e)),
                None => {}
            }
        }
    };
    ctx.ok("/players", &title, body)
}

pub async fn act(ctx: &Ctx<'_>, id: &str, action: &str) -> Page {
    let Ok(uid) = uuid::Uuid::parse_str(id) else {
        return ctx.not_found();
    };
    let back = format!("/players/{uid}");
    let f = |k: &str| {
        ctx.req
            .form(k)
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    let game = ctx.game_id().map(|g| g.to_string());
    let outcome = match action {
        "ban" => {
            let duration = f("duration");
            let duration = (!duration.is_empty()).then_some(duration);
            ctx.call(
                "moderation_ban",
                json!({"user": uid.to_string(), "duration": duration, "reason": f("reason")}),
            )
            .await
            .map(|_| "Banned: their live connections were closed.".to_string())
        }
        "unban" => ctx
            .call("moderation_unban", json!({"user": uid.to_string()}))
            .await
            .map(|v| {
                if v["unbanned"] == json!(true) {
                    "Ban lifted.".to_string()
                } else {
                    "They were not banned.".to_string()
                }
            }),
        "grant" => match f("amount").parse::<i64>() {
            Ok(amount) => ctx
                .call(
                    "wallet_update",
                    json!({"game_id": game, "user_id": uid, "changeset": {f("currency"): amount},
                           "reason": f("reason"), "idempotency_key": f("key")}),
                )
                .await
                .map(|v| format!("Wallet now {}", compact(&v["wallet"]))),
            Err(_) => Err(RpcError::invalid("amount: a whole number")),
        },
        "grant-item" => match f("quantity").parse::<u64>() {
            Ok(quantity) => ctx
                .call(
                    "inventory_grant",
                    json!({"game_id": game, "user_id": uid, "items": [{"id": f("item"), "quantity": quantity}],
                           "reason": f("reason"), "idempotency_key": f("key")}),
                )
                .await
                .map(|_| format!("Granted {quantity} × {}.", f("item"))),
            Err(_) => Err(RpcError::invalid("quantity: a whole number of at least 1")),
        },
        "reset-daily" => ctx
            .call("daily_rewards_reset", json!({"game_id": game, "user_id": uid}))
            .await
            .map(|_| "Today's daily claim was taken back: they may claim again.".to_string()),
        _ => return ctx.not_found(),
    };
    ctx.done(&back, outcome)
}
