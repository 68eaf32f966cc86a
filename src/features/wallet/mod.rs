//! A player's wallet in one game: any number of currencies, never below zero, every change
//! a ledger entry written in the same transaction as the balance and flushed before the
//! reply. Players read their wallet and ledger; only servers, admins and server-side game
//! logic (rewards, fees) change it. An idempotency key makes a retried change apply once.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Amounts, Applied, Balances, Change, Changeset, LedgerEntry};

use crate::auth::UserId;
use crate::features::vault::{self, fail, Vault};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, StoreError, Txn};

use model::Receipt;

/// `g/<game>/wallet.userid`: user → [`Balances`].
pub const BALANCES: &str = "wallet.userid";
/// `g/<game>/wallet.userid_seq`: (user, seq descending) → [`LedgerEntry`].
pub const LEDGER: &str = "wallet.userid_seq";
/// `g/<game>/wallet.userid_idempotencykey`: (user, key) → receipt.
pub const RECEIPTS: &str = "wallet.userid_idempotencykey";

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{0}")]
    Invalid(String),
    #[error("insufficient {currency}: balance {balance}, the change would leave {would_be}")]
    Insufficient {
        currency: String,
        balance: i64,
        would_be: i64,
    },
    #[error("idempotency_key `{0}` was already used for a different change")]
    KeyReused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WalletError> for RpcError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ WalletError::Insufficient { .. } => RpcError::FailedPrecondition(e.to_string()),
            e @ WalletError::KeyReused(_) => RpcError::AlreadyExists(e.to_string()),
            WalletError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.player("wallet_get", Limit::Read, rpc::get);
    r.server("wallet_update", Limit::Write, rpc::update);
    r.player("wallet_ledger_list", Limit::Read, rpc::ledger);
    r.server("batch_wallet_operations", Limit::Write, rpc::batch);
}

pub fn wallet_key(user: UserId) -> Key {
    Key::new().uuid(user)
}

pub fn ledger_key(user: UserId, seq: u64) -> Key {
    Key::new().uuid(user).u64_desc(seq)
}

fn receipt_key(user: UserId, idempotency_key: &str) -> Key {
    Key::new().uuid(user).str(idempotency_key)
}

/// A player's balances (empty if they never had any).
pub fn balances(game: &GameStore, user: UserId) -> Result<Balances, StoreError> {
    Ok(game
        .tree(BALANCES)?
        .get(wallet_key(user))?
        .unwrap_or_default())
}

/// Applies `change` inside a running vault transaction: checks it, replays an idempotency
/// key that already applied, refuses a balance below zero, writes balance, ledger entry
/// and receipt together.
pub fn apply_in<E: From<WalletError>>(
    tx: &Txn,
    user: UserId,
    change: &Change,
) -> Result<Applied, Abort<E>> {
    rules::check(change).map_err(fail)?;
    if let Some(k) = &change.idempotency_key {
        if let Some(r) = tx.get::<Receipt, E>(vault::RECEIPTS, receipt_key(user, k))? {
            if r.changeset != change.changeset {
                return Err(fail(WalletError::KeyReused(k.clone())));
            }
            let entry: LedgerEntry =
                tx.get(vault::LEDGER, ledger_key(user, r.seq))?
                    .ok_or_else(|| {
                        fail(WalletError::Store(StoreError::Codec(
                            "receipt without ledger entry".into(),
                        )))
                    })?;
            let now: Balances = tx
                .get(vault::BALANCES, wallet_key(user))?
                .unwrap_or_default();
            return Ok(Applied {
                wallet: now.currencies,
                entry,
                replayed: true,
            });
        }
    }
    let mut b: Balances = tx
        .get(vault::BALANCES, wallet_key(user))?
        .unwrap_or_default();
    b.currencies = rules::apply(&b.currencies, &change.changeset).map_err(fail)?;
    b.seq += 1;
    b.updated_at = crate::time::now();
    let entry = LedgerEntry {
        seq: b.seq,
        changeset: change.changeset.clone(),
        balances: b.currencies.clone(),
        reason: change.reason.clone(),
        metadata: change.metadata.clone(),
        idempotency_key: change.idempotency_key.clone(),
        created_at: b.updated_at,
    };
    tx.insert(vault::LEDGER, ledger_key(user, b.seq), &entry)?;
    if let Some(k) = &change.idempotency_key {
        let r = Receipt {
            seq: b.seq,
            changeset: change.changeset.clone(),
        };
        tx.insert(vault::RECEIPTS, receipt_key(user, k), &r)?;
    }
    tx.insert(vault::BALANCES, wallet_key(user), &b)?;
    Ok(Applied {
        wallet: b.currencies,
        entry,
        replayed: false,
    })
}

/// Applies `change` in its own transaction, durable before it returns: what other features
/// call (entry fees, purchases, refunds).
pub async fn apply(
    game: &GameStore,
    user: UserId,
    change: &Change,
) -> Result<Applied, WalletError> {
    rules::check(change)?;
    let vault = Vault::open(game)?;
    let applied = vault.transaction(&[], |tx| apply_in::<WalletError>(tx, user, change))?;
    game.durable().await?;
    Ok(applied)
}

/// One currency moved by `amount` (> 0) in the direction `sign`.
async fn move_one(
    game: &GameStore,
    user: UserId,
    currency: &str,
    amount: i64,
    sign: i64,
    reason: &str,
) -> Result<Applied, WalletError> {
    if amount <= 0 {
        return Err(WalletError::Invalid(format!(
            "an amount of {currency} to move must be positive, not {amount}"
        )));
    }
    let change = Change {
        changeset: [(currency.to_string(), sign * amount)]
            .into_iter()
            .collect(),
        reason: reason.to_string(),
        ..Default::default()
    };
    apply(game, user, &change).await
}

/// Adds `amount` (> 0) of `currency`.
pub async fn credit(
    game: &GameStore,
    user: UserId,
    currency: &str,
    amount: i64,
    reason: &str,
) -> Result<Applied, WalletError> {
    move_one(game, user, currency, amount, 1, reason).await
}

/// Takes `amount` (> 0) of `currency`; refused when the balance is short.
pub async fn debit(
    game: &GameStore,
    user: UserId,
    currency: &str,
    amount: i64,
    reason: &str,
) -> Result<Applied, WalletError> {
    move_one(game, user, currency, amount, -1, reason).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn credit_and_debit_keep_balance_and_ledger_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let user = uuid::Uuid::new_v4();
        credit(&game, user, "coins", 30, "prize").await.unwrap();
        let a = debit(&game, user, "coins", 12, "entry fee").await.unwrap();
        assert_eq!(a.wallet.get("coins"), Some(&18));
        assert_eq!(a.entry.seq, 2);
        assert!(matches!(
            debit(&game, user, "coins", 19, "entry fee").await,
            Err(WalletError::Insufficient { would_be: -1, .. })
        ));
        assert!(matches!(
            credit(&game, user, "coins", 0, "nothing").await,
            Err(WalletError::Invalid(_))
        ));
        assert_eq!(
            balances(&game, user).unwrap().currencies.get("coins"),
            Some(&18)
        );
        let ledger: Vec<LedgerEntry> = game
            .tree(LEDGER)
            .unwrap()
            .scan_prefix(Key::new().uuid(user))
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(ledger.len(), 2);
        assert_eq!(ledger[0].reason, "entry fee", "newest first");
        assert_eq!(
            rules::total("coins", ledger.iter().map(|e| &e.changeset)),
            18
        );
    }
}
