//! Players as the people who run a game see them: find an account by whatever a support
//! ticket names (user id, username, email, device id, custom id) and look at it — the
//! account, its ban, where it is online. The admin console's player pages read these;
//! what a player owns (wallet, inventory, saves, matches) comes from those features' RPCs.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Account, UserId};
use crate::features::moderation::BanView;
use crate::rpc::{Limit, Registry, RpcContext, RpcError};

pub fn register(r: &mut Registry) {
    r.admin("player_search", Limit::Read, search);
    r.admin("player_get", Limit::Read, get);
}

/// An account as admins see it (no password hash).
pub fn account_view(a: &Account) -> Value {
    json!({
        "user_id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "email": a.email,
        "role": a.role,
        "devices": a.devices,
        "custom_id": a.custom_id,
        "lang_tag": a.lang_tag,
        "metadata": a.metadata,
        "create_time": crate::time::rfc3339(a.create_time),
        "update_time": crate::time::rfc3339(a.update_time),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    query: String,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

async fn search(ctx: RpcContext, req: SearchRequest) -> Result<Value, RpcError> {
    let q = req.query.trim();
    if q.is_empty() || q.len() > 256 {
        return Err(RpcError::invalid("query: 1 to 256 characters"));
    }
    let players: Vec<Value> = ctx
        .app
        .auth
        .search(q)?
        .into_iter()
        .map(|(matched, a)| {
            let mut v = account_view(&a);
            v["matched_by"] = json!(matched);
            v
        })
        .collect();
    Ok(json!({ "players": players }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetRequest {
    user_id: UserId,
    /// The game whose presence to show; absent: the account only.
    #[serde(default)]
    game_id: Option<String>,
}

async fn get(ctx: RpcContext, req: GetRequest) -> Result<Value, RpcError> {
    let account = match ctx.app.auth.account(req.user_id) {
        Ok(a) => a,
        Err(crate::auth::AuthError::NotFound(_)) => {
            return Err(RpcError::NotFound(format!(
                "user_id: no account {}",
                req.user_id
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let now = crate::time::now();
    let ban = ctx
        .app
        .auth
        .active_ban(account.id)?
        .map(|b| BanView::new(&b, Some(&account), now));
    let presence = match &req.game_id {
        Some(g) => {
            let game = ctx.game(g)?;
            match ctx.app.matches.get() {
                Some(directory) => directory
                    .presences(game.id(), &[account.id])
                    .into_iter()
                    .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
                    .collect(),
                None => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    Ok(json!({
        "player": account_view(&account),
        "ban": ban,
        "online": presence,
    }))
}
