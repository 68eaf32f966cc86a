//! Achievements: goals a game defines (simple, incremental, or tiered bronze → platinum),
//! each with a rarity, points, a category and a reward. A player's progress is reported by
//! the game server (or, where an achievement allows it, by the player, a capped amount per
//! call) or follows a profile stat such as `kills`; reaching a step pays its reward once, in
//! the same transaction that records it. Hidden achievements read `???` until unlocked.
//! Unlocks feed season XP.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

pub use model::{Achievement, Kind, Progress, Rarity, Tier};

use crate::app::App;
use crate::auth::UserId;
use crate::features::missions::Reporter;
use crate::features::profiles;
use crate::features::rewards::{self, Granted};
use crate::features::seasons::{self, XpSource};
use crate::features::vault::{self, fail, Vault, EXTRA};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameStore, Key, KeyReader, StoreError};

/// `g/<game>/achievement.id`: achievement id → [`Achievement`].
pub const DEFINITIONS: &str = "achievement.id";
/// `g/<game>/achievement.stat_id`: (stat, achievement id) → (): the achievements a stat moves.
pub const BY_STAT: &str = "achievement.stat_id";
/// `g/<game>/achievement.userid_id`: (user, achievement id) → [`Progress`].
pub const PROGRESS: &str = "achievement.userid_id";
/// `g/<game>/achievement.userid`: user → () for every player with any progress.
pub const PLAYERS: &str = "achievement.userid";
/// `g/<game>/achievement.counter`: `players` and (`unlocked`, id) → u64 counters.
pub const COUNTERS: &str = "achievement.counter";

/// The rpc id grant receipts of unlocks are kept under.
const GRANTS: &str = "achievements";

pub fn register(r: &mut Registry) {
    r.admin(
        "achievements_create_definition",
        Limit::Write,
        rpc::create_definition,
    );
    r.admin("achievements_bulk_create", Limit::Write, rpc::bulk_create);
    r.player("achievements_get_all", Limit::Read, rpc::get_all);
    r.player(
        "achievements_get_by_category",
        Limit::Read,
        rpc::get_by_category,
    );
    r.player(
        "achievements_update_progress",
        Limit::Write,
        rpc::update_progress,
    );
    r.player(
        "batch_achievement_progress",
        Limit::Write,
        rpc::batch_progress,
    );
    r.player(
        "achievements_get_player_stats",
        Limit::Read,
        rpc::player_stats,
    );
}

fn progress_key(user: UserId, id: &str) -> Key {
    Key::new().uuid(user).str(id)
}

fn players_key() -> Key {
    Key::new().str("players")
}

fn unlocked_key(id: &str) -> Key {
    Key::new().str("unlocked").str(id)
}

/// Every definition of a game, by id.
pub fn definitions(game: &GameStore) -> Result<BTreeMap<String, Achievement>, StoreError> {
    game.tree(DEFINITIONS)?
        .iter::<Achievement>()
        .map(|r| r.map(|(_, a)| (a.achievement_id.clone(), a)))
        .collect()
}

pub fn definition(game: &GameStore, id: &str) -> Result<Option<Achievement>, StoreError> {
    game.tree(DEFINITIONS)?.get(Key::new().str(id))
}

/// Stores definitions together (all or none); existing ids are refused unless `replace`,
/// which keeps their creation time and players' progress.
pub fn store_definitions(
    game: &GameStore,
    defs: &[Achievement],
    replace: bool,
) -> Result<(), RpcError> {
    let tree = game.tree(DEFINITIONS)?;
    let by_stat = game.tree(BY_STAT)?;
    crate::store::Tree::transaction(&[&tree, &by_stat], |tx| {
        for (i, a) in defs.iter().enumerate() {
            let key = Key::new().str(&a.achievement_id);
            let mut a = a.clone();
            if let Some(old) = tx.get::<Achievement, RpcError>(0, &key)? {
                if !replace {
                    return Err(fail(RpcError::AlreadyExists(format!(
                        "achievements[{i}]: achievement `{}` exists (pass replace: true to change it)",
                        a.achievement_id
                    ))));
                }
                a.created_at = old.created_at;
                if let Some(s) = &old.stat {
                    tx.remove(1, Key::new().str(s).str(&old.achievement_id))?;
                }
            }
            if let Some(s) = &a.stat {
                tx.insert(1, Key::new().str(s).str(&a.achievement_id), &())?;
            }
            tx.insert(0, &key, &a)?;
        }
        Ok(())
    })
}

/// One progress report.
#[derive(Debug, Clone)]
pub struct Report {
    pub achievement_id: String,
    pub value: u64,
    pub increment: bool,
}

/// Where a report comes from: who may make it is checked against the achievement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A player reporting for themself.
    Player,
    /// A studio server or an admin.
    Server,
    /// The profile stat the achievement follows.
    Stat,
}

/// What one report did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub achievement: Achievement,
    pub progress: Progress,
    /// Steps newly reached (`unlock`, or tier names).
    pub reached: Vec<String>,
    pub just_unlocked: bool,
    /// The player's report was cut to the achievement's per-call cap.
    pub capped: bool,
    pub granted: Vec<Granted>,
}

/// Applies reports for one player in one transaction (all or none): progress moves, every
/// step reached pays its reward once (a grant receipt keyed `achievement:<id>:<step>` in the
/// same transaction), unlock counts move; durable before it returns. Then the player is
/// notified of what was granted and season XP follows each step reached.
pub async fn report(
    app: &App,
    game: &GameStore,
    user: UserId,
    reports: &[Report],
    origin: Origin,
) -> Result<Vec<Outcome>, RpcError> {
    let mut defs = Vec::with_capacity(reports.len());
    for (i, r) in reports.iter().enumerate() {
        let field = if reports.len() == 1 {
            "achievement_id".to_string()
        } else {
            format!("updates[{i}].achievement_id")
        };
        rules::check_id(&field, &r.achievement_id)?;
        let a = definition(game, &r.achievement_id)?.ok_or_else(|| {
            RpcError::NotFound(format!("{field}: no achievement `{}`", r.achievement_id))
        })?;
        match origin {
            Origin::Stat => {}
            _ if a.stat.is_some() => {
                return Err(RpcError::FailedPrecondition(format!(
                    "{field}: achievement `{}` follows a profile stat; it moves when the stat does",
                    a.achievement_id
                )))
            }
            Origin::Player if a.progress_by == Reporter::Server => {
                return Err(RpcError::PermissionDenied(format!(
                    "{field}: progress on achievement `{}` is reported by the game server only",
                    a.achievement_id
                )))
            }
            _ => {}
        }
        defs.push(a);
    }
    // Item instance ids are drawn before the transaction, so a retried run grants the same.
    let ids: Vec<Vec<Vec<uuid::Uuid>>> = defs
        .iter()
        .map(|a| {
            a.steps()
                .iter()
                .map(|(_, _, r)| rewards::instance_ids(r))
                .collect()
        })
        .collect();
    let progress = game.tree(PROGRESS)?;
    let counters = game.tree(COUNTERS)?;
    let players = game.tree(PLAYERS)?;
    let now = game.now();
    let vault = Vault::open(game)?;
    let outcomes = vault.transaction(&[&progress, &counters, &players], |tx| {
        let mut out = Vec::with_capacity(reports.len());
        let mut seen = BTreeMap::<String, Progress>::new();
        for ((r, a), step_ids) in reports.iter().zip(&defs).zip(&ids) {
            let pk = progress_key(user, &a.achievement_id);
            let mut p: Progress = match seen.remove(&a.achievement_id) {
                Some(p) => p,
                None => tx.get(EXTRA, &pk)?.unwrap_or_default(),
            };
            if tx
                .get::<(), RpcError>(EXTRA + 2, Key::new().uuid(user))?
                .is_none()
            {
                tx.insert(EXTRA + 2, Key::new().uuid(user), &())?;
                tx.increment(EXTRA + 1, players_key(), 1)?;
            }
            let cap = (origin == Origin::Player).then_some(a.max_player_increment);
            let (value, capped) = rules::reported(p.progress, r.value, r.increment, cap);
            let was_unlocked = p.unlocked_at.is_some();
            let reached = rules::advance(a, &mut p, value, now);
            let mut granted = Vec::new();
            for (step, _, reward) in a.steps() {
                if !reached.iter().any(|s| s == step) || rewards::rules::is_empty(reward) {
                    continue;
                }
                let idx = a
                    .steps()
                    .iter()
                    .position(|(s, _, _)| *s == step)
                    .unwrap_or(0);
                let key = format!("achievement:{}:{step}", a.achievement_id);
                let reason = format!("achievement {} {step}", a.achievement_id);
                let request = serde_json::json!({ "reward": reward, "reason": reason });
                let (g, _) = vault::once(tx, user, GRANTS, Some(&key), &request, || {
                    rewards::grant_in::<RpcError>(tx, user, reward, &reason, &step_ids[idx])
                })?;
                granted.push(g);
            }
            let just_unlocked = !was_unlocked && p.unlocked_at.is_some();
            if just_unlocked {
                tx.increment(EXTRA + 1, unlocked_key(&a.achievement_id), 1)?;
            }
            tx.insert(EXTRA, &pk, &p)?;
            seen.insert(a.achievement_id.clone(), p.clone());
            out.push(Outcome {
                achievement: a.clone(),
                progress: p,
                reached,
                just_unlocked,
                capped,
                granted,
            });
        }
        Ok(out)
    })?;
    game.durable().await?;
    for o in &outcomes {
        for g in &o.granted {
            let reason = format!("achievement {}", o.achievement.achievement_id);
            if let Err(e) = rewards::announce(&app.bus, game, user, g, &reason) {
                tracing::warn!(error = %e, "achievement reward granted, notification not stored");
            }
        }
        for step in &o.reached {
            let points = match o.achievement.kind {
                Kind::Tiered => o
                    .achievement
                    .tiers
                    .iter()
                    .find(|t| &t.name == step)
                    .map_or(0, |t| t.points),
                _ => o.achievement.points,
            };
            let source = XpSource::Achievement {
                achievement_id: o.achievement.achievement_id.clone(),
                step: step.clone(),
                points,
            };
            // The unlock is committed and paid: a failed XP hook is logged, not reported
            // as a failed unlock.
            if let Err(e) = seasons::add_xp(app, game, user, source).await {
                tracing::warn!(error = %e, "achievement unlocked, season XP not added");
            }
        }
    }
    Ok(outcomes)
}

/// Brings a player's stat-following achievements up to their profile stats: what a match
/// result or a stat change calls, and what back-fills an achievement created after the stat
/// moved (on the player's next read or update).
pub async fn sync_stats(app: &App, game: &GameStore, user: UserId) -> Result<(), RpcError> {
    let mut by_stat: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in game.tree(BY_STAT)?.iter::<()>() {
        let (k, ()) = entry?;
        let mut r = KeyReader::new(&k);
        if let (Some(stat), Some(id)) = (r.str(), r.str()) {
            by_stat
                .entry(stat.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    if by_stat.is_empty() {
        return Ok(());
    }
    let profile = profiles::load(game, user)?;
    let progress = game.tree(PROGRESS)?;
    let mut reports = Vec::new();
    let mut seen = BTreeSet::new();
    for (stat, ids) in by_stat {
        let value = profile.stats.get(&stat).copied().unwrap_or(0).max(0) as u64;
        for id in ids {
            let p: Progress = progress.get(progress_key(user, &id))?.unwrap_or_default();
            if value > p.progress && seen.insert(id.clone()) {
                reports.push(Report {
                    achievement_id: id,
                    value,
                    increment: false,
                });
            }
        }
    }
    if !reports.is_empty() {
        report(app, game, user, &reports, Origin::Stat).await?;
    }
    Ok(())
}

/// A player's progress on every achievement (default progress where they have none).
pub fn player_progress(
    game: &GameStore,
    user: UserId,
) -> Result<BTreeMap<String, Progress>, StoreError> {
    let prefix = Key::new().uuid(user);
    let plen = prefix.as_bytes().len();
    let mut out = BTreeMap::new();
    for entry in game.tree(PROGRESS)?.scan_prefix::<Progress>(&prefix) {
        let (k, p) = entry?;
        if let Some(id) = KeyReader::new(&k[plen..]).str() {
            out.insert(id.to_string(), p);
        }
    }
    Ok(out)
}

/// (players with any progress, unlocks per achievement id).
pub fn unlock_counts(game: &GameStore) -> Result<(u64, BTreeMap<String, u64>), StoreError> {
    let t = game.tree(COUNTERS)?;
    let read = |raw: Option<Vec<u8>>| {
        raw.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    };
    let players = read(t.get_raw(players_key())?);
    let prefix = Key::new().str("unlocked");
    let plen = prefix.as_bytes().len();
    let mut out = BTreeMap::new();
    for r in t.iter_raw() {
        let (k, v) = r?;
        if !k.starts_with(prefix.as_bytes()) {
            continue;
        }
        if let Some(id) = KeyReader::new(&k[plen..]).str() {
            out.insert(id.to_string(), read(Some(v)));
        }
    }
    Ok((players, out))
}
