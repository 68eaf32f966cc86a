//! Rewards: the one shape every feature pays out with — currencies, items, XP, a badge, a
//! title — and [`grant`], which applies all of it in one transaction (wallet, inventory
//! and profile together) and reports what was granted. Rewards a server grants notify the
//! player.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Granted, Reward};

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::UserId;
use crate::events::Bus;
use crate::features::inventory::{self, InventoryError};
use crate::features::notifications::{self, codes};
use crate::features::profiles::{self, rules as profile_rules, Profile};
use crate::features::vault::{self, KeyReused, Vault};
use crate::features::wallet::{self, Change, WalletError};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, StoreError, Txn};

#[derive(Debug, thiserror::Error)]
pub enum RewardError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RewardError> for RpcError {
    fn from(e: RewardError) -> Self {
        match e {
            RewardError::Invalid(m) => RpcError::InvalidArgument(m),
            RewardError::Wallet(w) => w.into(),
            RewardError::Inventory(i) => i.into(),
            RewardError::KeyReused(k) => k.into(),
            RewardError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.server("rewards_grant", Limit::Write, rpc::grant);
}

/// Fresh ids a reward's unique items will take; drawn before a transaction so a retried
/// transaction grants the same instances.
pub fn instance_ids(reward: &Reward) -> Vec<Uuid> {
    inventory::instance_ids_for(&reward.items)
}

/// Applies `reward` inside a running vault transaction.
pub fn grant_in<E: From<WalletError> + From<InventoryError>>(
    tx: &Txn,
    user: UserId,
    reward: &Reward,
    reason: &str,
    instance_ids: &[Uuid],
) -> Result<Granted, Abort<E>> {
    let mut granted = Granted {
        currencies: reward.currencies.clone(),
        ..Default::default()
    };
    if !reward.currencies.is_empty() {
        let change = Change {
            changeset: reward.currencies.clone(),
            reason: reason.to_string(),
            ..Default::default()
        };
        granted.wallet = wallet::apply_in::<E>(tx, user, &change)?.wallet;
    }
    if !reward.items.is_empty() {
        granted.items = inventory::grant_in::<E>(tx, user, &reward.items, instance_ids)?;
    }
    let mut p: Profile = tx
        .get(vault::PROFILES, profiles::key(user))?
        .unwrap_or_default();
    if reward.xp > 0 || reward.badge.is_some() || reward.title.is_some() {
        granted.xp = reward.xp;
        granted.levels_gained = profile_rules::add_xp(&mut p, reward.xp);
        if let Some(b) = &reward.badge {
            if profile_rules::add_unique(&mut p.badges, b) {
                granted.badge = Some(b.clone());
            }
        }
        if let Some(t) = &reward.title {
            if profile_rules::add_unique(&mut p.titles, t) {
                granted.title = Some(t.clone());
            }
        }
        p.updated_at = crate::time::now();
        tx.insert(vault::PROFILES, profiles::key(user), &p)?;
    }
    granted.level = p.level;
    Ok(granted)
}

/// The `rewards_grant` RPC id, under which its idempotency receipts are kept.
const GRANT_RPC: &str = "rewards_grant";

/// Grants `reward` to `user` in one transaction, durable before it returns. With an
/// `idempotency_key`, a retry of the same grant applies nothing and answers what the
/// first one granted (`true`: replayed); the key with a different grant is refused.
pub async fn grant(
    game: &GameStore,
    user: UserId,
    reward: &Reward,
    reason: &str,
    idempotency_key: Option<&str>,
) -> Result<(Granted, bool), RewardError> {
    rules::check("reward", reward)?;
    // Profile XP is multiplied by live XP events; the receipt keeps the reward as asked.
    let boosted = crate::features::events::boost_reward(game, reward)?;
    let ids = instance_ids(&boosted);
    let request = serde_json::json!({ "reward": reward, "reason": reason });
    let vault = Vault::open(game)?;
    let done = vault.transaction(&[], |tx| {
        vault::once(tx, user, GRANT_RPC, idempotency_key, &request, || {
            grant_in::<RewardError>(tx, user, &boosted, reason, &ids)
        })
    })?;
    game.durable().await?;
    Ok(done)
}

/// Tells the player what they were granted (a persistent notification).
pub fn announce(
    bus: &Bus,
    game: &GameStore,
    user: UserId,
    granted: &Granted,
    reason: &str,
) -> Result<(), StoreError> {
    let mut content = Map::new();
    content.insert("reason".into(), Value::String(reason.to_string()));
    content.insert(
        "granted".into(),
        serde_json::to_value(granted).unwrap_or(Value::Null),
    );
    notifications::notify(
        bus,
        game,
        user,
        codes::REWARD_GRANTED,
        "Reward granted",
        content,
        true,
    )?;
    Ok(())
}

/// A server-side grant: applies the reward, then notifies the player. The grant is
/// committed before the notification is sent, so a notification that cannot be stored is
/// logged and does not turn a paid grant into a reported failure. A replayed grant
/// notifies nobody (the first one did).
pub async fn grant_and_notify(
    bus: &Bus,
    game: &GameStore,
    user: UserId,
    reward: &Reward,
    reason: &str,
    idempotency_key: Option<&str>,
) -> Result<(Granted, bool), RewardError> {
    let (granted, replayed) = grant(game, user, reward, reason, idempotency_key).await?;
    if !replayed {
        if let Err(e) = announce(bus, game, user, &granted, reason) {
            tracing::warn!(
                game_id = %game.id(),
                user_id = %user,
                error = %e,
                "reward granted, but its notification could not be stored"
            );
        }
    }
    Ok((granted, replayed))
}
