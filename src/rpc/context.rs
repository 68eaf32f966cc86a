//! What a handler knows about its call.

use std::str::FromStr;

use crate::app::App;
use crate::auth::UserId;
use crate::store::{GameId, GameStore};

use super::{Caller, CallerClass, RpcError};

tokio::task_local! {
    /// The client address of the request being served, set by the transport around
    /// [`Registry::call`](super::Registry::call) (HTTPS: after `trusted_proxies`).
    static CLIENT_IP: std::net::IpAddr;
}

/// Runs `f` (a registry call) with `ip` as its client address.
pub async fn with_client_ip<F: std::future::Future>(ip: std::net::IpAddr, f: F) -> F::Output {
    CLIENT_IP.scope(ip, f).await
}

#[derive(Clone)]
pub struct RpcContext {
    pub app: App,
    pub caller: Caller,
    pub rpc_id: &'static str,
}

impl RpcContext {
    /// The storage of a registered game named in a payload; `NOT_FOUND` otherwise.
    pub fn game(&self, game_id: &str) -> Result<GameStore, RpcError> {
        let id = GameId::from_str(game_id).map_err(RpcError::InvalidArgument)?;
        self.app
            .store
            .game(id)
            .map_err(|_| RpcError::NotFound(format!("game {game_id} is not registered")))
    }

    /// The user a call acts on. A player acts on themself (naming anyone else is refused);
    /// a server or admin caller must name the user, and the account must exist (a typo must
    /// not move value to nobody).
    pub fn user(&self, requested: Option<UserId>) -> Result<UserId, RpcError> {
        match (&self.caller, requested) {
            (Caller::Player(s), None) => Ok(s.user_id),
            (Caller::Player(s), Some(u)) if u == s.user_id => Ok(u),
            (Caller::Player(_), Some(_)) => Err(RpcError::PermissionDenied(
                "players may only act on their own data".into(),
            )),
            (_, Some(u)) => match self.app.auth.account(u) {
                Ok(_) => Ok(u),
                Err(crate::auth::AuthError::NotFound(_)) => {
                    Err(RpcError::NotFound(format!("user_id: no account {u}")))
                }
                Err(e) => Err(e.into()),
            },
            (_, None) => Err(RpcError::invalid(
                "user_id is required for server and admin callers",
            )),
        }
    }

    /// The caller's own user id when a player (or an admin with an account).
    pub fn self_id(&self) -> Option<UserId> {
        match &self.caller {
            Caller::Player(s) => Some(s.user_id),
            Caller::Admin(id) => *id,
            Caller::Server => None,
        }
    }

    /// The client address of this call, when the transport knows one (HTTPS does; the admin
    /// socket does not).
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        CLIENT_IP.try_with(|ip| *ip).ok()
    }

    /// True for server and admin callers.
    pub fn is_trusted(&self) -> bool {
        self.caller.class() >= CallerClass::Server
    }
}
