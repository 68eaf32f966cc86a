use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::rewards::Reward;

/// Who may report progress on a mission.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Reporter {
    /// Studio servers and admins only (the default: progress a player could forge).
    #[default]
    Server,
    /// The player too (for progress the client is trusted with).
    Player,
}

/// One mission of the game's pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mission {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The stat whose progress counts (`kills`, `matches_played`, …).
    pub stat: String,
    pub target: u64,
    pub reward: Reward,
    #[serde(default)]
    pub progress_by: Reporter,
}

/// The game's mission pool and how many missions each player gets per day.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MissionPool {
    pub missions: Vec<Mission>,
    pub daily_count: u32,
    pub updated_at: i64,
}

/// A player's progress on one of the day's missions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MissionProgress {
    pub progress: u64,
    pub claimed: bool,
}

/// A player's progress on one UTC day: mission id → progress, and the ids of the missions
/// drawn for the day, kept on the first report so that editing the pool mid-day does not
/// reshuffle a running day.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DayProgress {
    pub missions: BTreeMap<String, MissionProgress>,
    #[serde(default)]
    pub selection: Vec<String>,
}
