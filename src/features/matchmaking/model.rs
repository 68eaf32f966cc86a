//! What matchmaking keeps: the modes a game offers, tickets in a queue, parties, ratings and
//! the history of rated matches. Serde types, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::UserId;

/// Which rating system a mode uses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RatingSystem {
    /// Elo with K = 32 (seed 001's formula).
    #[default]
    Elo,
    /// Glicko-2 (tau 0.5); the rating deviation sets a ticket's starting window.
    Glicko2,
}

/// How a ticket's rating window widens with its wait: `±initial`, then `+step` every
/// `every_secs`, then any rating once it has waited `max_wait_secs`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Widening {
    pub initial: f64,
    pub step: f64,
    pub every_secs: u64,
    pub max_wait_secs: u64,
}

impl Default for Widening {
    fn default() -> Self {
        Widening {
            initial: 100.0,
            step: 100.0,
            every_secs: 30,
            max_wait_secs: 120,
        }
    }
}

/// One mode of play a game offers (`solo`, `duo`, `squad` or any custom name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mode {
    pub name: String,
    pub team_size: u32,
    pub team_count: u32,
    /// A match forms with `max_players` when it can; with at least `min_players` once the
    /// oldest ticket in it has waited `widening.max_wait_secs`.
    pub min_players: u32,
    pub max_players: u32,
    pub rating: RatingSystem,
    pub initial_rating: f64,
    pub widening: Widening,
    /// A ticket still unmatched after this long is dropped (status `expired`).
    pub expire_after_secs: u64,
    /// Regions players may queue in; empty: any region name.
    pub regions: Vec<String>,
    /// The realtime handler the match runs (`arena` or `relay`) and its params.
    pub match_mode: String,
    pub match_params: serde_json::Value,
}

impl Mode {
    /// The players one match needs at most.
    pub fn seats(&self) -> u32 {
        self.max_players
    }
}

/// A range a numeric property of the other tickets must fall in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub property: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// What a ticket asks of the tickets it is matched with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Constraints {
    /// String properties that must be equal on both tickets.
    pub equal: Vec<String>,
    /// Numeric properties of the other ticket that must lie in a range.
    pub ranges: Vec<Range>,
    /// Players never to be matched with (either side).
    pub avoid: Vec<UserId>,
}

/// One player on a ticket, with the rating they queue with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Seat {
    pub user_id: UserId,
    pub rating: f64,
    pub deviation: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TicketState {
    Searching,
    /// A match was found: seats reserved until `deadline_ms` (game time). With a
    /// `backfill_id`, the seats are in a running match that asked for players.
    Matched {
        match_id: String,
        deadline_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backfill_id: Option<Uuid>,
    },
}

/// A place in one queue for one player or one whole party.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ticket {
    pub id: Uuid,
    pub mode: String,
    pub region: String,
    pub party_id: Option<Uuid>,
    pub players: Vec<Seat>,
    pub string_properties: BTreeMap<String, String>,
    pub numeric_properties: BTreeMap<String, f64>,
    pub constraints: Constraints,
    /// Game-clock milliseconds when it was queued: its wait and window count from here.
    pub created_at_ms: i64,
    /// Tickets put back after a no-show go before every other ticket.
    #[serde(default)]
    pub front: bool,
    pub state: TicketState,
}

impl Ticket {
    /// The ticket's rating: the mean of its players'.
    pub fn rating(&self) -> f64 {
        if self.players.is_empty() {
            return 0.0;
        }
        self.players.iter().map(|s| s.rating).sum::<f64>() / self.players.len() as f64
    }

    /// The ticket's deviation: the root mean square of its players'.
    pub fn deviation(&self) -> f64 {
        if self.players.is_empty() {
            return 0.0;
        }
        let sq = self
            .players
            .iter()
            .map(|s| s.deviation * s.deviation)
            .sum::<f64>();
        (sq / self.players.len() as f64).sqrt()
    }

    pub fn size(&self) -> u32 {
        self.players.len() as u32
    }

    pub fn user_ids(&self) -> impl Iterator<Item = UserId> + '_ {
        self.players.iter().map(|s| s.user_id)
    }
}

/// A group that queues as one ticket and is never split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Party {
    pub id: Uuid,
    pub leader: UserId,
    pub members: Vec<UserId>,
    pub max_size: u32,
    /// Unix seconds (game clock).
    pub created_at: i64,
}

/// A player's rating in one mode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rating {
    pub rating: f64,
    pub deviation: f64,
    pub volatility: f64,
    pub games: u64,
    pub wins: u64,
    pub losses: u64,
    pub draws: u64,
    /// Unix seconds (game clock); 0 before the first rated game.
    pub updated_at: i64,
}

impl Rating {
    pub fn new(initial: f64) -> Rating {
        Rating {
            rating: initial,
            deviation: 350.0,
            volatility: 0.06,
            games: 0,
            wins: 0,
            losses: 0,
            draws: 0,
            updated_at: 0,
        }
    }
}

/// What a match found by the matchmaker was, kept until its result rates it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FoundMatch {
    pub match_id: String,
    pub mode: String,
    pub region: String,
    /// Teams as the matchmaker balanced them.
    pub teams: Vec<Vec<UserId>>,
    /// Game-clock milliseconds.
    pub found_at_ms: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Win,
    Loss,
    Draw,
}

impl Outcome {
    pub fn score(self) -> f64 {
        match self {
            Outcome::Win => 1.0,
            Outcome::Loss => 0.0,
            Outcome::Draw => 0.5,
        }
    }
}

/// One rated match in a player's history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    pub match_id: String,
    pub mode: String,
    pub teammates: Vec<UserId>,
    pub opponents: Vec<UserId>,
    pub result: Outcome,
    pub rating_before: f64,
    pub rating_after: f64,
    pub rating_change: f64,
    /// Unix seconds (game clock).
    pub played_at: i64,
}

/// How a player's last ticket ended, for `matchmaking_get_status` once it is gone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastTicket {
    pub ticket_id: Uuid,
    pub mode: String,
    /// `cancelled`, `expired`, `no_show`, `joined`, `party_changed`.
    pub outcome: String,
    pub match_id: Option<String>,
    /// Game-clock milliseconds.
    pub at_ms: i64,
}

/// A player's latest opponents, newest last, and when they last met one (game-clock ms).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecentOpponents {
    pub opponents: std::collections::VecDeque<UserId>,
    pub at_ms: i64,
}

/// Where a backfill request stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BackfillStatus {
    /// Seats are still being filled (or reserved seats are still to be taken).
    Open,
    /// Every seat asked for was taken.
    Filled,
    /// Its time ran out first.
    Expired,
    /// The server or an admin cancelled it.
    Cancelled,
    /// The match ended (or went away) first.
    MatchEnded,
}

/// A running match's request for players to fill seats: filled from the waiting tickets of
/// its mode and region whose rating is within reach of the match's average, like a fresh
/// match (single-use join tickets, players told live and persistently). Held in memory
/// with the live match it belongs to (neither outlives a restart).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Backfill {
    pub backfill_id: Uuid,
    pub match_id: String,
    pub mode: String,
    pub region: String,
    pub status: BackfillStatus,
    /// Seats asked for.
    pub seats: u32,
    /// Seats still to find players for.
    pub open_seats: u32,
    /// Seats reserved for players who have not taken them yet.
    pub reserved_seats: u32,
    /// The team (index) the seats are on; `None`: the match's handler places them.
    pub team: Option<usize>,
    /// The rating players are matched against: the mean of the match's players' ratings
    /// when it was asked for.
    pub rating: f64,
    /// Their rating deviation (root mean square), which starts a Glicko-2 mode's window.
    pub deviation: f64,
    /// Players who took a seat through it.
    pub joined: Vec<UserId>,
    /// Game-clock milliseconds.
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// When it stopped being open (game clock), for how long it is still shown.
    pub ended_at_ms: Option<i64>,
}
