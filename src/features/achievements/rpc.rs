use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::rules::{self, DefinitionInput};
use super::{Origin, Outcome, Report};
use crate::auth::UserId;
use crate::features::rewards::Granted;
use crate::rpc::decode;
use crate::rpc::{RpcContext, RpcError};

/// The most definitions one bulk call takes.
const MAX_BULK: usize = 500;
/// The most reports one batch call takes.
const MAX_BATCH: usize = 100;

fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, RpcError> {
    match m.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RpcError::invalid(format!("{name}: must be text"))),
        None => Err(RpcError::invalid(format!("missing field `{name}`"))),
    }
}

fn take_bool(m: &mut Map<String, Value>, name: &str) -> Result<bool, RpcError> {
    match m.remove(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(RpcError::invalid(format!("{name}: must be true or false"))),
    }
}

/// `achievements_create_definition`: the definition's fields beside `game_id` (as the seeds
/// send them), `replace: true` to change an existing one.
pub async fn create_definition(ctx: RpcContext, req: Value) -> Result<Value, RpcError> {
    let Value::Object(mut m) = req else {
        return Err(RpcError::invalid("payload must be an object"));
    };
    let game = ctx.game(field(&m, "game_id")?)?;
    m.remove("game_id");
    let replace = take_bool(&mut m, "replace")?;
    let input: DefinitionInput = decode(Value::Object(m))?;
    let a = rules::definition("achievement", &input, game.now())?;
    super::store_definitions(&game, std::slice::from_ref(&a), replace)?;
    game.durable().await?;
    Ok(json!({ "achievement": a }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    game_id: String,
    achievements: Vec<Value>,
    #[serde(default)]
    replace: bool,
}

/// `achievements_bulk_create`: every definition checked first, then all stored together.
pub async fn bulk_create(ctx: RpcContext, req: BulkRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.achievements.is_empty() || req.achievements.len() > MAX_BULK {
        return Err(RpcError::invalid(format!(
            "achievements: give 1 to {MAX_BULK} definitions"
        )));
    }
    let now = game.now();
    let mut defs = Vec::with_capacity(req.achievements.len());
    for (i, v) in req.achievements.into_iter().enumerate() {
        let f = format!("achievements[{i}]");
        let input: DefinitionInput = decode(v).map_err(|e| e.within(&f))?;
        let a = rules::definition(&f, &input, now)?;
        if defs
            .iter()
            .any(|d: &super::Achievement| d.achievement_id == a.achievement_id)
        {
            return Err(RpcError::invalid(format!(
                "{f}.achievement_id: `{}` appears twice",
                a.achievement_id
            )));
        }
        defs.push(a);
    }
    let existing = super::definitions(&game)?;
    let new = defs
        .iter()
        .filter(|d| !existing.contains_key(&d.achievement_id))
        .count();
    if existing.len() + new > rules::MAX_ACHIEVEMENTS {
        return Err(RpcError::FailedPrecondition(format!(
            "a game holds at most {} achievements",
            rules::MAX_ACHIEVEMENTS
        )));
    }
    super::store_definitions(&game, &defs, req.replace)?;
    game.durable().await?;
    let ids: Vec<&str> = defs.iter().map(|a| a.achievement_id.as_str()).collect();
    Ok(json!({ "created": defs.len(), "achievement_ids": ids }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    game_id: String,
    category: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct Summary {
    total_achievements: usize,
    unlocked: usize,
    total_points: u64,
    points: u64,
    completion_percentage: f64,
}

fn listing(
    game: &crate::store::GameStore,
    user: UserId,
    category: Option<&str>,
) -> Result<(Vec<Value>, Summary), RpcError> {
    let defs = super::definitions(game)?;
    let progress = super::player_progress(game, user)?;
    let mut views = Vec::new();
    let mut s = Summary {
        total_achievements: 0,
        unlocked: 0,
        total_points: 0,
        points: 0,
        completion_percentage: 0.0,
    };
    for a in defs.values() {
        if category.is_some_and(|c| c != a.category) {
            continue;
        }
        let p = progress.get(&a.achievement_id).cloned().unwrap_or_default();
        s.total_achievements += 1;
        s.total_points += u64::from(a.points);
        s.points += u64::from(rules::points_held(a, &p));
        if p.unlocked_at.is_some() {
            s.unlocked += 1;
        }
        views.push(rules::view(a, &p));
    }
    s.completion_percentage = percent(s.unlocked as u64, s.total_achievements as u64);
    Ok((views, s))
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// `achievements_get_all`: every achievement with the player's progress (hidden ones as
/// `???` until unlocked), after bringing stat-following ones up to the player's stats.
pub async fn get_all(ctx: RpcContext, req: ListRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    super::sync_stats(&ctx.app, &game, user).await?;
    let (views, summary) = listing(&game, user, None)?;
    Ok(json!({ "achievements": views, "stats": summary }))
}

pub async fn get_by_category(ctx: RpcContext, req: CategoryRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    crate::features::profiles::rules::check_name("category", &req.category)?;
    if req.category == rules::HIDDEN_TEXT {
        return Err(RpcError::invalid("category: `???` is not a category"));
    }
    super::sync_stats(&ctx.app, &game, user).await?;
    let (views, summary) = listing(&game, user, Some(&req.category))?;
    Ok(json!({ "category": req.category, "achievements": views, "stats": summary }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    game_id: String,
    achievement_id: String,
    progress: u64,
    /// Add `progress` to what the player has (default: set it, never lower).
    #[serde(default)]
    increment: bool,
    #[serde(default)]
    user_id: Option<UserId>,
}

fn origin(ctx: &RpcContext) -> Origin {
    if ctx.is_trusted() {
        Origin::Server
    } else {
        Origin::Player
    }
}

fn outcome_view(o: &Outcome) -> Value {
    json!({
        "achievement": rules::view(&o.achievement, &o.progress),
        "just_unlocked": o.just_unlocked,
        "steps_reached": o.reached,
        "capped": o.capped,
    })
}

fn granted_sum(outcomes: &[Outcome]) -> Vec<&Granted> {
    outcomes.iter().flat_map(|o| o.granted.iter()).collect()
}

/// `achievements_update_progress`: one report; a step reached pays once.
pub async fn update_progress(ctx: RpcContext, req: UpdateRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let report = Report {
        achievement_id: req.achievement_id,
        value: req.progress,
        increment: req.increment,
    };
    let outcomes = super::report(&ctx.app, &game, user, &[report], origin(&ctx)).await?;
    super::sync_stats(&ctx.app, &game, user).await?;
    let o = &outcomes[0];
    let mut v = outcome_view(o);
    v["rewards_granted"] = json!(granted_sum(&outcomes));
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchUpdate {
    achievement_id: String,
    progress: u64,
    #[serde(default)]
    increment: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    game_id: String,
    updates: Vec<BatchUpdate>,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `batch_achievement_progress`: several reports for one player, all in one transaction.
pub async fn batch_progress(ctx: RpcContext, req: BatchRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.updates.is_empty() || req.updates.len() > MAX_BATCH {
        return Err(RpcError::invalid(format!(
            "updates: give 1 to {MAX_BATCH} reports"
        )));
    }
    let reports: Vec<Report> = req
        .updates
        .into_iter()
        .map(|u| Report {
            achievement_id: u.achievement_id,
            value: u.progress,
            increment: u.increment,
        })
        .collect();
    let outcomes = super::report(&ctx.app, &game, user, &reports, origin(&ctx)).await?;
    super::sync_stats(&ctx.app, &game, user).await?;
    let results: Vec<Value> = outcomes.iter().map(outcome_view).collect();
    Ok(json!({ "results": results, "rewards_granted": granted_sum(&outcomes) }))
}

/// `achievements_get_player_stats`: the player's unlocked count, points and completion, and
/// the share of the game's players who unlocked each achievement.
pub async fn player_stats(ctx: RpcContext, req: ListRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    super::sync_stats(&ctx.app, &game, user).await?;
    let (views, summary) = listing(&game, user, None)?;
    let (players, counts) = super::unlock_counts(&game)?;
    let rarity: Vec<Value> = views
        .iter()
        .map(|v| {
            let id = v["achievement_id"].as_str().unwrap_or_default();
            let n = counts.get(id).copied().unwrap_or(0);
            json!({
                "achievement_id": id,
                "unlocked_by": n,
                "unlocked_share_percentage": percent(n, players),
            })
        })
        .collect();
    Ok(json!({
        "user_id": user,
        "stats": summary,
        "players": players,
        "achievements": rarity,
    }))
}
