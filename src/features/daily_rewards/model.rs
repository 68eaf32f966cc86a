use serde::{Deserialize, Serialize};

use crate::features::rewards::Reward;

/// The game's 7-day reward table: day 1 … day 7 of a streak, then it starts over.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RewardTable {
    pub days: Vec<Reward>,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A player's claim streak.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Streak {
    /// Day of the 7-day cycle last claimed (1–7); 0 before the first claim.
    pub day: u32,
    /// Consecutive UTC days claimed.
    pub streak: u32,
    /// UTC day number (days since 1970-01-01) of the last claim.
    pub last_claim_day: Option<i64>,
    pub total_claims: u64,
}

/// Where a player stands today.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub claimable: bool,
    /// The cycle day (1–7) the next claim pays.
    pub next_day: u32,
    /// The streak as it stands now (0 once a day was missed).
    pub streak: u32,
    /// The cycle day reached by the current streak (0 once a day was missed).
    pub day: u32,
}
