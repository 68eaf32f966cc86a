//! The vault: every tree that holds a player's value in one game — wallet balances and
//! ledger, idempotency receipts, inventory, profiles, storage objects — opened together so
//! that a change spanning several features (a reward, a daily claim, an atomic batch)
//! commits in one storage transaction or not at all.
//!
//! Features address the vault's trees inside a [`Txn`] by the indexes below; a feature
//! with state of its own (a daily streak, mission progress) passes its trees as extras,
//! reachable at [`EXTRA`], `EXTRA + 1`, …

use serde::Serialize;
use serde_json::Value;

use crate::rpc::RpcError;
use crate::store::{Abort, GameStore, StoreError, Tree, Txn};

/// `wallet.userid`: user → balances.
pub const BALANCES: usize = 0;
/// `wallet.userid_seq`: (user, seq desc) → ledger entry.
pub const LEDGER: usize = 1;
/// `wallet.userid_idempotencykey`: (user, key) → receipt of the change it applied.
pub const RECEIPTS: usize = 2;
/// `inventory.userid_itemid`: (user, item id) → item.
pub const ITEMS: usize = 3;
/// `profile.userid`: user → profile.
pub const PROFILES: usize = 4;
/// `storage.collection_userid_key`: (collection, user, key) → object.
pub const OBJECTS: usize = 5;
/// The first extra tree a caller passes to [`Vault::transaction`].
pub const EXTRA: usize = 6;

const NAMES: [&str; EXTRA] = [
    super::wallet::BALANCES,
    super::wallet::LEDGER,
    super::wallet::RECEIPTS,
    super::inventory::ITEMS,
    super::profiles::PROFILES,
    super::storage::OBJECTS,
];

/// The value-holding trees of one game.
#[derive(Clone)]
pub struct Vault {
    trees: Vec<Tree>,
}

impl Vault {
    pub fn open(game: &GameStore) -> Result<Vault, StoreError> {
        let trees = NAMES
            .iter()
            .map(|n| game.tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Vault { trees })
    }

    pub fn tree(&self, index: usize) -> &Tree {
        &self.trees[index]
    }

    /// Runs `f` as one transaction over the vault's trees and `extra` (at [`EXTRA`]…).
    /// `f` may run more than once: it must be free of side effects.
    pub fn transaction<R, E, F>(&self, extra: &[&Tree], f: F) -> Result<R, E>
    where
        F: Fn(&Txn) -> Result<R, Abort<E>>,
        E: From<StoreError>,
    {
        let mut all: Vec<&Tree> = self.trees.iter().collect();
        all.extend_from_slice(extra);
        Tree::transaction(&all, f)
    }
}

/// One change planned against the vault: validated and authorised before the transaction,
/// applied inside it. An RPC that can be planned as a step can join an atomic batch.
pub trait Step: Send + Sync {
    type Done: Serialize;
    fn apply(&self, tx: &Txn) -> Result<Self::Done, Abort<RpcError>>;
}

/// A step whose reply is JSON: what an atomic batch holds, whatever the feature.
pub trait AnyStep: Send + Sync {
    fn apply_json(&self, tx: &Txn) -> Result<Value, Abort<RpcError>>;
}

impl<S: Step> AnyStep for S {
    fn apply_json(&self, tx: &Txn) -> Result<Value, Abort<RpcError>> {
        let done = self.apply(tx)?;
        serde_json::to_value(done).map_err(|e| Abort::Fail(RpcError::Internal(e.to_string())))
    }
}

/// Applies one step in its own transaction and makes it durable: how an RPC that is a step
/// runs when it is not in a batch.
pub async fn commit<S: Step>(game: &GameStore, step: &S) -> Result<S::Done, RpcError> {
    let vault = Vault::open(game)?;
    let done = vault.transaction(&[], |tx| step.apply(tx))?;
    game.durable().await?;
    Ok(done)
}

/// Turns a feature's error into a transaction abort that carries it.
pub fn fail<E, F: Into<E>>(e: F) -> Abort<E> {
    Abort::Fail(e.into())
}

/// Names the element an aborted step came from (`operations[3]: …`).
pub fn within<T>(prefix: &str, r: Result<T, Abort<RpcError>>) -> Result<T, Abort<RpcError>> {
    r.map_err(|e| match e {
        Abort::Fail(e) => Abort::Fail(e.within(prefix)),
        other => other,
    })
}
