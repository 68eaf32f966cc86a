//! League records as stored: the definition with its current season, members, and each
//! member's season history.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::UserId;
use crate::features::rewards::Reward;
use crate::features::tournaments::formats::SeedBy;
use crate::features::tournaments::model::Prize;

/// The size of a promotion or demotion zone: a count of players, or a fraction (0–1) of
/// the cohort, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Count(u32),
    Fraction(f64),
}

impl Zone {
    /// How many of a cohort of `n` the zone holds.
    pub fn of(self, n: usize) -> usize {
        match self {
            Zone::Count(c) => (c as usize).min(n),
            Zone::Fraction(f) => ((f * n as f64).ceil() as usize).min(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    pub name: String,
    /// Rewards by rank in a cohort of this tier at season end.
    #[serde(default)]
    pub rewards: Vec<Prize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Scores add up over the season (points earned).
    #[default]
    Incr,
    /// The best score of the season counts.
    Best,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct League {
    pub id: String,
    pub name: String,
    /// Lowest first.
    pub tiers: Vec<Tier>,
    pub cohort_size: u32,
    pub fill: SeedBy,
    pub promotion: Zone,
    pub demotion: Zone,
    /// Members with no score in a season are demoted.
    pub idle_demotion: bool,
    pub season_secs: i64,
    #[serde(default)]
    pub scoring: Scoring,
    /// Only server callers submit scores.
    #[serde(default)]
    pub authoritative: bool,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The current season (1 = first).
    pub season: u64,
    pub season_started_at: i64,
    pub season_ends_at: i64,
    /// Members per cohort of the current season, by tier.
    pub cohorts: Vec<Vec<u32>>,
    pub members: u64,
    /// Joins so far (ever), for join order.
    pub join_seq: u64,
    pub created_at: i64,
}

impl League {
    pub fn prize(&self, tier: usize, rank: u32) -> Option<&Reward> {
        self.tiers
            .get(tier)?
            .rewards
            .iter()
            .find(|p| (p.from..=p.to).contains(&rank))
            .map(|p| &p.reward)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    #[serde(default)]
    pub username: String,
    pub tier: usize,
    pub cohort: u32,
    /// The season the tier and cohort are for.
    pub season: u64,
    pub joined: u64,
    pub joined_at: i64,
    #[serde(default)]
    pub rating: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    Promoted,
    Stayed,
    Demoted,
}

/// One member's finished season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Season {
    pub season: u64,
    pub tier: usize,
    pub tier_name: String,
    pub cohort: u32,
    /// Rank in the cohort (idle members rank after everyone who scored).
    pub rank: u32,
    /// `None`: no score this season.
    pub score: Option<i64>,
    pub moved: Move,
    pub new_tier: usize,
    #[serde(default)]
    pub reward: Option<Reward>,
    pub ended_at: i64,
}
