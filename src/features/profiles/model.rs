use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default = "one")]
    pub level: u32,
    #[serde(default)]
    pub xp: u64,
    /// Counters the game keeps: kills, deaths, matches, wins, …
    #[serde(default)]
    pub stats: BTreeMap<String, i64>,
    #[serde(default)]
    pub titles: Vec<String>,
    #[serde(default)]
    pub badges: Vec<String>,
    /// Unix seconds; 0 for a profile never written.
    #[serde(default)]
    pub updated_at: i64,
}

fn one() -> u32 {
    1
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            display_name: String::new(),
            avatar_url: String::new(),
            level: 1,
            xp: 0,
            stats: BTreeMap::new(),
            titles: Vec::new(),
            badges: Vec::new(),
            updated_at: 0,
        }
    }
}
