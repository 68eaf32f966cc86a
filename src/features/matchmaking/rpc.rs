use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{Constraints, LastTicket, Mode, Outcome, Party, Rating, Seat, Ticket};
use super::modes::{self, ModeInput};
use super::queue::{BackfillAsk, QueueStats, SeatPass};
use super::{matchmaker, RatedPlayer};
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{RpcContext, RpcError};
use crate::store::Key;

const MAX_PROPERTIES: usize = 16;

fn check_key(field: &str, k: &str) -> Result<(), RpcError> {
    if k.is_empty() || k.len() > 32 || k.chars().any(char::is_control) {
        return Err(RpcError::invalid(format!(
            "{field}: property names are 1-32 characters without control characters"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    mode: String,
    #[serde(default)]
    region: Option<String>,
    /// Optional check: the party the caller means to queue.
    #[serde(default)]
    party_id: Option<Uuid>,
    #[serde(default)]
    string_properties: BTreeMap<String, String>,
    #[serde(default)]
    numeric_properties: BTreeMap<String, f64>,
    #[serde(default)]
    constraints: Constraints,
}

#[derive(Serialize)]
pub struct TicketReply {
    ticket_id: Uuid,
    status: &'static str,
    mode: String,
    region: String,
    party_id: Option<Uuid>,
    players: Vec<Seat>,
    rating: f64,
    /// Rating half-width now; null: any rating.
    window: Option<f64>,
}

fn validate_find(req: &FindRequest, mode: &Mode) -> Result<String, RpcError> {
    let region = req.region.clone().unwrap_or_else(|| "any".into());
    if !mode.regions.is_empty() && !mode.regions.contains(&region) {
        return Err(RpcError::invalid(format!(
            "region: `{region}` is not one of this mode's regions ({})",
            mode.regions.join(", ")
        )));
    }
    if region.is_empty() || region.len() > 32 || region.chars().any(char::is_control) {
        return Err(RpcError::invalid("region: 1-32 characters"));
    }
    if req.string_properties.len() > MAX_PROPERTIES {
        return Err(RpcError::invalid("string_properties: at most 16"));
    }
    for (k, v) in &req.string_properties {
        check_key("string_properties", k)?;
        if v.len() > 64 {
            return Err(RpcError::invalid(format!(
                "string_properties.{k}: at most 64 bytes"
            )));
        }
    }
    if req.numeric_properties.len() > MAX_PROPERTIES {
        return Err(RpcError::invalid("numeric_properties: at most 16"));
    }
    for (k, v) in &req.numeric_properties {
        check_key("numeric_properties", k)?;
        if !v.is_finite() {
            return Err(RpcError::invalid(format!(
                "numeric_properties.{k}: a finite number"
            )));
        }
    }
    let c = &req.constraints;
    if c.equal.len() > MAX_PROPERTIES || c.ranges.len() > MAX_PROPERTIES {
        return Err(RpcError::invalid(
            "constraints: at most 16 `equal` and 16 `ranges`",
        ));
    }
    for k in &c.equal {
        check_key("constraints.equal", k)?;
    }
    for r in &c.ranges {
        check_key("constraints.ranges.property", &r.property)?;
        if r.min.is_some_and(|m| !m.is_finite()) || r.max.is_some_and(|m| !m.is_finite()) {
            return Err(RpcError::invalid(
                "constraints.ranges: min and max are finite numbers",
            ));
        }
        if let (Some(a), Some(b)) = (r.min, r.max) {
            if a > b {
                return Err(RpcError::invalid(format!(
                    "constraints.ranges: min is above max for `{}`",
                    r.property
                )));
            }
        }
    }
    if c.avoid.len() > 100 {
        return Err(RpcError::invalid("constraints.avoid: at most 100 players"));
    }
    Ok(region)
}

pub async fn find_match(ctx: RpcContext, req: FindRequest) -> Result<TicketReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let mm = matchmaker(&ctx.app);
    let mode = mm.mode(&game, &req.mode)?;
    let region = validate_find(&req, &mode)?;
    let party = super::party_of(&game, user)?;
    let members = match (&party, req.party_id) {
        (Some(p), asked) => {
            if asked.is_some_and(|a| a != p.id) {
                return Err(RpcError::invalid(format!(
                    "party_id: you are in party {}, not {}",
                    p.id,
                    asked.unwrap_or_default()
                )));
            }
            if p.leader != user {
                return Err(RpcError::FailedPrecondition(
                    "only the party's leader queues the party".into(),
                ));
            }
            if p.members.len() as u32 > mode.team_size {
                return Err(RpcError::FailedPrecondition(format!(
                    "party size does not fit: {} players, teams of {} in mode {}",
                    p.members.len(),
                    mode.team_size,
                    mode.name
                )));
            }
            p.members.clone()
        }
        (None, Some(asked)) => {
            return Err(RpcError::NotFound(format!(
                "party_id: you are not in party {asked}"
            )))
        }
        (None, None) => vec![user],
    };
    let mut players = Vec::new();
    for u in &members {
        let r = super::rating(&game, *u, &mode)?;
        players.push(Seat {
            user_id: *u,
            rating: r.rating,
            deviation: r.deviation,
        });
    }
    let ticket = Ticket {
        id: Uuid::new_v4(),
        mode: mode.name.clone(),
        region,
        party_id: party.map(|p| p.id),
        players,
        string_properties: req.string_properties,
        numeric_properties: req.numeric_properties,
        constraints: req.constraints,
        created_at_ms: game.now_ms(),
        front: false,
        state: super::TicketState::Searching,
    };
    let t = mm.enqueue(&game, ticket, ctx.app.config.matchmaking.max_tickets)?;
    Ok(TicketReply {
        ticket_id: t.id,
        status: "searching",
        window: super::matcher::window(&mode, &t, t.created_at_ms),
        rating: t.rating(),
        mode: t.mode,
        region: t.region,
        party_id: t.party_id,
        players: t.players,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    ticket_id: Option<Uuid>,
}

#[derive(Serialize)]
pub struct CancelReply {
    ticket_id: Uuid,
    /// `searching` or `matched`: what the ticket was when cancelled.
    was: &'static str,
}

pub async fn cancel(ctx: RpcContext, req: CancelRequest) -> Result<CancelReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let t = matchmaker(&ctx.app).cancel(&ctx.app, &game, user, req.ticket_id, "cancelled")?;
    Ok(CancelReply {
        ticket_id: t.id,
        was: match t.state {
            super::TicketState::Searching => "searching",
            super::TicketState::Matched { .. } => "matched",
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct StatusReply {
    /// `searching`, `matched` or `idle`.
    status: &'static str,
    ticket: Option<Ticket>,
    wait_secs: Option<f64>,
    #[serde(flatten)]
    explanation: Option<super::matcher::Explanation>,
    /// Where and how to take the seat, while matched.
    #[serde(rename = "match")]
    seat: Option<SeatPass>,
    /// How the player's previous ticket ended.
    last: Option<LastTicket>,
}

pub async fn get_status(ctx: RpcContext, req: StatusRequest) -> Result<StatusReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let last: Option<LastTicket> = game.tree(super::LAST)?.get(Key::new().uuid(user))?;
    let Some(s) = matchmaker(&ctx.app).standing(&game, user)? else {
        return Ok(StatusReply {
            status: "idle",
            ticket: None,
            wait_secs: None,
            explanation: None,
            seat: None,
            last,
        });
    };
    let status = match s.ticket.state {
        super::TicketState::Searching => "searching",
        super::TicketState::Matched { .. } => "matched",
    };
    let mut explanation = s.explanation;
    if status == "matched" {
        explanation = None;
    }
    Ok(StatusReply {
        status,
        ticket: Some(s.ticket),
        wait_secs: Some(s.wait_secs),
        explanation,
        seat: s.seat,
        last,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePartyRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    max_size: Option<u32>,
}

#[derive(Serialize)]
pub struct PartyReply {
    party: Party,
}

pub async fn create_party(
    ctx: RpcContext,
    req: CreatePartyRequest,
) -> Result<PartyReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let max_size = req.max_size.unwrap_or(4);
    if !(2..=16).contains(&max_size) {
        return Err(RpcError::invalid("max_size: between 2 and 16"));
    }
    let party = matchmaker(&ctx.app).create_party(&game, user, max_size)?;
    Ok(PartyReply { party })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinPartyRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    party_id: Uuid,
}

pub async fn join_party(ctx: RpcContext, req: JoinPartyRequest) -> Result<PartyReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let party = matchmaker(&ctx.app).join_party(&game, user, req.party_id)?;
    Ok(PartyReply { party })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeavePartyRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Serialize)]
pub struct LeavePartyReply {
    party_id: Uuid,
    /// The party as it is now; null when the last member left.
    party: Option<Party>,
}

pub async fn leave_party(
    ctx: RpcContext,
    req: LeavePartyRequest,
) -> Result<LeavePartyReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let (party_id, party) = matchmaker(&ctx.app).leave_party(&ctx.app, &game, user)?;
    Ok(LeavePartyReply { party_id, party })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsRequest {
    game_id: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Serialize)]
pub struct StatsReply {
    queues: Vec<QueueStats>,
}

pub async fn queue_stats(ctx: RpcContext, req: StatsRequest) -> Result<StatsReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let mm = matchmaker(&ctx.app);
    if let Some(m) = &req.mode {
        mm.mode(&game, m)?;
    }
    Ok(StatsReply {
        queues: mm.stats(&game, req.mode.as_deref(), req.region.as_deref())?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRatingRequest {
    game_id: String,
    user_id: UserId,
    mode: String,
    /// Set the rating to this value…
    #[serde(default)]
    rating: Option<f64>,
    #[serde(default)]
    deviation: Option<f64>,
    /// …or rate one game against an opponent of this rating with this result.
    #[serde(default)]
    opponent_rating: Option<f64>,
    #[serde(default)]
    opponent_deviation: Option<f64>,
    #[serde(default)]
    result: Option<Outcome>,
}

#[derive(Serialize)]
pub struct UpdateRatingReply {
    user_id: UserId,
    mode: String,
    before: Rating,
    rating: Rating,
    change: f64,
}

fn check_rating(field: &str, v: Option<f64>, lo: f64, hi: f64) -> Result<(), RpcError> {
    match v {
        Some(x) if !(x.is_finite() && (lo..=hi).contains(&x)) => Err(RpcError::invalid(format!(
            "{field}: a number between {lo} and {hi}"
        ))),
        _ => Ok(()),
    }
}

pub async fn update_skill_rating(
    ctx: RpcContext,
    req: UpdateRatingRequest,
) -> Result<UpdateRatingReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(Some(req.user_id))?;
    let mode = matchmaker(&ctx.app).mode(&game, &req.mode)?;
    check_rating("rating", req.rating, 0.0, 10_000.0)?;
    check_rating("opponent_rating", req.opponent_rating, 0.0, 10_000.0)?;
    check_rating("deviation", req.deviation, 1.0, 350.0)?;
    check_rating("opponent_deviation", req.opponent_deviation, 1.0, 350.0)?;
    let against = match (req.opponent_rating, req.result) {
        (Some(r), Some(o)) => Some((r, req.opponent_deviation.unwrap_or(350.0), o)),
        (None, None) => None,
        _ => return Err(RpcError::invalid("opponent_rating and result go together")),
    };
    let set = match (req.rating, req.deviation) {
        (None, None) => None,
        (r, d) => Some((r.unwrap_or(f64::NAN), d)),
    };
    if set.is_none() && against.is_none() {
        return Err(RpcError::invalid(
            "give rating (and/or deviation) to set, or opponent_rating with result to rate a game",
        ));
    }
    let set = match set {
        Some((r, d)) if r.is_nan() => {
            let current = super::rating(&game, user, &mode)?;
            Some((current.rating, d))
        }
        s => s,
    };
    let (before, after) = super::update_rating(&game, user, &mode, set, against)?;
    game.durable().await?;
    Ok(UpdateRatingReply {
        user_id: user,
        mode: mode.name,
        change: after.rating - before.rating,
        before,
        rating: after,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct HistoryReply {
    matches: Vec<super::HistoryEntry>,
    /// Ratings now, per mode asked (all modes when none).
    ratings: BTreeMap<String, Rating>,
    cursor: Option<String>,
}

pub async fn match_history(ctx: RpcContext, req: HistoryRequest) -> Result<HistoryReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let mm = matchmaker(&ctx.app);
    let modes: Vec<Mode> = match &req.mode {
        Some(m) => vec![mm.mode(&game, m)?],
        None => mm.modes(&game)?,
    };
    let page = super::history_page(&game, user, req.mode.as_deref(), start.as_deref(), limit)
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => RpcError::invalid(format!("cursor: {m}")),
            e => e.into(),
        })?;
    let mut ratings = BTreeMap::new();
    for m in &modes {
        ratings.insert(m.name.clone(), super::rating(&game, user, m)?);
    }
    Ok(HistoryReply {
        cursor: paging::next(&page),
        matches: page.entries.into_iter().map(|(_, e)| e).collect(),
        ratings,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetModesRequest {
    game_id: String,
    modes: Vec<ModeInput>,
}

#[derive(Serialize)]
pub struct ModesReply {
    modes: Vec<Mode>,
}

pub async fn set_modes(ctx: RpcContext, req: SetModesRequest) -> Result<ModesReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.modes.is_empty() || req.modes.len() > 32 {
        return Err(RpcError::invalid("modes: between 1 and 32 modes"));
    }
    let mut built: Vec<Mode> = Vec::new();
    for (i, m) in req.modes.into_iter().enumerate() {
        let mode = modes::build(m).map_err(|e| RpcError::invalid(format!("modes[{i}].{e}")))?;
        if built.iter().any(|b| b.name == mode.name) {
            return Err(RpcError::invalid(format!(
                "modes[{i}].name: `{}` is listed twice",
                mode.name
            )));
        }
        built.push(mode);
    }
    matchmaker(&ctx.app).set_modes(&game, built.clone())?;
    game.durable().await?;
    built.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ModesReply { modes: built })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListModesRequest {
    game_id: String,
}

pub async fn list_modes(ctx: RpcContext, req: ListModesRequest) -> Result<ModesReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    Ok(ModesReply {
        modes: matchmaker(&ctx.app).modes(&game)?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    game_id: String,
    match_id: String,
    /// Defaults to the mode the matchmaker found the match for.
    #[serde(default)]
    mode: Option<String>,
    /// Defaults to the teams the matchmaker formed.
    #[serde(default)]
    teams: Option<Vec<Vec<UserId>>>,
    /// Index of the winning team; null or absent: a draw.
    #[serde(default)]
    winner: Option<usize>,
}

#[derive(Serialize)]
pub struct ReportReply {
    match_id: String,
    mode: String,
    players: Vec<RatedPlayer>,
}

pub async fn report_result(ctx: RpcContext, req: ReportRequest) -> Result<ReportReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let found = super::found_match(&game, &req.match_id)?;
    let (mode_name, teams) = match (req.mode, req.teams, found) {
        (Some(m), Some(t), _) => (m, t),
        (m, t, Some(f)) => (m.unwrap_or(f.mode), t.unwrap_or(f.teams)),
        (_, _, None) => {
            return Err(RpcError::NotFound(format!(
                "match_id: the matchmaker did not find match {}; give mode and teams",
                req.match_id
            )))
        }
    };
    for u in teams.iter().flatten() {
        ctx.user(Some(*u)).map_err(|e| e.within("teams"))?;
    }
    let mode = matchmaker(&ctx.app).mode(&game, &mode_name)?;
    let players = super::rate_match(&game, &req.match_id, &mode, &teams, req.winner)?;
    game.durable().await?;
    Ok(ReportReply {
        match_id: req.match_id,
        mode: mode.name,
        players,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    game_id: String,
    match_id: String,
    /// Default: the mode and region the matchmaker found the match for.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    region: Option<String>,
    seats: u32,
    /// The team (index) the seats are on; absent: the match places the players.
    #[serde(default)]
    team: Option<usize>,
    /// Default 60.
    #[serde(default)]
    timeout_secs: Option<u64>,
}

#[derive(Serialize)]
pub struct BackfillReply {
    backfill: super::Backfill,
}

pub async fn request_backfill(
    ctx: RpcContext,
    req: BackfillRequest,
) -> Result<BackfillReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.match_id.is_empty() || req.match_id.len() > 128 {
        return Err(RpcError::invalid("match_id: 1-128 characters"));
    }
    if !(1..=64).contains(&req.seats) {
        return Err(RpcError::invalid("seats: between 1 and 64"));
    }
    let timeout_secs = req.timeout_secs.unwrap_or(60);
    if !(5..=3600).contains(&timeout_secs) {
        return Err(RpcError::invalid("timeout_secs: between 5 and 3600"));
    }
    if let Some(r) = &req.region {
        if r.is_empty() || r.len() > 32 || r.chars().any(char::is_control) {
            return Err(RpcError::invalid("region: 1-32 characters"));
        }
    }
    let dir = crate::features::matches::directory(&ctx.app)?;
    let backfill = matchmaker(&ctx.app).request_backfill(
        &game,
        dir.as_ref(),
        BackfillAsk {
            match_id: req.match_id,
            mode: req.mode,
            region: req.region,
            seats: req.seats,
            team: req.team,
            timeout_secs,
        },
    )?;
    Ok(BackfillReply { backfill })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillIdRequest {
    game_id: String,
    backfill_id: Uuid,
}

pub async fn cancel_backfill(
    ctx: RpcContext,
    req: BackfillIdRequest,
) -> Result<BackfillReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let backfill = matchmaker(&ctx.app).cancel_backfill(&game, req.backfill_id)?;
    Ok(BackfillReply { backfill })
}

pub async fn get_backfill(
    ctx: RpcContext,
    req: BackfillIdRequest,
) -> Result<BackfillReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let backfill = matchmaker(&ctx.app).backfill(&game, req.backfill_id)?;
    Ok(BackfillReply { backfill })
}
