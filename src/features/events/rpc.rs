use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{Event, Participation};
use super::{rules, Due};
use crate::auth::UserId;
use crate::features::achievements::rules::check_id;
use crate::features::leaderboards;
use crate::features::paging;
use crate::features::rewards::Granted;
use crate::rpc::{RpcContext, RpcError};
use crate::store::GameStore;

fn state_now(e: &Event, now: i64) -> &'static str {
    use super::EventState::*;
    match e.state {
        Ended => "ended",
        Settling => "ending",
        _ if now >= e.ends_at => "ending",
        _ if now >= e.starts_at => "active",
        _ => "scheduled",
    }
}

fn event_view(e: &Event, now: i64) -> Value {
    json!({
        "event_id": e.event_id,
        "title": e.title,
        "description": e.description,
        "starts_at": crate::time::rfc3339(e.starts_at),
        "ends_at": crate::time::rfc3339(e.ends_at),
        "seconds_left": (e.ends_at - now).max(0),
        "occurrence": e.occurrence,
        "recurrence": e.recurrence,
        "xp_multiplier": e.xp_boost.as_ref().map(|b| f64::from(b.percent) / 100.0),
        "xp_applies_to": e.xp_boost.as_ref().map(|b| b.applies_to),
        "missions": e.missions,
        "goals": e.goals,
        "tournament": e.tournament,
        "leaderboard_id": e.tournament.as_ref().map(|_| super::board_id(&e.event_id, e.occurrence)),
        "state": state_now(e, now),
    })
}

fn paid_view(paid: &[(Due, Granted)]) -> Vec<Value> {
    paid.iter()
        .map(|(d, g)| json!({ "kind": d.kind, "id": d.id, "reason": d.reason, "granted": g }))
        .collect()
}

pub async fn create(ctx: RpcContext, req: rules::EventInput) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let now = game.now();
    let e = rules::event(&req, now)?;
    let e = super::create(&ctx.app, &game, e).await?;
    Ok(json!({ "event": event_view(&e, now) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    game_id: String,
    event_id: String,
}

/// `event_end` (admin): ends the event now (and its recurrence) and settles it once.
pub async fn end(ctx: RpcContext, req: EventRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    check_id("event_id", &req.event_id)?;
    let e = super::load(&game, &req.event_id)?
        .ok_or_else(|| RpcError::NotFound(format!("event_id: no event `{}`", req.event_id)))?;
    if e.state == super::EventState::Ended {
        return Err(RpcError::FailedPrecondition(format!(
            "event `{}` has already ended and was settled",
            req.event_id
        )));
    }
    let paid = super::settle(&ctx.app, &game, &req.event_id, true).await?;
    crate::features::moderation::audit::record(
        &ctx.app.store,
        &crate::features::moderation::actor(&ctx.caller),
        "event_end",
        &req.event_id,
        &format!("game {}, {} reward(s) paid", game.id(), paid),
    )?;
    let e = super::load(&game, &req.event_id)?
        .ok_or_else(|| RpcError::Internal("event vanished".into()))?;
    Ok(json!({ "event": event_view(&e, game.now()), "rewards_paid": paid }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameRequest {
    game_id: String,
}

/// `event_get_active_events`: every event running now, and the XP multipliers in force.
pub async fn active_events(ctx: RpcContext, req: GameRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let now = game.now();
    let all = super::all(&game)?;
    let live: Vec<Value> = all
        .iter()
        .filter(|e| rules::is_live(e, now))
        .map(|e| event_view(e, now))
        .collect();
    let upcoming: Vec<Value> = all
        .iter()
        .filter(|e| e.starts_at > now && e.state == super::EventState::Scheduled)
        .map(|e| event_view(e, now))
        .collect();
    let season = super::xp_multiplier(&game, now, super::XpTarget::Season)?;
    let profile = super::xp_multiplier(&game, now, super::XpTarget::Profile)?;
    Ok(json!({
        "events": live,
        "upcoming": upcoming,
        "xp_multiplier": { "season": f64::from(season) / 100.0, "profile": f64::from(profile) / 100.0 },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    game_id: String,
    event_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    /// A past occurrence of a recurring event (default: the current one).
    #[serde(default)]
    occurrence: Option<u32>,
}

fn progress_view(
    game: &GameStore,
    e: &Event,
    occ: u32,
    p: &Participation,
) -> Result<Value, RpcError> {
    let missions: Vec<Value> = e
        .missions
        .iter()
        .map(|m| {
            let progress = p.missions.get(&m.mission_id).copied().unwrap_or(0);
            let key = format!("event:{}:{occ}:mission:{}", e.event_id, m.mission_id);
            json!({
                "mission_id": m.mission_id,
                "title": m.title,
                "progress": progress,
                "target": m.target,
                "completed": progress >= m.target,
                "claimed": p.paid.contains(&key),
            })
        })
        .collect();
    let mut goals = Vec::new();
    for g in &e.goals {
        let total = super::total(game, &e.event_id, occ, &g.goal_id)?;
        let mine = p.contributions.get(&g.goal_id).copied().unwrap_or(0);
        let thresholds: Vec<Value> = g
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let key = format!("event:{}:{occ}:goal:{}:{i}", e.event_id, g.goal_id);
                json!({ "at": t.at, "reached": total >= t.at, "claimed": p.paid.contains(&key) })
            })
            .collect();
        goals.push(json!({
            "goal_id": g.goal_id,
            "title": g.title,
            "total": total,
            "contribution": mine,
            "min_contribution": g.min_contribution,
            "qualifies": rules::qualifies(g, mine),
            "thresholds": thresholds,
        }));
    }
    Ok(json!({ "occurrence": occ, "missions": missions, "goals": goals }))
}

pub async fn player_progress(ctx: RpcContext, req: ProgressRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    check_id("event_id", &req.event_id)?;
    let e = super::load(&game, &req.event_id)?
        .ok_or_else(|| RpcError::NotFound(format!("event_id: no event `{}`", req.event_id)))?;
    let occ = req.occurrence.unwrap_or(e.occurrence);
    if occ == 0 || occ > e.occurrence {
        return Err(RpcError::invalid(format!(
            "occurrence must be between 1 and {}",
            e.occurrence
        )));
    }
    let p = super::participation(&game, &e, occ, user)?;
    let mut v = progress_view(&game, &e, occ, &p)?;
    v["event"] = event_view(&e, game.now());
    v["user_id"] = json!(user);
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionRequest {
    game_id: String,
    event_id: String,
    mission_id: String,
    /// Progress to report (absent: the mission is complete).
    #[serde(default)]
    progress: Option<u64>,
    #[serde(default)]
    increment: bool,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `event_complete_mission`: progress on a limited-time mission (by default the game
/// server reports it; a mission may let players report, capped per call).
pub async fn complete_mission(ctx: RpcContext, req: MissionRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    check_id("mission_id", &req.mission_id)?;
    if req.increment && req.progress.is_none() {
        return Err(RpcError::invalid("increment: give the progress to add"));
    }
    let (m, progress) = super::report_mission(
        &game,
        &req.event_id,
        &req.mission_id,
        user,
        req.progress,
        req.increment,
        ctx.is_trusted(),
    )
    .await?;
    Ok(json!({
        "event_id": req.event_id,
        "mission_id": m.mission_id,
        "progress": progress,
        "target": m.target,
        "completed": progress >= m.target,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributeRequest {
    game_id: String,
    event_id: String,
    goal_id: String,
    amount: u64,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `event_contribute`: adds to a community goal's server-wide counter.
pub async fn contribute(ctx: RpcContext, req: ContributeRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    check_id("goal_id", &req.goal_id)?;
    let (total, mine, added) = super::contribute(
        &game,
        &req.event_id,
        &req.goal_id,
        user,
        req.amount,
        ctx.is_trusted(),
    )
    .await?;
    Ok(json!({
        "event_id": req.event_id,
        "goal_id": req.goal_id,
        "added": added,
        "contribution": mine,
        "total": total,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    game_id: String,
    event_id: String,
    #[serde(default)]
    mission_id: Option<String>,
    #[serde(default)]
    goal_id: Option<String>,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `event_claim_rewards`: completed missions and reached goal thresholds, each paid once.
pub async fn claim_rewards(ctx: RpcContext, req: ClaimRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let only = match (req.mission_id, req.goal_id) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid("give mission_id or goal_id, not both"))
        }
        (Some(m), None) => {
            check_id("mission_id", &m)?;
            Some(("mission", m))
        }
        (None, Some(g)) => {
            check_id("goal_id", &g)?;
            Some(("goal", g))
        }
        (None, None) => None,
    };
    let paid = super::claim(&ctx.app, &game, &req.event_id, user, only).await?;
    Ok(json!({ "event_id": req.event_id, "claimed": paid_view(&paid) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardRequest {
    game_id: String,
    event_id: String,
    /// One goal's contributors (default: all goals summed).
    #[serde(default)]
    goal_id: Option<String>,
    #[serde(default)]
    occurrence: Option<u32>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    game_id: String,
    event_id: String,
    score: i64,
    #[serde(default)]
    subscore: i64,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `event_submit_score`: a score in the event's tournament, while the event runs.
pub async fn submit_score(ctx: RpcContext, req: ScoreRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let standing = super::submit_score(
        &ctx.app,
        &game,
        &req.event_id,
        user,
        req.score,
        req.subscore,
        ctx.is_trusted(),
    )
    .await?;
    Ok(json!({ "event_id": req.event_id, "record": standing }))
}

/// `event_get_leaderboard`: the event tournament's ranking (its leaderboard), or without a
/// tournament (or with `goal_id`) the top contributors to its goals, ties by who reached
/// the amount first.
pub async fn leaderboard(ctx: RpcContext, req: LeaderboardRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    check_id("event_id", &req.event_id)?;
    let limit = paging::limit(req.limit, 10)?;
    let e = super::load(&game, &req.event_id)?
        .ok_or_else(|| RpcError::NotFound(format!("event_id: no event `{}`", req.event_id)))?;
    if let Some(g) = &req.goal_id {
        check_id("goal_id", g)?;
        if !e.goals.iter().any(|x| &x.goal_id == g) {
            return Err(RpcError::NotFound(format!(
                "goal_id: event `{}` has no goal `{g}`",
                e.event_id
            )));
        }
    }
    let occ = req.occurrence.unwrap_or(e.occurrence);
    if occ == 0 || occ > e.occurrence {
        return Err(RpcError::invalid(format!(
            "occurrence must be between 1 and {}",
            e.occurrence
        )));
    }
    let me = ctx.self_id();
    if e.tournament.is_some() && req.goal_id.is_none() {
        let board = super::board_id(&e.event_id, occ);
        let listing = leaderboards::top(&ctx.app, &game, &board, limit as u32, me).await?;
        let my_rank = match me {
            Some(u) => leaderboards::rank(&ctx.app, &game, &board, u, me)
                .await?
                .map(|s| s.rank),
            None => None,
        };
        let records: Vec<Value> = listing
            .records
            .iter()
            .map(|r| {
                json!({"rank": r.rank, "user_id": r.owner_id, "username": r.username,
                       "score": r.score, "subscore": r.subscore})
            })
            .collect();
        return Ok(json!({
            "event_id": e.event_id,
            "occurrence": occ,
            "leaderboard_id": board,
            "records": records,
            "participants": listing.rank_count,
            "my_rank": my_rank,
        }));
    }
    let mut rows = super::contributors(&game, &e, occ, req.goal_id.as_deref())?;
    // Banned players are hidden from rankings.
    rows.retain(|(u, _, _)| !matches!(ctx.app.auth.active_ban(*u), Ok(Some(_))));
    let my_rank = me.and_then(|u| rows.iter().position(|(x, _, _)| *x == u).map(|i| i + 1));
    let records: Vec<Value> = rows
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, (u, score, _))| json!({ "rank": i + 1, "user_id": u, "score": score }))
        .collect();
    Ok(json!({
        "event_id": e.event_id,
        "occurrence": occ,
        "goal_id": req.goal_id,
        "records": records,
        "participants": rows.len(),
        "my_rank": my_rank,
    }))
}
