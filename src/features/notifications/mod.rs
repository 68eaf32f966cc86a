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
use crate::store::{Abort, GameStore, Key, StoreError, Tree};

/// `g/<game>/notification.userid_seq`: (user, seq descending) → [`Notification`].
pub const NOTIFICATIONS: &str = "notification.userid_seq";
/// `g/<game>/notification.userid`: user → last sequence number.
pub const SEQUENCES: &str = "notification.userid";
/// `g/<game>/notification.userid_id`: (user, notification id) → its sequence number, so a
/// notification is found by id without scanning the player's list.
pub const BY_ID: &str = "notification.userid_id";

/// Codes other features send with (Nakama reserves codes ≤ 0 for itself).
pub mod codes {
    pub const MATCH_FOUND: i32 = 1;
    pub const REWARD_GRANTED: i32 = 100;
    pub const EVENT_STARTED: i32 = 120;
    pub const EVENT_ENDED: i32 = 121;
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

pub fn notification_key(user: UserId, seq: u64) -> Key {
    Key::new().uuid(user).u64_desc(seq)
}

pub fn id_key(user: UserId, id: Uuid) -> Key {
    Key::new().uuid(user).uuid(id)
}

/// Deletes a player's stored notifications by id in one transaction, through the id index;
/// ids that are not the player's (or already gone) are skipped. Returns how many went.
pub fn delete(game: &GameStore, user: UserId, ids: &[Uuid]) -> Result<usize, StoreError> {
    let trees = [game.tree(NOTIFICATIONS)?, game.tree(BY_ID)?];
    Tree::transaction(&trees.iter().collect::<Vec<_>>(), |tx| {
        let mut deleted = 0;
        for id in ids {
            let Some(seq) = tx.get::<u64, StoreError>(1, id_key(user, *id))? else {
                continue;
            };
            tx.remove::<StoreError>(1, id_key(user, *id))?;
            if tx.remove::<StoreError>(0, notification_key(user, seq))? {
                deleted += 1;
            }
        }
        Ok(deleted)
    })
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
        let trees = [
            game.tree(SEQUENCES)?,
            game.tree(NOTIFICATIONS)?,
            game.tree(BY_ID)?,
        ];
        n.seq = Tree::transaction(&trees.iter().collect::<Vec<_>>(), |tx| {
            let seq = tx.increment(0, Key::new().uuid(user), 1)?;
            let stored = Notification { seq, ..n.clone() };
            tx.insert(1, notification_key(user, seq), &stored)?;
            tx.insert(2, id_key(user, n.id), &seq)?;
            Ok::<_, Abort<StoreError>>(seq)
        })?;
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
        assert_eq!(stored, vec![kept.clone()]);

        // Deleting goes through the id index: another player's id is skipped, a repeated
        // id counts once, and the index entry goes with the notification.
        let other = notify(&bus, &game, Uuid::new_v4(), 1, "theirs", Map::new(), true).unwrap();
        assert_eq!(
            delete(&game, user, &[other.id, kept.id, kept.id]).unwrap(),
            1
        );
        assert!(game
            .tree(NOTIFICATIONS)
            .unwrap()
            .scan_prefix::<Notification>(Key::new().uuid(user))
            .next()
            .is_none());
        assert!(!game
            .tree(BY_ID)
            .unwrap()
            .contains(id_key(user, kept.id))
            .unwrap());
        assert_eq!(delete(&game, user, &[kept.id]).unwrap(), 0);
    }
}
