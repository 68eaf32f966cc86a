use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Currency → amount; never negative.
pub type Amounts = BTreeMap<String, i64>;

/// Currency → signed delta, applied all together or not at all.
pub type Changeset = BTreeMap<String, i64>;

/// A player's wallet in one game.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Balances {
    #[serde(default)]
    pub currencies: Amounts,
    /// Sequence number of the last ledger entry.
    #[serde(default)]
    pub seq: u64,
    /// Unix seconds; 0 for a wallet never written.
    #[serde(default)]
    pub updated_at: i64,
}

/// One change as the ledger keeps it, with the balances it left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LedgerEntry {
    pub seq: u64,
    pub changeset: Changeset,
    pub balances: Amounts,
    pub reason: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What an idempotency key applied, so a retry answers the same and applies nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Receipt {
    pub seq: u64,
    pub changeset: Changeset,
}

/// A change to apply: deltas, why, and an optional idempotency key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub changeset: Changeset,
    pub reason: String,
    pub metadata: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

/// What applying a change did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub wallet: Amounts,
    pub entry: LedgerEntry,
    /// True when the idempotency key had already applied this change: nothing new moved.
    pub replayed: bool,
}
