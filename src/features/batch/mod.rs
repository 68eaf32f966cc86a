//! Batches (SPEC §7): `batch_execute` runs several RPCs in one call through the registry,
//! each checked for its own caller class and rate limit. With `atomic: true` every
//! operation must be one that can join a storage transaction (a [`Step`]): they are all
//! planned first, then applied in one transaction over the game's vault — all or nothing.
//! RPCs that cannot join one refuse atomic mode.
//!
//! [`Step`]: crate::features::vault::Step

pub(crate) mod rpc;

use serde_json::Value;

use crate::features::vault::AnyStep;
use crate::rpc::{Limit, Registry, RpcContext, RpcError};
use crate::store::GameStore;

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 50;

/// Plans one RPC as a transaction step from its payload.
pub type Planner = fn(&RpcContext, Value) -> Result<(GameStore, Box<dyn AnyStep>), RpcError>;

/// The RPCs that can join an atomic batch, and how each is planned.
pub const JOINABLE: &[(&str, Planner)] = &[
    ("wallet_update", crate::features::wallet::rpc::plan),
    (
        "inventory_grant",
        crate::features::inventory::rpc::plan_grant_step,
    ),
    (
        "inventory_consume",
        crate::features::inventory::rpc::plan_consume_step,
    ),
    (
        "cloud_save_write",
        crate::features::storage::rpc::plan_write_step,
    ),
    (
        "cloud_save_delete",
        crate::features::storage::rpc::plan_delete_step,
    ),
    (
        "batch_write_storage",
        crate::features::storage::rpc::plan_batch_write_step,
    ),
];

pub fn planner(rpc_id: &str) -> Option<Planner> {
    JOINABLE
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(rpc_id))
        .map(|(_, p)| *p)
}

pub fn register(r: &mut Registry) {
    r.player("batch_execute", Limit::Write, rpc::execute);
}
