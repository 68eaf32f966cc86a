//! Nakama's storage REST API over the cloud-save feature, acting on the session's game
//! (`vars.game_id`, else the server's default game):
//! - `PUT /v2/storage` writes objects → `{"acks": [...]}`;
//! - `POST /v2/storage` reads objects → `{"objects": [...]}`;
//! - `PUT /v2/storage/delete` deletes objects → `{}`;
//! - `GET /v2/storage/{collection}[/{user_id}]?limit=&cursor=` lists → `{"objects", "cursor"}`.
//!
//! Each route is admitted, from the request's head before its body is read, as the storage
//! RPC it stands for (`batch_write_storage`, `batch_read_storage`, `cloud_save_delete`,
//! `cloud_save_list`; see `Gate::AsRpc` in `super::routes`) through
//! [`crate::rpc::Registry::admit`]: caller class and rate-limit class come from the
//! registry, not from here.
//!
//! Values travel as JSON text, as Nakama's API carries them. A refused version or
//! permission answers 400 with gRPC code 3, as Nakama does.

use std::str::FromStr;

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;
use warp::reply::Response;

use super::request::{caller, finish, json_body, json_reply, session, Req};
use crate::features::paging;
use crate::features::storage::{self, Actor, ObjectId, ObjectWrite};
use crate::rpc::{decode, session_game, RpcError, SessionUser};
use crate::store::{GameId, GameStore};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBody {
    objects: Vec<WriteObject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteObject {
    collection: String,
    key: String,
    value: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    permission_read: Option<u8>,
    #[serde(default)]
    permission_write: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdsBody {
    object_ids: Vec<IdObject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdObject {
    collection: String,
    key: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// The session its gate admitted as the RPC the route stands for (storage, leaderboards),
/// and its game.
pub(super) fn open(req: &Req) -> Result<(SessionUser, GameStore), RpcError> {
    let s = session(req)?;
    let caller = caller(req)?;
    let game_id = session_game(&req.app, &caller).ok_or_else(|| {
        RpcError::invalid(
            "no game: authenticate with vars {\"game_id\": …} or set server.default_game_id",
        )
    })?;
    let id = GameId::from_str(&game_id).map_err(RpcError::InvalidArgument)?;
    let game = req
        .app
        .store
        .game(id)
        .map_err(|_| RpcError::NotFound(format!("game {game_id} is not registered")))?;
    Ok((s, game))
}

fn user_id(field: &str, text: Option<&str>, default: Uuid) -> Result<Uuid, RpcError> {
    match text {
        None | Some("") => Ok(default),
        Some(t) => Uuid::parse_str(t)
            .map_err(|_| RpcError::invalid(format!("{field} `{t}` is not a user id"))),
    }
}

pub async fn write(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let body: WriteBody = decode(json_body(&req.body)?)?;
        let max = req.app.config.storage.max_object_bytes;
        let writes = body
            .objects
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                to_write(o, max).map_err(|e| RpcError::from(e).within(&format!("objects[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quota = req.app.config.storage.max_objects_per_user;
        let acks =
            storage::write(&game, s.user_id, Actor::Player(s.user_id), writes, quota).await?;
        Ok(json_reply(200, &json!({ "acks": acks })))
    }
    .await;
    finish(&app, "storage_write", result)
}

fn to_write(o: WriteObject, max: usize) -> Result<ObjectWrite, storage::ObjectError> {
    let w = ObjectWrite {
        value: storage::rules::parse_value(&o.value, max)?,
        collection: o.collection,
        key: o.key,
        version: o.version,
        permission_read: o.permission_read,
        permission_write: o.permission_write,
    };
    storage::rules::check_write(&w)?;
    Ok(w)
}

pub async fn read(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let body: IdsBody = decode(json_body(&req.body)?)?;
        let ids = ids(body, s.user_id)?;
        let found = storage::read(&game, Actor::Player(s.user_id), &ids)?;
        let objects: Vec<Value> = found
            .iter()
            .flatten()
            .map(|o| storage::object_json(o, true))
            .collect();
        Ok(json_reply(200, &json!({ "objects": objects })))
    }
    .await;
    finish(&app, "storage_read", result)
}

fn ids(body: IdsBody, me: Uuid) -> Result<Vec<ObjectId>, RpcError> {
    body.object_ids
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            Ok(ObjectId {
                user_id: user_id(
                    &format!("object_ids[{i}].user_id"),
                    o.user_id.as_deref(),
                    me,
                )?,
                collection: o.collection,
                key: o.key,
                version: o.version,
            })
        })
        .collect()
}

pub async fn delete(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let body: IdsBody = decode(json_body(&req.body)?)?;
        let ids = ids(body, s.user_id)?;
        storage::delete(&game, Actor::Player(s.user_id), ids).await?;
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "storage_delete", result)
}

pub async fn list(collection: String, owner: Option<String>, req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let owner = match owner.as_deref().or(req.query("user_id")) {
            None | Some("") => None,
            Some(t) => Some(user_id("user_id", Some(t), s.user_id)?),
        };
        let limit = match req.query("limit") {
            None | Some("") => None,
            Some(t) => Some(t.parse::<u32>().map_err(|_| {
                RpcError::invalid(format!("limit must be between 1 and 100, not `{t}`"))
            })?),
        };
        let limit = paging::limit(limit, paging::MAX_LIMIT)?;
        let (objects, cursor) = storage::list(
            &game,
            Actor::Player(s.user_id),
            &collection,
            owner,
            limit,
            req.query("cursor"),
        )?;
        let objects: Vec<Value> = objects
            .iter()
            .map(|o| storage::object_json(o, true))
            .collect();
        let mut reply = json!({ "objects": objects });
        if let Some(c) = cursor {
            reply["cursor"] = Value::String(c);
        }
        Ok(json_reply(200, &reply))
    }
    .await;
    finish(&app, "storage_list", result)
}
