//! Achievements as a studio defines them and as a player holds them.

use serde::{Deserialize, Serialize};

use crate::features::missions::Reporter;
use crate::features::rewards::Reward;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Done once (target 1 unless given).
    #[default]
    Simple,
    /// A counter towards a target.
    Incremental,
    /// A counter with bronze/silver/gold/platinum thresholds, each paying its own reward.
    Tiered,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Rarity {
    #[default]
    Common,
    Uncommon,
    Rare,
    Epic,
    Legendary,
}

/// One threshold of a tiered achievement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tier {
    /// `bronze`, `silver`, `gold` or `platinum`.
    pub name: String,
    pub threshold: u64,
    #[serde(default)]
    pub reward: Reward,
    #[serde(default)]
    pub points: u32,
}

/// An achievement of one game.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Achievement {
    pub achievement_id: String,
    pub title: String,
    pub description: String,
    pub icon_url: String,
    pub category: String,
    pub rarity: Rarity,
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Progress that unlocks it (for tiered: the last tier's threshold).
    pub target: u64,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Points for unlocking (for tiered: the sum of the tiers' points).
    pub points: u32,
    pub hidden: bool,
    /// The profile stat it follows (`kills`, `wins`, …), if any.
    pub stat: Option<String>,
    /// Who may report progress (servers only by default).
    pub progress_by: Reporter,
    /// For player-reported progress: the most one call may add.
    pub max_player_increment: u64,
    /// Paid when it unlocks (simple and incremental).
    pub reward: Reward,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Achievement {
    /// The steps that pay: (step name, threshold, reward). One step (`unlock`) unless tiered.
    pub fn steps(&self) -> Vec<(&str, u64, &Reward)> {
        match self.kind {
            Kind::Tiered => self
                .tiers
                .iter()
                .map(|t| (t.name.as_str(), t.threshold, &t.reward))
                .collect(),
            _ => vec![("unlock", self.target, &self.reward)],
        }
    }
}

/// A player's standing on one achievement.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Progress {
    pub progress: u64,
    /// Steps already paid (`unlock`, or tier names), in order.
    pub paid: Vec<String>,
    /// Unix seconds of the unlock (the last tier for tiered), if unlocked.
    pub unlocked_at: Option<i64>,
    pub updated_at: i64,
}
