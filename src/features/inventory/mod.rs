//! A player's inventory in one game: stackable items (a count) and unique items (instances
//! with their own properties). Players list and consume what they own, never more than
//! they own; items are granted only by servers, admins and rewards.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Instance, Item, ItemGrant, ItemUse};

use uuid::Uuid;

use crate::auth::UserId;
use crate::features::vault::{self, fail};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, StoreError, Txn};

/// `g/<game>/inventory.userid_itemid`: (user, item id) → [`Item`].
pub const ITEMS: &str = "inventory.userid_itemid";

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("not enough {id}: owned {owned}, asked {asked}")]
    NotEnough { id: String, owned: u64, asked: u64 },
    #[error("{id} has no instance {instance}")]
    NoInstance { id: String, instance: Uuid },
    #[error("{id} is held as a {} item", if *unique { "unique" } else { "stackable" })]
    KindMismatch { id: String, unique: bool },
    #[error("{id} would exceed {max}")]
    Full { id: String, max: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InventoryError> for RpcError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ InventoryError::NoInstance { .. } => RpcError::NotFound(e.to_string()),
            e @ (InventoryError::NotEnough { .. }
            | InventoryError::KindMismatch { .. }
            | InventoryError::Full { .. }) => RpcError::FailedPrecondition(e.to_string()),
            InventoryError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.player("inventory_list", Limit::Read, rpc::list);
    r.player("inventory_consume", Limit::Write, rpc::consume);
    r.server("inventory_grant", Limit::Write, rpc::grant);
}

pub fn item_key(user: UserId, id: &str) -> Key {
    Key::new().uuid(user).str(id)
}

/// Everything a player holds, by item id.
pub fn list(game: &GameStore, user: UserId) -> Result<Vec<Item>, StoreError> {
    game.tree(ITEMS)?
        .scan_prefix::<Item>(Key::new().uuid(user))
        .map(|r| r.map(|(_, i)| i))
        .collect()
}

/// Grants items inside a running vault transaction; returns each item as it now is.
/// Instance ids of unique items are drawn before the transaction (`instance_ids`), so a
/// retried transaction gives the same ids.
pub fn grant_in<E: From<InventoryError>>(
    tx: &Txn,
    user: UserId,
    grants: &[ItemGrant],
    instance_ids: &[Uuid],
) -> Result<Vec<Item>, Abort<E>> {
    let now = crate::time::now();
    let mut ids = instance_ids.iter().copied();
    let mut out = Vec::with_capacity(grants.len());
    for g in grants {
        rules::check_grant(g).map_err(fail)?;
        let held: Option<Item> = tx.get(vault::ITEMS, item_key(user, &g.id))?;
        let item =
            rules::grant(held, g, now, || ids.next().unwrap_or_else(Uuid::new_v4)).map_err(fail)?;
        tx.insert(vault::ITEMS, item_key(user, &g.id), &item)?;
        out.push(item);
    }
    Ok(out)
}

/// How many fresh instance ids a set of grants needs (see [`grant_in`]).
pub fn instance_ids_for(grants: &[ItemGrant]) -> Vec<Uuid> {
    let n: u64 = grants.iter().filter(|g| g.unique).map(|g| g.quantity).sum();
    (0..n.min(rules::MAX_INSTANCES as u64 * rules::MAX_ITEMS_PER_CALL as u64))
        .map(|_| Uuid::new_v4())
        .collect()
}

/// Uses up items inside a running vault transaction; returns what is left of each
/// (quantity 0 when gone).
pub fn consume_in<E: From<InventoryError>>(
    tx: &Txn,
    user: UserId,
    uses: &[ItemUse],
) -> Result<Vec<Item>, Abort<E>> {
    let now = crate::time::now();
    let mut out = Vec::with_capacity(uses.len());
    for u in uses {
        rules::check_use(u).map_err(fail)?;
        let held: Option<Item> = tx.get(vault::ITEMS, item_key(user, &u.id))?;
        let template = held.clone();
        match rules::consume(held, u, now).map_err(fail)? {
            Some(item) => {
                tx.insert(vault::ITEMS, item_key(user, &u.id), &item)?;
                out.push(item);
            }
            None => {
                tx.remove(vault::ITEMS, item_key(user, &u.id))?;
                if let Some(mut gone) = template {
                    gone.quantity = 0;
                    gone.instances.clear();
                    gone.updated_at = now;
                    out.push(gone);
                }
            }
        }
    }
    Ok(out)
}
