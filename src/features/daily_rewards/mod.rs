//! Daily rewards: a per-game 7-day reward table; a player claims once per UTC day, each
//! consecutive day pays the next day of the table (day 8 is day 1 again), and a missed day
//! starts the streak over. A claim grants its reward and moves the streak in one
//! transaction.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{RewardTable, Standing, Streak};

use crate::rpc::{Limit, Registry, RpcError};
use crate::store::StoreError;

/// `g/<game>/daily.table`: "table" → [`RewardTable`].
pub const TABLES: &str = "daily.table";
/// `g/<game>/daily.userid`: user → [`Streak`].
pub const STREAKS: &str = "daily.userid";

#[derive(Debug, thiserror::Error)]
pub enum DailyError {
    #[error("{0}")]
    Invalid(String),
    #[error("daily rewards are not configured for this game")]
    NotConfigured,
    #[error("today's daily reward was already claimed")]
    AlreadyClaimed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DailyError> for RpcError {
    fn from(e: DailyError) -> Self {
        match e {
            DailyError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ DailyError::NotConfigured => RpcError::FailedPrecondition(e.to_string()),
            e @ DailyError::AlreadyClaimed => RpcError::AlreadyExists(e.to_string()),
            DailyError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin("daily_rewards_set_config", Limit::Write, rpc::set_config);
    r.player("daily_rewards_get_status", Limit::Read, rpc::status);
    r.player("daily_rewards_claim", Limit::Write, rpc::claim);
    r.admin("daily_rewards_reset", Limit::Write, rpc::reset);
}
