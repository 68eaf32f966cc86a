//! `[leagues]`: defaults for leagues.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LeaguesConfig {
    /// Most players in one cohort of a tier, for leagues that do not set their own.
    pub cohort_size: u32,
}

impl Default for LeaguesConfig {
    fn default() -> Self {
        LeaguesConfig { cohort_size: 50 }
    }
}

impl LeaguesConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=1000).contains(&self.cohort_size) {
            return Err(format!(
                "leagues.cohort_size must be between 2 and 1000, not {}",
                self.cohort_size
            ));
        }
        Ok(())
    }
}
