use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{Amounts, Change, Changeset, LedgerEntry};
use crate::auth::UserId;
use crate::features::paging;
use crate::features::vault::{self, AnyStep, Step, Vault};
use crate::rpc::{decode, RpcContext, RpcError};
use crate::store::{Abort, GameStore, Key, Txn};

/// Most operations in one `batch_wallet_operations`.
pub const MAX_BATCH_OPERATIONS: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct WalletReply {
    user_id: UserId,
    wallet: Amounts,
    /// Unix seconds of the last change; 0 for a wallet never changed.
    updated_at: i64,
}

pub async fn get(ctx: RpcContext, req: GetRequest) -> Result<WalletReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let b = super::balances(&game, user)?;
    Ok(WalletReply {
        user_id: user,
        wallet: b.currencies,
        updated_at: b.updated_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    changeset: Changeset,
    reason: String,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn change(
    changeset: Changeset,
    reason: String,
    metadata: Option<Map<String, Value>>,
    idempotency_key: Option<String>,
) -> Change {
    Change {
        changeset,
        reason,
        metadata: metadata.unwrap_or_default(),
        idempotency_key,
    }
}

#[derive(Serialize)]
pub struct UpdateReply {
    user_id: UserId,
    wallet: Amounts,
    entry: LedgerEntry,
    /// True when an idempotency key had already applied this change.
    replayed: bool,
}

/// A checked wallet change for one user, ready to join a transaction.
pub struct WalletStep {
    user: UserId,
    change: Change,
}

impl Step for WalletStep {
    type Done = UpdateReply;
    fn apply(&self, tx: &Txn) -> Result<UpdateReply, Abort<RpcError>> {
        let a = super::apply_in::<RpcError>(tx, self.user, &self.change)?;
        Ok(UpdateReply {
            user_id: self.user,
            wallet: a.wallet,
            entry: a.entry,
            replayed: a.replayed,
        })
    }
}

fn plan_update(ctx: &RpcContext, req: UpdateRequest) -> Result<(GameStore, WalletStep), RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let change = change(req.changeset, req.reason, req.metadata, req.idempotency_key);
    super::rules::check(&change)?;
    Ok((game, WalletStep { user, change }))
}

/// `wallet_update` as a batch step.
pub fn plan(ctx: &RpcContext, payload: Value) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let (game, step) = plan_update(ctx, decode(payload)?)?;
    Ok((game, Box::new(step)))
}

pub async fn update(ctx: RpcContext, req: UpdateRequest) -> Result<UpdateReply, RpcError> {
    let detail = format!(
        "game {}: {} ({})",
        req.game_id,
        serde_json::to_string(&req.changeset).unwrap_or_default(),
        req.reason
    );
    let (game, step) = plan_update(&ctx, req)?;
    let reply = vault::commit(&game, step).await?;
    // An admin's hand on a player's wallet is audited (a studio server's is in the ledger).
    if matches!(ctx.caller, crate::rpc::Caller::Admin(_)) && !reply.replayed {
        crate::features::moderation::audit::record(
            &ctx.app.store,
            &crate::features::moderation::actor(&ctx.caller),
            "wallet_update",
            &reply.user_id.to_string(),
            &detail,
        )?;
    }
    Ok(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct LedgerReply {
    user_id: UserId,
    /// Newest first.
    entries: Vec<LedgerEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub async fn ledger(ctx: RpcContext, req: LedgerRequest) -> Result<LedgerReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let page = game.tree(super::LEDGER)?.page::<LedgerEntry>(
        Key::new().uuid(user).as_bytes(),
        start.as_deref(),
        limit,
    )?;
    Ok(LedgerReply {
        user_id: user,
        cursor: paging::next(&page),
        entries: page.entries.into_iter().map(|(_, e)| e).collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    game_id: String,
    operations: Vec<BatchOperation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOperation {
    user_id: UserId,
    changeset: Changeset,
    reason: String,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Serialize)]
pub struct BatchReply {
    /// One reply per operation, by index.
    results: Vec<UpdateReply>,
}

/// `batch_wallet_operations`: several users' changes in one transaction, all or none.
pub async fn batch(ctx: RpcContext, req: BatchRequest) -> Result<BatchReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.operations.is_empty() || req.operations.len() > MAX_BATCH_OPERATIONS {
        return Err(RpcError::invalid(format!(
            "operations must hold 1 to {MAX_BATCH_OPERATIONS} changes"
        )));
    }
    let mut steps = Vec::with_capacity(req.operations.len());
    for (i, o) in req.operations.into_iter().enumerate() {
        let user = ctx
            .user(Some(o.user_id))
            .map_err(|e| e.within(&format!("operations[{i}]")))?;
        let change = change(o.changeset, o.reason, o.metadata, o.idempotency_key);
        super::rules::check(&change)
            .map_err(|e| RpcError::from(e).within(&format!("operations[{i}]")))?;
        steps.push(WalletStep { user, change });
    }
    let vault = Vault::open(&game)?;
    let results = vault.transaction(&[], |tx| {
        let mut out = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            out.push(vault::within(&format!("operations[{i}]"), s.apply(tx))?);
        }
        Ok(out)
    })?;
    game.durable().await?;
    Ok(BatchReply { results })
}
