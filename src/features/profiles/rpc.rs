use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{rules, Profile};
use crate::auth::UserId;
use crate::rpc::{RpcContext, RpcError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct ProfileView {
    user_id: UserId,
    game_id: String,
    #[serde(flatten)]
    profile: Profile,
    /// XP needed for the next level.
    next_level_xp: u64,
}

#[derive(Serialize)]
pub struct ProfileReply {
    profile: ProfileView,
}

fn view(user_id: UserId, game_id: String, profile: Profile) -> ProfileReply {
    ProfileReply {
        profile: ProfileView {
            user_id,
            game_id,
            // Saturating: near the top of the curve the next level is out of u64's reach.
            next_level_xp: super::rules::xp_for_level(profile.level.saturating_add(1)),
            profile,
        },
    }
}

pub async fn get(ctx: RpcContext, req: GetRequest) -> Result<ProfileReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let profile = super::load(&game, user)?;
    Ok(view(user, req.game_id, profile))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    // What a player may change.
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    // Server-authoritative: servers and admins only.
    #[serde(default)]
    add_xp: Option<u64>,
    /// Sets these stats to the given values.
    #[serde(default)]
    stats: Option<BTreeMap<String, i64>>,
    /// Adds these deltas to stats.
    #[serde(default)]
    stats_increment: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    add_titles: Option<Vec<String>>,
    #[serde(default)]
    add_badges: Option<Vec<String>>,
    #[serde(default)]
    remove_titles: Option<Vec<String>>,
    #[serde(default)]
    remove_badges: Option<Vec<String>>,
}

impl UpdateRequest {
    /// The first server-only field present, if any.
    fn server_only_field(&self) -> Option<&'static str> {
        [
            ("add_xp", self.add_xp.is_some()),
            ("stats", self.stats.is_some()),
            ("stats_increment", self.stats_increment.is_some()),
            ("add_titles", self.add_titles.is_some()),
            ("add_badges", self.add_badges.is_some()),
            ("remove_titles", self.remove_titles.is_some()),
            ("remove_badges", self.remove_badges.is_some()),
        ]
        .into_iter()
        .find(|(_, present)| *present)
        .map(|(name, _)| name)
    }

    fn validate(&self) -> Result<(), RpcError> {
        if let Some(d) = &self.display_name {
            rules::check_text("display_name", d, 64)?;
        }
        if let Some(a) = &self.avatar_url {
            rules::check_text("avatar_url", a, 512)?;
        }
        for (field, map) in [
            ("stats", &self.stats),
            ("stats_increment", &self.stats_increment),
        ] {
            if let Some(m) = map {
                if m.len() > 100 {
                    return Err(RpcError::invalid(format!(
                        "{field}: at most 100 stats per call"
                    )));
                }
                for k in m.keys() {
                    rules::check_name(&format!("{field} key"), k)?;
                }
            }
        }
        for (field, list) in [
            ("add_titles", &self.add_titles),
            ("add_badges", &self.add_badges),
            ("remove_titles", &self.remove_titles),
            ("remove_badges", &self.remove_badges),
        ] {
            if let Some(l) = list {
                if l.len() > 50 {
                    return Err(RpcError::invalid(format!("{field}: at most 50 per call")));
                }
                for x in l {
                    rules::check_name(field, x)?;
                }
            }
        }
        Ok(())
    }
}

pub async fn update(ctx: RpcContext, req: UpdateRequest) -> Result<ProfileReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if !ctx.is_trusted() {
        if let Some(field) = req.server_only_field() {
            return Err(RpcError::PermissionDenied(format!(
                "{field} is server-authoritative: players may change only display_name and avatar_url"
            )));
        }
    }
    req.validate()?;
    let profile = super::update(&game, user, |p| {
        if let Some(d) = &req.display_name {
            p.display_name = d.clone();
        }
        if let Some(a) = &req.avatar_url {
            p.avatar_url = a.clone();
        }
        if let Some(xp) = req.add_xp {
            rules::add_xp(p, xp);
        }
        if let Some(s) = &req.stats {
            for (k, v) in s {
                p.stats.insert(k.clone(), *v);
            }
        }
        if let Some(s) = &req.stats_increment {
            for (k, v) in s {
                let e = p.stats.entry(k.clone()).or_insert(0);
                *e = e.saturating_add(*v);
            }
        }
        for t in req.add_titles.iter().flatten() {
            rules::add_unique(&mut p.titles, t);
        }
        for b in req.add_badges.iter().flatten() {
            rules::add_unique(&mut p.badges, b);
        }
        if let Some(r) = &req.remove_titles {
            p.titles.retain(|t| !r.contains(t));
        }
        if let Some(r) = &req.remove_badges {
            p.badges.retain(|b| !r.contains(b));
        }
        Ok::<(), RpcError>(())
    })?;
    game.durable().await?;
    if req.stats.is_some() || req.stats_increment.is_some() {
        // Achievements that follow a stat move with it. The stats are committed: a failure
        // here is logged (the next read or update catches up), not reported, so a client
        // does not retry an increment that already landed.
        if let Err(e) = crate::features::achievements::sync_stats(&ctx.app, &game, user).await {
            tracing::warn!(error = %e, user_id = %user, "stats updated, achievements not synced");
        }
    }
    Ok(view(user, req.game_id, profile))
}
