//! Analytics: events per UTC day over a window of the game's time, per event name, with the
//! distinct players behind them (`analytics_query`).

use std::collections::{BTreeMap, BTreeSet};

use maud::html;
use serde_json::json;

use super::Ctx;
use crate::console::layout::{compact, failed, no_game};
use crate::console::request::Page;

const WINDOWS: &[u32] = &[7, 14, 30, 90];

type Days = BTreeMap<String, BTreeMap<String, u64>>;

/// `counts` as day → event name → count, and the names seen.
fn pivot(v: &serde_json::Value) -> (Days, BTreeSet<String>) {
    let mut table = Days::new();
    let mut columns = BTreeSet::new();
    for c in v["counts"].as_array().into_iter().flatten() {
        let name = compact(&c["name"]);
        columns.insert(name.clone());
        table
            .entry(compact(&c["day"]))
            .or_default()
            .insert(name, c["count"].as_u64().unwrap_or(0));
    }
    (table, columns)
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/analytics", "Analytics", no_game());
    };
    let days = ctx
        .req
        .query("days")
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| WINDOWS.contains(d))
        .unwrap_or(7);
    let names: Vec<String> = ctx
        .req
        .query("names")
        .map(|n| {
            n.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // The window ends at the game's now (its dev-mode clock included).
    let now = ctx
        .call("dev_clock_get", json!({"game_id": game}))
        .await
        .ok()
        .and_then(|c| c["now_unix"].as_i64())
        .unwrap_or_else(crate::time::now);
    let since = crate::time::rfc3339(now - 86_400 * i64::from(days - 1) - now.rem_euclid(86_400));
    let until = crate::time::rfc3339(now + 1);
    let mut query = json!({"game_id": game, "since": since, "until": until});
    if !names.is_empty() {
        query["names"] = json!(names);
    }
    let result = ctx.call("analytics_query", query).await;
    let body = html! {
        form.inline method="get" action="/analytics" {
            input type="hidden" name="game" value=(game);
            label for="days" { "Window" }
            select id="days" name="days" {
                @for d in WINDOWS { option value=(d) selected[*d == days] { "last " (d) " days" } }
            }
            label for="names" { "Only these events (comma-separated, optional)" }
            input id="names" name="names" type="text" value=(names.join(", ")) size="30";
            button.plain type="submit" { "Show" }
        }
        @match &result {
            Ok(v) => {
                @let (table, columns) = pivot(v);
                @let totals: Vec<u64> = table.values().map(|row| row.values().sum()).collect();
                @let most = totals.iter().copied().max().unwrap_or(0).max(1);
                p { (compact(&v["unique_users"])) " distinct player(s) sent events from " (compact(&v["since"])) " to " (compact(&v["until"])) "." }
                @if table.is_empty() {
                    p { "No event in this window." }
                } @else {
                    table id="events-per-day" {
                        tr { th { "day (UTC)" } @for n in &columns { th.num { (n) } } th.num { "all events" } th { span.visually-hidden { "share of the busiest day" } } }
                        @for (day, row) in &table {
                            @let total: u64 = row.values().sum();
                            tr {
                                td { (day) }
                                @for n in &columns { td.num { (row.get(n).copied().unwrap_or(0)) } }
                                td.num { (total) }
                                td { meter min="0" max=(most) value=(total) aria-label=(format!("{total} events on {day}")) { (total) } }
                            }
                        }
                    }
                    h2 { "Players per event" }
                    table {
                        tr { th { "event" } th.num { "distinct players" } }
                        @for (n, users) in v["unique_users_by_name"].as_object().into_iter().flatten() {
                            tr { td { (n) } td.num { (compact(users)) } }
                        }
                    }
                }
            }
            Err(e) => (failed("analytics", e)),
        }
    };
    ctx.ok("/analytics", "Analytics", body)
}
