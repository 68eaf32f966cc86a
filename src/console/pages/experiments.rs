//! Experiments: each running experiment's results — per variant, users, conversions of the
//! goal event, the difference against control with its 95 % confidence interval, z and
//! p-value — and any experiment's by id (ended ones too).

use maud::{html, Markup};
use serde_json::{json, Value};

use super::Ctx;
use crate::console::layout::{compact, failed, no_game};
use crate::console::request::Page;

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| compact(v), |x| format!("{:.2} %", x * 100.0))
}

/// A difference of two rates, in percentage points.
fn points(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| compact(v), |x| format!("{:+.2} pp", x * 100.0))
}

fn results(r: &Value) -> Markup {
    let e = &r["experiment"];
    html! {
        p {
            "Goal event " code { (compact(&r["goal_event"])) }
            ", control " strong { (compact(&r["control"])) }
            ", " (compact(&e["status"])) " from " (compact(&e["start"]))
            @if !e["end"].is_null() { " to " (compact(&e["end"])) }
            ". "
            @if r["sample_reached"] == json!(true) { "Every variant has its planned users." }
            @else { span.muted { "Not every variant has its planned users yet: read differences with care." } }
        }
        table.results {
            tr {
                th { "variant" } th.num { "users" } th.num { "conversions" } th.num { "rate" }
                th.num { "vs control" } th { "95 % confidence interval" } th.num { "z" } th.num { "p-value" } th { "significant" } th.num { "planned users" }
            }
            @for v in r["variants"].as_array().into_iter().flatten() {
                @let c = &v["versus_control"];
                tr {
                    td { (compact(&v["variant"])) }
                    td.num { (compact(&v["users"])) }
                    td.num { (compact(&v["conversions"])) }
                    td.num { (pct(&v["conversion_rate"])) }
                    @if c.is_null() {
                        td.num { "–" } td { "–" } td.num { "–" } td.num { "–" } td { "–" }
                    } @else {
                        td.num { (points(&c["difference"])) }
                        td { "[" (points(&c["ci_low"])) ", " (points(&c["ci_high"])) "]" }
                        td.num { (c["z"].as_f64().map_or_else(|| compact(&c["z"]), |z| format!("{z:.2}"))) }
                        td.num { (c["p_value"].as_f64().map_or_else(|| compact(&c["p_value"]), |p| format!("{p:.4}"))) }
                        td { @if v["significant"] == json!(true) { span.tag { "yes (p < 0.05)" } } @else { "no" } }
                    }
                    td.num { (compact(&v["planned_users"])) @if v["sample_reached"] == json!(true) { " ✓" } }
                }
            }
        }
    }
}

pub async fn page(ctx: &Ctx<'_>) -> Page {
    let Some(game) = ctx.game_id().map(|g| g.to_string()) else {
        return ctx.ok("/experiments", "Experiments", no_game());
    };
    let asked = ctx.req.query("experiment_id");
    let running = ctx
        .call("list_active_experiments", json!({"game_id": game}))
        .await;
    let mut ids: Vec<String> = Vec::new();
    if let Some(a) = asked {
        ids.push(a.to_string());
    }
    if let Ok(v) = &running {
        for e in v["experiments"].as_array().into_iter().flatten() {
            let id = compact(&e["experiment_id"]);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut shown = Vec::new();
    for id in &ids {
        let r = ctx
            .call(
                "experiment_get_results",
                json!({"game_id": game, "experiment_id": id}),
            )
            .await;
        shown.push((id.clone(), r));
    }
    let body = html! {
        p.muted { "Create experiments with " code { "experiment_create" } ". A conversion is the goal event sent by an assigned player at or after their assignment, within the experiment's window; the interval is the 95 % one of the difference (unpooled standard error), z and p from the two-sided two-proportion z-test." }
        form.inline method="get" action="/experiments" {
            input type="hidden" name="game" value=(game);
            label for="experiment_id" { "Experiment id (ended ones too)" }
            input id="experiment_id" name="experiment_id" type="text" value=(asked.unwrap_or_default()) required;
            button.plain type="submit" { "Show results" }
        }
        @if let Err(e) = &running { (failed("running experiments", e)) }
        @if shown.is_empty() { p { "No experiment is running in " (ctx.game_name()) "." } }
        @for (id, r) in &shown {
            section aria-labelledby=(format!("x-{id}")) {
                h2 id=(format!("x-{id}")) { (id) @if let Ok(r) = r { " — " (compact(&r["experiment"]["name"])) } }
                @match r {
                    Ok(r) => (results(r)),
                    Err(e) => (failed("results", e)),
                }
            }
        }
    };
    ctx.ok("/experiments", "Experiments", body)
}
