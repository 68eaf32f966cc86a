//! A player's profile in one game: how they show themselves (display name, avatar) and what
//! the game says of them (level, XP, stats, titles, badges). Players change only the display
//! fields; everything else is server-authoritative and changed by game logic, servers and
//! admins.

pub mod model;
mod rpc;
pub mod rules;

pub use model::Profile;

use crate::auth::UserId;
use crate::rpc::{Limit, Registry};
use crate::store::{GameStore, Key, StoreError, Tree};

/// `g/<game>/profile.userid`: user id → [`Profile`].
pub const PROFILES: &str = "profile.userid";

pub fn register(r: &mut Registry) {
    r.player("profile_get", Limit::Read, rpc::get);
    r.player("profile_update", Limit::Write, rpc::update);
}

pub fn key(user: UserId) -> Key {
    Key::new().uuid(user)
}

pub fn tree(game: &GameStore) -> Result<Tree, StoreError> {
    game.tree(PROFILES)
}

/// A player's profile, or a fresh one if they have none yet.
pub fn load(game: &GameStore, user: UserId) -> Result<Profile, StoreError> {
    Ok(tree(game)?.get(key(user))?.unwrap_or_default())
}

/// Changes a profile with `f` and stores it (not flushed: callers that move value flush).
pub fn update<E: From<StoreError>>(
    game: &GameStore,
    user: UserId,
    f: impl Fn(&mut Profile) -> Result<(), E>,
) -> Result<Profile, E> {
    let t = tree(game)?;
    crate::store::Tree::transaction(&[&t], |tx| {
        let mut p: Profile = tx.get(0, key(user))?.unwrap_or_default();
        f(&mut p).map_err(crate::store::Abort::Fail)?;
        p.updated_at = crate::time::now();
        tx.insert(0, key(user), &p)?;
        Ok(p)
    })
}
