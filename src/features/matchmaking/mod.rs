//! Matchmaking: players (alone or as a party, which is one ticket and never split) queue
//! for a mode in a region; a pass on a fixed interval matches tickets whose ratings lie in
//! each other's window, a window the server widens as they wait, and balances teams by total
//! rating. A match found starts a private QUIC match, reserves a seat per player with a
//! single-use join ticket and tells each player live and as a persistent notification; a seat
//! not taken in time drops the no-show and puts the others back at the front. A running
//! match may ask for players (a backfill): waiting tickets within reach of its average
//! rating get its free seats the same way, before new matches form. Ratings (Elo
//! or Glicko-2, per mode) move with every result: arena matches at their end, other games
//! through `match_report_result` or `matchmaking_update_skill_rating`. Every ticket can say
//! where it stands and why it is not matched yet.
//!
//! The queues live in memory ([`queue::Matchmaker`], a field of the App) and are rebuilt
//! from sled at start; tickets, parties, modes, ratings and history are stored.

pub mod matcher;
pub mod model;
pub mod modes;
pub mod queue;
pub mod ratings;
mod rpc;
pub mod sim;

pub use model::{
    Backfill, BackfillStatus, Constraints, FoundMatch, HistoryEntry, LastTicket, Mode, Outcome,
    Party, Rating, RatingSystem, Seat, Ticket, TicketState, Widening,
};
pub use queue::Matchmaker;

use uuid::Uuid;

use crate::app::App;
use crate::auth::UserId;
use crate::features::matches::MatchResult;
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, StoreError, Tree};

/// `g/<game>/mm.mode_name`: mode name → [`Mode`] (none stored: the presets).
pub const MODES: &str = "mm.mode_name";
/// `g/<game>/mm.ticket_ticketid`: live tickets → [`Ticket`].
pub const TICKETS: &str = "mm.ticket_ticketid";
/// `g/<game>/mm.ticket_userid`: player → the id of their live ticket.
pub const TICKET_BY_USER: &str = "mm.ticket_userid";
/// `g/<game>/mm.party_partyid`: party id → [`Party`].
pub const PARTIES: &str = "mm.party_partyid";
/// `g/<game>/mm.party_userid`: player → their party's id.
pub const PARTY_BY_USER: &str = "mm.party_userid";
/// `g/<game>/mm.rating_userid_mode`: (player, mode) → [`Rating`].
pub const RATINGS: &str = "mm.rating_userid_mode";
/// `g/<game>/mm.found_matchid`: match id → [`FoundMatch`] (what rates it later).
pub const FOUND: &str = "mm.found_matchid";
/// `g/<game>/mm.rated_matchid`: match ids whose result moved ratings (once each).
pub const RATED: &str = "mm.rated_matchid";
/// `g/<game>/mm.history_userid_at_matchid`: a player's rated matches, newest first.
pub const HISTORY: &str = "mm.history_userid_at_matchid";
/// `g/<game>/mm.last_userid`: player → how their last ticket ended ([`LastTicket`]).
pub const LAST: &str = "mm.last_userid";
/// `g/<game>/mm.recent_userid`: player → their latest opponents ([`model::RecentOpponents`]),
/// at most `matchmaking.recent_opponents`, forgotten `recent_opponents_hours` after.
pub const RECENT: &str = "mm.recent_userid";

#[derive(Debug, thiserror::Error)]
pub enum MatchmakingError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Precondition(String),
    #[error("{0}")]
    Full(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MatchmakingError> for RpcError {
    fn from(e: MatchmakingError) -> Self {
        match e {
            MatchmakingError::Invalid(m) => RpcError::InvalidArgument(m),
            MatchmakingError::NotFound(m) => RpcError::NotFound(m),
            MatchmakingError::AlreadyExists(m) => RpcError::AlreadyExists(m),
            MatchmakingError::Precondition(m) => RpcError::FailedPrecondition(m),
            MatchmakingError::Full(m) => RpcError::Unavailable(m),
            MatchmakingError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.player("matchmaking_find_match", Limit::Write, rpc::find_match);
    r.player("matchmaking_cancel", Limit::Write, rpc::cancel);
    r.player("matchmaking_get_status", Limit::Read, rpc::get_status);
    r.player("matchmaking_create_party", Limit::Write, rpc::create_party);
    r.player("matchmaking_join_party", Limit::Write, rpc::join_party);
    r.player("matchmaking_leave_party", Limit::Write, rpc::leave_party);
    r.player("matchmaking_get_queue_stats", Limit::Read, rpc::queue_stats);
    r.server(
        "matchmaking_update_skill_rating",
        Limit::Write,
        rpc::update_skill_rating,
    );
    r.player(
        "matchmaking_get_match_history",
        Limit::Read,
        rpc::match_history,
    );
    r.admin("matchmaking_set_modes", Limit::Write, rpc::set_modes);
    r.player("matchmaking_list_modes", Limit::Read, rpc::list_modes);
    r.server("match_report_result", Limit::Write, rpc::report_result);
    r.server(
        "matchmaking_request_backfill",
        Limit::Write,
        rpc::request_backfill,
    );
    r.server(
        "matchmaking_cancel_backfill",
        Limit::Write,
        rpc::cancel_backfill,
    );
    r.server("matchmaking_get_backfill", Limit::Read, rpc::get_backfill);
}

/// The App's matchmaker, rebuilt from sled on first use (the server's start).
pub fn matchmaker(app: &App) -> &Matchmaker {
    app.matchmaking
        .get_or_init(|| Matchmaker::load(&app.store, &app.config.matchmaking))
}

/// Runs the matching pass every `matchmaking.interval_ms` until `stop` turns true.
pub async fn run(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_millis(app.config.matchmaking.interval_ms.max(10));
    let loader = app.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || {
        matchmaker(&loader);
    })
    .await
    {
        tracing::error!(error = %e, "matchmaking queues not rebuilt");
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {
                let app = app.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || matchmaker(&app).run_pass(&app)).await {
                    tracing::error!(error = %e, "matching pass failed");
                }
            }
        }
    }
}

// ---- modes ----

/// The game's modes: those an admin set, else the presets.
pub fn load_modes(game: &GameStore) -> Result<Vec<Mode>, StoreError> {
    let stored: Vec<Mode> = game
        .tree(MODES)?
        .iter::<Mode>()
        .map(|r| r.map(|(_, m)| m))
        .collect::<Result<_, _>>()?;
    Ok(if stored.is_empty() {
        modes::defaults()
    } else {
        stored
    })
}

/// Replaces the game's modes in one transaction.
pub fn save_modes(game: &GameStore, new: &[Mode]) -> Result<(), StoreError> {
    let tree = game.tree(MODES)?;
    let old: Vec<Vec<u8>> = tree
        .iter::<Mode>()
        .map(|r| r.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    Tree::transaction(&[&tree], |tx| {
        for k in &old {
            tx.remove::<StoreError>(0, k)?;
        }
        for m in new {
            tx.insert::<_, StoreError>(0, Key::new().str(&m.name), m)?;
        }
        Ok(())
    })
}

pub fn find_mode(game: &GameStore, name: &str) -> Result<Mode, MatchmakingError> {
    load_modes(game)?
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| MatchmakingError::NotFound(format!("mode: no mode `{name}` in this game")))
}

// ---- ratings ----

fn rating_key(user: UserId, mode: &str) -> Key {
    Key::new().uuid(user).str(mode)
}

/// A player's rating in a mode (the mode's initial rating before their first game).
pub fn rating(game: &GameStore, user: UserId, mode: &Mode) -> Result<Rating, StoreError> {
    Ok(game
        .tree(RATINGS)?
        .get(rating_key(user, &mode.name))?
        .unwrap_or_else(|| Rating::new(mode.initial_rating)))
}

/// Sets or moves one player's rating: `set` replaces it, `against` rates one game
/// (opponent rating, deviation, outcome). Returns (before, after).
pub fn update_rating(
    game: &GameStore,
    user: UserId,
    mode: &Mode,
    set: Option<(f64, Option<f64>)>,
    against: Option<(f64, f64, Outcome)>,
) -> Result<(Rating, Rating), StoreError> {
    let tree = game.tree(RATINGS)?;
    let now = game.now();
    Tree::transaction(&[&tree], |tx| {
        let before: Rating = tx
            .get(0, rating_key(user, &mode.name))?
            .unwrap_or_else(|| Rating::new(mode.initial_rating));
        let mut after = before.clone();
        if let Some((r, d)) = set {
            after.rating = r;
            if let Some(d) = d {
                after.deviation = d;
            }
        }
        if let Some(o) = against {
            after = ratings::rate(mode.rating, &after, &[o]);
        }
        after.updated_at = now;
        tx.insert::<_, StoreError>(0, rating_key(user, &mode.name), &after)?;
        Ok((before, after))
    })
}

/// One player's rating change from a rated match.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RatedPlayer {
    pub user_id: UserId,
    pub team: usize,
    pub result: Outcome,
    pub rating_before: f64,
    pub rating_after: f64,
    pub rating_change: f64,
}

fn history_key(user: UserId, at_ms: i64, match_id: &str) -> Key {
    Key::new().uuid(user).i64_desc(at_ms).str(match_id)
}

/// Rates a finished match once: every player against every other team (`winner` is a team
/// index, `None` a draw), ratings and history entries in one transaction. A match already
/// rated is refused with `AlreadyExists`.
pub fn rate_match(
    game: &GameStore,
    match_id: &str,
    mode: &Mode,
    teams: &[Vec<UserId>],
    winner: Option<usize>,
) -> Result<Vec<RatedPlayer>, MatchmakingError> {
    if match_id.is_empty() || match_id.len() > 128 {
        return Err(MatchmakingError::Invalid(
            "match_id: 1-128 characters".into(),
        ));
    }
    if teams.len() < 2 || teams.iter().any(Vec::is_empty) {
        return Err(MatchmakingError::Invalid(
            "teams: at least two teams, none empty".into(),
        ));
    }
    if winner.is_some_and(|w| w >= teams.len()) {
        return Err(MatchmakingError::Invalid(
            "winner: the index of one of the teams".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !teams.iter().flatten().all(|u| seen.insert(*u)) {
        return Err(MatchmakingError::Invalid(
            "teams: a player is listed twice".into(),
        ));
    }
    let trees = [game.tree(RATINGS)?, game.tree(RATED)?, game.tree(HISTORY)?];
    let now = game.now();
    let now_ms = game.now_ms();
    let id_key = Key::new().str(match_id);
    Tree::transaction(&trees.iter().collect::<Vec<_>>(), |tx| {
        if tx.get::<(), MatchmakingError>(1, &id_key)?.is_some() {
            return Err(Abort::Fail(MatchmakingError::AlreadyExists(format!(
                "match {match_id} was already rated"
            ))));
        }
        let mut before: Vec<Vec<Rating>> = Vec::new();
        for team in teams {
            let mut side = Vec::new();
            for u in team {
                side.push(
                    tx.get(0, rating_key(*u, &mode.name))?
                        .unwrap_or_else(|| Rating::new(mode.initial_rating)),
                );
            }
            before.push(side);
        }
        let composites: Vec<(f64, f64)> = before
            .iter()
            .map(|side| ratings::composite(&side.iter().collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::new();
        for (t, team) in teams.iter().enumerate() {
            let opponents: Vec<(f64, f64, Outcome)> = composites
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != t)
                .map(|(o, &(r, d))| {
                    let outcome = match winner {
                        Some(w) if w == t => Outcome::Win,
                        Some(w) if w == o => Outcome::Loss,
                        _ => Outcome::Draw,
                    };
                    (r, d, outcome)
                })
                .collect();
            let result = match winner {
                Some(w) if w == t => Outcome::Win,
                Some(_) => Outcome::Loss,
                None => Outcome::Draw,
            };
            for (i, u) in team.iter().enumerate() {
                let old = &before[t][i];
                let mut new = ratings::rate(mode.rating, old, &opponents);
                new.updated_at = now;
                tx.insert(0, rating_key(*u, &mode.name), &new)?;
                let entry = HistoryEntry {
                    match_id: match_id.to_string(),
                    mode: mode.name.clone(),
                    teammates: team.iter().filter(|x| *x != u).copied().collect(),
                    opponents: teams
                        .iter()
                        .enumerate()
                        .filter(|(o, _)| *o != t)
                        .flat_map(|(_, s)| s.iter().copied())
                        .collect(),
                    result,
                    rating_before: old.rating,
                    rating_after: new.rating,
                    rating_change: new.rating - old.rating,
                    played_at: now,
                };
                tx.insert(2, history_key(*u, now_ms, match_id), &entry)?;
                out.push(RatedPlayer {
                    user_id: *u,
                    team: t,
                    result,
                    rating_before: old.rating,
                    rating_after: new.rating,
                    rating_change: new.rating - old.rating,
                });
            }
        }
        tx.insert(1, &id_key, &())?;
        Ok(out)
    })
}

/// What the matchmaker recorded about a match it found.
pub fn found_match(game: &GameStore, match_id: &str) -> Result<Option<FoundMatch>, StoreError> {
    game.tree(FOUND)?.get(Key::new().str(match_id))
}

/// The match-end hook: a finished match the matchmaker found moves its players' ratings in
/// the mode it was found for (teams as they played, the winner as the match said). Matches
/// not found by the matchmaker, and results already rated, change nothing.
pub fn rate_result(game: &GameStore, result: &MatchResult) -> Result<(), StoreError> {
    let Some(found) = found_match(game, &result.match_id)? else {
        return Ok(());
    };
    let mut names: Vec<&str> = Vec::new();
    let mut teams: Vec<Vec<UserId>> = Vec::new();
    for p in &result.players {
        match names.iter().position(|n| *n == p.team) {
            Some(i) => teams[i].push(p.user_id),
            None => {
                names.push(&p.team);
                teams.push(vec![p.user_id]);
            }
        }
    }
    let winner = result
        .winner
        .as_deref()
        .and_then(|w| names.iter().position(|n| *n == w));
    if teams.len() < 2 {
        return Ok(()); // nobody to be rated against
    }
    let mode = match find_mode(game, &found.mode) {
        Ok(m) => m,
        Err(MatchmakingError::Store(e)) => return Err(e),
        Err(_) => return Ok(()), // the mode was removed since
    };
    match rate_match(game, &result.match_id, &mode, &teams, winner) {
        Ok(_) | Err(MatchmakingError::AlreadyExists(_)) => Ok(()),
        Err(MatchmakingError::Store(e)) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, match_id = %result.match_id, "match result not rated");
            Ok(())
        }
    }
}

/// A player's rated matches, newest first, optionally of one mode.
pub fn history_page(
    game: &GameStore,
    user: UserId,
    mode: Option<&str>,
    start: Option<&[u8]>,
    limit: usize,
) -> Result<crate::store::Page<HistoryEntry>, StoreError> {
    game.tree(HISTORY)?.page_filtered(
        Key::new().uuid(user).as_bytes(),
        start,
        limit,
        |e: &HistoryEntry| mode.is_none_or(|m| m == e.mode),
    )
}

// ---- parties ----

pub fn party_of(game: &GameStore, user: UserId) -> Result<Option<Party>, StoreError> {
    let Some(id) = game
        .tree(PARTY_BY_USER)?
        .get::<Uuid>(Key::new().uuid(user))?
    else {
        return Ok(None);
    };
    game.tree(PARTIES)?.get(Key::new().uuid(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::matches::{MatchResult, PlayerResult};
    use crate::store::Store;

    fn player(user: UserId, team: &str) -> PlayerResult {
        PlayerResult {
            user_id: user,
            username: String::new(),
            team: team.into(),
            kills: 0,
            deaths: 0,
            score: 0,
            violations: 0,
        }
    }

    #[test]
    fn an_arena_result_rates_the_match_the_matchmaker_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut result = MatchResult {
            match_id: "m1".into(),
            mode: "arena".into(),
            label: String::new(),
            map: String::new(),
            winner: Some("red".into()),
            reason: "kill_limit".into(),
            team_scores: Default::default(),
            started_at: 0,
            ended_at: 1,
            duration_ms: 1,
            players: vec![player(a, "red"), player(b, "blue")],
            stats_counted: true,
        };
        // Not found by the matchmaker: nothing moves.
        crate::features::matches::record_result(&game, &result).unwrap();
        rate_result(&game, &result).unwrap();
        let solo = find_mode(&game, "solo").unwrap();
        assert_eq!(rating(&game, a, &solo).unwrap().games, 0);

        result.match_id = "m2".into();
        game.tree(FOUND)
            .unwrap()
            .insert(
                Key::new().str("m2"),
                &FoundMatch {
                    match_id: "m2".into(),
                    mode: "solo".into(),
                    region: "any".into(),
                    teams: vec![vec![a], vec![b]],
                    found_at_ms: 0,
                },
            )
            .unwrap();
        crate::features::matches::record_result(&game, &result).unwrap();
        rate_result(&game, &result).unwrap();
        crate::features::matches::record_result(&game, &result).unwrap();
        rate_result(&game, &result).unwrap();
        let ra = rating(&game, a, &solo).unwrap();
        let rb = rating(&game, b, &solo).unwrap();
        assert_eq!((ra.rating, ra.games, ra.wins), (1516.0, 1, 1));
        assert_eq!((rb.rating, rb.games, rb.losses), (1484.0, 1, 1));
        let page = history_page(&game, b, None, None, 10).unwrap();
        assert_eq!(page.entries.len(), 1);
        let h = &page.entries[0].1;
        assert_eq!(h.opponents, vec![a]);
        assert_eq!(h.result, Outcome::Loss);
        assert_eq!(h.rating_change, -16.0);
    }
}
