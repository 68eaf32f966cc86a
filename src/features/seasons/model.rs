//! A season (battle pass) as stored, and a player's pass in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::rewards::Reward;
use crate::features::wallet::Amounts;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndPolicy {
    /// At the end, unclaimed rewards are lost: claims close.
    #[default]
    Close,
    /// At the end, every reached and unclaimed reward is paid to its player.
    AutoGrant,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SeasonState {
    #[default]
    Scheduled,
    Active,
    /// Ended; the end-of-season payout (auto-grant) is under way.
    Settling,
    Ended,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Free,
    Premium,
}

impl Track {
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Free => "free",
            Track::Premium => "premium",
        }
    }
}

/// Season XP each source gives (before event multipliers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct XpSources {
    pub match_played: u64,
    pub match_won: u64,
    pub per_kill: u64,
    pub mission_claimed: u64,
    pub achievement_unlocked: u64,
    pub per_achievement_point: u64,
}

impl Default for XpSources {
    fn default() -> Self {
        XpSources {
            match_played: 100,
            match_won: 50,
            per_kill: 5,
            mission_claimed: 150,
            achievement_unlocked: 50,
            per_achievement_point: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Season {
    pub season_id: String,
    pub title: String,
    pub description: String,
    /// Unix seconds.
    pub starts_at: i64,
    pub ends_at: i64,
    pub max_tier: u32,
    /// Total XP to reach tier n at index n − 1 (strictly increasing).
    pub xp_table: Vec<u64>,
    pub free_rewards: BTreeMap<u32, Reward>,
    pub premium_rewards: BTreeMap<u32, Reward>,
    /// What the premium track costs (currency → amount); empty: not for sale.
    pub premium_price: Amounts,
    pub end_policy: EndPolicy,
    pub xp_sources: XpSources,
    pub state: SeasonState,
    pub created_at: i64,
}

impl Season {
    pub fn rewards(&self, track: Track) -> &BTreeMap<u32, Reward> {
        match track {
            Track::Free => &self.free_rewards,
            Track::Premium => &self.premium_rewards,
        }
    }
}

/// A player's pass in one season.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Pass {
    pub xp: u64,
    pub tier: u32,
    pub premium: bool,
    pub premium_at: Option<i64>,
    pub updated_at: i64,
}

/// One line of the claims ledger: a tier's reward on a track, paid once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claim {
    pub tier: u32,
    pub track: Track,
    pub reward: Reward,
    /// `player` or `season_end` (auto-granted).
    pub by: String,
    pub at: i64,
}
