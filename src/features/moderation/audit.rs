//! The audit log (`sys/audit.time_id`): every admin action — ban, unban, promote, demote,
//! game create, backup, restore — with who did it and when, newest read first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Key, Store, StoreError};

const AUDIT: &str = "audit.time_id";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// `cli`, `admin:<user id>`, …
    pub actor: String,
    /// `ban`, `unban`, `promote`, `demote`, `game_create`, `backup_create`, `restore`, …
    pub action: String,
    /// What it was done to: a user id, a game id, a file.
    pub target: String,
    /// Anything else worth knowing (reason, duration, counts).
    #[serde(default)]
    pub detail: String,
}

/// Appends an entry.
pub fn record(
    store: &Store,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<AuditEntry, StoreError> {
    let entry = AuditEntry {
        at_ms: crate::time::now_ms(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
    };
    let key = Key::new()
        .u64(entry.at_ms.max(0) as u64)
        .uuid(Uuid::new_v4());
    store.global(AUDIT)?.insert(key, &entry)?;
    Ok(entry)
}

/// The newest `limit` entries, newest first.
pub fn recent(store: &Store, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    store
        .global(AUDIT)?
        .iter::<AuditEntry>()
        .rev()
        .take(limit)
        .map(|e| e.map(|(_, v)| v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        record(&store, "cli", "ban", "u1", "cheating").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        record(&store, "cli", "unban", "u1", "").unwrap();
        let got = recent(&store, 10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].action, "unban");
        assert_eq!(got[1].detail, "cheating");
        assert_eq!(recent(&store, 1).unwrap().len(), 1);
    }
}
