//! The moderation RPCs (admin only). The CLI's `ban`, `unban` and `bans` call these same
//! handlers through the admin socket.

use serde::{Deserialize, Serialize};

use super::{actor, audit, BanView};
use crate::auth::{Lookup, UserId};
use crate::rpc::{RpcContext, RpcError};

const MAX_REASON: usize = 256;
const DEFAULT_REASON: &str = "banned by an administrator";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// User id, username or email.
    #[serde(alias = "user_id")]
    user: String,
    /// What `user` is (`id`, `username`, `email`); absent: any, refused when ambiguous.
    #[serde(default)]
    by: Lookup,
    /// How long, like `30m`, `24h`, `7d`; absent for a permanent ban.
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    /// Ignored: bans span every game.
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
pub struct BanReply {
    ban: BanView,
}

pub async fn ban(ctx: RpcContext, req: BanRequest) -> Result<BanReply, RpcError> {
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REASON)
        .to_string();
    if reason.chars().count() > MAX_REASON {
        return Err(RpcError::invalid(format!(
            "reason: at most {MAX_REASON} characters"
        )));
    }
    let now = crate::time::now();
    let until = match &req.duration {
        Some(d) => Some(ban_end(now, d)?),
        None => None,
    };
    let auth = &ctx.app.auth;
    let account = auth.find_by(req.by, &req.user)?;
    let by = actor(&ctx.caller);
    let ban = auth.ban(account.id, until, &reason, &by).await?;
    let detail = match &req.duration {
        Some(d) => format!("for {d}: {reason}"),
        None => format!("permanent: {reason}"),
    };
    audit::record(&ctx.app.store, &by, "ban", &account.id.to_string(), &detail)?;
    ctx.app.store.durable().await?;
    Ok(BanReply {
        ban: BanView::new(&ban, Some(&account), now),
    })
}

/// The longest timed ban; longer is what a permanent ban (no duration) is for.
const MAX_BAN_SECS: i64 = 100 * 366 * 86_400;

/// When a ban given `duration` from `now` lifts, or an error naming `duration`.
fn ban_end(now: i64, duration: &str) -> Result<i64, RpcError> {
    let secs = crate::time::parse_duration(duration)
        .map_err(|e| RpcError::invalid(format!("duration: {e}")))?;
    if secs > MAX_BAN_SECS {
        return Err(RpcError::invalid(format!(
            "duration: `{duration}` is longer than 100 years; leave it out for a permanent ban"
        )));
    }
    now.checked_add(secs)
        .ok_or_else(|| RpcError::invalid(format!("duration: `{duration}` is too long")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnbanRequest {
    #[serde(alias = "user_id")]
    user: String,
    #[serde(default)]
    by: Lookup,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
pub struct UnbanReply {
    user_id: UserId,
    username: String,
    /// False when the user was not banned.
    unbanned: bool,
}

pub async fn unban(ctx: RpcContext, req: UnbanRequest) -> Result<UnbanReply, RpcError> {
    let auth = &ctx.app.auth;
    let account = auth.find_by(req.by, &req.user)?;
    let unbanned = auth.unban(account.id).await?;
    if unbanned {
        audit::record(
            &ctx.app.store,
            &actor(&ctx.caller),
            "unban",
            &account.id.to_string(),
            "",
        )?;
        ctx.app.store.durable().await?;
    }
    Ok(UnbanReply {
        user_id: account.id,
        username: account.username,
        unbanned,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Include bans that have lifted.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    bans: Vec<BanView>,
}

pub async fn list_bans(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let limit = req.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(RpcError::invalid("limit: must be 1 to 1000"));
    }
    let auth = &ctx.app.auth;
    let now = crate::time::now();
    let bans = auth
        .bans(req.all)?
        .into_iter()
        .take(limit)
        .map(|b| {
            let account = auth.account(b.user_id).ok();
            BanView::new(&b, account.as_ref(), now)
        })
        .collect();
    Ok(ListReply { bans })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    #[serde(default = "fifty")]
    limit: usize,
    /// Only entries of this action (`ban`, `promote`, `backup_create`, …).
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

fn fifty() -> usize {
    50
}

/// The newest admin actions, newest first.
pub async fn audit_list(ctx: RpcContext, req: AuditRequest) -> Result<serde_json::Value, RpcError> {
    if !(1..=10_000).contains(&req.limit) {
        return Err(RpcError::invalid("limit: must be 1 to 10000"));
    }
    let wanted = if req.action.is_some() {
        10_000
    } else {
        req.limit
    };
    let entries: Vec<serde_json::Value> = audit::recent(&ctx.app.store, wanted)?
        .into_iter()
        .filter(|e| req.action.as_deref().is_none_or(|a| a == e.action))
        .take(req.limit)
        .map(|e| {
            serde_json::json!({
                "at": chrono::DateTime::<chrono::Utc>::from_timestamp_millis(e.at_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail,
            })
        })
        .collect();
    Ok(serde_json::json!({ "entries": entries }))
}

#[cfg(test)]
mod ban_tests {
    #[test]
    fn a_ban_duration_cannot_overflow_the_clock() {
        let now = crate::time::now();
        assert_eq!(super::ban_end(now, "1h").unwrap(), now + 3600);
        for huge in ["9223372036854775807s", "9223372036854775w", "36601d"] {
            let err = super::ban_end(now, huge).unwrap_err();
            assert!(err.to_string().starts_with("duration:"), "{huge}: {err}");
        }
    }
}
