//! `[matchmaking]`: how often the matching pass runs and how long a found seat is held.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchmakingConfig {
    /// Milliseconds between two matching passes.
    pub interval_ms: u64,
    /// Seconds (game clock) a found match holds its seats; players who have not joined by
    /// then are dropped and the others go back to the front of the queue.
    pub accept_timeout_secs: u64,
    /// Most live tickets per game.
    pub max_tickets: usize,
    /// Opponents remembered per player, avoided while the queue allows.
    pub recent_opponents: usize,
    /// Hours (game clock) a player's recent opponents are remembered after their last
    /// match; kept in the database, so a restart forgets nothing younger.
    pub recent_opponents_hours: u64,
}

impl Default for MatchmakingConfig {
    fn default() -> Self {
        MatchmakingConfig {
            interval_ms: 1000,
            accept_timeout_secs: 30,
            max_tickets: 200_000,
            recent_opponents: 10,
            recent_opponents_hours: 24,
        }
    }
}

impl MatchmakingConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=60_000).contains(&self.interval_ms) {
            return Err("matchmaking.interval_ms must be between 10 and 60000".into());
        }
        if !(1..=3600).contains(&self.accept_timeout_secs) {
            return Err("matchmaking.accept_timeout_secs must be between 1 and 3600".into());
        }
        if !(1..=8760).contains(&self.recent_opponents_hours) {
            return Err("matchmaking.recent_opponents_hours must be between 1 and 8760".into());
        }
        if self.max_tickets == 0 {
            return Err("matchmaking.max_tickets must be at least 1".into());
        }
        Ok(())
    }
}
