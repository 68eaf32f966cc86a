use serde::{Deserialize, Serialize};

use super::model::{RewardTable, Streak};
use super::{rules, DailyError, STREAKS, TABLES};
use crate::auth::UserId;
use crate::features::rewards::{self, Granted, Reward};
use crate::features::vault::{fail, Vault, EXTRA};
use crate::rpc::{RpcContext, RpcError};
use crate::store::{GameStore, Key};

fn table_key() -> Key {
    Key::new().str("table")
}

fn streak_key(user: UserId) -> Key {
    Key::new().uuid(user)
}

fn load_table(game: &GameStore) -> Result<RewardTable, DailyError> {
    game.tree(TABLES)?
        .get(table_key())?
        .ok_or(DailyError::NotConfigured)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetConfigRequest {
    game_id: String,
    days: Vec<Reward>,
}

#[derive(Serialize)]
pub struct ConfigReply {
    days: Vec<Reward>,
}

pub async fn set_config(ctx: RpcContext, req: SetConfigRequest) -> Result<ConfigReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    rules::check_table(&req.days)?;
    let table = RewardTable {
        days: req.days,
        updated_at: game.now(),
    };
    game.tree(TABLES)?.insert(table_key(), &table)?;
    game.durable().await?;
    Ok(ConfigReply { days: table.days })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct StatusReply {
    user_id: UserId,
    /// Cycle day (1–7) reached by the current streak; 0 when none.
    streak_day: u32,
    /// Consecutive days claimed, as of now (0 once a day was missed).
    streak: u32,
    claimable: bool,
    /// The cycle day the next claim pays, and its reward.
    next_day: u32,
    next_reward: Reward,
    /// RFC 3339: now when claimable, else the next UTC midnight.
    next_claim_time: String,
    days: Vec<Reward>,
}

pub async fn status(ctx: RpcContext, req: StatusRequest) -> Result<StatusReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let table = load_table(&game)?;
    let s: Streak = game
        .tree(STREAKS)?
        .get(streak_key(user))?
        .unwrap_or_default();
    let now = game.now();
    let today = crate::time::utc_day(now);
    let st = rules::standing(&s, today);
    Ok(StatusReply {
        user_id: user,
        streak_day: st.day,
        streak: st.streak,
        claimable: st.claimable,
        next_day: st.next_day,
        next_reward: table.days[st.next_day as usize - 1].clone(),
        next_claim_time: crate::time::rfc3339(if st.claimable {
            now
        } else {
            crate::time::day_start(rules::next_claim_day(&s, today))
        }),
        days: table.days,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct ClaimReply {
    user_id: UserId,
    /// The cycle day this claim paid (1–7).
    day: u32,
    streak: u32,
    granted: Granted,
    next_claim_time: String,
}

pub async fn claim(ctx: RpcContext, req: ClaimRequest) -> Result<ClaimReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let table = load_table(&game)?;
    let today = crate::time::utc_day(game.now());
    let streaks = game.tree(STREAKS)?;
    let vault = Vault::open(&game)?;
    let ids: Vec<Vec<uuid::Uuid>> = table.days.iter().map(rewards::instance_ids).collect();
    let (s, granted) = vault.transaction(&[&streaks], |tx| {
        let held: Streak = tx.get(EXTRA, streak_key(user))?.unwrap_or_default();
        let s = rules::claim(&held, today).map_err(fail::<RpcError, _>)?;
        let i = s.day as usize - 1;
        let granted =
            rewards::grant_in::<RpcError>(tx, user, &table.days[i], "daily reward", &ids[i])?;
        tx.insert(EXTRA, streak_key(user), &s)?;
        Ok((s, granted))
    })?;
    game.durable().await?;
    Ok(ClaimReply {
        user_id: user,
        day: s.day,
        streak: s.streak,
        granted,
        next_claim_time: crate::time::rfc3339(crate::time::day_start(today + 1)),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    game_id: String,
    user_id: UserId,
}

#[derive(Serialize)]
pub struct ResetReply {
    user_id: UserId,
    streak: u32,
    day: u32,
    claimable: bool,
}

/// Admin: takes back a player's claim of today so they may claim again (audited).
pub async fn reset(ctx: RpcContext, req: ResetRequest) -> Result<ResetReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(Some(req.user_id))?;
    let today = crate::time::utc_day(game.now());
    let streaks = game.tree(STREAKS)?;
    let vault = Vault::open(&game)?;
    let (held, back) = vault.transaction(&[&streaks], |tx| {
        let held: Streak = tx.get(EXTRA, streak_key(user))?.unwrap_or_default();
        let back = rules::undo_today(&held, today).ok_or_else(|| {
            fail::<RpcError, _>(RpcError::FailedPrecondition(
                "user_id: this player has not claimed today's daily reward".into(),
            ))
        })?;
        tx.insert(EXTRA, streak_key(user), &back)?;
        Ok((held, back))
    })?;
    crate::features::moderation::audit::record(
        &ctx.app.store,
        &crate::features::moderation::actor(&ctx.caller),
        "daily_reward_reset",
        &user.to_string(),
        &format!(
            "game {}: streak {} → {}",
            game.id(),
            held.streak,
            back.streak
        ),
    )?;
    game.durable().await?;
    Ok(ResetReply {
        user_id: user,
        streak: back.streak,
        day: back.day,
        claimable: true,
    })
}
