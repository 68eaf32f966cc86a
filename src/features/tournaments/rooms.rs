//! Bracket matches as QUIC rooms. A tournament created with `rooms` (a match mode and its
//! params) opens each bracket match that becomes ready as a private live match for its two
//! players: both are invited (so `room_join` hands each a ticket) and told by a
//! notification. When that live match ends, its result reports itself into the bracket
//! through [`match_finished`], which `matches::finish` (the one fan-out of match results)
//! calls; a draw in elimination is replayed in a new room. A match a room could not settle
//! (a player never came) is still reported by a server with `tournament_report_match`.
//!
//! Live matches are in memory, so a restart ends every room. Each room's link records the
//! server run that opened it ([`run_id`]); at every start the job [`REOPEN_JOB`]
//! (registered with `Registry::job_at_start`) runs [`open_ready`] for each running
//! tournament with rooms, and so does every bracket change: a ready match whose room was
//! opened by an earlier run and is not live gets a fresh room, both players are invited and
//! told again, and the dead room's link is removed. Only a bracket match's current room
//! reports ([`match_finished`] checks), and the bracket refuses a decided match, so a
//! result counts once; a dead room's result stored but never reported (a crash between the
//! two) is reported instead of reopening. A room of this run is never reopened: live, it is
//! being played; ended, its own result settled it.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::formats::{BracketError, MatchStatus, Outcome, Report};
use super::model::State;
use super::{bracket, get, lifecycle, Tournament, TournamentError, TOURNAMENTS};
use crate::app::App;
use crate::auth::UserId;
use crate::features::matches::{self, Access, MatchDirectory, MatchResult, NewMatch};
use crate::features::notifications::{self, codes};
use crate::rpc::RpcError;
use crate::store::{GameStore, Key, Tree};

/// `g/<game>/tournament.id_stage_match`: a bracket match → its current live match id (or a
/// claim, `opening:<run>`, while it is being opened).
pub const ROOMS: &str = "tournament.id_stage_match";
/// `g/<game>/tournament.matchid`: a live match id → the bracket match it plays. A replaced
/// room's link is removed, so a result it might still bring counts for nothing.
pub const ROOM_LINKS: &str = "tournament.matchid";
/// The job, scheduled at each server start in every game, that gives each ready bracket
/// match whose room died with the last run a fresh room.
pub const REOPEN_JOB: &str = "tournament_rooms_reopen";

/// How a tournament's bracket matches are played live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomPlan {
    /// The match handler (`arena`, `relay`, or a studio's mode).
    pub mode: String,
    /// Params for the handler (`kill_limit`, `map`, …); `max_players` defaults to 2.
    #[serde(default)]
    pub params: Map<String, Value>,
}

/// The bracket match a live match plays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomLink {
    pub tournament_id: Uuid,
    pub stage: usize,
    pub match_id: u32,
    pub players: [UserId; 2],
    /// The server run that opened it ([`run_id`]); `None` for links stored before runs
    /// were recorded (from an earlier run, then).
    #[serde(default)]
    pub run: Option<Uuid>,
}

/// This run of the server: live matches are in memory, so a room opened by another run is
/// gone (or about to be), whatever its stored link says.
pub fn run_id() -> Uuid {
    static RUN: OnceLock<Uuid> = OnceLock::new();
    *RUN.get_or_init(Uuid::new_v4)
}

const CLAIM: &str = "opening:";

/// The claim this run puts on a bracket match while it opens its room.
fn our_claim() -> String {
    format!("{CLAIM}{}", run_id())
}

/// A claim rather than a live match id (`""` was the claim before runs were recorded).
fn is_claim(v: &str) -> bool {
    v.is_empty() || v.starts_with(CLAIM)
}

fn room_key(id: Uuid, stage: usize, match_id: u32) -> Key {
    Key::new().uuid(id).u64(stage as u64).u64(match_id as u64)
}

fn link_key(live_match: &str) -> Key {
    Key::new().str(live_match)
}

/// The live match opened for a bracket match, if any.
pub fn room_of(
    game: &GameStore,
    id: Uuid,
    stage: usize,
    match_id: u32,
) -> Result<Option<String>, TournamentError> {
    Ok(game
        .tree(ROOMS)?
        .get::<String>(room_key(id, stage, match_id))?
        .filter(|m| !is_claim(m)))
}

/// Opens a room for every ready match of the running stage that has no room in this run;
/// returns the live match ids opened. A match whose recorded room was opened by an earlier
/// run of the server and is no longer live gets a fresh room (its stale links replaced);
/// if that room's result had been stored but not reported (a crash in between), it is
/// reported first. A room that ended in this run was settled by its own result and is left
/// alone. Best effort: when realtime refuses (not running, full), the refusal is logged,
/// the claim released, and a later change (or the next start) retries.
pub async fn open_ready(
    app: &App,
    game: &GameStore,
    id: Uuid,
) -> Result<Vec<String>, TournamentError> {
    let t = get(game, id)?;
    if t.rooms.is_none() || t.state != State::Active {
        return Ok(Vec::new());
    }
    let dir = match matches::directory(app) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, tournament_id = %id, "bracket rooms not opened");
            return Ok(Vec::new());
        }
    };
    // A late report may end the stage or the tournament: read it again after.
    let t = if report_lost_results(game, &*dir, id, t.stage).await? {
        get(game, id)?
    } else {
        t
    };
    let Some(plan) = &t.rooms else {
        return Ok(Vec::new());
    };
    if t.state != State::Active {
        return Ok(Vec::new());
    }
    let Some(b) = bracket(game, id, t.stage)? else {
        return Ok(Vec::new());
    };
    let (rooms, links) = (game.tree(ROOMS)?, game.tree(ROOM_LINKS)?);
    let mut opened = Vec::new();
    for m in b.matches.iter().filter(|m| m.status == MatchStatus::Ready) {
        let Some((a, c)) = m.players() else { continue };
        let key = room_key(id, t.stage, m.id);
        // Claim the match first: two callers never open two rooms for it.
        let Some(replaced) = claim(game, &*dir, &key)? else {
            continue;
        };
        let mut params = plan.params.clone();
        params.entry("max_players").or_insert(json!(2));
        params.insert(
            "tournament".into(),
            json!({"tournament_id": id, "stage": t.stage, "match_id": m.id, "players": [a, c]}),
        );
        let created = dir.create_with(
            NewMatch {
                game: game.id(),
                mode: plan.mode.clone(),
                label: format!("tournament:{id}"),
                params: Value::Object(params),
                private: true,
                creator: None,
            },
            Access {
                creator_ip: None,
                invited: vec![a, c],
                player_made: false,
            },
        );
        let live = match created {
            Ok((live, _)) => live,
            Err(e) => {
                rooms.remove(&key)?;
                tracing::warn!(error = %e, tournament_id = %id, match_id = m.id,
                    "bracket room not opened");
                continue;
            }
        };
        let link = RoomLink {
            tournament_id: id,
            stage: t.stage,
            match_id: m.id,
            players: [a, c],
            run: Some(run_id()),
        };
        links.insert(link_key(&live.match_id), &link)?;
        rooms.insert(&key, &live.match_id)?;
        if let Some(old) = &replaced {
            tracing::info!(tournament_id = %id, match_id = m.id, old_room = %old,
                new_room = %live.match_id, "bracket room lost with an earlier run: reopened");
        }
        for (me, other) in [(a, c), (c, a)] {
            let mut content: Map<String, Value> = json!({
                "tournament_id": id,
                "stage": t.stage,
                "bracket_match_id": m.id,
                "match_id": live.match_id,
                "mode": plan.mode,
                "opponent_id": other,
            })
            .as_object()
            .cloned()
            .unwrap_or_default();
            if let Some(old) = &replaced {
                content.insert("replaces_match_id".into(), json!(old));
            }
            if let Err(e) = notifications::notify(
                &app.bus,
                game,
                me,
                codes::MATCH_FOUND,
                &format!("Your match in {} is ready", t.title),
                content,
                true,
            ) {
                tracing::warn!(error = %e, user_id = %me, "tournament match notification not sent");
            }
        }
        opened.push(live.match_id);
    }
    Ok(opened)
}

/// Claims a ready bracket match for this run to open its room, in one transaction: when it
/// has no room, when its claim was left by an earlier run (a crash mid-open), or when its
/// room was opened by an earlier run and is not live (then that room's link is removed and
/// its id returned). `None` when the match keeps what it has: a live room, a claim of this
/// run, or a room that ended in this run.
fn claim(
    game: &GameStore,
    dir: &dyn MatchDirectory,
    key: &Key,
) -> Result<Option<Option<String>>, TournamentError> {
    let (rooms, links) = (game.tree(ROOMS)?, game.tree(ROOM_LINKS)?);
    let ours = our_claim();
    Tree::transaction(&[&rooms, &links], |tx| {
        let mut replaced = None;
        match tx.get::<String, TournamentError>(0, key)? {
            // Another task of this run is opening it.
            Some(v) if v == ours => return Ok(None),
            // No room yet, or an earlier run's claim (a crash mid-open).
            None => {}
            Some(v) if is_claim(&v) => {}
            Some(live) => {
                let link: Option<RoomLink> = tx.get(1, link_key(&live))?;
                if !lost(link.as_ref(), dir, game, &live) {
                    return Ok(None);
                }
                tx.remove(1, link_key(&live))?;
                replaced = Some(live);
            }
        }
        tx.insert(0, key, &ours)?;
        Ok(Some(replaced))
    })
}

/// A recorded room is lost when an earlier run opened it and it is not live here.
fn lost(link: Option<&RoomLink>, dir: &dyn MatchDirectory, game: &GameStore, live: &str) -> bool {
    link.is_none_or(|l| l.run != Some(run_id())) && dir.find(game.id(), live).is_none()
}

/// Reports the stored results of lost rooms of the running stage whose report a crash cut
/// short (stored by `matches::finish`, the bracket not told), before anything is reopened;
/// true when the bracket changed.
async fn report_lost_results(
    game: &GameStore,
    dir: &dyn MatchDirectory,
    id: Uuid,
    stage: usize,
) -> Result<bool, TournamentError> {
    let Some(b) = bracket(game, id, stage)? else {
        return Ok(false);
    };
    let mut changed = false;
    let links = game.tree(ROOM_LINKS)?;
    for m in b.matches.iter().filter(|m| m.status == MatchStatus::Ready) {
        let Some(live) = room_of(game, id, stage, m.id)? else {
            continue;
        };
        let Some(link) = links.get::<RoomLink>(link_key(&live))? else {
            continue;
        };
        if !lost(Some(&link), dir, game, &live) {
            continue;
        }
        let Some(result) = matches::load_result(game, &live)? else {
            continue;
        };
        match apply(game, &link, &result).await {
            Ok(c) => changed |= c,
            // An earlier report ended the stage or the tournament meanwhile.
            Err(TournamentError::NotNow(m)) => {
                tracing::info!(match_id = %live, reason = %m, "lost tournament room's result not applied");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(changed)
}

/// The job [`REOPEN_JOB`]: at a start, every running tournament with rooms gets a fresh
/// room for each ready match whose room died with the last run. Realtime not running yet
/// is an error, so the scheduler tries again.
pub async fn reopen_job(app: App, game: GameStore, _subject: String) -> Result<(), RpcError> {
    matches::directory(&app)?;
    let running: Vec<Uuid> = game
        .tree(TOURNAMENTS)?
        .iter::<Tournament>()
        .filter_map(|r| match r {
            Ok((_, t)) => (t.state == State::Active && t.rooms.is_some()).then_some(Ok(t.id)),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    for id in running {
        let opened = open_ready(&app, &game, id).await?;
        if !opened.is_empty() {
            tracing::info!(tournament_id = %id, rooms = opened.len(), "bracket rooms opened at start");
        }
    }
    Ok(())
}

/// A live match ended: when it is the current room of a bracket match, its result is
/// reported there (the player on the winning team wins; the scores are the teams'), then
/// the rooms of the matches that became ready are opened. A draw both players played is
/// reported as a draw (round robin, Swiss), or replayed in a new room (elimination has no
/// draws). A match without a winner that a player missed is left for a server to report.
/// Reporting again after a crash is refused by the bracket as already decided, which
/// changes nothing; a room that was replaced (lost with a restart, or drawn and replayed)
/// no longer counts.
pub async fn match_finished(
    app: &App,
    game: &GameStore,
    result: &MatchResult,
) -> Result<(), TournamentError> {
    let Some(link) = game
        .tree(ROOM_LINKS)?
        .get::<RoomLink>(link_key(&result.match_id))?
    else {
        return Ok(());
    };
    if apply(game, &link, result).await? {
        open_ready(app, game, link.tournament_id).await?;
    }
    Ok(())
}

/// Reports a room's result into its bracket match when the room is still that match's
/// current one; true when the bracket changed (decided, or a drawn elimination match
/// cleared for its replay).
async fn apply(
    game: &GameStore,
    link: &RoomLink,
    result: &MatchResult,
) -> Result<bool, TournamentError> {
    let key = room_key(link.tournament_id, link.stage, link.match_id);
    if game.tree(ROOMS)?.get::<String>(&key)?.as_deref() != Some(result.match_id.as_str()) {
        tracing::info!(match_id = %result.match_id, tournament_id = %link.tournament_id,
            "result of a replaced tournament room not applied");
        return Ok(false);
    }
    let [a, b] = link.players;
    let both_played = [a, b]
        .iter()
        .all(|p| result.players.iter().any(|r| r.user_id == *p));
    let outcome = match (result.won(a), result.won(b)) {
        (true, false) => Outcome::Win {
            winner: a,
            loser: b,
        },
        (false, true) => Outcome::Win {
            winner: b,
            loser: a,
        },
        (false, false) if result.winner.is_none() && both_played => Outcome::Draw { a, b },
        _ => {
            tracing::info!(match_id = %result.match_id, tournament_id = %link.tournament_id,
                "tournament room ended without both players: left for tournament_report_match");
            return Ok(false);
        }
    };
    // Each player's team score (the winner's is the highest).
    let scores = result
        .players
        .iter()
        .filter(|p| p.user_id == a || p.user_id == b)
        .filter_map(|p| Some((p.user_id, *result.team_scores.get(&p.team)? as i64)))
        .collect();
    let report = Report {
        result: outcome,
        scores,
    };
    match lifecycle::report(
        game,
        link.tournament_id,
        Some(link.stage),
        link.match_id,
        &report,
    )
    .await
    {
        Ok(_) => Ok(true),
        // Elimination has no draws: the two play again in a new room.
        Err(TournamentError::Bracket(BracketError::DrawNotAllowed(_))) => {
            game.tree(ROOMS)?.remove(&key)?;
            Ok(true)
        }
        // Decided meanwhile (a server reported it, or this ran before a crash).
        Err(TournamentError::Bracket(e)) => {
            tracing::info!(error = %e, match_id = %result.match_id, "tournament room result not applied");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::features::matches::{
        DirectoryError, Endpoint, LiveMatch, MatchPlayer, PlayerResult, Presence, RealtimeStats,
        Ticket,
    };
    use crate::features::tournaments::formats::{Bracket, BracketFormat};
    use crate::features::tournaments::{bracket_key, tournament_key, BRACKETS};
    use crate::store::GameId;

    /// A live-match directory that only remembers which matches it opened and which are
    /// still live.
    #[derive(Default)]
    struct Rooms {
        live: Mutex<Vec<String>>,
    }

    impl MatchDirectory for Rooms {
        fn create_with(
            &self,
            new: NewMatch,
            _access: Access,
        ) -> Result<(LiveMatch, Option<String>), DirectoryError> {
            let m = LiveMatch {
                match_id: Uuid::new_v4().to_string(),
                mode: new.mode,
                label: new.label,
                size: 0,
                max_size: 2,
                tick_rate: 20,
                private: new.private,
                created_at: 0,
                map: None,
                kill_limit: None,
                time_limit_secs: None,
                open: true,
            };
            self.live.lock().unwrap().push(m.match_id.clone());
            Ok((m, None))
        }
        fn find(&self, _game: GameId, match_id: &str) -> Option<LiveMatch> {
            let live = self.live.lock().unwrap().iter().any(|m| m == match_id);
            live.then(|| LiveMatch {
                match_id: match_id.into(),
                mode: "arena".into(),
                label: String::new(),
                size: 0,
                max_size: 2,
                tick_rate: 20,
                private: true,
                created_at: 0,
                map: None,
                kill_limit: None,
                time_limit_secs: None,
                open: true,
            })
        }
        fn list(&self, _: GameId, _: Option<&str>, _: Option<&str>, _: usize) -> Vec<LiveMatch> {
            Vec::new()
        }
        fn ticket(
            &self,
            _: GameId,
            m: &str,
            _: UserId,
            _: Option<usize>,
        ) -> Result<Ticket, DirectoryError> {
            Err(DirectoryError::NotFound(m.into()))
        }
        fn release_seat(&self, _: GameId, _: &str, _: UserId) {}
        fn ticket_for_player(
            &self,
            _: GameId,
            m: &str,
            _: UserId,
            _: Option<&str>,
        ) -> Result<Ticket, DirectoryError> {
            Err(DirectoryError::NotFound(m.into()))
        }
        fn presences(&self, _: GameId, _: &[UserId]) -> Vec<Presence> {
            Vec::new()
        }
        fn presences_seen_by(&self, _: GameId, _: &[UserId], _: UserId) -> Vec<Presence> {
            Vec::new()
        }
        fn all(&self, _: GameId, _: usize) -> Vec<(LiveMatch, Vec<MatchPlayer>)> {
            Vec::new()
        }
        fn end(
            &self,
            _: GameId,
            m: &str,
            _: &str,
        ) -> Result<(LiveMatch, tokio::sync::oneshot::Receiver<()>), DirectoryError> {
            Err(DirectoryError::NotFound(m.into()))
        }
        fn endpoint(&self) -> Endpoint {
            Endpoint {
                host: "127.0.0.1".into(),
                port: 0,
                alpn: "outpost/1".into(),
            }
        }
        fn stats(&self, _: bool) -> RealtimeStats {
            RealtimeStats::default()
        }
    }

    struct Setup {
        app: App,
        game: GameStore,
        rooms: Arc<Rooms>,
        id: Uuid,
        /// Match 0's players.
        pair: [UserId; 2],
        _dir: tempfile::TempDir,
    }

    /// A running single-elimination tournament of four with rooms, its bracket seeded; no
    /// room opened yet.
    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::default();
        cfg.server.data_dir = dir.path().join("data");
        let store = crate::store::Store::open(&cfg.server.data_dir, 100).unwrap();
        let (secrets, _) = crate::auth::secrets::load_or_create(&cfg.server.data_dir).unwrap();
        let app = App::new(cfg, store.clone(), secrets).unwrap();
        let rooms = Arc::new(Rooms::default());
        let _ = app.matches.set(rooms.clone());
        let game = store
            .game(store.create_game("g", Default::default()).unwrap().id)
            .unwrap();
        let id = Uuid::new_v4();
        let t: Tournament = serde_json::from_value(json!({
            "id": id, "title": "Cup", "stages": [{"format": {"format": "bracket",
                "type": "single_elimination"}}],
            "max_players": 4, "registration_at": 0, "starts_at": 0, "ends_at": i64::MAX / 2,
            "rooms": {"mode": "arena"}, "state": "active", "players": 4, "created_at": 0,
        }))
        .unwrap();
        game.tree(TOURNAMENTS)
            .unwrap()
            .insert(tournament_key(id), &t)
            .unwrap();
        let players: Vec<UserId> = (0..4).map(|_| Uuid::new_v4()).collect();
        let b: Bracket = BracketFormat::SingleElimination { third_place: false }
            .rules()
            .start(&players)
            .unwrap();
        let (a, c) = b.matches[0].players().unwrap();
        game.tree(BRACKETS)
            .unwrap()
            .insert(bracket_key(id, 0), &b)
            .unwrap();
        Setup {
            app,
            game,
            rooms,
            id,
            pair: [a, c],
            _dir: dir,
        }
    }

    impl Setup {
        /// Records `live` as match 0's room, opened by `run`, as an earlier server left it.
        fn recorded(&self, live: &str, run: Option<Uuid>) {
            self.game
                .tree(ROOMS)
                .unwrap()
                .insert(room_key(self.id, 0, 0), &live.to_string())
                .unwrap();
            let link = RoomLink {
                tournament_id: self.id,
                stage: 0,
                match_id: 0,
                players: self.pair,
                run,
            };
            if !is_claim(live) {
                self.game
                    .tree(ROOM_LINKS)
                    .unwrap()
                    .insert(link_key(live), &link)
                    .unwrap();
            }
        }

        /// A finished room in which `winner` (of match 0's pair) beat the other.
        fn won_by(&self, live: &str, winner: UserId) -> MatchResult {
            let line = |u: UserId, team: &str| PlayerResult {
                user_id: u,
                username: String::new(),
                team: team.into(),
                kills: 0,
                deaths: 0,
                score: 0,
                violations: 0,
            };
            let loser = if winner == self.pair[0] {
                self.pair[1]
            } else {
                self.pair[0]
            };
            MatchResult {
                match_id: live.into(),
                mode: "arena".into(),
                label: String::new(),
                map: String::new(),
                winner: Some("red".into()),
                reason: "kill_limit".into(),
                team_scores: BTreeMap::from([("red".into(), 1), ("blue".into(), 0)]),
                started_at: 0,
                ended_at: 1,
                duration_ms: 1,
                players: vec![line(winner, "red"), line(loser, "blue")],
                stats_counted: true,
            }
        }

        fn winner(&self) -> Option<UserId> {
            bracket(&self.game, self.id, 0).unwrap().unwrap().matches[0].winner
        }

        fn room(&self) -> Option<String> {
            room_of(&self.game, self.id, 0, 0).unwrap()
        }
    }

    #[tokio::test]
    async fn a_room_lost_with_an_earlier_run_is_replaced_and_its_late_result_ignored() {
        let s = setup();
        s.recorded("old-room", Some(Uuid::new_v4()));
        let opened = open_ready(&s.app, &s.game, s.id).await.unwrap();
        // Both first-round matches: match 0 reopened, match 1 opened for the first time.
        assert_eq!(opened.len(), 2);
        let new = s.room().unwrap();
        assert!(opened.contains(&new) && new != "old-room");
        assert!(s
            .game
            .tree(ROOM_LINKS)
            .unwrap()
            .get::<RoomLink>(link_key("old-room"))
            .unwrap()
            .is_none());
        // Live in this run: looked at again, nothing is opened twice.
        assert!(open_ready(&s.app, &s.game, s.id).await.unwrap().is_empty());
        assert_eq!(s.rooms.live.lock().unwrap().len(), 2);
        // The dead room's result counts for nothing; the new room's counts once.
        match_finished(&s.app, &s.game, &s.won_by("old-room", s.pair[1]))
            .await
            .unwrap();
        assert_eq!(s.winner(), None);
        match_finished(&s.app, &s.game, &s.won_by(&new, s.pair[0]))
            .await
            .unwrap();
        assert_eq!(s.winner(), Some(s.pair[0]));
        match_finished(&s.app, &s.game, &s.won_by(&new, s.pair[1]))
            .await
            .unwrap();
        assert_eq!(s.winner(), Some(s.pair[0]));
    }

    #[tokio::test]
    async fn a_lost_rooms_stored_result_is_reported_instead_of_reopening() {
        let s = setup();
        s.recorded("old-room", None);
        // The room finished and its result was stored; a crash came before the report.
        matches::record_result(&s.game, &s.won_by("old-room", s.pair[1])).unwrap();
        let opened = open_ready(&s.app, &s.game, s.id).await.unwrap();
        assert_eq!(s.winner(), Some(s.pair[1]));
        assert_eq!(opened.len(), 1, "only match 1 gets a room");
        assert_eq!(s.room().as_deref(), Some("old-room"));
    }

    #[tokio::test]
    async fn rooms_and_claims_of_this_run_are_kept_and_an_earlier_runs_claim_is_taken() {
        let s = setup();
        // A room of this run that ended (settled by its own result, or left for a server).
        s.recorded("ended-room", Some(run_id()));
        open_ready(&s.app, &s.game, s.id).await.unwrap();
        assert_eq!(s.room().as_deref(), Some("ended-room"));
        // Another task of this run is opening it.
        s.recorded(&our_claim(), None);
        open_ready(&s.app, &s.game, s.id).await.unwrap();
        assert_eq!(s.room(), None);
        // An earlier run crashed while opening it (also the claim's old form, "").
        for stale in [format!("{CLAIM}{}", Uuid::new_v4()), String::new()] {
            s.recorded(&stale, None);
            let opened = open_ready(&s.app, &s.game, s.id).await.unwrap();
            assert_eq!(opened, vec![s.room().unwrap()]);
        }
    }
}
