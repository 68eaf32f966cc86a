//! What a leaderboard is made of: its definition, its stored state (periods), records and
//! the ranked view of a record. Serde types, no I/O.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Which end of the scores ranks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Lowest first (lap times).
    Asc,
    /// Highest first (points). The default.
    #[default]
    Desc,
}

/// How a submission combines with the record already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    /// Keep the better of the two (by the board's sort). The default.
    #[default]
    Best,
    /// Replace.
    Set,
    /// Add the submitted score (and subscore), which must not be negative.
    #[serde(alias = "increment")]
    Incr,
    /// Subtract the submitted score (and subscore), which must not be negative.
    #[serde(alias = "decrement")]
    Decr,
}

/// How equal scores (and subscores) are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tie {
    /// Whoever reached the score first ranks first. The default.
    #[default]
    Earliest,
    /// By owner id, in the board's sort direction, as Nakama does.
    OwnerId,
}

/// Who may submit scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Submitters {
    /// Players for themselves, and servers for anyone. The default.
    #[default]
    Player,
    /// Server callers (and server-side game logic) only: an authoritative board.
    Server,
}

/// What `leaderboard_create` takes, and what other features pass to [`super::create`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// 1–128 characters: letters, digits, `_ - . :`.
    pub id: String,
    #[serde(default)]
    pub sort: Sort,
    #[serde(default)]
    pub operator: Operator,
    /// `none` (default), `daily`, `weekly` (Monday 00:00 UTC), `monthly`, or a five-field
    /// cron expression in UTC.
    #[serde(default = "never")]
    pub reset: String,
    /// Highest score a record may hold.
    #[serde(default)]
    pub max_score: Option<i64>,
    /// Largest change one submission may make to a record's score (a first record counts
    /// from 0).
    #[serde(default)]
    pub max_delta: Option<i64>,
    /// Most accepted submissions per owner per period (Nakama's `max_num_score`).
    #[serde(default)]
    pub max_num_score: Option<u32>,
    /// Most submissions a player may make per minute on this board (server callers and
    /// server-side logic are not limited).
    #[serde(default)]
    pub submits_per_minute: Option<u32>,
    #[serde(default)]
    pub submitters: Submitters,
    #[serde(default)]
    pub tie: Tie,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

pub(crate) fn never() -> String {
    "none".into()
}

impl Definition {
    /// A definition with every default: descending, best, never resets.
    pub fn new(id: impl Into<String>) -> Self {
        Definition {
            id: id.into(),
            sort: Sort::default(),
            operator: Operator::default(),
            reset: never(),
            max_score: None,
            max_delta: None,
            max_num_score: None,
            submits_per_minute: None,
            submitters: Submitters::default(),
            tie: Tie::default(),
            metadata: Map::new(),
        }
    }

    pub fn authoritative(&self) -> bool {
        self.submitters == Submitters::Server
    }
}

/// A finished period, kept readable by its `expiry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Sequence number of the period (0 for the first).
    pub period: u64,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds when it ended: its scheduled reset, or when it was archived by hand.
    pub expiry: i64,
}

/// A leaderboard as stored: its definition and where its periods stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub definition: Definition,
    /// Unix seconds (game time).
    pub created_at: i64,
    /// The current period's number: records are stored under it.
    pub period: u64,
    pub period_started_at: i64,
    /// When the current period ends (Unix seconds, game time); 0 for a board that never
    /// resets.
    pub expiry: i64,
    /// Finished periods, oldest first.
    #[serde(default)]
    pub archived: Vec<Period>,
}

/// One owner's record in one period, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub owner_id: Uuid,
    pub username: String,
    pub score: i64,
    pub subscore: i64,
    /// Accepted submissions this period.
    pub num_score: u32,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Unix seconds.
    pub create_time: i64,
    pub update_time: i64,
    /// The board's order of arrival at the current score (orders ties when `tie` is
    /// `earliest`).
    pub seq: u64,
}

/// A score to submit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub score: i64,
    #[serde(default)]
    pub subscore: i64,
    /// Replaces the record's metadata when given.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    /// Overrides the board's operator for this submission (as Nakama allows).
    #[serde(default)]
    pub operator: Option<Operator>,
}

/// A record with its place: what every read and submit answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub leaderboard_id: String,
    pub owner_id: Uuid,
    pub username: String,
    pub score: i64,
    pub subscore: i64,
    pub num_score: u32,
    /// The board's `max_num_score`, 0 when unlimited.
    pub max_num_score: u32,
    pub metadata: Map<String, Value>,
    pub create_time: i64,
    pub update_time: i64,
    /// When the record's period ends (0: never).
    pub expiry_time: i64,
    /// 1-based.
    pub rank: u64,
}

/// One page of a board.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Listing {
    /// The page, best first.
    pub records: Vec<Standing>,
    /// The records of the owners asked for by id (those who have one).
    pub owner_records: Vec<Standing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
    /// How many ranked records the period holds.
    pub rank_count: u64,
}
