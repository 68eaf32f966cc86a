//! Nakama's leaderboard REST API over the leaderboards feature, acting on the session's game
//! (`vars.game_id`, else the server's default game), with Nakama's shapes (int64 as strings,
//! `num_score`/`max_num_score` as numbers, RFC 3339 times, snake_case; camelCase query names
//! accepted; unknown body fields ignored):
//! - `GET /v2/leaderboard/{id}?owner_ids=&limit=&cursor=&expiry=` → `LeaderboardRecordList`;
//! - `POST /v2/leaderboard/{id}` with `{score, subscore, metadata, operator}` → the record;
//! - `DELETE /v2/leaderboard/{id}` deletes the caller's record → `{}`;
//! - `GET /v2/leaderboard/{id}/owner/{owner_id}?limit=&expiry=&cursor=` → the page around
//!   that owner.
//!
//! Reads are admitted as `get_leaderboard`, writes and deletes as `submit_score` (caller
//! class and rate-limit class from the registry).

use serde_json::{json, Map, Value};
use uuid::Uuid;
use warp::reply::Response;

use super::request::{finish, json_body, json_reply, Req};
use super::storage::open;
use crate::features::leaderboards::{
    self, Listing, Operator, Query, Standing, Submission, Submitter,
};
use crate::rpc::RpcError;

/// A path segment, percent-decoded (`weekly%3Akills` is `weekly:kills`).
fn segment(raw: &str) -> String {
    let text = format!("s={}", raw.replace('+', "%2B"));
    form_urlencoded::parse(text.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A query value by its snake_case or camelCase name.
pub(super) fn query<'a>(req: &'a Req, snake: &str, camel: &str) -> Option<&'a str> {
    req.query(snake)
        .or_else(|| req.query(camel))
        .filter(|v| !v.is_empty())
}

pub(super) fn int_query(req: &Req, snake: &str, camel: &str) -> Result<Option<i64>, RpcError> {
    query(req, snake, camel)
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| RpcError::invalid(format!("{snake} `{t}` is not an integer")))
        })
        .transpose()
}

/// `limit` from the query, 1 to `max` (`None` when absent).
pub(super) fn limit(req: &Req, max: u32) -> Result<Option<u32>, RpcError> {
    match int_query(req, "limit", "limit")? {
        None => Ok(None),
        Some(n) if (1..=max as i64).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(RpcError::invalid(format!(
            "limit must be between 1 and {max}, not {n}"
        ))),
    }
}

pub(super) fn owner_id(field: &str, text: &str) -> Result<Uuid, RpcError> {
    Uuid::parse_str(text)
        .map_err(|_| RpcError::invalid(format!("{field} `{text}` is not a user id")))
}

/// Every `owner_ids` (or `ownerIds`) of the query: repeated, or comma-separated.
pub(super) fn owner_ids(req: &Req) -> Result<Vec<Uuid>, RpcError> {
    let mut owner_ids = Vec::new();
    for (k, v) in &req.query {
        if k == "owner_ids" || k == "ownerIds" {
            for part in v.split(',').filter(|p| !p.is_empty()) {
                owner_ids.push(owner_id("owner_ids", part)?);
            }
        }
    }
    Ok(owner_ids)
}

/// A record as Nakama's `LeaderboardRecord`.
pub fn record_json(s: &Standing) -> Value {
    let mut v = json!({
        "leaderboard_id": s.leaderboard_id,
        "owner_id": s.owner_id.to_string(),
        "username": s.username,
        "score": s.score.to_string(),
        "subscore": s.subscore.to_string(),
        "num_score": s.num_score,
        "max_num_score": s.max_num_score,
        "metadata": Value::Object(s.metadata.clone()).to_string(),
        "create_time": crate::time::rfc3339(s.create_time),
        "update_time": crate::time::rfc3339(s.update_time),
        "rank": s.rank.to_string(),
    });
    if s.expiry_time != 0 {
        v["expiry_time"] = Value::String(crate::time::rfc3339(s.expiry_time));
    }
    v
}

/// A listing as Nakama's `LeaderboardRecordList`.
pub fn list_json(l: &Listing) -> Value {
    let mut v = json!({
        "records": l.records.iter().map(record_json).collect::<Vec<_>>(),
        "owner_records": l.owner_records.iter().map(record_json).collect::<Vec<_>>(),
        "rank_count": l.rank_count.to_string(),
    });
    if let Some(c) = &l.next_cursor {
        v["next_cursor"] = Value::String(c.clone());
    }
    if let Some(c) = &l.prev_cursor {
        v["prev_cursor"] = Value::String(c.clone());
    }
    v
}

pub async fn list(id: String, req: Req) -> Response {
    let id = segment(&id);
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let q = Query {
            limit: limit(&req, leaderboards::MAX_LIMIT)?,
            owner_ids: owner_ids(&req)?,
            cursor: query(&req, "cursor", "cursor").map(str::to_string),
            around: None,
            expiry: int_query(&req, "expiry", "expiry")?,
            viewer: Some(s.user_id),
        };
        let l = leaderboards::read(&req.app, &game, &id, q).await?;
        Ok(json_reply(200, &list_json(&l)))
    }
    .await;
    finish(&app, "leaderboard_list", result)
}

pub async fn around(id: String, owner: String, req: Req) -> Response {
    let id = segment(&id);
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let owner = owner_id("owner_id", &owner)?;
        let q = Query {
            limit: Some(limit(&req, leaderboards::MAX_LIMIT)?.unwrap_or(10)),
            cursor: query(&req, "cursor", "cursor").map(str::to_string),
            around: Some(owner),
            owner_ids: Vec::new(),
            expiry: int_query(&req, "expiry", "expiry")?,
            viewer: Some(s.user_id),
        };
        let l = leaderboards::read(&req.app, &game, &id, q).await?;
        Ok(json_reply(200, &list_json(&l)))
    }
    .await;
    finish(&app, "leaderboard_around", result)
}

/// An int64 as Nakama's JSON carries it: a string, or a number.
fn int64(body: &Map<String, Value>, field: &str) -> Result<i64, RpcError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(t)) if t.is_empty() => Ok(0),
        Some(Value::String(t)) => t
            .trim()
            .parse()
            .map_err(|_| RpcError::invalid(format!("{field} `{t}` is not a 64-bit integer"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| RpcError::invalid(format!("{field} {n} is not a 64-bit integer"))),
        Some(other) => Err(RpcError::invalid(format!(
            "{field} must be an integer, not {}",
            crate::rpc::json_kind(other)
        ))),
    }
}

fn operator(body: &Map<String, Value>) -> Result<Option<Operator>, RpcError> {
    let bad = |t: &str| {
        RpcError::invalid(format!(
            "operator `{t}` is not one of NO_OVERRIDE, BEST, SET, INCREMENT, DECREMENT (0-4)"
        ))
    };
    let code = match body.get("operator") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(&n.to_string()))?,
        Some(Value::String(t)) => match t.to_ascii_uppercase().as_str() {
            "" | "NO_OVERRIDE" => 0,
            "BEST" => 1,
            "SET" => 2,
            "INCREMENT" | "INCR" => 3,
            "DECREMENT" | "DECR" => 4,
            _ => return Err(bad(t)),
        },
        Some(other) => return Err(bad(&other.to_string())),
    };
    Ok(match code {
        0 => None,
        1 => Some(Operator::Best),
        2 => Some(Operator::Set),
        3 => Some(Operator::Incr),
        4 => Some(Operator::Decr),
        n => return Err(bad(&n.to_string())),
    })
}

/// A Nakama `LeaderboardRecordWrite` (also a tournament's `TournamentRecordWrite`).
pub(super) fn submission(body: Value) -> Result<Submission, RpcError> {
    let Value::Object(m) = body else {
        return Err(RpcError::invalid(format!(
            "the request body must be a JSON object, not {}",
            crate::rpc::json_kind(&body)
        )));
    };
    let metadata = match m.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.is_empty() => None,
        Some(Value::String(t)) => match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(o)) => Some(o),
            _ => {
                return Err(RpcError::invalid(
                    "metadata must be a JSON object (as text)",
                ))
            }
        },
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => {
            return Err(RpcError::invalid(
                "metadata must be a JSON object (as text)",
            ))
        }
    };
    Ok(Submission {
        score: int64(&m, "score")?,
        subscore: int64(&m, "subscore")?,
        metadata,
        operator: operator(&m)?,
    })
}

pub async fn write(id: String, req: Req) -> Response {
    let id = segment(&id);
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let sub = submission(json_body(&req.body)?)?;
        let record =
            leaderboards::submit(&req.app, &game, &id, s.user_id, sub, Submitter::Player).await?;
        Ok(json_reply(200, &record_json(&record)))
    }
    .await;
    finish(&app, "leaderboard_write", result)
}

pub async fn delete(id: String, req: Req) -> Response {
    let id = segment(&id);
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        leaderboards::delete_record(&req.app, &game, &id, s.user_id, Submitter::Player).await?;
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "leaderboard_delete_record", result)
}
