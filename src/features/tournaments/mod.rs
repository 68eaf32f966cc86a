//! Tournaments: a competition with a registration window, an entry fee, a cap on players, a
//! prize table and one or more stages — a score window ranked by a leaderboard, or bracket
//! formats (single and double elimination, round robin, Swiss) that may chain (Swiss, then
//! the top 8 into single elimination). Each tournament walks `upcoming → registration →
//! active → ended → rewards_distributed`, driven by stored jobs in game time, so a step due
//! while the server was down happens at start. The fee is taken in the same vault
//! transaction as the join and refunded on leave before the start; prizes are paid once
//! through `rewards::grant` with a key per tournament, and each winner is notified.
//! Recurring tournaments (daily, weekly, monthly) create their next instance as they start.
//!
//! With `rooms`, each bracket match that becomes ready is opened as a private QUIC room for
//! its two players and its result reports itself; rooms lost to a restart are reopened at
//! the next start ([`rooms`]).
//!
//! The bracket formats are pure ([`formats`]); this module stores, schedules and pays.

pub mod formats;
pub(crate) mod lifecycle;
pub mod model;
pub mod rooms;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Entry, Stage, StageFormat, State, Tournament};

use uuid::Uuid;

use crate::auth::UserId;
use crate::features::inventory::InventoryError;
use crate::features::leaderboards::LeaderboardError;
use crate::features::rewards::RewardError;
use crate::features::vault::KeyReused;
use crate::features::wallet::WalletError;
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameStore, Key, StoreError};
use formats::{Bracket, BracketError};

/// `g/<game>/tournament.id`: tournament id → [`Tournament`].
pub const TOURNAMENTS: &str = "tournament.id";
/// `g/<game>/tournament.id_userid`: (tournament, user) → [`Entry`].
pub const ENTRIES: &str = "tournament.id_userid";
/// `g/<game>/tournament.userid_id`: (user, tournament) → join time, for "my tournaments".
pub const BY_USER: &str = "tournament.userid_id";
/// `g/<game>/tournament.id_stage`: (tournament, stage) → [`Bracket`].
pub const BRACKETS: &str = "tournament.id_stage";
/// The scheduled-job kind that advances a tournament; the subject is its id.
pub const ADVANCE_JOB: &str = "tournament_advance";

#[derive(Debug, thiserror::Error)]
pub enum TournamentError {
    #[error("{0}")]
    Invalid(String),
    #[error("tournament_id: no tournament {0}")]
    NotFound(Uuid),
    #[error("{0}")]
    NotNow(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Bracket(#[from] BracketError),
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Reward(#[from] RewardError),
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
    #[error(transparent)]
    Leaderboard(#[from] LeaderboardError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TournamentError> for RpcError {
    fn from(e: TournamentError) -> Self {
        match e {
            TournamentError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ TournamentError::NotFound(_) => RpcError::NotFound(e.to_string()),
            TournamentError::NotNow(m) => RpcError::FailedPrecondition(m),
            TournamentError::AlreadyExists(m) => RpcError::AlreadyExists(m),
            TournamentError::Bracket(b) => match b {
                BracketError::UnknownMatch(_) => RpcError::NotFound(b.to_string()),
                BracketError::WrongPlayers { .. }
                | BracketError::ScoresContradict(_)
                | BracketError::DrawNotAllowed(_) => RpcError::InvalidArgument(b.to_string()),
                _ => RpcError::FailedPrecondition(b.to_string()),
            },
            TournamentError::Wallet(w) => w.into(),
            TournamentError::Inventory(i) => i.into(),
            TournamentError::Reward(r) => r.into(),
            TournamentError::KeyReused(k) => k.into(),
            TournamentError::Leaderboard(l) => l.into(),
            TournamentError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin("tournament_create", Limit::Write, rpc::create);
    r.admin("tournament_end_now", Limit::Write, rpc::end_now);
    r.player("tournament_join", Limit::Write, rpc::join);
    r.player("tournament_leave", Limit::Write, rpc::leave);
    r.player("tournament_list_active", Limit::Read, rpc::list_active);
    r.player("tournament_submit_score", Limit::Write, rpc::submit_score);
    r.player(
        "tournament_get_leaderboard",
        Limit::Read,
        rpc::get_leaderboard,
    );
    r.player("tournament_claim_rewards", Limit::Write, rpc::claim_rewards);
    r.player("tournament_get_bracket", Limit::Read, rpc::get_bracket);
    r.player(
        "tournament_get_my_tournaments",
        Limit::Read,
        rpc::my_tournaments,
    );
    r.player(
        "tournament_get_past_results",
        Limit::Read,
        rpc::past_results,
    );
    r.server("tournament_report_match", Limit::Write, rpc::report_match);
    r.job(ADVANCE_JOB, lifecycle::job);
    r.job_at_start(rooms::REOPEN_JOB, rooms::reopen_job);
}

pub fn tournament_key(id: Uuid) -> Key {
    Key::new().uuid(id)
}

pub fn entry_key(id: Uuid, user: UserId) -> Key {
    Key::new().uuid(id).uuid(user)
}

pub fn by_user_key(user: UserId, id: Uuid) -> Key {
    Key::new().uuid(user).uuid(id)
}

pub fn bracket_key(id: Uuid, stage: usize) -> Key {
    Key::new().uuid(id).u64(stage as u64)
}

/// A tournament by id.
pub fn get(game: &GameStore, id: Uuid) -> Result<Tournament, TournamentError> {
    game.tree(TOURNAMENTS)?
        .get(tournament_key(id))?
        .ok_or(TournamentError::NotFound(id))
}

/// A stage's bracket, if that stage has started and is a bracket.
pub fn bracket(game: &GameStore, id: Uuid, stage: usize) -> Result<Option<Bracket>, StoreError> {
    game.tree(BRACKETS)?.get(bracket_key(id, stage))
}

/// Every entrant, in key order.
pub fn entries(game: &GameStore, id: Uuid) -> Result<Vec<Entry>, StoreError> {
    game.tree(ENTRIES)?
        .scan_prefix::<Entry>(Key::new().uuid(id))
        .map(|r| r.map(|(_, e)| e))
        .collect()
}

/// A player's entry, if they joined.
pub fn entry(game: &GameStore, id: Uuid, user: UserId) -> Result<Option<Entry>, StoreError> {
    game.tree(ENTRIES)?.get(entry_key(id, user))
}

/// The leaderboard that ranks a leaderboard-format tournament: its id is the tournament's.
pub fn board_id(id: Uuid) -> String {
    id.to_string()
}

/// The idempotency key a tournament's prize is paid under (one per player and tournament).
pub fn prize_key(id: Uuid) -> String {
    format!("tournament:{id}:prize")
}
