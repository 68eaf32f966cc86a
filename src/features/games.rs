//! The games this server hosts (registered with `outpost game create`).

use serde::{Deserialize, Serialize};

use crate::rpc::{Limit, Registry, RpcContext, RpcError};
use crate::store::{GameId, GameRecord, Key, Store, StoreError};

/// `sys/server.settings`: what the server decided for itself and keeps across starts.
const SETTINGS: &str = "server.settings";
const DEFAULT_GAME: &str = "default_game_id";
/// The name of the game a fresh server creates for itself.
pub const FIRST_GAME: &str = "default";

/// The game Nakama-style calls without `vars.game_id` act on when the configuration names
/// none (`server.default_game_id`): the one a first start stored. On a data dir with no
/// game at all, a game named `default` is created and stored, so the official SDKs work
/// out of the box. `None` when games exist but none was made the default; the flag says
/// whether the game was created now.
pub fn default_game(store: &Store) -> Result<Option<(GameRecord, bool)>, StoreError> {
    let settings = store.global(SETTINGS)?;
    let key = Key::new().str(DEFAULT_GAME);
    if let Some(id) = settings.get::<String>(&key)? {
        if let Some(game) = id.parse::<GameId>().ok().and_then(|g| store.game_record(g)) {
            return Ok(Some((game, false)));
        }
    }
    if !store.games().is_empty() {
        return Ok(None);
    }
    let game = store.create_game(FIRST_GAME, Default::default())?;
    settings.insert(&key, &game.id.to_string())?;
    store.flush()?;
    Ok(Some((game, true)))
}

pub fn register(r: &mut Registry) {
    r.server("game_list", Limit::Read, list);
}

#[derive(Deserialize)]
struct ListRequest {
    /// Ignored: the list spans every game. Accepted so Nakama-style default games do not
    /// make the call fail.
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
pub struct GameView {
    pub game_id: String,
    pub name: String,
    pub created_at: String,
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
}

impl From<GameRecord> for GameView {
    fn from(g: GameRecord) -> Self {
        GameView {
            game_id: g.id.to_string(),
            name: g.name,
            created_at: crate::time::rfc3339(g.created_at),
            settings: g.settings,
        }
    }
}

#[derive(Serialize)]
struct ListReply {
    games: Vec<GameView>,
}

async fn list(ctx: RpcContext, _req: ListRequest) -> Result<ListReply, RpcError> {
    Ok(ListReply {
        games: ctx
            .app
            .store
            .games()
            .into_iter()
            .map(GameView::from)
            .collect(),
    })
}
