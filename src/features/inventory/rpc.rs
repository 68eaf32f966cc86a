use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::model::{Item, ItemGrant, ItemUse};
use super::rules::{self, MAX_ITEMS_PER_CALL};
use crate::auth::UserId;
use crate::features::vault::{self, AnyStep, Step};
use crate::rpc::{decode, RpcContext, RpcError};
use crate::store::{Abort, GameStore, Txn};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct ItemsReply {
    user_id: UserId,
    items: Vec<Item>,
}

pub async fn list(ctx: RpcContext, req: ListRequest) -> Result<ItemsReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    Ok(ItemsReply {
        user_id: user,
        items: super::list(&game, user)?,
    })
}

fn check_count(n: usize) -> Result<(), RpcError> {
    if n == 0 || n > MAX_ITEMS_PER_CALL {
        return Err(RpcError::invalid(format!(
            "items must hold 1 to {MAX_ITEMS_PER_CALL} entries"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    items: Vec<ItemGrant>,
    #[serde(default)]
    idempotency_key: Option<String>,
    /// Why (kept in the audit log when an admin grants).
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Serialize)]
pub struct GrantReply {
    user_id: UserId,
    items: Vec<Item>,
    /// True when the idempotency key had already granted these items: nothing new moved.
    replayed: bool,
}

/// The `inventory_grant` RPC id, under which its idempotency receipts are kept.
const GRANT_RPC: &str = "inventory_grant";

/// A checked grant, ready to join a transaction.
pub struct GrantStep {
    user: UserId,
    items: Vec<ItemGrant>,
    instance_ids: Vec<Uuid>,
    idempotency_key: Option<String>,
}

impl Step for GrantStep {
    type Done = GrantReply;
    fn apply(&self, tx: &Txn) -> Result<GrantReply, Abort<RpcError>> {
        let (items, replayed) = vault::once(
            tx,
            self.user,
            GRANT_RPC,
            self.idempotency_key.as_deref(),
            &self.items,
            || super::grant_in(tx, self.user, &self.items, &self.instance_ids),
        )?;
        Ok(GrantReply {
            user_id: self.user,
            items,
            replayed,
        })
    }
}

fn plan_grant(ctx: &RpcContext, req: GrantRequest) -> Result<(GameStore, GrantStep), RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    check_count(req.items.len())?;
    for g in &req.items {
        rules::check_grant(g)?;
    }
    vault::check_idempotency_key(req.idempotency_key.as_deref())?;
    let instance_ids = super::instance_ids_for(&req.items);
    Ok((
        game,
        GrantStep {
            user,
            items: req.items,
            instance_ids,
            idempotency_key: req.idempotency_key,
        },
    ))
}

/// `inventory_grant` as a batch step.
pub fn plan_grant_step(
    ctx: &RpcContext,
    payload: Value,
) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let (game, step) = plan_grant(ctx, decode(payload)?)?;
    Ok((game, Box::new(step)))
}

pub async fn grant(ctx: RpcContext, req: GrantRequest) -> Result<GrantReply, RpcError> {
    if req.reason.as_ref().is_some_and(|r| r.chars().count() > 256) {
        return Err(RpcError::invalid("reason: at most 256 characters"));
    }
    let detail = format!(
        "game {}: {} ({})",
        req.game_id,
        req.items
            .iter()
            .map(|i| format!("{} × {}", i.quantity, i.id))
            .collect::<Vec<_>>()
            .join(", "),
        req.reason.as_deref().unwrap_or("no reason given")
    );
    let (game, step) = plan_grant(&ctx, req)?;
    let reply = vault::commit(&game, step).await?;
    if matches!(ctx.caller, crate::rpc::Caller::Admin(_)) && !reply.replayed {
        crate::features::moderation::audit::record(
            &ctx.app.store,
            &crate::features::moderation::actor(&ctx.caller),
            "inventory_grant",
            &reply.user_id.to_string(),
            &detail,
        )?;
    }
    Ok(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumeRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    items: Vec<ItemUse>,
}

/// A checked use of items, ready to join a transaction.
pub struct ConsumeStep {
    user: UserId,
    items: Vec<ItemUse>,
}

impl Step for ConsumeStep {
    type Done = ItemsReply;
    fn apply(&self, tx: &Txn) -> Result<ItemsReply, Abort<RpcError>> {
        Ok(ItemsReply {
            user_id: self.user,
            items: super::consume_in(tx, self.user, &self.items)?,
        })
    }
}

fn plan_consume(
    ctx: &RpcContext,
    req: ConsumeRequest,
) -> Result<(GameStore, ConsumeStep), RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    check_count(req.items.len())?;
    for u in &req.items {
        rules::check_use(u)?;
    }
    Ok((
        game,
        ConsumeStep {
            user,
            items: req.items,
        },
    ))
}

/// `inventory_consume` as a batch step.
pub fn plan_consume_step(
    ctx: &RpcContext,
    payload: Value,
) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let (game, step) = plan_consume(ctx, decode(payload)?)?;
    Ok((game, Box::new(step)))
}

pub async fn consume(ctx: RpcContext, req: ConsumeRequest) -> Result<ItemsReply, RpcError> {
    let (game, step) = plan_consume(&ctx, req)?;
    vault::commit(&game, step).await
}
