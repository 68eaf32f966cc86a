//! Analytics events as stored and as shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::UserId;

/// One event a game sent about a player.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub user_id: UserId,
    pub name: String,
    /// When it happened (the client's timestamp, else arrival), Unix milliseconds.
    pub at_ms: i64,
    /// Strings, numbers and booleans only.
    pub properties: BTreeMap<String, Value>,
    /// When the server stored it, Unix milliseconds.
    pub received_ms: i64,
}

/// An event as the RPCs and the export show it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub event_id: Uuid,
    pub user_id: UserId,
    pub name: String,
    /// RFC 3339 with milliseconds.
    pub timestamp: String,
    pub properties: BTreeMap<String, Value>,
    pub received_at: String,
}

pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        EventView {
            event_id: e.id,
            user_id: e.user_id,
            name: e.name.clone(),
            timestamp: rfc3339_ms(e.at_ms),
            properties: e.properties.clone(),
            received_at: rfc3339_ms(e.received_ms),
        }
    }
}

/// One event refused from a batch, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Refused {
    /// Position in the batch, from 0.
    pub index: usize,
    pub error: String,
}
