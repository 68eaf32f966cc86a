//! The games this server hosts (registered with `outpost game create`).

use serde::{Deserialize, Serialize};

use crate::rpc::{Limit, Registry, RpcContext, RpcError};
use crate::store::GameRecord;

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
