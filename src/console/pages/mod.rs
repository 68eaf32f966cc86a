//! The console's pages, one file each, and what every page is given.

pub mod analytics;
pub mod audit;
pub mod backups;
pub mod config;
pub mod events;
pub mod experiments;
pub mod games;
pub mod leaderboards;
pub mod matches;
pub mod moderation;
pub mod overview;
pub mod players;
pub mod queues;
pub mod seasons;
pub mod signin;
pub mod tournaments;

use serde_json::Value;

use super::request::{redirect, ConsoleRequest, Page};
use super::session::Admin;
use crate::rpc::RpcError;
use crate::store::{GameId, GameRecord};

/// What a page knows: the request, the signed-in admin, the games and the chosen one.
pub struct Ctx<'a> {
    pub req: &'a ConsoleRequest,
    pub admin: Admin,
    pub games: Vec<GameRecord>,
    game: Option<GameId>,
}

impl<'a> Ctx<'a> {
    pub fn new(req: &'a ConsoleRequest, admin: Admin) -> Self {
        let games = req.app.store.games();
        let asked = req
            .query("game")
            .or_else(|| req.form("game"))
            .and_then(|g| g.parse::<GameId>().ok())
            .filter(|g| games.iter().any(|r| r.id == *g));
        let default = req
            .app
            .config
            .server
            .default_game_id
            .as_deref()
            .and_then(|g| g.parse::<GameId>().ok())
            .filter(|g| games.iter().any(|r| r.id == *g));
        let game = asked.or(default).or_else(|| games.first().map(|g| g.id));
        Ctx {
            req,
            admin,
            games,
            game,
        }
    }

    pub fn game_id(&self) -> Option<GameId> {
        self.game
    }

    pub fn game_name(&self) -> String {
        self.games
            .iter()
            .find(|g| Some(g.id) == self.game)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    }

    /// A console link that keeps the chosen game.
    pub fn link(&self, path: &str) -> String {
        match self.game {
            Some(g) if path.contains('?') => format!("{path}&game={g}"),
            Some(g) => format!("{path}?game={g}"),
            None => path.to_string(),
        }
    }

    /// An RPC as the signed-in admin: the same registry, checks and audit as the API.
    pub async fn call(&self, id: &str, payload: Value) -> Result<Value, RpcError> {
        self.req
            .app
            .call(self.admin.caller.clone(), id, payload)
            .await
    }

    /// After a change: back to `path` with a message.
    pub fn done(&self, path: &str, outcome: Result<String, RpcError>) -> Page {
        let (key, text) = match outcome {
            Ok(m) => ("ok", m),
            Err(e) => ("err", e.to_string()),
        };
        let to = self.link(path);
        let sep = if to.contains('?') { '&' } else { '?' };
        let msg: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
        redirect(&format!("{to}{sep}{key}={msg}"))
    }

    pub fn not_found(&self) -> Page {
        Page::html(
            http::StatusCode::NOT_FOUND,
            super::layout::page(
                self,
                "",
                "Not found",
                maud::html! {
                    p { "There is no such page. " a href=(self.link("/")) { "Back to the overview" } }
                },
            ),
        )
    }

    pub fn ok(&self, section: &str, title: &str, body: maud::Markup) -> Page {
        Page::html(
            http::StatusCode::OK,
            super::layout::page(self, section, title, body),
        )
    }
}
