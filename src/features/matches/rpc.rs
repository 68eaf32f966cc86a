use serde::{Deserialize, Serialize};

use super::{directory, LiveMatch, MatchResult, NewMatch, Presence, RealtimeStats, Suspicion};
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{RpcContext, RpcError};
use crate::store::encode_cursor;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    mode: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    params: serde_json::Value,
    #[serde(default)]
    private: bool,
}

/// What a QUIC client needs to join: where, which match, and a single-use ticket.
#[derive(Serialize)]
pub struct RoomReply {
    match_id: String,
    mode: String,
    label: String,
    host: String,
    port: u16,
    alpn: String,
    ticket: String,
    /// Unix milliseconds.
    ticket_expires_at: i64,
    private: bool,
}

fn room_reply(
    ctx: &RpcContext,
    game: crate::store::GameId,
    m: &LiveMatch,
    user: UserId,
) -> Result<RoomReply, RpcError> {
    let dir = directory(&ctx.app)?;
    let ticket = dir.ticket(game, &m.match_id, user)?;
    let endpoint = dir.endpoint();
    Ok(RoomReply {
        match_id: m.match_id.clone(),
        mode: m.mode.clone(),
        label: m.label.clone(),
        host: endpoint.host,
        port: endpoint.port,
        alpn: endpoint.alpn,
        ticket: ticket.ticket,
        ticket_expires_at: ticket.expires_at,
        private: m.private,
    })
}

pub async fn room_create(ctx: RpcContext, req: CreateRequest) -> Result<RoomReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let dir = directory(&ctx.app)?;
    let m = dir.create(NewMatch {
        game: game.id(),
        mode: req.mode,
        label: req.label,
        params: req.params,
        private: req.private,
        creator: Some(user),
    })?;
    room_reply(&ctx, game.id(), &m, user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    match_id: String,
}

pub async fn room_join(ctx: RpcContext, req: JoinRequest) -> Result<RoomReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let dir = directory(&ctx.app)?;
    let m = dir
        .find(game.id(), &req.match_id)
        .ok_or_else(|| RpcError::NotFound(format!("match_id: no live match {}", req.match_id)))?;
    room_reply(&ctx, game.id(), &m, user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct ListReply {
    rooms: Vec<LiveMatch>,
    host: String,
    port: u16,
}

pub async fn room_list(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let dir = directory(&ctx.app)?;
    let endpoint = dir.endpoint();
    Ok(ListReply {
        rooms: dir.list(game.id(), req.mode.as_deref(), req.label.as_deref(), limit),
        host: endpoint.host,
        port: endpoint.port,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetResultRequest {
    game_id: String,
    match_id: String,
}

#[derive(Serialize)]
pub struct ResultReply {
    result: MatchResult,
}

pub async fn get_result(ctx: RpcContext, req: GetResultRequest) -> Result<ResultReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let result = super::load_result(&game, &req.match_id)?.ok_or_else(|| {
        RpcError::NotFound(format!("match_id: no finished match {}", req.match_id))
    })?;
    Ok(ResultReply { result })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct HistoryReply {
    matches: Vec<MatchResult>,
    /// Pass back for the next page (which may be empty); absent when this page was not full.
    cursor: Option<String>,
}

pub async fn list_history(ctx: RpcContext, req: HistoryRequest) -> Result<HistoryReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    // Players read their own history; servers and admins any player's or the whole game's.
    let user = if ctx.is_trusted() {
        req.user_id
    } else {
        Some(ctx.user(req.user_id)?)
    };
    let limit = paging::limit(req.limit, 20)?;
    let before = paging::start(req.cursor.as_deref())?;
    let (matches, next) = super::list_results(&game, user, limit, before.as_deref())?;
    Ok(HistoryReply {
        matches,
        cursor: next.as_deref().map(encode_cursor),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    game_id: String,
    #[serde(default)]
    user_ids: Vec<UserId>,
}

#[derive(Serialize)]
pub struct PresenceReply {
    presences: Vec<Presence>,
}

pub async fn presence_list(
    ctx: RpcContext,
    req: PresenceRequest,
) -> Result<PresenceReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.user_ids.len() > 1000 {
        return Err(RpcError::invalid("user_ids: at most 1000"));
    }
    let dir = directory(&ctx.app)?;
    Ok(PresenceReply {
        presences: dir.presences(game.id(), &req.user_ids),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspiciousRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct SuspiciousReply {
    activities: Vec<Suspicion>,
}

pub async fn list_suspicious(
    ctx: RpcContext,
    req: SuspiciousRequest,
) -> Result<SuspiciousReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit_up_to(req.limit, 100, 1000)?;
    Ok(SuspiciousReply {
        activities: super::list_suspicions(&game, req.user_id, limit)?,
    })
}

#[derive(Deserialize)]
pub struct StatsRequest {
    /// Filled in from the session by the registry; stats are for the whole node.
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
    /// Start the tick histograms afresh after reading.
    #[serde(default)]
    reset: bool,
}

#[derive(Serialize)]
pub struct StatsReply {
    realtime: RealtimeStats,
}

pub async fn realtime_stats(ctx: RpcContext, req: StatsRequest) -> Result<StatsReply, RpcError> {
    Ok(StatsReply {
        realtime: directory(&ctx.app)?.stats(req.reset),
    })
}
