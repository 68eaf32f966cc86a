//! Nakama's tournament REST API over the tournaments feature, acting on the session's game
//! (`vars.game_id`, else the server's default game), with Nakama's shapes (int64 as
//! strings, uint32 as numbers, enums as numbers, RFC 3339 times, snake_case; camelCase
//! query names accepted; unknown body fields ignored):
//! - `GET /v2/tournament?category_start=&category_end=&start_time=&end_time=&limit=&cursor=`
//!   → `TournamentList` (`tournaments`, `cursor`): by default only tournaments still to come
//!   or running;
//! - `POST /v2/tournament/{id}/join` → `{}`;
//! - `PUT` and `POST /v2/tournament/{id}` with a `TournamentRecordWrite`
//!   (`score`, `subscore`, `metadata`, `operator`) → the `LeaderboardRecord` with its rank;
//! - `GET /v2/tournament/{id}?owner_ids=&limit=&cursor=&expiry=` → `TournamentRecordList`;
//! - `GET /v2/tournament/{id}/owner/{owner_id}?limit=&cursor=&expiry=` → the page around
//!   that owner.
//!
//! Each route is admitted as the tournament RPC it stands for (`tournament_list_active`,
//! `tournament_join`, `tournament_submit_score`, `tournament_get_leaderboard`: caller class
//! and rate-limit class from the registry). Records are the leaderboard REST's JSON.

use serde_json::{json, Value};
use uuid::Uuid;
use warp::reply::Response;

use super::leaderboard::{int_query, limit, list_json, owner_id, owner_ids, query, record_json};
use super::request::{finish, json_body, json_reply, Req};
use super::storage::open;
use crate::features::leaderboards::{self, LeaderboardError, Query};
use crate::features::paging;
use crate::features::tournaments::model::{Operator, SortOrder, State, Tournament};
use crate::features::tournaments::{self, lifecycle, rpc as trpc, rules};
use crate::rpc::RpcError;

/// Nakama's limit on tournament listings and record pages.
const MAX_LIMIT: u32 = 100;

/// A tournament id from the path: an unknown one is 404, as Nakama answers.
fn tournament_id(text: &str) -> Result<Uuid, RpcError> {
    Uuid::parse_str(text)
        .map_err(|_| RpcError::NotFound(format!("tournament_id: no tournament `{text}`")))
}

/// A tournament as Nakama's `Tournament` message. `can_enter` says whether the caller
/// could join now; `end_active` is when scores stop being taken.
fn tournament_json(t: &Tournament, now: i64) -> Value {
    json!({
        "id": t.id.to_string(),
        "title": t.title,
        "description": t.description,
        "category": t.category,
        "sort_order": match t.sort_order { SortOrder::Asc => 0, SortOrder::Desc => 1 },
        "size": t.players,
        "max_size": t.max_players,
        "max_num_score": 0,
        "can_enter": t.accepts_joins(now),
        "end_active": t.window_ends_at().max(0),
        "next_reset": t.ends_at.max(0),
        "metadata": Value::Object(t.metadata.clone()).to_string(),
        "create_time": crate::time::rfc3339(t.created_at),
        "start_time": crate::time::rfc3339(t.starts_at),
        "end_time": crate::time::rfc3339(t.ends_at),
        "duration": (t.ends_at - t.starts_at).max(0),
        "start_active": t.starts_at.max(0),
        "prev_reset": 0,
        // Nakama's Operator enum, as numbers (BEST 1, SET 2, INCREMENT 3).
        "operator": match t.operator {
            Operator::Best => 1,
            Operator::Set => 2,
            Operator::Incr => 3,
        },
        "authoritative": false,
        "join_required": true,
    })
}

/// A uint32 query value (Nakama's `UInt32Value`), by its snake_case or camelCase name.
fn uint_query(req: &Req, snake: &str, camel: &str) -> Result<Option<i64>, RpcError> {
    match int_query(req, snake, camel)? {
        Some(n) if !(0..=u32::MAX as i64).contains(&n) => Err(RpcError::invalid(format!(
            "{snake} must be between 0 and {}, not {n}",
            u32::MAX
        ))),
        other => Ok(other),
    }
}

/// `GET /v2/tournament`: as Nakama filters — categories `category_start..=category_end`
/// (0–127), a start at or after `start_time`; without `end_time` only tournaments still to
/// come or running, with it those ending by then (0: those without an end, none here).
pub async fn list(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (_, game) = open(&req)?;
        let lo = uint_query(&req, "category_start", "categoryStart")?.unwrap_or(0);
        let end = uint_query(&req, "category_end", "categoryEnd")?;
        let hi = end.unwrap_or(rules::MAX_CATEGORY as i64);
        if hi > rules::MAX_CATEGORY as i64 {
            return Err(RpcError::invalid(format!(
                "category_end must be between 0 and {}, not {hi}",
                rules::MAX_CATEGORY
            )));
        }
        // As Nakama: the order is checked only when both were given; a start above every
        // category simply matches none.
        if end.is_some() && hi < lo {
            return Err(RpcError::invalid(format!(
                "category_end ({hi}) must not be below category_start ({lo})"
            )));
        }
        let from = uint_query(&req, "start_time", "startTime")?;
        let to = uint_query(&req, "end_time", "endTime")?;
        if let (Some(f), Some(t)) = (from, to) {
            if t != 0 && t < f {
                return Err(RpcError::invalid(format!(
                    "end_time ({t}) must not be before start_time ({f})"
                )));
            }
        }
        let limit = paging::limit(limit(&req, MAX_LIMIT)?, MAX_LIMIT)?;
        let now = game.now();
        let (ts, cursor) = trpc::page(&game, limit, query(&req, "cursor", "cursor"), |t| {
            (lo..=hi).contains(&(t.category as i64))
                && from.is_none_or(|f| t.starts_at >= f)
                && match to {
                    None => t.state < State::Ended && t.ends_at > now,
                    // Every tournament here has an end time.
                    Some(0) => false,
                    Some(to) => t.ends_at <= to,
                }
        })?;
        let mut body = json!({
            "tournaments": ts.iter().map(|t| tournament_json(t, now)).collect::<Vec<_>>(),
        });
        if let Some(c) = cursor {
            body["cursor"] = Value::String(c);
        }
        Ok(json_reply(200, &body))
    }
    .await;
    finish(&app, "tournament_list", result)
}

/// `POST /v2/tournament/{id}/join`: the join of `tournament_join` (fee in the same
/// transaction); joining again is harmless.
pub async fn join(id: String, req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let id = tournament_id(&id)?;
        let name = trpc::username(&req.app, s.user_id);
        lifecycle::join(&game, id, s.user_id, &name, None).await?;
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "tournament_join", result)
}

/// `PUT`/`POST /v2/tournament/{id}`: a score into a running score window the caller joined.
pub async fn write(id: String, req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let (s, game) = open(&req)?;
        let id = tournament_id(&id)?;
        let submission = super::leaderboard::submission(json_body(&req.body)?)?;
        let record = lifecycle::submit_score(&req.app, &game, id, s.user_id, submission).await?;
        Ok(json_reply(200, &record_json(&record)))
    }
    .await;
    finish(&app, "tournament_write", result)
}

/// The records of a tournament's score window: empty before it opens, and for a bracket
/// tournament (its standings come from `tournament_get_leaderboard`).
async fn records(req: &Req, id: &str, around: Option<Uuid>) -> Result<Response, RpcError> {
    let (s, game) = open(req)?;
    let t = tournaments::get(&game, tournament_id(id)?)?;
    let owner_ids = match around {
        Some(_) => Vec::new(),
        None => owner_ids(req)?,
    };
    let cursor = query(req, "cursor", "cursor").map(str::to_string);
    let asked = limit(req, MAX_LIMIT)?;
    // Nakama's defaults: 100 around an owner; else 10, unless owners are asked for with a
    // cursor.
    let limit = match (asked, around) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => Some(MAX_LIMIT),
        (None, None) if owner_ids.is_empty() || cursor.is_none() => Some(10),
        (None, None) => None,
    };
    let q = Query {
        limit,
        cursor,
        around,
        owner_ids,
        // A tournament's records expire at its end (Nakama's `expiry_time`, which is the
        // `next_reset` clients pass back): that is its only period, not an archived one.
        expiry: int_query(req, "expiry", "expiry")?.filter(|e| *e != t.ends_at),
        viewer: Some(s.user_id),
    };
    let listing = if t.is_leaderboard() {
        match leaderboards::read(&req.app, &game, &tournaments::board_id(t.id), q).await {
            Ok(l) => l,
            // The window has not opened: nobody ranked yet.
            Err(LeaderboardError::NotFound(_)) => Default::default(),
            Err(e) => return Err(e.into()),
        }
    } else {
        Default::default()
    };
    let mut listing = listing;
    for r in listing
        .records
        .iter_mut()
        .chain(listing.owner_records.iter_mut())
    {
        if r.expiry_time == 0 {
            r.expiry_time = t.ends_at;
        }
    }
    Ok(json_reply(200, &list_json(&listing)))
}

/// `GET /v2/tournament/{id}`.
pub async fn list_records(id: String, req: Req) -> Response {
    let app = req.app.clone();
    let result = records(&req, &id, None).await;
    finish(&app, "tournament_records", result)
}

/// `GET /v2/tournament/{id}/owner/{owner_id}`.
pub async fn around_owner(id: String, owner: String, req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let owner = owner_id("owner_id", &owner)?;
        records(&req, &id, Some(owner)).await
    }
    .await;
    finish(&app, "tournament_records_around_owner", result)
}
