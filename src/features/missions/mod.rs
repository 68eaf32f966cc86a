//! Daily missions: a per-game pool of missions (reach a target on a stat for a reward);
//! each player gets a deterministic selection every UTC day, reports progress (capped at
//! the target; by default only servers may report it, a mission may allow the player), and
//! claims each completed mission's reward once.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{DayProgress, Mission, MissionPool, MissionProgress, Reporter};

use crate::rpc::{Limit, Registry, RpcError};
use crate::store::StoreError;

/// `g/<game>/missions.pool`: "pool" → [`MissionPool`].
pub const POOLS: &str = "missions.pool";
/// `g/<game>/missions.userid_day`: (user, UTC day) → [`DayProgress`].
pub const PROGRESS: &str = "missions.userid_day";

#[derive(Debug, thiserror::Error)]
pub enum MissionError {
    #[error("{0}")]
    Invalid(String),
    #[error("daily missions are not configured for this game")]
    NotConfigured,
    #[error("mission `{0}` is not among today's missions")]
    NotToday(String),
    #[error("progress on mission `{0}` is reported by the game server only")]
    ServerOnly(String),
    #[error("mission `{id}` is not complete ({progress}/{target})")]
    Incomplete {
        id: String,
        progress: u64,
        target: u64,
    },
    #[error("the reward of mission `{0}` was already claimed")]
    AlreadyClaimed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MissionError> for RpcError {
    fn from(e: MissionError) -> Self {
        match e {
            MissionError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ (MissionError::NotConfigured | MissionError::Incomplete { .. }) => {
                RpcError::FailedPrecondition(e.to_string())
            }
            e @ MissionError::NotToday(_) => RpcError::NotFound(e.to_string()),
            e @ MissionError::ServerOnly(_) => RpcError::PermissionDenied(e.to_string()),
            e @ MissionError::AlreadyClaimed(_) => RpcError::AlreadyExists(e.to_string()),
            MissionError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin(
        "missions_set_definitions",
        Limit::Write,
        rpc::set_definitions,
    );
    r.player("missions_get_daily", Limit::Read, rpc::get_daily);
    r.player(
        "missions_update_progress",
        Limit::Write,
        rpc::update_progress,
    );
    r.player("missions_claim_reward", Limit::Write, rpc::claim_reward);
}
