//! Remote config: a game's default settings plus overrides for audiences (platform,
//! country, app version range, account age, custom properties, experiment cohort), with
//! priorities between overlapping audiences. A player's fetch resolves the fallback chain
//! and says where each value came from. Every update is a new version recording who
//! changed what; a rollback is a new version with an old one's content. Fetches are answered
//! from a cache of each game's current version, dropped on every update.

mod rpc;
pub mod rules;

use std::sync::Arc;

pub use rules::{AudienceOverride, ConfigVersion, Resolved};

use crate::app::App;
use crate::features::cache::Cached;
use crate::rpc::{Limit, Registry};
use crate::store::{GameId, GameStore, Key, StoreError};

/// `g/<game>/remote_config.version_desc`: version (newest first) → [`ConfigVersion`].
pub const VERSIONS: &str = "remote_config.version_desc";
pub const CACHE: &str = "remote_config";

pub fn register(r: &mut Registry) {
    r.player("fetch_remote_config", Limit::Read, rpc::fetch);
    r.admin("update_remote_config", Limit::Write, rpc::update);
    r.admin("remote_config_rollback", Limit::Write, rpc::rollback);
    r.admin("remote_config_history", Limit::Read, rpc::history);
}

fn version_key(v: u64) -> Key {
    Key::new().u64_desc(v)
}

fn cache(app: &App) -> Arc<Cached<GameId, Arc<ConfigVersion>>> {
    app.caches.map(CACHE, 10_000)
}

/// The empty version 0 a game starts from.
fn empty() -> ConfigVersion {
    ConfigVersion {
        version: 0,
        default: Default::default(),
        audiences: vec![],
        by: String::new(),
        at: 0,
        note: String::new(),
        changes: vec![],
    }
}

/// The current version, read from sled.
fn load(game: &GameStore) -> Result<ConfigVersion, StoreError> {
    Ok(game
        .tree(VERSIONS)?
        .iter::<ConfigVersion>()
        .next()
        .transpose()?
        .map(|(_, v)| v)
        .unwrap_or_else(empty))
}

/// The current version, from the cache.
pub fn current(app: &App, game: &GameStore) -> Result<Arc<ConfigVersion>, StoreError> {
    cache(app).get_or_load(&game.id(), || {
        let v = load(game)?;
        let bytes = v.approx_bytes();
        Ok((Arc::new(v), bytes))
    })
}

/// One stored version.
pub fn version(game: &GameStore, v: u64) -> Result<Option<ConfigVersion>, StoreError> {
    game.tree(VERSIONS)?.get(version_key(v))
}

/// Stores `next` as the new current version unless another update took its number first
/// (then `Ok(false)`), and drops the cached one.
pub fn publish(app: &App, game: &GameStore, next: &ConfigVersion) -> Result<bool, StoreError> {
    let stored = game
        .tree(VERSIONS)?
        .insert_new(version_key(next.version), next)?;
    cache(app).invalidate(&game.id());
    Ok(stored)
}
