//! A ban: a user refused everywhere until it lifts (or for good).

use serde::{Deserialize, Serialize};

use super::UserId;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ban {
    pub user_id: UserId,
    pub reason: String,
    /// Who banned: `cli`, an admin's user id, `auto:reports`, …
    pub by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds when it lifts; `None` is permanent.
    pub until: Option<i64>,
}

impl Ban {
    pub fn is_active(&self, now: i64) -> bool {
        self.until.is_none_or(|u| u > now)
    }
}
