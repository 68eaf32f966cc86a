//! A live event as stored, and a player's part in one of its occurrences.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::leaderboards::{Operator, Sort};
use crate::features::missions::Reporter;
use crate::features::rewards::Reward;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    #[default]
    Scheduled,
    Active,
    /// Its end is being settled (community-goal and unclaimed mission rewards paid).
    Settling,
    Ended,
}

/// Which XP an event multiplies.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    #[default]
    All,
    Season,
    Profile,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct XpBoost {
    /// 200 = double XP.
    pub percent: u32,
    pub applies_to: AppliesTo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventMission {
    pub mission_id: String,
    pub title: String,
    pub description: String,
    pub target: u64,
    pub reward: Reward,
    pub progress_by: Reporter,
    pub max_player_increment: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Threshold {
    /// The server-wide total that reaches it.
    pub at: u64,
    pub reward: Reward,
}

/// A server-wide counter every player adds to; each threshold reached pays every player
/// who contributed at least `min_contribution`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommunityGoal {
    pub goal_id: String,
    pub title: String,
    pub description: String,
    pub thresholds: Vec<Threshold>,
    pub min_contribution: u64,
    pub contribution_by: Reporter,
    pub max_player_contribution: u64,
}

/// A reward for the ranks `rank_from`..=`rank_to` of an event tournament.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Prize {
    pub rank_from: u64,
    pub rank_to: u64,
    pub reward: Reward,
}

/// An event tournament: scores on a leaderboard of the leaderboards feature (one board per
/// occurrence), prizes by rank paid when the occurrence settles.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventTournament {
    pub sort: Sort,
    pub operator: Operator,
    pub max_score: Option<i64>,
    pub score_by: Reporter,
    pub prizes: Vec<Prize>,
}

/// How an event comes back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recurrence {
    /// Every weekend: Saturday 00:00 to Monday 00:00 UTC.
    Weekends,
    /// These windows (Unix seconds), in order.
    Dates { windows: Vec<(i64, i64)> },
    /// Starts at each match of a 5-field cron expression (UTC) and lasts `duration_secs`.
    Cron { cron: String, duration_secs: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub title: String,
    pub description: String,
    /// The current (or next) occurrence's window, Unix seconds.
    pub starts_at: i64,
    pub ends_at: i64,
    /// Counts occurrences from 1; progress and payouts are per occurrence.
    pub occurrence: u32,
    pub recurrence: Option<Recurrence>,
    pub xp_boost: Option<XpBoost>,
    pub missions: Vec<EventMission>,
    pub goals: Vec<CommunityGoal>,
    #[serde(default)]
    pub tournament: Option<EventTournament>,
    /// Start and end are announced to the game's players.
    pub announce: bool,
    pub state: EventState,
    pub created_at: i64,
}

/// A player's part in one occurrence of an event.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Participation {
    /// Mission id → progress.
    pub missions: BTreeMap<String, u64>,
    /// Goal id → what the player added.
    pub contributions: BTreeMap<String, u64>,
    /// Idempotency keys of what was paid (missions and goal thresholds).
    pub paid: Vec<String>,
    pub updated_at: i64,
}
