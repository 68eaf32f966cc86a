//! The games registry (`sys/games`): one server hosts many games, each with its own trees.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Key, Store, StoreError};

const GAMES: &str = "games";

/// A game's id: a UUID. Parsing checks the form only; [`Store::game`] checks registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GameId(pub Uuid);

impl GameId {
    pub fn new() -> Self {
        GameId(Uuid::new_v4())
    }
}

impl Default for GameId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for GameId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for GameId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(GameId)
            .map_err(|_| format!("game_id `{s}` is not a UUID"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GameRecord {
    pub id: GameId,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Seconds this game's clock runs ahead of the wall clock: moved forward only by an
    /// admin on a server in dev mode, to test resets, season ends and events. Never back.
    #[serde(default)]
    pub clock_offset_secs: i64,
}

impl Store {
    pub(super) fn load_games(&self) -> Result<(), StoreError> {
        let tree = self.global(GAMES)?;
        let mut map = self.inner.games.write().unwrap_or_else(|p| p.into_inner());
        for entry in tree.iter::<GameRecord>() {
            let (_, g) = entry?;
            map.insert(g.id, g);
        }
        Ok(())
    }

    /// Registers a new game. Names are for people; two games may not share one.
    pub fn create_game(
        &self,
        name: &str,
        settings: BTreeMap<String, serde_json::Value>,
    ) -> Result<GameRecord, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(StoreError::Invalid(
                "game name must be 1 to 64 characters".into(),
            ));
        }
        let mut games = self.inner.games.write().unwrap_or_else(|p| p.into_inner());
        if games.values().any(|g| g.name.eq_ignore_ascii_case(name)) {
            return Err(StoreError::Invalid(format!(
                "a game named `{name}` already exists"
            )));
        }
        let record = GameRecord {
            id: GameId::new(),
            name: name.to_string(),
            created_at: crate::time::now(),
            settings,
            clock_offset_secs: 0,
        };
        self.global(GAMES)?
            .insert(Key::new().uuid(record.id.0), &record)?;
        self.flush()?;
        games.insert(record.id, record.clone());
        Ok(record)
    }

    /// Every registered game, oldest first.
    pub fn games(&self) -> Vec<GameRecord> {
        let mut v: Vec<GameRecord> = self
            .inner
            .games
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
        v
    }

    pub fn game_record(&self, id: GameId) -> Option<GameRecord> {
        self.inner
            .games
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// Moves a game's clock forward by `secs` (dev mode; the caller checks it) and returns
    /// the new offset. Persisted and flushed, so a restart keeps the game's time.
    pub fn advance_game_clock(&self, id: GameId, secs: i64) -> Result<i64, StoreError> {
        if secs <= 0 {
            return Err(StoreError::Invalid(
                "a game's clock only moves forward".into(),
            ));
        }
        let mut games = self.inner.games.write().unwrap_or_else(|p| p.into_inner());
        let Some(record) = games.get(&id) else {
            return Err(StoreError::UnknownGame(id.to_string()));
        };
        let mut record = record.clone();
        record.clock_offset_secs = record
            .clock_offset_secs
            .checked_add(secs)
            .filter(|o| *o <= 100 * 365 * 86_400)
            .ok_or_else(|| StoreError::Invalid("the clock cannot move that far".into()))?;
        self.global(GAMES)?
            .insert(Key::new().uuid(record.id.0), &record)?;
        self.flush()?;
        let offset = record.clock_offset_secs;
        games.insert(id, record);
        Ok(offset)
    }

    /// A game's clock offset in seconds (0 unless moved in dev mode).
    pub fn game_clock_offset(&self, id: GameId) -> i64 {
        self.inner
            .games
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map_or(0, |g| g.clock_offset_secs)
    }

    /// Re-reads the registry from disk (after a restore or an offline CLI change).
    pub fn reload_games(&self) -> Result<(), StoreError> {
        self.inner
            .games
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.load_games()
    }
}
