//! The tournament RPCs: thin handlers over [`super::lifecycle`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::formats::{Bracket, BracketFormat, Match, MatchStatus, Placement, Report, SeedBy, Slot};
use super::lifecycle::{self, Joined};
use super::model::{Operator, Prize, Recurrence, SortOrder, Stage, StageFormat, State, Tournament};
use super::rooms::{self, RoomPlan};
use super::{board_id, bracket, entries, entry, get, rules, TournamentError, BY_USER, TOURNAMENTS};
use crate::app::App;
use crate::auth::UserId;
use crate::features::leaderboards::{self, Query, Submission};
use crate::features::paging;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::{Granted, Reward};
use crate::features::wallet::Amounts;
use crate::rpc::{RpcContext, RpcError};
use crate::store::{GameStore, Key};

/// A moment as a request gives it: Unix seconds or RFC 3339 text.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub enum When {
    Unix(i64),
    Text(String),
}

impl When {
    fn unix(&self, field: &str) -> Result<i64, RpcError> {
        match self {
            When::Unix(n) => Ok(*n),
            When::Text(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp())
                .map_err(|_| {
                    RpcError::invalid(format!(
                        "{field} must be Unix seconds or RFC 3339 text, not `{t}`"
                    ))
                }),
        }
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FormatName {
    Leaderboard,
    SingleElimination,
    DoubleElimination,
    RoundRobin,
    Swiss,
}

fn stage_format(f: FormatName, third_place: bool, rounds: Option<u32>) -> StageFormat {
    match f {
        FormatName::Leaderboard => StageFormat::Leaderboard,
        FormatName::SingleElimination => {
            StageFormat::Bracket(BracketFormat::SingleElimination { third_place })
        }
        FormatName::DoubleElimination => StageFormat::Bracket(BracketFormat::DoubleElimination),
        FormatName::RoundRobin => StageFormat::Bracket(BracketFormat::RoundRobin),
        FormatName::Swiss => StageFormat::Bracket(BracketFormat::Swiss { rounds }),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    format: FormatName,
    #[serde(default)]
    third_place: bool,
    #[serde(default)]
    rounds: Option<u32>,
    #[serde(default)]
    advance: Option<u32>,
    /// A leaderboard first stage followed by brackets: how long its window lasts (`2h`).
    #[serde(default)]
    duration: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrizeRequest {
    #[serde(default)]
    rank: Option<u32>,
    #[serde(default)]
    from: Option<u32>,
    #[serde(default)]
    to: Option<u32>,
    reward: Reward,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    game_id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: u32,
    /// One stage in this format (with `third_place`, `rounds`); or `stages`.
    #[serde(default)]
    format: Option<FormatName>,
    #[serde(default)]
    third_place: bool,
    #[serde(default)]
    rounds: Option<u32>,
    #[serde(default)]
    stages: Option<Vec<StageRequest>>,
    #[serde(default)]
    seed_by: SeedBy,
    #[serde(default)]
    entry_fee: Amounts,
    #[serde(default)]
    max_players: Option<u32>,
    #[serde(default)]
    prizes: Vec<PrizeRequest>,
    #[serde(default)]
    sort_order: SortOrder,
    #[serde(default)]
    operator: Operator,
    #[serde(default)]
    registration_time: Option<When>,
    #[serde(default)]
    start_time: Option<When>,
    #[serde(default)]
    end_time: Option<When>,
    /// Instead of `start_time`: a duration from now (`30m`, `2h`).
    #[serde(default)]
    starts_in: Option<String>,
    /// Instead of `end_time`: a duration from the start.
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    recurrence: Option<Recurrence>,
    #[serde(default)]
    metadata: Map<String, Value>,
    /// Bracket matches as QUIC rooms: `{mode, params?}`.
    #[serde(default)]
    rooms: Option<RoomPlan>,
}

/// A tournament as clients see it.
#[derive(Serialize)]
pub struct TournamentView {
    tournament_id: Uuid,
    title: String,
    description: String,
    category: u32,
    format: &'static str,
    stages: Vec<Value>,
    stage: usize,
    seed_by: SeedBy,
    entry_fee: Amounts,
    max_players: u32,
    players: u32,
    prizes: Vec<Prize>,
    state: &'static str,
    registration_time: String,
    start_time: String,
    end_time: String,
    registration_at: i64,
    starts_at: i64,
    ends_at: i64,
    recurrence: Option<Recurrence>,
    instance: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_instance: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<Placement>,
    metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rooms: Option<RoomPlan>,
}

pub fn view(t: &Tournament) -> TournamentView {
    TournamentView {
        tournament_id: t.id,
        title: t.title.clone(),
        description: t.description.clone(),
        category: t.category,
        format: t
            .stages
            .first()
            .map(|s| s.format.name())
            .unwrap_or("leaderboard"),
        stages: t
            .stages
            .iter()
            .map(|s| {
                let mut v = json!({ "format": s.format.name() });
                if let StageFormat::Bracket(BracketFormat::SingleElimination { third_place }) =
                    &s.format
                {
                    v["third_place"] = (*third_place).into();
                }
                if let StageFormat::Bracket(BracketFormat::Swiss { rounds: Some(r) }) = &s.format {
                    v["rounds"] = (*r).into();
                }
                if let Some(a) = s.advance {
                    v["advance"] = a.into();
                }
                if let Some(d) = s.duration {
                    v["duration"] = d.into();
                }
                v
            })
            .collect(),
        stage: t.stage,
        seed_by: t.seed_by,
        entry_fee: t.entry_fee.clone(),
        max_players: t.max_players,
        players: t.players,
        prizes: t.prizes.clone(),
        state: t.state.as_str(),
        registration_time: crate::time::rfc3339(t.registration_at),
        start_time: crate::time::rfc3339(t.starts_at),
        end_time: crate::time::rfc3339(t.ends_at),
        registration_at: t.registration_at,
        starts_at: t.starts_at,
        ends_at: t.ends_at,
        recurrence: t.recurrence,
        instance: t.instance,
        next_instance: t.next_instance,
        ended_by: t.ended_by.clone(),
        results: t.results.clone(),
        metadata: t.metadata.clone(),
        rooms: t.rooms.clone(),
    }
}

#[derive(Serialize)]
pub struct TournamentReply {
    tournament: TournamentView,
}

fn duration(field: &str, text: &str) -> Result<i64, RpcError> {
    crate::time::parse_duration(text).map_err(|e| RpcError::invalid(format!("{field}: {e}")))
}

/// Checks a create request and builds the tournament it describes.
pub fn definition(req: CreateRequest, now: i64) -> Result<Tournament, RpcError> {
    check_name("title", &req.title)?;
    check_text("title", &req.title, 128)?;
    check_text("description", &req.description, 1024)?;
    if req.category > rules::MAX_CATEGORY {
        return Err(RpcError::invalid(format!(
            "category must be between 0 and {}, not {}",
            rules::MAX_CATEGORY,
            req.category
        )));
    }
    let stages: Vec<Stage> = match (req.format, req.stages) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid(
                "format: give either `format` (one stage) or `stages`, not both",
            ))
        }
        (None, Some(list)) => {
            if req.third_place || req.rounds.is_some() {
                return Err(RpcError::invalid(
                    "third_place and rounds go inside each of `stages`",
                ));
            }
            list.into_iter()
                .enumerate()
                .map(|(i, s)| -> Result<Stage, RpcError> {
                    Ok(Stage {
                        format: stage_format(s.format, s.third_place, s.rounds),
                        advance: s.advance,
                        duration: match &s.duration {
                            Some(d) => Some(duration(&format!("stages[{i}].duration"), d)?),
                            None => None,
                        },
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        (f, None) => vec![Stage {
            format: stage_format(
                f.unwrap_or(FormatName::Leaderboard),
                req.third_place,
                req.rounds,
            ),
            advance: None,
            duration: None,
        }],
    };
    rules::check_stages(&stages)?;
    for (c, v) in &req.entry_fee {
        check_name("entry_fee currency", c)?;
        if *v <= 0 {
            return Err(RpcError::invalid(format!(
                "entry_fee.{c} must be positive, not {v}"
            )));
        }
    }
    let max_players = req.max_players.unwrap_or(100);
    if !(2..=rules::MAX_PLAYERS).contains(&max_players) {
        return Err(RpcError::invalid(format!(
            "max_players must be between 2 and {}, not {max_players}",
            rules::MAX_PLAYERS
        )));
    }
    let prizes = req
        .prizes
        .into_iter()
        .enumerate()
        .map(|(i, p)| match (p.rank, p.from, p.to) {
            (Some(r), None, None) => Ok(Prize {
                from: r,
                to: r,
                reward: p.reward,
            }),
            (None, Some(f), to) => Ok(Prize {
                from: f,
                to: to.unwrap_or(f),
                reward: p.reward,
            }),
            _ => Err(RpcError::invalid(format!(
                "prizes[{i}]: give `rank`, or `from` (and `to`)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules::check_prizes(&prizes)?;
    let starts_at = match (&req.start_time, &req.starts_in) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid(
                "start_time: give `start_time` or `starts_in`, not both",
            ))
        }
        (Some(w), None) => w.unix("start_time")?,
        (None, Some(d)) => now + duration("starts_in", d)?,
        (None, None) => {
            return Err(RpcError::invalid(
                "start_time is required (or `starts_in`, a duration from now)",
            ))
        }
    };
    let ends_at = match (&req.end_time, &req.duration) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid(
                "end_time: give `end_time` or `duration`, not both",
            ))
        }
        (Some(w), None) => w.unix("end_time")?,
        (None, Some(d)) => starts_at + duration("duration", d)?,
        (None, None) => {
            return Err(RpcError::invalid(
                "end_time is required (or `duration`, from the start)",
            ))
        }
    };
    let registration_at = match &req.registration_time {
        Some(w) => w.unix("registration_time")?,
        None => now.min(starts_at),
    };
    if registration_at > starts_at {
        return Err(RpcError::invalid(
            "registration_time must not be after start_time",
        ));
    }
    if ends_at <= starts_at {
        return Err(RpcError::invalid("end_time must be after start_time"));
    }
    if ends_at <= now {
        return Err(RpcError::invalid("end_time must be in the future"));
    }
    if let Some(d) = stages[0].duration {
        if starts_at + d >= ends_at {
            return Err(RpcError::invalid(
                "stages[0].duration must end before end_time: the brackets need time to play",
            ));
        }
    }
    if serde_json::to_vec(&req.metadata)
        .map(|v| v.len())
        .unwrap_or(0)
        > 16 * 1024
    {
        return Err(RpcError::invalid("metadata must be at most 16 KiB of JSON"));
    }
    if let Some(plan) = &req.rooms {
        check_name("rooms.mode", &plan.mode)?;
        if !stages
            .iter()
            .any(|s| matches!(s.format, StageFormat::Bracket(_)))
        {
            return Err(RpcError::invalid(
                "rooms: only bracket stages have matches to play in rooms",
            ));
        }
        if serde_json::to_vec(&plan.params)
            .map(|v| v.len())
            .unwrap_or(0)
            > 4 * 1024
        {
            return Err(RpcError::invalid(
                "rooms.params must be at most 4 KiB of JSON",
            ));
        }
    }
    Ok(Tournament {
        id: Uuid::new_v4(),
        title: req.title,
        description: req.description,
        category: req.category,
        stages,
        seed_by: req.seed_by,
        entry_fee: req.entry_fee,
        max_players,
        prizes,
        sort_order: req.sort_order,
        operator: req.operator,
        registration_at,
        starts_at,
        ends_at,
        recurrence: req.recurrence,
        metadata: req.metadata,
        rooms: req.rooms,
        state: if now >= registration_at {
            State::Registration
        } else {
            State::Upcoming
        },
        players: 0,
        stage: 0,
        results: Vec::new(),
        qualifying: Vec::new(),
        ended_by: None,
        ended_at: None,
        next_instance: None,
        instance: 1,
        join_seq: 0,
        created_at: now,
    })
}

pub async fn create(ctx: RpcContext, req: CreateRequest) -> Result<TournamentReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let t = definition(req, game.now())?;
    game.tree(TOURNAMENTS)?
        .insert(super::tournament_key(t.id), &t)?;
    lifecycle::schedule_steps(&game, &t)?;
    game.durable().await?;
    Ok(TournamentReply {
        tournament: view(&t),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdRequest {
    game_id: String,
    tournament_id: Uuid,
}

pub async fn end_now(ctx: RpcContext, req: IdRequest) -> Result<TournamentReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let t = lifecycle::end(&ctx.app, &game, req.tournament_id, "admin").await?;
    crate::features::moderation::audit::record(
        &ctx.app.store,
        &crate::features::moderation::actor(&ctx.caller),
        "tournament_end_now",
        &req.tournament_id.to_string(),
        &format!("game {}, {}", game.id(), t.title),
    )?;
    Ok(TournamentReply {
        tournament: view(&t),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    game_id: String,
    tournament_id: Uuid,
    #[serde(default)]
    user_id: Option<UserId>,
    /// Server callers only: the player's rating, for seeding by rating.
    #[serde(default)]
    rating: Option<f64>,
}

#[derive(Serialize)]
pub struct JoinReply {
    tournament: TournamentView,
    joined: u64,
    already_joined: bool,
    fee_paid: Amounts,
    /// The wallet after the fee (empty when nothing was charged).
    wallet: Amounts,
}

/// The username stored with an entry.
pub fn username(app: &App, user: UserId) -> String {
    app.auth
        .account(user)
        .map(|a| a.username)
        .unwrap_or_default()
}

pub async fn join(ctx: RpcContext, req: JoinRequest) -> Result<JoinReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.rating.is_some() && !ctx.is_trusted() {
        return Err(RpcError::PermissionDenied(
            "rating: only server callers give a rating".into(),
        ));
    }
    if let Some(r) = req.rating {
        if !r.is_finite() {
            return Err(RpcError::invalid("rating must be a finite number"));
        }
    }
    let name = username(&ctx.app, user);
    let Joined {
        entry,
        tournament,
        already,
        wallet,
    } = lifecycle::join(&game, req.tournament_id, user, &name, req.rating).await?;
    Ok(JoinReply {
        tournament: view(&tournament),
        joined: entry.joined,
        already_joined: already,
        fee_paid: if already { Amounts::new() } else { entry.fee },
        wallet,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    game_id: String,
    tournament_id: Uuid,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct LeaveReply {
    tournament: TournamentView,
    refunded: Amounts,
    wallet: Amounts,
}

pub async fn leave(ctx: RpcContext, req: UserRequest) -> Result<LeaveReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let before = entry(&game, req.tournament_id, user)?;
    let (t, wallet) = lifecycle::leave(&game, req.tournament_id, user).await?;
    Ok(LeaveReply {
        tournament: view(&t),
        refunded: before.map(|e| e.fee).unwrap_or_default(),
        wallet,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    category_start: Option<u32>,
    #[serde(default)]
    category_end: Option<u32>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    tournaments: Vec<TournamentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// A page of tournaments that `keep` accepts, in id order.
pub fn page(
    game: &GameStore,
    limit: usize,
    cursor: Option<&str>,
    keep: impl Fn(&Tournament) -> bool,
) -> Result<(Vec<Tournament>, Option<String>), RpcError> {
    let start = paging::start(cursor)?;
    let page = game
        .tree(TOURNAMENTS)?
        .page_filtered(&[], start.as_deref(), limit, keep)?;
    let next = paging::next(&page);
    Ok((page.entries.into_iter().map(|(_, t)| t).collect(), next))
}

pub async fn list_active(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let (lo, hi) = (
        req.category_start.unwrap_or(0),
        req.category_end.unwrap_or(rules::MAX_CATEGORY),
    );
    let (ts, cursor) = page(&game, limit, req.cursor.as_deref(), |t| {
        t.state < State::Ended && (lo..=hi).contains(&t.category)
    })?;
    Ok(ListReply {
        tournaments: ts.iter().map(view).collect(),
        cursor,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    game_id: String,
    tournament_id: Uuid,
    #[serde(default)]
    user_id: Option<UserId>,
    score: i64,
    #[serde(default)]
    subscore: i64,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Serialize)]
pub struct SubmitReply {
    tournament_id: Uuid,
    score: i64,
    rank: u64,
    record: leaderboards::Standing,
}

pub async fn submit_score(ctx: RpcContext, req: SubmitRequest) -> Result<SubmitReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let s = Submission {
        score: req.score,
        subscore: req.subscore,
        metadata: req.metadata,
        operator: None,
    };
    let record = lifecycle::submit_score(&ctx.app, &game, req.tournament_id, user, s).await?;
    Ok(SubmitReply {
        tournament_id: req.tournament_id,
        score: record.score,
        rank: record.rank,
        record,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardRequest {
    game_id: String,
    tournament_id: Uuid,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    around_me: bool,
    #[serde(default)]
    owner_ids: Vec<UserId>,
}

pub async fn get_leaderboard(ctx: RpcContext, req: LeaderboardRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let t = get(&game, req.tournament_id)?;
    if t.ranked_by_board() {
        let me = ctx.self_id();
        if req.around_me && me.is_none() {
            return Err(RpcError::invalid(
                "around_me needs a player session (server callers give owner_ids)",
            ));
        }
        let q = Query {
            limit: Some(req.limit.unwrap_or(if req.around_me { 11 } else { 10 })),
            cursor: req.cursor,
            around: if req.around_me { me } else { None },
            owner_ids: req.owner_ids,
            expiry: None,
            viewer: me,
        };
        let listing = match leaderboards::read(&ctx.app, &game, &board_id(t.id), q).await {
            Ok(l) => l,
            // Not started yet: no board, nobody ranked.
            Err(leaderboards::LeaderboardError::NotFound(_)) => Default::default(),
            Err(e) => return Err(e.into()),
        };
        return Ok(json!({
            "tournament": view(&t),
            "records": listing.records,
            "owner_records": listing.owner_records,
            "next_cursor": listing.next_cursor,
            "prev_cursor": listing.prev_cursor,
            "rank_count": listing.rank_count,
        }));
    }
    let standings = standings_now(&game, &t)?;
    let names = names(&game, t.id)?;
    let rows: Vec<Value> = standings
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            v["username"] = names.get(&p.user_id).cloned().unwrap_or_default().into();
            v
        })
        .collect();
    Ok(json!({
        "tournament": view(&t),
        "standings": rows,
        "final": t.state >= State::Ended,
    }))
}

/// Standings of a bracket tournament as they stand: the results once ended, else the
/// current stage's provisional standings followed by earlier stages'.
fn standings_now(game: &GameStore, t: &Tournament) -> Result<Vec<Placement>, RpcError> {
    if t.state >= State::Ended {
        return Ok(t.results.clone());
    }
    let mut out = Vec::new();
    for s in (0..=t.stage).rev() {
        if let Some(rows) = lifecycle::stage_standings(game, t, s)? {
            out = lifecycle::merge(out, &rows);
        }
    }
    Ok(out)
}

fn names(game: &GameStore, id: Uuid) -> Result<BTreeMap<UserId, String>, RpcError> {
    Ok(entries(game, id)?
        .into_iter()
        .map(|e| (e.user_id, e.username))
        .collect())
}

#[derive(Serialize)]
pub struct ClaimReply {
    tournament_id: Uuid,
    place: u32,
    granted: Granted,
    /// The prize had been paid already (automatically at the end, or by an earlier claim).
    already_paid: bool,
}

pub async fn claim_rewards(ctx: RpcContext, req: UserRequest) -> Result<ClaimReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let (row, granted, replayed) =
        lifecycle::claim(&ctx.app, &game, req.tournament_id, user).await?;
    Ok(ClaimReply {
        tournament_id: req.tournament_id,
        place: row.place,
        granted,
        already_paid: replayed,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BracketRequest {
    game_id: String,
    tournament_id: Uuid,
    #[serde(default)]
    stage: Option<usize>,
}

fn slot_json(s: Slot, seeds: &BTreeMap<UserId, (usize, String)>) -> Value {
    match s {
        Slot::Pending => Value::Null,
        Slot::Bye => json!({ "bye": true }),
        Slot::Player(p) => {
            let (seed, name) = seeds.get(&p).cloned().unwrap_or_default();
            json!({ "user_id": p, "username": name, "seed": seed + 1 })
        }
    }
}

fn match_json(m: &Match, seeds: &BTreeMap<UserId, (usize, String)>) -> Value {
    json!({
        "match_id": m.id,
        "position": m.position,
        "a": slot_json(m.a, seeds),
        "b": slot_json(m.b, seeds),
        "a_from": m.a_from,
        "b_from": m.b_from,
        "status": m.status,
        "winner_id": m.winner,
        "score_a": m.score_a,
        "score_b": m.score_b,
        "draw": m.draw,
        "reset": m.reset,
    })
}

/// A bracket in a shape a client draws: players with seeds, then rounds grouped by section
/// (winners, losers, grand final, third place, pool) in play order, each with its matches
/// top to bottom; a slot is null while pending, `{"bye": true}` for a bye.
pub fn bracket_json(b: &Bracket, names: &BTreeMap<UserId, String>) -> Value {
    let seeds: BTreeMap<UserId, (usize, String)> = b
        .players
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, (i, names.get(p).cloned().unwrap_or_default())))
        .collect();
    let mut rounds: Vec<((u8, u32), Vec<&Match>)> = Vec::new();
    for m in &b.matches {
        let order = match m.section {
            super::formats::Section::Winners | super::formats::Section::Pool => 0,
            super::formats::Section::Losers => 1,
            super::formats::Section::ThirdPlace => 2,
            super::formats::Section::GrandFinal => 3,
        };
        let key = (order, m.round);
        match rounds.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(m),
            None => rounds.push((key, vec![m])),
        }
    }
    rounds.sort_by_key(|(k, _)| *k);
    let rounds: Vec<Value> = rounds
        .into_iter()
        .map(|(_, ms)| {
            json!({
                "section": rules::section_name(ms[0].section),
                "round": ms[0].round,
                "matches": ms.iter().map(|m| match_json(m, &seeds)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ready: Vec<u32> = b
        .matches
        .iter()
        .filter(|m| m.status == MatchStatus::Ready)
        .map(|m| m.id)
        .collect();
    json!({
        "format": b.format.name(),
        "players": b.players.iter().enumerate().map(|(i, p)| json!({
            "user_id": p,
            "username": names.get(p).cloned().unwrap_or_default(),
            "seed": i + 1,
        })).collect::<Vec<_>>(),
        "rounds": rounds,
        "rounds_planned": b.rounds,
        "ready_matches": ready,
        "finished": b.finished,
        "ended_early": b.ended_early,
        "standings": rules::provisional(b),
    })
}

pub async fn get_bracket(ctx: RpcContext, req: BracketRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let t = get(&game, req.tournament_id)?;
    let stage = req.stage.unwrap_or(t.stage);
    if stage >= t.stages.len() {
        return Err(RpcError::invalid(format!(
            "stage must be below {}, not {stage}",
            t.stages.len()
        )));
    }
    if t.stages[stage].format == StageFormat::Leaderboard {
        return Err(TournamentError::NotNow(format!(
            "stage {stage} of tournament {} is a score window and has no bracket \
             (tournament_get_leaderboard)",
            t.id
        ))
        .into());
    }
    let Some(b) = bracket(&game, t.id, stage)? else {
        return Err(TournamentError::NotNow(format!(
            "stage {stage} of tournament {} has not started ({})",
            t.id,
            t.state.as_str()
        ))
        .into());
    };
    let names = names(&game, t.id)?;
    let mut v = bracket_json(&b, &names);
    if t.rooms.is_some() {
        let mut live = Map::new();
        for m in &b.matches {
            if let Some(r) = rooms::room_of(&game, t.id, stage, m.id)? {
                live.insert(m.id.to_string(), r.into());
            }
        }
        v["rooms"] = Value::Object(live);
    }
    v["tournament_id"] = json!(t.id);
    v["stage"] = json!(stage);
    v["stages"] = json!(t.stages.len());
    v["state"] = json!(t.state.as_str());
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn my_tournaments(ctx: RpcContext, req: MineRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let page = game.tree(BY_USER)?.page::<i64>(
        Key::new().uuid(user).as_bytes(),
        start.as_deref(),
        limit,
    )?;
    let mut out = Vec::new();
    for (k, _) in &page.entries {
        let Some(id) = crate::store::KeyReader::new(&k[16..]).uuid() else {
            continue;
        };
        let Ok(t) = get(&game, id) else { continue };
        let e = entry(&game, id, user)?;
        let place = t
            .results
            .iter()
            .find(|p| p.user_id == user)
            .map(|p| p.place);
        let pending = match bracket(&game, id, t.stage)? {
            Some(b) if t.state == State::Active => rules::pending_for(&b, user),
            _ => Vec::new(),
        };
        out.push(json!({
            "tournament": view(&t),
            "joined": e.as_ref().map(|e| e.joined),
            "joined_at": e.as_ref().map(|e| crate::time::rfc3339(e.joined_at)),
            "fee_paid": e.map(|e| e.fee).unwrap_or_default(),
            "place": place,
            "prize": place.and_then(|p| t.prize_for(p).cloned()),
            "ready_matches": pending,
        }));
    }
    Ok(json!({ "tournaments": out, "cursor": paging::next(&page) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastRequest {
    game_id: String,
    #[serde(default)]
    tournament_id: Option<Uuid>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn past_results(ctx: RpcContext, req: PastRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if let Some(id) = req.tournament_id {
        let t = get(&game, id)?;
        if t.state < State::Ended {
            return Err(TournamentError::NotNow(format!(
                "tournament {id} is {}: results come when it ends",
                t.state.as_str()
            ))
            .into());
        }
        return Ok(json!({ "tournaments": [view(&t)] }));
    }
    let limit = paging::limit(req.limit, 20)?;
    let (ts, cursor) = page(&game, limit, req.cursor.as_deref(), |t| {
        t.state >= State::Ended
    })?;
    Ok(json!({ "tournaments": ts.iter().map(view).collect::<Vec<_>>(), "cursor": cursor }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    game_id: String,
    tournament_id: Uuid,
    match_id: u32,
    #[serde(default)]
    stage: Option<usize>,
    #[serde(default)]
    winner_id: Option<UserId>,
    #[serde(default)]
    loser_id: Option<UserId>,
    /// A draw (round robin and Swiss) between these two players.
    #[serde(default)]
    draw: Option<[UserId; 2]>,
    /// user id → score.
    #[serde(default)]
    scores: BTreeMap<UserId, i64>,
}

pub async fn report_match(ctx: RpcContext, req: ReportRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let result = match (req.winner_id, req.draw) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid(
                "winner_id: give `winner_id` or `draw`, not both",
            ))
        }
        (None, None) => {
            return Err(RpcError::invalid(
                "winner_id is required (or `draw` with both players)",
            ))
        }
        (Some(w), None) => {
            let loser = match req.loser_id {
                Some(l) => l,
                None => {
                    // The other player of the match, as the bracket says.
                    let t = get(&game, req.tournament_id)?;
                    let stage = req.stage.unwrap_or(t.stage);
                    bracket(&game, t.id, stage)?
                        .and_then(|b| b.get(req.match_id).cloned())
                        .and_then(|m| m.players())
                        .map(|(a, b)| if a == w { b } else { a })
                        .unwrap_or(Uuid::nil())
                }
            };
            super::formats::Outcome::Win { winner: w, loser }
        }
        (None, Some([a, b])) => {
            if req.loser_id.is_some() {
                return Err(RpcError::invalid("loser_id: a draw has no loser"));
            }
            super::formats::Outcome::Draw { a, b }
        }
    };
    let report = Report {
        result,
        scores: req.scores,
    };
    let (m, t) =
        lifecycle::report(&game, req.tournament_id, req.stage, req.match_id, &report).await?;
    // The matches this result made ready get their rooms.
    if let Err(e) = rooms::open_ready(&ctx.app, &game, t.id).await {
        tracing::warn!(error = %e, tournament_id = %t.id, "bracket rooms not opened");
    }
    let names = names(&game, t.id)?;
    let seeds: BTreeMap<UserId, (usize, String)> = match bracket(&game, t.id, t.stage)? {
        Some(b) => b
            .players
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, (i, names.get(p).cloned().unwrap_or_default())))
            .collect(),
        None => BTreeMap::new(),
    };
    Ok(json!({
        "match": match_json(&m, &seeds),
        "tournament": view(&t),
    }))
}
