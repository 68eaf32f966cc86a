//! What a finished match leaves behind, what the anti-cheat saw, and what the live-match
//! directory hands to the room RPCs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::UserId;

/// One player's part in a finished match.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlayerResult {
    pub user_id: UserId,
    pub username: String,
    pub team: String,
    pub kills: u32,
    pub deaths: u32,
    pub score: i64,
    /// Anti-cheat violations counted in this match.
    #[serde(default)]
    pub violations: u32,
}

/// A finished match, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MatchResult {
    pub match_id: String,
    pub mode: String,
    pub label: String,
    #[serde(default)]
    pub map: String,
    /// Winning team; `None` on a draw.
    pub winner: Option<String>,
    /// `kill_limit`, `time_limit`, …
    pub reason: String,
    pub team_scores: BTreeMap<String, u32>,
    /// Unix milliseconds.
    pub started_at: i64,
    pub ended_at: i64,
    pub duration_ms: u64,
    pub players: Vec<PlayerResult>,
    /// Whether the result moved the players' profile stats: false for a match a player
    /// created that had fewer than `realtime.min_players_for_stats` distinct players.
    #[serde(default = "counted")]
    pub stats_counted: bool,
}

fn counted() -> bool {
    true
}

impl MatchResult {
    /// Distinct players who took part (leavers included).
    pub fn distinct_players(&self) -> usize {
        let mut ids: Vec<UserId> = self.players.iter().map(|p| p.user_id).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    }

    /// True when `user` was on the winning team.
    pub fn won(&self, user: UserId) -> bool {
        match &self.winner {
            Some(w) => self
                .players
                .iter()
                .any(|p| p.user_id == user && &p.team == w),
            None => false,
        }
    }
}

/// One anti-cheat violation, kept for admins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Suspicion {
    pub user_id: UserId,
    pub match_id: String,
    /// `speed`, `fire_rate`, `timestamp`, `out_of_bounds`, `malformed_input`.
    pub kind: String,
    pub detail: String,
    /// The player's violation count in that match so far.
    pub count: u32,
    /// Unix milliseconds.
    pub at: i64,
}

/// A live match, as listed to players.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveMatch {
    pub match_id: String,
    pub mode: String,
    pub label: String,
    pub size: u32,
    pub max_size: u32,
    pub tick_rate: u32,
    pub private: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Arena: the map, kill limit and time limit (absent in modes without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_secs: Option<u32>,
    /// Whether it still takes players: false once it has ended (an arena match keeps
    /// running through its vote) or is closing.
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

/// A player in a live match, as an admin sees them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MatchPlayer {
    pub user_id: UserId,
    pub username: String,
}

/// Who may join a private match besides holders of a server-issued ticket: the invited
/// users, and anyone who presents its join code.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The client address the create came from (counted against
    /// `realtime.max_matches_per_ip`).
    pub creator_ip: Option<std::net::IpAddr>,
    /// Users invited to a private match (the creator always is).
    pub invited: Vec<UserId>,
    /// Set up by players even without a `creator` (a vote's next match after a player's
    /// match): its stats count only with `realtime.min_players_for_stats` players.
    pub player_made: bool,
}

/// A single-use pass into one match for one user, handed out over HTTPS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ticket {
    pub ticket: String,
    pub match_id: String,
    pub user_id: UserId,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// Where QUIC clients connect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub alpn: String,
}

/// Who is online in a game, and where.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Presence {
    pub user_id: UserId,
    pub username: String,
    pub sessions: u32,
    pub match_ids: Vec<String>,
    /// Unix milliseconds of the oldest live connection.
    pub online_since: i64,
}

/// How the realtime transport is doing (for the bench, health and operators).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RealtimeStats {
    pub connections: u64,
    /// Connections in the QUIC handshake or before a successful `hello`.
    #[serde(default)]
    pub pending: u64,
    /// QUIC Retry packets sent to validate a client's address.
    #[serde(default)]
    pub handshakes_retried: u64,
    /// Handshakes refused (over `realtime.max_pending_per_ip`).
    #[serde(default)]
    pub handshakes_refused: u64,
    pub matches: u64,
    pub ticks: u64,
    pub tick_p50_us: u64,
    pub tick_p99_us: u64,
    pub tick_max_us: u64,
    /// Jitter: how far the time between two ticks of a match was from its period.
    pub jitter_p50_us: u64,
    pub jitter_p99_us: u64,
    pub jitter_max_us: u64,
    /// How late ticks started against their schedule (includes the timer's 1 ms grain).
    pub lateness_p50_us: u64,
    pub lateness_p99_us: u64,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    pub frames_in: u64,
    pub frames_out: u64,
    pub dropped_slow: u64,
    /// Inputs dropped for a sequence number not above the last one.
    pub stale_inputs: u64,
    pub violations: u64,
}
