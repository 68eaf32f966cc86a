use serde::{Deserialize, Serialize};

use super::{
    directory, Access, LiveMatch, MatchPlayer, MatchResult, NewMatch, Presence, RealtimeStats,
    Suspicion,
};
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
    /// Users invited to a private room (the creator always is).
    #[serde(default)]
    invite: Vec<UserId>,
}

/// Most users one `room_create` may invite.
const MAX_INVITES: usize = 64;

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
    /// A private room's join code, for its creator to share: `room_join` with it lets anyone
    /// in. Only in the `room_create` reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    join_code: Option<String>,
}

fn room_reply(
    ctx: &RpcContext,
    game: crate::store::GameId,
    m: &LiveMatch,
    user: UserId,
    join_code: Option<&str>,
) -> Result<RoomReply, RpcError> {
    let dir = directory(&ctx.app)?;
    let ticket = dir.ticket_for_player(game, &m.match_id, user, join_code)?;
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
        join_code: None,
    })
}

pub async fn room_create(ctx: RpcContext, req: CreateRequest) -> Result<RoomReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.invite.len() > MAX_INVITES {
        return Err(RpcError::invalid(format!(
            "invite: at most {MAX_INVITES} users"
        )));
    }
    if !req.private && !req.invite.is_empty() {
        return Err(RpcError::invalid(
            "invite: only a private room takes invitations (set private: true)",
        ));
    }
    let dir = directory(&ctx.app)?;
    let (m, join_code) = dir.create_with(
        NewMatch {
            game: game.id(),
            mode: req.mode,
            label: req.label,
            params: req.params,
            private: req.private,
            creator: Some(user),
        },
        Access {
            creator_ip: ctx.client_ip(),
            invited: req.invite,
            player_made: true,
        },
    )?;
    let mut reply = room_reply(&ctx, game.id(), &m, user, None)?;
    reply.join_code = join_code;
    Ok(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    match_id: String,
    /// A private room's join code (not needed when invited).
    #[serde(default)]
    join_code: Option<String>,
}

pub async fn room_join(ctx: RpcContext, req: JoinRequest) -> Result<RoomReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let dir = directory(&ctx.app)?;
    let m = dir
        .find(game.id(), &req.match_id)
        .ok_or_else(|| RpcError::NotFound(format!("match_id: no live match {}", req.match_id)))?;
    room_reply(&ctx, game.id(), &m, user, req.join_code.as_deref())
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
    // Players do not learn the ids of private matches they are not in; servers and admins
    // see everything.
    let presences = match ctx.caller {
        crate::rpc::Caller::Player(ref s) => {
            dir.presences_seen_by(game.id(), &req.user_ids, s.user_id)
        }
        _ => dir.presences(game.id(), &req.user_ids),
    };
    Ok(PresenceReply { presences })
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
#[serde(deny_unknown_fields)]
pub struct LiveRequest {
    game_id: String,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize)]
pub struct LiveEntry {
    #[serde(flatten)]
    live: LiveMatch,
    players: Vec<MatchPlayer>,
}

#[derive(Serialize)]
pub struct LiveReply {
    matches: Vec<LiveEntry>,
}

/// Every live match of the game, private and full ones included, with its players.
pub async fn list_live(ctx: RpcContext, req: LiveRequest) -> Result<LiveReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit_up_to(req.limit, 100, 1000)?;
    let matches = directory(&ctx.app)?
        .all(game.id(), limit)
        .into_iter()
        .map(|(live, players)| LiveEntry { live, players })
        .collect();
    Ok(LiveReply { matches })
}

/// Longest reason an admin gives for ending a match.
const MAX_END_REASON: usize = 256;
/// How long `match_end` waits for the match to close before answering anyway.
const END_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    game_id: String,
    match_id: String,
    reason: String,
}

#[derive(Serialize)]
pub struct EndReply {
    #[serde(rename = "match")]
    ended: LiveMatch,
    /// False when the match had not closed within a few seconds (it still will).
    closed: bool,
    /// What was stored, for a mode that keeps score.
    result: Option<MatchResult>,
}

/// An admin ends a live match now: players get `match_end` (modes that keep score) and
/// `match_left` with the reason; the result is stored as for any match end. Audited.
pub async fn end(ctx: RpcContext, req: EndRequest) -> Result<EndReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(RpcError::invalid(
            "reason: say why the match is ended (players see it)",
        ));
    }
    if reason.chars().count() > MAX_END_REASON || reason.chars().any(char::is_control) {
        return Err(RpcError::invalid(format!(
            "reason: at most {MAX_END_REASON} characters, no control characters"
        )));
    }
    let (ended, closing) = directory(&ctx.app)?.end(game.id(), &req.match_id, reason)?;
    crate::features::moderation::audit::record(
        &ctx.app.store,
        &crate::features::moderation::actor(&ctx.caller),
        "match_end",
        &req.match_id,
        &format!(
            "game {}, {} with {} player(s): {reason}",
            game.id(),
            ended.mode,
            ended.size
        ),
    )?;
    let closed = matches!(tokio::time::timeout(END_WAIT, closing).await, Ok(Ok(())));
    let result = super::load_result(&game, &ended.match_id)?;
    Ok(EndReply {
        ended,
        closed,
        result,
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
