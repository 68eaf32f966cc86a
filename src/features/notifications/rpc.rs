use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Notification, NOTIFICATIONS};
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{RpcContext, RpcError};
use crate::store::Key;

const MAX_DELETE: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    /// Newest first.
    notifications: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub async fn list(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let page = game.tree(NOTIFICATIONS)?.page::<Notification>(
        Key::new().uuid(user).as_bytes(),
        start.as_deref(),
        limit,
    )?;
    Ok(ListReply {
        cursor: paging::next(&page),
        notifications: page.entries.iter().map(|(_, n)| n.to_json()).collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    ids: Vec<Uuid>,
}

#[derive(Serialize)]
pub struct DeleteReply {
    deleted: usize,
}

pub async fn delete(ctx: RpcContext, req: DeleteRequest) -> Result<DeleteReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.ids.is_empty() || req.ids.len() > MAX_DELETE {
        return Err(RpcError::invalid(format!(
            "ids must hold 1 to {MAX_DELETE} notification ids"
        )));
    }
    let deleted = super::delete(&game, user, &req.ids)?;
    // A deleted notification must not come back after a crash once the player was told.
    game.durable().await?;
    Ok(DeleteReply { deleted })
}
