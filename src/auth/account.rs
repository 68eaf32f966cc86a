//! An account: who a player is across every game on this server.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type UserId = Uuid;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Player,
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub id: UserId,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub lang_tag: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub timezone: String,
    /// JSON object text, as Nakama keeps it.
    #[serde(default = "empty_object")]
    pub metadata: String,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(default)]
    pub custom_id: Option<String>,
    /// Unix seconds.
    pub create_time: i64,
    pub update_time: i64,
}

fn empty_object() -> String {
    "{}".into()
}

impl Account {
    pub fn new(id: UserId, username: String, now: i64) -> Self {
        Account {
            id,
            username,
            display_name: String::new(),
            avatar_url: String::new(),
            lang_tag: "en".into(),
            location: String::new(),
            timezone: String::new(),
            metadata: empty_object(),
            role: Role::Player,
            email: None,
            password_hash: None,
            devices: Vec::new(),
            custom_id: None,
            create_time: now,
            update_time: now,
        }
    }
}

/// What a player may change about their account (`PUT /v2/account`). `None` leaves a field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountUpdate {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub lang_tag: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
    pub metadata: Option<String>,
}

/// A way to prove who you are.
#[derive(Debug, Clone)]
pub enum Credential {
    Device(String),
    Email { email: String, password: String },
    Custom(String),
}
