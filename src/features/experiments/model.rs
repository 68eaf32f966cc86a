//! Experiments as stored.

use serde::{Deserialize, Serialize};

use crate::features::audience::AudienceRule;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Variant {
    pub name: String,
    /// Relative share of players.
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Experiment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The first variant is control.
    pub variants: Vec<Variant>,
    pub salt: String,
    #[serde(default)]
    pub audience: Option<AudienceRule>,
    /// Unix seconds (game time).
    pub start_at: i64,
    pub end_at: Option<i64>,
    /// The analytics event that counts as a conversion.
    pub goal_event: String,
    pub baseline_conversion: f64,
    /// Absolute lift the experiment is sized to detect.
    pub minimum_detectable_effect: f64,
    /// Users per variant for α = 0.05 and 80 % power.
    pub planned_users_per_variant: u64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Experiment {
    pub fn approx_bytes(&self) -> u64 {
        (std::mem::size_of::<Self>()
            + self.id.len()
            + self.name.len()
            + self.description.len()
            + self.salt.len()
            + self.goal_event.len()
            + self
                .variants
                .iter()
                .map(|v| v.name.len() + 32)
                .sum::<usize>()
            + self.audience.as_ref().map_or(0, |_| 256)) as u64
    }

    pub fn status(&self, now: i64) -> &'static str {
        if now < self.start_at {
            "scheduled"
        } else if self.end_at.is_some_and(|e| now >= e) {
            "ended"
        } else {
            "running"
        }
    }
}

/// A player's recorded variant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Assignment {
    pub variant: String,
    /// When it was handed out, Unix milliseconds (game time).
    pub at_ms: i64,
}
