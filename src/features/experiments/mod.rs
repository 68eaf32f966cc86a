//! Experiments (A/B tests): variants with weights, an audience, a time window and a goal
//! event. A player's variant is a salted hash of who they are — the same on every call,
//! after a restart, and after any edit that keeps the variants and weights — and is
//! recorded the first time it is handed out, so analytics can group by it and remote
//! config can target it. `experiment_get_results` compares each variant's goal conversion
//! with control's (two-proportion z-test) and says whether the planned sample is reached.

pub mod model;
mod rpc;
pub mod rules;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

pub use model::{Assignment, Experiment};

use crate::app::App;
use crate::auth::UserId;
use crate::features::audience::{parse_version, Facts};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameId, GameStore, Key, KeyReader, StoreError};

/// `g/<game>/experiments.id`: experiment id → [`Experiment`].
pub const EXPERIMENTS: &str = "experiments.id";
/// `g/<game>/experiments.id_userid`: (experiment, user) → [`Assignment`].
pub const ASSIGNMENTS: &str = "experiments.id_userid";
/// `g/<game>/experiments.userid_id`: (user, experiment) → variant name.
pub const BY_USER: &str = "experiments.userid_id";

/// The cache of every game's experiment definitions.
pub const CACHE: &str = "experiment_definitions";

pub fn register(r: &mut Registry) {
    r.admin("experiment_create", Limit::Write, rpc::create);
    r.admin("experiment_update", Limit::Write, rpc::update);
    r.player("get_experiment_assignment", Limit::Write, rpc::assignment);
    r.player("list_active_experiments", Limit::Read, rpc::list_active);
    r.admin("experiment_get_results", Limit::Read, rpc::results);
}

/// What a client says about its player, for audiences.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerInfo {
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub app_version: Option<String>,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, Value>,
}

/// The facts audiences are checked against: what the client said, the account's age in
/// game days, and the player's recorded experiment cohorts.
pub fn facts(
    app: &App,
    game: &GameStore,
    user: UserId,
    info: &PlayerInfo,
) -> Result<Facts, RpcError> {
    let created = app.auth.account(user)?.create_time;
    let app_version = info
        .app_version
        .as_deref()
        .map(parse_version)
        .transpose()
        .map_err(RpcError::InvalidArgument)?;
    Ok(Facts {
        platform: info.platform.clone(),
        country: info.country.clone(),
        app_version,
        account_age_days: (game.now() - created).max(0) / 86_400,
        properties: info.properties.clone(),
        cohorts: cohorts(game, user)?,
    })
}

/// Every experiment of a game, from the cache.
pub fn all(app: &App, game: &GameStore) -> Result<Arc<Vec<Experiment>>, StoreError> {
    let cache = app
        .caches
        .map::<GameId, Arc<Vec<Experiment>>>(CACHE, 10_000);
    cache.get_or_load(&game.id(), || {
        let list: Vec<Experiment> = game
            .tree(EXPERIMENTS)?
            .iter::<Experiment>()
            .map(|r| r.map(|(_, e)| e))
            .collect::<Result<_, _>>()?;
        let bytes = list.iter().map(Experiment::approx_bytes).sum();
        Ok((Arc::new(list), bytes))
    })
}

fn invalidate(app: &App, game: &GameStore) {
    app.caches
        .map::<GameId, Arc<Vec<Experiment>>>(CACHE, 10_000)
        .invalidate(&game.id());
}

/// One experiment; `NOT_FOUND` naming `experiment_id` otherwise.
pub fn get(game: &GameStore, id: &str) -> Result<Experiment, RpcError> {
    game.tree(EXPERIMENTS)?
        .get::<Experiment>(Key::new().str(id))?
        .ok_or_else(|| RpcError::NotFound(format!("experiment_id: no experiment `{id}`")))
}

/// user → variant of everyone assigned in an experiment.
pub fn assignments(game: &GameStore, id: &str) -> Result<HashMap<UserId, String>, StoreError> {
    Ok(assignments_with_time(game, id)?
        .into_iter()
        .map(|(u, a)| (u, a.variant))
        .collect())
}

pub fn assignments_with_time(
    game: &GameStore,
    id: &str,
) -> Result<HashMap<UserId, Assignment>, StoreError> {
    let mut out = HashMap::new();
    for r in game
        .tree(ASSIGNMENTS)?
        .scan_prefix::<Assignment>(Key::new().str(id))
    {
        let (k, a) = r?;
        let mut rd = KeyReader::new(&k);
        rd.str();
        if let Some(u) = rd.uuid() {
            out.insert(u, a);
        }
    }
    Ok(out)
}

/// experiment id → variant for every experiment `user` was assigned in.
pub fn cohorts(game: &GameStore, user: UserId) -> Result<HashMap<String, String>, StoreError> {
    let mut out = HashMap::new();
    for r in game
        .tree(BY_USER)?
        .scan_prefix::<String>(Key::new().uuid(user))
    {
        let (k, variant) = r?;
        let mut rd = KeyReader::new(&k);
        rd.uuid();
        if let Some(id) = rd.str() {
            out.insert(id.to_string(), variant);
        }
    }
    Ok(out)
}

/// What [`assign`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// In this variant (recorded now or earlier).
    In(Assignment),
    /// The audience does not include the player.
    NotEligible,
    /// Not running (not started or ended) and the player was never assigned.
    NotRunning(&'static str),
}

/// The player's variant: the recorded one, else (when the experiment runs and its audience
/// includes them) the hashed one, recorded now.
pub fn assign(
    game: &GameStore,
    e: &Experiment,
    user: UserId,
    facts: &Facts,
) -> Result<Placement, StoreError> {
    let key = Key::new().str(&e.id).uuid(user);
    let assignments = game.tree(ASSIGNMENTS)?;
    if let Some(a) = assignments.get::<Assignment>(&key)? {
        return Ok(Placement::In(a));
    }
    let now = game.now();
    if now < e.start_at {
        return Ok(Placement::NotRunning("has not started"));
    }
    if e.end_at.is_some_and(|end| now >= end) {
        return Ok(Placement::NotRunning("has ended"));
    }
    if e.audience.as_ref().is_some_and(|a| !a.matches(facts)) {
        return Ok(Placement::NotEligible);
    }
    let weights: Vec<u32> = e.variants.iter().map(|v| v.weight).collect();
    let i = rules::pick(&weights, rules::point(&e.salt, &e.id, user));
    let a = Assignment {
        variant: e.variants[i].name.clone(),
        at_ms: game.now_ms(),
    };
    // First writer wins: a concurrent call answers with what was recorded.
    if !assignments.insert_new(&key, &a)? {
        if let Some(existing) = assignments.get::<Assignment>(&key)? {
            return Ok(Placement::In(existing));
        }
    }
    game.tree(BY_USER)?
        .insert(Key::new().uuid(user).str(&e.id), &a.variant)?;
    Ok(Placement::In(a))
}
