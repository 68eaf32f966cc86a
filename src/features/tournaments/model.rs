//! Tournament records as stored: the definition an admin created, its lifecycle state, its
//! entrants, and the final results once it ended.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::formats::{BracketFormat, Placement, SeedBy};
use crate::auth::UserId;
use crate::features::rewards::Reward;
use crate::features::wallet::Amounts;

/// Where a tournament is in its life. Each step happens once, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created; registration has not opened.
    Upcoming,
    /// Players may join and leave (a fee is refunded on leave).
    Registration,
    /// Play: scores are submitted (leaderboard) or matches reported (brackets).
    Active,
    /// Results are final; prizes are being paid.
    Ended,
    /// Every prize is paid.
    RewardsDistributed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Upcoming => "upcoming",
            State::Registration => "registration",
            State::Active => "active",
            State::Ended => "ended",
            State::RewardsDistributed => "rewards_distributed",
        }
    }
}

/// How one stage is played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum StageFormat {
    /// Best score over the tournament's window, ranked by a leaderboard.
    Leaderboard,
    /// A bracket format (single/double elimination, round robin, Swiss).
    Bracket(BracketFormat),
}

impl StageFormat {
    pub fn name(&self) -> &'static str {
        match self {
            StageFormat::Leaderboard => "leaderboard",
            StageFormat::Bracket(b) => b.name(),
        }
    }
}

/// One stage: its format and how many of the previous stage's standings enter it (all
/// entrants for the first stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub format: StageFormat,
    #[serde(default)]
    pub advance: Option<u32>,
    /// A leaderboard first stage followed by bracket stages: how long its score window
    /// lasts from the start, in seconds (the brackets take the rest of the tournament).
    #[serde(default)]
    pub duration: Option<i64>,
}

/// A prize for the places `from..=to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prize {
    pub from: u32,
    pub to: u32,
    pub reward: Reward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Daily,
    Weekly,
    Monthly,
}

/// Leaderboard-format scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Desc,
    Asc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    #[default]
    Best,
    Set,
    Incr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tournament {
    pub id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// 0–127, as Nakama's category.
    #[serde(default)]
    pub category: u32,
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub seed_by: SeedBy,
    /// Currency → amount taken at join.
    #[serde(default)]
    pub entry_fee: Amounts,
    pub max_players: u32,
    #[serde(default)]
    pub prizes: Vec<Prize>,
    #[serde(default)]
    pub sort_order: SortOrder,
    #[serde(default)]
    pub operator: Operator,
    /// Unix seconds (game time).
    pub registration_at: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Bracket matches played as QUIC rooms of this mode, when set.
    #[serde(default)]
    pub rooms: Option<super::rooms::RoomPlan>,
    pub state: State,
    /// Entrants now.
    pub players: u32,
    /// The stage being played (index into `stages`).
    #[serde(default)]
    pub stage: usize,
    /// Final standings, once ended.
    #[serde(default)]
    pub results: Vec<Placement>,
    /// A leaderboard first stage's final ranks, kept when its window closed and the best
    /// went on into the next stage.
    #[serde(default)]
    pub qualifying: Vec<Placement>,
    /// Why it ended: `schedule`, `bracket`, `admin`, or `cancelled` (fewer than two
    /// players for a bracket; fees refunded).
    #[serde(default)]
    pub ended_by: Option<String>,
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// The recurring series' next instance, once created.
    #[serde(default)]
    pub next_instance: Option<Uuid>,
    /// 1 for the first of a series.
    #[serde(default = "one")]
    pub instance: u32,
    /// Joins so far (ever), for join order.
    #[serde(default)]
    pub join_seq: u64,
    pub created_at: i64,
}

fn one() -> u32 {
    1
}

impl Tournament {
    pub fn is_leaderboard(&self) -> bool {
        matches!(
            self.stages.first().map(|s| &s.format),
            Some(StageFormat::Leaderboard)
        )
    }

    /// The prize for a place, if any.
    pub fn prize_for(&self, place: u32) -> Option<&Reward> {
        self.prizes
            .iter()
            .find(|p| (p.from..=p.to).contains(&place))
            .map(|p| &p.reward)
    }

    /// A leaderboard first stage whose best players go on into bracket stages.
    pub fn qualifies_into_bracket(&self) -> bool {
        self.is_leaderboard() && self.stages.len() > 1
    }

    /// When the score window of a leaderboard first stage closes: after its own duration
    /// when bracket stages follow, else at the tournament's end.
    pub fn window_ends_at(&self) -> i64 {
        match self.stages.first() {
            Some(Stage {
                format: StageFormat::Leaderboard,
                duration: Some(d),
                ..
            }) if self.stages.len() > 1 => (self.starts_at + d).min(self.ends_at),
            _ => self.ends_at,
        }
    }

    /// Whether scores are taken now: the score window is the stage being played.
    pub fn in_score_window(&self, now: i64) -> bool {
        self.is_leaderboard()
            && self.stage == 0
            && self.state == State::Active
            && now < self.window_ends_at()
    }

    /// Whether the standings are the leaderboard's live ranks (a score window alone, or a
    /// first-stage window still running).
    pub fn ranked_by_board(&self) -> bool {
        self.is_leaderboard()
            && self.stage == 0
            && (self.stages.len() == 1 || self.state < State::Ended)
    }

    /// Whether players may join now.
    pub fn open_for_joining(&self, now: i64) -> bool {
        match self.state {
            State::Registration => true,
            // A score window can be entered while it runs.
            State::Active => {
                self.is_leaderboard() && self.stage == 0 && now < self.window_ends_at()
            }
            _ => false,
        }
    }

    /// Whether joins are taken now, full or not: open for joining, a bracket only before
    /// its start.
    pub fn joinable(&self, now: i64) -> bool {
        self.open_for_joining(now) && (self.is_leaderboard() || now < self.starts_at)
    }

    /// Whether a player may join now: joinable and not full.
    pub fn accepts_joins(&self, now: i64) -> bool {
        self.joinable(now) && self.players < self.max_players
    }
}

/// One entrant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub user_id: UserId,
    #[serde(default)]
    pub username: String,
    /// Join order (1 = first).
    pub joined: u64,
    pub joined_at: i64,
    /// What the entry cost, refunded on leave before the start.
    #[serde(default)]
    pub fee: Amounts,
    /// A rating given by a server caller at join, for seeding by rating.
    #[serde(default)]
    pub rating: Option<f64>,
}
