use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One stored object: a JSON object a player (or a server for them) keeps under
/// (collection, key), with Nakama's version and permissions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredObject {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    /// Compact JSON text of the value.
    pub value: String,
    /// MD5 hex of `value`.
    pub version: String,
    /// 0 no read (servers only), 1 owner read, 2 public read.
    pub permission_read: u8,
    /// 0 no write (servers only), 1 owner write.
    pub permission_write: u8,
    /// Unix seconds.
    pub create_time: i64,
    pub update_time: i64,
}

/// A write as callers ask for it. `version`: absent or empty writes whatever is there, `*`
/// creates only, anything else must be the current version.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectWrite {
    pub collection: String,
    pub key: String,
    /// JSON text of an object.
    pub value: String,
    pub version: Option<String>,
    pub permission_read: Option<u8>,
    pub permission_write: Option<u8>,
}

/// Names one object (and, for deletes, the version it must still have).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectId {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    pub version: Option<String>,
}

/// Nakama's write acknowledgement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ack {
    pub collection: String,
    pub key: String,
    pub version: String,
    pub user_id: Uuid,
    pub create_time: String,
    pub update_time: String,
}

/// Who reads or writes: a trusted server (any object, any permission) or one player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Actor {
    Server,
    Player(Uuid),
}
