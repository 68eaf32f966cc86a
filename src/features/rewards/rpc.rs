use serde::{Deserialize, Serialize};

use super::{Granted, Reward};
use crate::auth::UserId;
use crate::rpc::{RpcContext, RpcError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    game_id: String,
    user_id: UserId,
    reward: Reward,
    reason: String,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Serialize)]
pub struct GrantReply {
    user_id: UserId,
    granted: Granted,
    /// True when the idempotency key had already granted this: nothing new was granted.
    replayed: bool,
}

/// `rewards_grant`: a server or admin pays a reward; the player is notified. An
/// idempotency key makes a retried grant pay once.
pub async fn grant(ctx: RpcContext, req: GrantRequest) -> Result<GrantReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(Some(req.user_id))?;
    crate::features::profiles::rules::check_name("reason", &req.reason)?;
    crate::features::vault::check_idempotency_key(req.idempotency_key.as_deref())?;
    let (granted, replayed) = super::grant_and_notify(
        &ctx.app.bus,
        &game,
        user,
        &req.reward,
        &req.reason,
        req.idempotency_key.as_deref(),
    )
    .await?;
    Ok(GrantReply {
        user_id: user,
        granted,
        replayed,
    })
}
