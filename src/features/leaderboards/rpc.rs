//! The leaderboard RPCs: thin requests over the feature's public functions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{Board, Definition, Listing, Operator, Period, Standing, Submission};
use super::{Entry, Query, Submitter};
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{decode, RpcContext, RpcError};

/// Most submissions in one `batch_leaderboard_submissions`.
pub const MAX_BATCH: usize = 50;

/// A board as the RPCs show it.
#[derive(Serialize)]
pub struct BoardReply {
    #[serde(flatten)]
    definition: Definition,
    created_at: i64,
    /// When the current period ends (0: never).
    expiry: i64,
    period_started_at: i64,
    /// Finished periods, newest first: read one with `expiry`.
    archived: Vec<Period>,
}

impl From<Board> for BoardReply {
    fn from(b: Board) -> Self {
        let mut archived = b.archived;
        archived.reverse();
        BoardReply {
            definition: b.definition,
            created_at: b.created_at,
            expiry: b.expiry,
            period_started_at: b.period_started_at,
            archived,
        }
    }
}

#[derive(Serialize)]
pub struct LeaderboardReply {
    leaderboard: BoardReply,
}

fn game_id(payload: &mut Value) -> Result<String, RpcError> {
    let m = payload
        .as_object_mut()
        .ok_or_else(|| RpcError::invalid("payload must be a JSON object"))?;
    match m.remove("game_id") {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RpcError::invalid("game_id: must be a string")),
        None => Err(RpcError::invalid("game_id is required")),
    }
}

/// `leaderboard_create` (admin): the payload is a [`Definition`] plus `game_id`.
pub async fn create(ctx: RpcContext, mut payload: Value) -> Result<LeaderboardReply, RpcError> {
    let game = ctx.game(&game_id(&mut payload)?)?;
    if let Some(m) = payload.as_object_mut() {
        if let Some(id) = m.remove("leaderboard_id") {
            m.entry("id").or_insert(id);
        }
    }
    let def: Definition = decode(payload)?;
    let b = super::create(&ctx.app, &game, def).await?;
    Ok(LeaderboardReply {
        leaderboard: b.into(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    leaderboards: Vec<BoardReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub async fn list(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let (boards, cursor) = super::boards(&game, limit, req.cursor.as_deref())?;
    Ok(ListReply {
        leaderboards: boards.into_iter().map(Into::into).collect(),
        cursor,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardRequest {
    game_id: String,
    leaderboard_id: String,
}

pub async fn delete(ctx: RpcContext, req: BoardRequest) -> Result<LeaderboardReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let b = super::delete(&ctx.app, &game, &req.leaderboard_id).await?;
    Ok(LeaderboardReply {
        leaderboard: b.into(),
    })
}

pub async fn archive(ctx: RpcContext, req: BoardRequest) -> Result<LeaderboardReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let b = super::archive(&ctx.app, &game, &req.leaderboard_id).await?;
    Ok(LeaderboardReply {
        leaderboard: b.into(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HideRequest {
    game_id: String,
    leaderboard_id: String,
    owner_id: UserId,
}

#[derive(Serialize)]
pub struct HideReply {
    leaderboard_id: String,
    owner_id: UserId,
    hidden: bool,
    /// False when the owner already was in that state.
    changed: bool,
}

async fn set_hidden(
    ctx: RpcContext,
    req: HideRequest,
    hidden: bool,
) -> Result<HideReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let owner = ctx
        .user(Some(req.owner_id))
        .map_err(|e| e.within("owner_id"))?;
    let changed = super::set_hidden(
        &ctx.app,
        &game,
        &req.leaderboard_id,
        owner,
        hidden,
        &ctx.caller.describe(),
    )
    .await?;
    if changed {
        crate::features::moderation::audit::record(
            &ctx.app.store,
            &crate::features::moderation::actor(&ctx.caller),
            if hidden {
                "leaderboard_hide_owner"
            } else {
                "leaderboard_unhide_owner"
            },
            &owner.to_string(),
            &format!("game {}, leaderboard {}", game.id(), req.leaderboard_id),
        )?;
    }
    Ok(HideReply {
        leaderboard_id: req.leaderboard_id,
        owner_id: owner,
        hidden,
        changed,
    })
}

pub async fn hide(ctx: RpcContext, req: HideRequest) -> Result<HideReply, RpcError> {
    set_hidden(ctx, req, true).await
}

pub async fn unhide(ctx: RpcContext, req: HideRequest) -> Result<HideReply, RpcError> {
    set_hidden(ctx, req, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    game_id: String,
    leaderboard_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    score: i64,
    #[serde(default)]
    subscore: i64,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    operator: Option<Operator>,
}

#[derive(Serialize)]
pub struct SubmitReply {
    record: Standing,
}

fn submitter(ctx: &RpcContext) -> Submitter {
    if ctx.is_trusted() {
        Submitter::Server
    } else {
        Submitter::Player
    }
}

pub async fn submit(ctx: RpcContext, req: SubmitRequest) -> Result<SubmitReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let owner = ctx.user(req.user_id)?;
    let s = Submission {
        score: req.score,
        subscore: req.subscore,
        metadata: req.metadata,
        operator: req.operator,
    };
    let record = super::submit(
        &ctx.app,
        &game,
        &req.leaderboard_id,
        owner,
        s,
        submitter(&ctx),
    )
    .await?;
    Ok(SubmitReply { record })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    game_id: String,
    submissions: Vec<BatchSubmission>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSubmission {
    leaderboard_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    score: i64,
    #[serde(default)]
    subscore: i64,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    operator: Option<Operator>,
}

#[derive(Serialize)]
pub struct BatchReply {
    /// One record per submission, in the order given.
    results: Vec<Standing>,
}

/// `batch_leaderboard_submissions`: several scores (boards, and for servers owners), all
/// applied in one transaction or none.
pub async fn batch_submit(ctx: RpcContext, req: BatchRequest) -> Result<BatchReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.submissions.is_empty() || req.submissions.len() > MAX_BATCH {
        return Err(RpcError::invalid(format!(
            "submissions must hold 1 to {MAX_BATCH} scores"
        )));
    }
    let mut entries = Vec::with_capacity(req.submissions.len());
    for (i, s) in req.submissions.into_iter().enumerate() {
        let owner = ctx
            .user(s.user_id)
            .map_err(|e| e.within(&format!("submissions[{i}]")))?;
        super::rules::check_id(&s.leaderboard_id)
            .map_err(|e| RpcError::from(e).within(&format!("submissions[{i}]")))?;
        entries.push(Entry {
            leaderboard_id: s.leaderboard_id,
            owner,
            submission: Submission {
                score: s.score,
                subscore: s.subscore,
                metadata: s.metadata,
                operator: s.operator,
            },
        });
    }
    let results = super::submit_many(&ctx.app, &game, entries, submitter(&ctx)).await?;
    Ok(BatchReply { results })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    game_id: String,
    leaderboard_id: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
    /// A page centred on the caller (or on `user_id` for server callers).
    #[serde(default)]
    around_me: bool,
    #[serde(default)]
    owner_ids: Vec<UserId>,
    #[serde(default)]
    expiry: Option<i64>,
    #[serde(default)]
    user_id: Option<UserId>,
}

pub async fn get(ctx: RpcContext, req: GetRequest) -> Result<Listing, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let me = match (req.around_me, req.user_id) {
        (true, _) | (false, Some(_)) => Some(ctx.user(req.user_id)?),
        (false, None) => ctx.self_id(),
    };
    let q = Query {
        limit: req.limit,
        cursor: req.cursor,
        around: if req.around_me { me } else { None },
        owner_ids: req.owner_ids,
        expiry: req.expiry,
        viewer: if ctx.is_trusted() {
            None
        } else {
            ctx.self_id()
        },
    };
    Ok(super::read(&ctx.app, &game, &req.leaderboard_id, q).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankRequest {
    game_id: String,
    leaderboard_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    expiry: Option<i64>,
}

#[derive(Serialize)]
pub struct RankReply {
    /// 1-based; null when the owner has no record in the period.
    rank: Option<u64>,
    record: Option<Standing>,
    rank_count: u64,
}

pub async fn get_rank(ctx: RpcContext, req: RankRequest) -> Result<RankReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let owner = ctx.user(req.user_id)?;
    let q = Query {
        owner_ids: vec![owner],
        expiry: req.expiry,
        viewer: if ctx.is_trusted() {
            None
        } else {
            ctx.self_id()
        },
        ..Default::default()
    };
    let mut l = super::read(&ctx.app, &game, &req.leaderboard_id, q).await?;
    let record = l.owner_records.pop();
    Ok(RankReply {
        rank: record.as_ref().map(|r| r.rank),
        record,
        rank_count: l.rank_count,
    })
}
