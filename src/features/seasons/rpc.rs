use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{Pass, Season, Track};
use super::{rules, SeasonError, XpSource};
use crate::auth::UserId;
use crate::features::achievements::rules::check_id;
use crate::features::vault::check_idempotency_key;
use crate::rpc::{RpcContext, RpcError};
use crate::store::GameStore;

fn season_view(s: &Season, now: i64) -> Value {
    json!({
        "season_id": s.season_id,
        "title": s.title,
        "description": s.description,
        "starts_at": crate::time::rfc3339(s.starts_at),
        "ends_at": crate::time::rfc3339(s.ends_at),
        "seconds_left": (s.ends_at - now).max(0),
        "max_tier": s.max_tier,
        "premium_price": s.premium_price,
        "end_policy": s.end_policy,
        "xp_sources": s.xp_sources,
        "state": state_now(s, now),
    })
}

/// The state as the clock says, even before the scheduler has moved it.
fn state_now(s: &Season, now: i64) -> &'static str {
    use super::SeasonState::*;
    match s.state {
        Ended => "ended",
        Settling => "ending",
        _ if now >= s.ends_at => "ending",
        _ if now >= s.starts_at => "active",
        _ => "scheduled",
    }
}

/// The season a request names, or the running one.
fn pick(game: &GameStore, id: Option<&str>) -> Result<Season, RpcError> {
    match id {
        Some(id) => {
            check_id("season_id", id)?;
            super::load(game, id)?
                .ok_or_else(|| SeasonError::NotFound(format!("season_id: no season `{id}`")).into())
        }
        None => super::running(game, game.now())?.ok_or_else(|| {
            SeasonError::NotFound("no season is running (name one with season_id)".into()).into()
        }),
    }
}

pub async fn create(ctx: RpcContext, req: rules::SeasonInput) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let now = game.now();
    let s = rules::season(&req, now)?;
    let s = super::create(&game, s).await?;
    Ok(json!({ "season": season_view(&s, now) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameRequest {
    game_id: String,
}

pub async fn get_active(ctx: RpcContext, req: GameRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let now = game.now();
    let all = super::all(&game)?;
    let active = all.iter().find(|s| rules::is_running(s, now));
    let next = all
        .iter()
        .find(|s| s.starts_at > now && s.state != super::SeasonState::Ended);
    Ok(json!({
        "season": active.map(|s| season_view(s, now)),
        "next_season": next.map(|s| season_view(s, now)),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    game_id: String,
    #[serde(default)]
    season_id: Option<String>,
    #[serde(default)]
    user_id: Option<UserId>,
    /// Also list the player's past seasons.
    #[serde(default)]
    history: bool,
}

fn progress_view(game: &GameStore, s: &Season, user: UserId, p: &Pass) -> Result<Value, RpcError> {
    let claims = super::claims(game, &s.season_id, user)?;
    let taken: std::collections::BTreeSet<(u32, Track)> =
        claims.iter().map(|c| (c.tier, c.track)).collect();
    let claimable: Vec<Value> = rules::claimable(s, p, &|t, k| taken.contains(&(t, k)))
        .into_iter()
        .map(|(tier, track)| json!({ "tier": tier, "track": track }))
        .collect();
    let next_tier_xp = s.xp_table.get(p.tier as usize).copied();
    Ok(json!({
        "season_id": s.season_id,
        "xp": p.xp,
        "tier": p.tier,
        "max_tier": s.max_tier,
        "next_tier_xp": next_tier_xp,
        "premium": p.premium,
        "premium_at": p.premium_at.map(crate::time::rfc3339),
        "claimed": claims.iter().map(|c| json!({
            "tier": c.tier, "track": c.track, "by": c.by, "at": crate::time::rfc3339(c.at),
        })).collect::<Vec<_>>(),
        "claimable": claimable,
    }))
}

/// `season_get_player_progress`: XP, tier, premium, claimed and claimable rewards in the
/// running (or named, possibly past) season; `history: true` adds every past season.
pub async fn player_progress(ctx: RpcContext, req: ProgressRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let now = game.now();
    let current = match &req.season_id {
        Some(_) => Some(pick(&game, req.season_id.as_deref())?),
        None => super::running(&game, now)?,
    };
    let mut out = json!({ "user_id": user });
    out["progress"] = match &current {
        Some(s) => {
            let mut v = progress_view(&game, s, user, &super::pass(&game, &s.season_id, user)?)?;
            v["season"] = season_view(s, now);
            v
        }
        None => Value::Null,
    };
    if req.history {
        let mut past = Vec::new();
        for id in super::history(&game, user)? {
            if current.as_ref().is_some_and(|c| c.season_id == id) {
                continue;
            }
            if let Some(s) = super::load(&game, &id)? {
                let mut v = progress_view(&game, &s, user, &super::pass(&game, &id, user)?)?;
                v["season"] = season_view(&s, now);
                past.push(v);
            }
        }
        out["history"] = json!(past);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantXpRequest {
    game_id: String,
    user_id: UserId,
    amount: u64,
    #[serde(default)]
    season_id: Option<String>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// `season_grant_xp` (server): XP to the running season, multiplied by live XP events.
pub async fn grant_xp(ctx: RpcContext, req: GrantXpRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(Some(req.user_id))?;
    if req.amount == 0 || req.amount > rules::MAX_XP_PER_GRANT {
        return Err(RpcError::invalid(format!(
            "amount must be between 1 and {}, not {}",
            rules::MAX_XP_PER_GRANT,
            req.amount
        )));
    }
    check_idempotency_key(req.idempotency_key.as_deref())?;
    let running = pick(&game, None)?;
    if let Some(id) = &req.season_id {
        check_id("season_id", id)?;
        if *id != running.season_id {
            return Err(SeasonError::Closed(format!(
                "season_id: season `{id}` is not the running season (`{}`)",
                running.season_id
            ))
            .into());
        }
    }
    let g = super::add_xp(
        &ctx.app,
        &game,
        user,
        XpSource::Server {
            amount: req.amount,
            idempotency_key: req.idempotency_key,
        },
    )
    .await?
    .ok_or_else(|| RpcError::from(SeasonError::Closed("the season has just ended".into())))?;
    // An admin's hand on a player's XP is audited, as on a wallet.
    if matches!(ctx.caller, crate::rpc::Caller::Admin(_)) && !g.replayed {
        crate::features::moderation::audit::record(
            &ctx.app.store,
            &crate::features::moderation::actor(&ctx.caller),
            "season_grant_xp",
            &user.to_string(),
            &format!(
                "game {}, season {}: {} XP (granted {})",
                game.id(),
                g.season_id,
                req.amount,
                g.xp_granted
            ),
        )?;
    }
    Ok(json!({ "user_id": user, "grant": g }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    game_id: String,
    #[serde(default)]
    season_id: Option<String>,
    /// One tier; absent: every claimable reward.
    #[serde(default)]
    tier: Option<u32>,
    /// With `tier`: `free` (default) or `premium`.
    #[serde(default)]
    track: Option<Track>,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `season_claim_tier_rewards`: one (tier, track), or everything claimable.
pub async fn claim_tier_rewards(ctx: RpcContext, req: ClaimRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let s = pick(&game, req.season_id.as_deref())?;
    let which = match (req.tier, req.track) {
        (Some(t), track) => Some((t, track.unwrap_or(Track::Free))),
        (None, Some(_)) => return Err(RpcError::invalid("track: name a tier with it")),
        (None, None) => None,
    };
    let paid = super::claim(&game, &s, user, which, "player").await?;
    for p in &paid {
        let reason = format!(
            "season {} tier {} {}",
            s.season_id,
            p.tier,
            p.track.as_str()
        );
        if let Err(e) =
            crate::features::rewards::announce(&ctx.app.bus, &game, user, &p.granted, &reason)
        {
            tracing::warn!(error = %e, "tier reward paid, notification not stored");
        }
    }
    Ok(json!({ "season_id": s.season_id, "claimed": paid }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    game_id: String,
    #[serde(default)]
    season_id: Option<String>,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// `season_purchase_premium`: pays from the player's wallet; premium rewards of tiers
/// already reached become claimable.
pub async fn purchase_premium(ctx: RpcContext, req: PurchaseRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let s = pick(&game, req.season_id.as_deref())?;
    let (pass, applied) = super::purchase_premium(&game, &s, user).await?;
    let mut v = progress_view(&game, &s, user, &pass)?;
    v["wallet"] = json!(applied.wallet);
    Ok(json!({ "premium": true, "progress": v }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsRequest {
    game_id: String,
    #[serde(default)]
    season_id: Option<String>,
}

/// `season_get_all_rewards`: every tier with its XP and its free and premium rewards.
pub async fn all_rewards(ctx: RpcContext, req: RewardsRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let s = pick(&game, req.season_id.as_deref())?;
    let tiers: Vec<Value> = (1..=s.max_tier)
        .map(|t| {
            json!({
                "tier": t,
                "xp": s.xp_table[(t - 1) as usize],
                "free": s.free_rewards.get(&t),
                "premium": s.premium_rewards.get(&t),
            })
        })
        .collect();
    Ok(json!({
        "season": season_view(&s, game.now()),
        "tiers": tiers,
    }))
}
