//! Bracket matches as QUIC rooms. A tournament created with `rooms` (a match mode and its
//! params) opens each bracket match that becomes ready as a private live match for its two
//! players: both are invited (so `room_join` hands each a ticket) and told by a
//! notification. When that live match ends, its result reports itself into the bracket
//! through [`match_finished`], which `matches::finish` (the one fan-out of match results)
//! calls; a draw in elimination is replayed in a new room. A match a room could not settle
//! (a player never came) is still reported by a server with `tournament_report_match`, as
//! is one whose room was lost to a restart (rooms are opened when the bracket changes).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::formats::{BracketError, MatchStatus, Outcome, Report};
use super::model::State;
use super::{bracket, get, lifecycle, TournamentError};
use crate::app::App;
use crate::auth::UserId;
use crate::features::matches::{self, Access, MatchResult, NewMatch};
use crate::features::notifications::{self, codes};
use crate::store::{GameStore, Key};

/// `g/<game>/tournament.id_stage_match`: a bracket match → its live match id (empty while
/// it is being opened).
pub const ROOMS: &str = "tournament.id_stage_match";
/// `g/<game>/tournament.matchid`: a live match id → the bracket match it plays.
pub const ROOM_LINKS: &str = "tournament.matchid";

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
        .filter(|m| !m.is_empty()))
}

/// Opens a room for every ready match of the running stage that has none yet; returns the
/// live match ids opened. Best effort: when realtime refuses (not running, full), the
/// refusal is logged, the claim released, and a later change retries.
pub async fn open_ready(
    app: &App,
    game: &GameStore,
    id: Uuid,
) -> Result<Vec<String>, TournamentError> {
    let t = get(game, id)?;
    let Some(plan) = &t.rooms else {
        return Ok(Vec::new());
    };
    if t.state != State::Active {
        return Ok(Vec::new());
    }
    let Some(b) = bracket(game, id, t.stage)? else {
        return Ok(Vec::new());
    };
    let dir = match matches::directory(app) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, tournament_id = %id, "bracket rooms not opened");
            return Ok(Vec::new());
        }
    };
    let (rooms, links) = (game.tree(ROOMS)?, game.tree(ROOM_LINKS)?);
    let mut opened = Vec::new();
    for m in b.matches.iter().filter(|m| m.status == MatchStatus::Ready) {
        let Some((a, c)) = m.players() else { continue };
        let key = room_key(id, t.stage, m.id);
        // Claim the match first: two callers never open two rooms for it.
        if !rooms.insert_new(&key, &String::new())? {
            continue;
        }
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
        };
        links.insert(link_key(&live.match_id), &link)?;
        rooms.insert(&key, &live.match_id)?;
        for (me, other) in [(a, c), (c, a)] {
            let content: Map<String, Value> = json!({
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

/// A live match ended: when it plays a bracket match, its result is reported there (the
/// player on the winning team wins; the scores are the teams'), then the rooms of the
/// matches that became ready are opened. A draw both players played is reported as a draw
/// (round robin, Swiss), or replayed in a new room (elimination has no draws). A match
/// without a winner that a player missed is left for a server to report. Reporting again
/// after a crash is refused by the bracket as already decided, which changes nothing.
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
            return Ok(());
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
        Ok(_) => {}
        // Elimination has no draws: the two play again in a new room.
        Err(TournamentError::Bracket(BracketError::DrawNotAllowed(_))) => {
            game.tree(ROOMS)?
                .remove(room_key(link.tournament_id, link.stage, link.match_id))?;
        }
        // Decided meanwhile (a server reported it, or this ran before a crash).
        Err(TournamentError::Bracket(e)) => {
            tracing::info!(error = %e, match_id = %result.match_id, "tournament room result not applied");
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    open_ready(app, game, link.tournament_id).await?;
    Ok(())
}
