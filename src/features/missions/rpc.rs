use serde::{Deserialize, Serialize};

use super::model::{DayProgress, Mission, MissionPool, Reporter};
use super::{rules, MissionError, POOLS, PROGRESS};
use crate::auth::UserId;
use crate::features::rewards::{self, Granted, Reward};
use crate::features::vault::{fail, Vault, EXTRA};
use crate::rpc::{RpcContext, RpcError};
use crate::store::{GameStore, Key, Tree};
use crate::time::{day_start, utc_day};

fn pool_key() -> Key {
    Key::new().str("pool")
}

fn progress_key(user: UserId, day: i64) -> Key {
    Key::new().uuid(user).i64(day)
}

fn load_pool(game: &GameStore) -> Result<MissionPool, MissionError> {
    game.tree(POOLS)?
        .get(pool_key())?
        .ok_or(MissionError::NotConfigured)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetDefinitionsRequest {
    game_id: String,
    missions: Vec<Mission>,
    #[serde(default)]
    daily_count: Option<u32>,
}

#[derive(Serialize)]
pub struct DefinitionsReply {
    missions: Vec<Mission>,
    daily_count: u32,
}

pub async fn set_definitions(
    ctx: RpcContext,
    req: SetDefinitionsRequest,
) -> Result<DefinitionsReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let daily_count = req
        .daily_count
        .unwrap_or_else(|| rules::DEFAULT_DAILY_COUNT.min(req.missions.len() as u32));
    rules::check_pool(&req.missions, daily_count)?;
    let pool = MissionPool {
        missions: req.missions,
        daily_count,
        updated_at: game.now(),
    };
    game.tree(POOLS)?.insert(pool_key(), &pool)?;
    game.durable().await?;
    Ok(DefinitionsReply {
        missions: pool.missions,
        daily_count: pool.daily_count,
    })
}

#[derive(Serialize)]
pub struct MissionView {
    id: String,
    title: String,
    description: String,
    stat: String,
    target: u64,
    progress: u64,
    completed: bool,
    claimed: bool,
    reward: Reward,
    progress_by: Reporter,
}

fn view(m: &Mission, day: &DayProgress) -> MissionView {
    let p = day.missions.get(&m.id).cloned().unwrap_or_default();
    MissionView {
        id: m.id.clone(),
        title: m.title.clone(),
        description: m.description.clone(),
        stat: m.stat.clone(),
        target: m.target,
        progress: p.progress,
        completed: p.progress >= m.target,
        claimed: p.claimed,
        reward: m.reward.clone(),
        progress_by: m.progress_by,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct DailyReply {
    user_id: UserId,
    /// The UTC date these missions are for.
    date: String,
    /// RFC 3339: when the next selection starts.
    resets_at: String,
    missions: Vec<MissionView>,
    /// Yesterday's completed missions not yet claimed: still claimable today.
    unclaimed_yesterday: Vec<MissionView>,
}

pub async fn get_daily(ctx: RpcContext, req: DailyRequest) -> Result<DailyReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let pool = load_pool(&game)?;
    let today = utc_day(game.now());
    let tree = game.tree(PROGRESS)?;
    let day: DayProgress = tree.get(progress_key(user, today))?.unwrap_or_default();
    let missions = rules::selection_for(&pool.missions, pool.daily_count, user, today, &day)
        .into_iter()
        .map(|m| view(m, &day))
        .collect();
    let yesterday = today - 1;
    let before: DayProgress = tree.get(progress_key(user, yesterday))?.unwrap_or_default();
    let unclaimed_yesterday =
        rules::selection_for(&pool.missions, pool.daily_count, user, yesterday, &before)
            .into_iter()
            .map(|m| view(m, &before))
            .filter(|v| v.completed && !v.claimed)
            .collect();
    Ok(DailyReply {
        user_id: user,
        date: date(today),
        resets_at: crate::time::rfc3339(day_start(today + 1)),
        missions,
        unclaimed_yesterday,
    })
}

/// `YYYY-MM-DD` of a UTC day.
fn date(day: i64) -> String {
    crate::time::rfc3339(day_start(day))[..10].to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    /// One mission of today's …
    #[serde(default)]
    mission_id: Option<String>,
    /// … or every mission of today's on this stat.
    #[serde(default)]
    stat: Option<String>,
    /// How much progress to add (default 1).
    #[serde(default)]
    amount: Option<u64>,
}

#[derive(Serialize)]
pub struct ProgressReply {
    user_id: UserId,
    /// The missions this report advanced, as they now stand.
    updated: Vec<MissionView>,
}

pub async fn update_progress(
    ctx: RpcContext,
    req: ProgressRequest,
) -> Result<ProgressReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let amount = req.amount.unwrap_or(1);
    if amount == 0 {
        return Err(RpcError::invalid("amount must be at least 1"));
    }
    if req.mission_id.is_some() == req.stat.is_some() {
        return Err(RpcError::invalid("name exactly one of mission_id or stat"));
    }
    let pool = load_pool(&game)?;
    let today = utc_day(game.now());
    let trusted = ctx.is_trusted();
    let tree = game.tree(PROGRESS)?;
    let key = progress_key(user, today);
    let updated = Tree::transaction(&[&tree], |tx| {
        let mut day: DayProgress = tx.get(0, &key)?.unwrap_or_default();
        let todays = rules::selection_for(&pool.missions, pool.daily_count, user, today, &day);
        let targets: Vec<&Mission> = match (&req.mission_id, &req.stat) {
            (Some(id), _) => {
                let m = todays
                    .iter()
                    .find(|m| &m.id == id)
                    .ok_or_else(|| fail::<RpcError, _>(MissionError::NotToday(id.clone())))?;
                vec![*m]
            }
            (None, Some(stat)) => todays.iter().copied().filter(|m| &m.stat == stat).collect(),
            (None, None) => Vec::new(),
        };
        if !trusted {
            if let Some(m) = targets.iter().find(|m| m.progress_by == Reporter::Server) {
                return Err(fail(MissionError::ServerOnly(m.id.clone())));
            }
        }
        if day.selection.is_empty() {
            day.selection = todays.iter().map(|m| m.id.clone()).collect();
        }
        for m in &targets {
            let p = day.missions.entry(m.id.clone()).or_default();
            p.progress = rules::advance(p.progress, amount, m.target);
        }
        tx.insert(0, &key, &day)?;
        Ok(targets.iter().map(|m| view(m, &day)).collect::<Vec<_>>())
    })?;
    game.durable().await?;
    Ok(ProgressReply {
        user_id: user,
        updated,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    mission_id: String,
}

#[derive(Serialize)]
pub struct ClaimReply {
    user_id: UserId,
    /// The UTC date of the day the claimed mission belongs to (today, or yesterday's grace).
    date: String,
    mission: MissionView,
    granted: Granted,
}

pub async fn claim_reward(ctx: RpcContext, req: ClaimRequest) -> Result<ClaimReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let pool = load_pool(&game)?;
    let mission = pool
        .missions
        .iter()
        .find(|m| m.id == req.mission_id)
        .ok_or_else(|| MissionError::NotToday(req.mission_id.clone()))?;
    let reward = crate::features::events::boost_reward(&game, &mission.reward)?;
    let ids = rewards::instance_ids(&reward);
    let progress = game.tree(PROGRESS)?;
    let days = rules::claim_days(utc_day(game.now()));
    let reason = format!("mission {}", mission.id);
    let vault = Vault::open(&game)?;
    let (paid_day, day, granted) = vault.transaction(&[&progress], |tx| {
        let mut records = Vec::with_capacity(days.len());
        let mut candidates = Vec::with_capacity(days.len());
        for d in days {
            let record: DayProgress = tx.get(EXTRA, progress_key(user, d))?.unwrap_or_default();
            let drawn = rules::selection_for(&pool.missions, pool.daily_count, user, d, &record)
                .iter()
                .any(|m| m.id == mission.id);
            if drawn {
                candidates.push(rules::ClaimCandidate {
                    day: d,
                    target: mission.target,
                    progress: record
                        .missions
                        .get(&mission.id)
                        .cloned()
                        .unwrap_or_default(),
                });
            }
            records.push((d, record));
        }
        let paid_day =
            rules::choose_claim(&mission.id, &candidates).map_err(fail::<RpcError, _>)?;
        let (_, mut day) = records
            .into_iter()
            .find(|(d, _)| *d == paid_day)
            .ok_or_else(|| fail(RpcError::Internal("claimed day has no record".into())))?;
        if day.selection.is_empty() {
            day.selection =
                rules::selection_for(&pool.missions, pool.daily_count, user, paid_day, &day)
                    .iter()
                    .map(|m| m.id.clone())
                    .collect();
        }
        day.missions.entry(mission.id.clone()).or_default().claimed = true;
        let granted = rewards::grant_in::<RpcError>(tx, user, &reward, &reason, &ids)?;
        tx.insert(EXTRA, progress_key(user, paid_day), &day)?;
        Ok((paid_day, day, granted))
    })?;
    game.durable().await?;
    // The claim is paid: season XP follows, and a failure there is logged, not reported.
    let source = crate::features::seasons::XpSource::Mission {
        mission_id: mission.id.clone(),
        day: paid_day,
    };
    if let Err(e) = crate::features::seasons::add_xp(&ctx.app, &game, user, source).await {
        tracing::warn!(error = %e, "mission claimed, season XP not added");
    }
    Ok(ClaimReply {
        user_id: user,
        date: date(paid_day),
        mission: view(mission, &day),
        granted,
    })
}
