//! Who is calling an RPC.

use std::collections::BTreeMap;

use crate::auth::UserId;

/// The class of caller an RPC requires. Each class may also call what the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallerClass {
    /// Any authenticated caller; acts on the player's own data.
    Player,
    /// Studio servers (http key) and admins.
    Server,
    /// Admins only: accounts with the admin role, or the admin socket.
    Admin,
}

impl CallerClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerClass::Player => "player",
            CallerClass::Server => "server",
            CallerClass::Admin => "admin",
        }
    }
}

/// A player's session, as its token says.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: UserId,
    pub username: String,
    pub vars: BTreeMap<String, String>,
    pub token_id: String,
}

#[derive(Debug, Clone)]
pub enum Caller {
    Player(SessionUser),
    /// A studio server, proven by the http key.
    Server,
    /// An admin: an account with the admin role (`Some`) or the local admin socket (`None`).
    Admin(Option<UserId>),
}

impl Caller {
    pub fn class(&self) -> CallerClass {
        match self {
            Caller::Player(_) => CallerClass::Player,
            Caller::Server => CallerClass::Server,
            Caller::Admin(_) => CallerClass::Admin,
        }
    }

    /// The player behind the call, if it is a player session.
    pub fn session(&self) -> Option<&SessionUser> {
        match self {
            Caller::Player(s) => Some(s),
            _ => None,
        }
    }

    /// For audit logs.
    pub fn describe(&self) -> String {
        match self {
            Caller::Player(s) => format!("player:{}", s.user_id),
            Caller::Server => "server".into(),
            Caller::Admin(Some(id)) => format!("admin:{id}"),
            Caller::Admin(None) => "admin:socket".into(),
        }
    }
}
