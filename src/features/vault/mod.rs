//! The vault: every tree that holds a player's value in one game — wallet balances and
//! ledger, idempotency receipts, inventory, profiles, storage objects — opened together so
//! that a change spanning several features (a reward, a daily claim, an atomic batch)
//! commits in one storage transaction or not at all.
//!
//! Features address the vault's trees inside a [`Txn`] by the indexes below; a feature
//! with state of its own (a daily streak, mission progress) passes its trees as extras,
//! reachable at [`EXTRA`], `EXTRA + 1`, …

mod combine;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use crate::auth::UserId;
use crate::rpc::RpcError;
use crate::store::{Abort, GameStore, Key, StoreError, Tree, Txn};

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
/// `grant.userid_rpcid_idempotencykey`: (user, rpc id, key) → receipt of a grant.
pub const GRANT_RECEIPTS: usize = 6;
/// `storage.public_collection_userid_key`: the keys of public-read objects.
pub const PUBLIC_OBJECTS: usize = 7;
/// `storage.userid`: user → how many objects they keep.
pub const OBJECT_COUNTS: usize = 8;
/// The first extra tree a caller passes to [`Vault::transaction`].
pub const EXTRA: usize = 9;

/// `g/<game>/grant.userid_rpcid_idempotencykey`: (user, rpc id, idempotency key) →
/// [`GrantReceipt`] of a reward or item grant.
pub const GRANT_RECEIPT_TREE: &str = "grant.userid_rpcid_idempotencykey";

const NAMES: [&str; EXTRA] = [
    super::wallet::BALANCES,
    super::wallet::LEDGER,
    super::wallet::RECEIPTS,
    super::inventory::ITEMS,
    super::profiles::PROFILES,
    super::storage::OBJECTS,
    GRANT_RECEIPT_TREE,
    super::storage::PUBLIC_OBJECTS,
    super::storage::OBJECT_COUNTS,
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

/// Applies one step and makes it durable: how an RPC that is a step runs when it is not in
/// an atomic batch. Concurrent callers' steps on one game share a transaction and a flush
/// (see [`combine`]); each is answered with its own result, as if it had run alone.
pub async fn commit<S>(game: &GameStore, step: S) -> Result<S::Done, RpcError>
where
    S: Step + 'static,
    S::Done: Send + 'static,
{
    combine::commit(game, step).await
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

/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// An idempotency key was used before for a different request (409, as `wallet_update`).
#[derive(Debug, thiserror::Error)]
#[error("idempotency_key `{0}` was already used for a different request")]
pub struct KeyReused(pub String);

impl From<KeyReused> for RpcError {
    fn from(e: KeyReused) -> Self {
        RpcError::AlreadyExists(e.to_string())
    }
}

/// Checks an idempotency key as a request carries it.
pub fn check_idempotency_key(key: Option<&str>) -> Result<(), RpcError> {
    match key {
        None => Ok(()),
        Some("") => Err(RpcError::invalid("idempotency_key must not be empty")),
        Some(k) => crate::features::profiles::rules::check_text(
            "idempotency_key",
            k,
            MAX_IDEMPOTENCY_KEY_CHARS,
        ),
    }
}

/// What a grant with an idempotency key did: the request it answered (as JSON text) and
/// its result, so a retry answers the same and applies nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GrantReceipt<T> {
    pub request: String,
    pub result: T,
}

fn grant_receipt_key(user: UserId, rpc_id: &str, key: &str) -> Key {
    Key::new().uuid(user).str(rpc_id).str(key)
}

/// Runs `apply` inside a vault transaction at most once per (user, `rpc_id`, `key`): the
/// first time it applies and its result is kept as a receipt in the same transaction; a
/// retry with the same `request` returns the kept result (`true`: replayed) and applies
/// nothing; the same key with another request is refused with [`KeyReused`]. Without a
/// key, `apply` simply runs.
pub fn once<T, E, F>(
    tx: &Txn,
    user: UserId,
    rpc_id: &str,
    key: Option<&str>,
    request: &impl Serialize,
    apply: F,
) -> Result<(T, bool), Abort<E>>
where
    T: Serialize + DeserializeOwned,
    E: From<KeyReused>,
    F: FnOnce() -> Result<T, Abort<E>>,
{
    let Some(k) = key else {
        return Ok((apply()?, false));
    };
    let request = serde_json::to_string(request).map_err(|e| Abort::Codec(e.to_string()))?;
    let rk = grant_receipt_key(user, rpc_id, k);
    if let Some(r) = tx.get::<GrantReceipt<T>, E>(GRANT_RECEIPTS, &rk)? {
        if r.request != request {
            return Err(fail(KeyReused(k.to_string())));
        }
        return Ok((r.result, true));
    }
    let result = apply()?;
    let receipt = GrantReceipt { request, result };
    tx.insert(GRANT_RECEIPTS, &rk, &receipt)?;
    Ok((receipt.result, false))
}
