//! Matches and rooms: what players reach over HTTPS about realtime play. Rooms
//! (`room_create`, `room_join`, `room_list`) hand a QUIC client what it needs to join a live
//! match; finished matches are stored here with their scoreboard, and each player's profile
//! stats (matches, wins, kills, deaths) move with them; anti-cheat suspicions are kept for
//! admins. Live matches belong to the realtime transport, which this feature reaches only
//! through the [`MatchDirectory`] it registers in the App (arrows point down).

pub mod model;
mod rpc;

use std::sync::Arc;

pub use model::{
    Access, Endpoint, LiveMatch, MatchPlayer, MatchResult, PlayerResult, Presence, RealtimeStats,
    Suspicion, Ticket,
};

use crate::auth::UserId;
use crate::features::profiles::{self, Profile};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameId, GameStore, Key, KeyReader, StoreError, Tree};

/// `g/<game>/match.matchid`: match id → [`MatchResult`].
pub const RESULTS: &str = "match.matchid";
/// `g/<game>/match.userid_endedat_matchid`: a player's history, newest first.
pub const HISTORY: &str = "match.userid_endedat_matchid";
/// `g/<game>/match.endedat_matchid`: every finished match, newest first.
pub const FINISHED: &str = "match.endedat_matchid";
/// `g/<game>/suspicion.at_nonce`: anti-cheat violations, newest first.
pub const SUSPICIONS: &str = "suspicion.at_nonce";
/// `g/<game>/match.pending_matchid`: match id → itself, for a stored result whose fan-out
/// (bracket, ratings, achievements, XP) has not run to its end; resumed at the next start.
pub const PENDING: &str = "match.pending_matchid";
/// The start job that resumes them.
pub const RESUME_JOB: &str = "match_fanout_resume";

pub fn register(r: &mut Registry) {
    r.player("room_create", Limit::Write, rpc::room_create);
    r.player("room_join", Limit::Write, rpc::room_join);
    r.player("room_list", Limit::Read, rpc::room_list);
    r.player("match_get_result", Limit::Read, rpc::get_result);
    r.player("match_list_history", Limit::Read, rpc::list_history);
    r.player("presence_list", Limit::Read, rpc::presence_list);
    r.admin(
        "moderation_list_suspicious",
        Limit::Read,
        rpc::list_suspicious,
    );
    r.server("realtime_stats", Limit::Read, rpc::realtime_stats);
    r.admin("match_list_live", Limit::Read, rpc::list_live);
    r.admin("match_end", Limit::Write, rpc::end);
    r.job_at_start(RESUME_JOB, resume_fan_out);
}

/// Why the live-match directory refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
}

impl From<DirectoryError> for RpcError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::NotFound(m) => RpcError::NotFound(m),
            DirectoryError::Invalid(m) => RpcError::InvalidArgument(m),
            DirectoryError::Refused(m) => RpcError::FailedPrecondition(m),
            DirectoryError::Unavailable(m) => RpcError::Unavailable(m),
        }
    }
}

/// A match to start.
#[derive(Debug, Clone)]
pub struct NewMatch {
    pub game: GameId,
    pub mode: String,
    pub label: String,
    pub params: serde_json::Value,
    /// Private rooms are not listed and are joined only with a ticket.
    pub private: bool,
    /// The player who asked for it; each may have only so many live matches they created
    /// (`realtime.max_matches_per_user`). `None` for matches the server starts itself.
    pub creator: Option<UserId>,
}

/// The live matches of this node, as the realtime transport keeps them.
pub trait MatchDirectory: Send + Sync {
    fn create(&self, new: NewMatch) -> Result<LiveMatch, DirectoryError> {
        self.create_with(new, Access::default()).map(|(m, _)| m)
    }
    /// Creates a match with its access rules; a private one comes with its join code.
    fn create_with(
        &self,
        new: NewMatch,
        access: Access,
    ) -> Result<(LiveMatch, Option<String>), DirectoryError>;
    fn find(&self, game: GameId, match_id: &str) -> Option<LiveMatch>;
    /// Public matches with open slots, newest first.
    fn list(
        &self,
        game: GameId,
        mode: Option<&str>,
        label: Option<&str>,
        limit: usize,
    ) -> Vec<LiveMatch>;
    /// A single-use join ticket for `user` into a live match with an open slot, private or
    /// not: for server logic that has decided the user may join (matchmaking). `user` is
    /// invited from then on, so `room_join` hands them a fresh ticket after a network drop.
    /// `team` reserves the seat on that team (an index), which handlers that know teams
    /// honour.
    fn ticket(
        &self,
        game: GameId,
        match_id: &str,
        user: UserId,
        team: Option<usize>,
    ) -> Result<Ticket, DirectoryError>;
    /// Takes back what [`Self::ticket`] gave `user` for `match_id` and they have not used:
    /// unspent join tickets, the reserved team and the invitation. Someone already in the
    /// match keeps their place. A match gone has nothing to take back.
    fn release_seat(&self, game: GameId, match_id: &str, user: UserId);
    /// A ticket a player asked for (`room_join`): a private match is refused unless `user`
    /// is invited, already in it, or presents its `join_code`.
    fn ticket_for_player(
        &self,
        game: GameId,
        match_id: &str,
        user: UserId,
        join_code: Option<&str>,
    ) -> Result<Ticket, DirectoryError>;
    /// Who is online in `game` (only `users` when not empty), private matches included.
    fn presences(&self, game: GameId, users: &[UserId]) -> Vec<Presence>;
    /// As [`Self::presences`], as `viewer` may see it: private matches `viewer` is not in
    /// are left out of `match_ids`.
    fn presences_seen_by(&self, game: GameId, users: &[UserId], viewer: UserId) -> Vec<Presence>;
    /// Every live match of `game`, private and full ones too, with who is in each, newest
    /// first: what an admin looks at.
    fn all(&self, game: GameId, limit: usize) -> Vec<(LiveMatch, Vec<MatchPlayer>)>;
    /// Ends a live match now (an admin's `match_end`): a mode that keeps score sends its
    /// scoreboard and stores its result, then every player is told the match closed with
    /// `reason`. The receiver is told once that is done.
    fn end(
        &self,
        game: GameId,
        match_id: &str,
        reason: &str,
    ) -> Result<(LiveMatch, tokio::sync::oneshot::Receiver<()>), DirectoryError>;
    fn endpoint(&self) -> Endpoint;
    /// Current figures; `reset` starts the tick histograms afresh after reading.
    fn stats(&self, reset: bool) -> RealtimeStats;
}

/// The directory the App holds; `Unavailable` before realtime has started.
pub fn directory(app: &crate::app::App) -> Result<Arc<dyn MatchDirectory>, RpcError> {
    app.matches
        .get()
        .cloned()
        .ok_or_else(|| RpcError::Unavailable("realtime matches are not running".into()))
}

fn history_key(user: UserId, ended_at: i64, match_id: &str) -> Key {
    Key::new().uuid(user).i64_desc(ended_at).str(match_id)
}

/// Where a finished match goes, in order: the result and each player's profile stats (one
/// transaction, durable), the bracket of a tournament match played as a room, the
/// matchmaking ratings of a match the matchmaker found, then per
/// player the achievements that follow those stats and
/// season XP (with event multipliers). Every step counts a match once, so recording the
/// same result again re-runs the chain harmlessly. The result is stored with a pending
/// mark that goes once the chain has run: a stop or crash in between leaves the mark, and
/// the next start runs the chain again ([`resume_fan_out`]).
pub async fn finish(
    app: &crate::app::App,
    game: &GameStore,
    result: &MatchResult,
) -> Result<(), RpcError> {
    record_result(game, result)?;
    game.durable().await?;
    fan_out(app, game, result).await;
    // Every step ran (or logged why it could not): nothing left for the next start. Not
    // flushed: a mark that comes back after a crash only re-runs the chain, harmlessly.
    game.tree(PENDING)?
        .remove(Key::new().str(&result.match_id))?;
    Ok(())
}

/// At each start: the chain of every stored match whose mark is still pending (the last
/// run stopped between storing a result and finishing its chain).
pub async fn resume_fan_out(
    app: crate::app::App,
    game: GameStore,
    _subject: String,
) -> Result<(), RpcError> {
    let pending = game.tree(PENDING)?;
    let ids: Vec<String> = pending
        .iter::<String>()
        .map(|r| r.map(|(_, id)| id))
        .collect::<Result<_, _>>()?;
    for id in ids {
        match load_result(&game, &id)? {
            Some(result) => {
                tracing::info!(match_id = %id, "resuming a match result's fan-out cut short by a stop");
                finish(&app, &game, &result).await?;
            }
            None => {
                pending.remove(Key::new().str(&id))?;
            }
        }
    }
    Ok(())
}

/// The steps after the result is stored (see [`finish`]); each logs its own failure.
async fn fan_out(app: &crate::app::App, game: &GameStore, result: &MatchResult) {
    // A tournament's bracket match played as a room reports its winner to the bracket.
    if let Err(e) = crate::features::tournaments::rooms::match_finished(app, game, result).await {
        tracing::warn!(error = %e, match_id = %result.match_id,
            "match result stored; tournament bracket not updated");
    }
    if !result.stats_counted {
        // Too few distinct players for stats (win farming with an alt): no rating or XP either.
        return;
    }
    // A failed rating update does not hold back the players' achievements and XP.
    if let Err(e) = crate::features::matchmaking::rate_result(game, result) {
        tracing::warn!(error = %e, match_id = %result.match_id,
            "match result stored; matchmaking ratings not updated");
    }
    for p in &result.players {
        let achievements = crate::features::achievements::sync_stats(app, game, p.user_id).await;
        let source = crate::features::seasons::XpSource::Match {
            match_id: result.match_id.clone(),
            won: result.won(p.user_id),
            kills: p.kills,
        };
        let xp = crate::features::seasons::add_xp(app, game, p.user_id, source).await;
        // One player's failed step does not hold back the others'.
        if let Err(e) = achievements.and(xp.map(|_| ())) {
            tracing::warn!(error = %e, user_id = %p.user_id, match_id = %result.match_id,
                "match result stored; achievements or season XP not updated");
        }
    }
}

/// Stores a finished match and, unless `result.stats_counted` is false, moves each player's
/// profile stats, all in one transaction. Storing the same match twice changes nothing the
/// second time.
pub fn record_result(game: &GameStore, result: &MatchResult) -> Result<(), StoreError> {
    if result.match_id.is_empty() || result.match_id.contains('\0') {
        return Err(StoreError::Invalid(
            "match id must be non-empty text".into(),
        ));
    }
    let results = game.tree(RESULTS)?;
    let history = game.tree(HISTORY)?;
    let finished = game.tree(FINISHED)?;
    let profiles = profiles::tree(game)?;
    let pending = game.tree(PENDING)?;
    let id_key = Key::new().str(&result.match_id);
    Tree::transaction(
        &[&results, &history, &finished, &profiles, &pending],
        |tx| {
            if tx.get::<MatchResult, StoreError>(0, &id_key)?.is_some() {
                return Ok(());
            }
            tx.insert(0, &id_key, result)?;
            tx.insert(4, &id_key, &result.match_id)?;
            tx.insert(
                2,
                Key::new().i64_desc(result.ended_at).str(&result.match_id),
                &(),
            )?;
            let now = crate::time::now();
            for p in &result.players {
                tx.insert(
                    1,
                    history_key(p.user_id, result.ended_at, &result.match_id),
                    &(),
                )?;
                if !result.stats_counted {
                    continue;
                }
                let mut profile: Profile = tx.get(3, profiles::key(p.user_id))?.unwrap_or_default();
                let won = i64::from(result.won(p.user_id));
                for (stat, by) in [
                    ("matches", 1),
                    ("wins", won),
                    ("kills", i64::from(p.kills)),
                    ("deaths", i64::from(p.deaths)),
                ] {
                    let v = profile.stats.entry(stat.to_string()).or_insert(0);
                    *v = v.saturating_add(by);
                }
                profile.updated_at = now;
                tx.insert(3, profiles::key(p.user_id), &profile)?;
            }
            Ok(())
        },
    )?;
    Ok(())
}

pub fn load_result(game: &GameStore, match_id: &str) -> Result<Option<MatchResult>, StoreError> {
    if match_id.contains('\0') {
        return Ok(None);
    }
    game.tree(RESULTS)?.get(Key::new().str(match_id))
}

/// Finished matches, newest first: one player's (`user`) or the whole game's. `before` is
/// the cursor a previous page returned.
pub fn list_results(
    game: &GameStore,
    user: Option<UserId>,
    limit: usize,
    before: Option<&[u8]>,
) -> Result<(Vec<MatchResult>, Option<Vec<u8>>), StoreError> {
    let (tree, prefix) = match user {
        Some(u) => (game.tree(HISTORY)?, Key::new().uuid(u).into_vec()),
        None => (game.tree(FINISHED)?, Vec::new()),
    };
    let results = game.tree(RESULTS)?;
    let mut out = Vec::new();
    let mut cursor = None;
    let start = match before {
        Some(c) if c.starts_with(&prefix) => std::ops::Bound::Excluded(c.to_vec()),
        _ => std::ops::Bound::Included(prefix.clone()),
    };
    for entry in tree.range::<(), Vec<u8>, _>((start, std::ops::Bound::Unbounded)) {
        let (key, ()) = entry?;
        if !key.starts_with(&prefix) {
            break;
        }
        let mut r = KeyReader::new(&key[prefix.len()..]);
        let (Some(_), Some(match_id)) = (r.i64_desc(), r.str()) else {
            continue;
        };
        if let Some(m) = results.get::<MatchResult>(Key::new().str(match_id))? {
            out.push(m);
        }
        if out.len() >= limit {
            cursor = Some(key);
            break;
        }
    }
    Ok((out, cursor))
}

/// Keeps one anti-cheat violation for admins.
pub fn record_suspicion(game: &GameStore, s: &Suspicion) -> Result<(), StoreError> {
    let nonce: u64 = rand::random();
    game.tree(SUSPICIONS)?
        .insert(Key::new().i64_desc(s.at).u64(nonce), s)
}

/// Violations, newest first, optionally of one player.
pub fn list_suspicions(
    game: &GameStore,
    user: Option<UserId>,
    limit: usize,
) -> Result<Vec<Suspicion>, StoreError> {
    let mut out = Vec::new();
    for entry in game.tree(SUSPICIONS)?.iter::<Suspicion>() {
        let (_, s) = entry?;
        if user.is_none_or(|u| u == s.user_id) {
            out.push(s);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::matchmaking::{self, FoundMatch, FOUND};

    fn line(user: UserId, team: &str) -> PlayerResult {
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

    #[tokio::test]
    async fn a_fan_out_cut_short_by_a_stop_is_resumed_once_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::default();
        cfg.server.data_dir = dir.path().join("data");
        let store = crate::store::Store::open(&cfg.server.data_dir, 100).unwrap();
        let (secrets, _) = crate::auth::secrets::load_or_create(&cfg.server.data_dir).unwrap();
        let app = crate::app::App::new(cfg, store.clone(), secrets).unwrap();
        let game = store
            .game(store.create_game("g", Default::default()).unwrap().id)
            .unwrap();
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let result = |id: &str| MatchResult {
            match_id: id.into(),
            mode: "arena".into(),
            label: String::new(),
            map: String::new(),
            winner: Some("red".into()),
            reason: "kill_limit".into(),
            team_scores: Default::default(),
            started_at: 0,
            ended_at: 1,
            duration_ms: 1,
            players: vec![line(a, "red"), line(b, "blue")],
            stats_counted: true,
        };
        for id in ["cut", "whole"] {
            game.tree(FOUND)
                .unwrap()
                .insert(
                    Key::new().str(id),
                    &FoundMatch {
                        match_id: id.into(),
                        mode: "solo".into(),
                        region: "any".into(),
                        teams: vec![vec![a], vec![b]],
                        found_at_ms: 0,
                    },
                )
                .unwrap();
        }
        let pending = |id: &str| {
            game.tree(PENDING)
                .unwrap()
                .get::<String>(Key::new().str(id))
                .unwrap()
                .is_some()
        };
        let games_of_a = || {
            let solo = matchmaking::find_mode(&game, "solo").unwrap();
            matchmaking::rating(&game, a, &solo).unwrap().games
        };

        // A whole finish leaves nothing pending.
        finish(&app, &game, &result("whole")).await.unwrap();
        assert!(!pending("whole"));
        assert_eq!(games_of_a(), 1);

        // The result stored, then the server stopped before the rest of the chain.
        record_result(&game, &result("cut")).unwrap();
        assert!(pending("cut"));
        assert_eq!(games_of_a(), 1);

        // The next start resumes it: rated once, and the mark goes.
        resume_fan_out(app.clone(), game.clone(), String::new())
            .await
            .unwrap();
        assert!(!pending("cut"));
        assert_eq!(games_of_a(), 2);
        resume_fan_out(app, game.clone(), String::new())
            .await
            .unwrap();
        assert_eq!(games_of_a(), 2);
    }
}
