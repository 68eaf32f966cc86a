//! Notifications: messages to one player in one game (a reward arrived, a match was found,
//! an event began). Persistent ones are stored until the player deletes them; every one is
//! published on the bus so a live connection can push it at once.

pub(crate) mod rpc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::auth::UserId;
use crate::events::{Bus, Event};
use crate::rpc::{Limit, Registry};
use crate::store::{GameStore, Key, StoreError};

/// `g/<game>/notification.userid_seq`: (user, seq descending) → [`Notification`].
pub const NOTIFICATIONS: &str = "notification.userid_seq";
/// `g/<game>/notification.userid`: user → last sequence number.
pub const SEQUENCES: &str = "notification.userid";

/// Codes other features send with (Nakama reserves codes ≤ 0 for itself).
pub mod codes {
    pub const MATCH_FOUND: i32 = 1;
    pub const REWARD_GRANTED: i32 = 100;
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Notification {
    pub id: Uuid,
    pub code: i32,
    pub subject: String,
    #[serde(default)]
    pub content: Map<String, Value>,
    pub persistent: bool,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default)]
    pub seq: u64,
}

impl Notification {
    /// The JSON clients see (Nakama's field names).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "code": self.code,
            "subject": self.subject,
            "content": self.content,
            "persistent": self.persistent,
            "create_time": crate::time::rfc3339(self.created_at),
        })
    }
}

pub fn register(r: &mut Registry) {
    r.player("notifications_list", Limit::Read, rpc::list);
    r.player("notifications_delete", Limit::Write, rpc::delete);
}

/// Sends a notification: stored when `persistent`, published on the bus either way.
pub fn notify(
    bus: &Bus,
    game: &GameStore,
    user: UserId,
    code: i32,
    subject: &str,
    content: Map<String, Value>,
    persistent: bool,
) -> Result<Notification, StoreError> {
    let mut n = Notification {
        id: Uuid::new_v4(),
        code,
        subject: subject.to_string(),
        content,
        persistent,
        created_at: crate::time::now(),
        seq: 0,
    };
    if persistent {
        n.seq = game.tree(SEQUENCES)?.increment(Key::new().uuid(user), 1)?;
        game.tree(NOTIFICATIONS)?
            .insert(Key::new().uuid(user).u64_desc(n.seq), &n)?;
    }
    bus.publish(Event::Notification {
        game_id: game.id(),
        user_id: user,
        notification: n.to_json(),
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_notification_is_published_and_stored_when_persistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let bus = Bus::new();
        let mut rx = bus.subscribe();
        let user = Uuid::new_v4();
        let kept = notify(
            &bus,
            &game,
            user,
            codes::REWARD_GRANTED,
            "kept",
            Map::new(),
            true,
        )
        .unwrap();
        notify(
            &bus,
            &game,
            user,
            codes::MATCH_FOUND,
            "live only",
            Map::new(),
            false,
        )
        .unwrap();
        for subject in ["kept", "live only"] {
            match rx.try_recv().unwrap() {
                Event::Notification {
                    game_id,
                    user_id,
                    notification,
                } => {
                    assert_eq!((game_id, user_id), (g.id, user));
                    assert_eq!(notification["subject"], subject);
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        let stored: Vec<Notification> = game
            .tree(NOTIFICATIONS)
            .unwrap()
            .scan_prefix(Key::new().uuid(user))
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(stored, vec![kept]);
    }
}
