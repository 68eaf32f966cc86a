//! What moderation shows: bans as people read them.

use serde::Serialize;

use crate::auth::{Account, Ban, UserId};

#[derive(Debug, Clone, Serialize)]
pub struct BanView {
    pub user_id: UserId,
    pub username: String,
    pub reason: String,
    pub by: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `null` for a permanent ban.
    pub until: Option<String>,
    /// False once a temporary ban has lifted.
    pub active: bool,
}

impl BanView {
    pub fn new(ban: &Ban, account: Option<&Account>, now: i64) -> Self {
        BanView {
            user_id: ban.user_id,
            username: account.map(|a| a.username.clone()).unwrap_or_default(),
            reason: ban.reason.clone(),
            by: ban.by.clone(),
            created_at: crate::time::rfc3339(ban.created_at),
            until: ban.until.map(crate::time::rfc3339),
            active: ban.is_active(now),
        }
    }
}
