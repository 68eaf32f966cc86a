//! The in-process bus: features publish what happened, transports that care (live QUIC
//! connections) subscribe. Publishing never blocks and never fails for want of listeners.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::store::GameId;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// A user was banned: close their live connections now.
    Banned { user_id: Uuid, reason: String },
    /// A session was logged out: close the live connections opened with its token.
    SessionRevoked { user_id: Uuid, token_id: String },
    /// A notification was stored for a user: push it if they are online.
    Notification {
        game_id: GameId,
        user_id: Uuid,
        notification: serde_json::Value,
    },
}

#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Bus { tx }
    }

    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
