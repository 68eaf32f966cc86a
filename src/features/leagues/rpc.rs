//! The league RPCs.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::model::{League, Member, Scoring, Tier, Zone};
use super::{cohort, get, member, rules, LeagueError, HISTORY};
use crate::auth::UserId;
use crate::features::leaderboards::Submission;
use crate::features::paging;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::Reward;
use crate::features::tournaments::formats::SeedBy;
use crate::features::tournaments::model::Prize;
use crate::features::tournaments::rules::check_prizes;
use crate::rpc::{RpcContext, RpcError};
use crate::store::Key;

pub const MAX_TIERS: usize = 20;
pub const MAX_COHORT: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandRequest {
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
pub struct TierRequest {
    name: String,
    #[serde(default)]
    rewards: Vec<BandRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    game_id: String,
    league_id: String,
    #[serde(default)]
    name: Option<String>,
    tiers: Vec<TierRequest>,
    #[serde(default)]
    cohort_size: Option<u32>,
    #[serde(default)]
    fill: SeedBy,
    /// A count (1, 2, …) or a fraction of the cohort (0.2).
    promotion: f64,
    demotion: f64,
    #[serde(default = "yes")]
    idle_demotion: bool,
    /// `7d`, `24h`, …
    season_length: String,
    #[serde(default)]
    scoring: Scoring,
    #[serde(default)]
    authoritative: bool,
    #[serde(default)]
    metadata: Map<String, Value>,
}

fn yes() -> bool {
    true
}

fn zone(field: &str, v: f64) -> Result<Zone, RpcError> {
    if v.is_finite() && v > 0.0 && v < 1.0 {
        return Ok(Zone::Fraction(v));
    }
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_COHORT as f64 {
        return Ok(Zone::Count(v as u32));
    }
    Err(RpcError::invalid(format!(
        "{field} must be a count (0, 1, 2, …) or a fraction between 0 and 1, not {v}"
    )))
}

fn check_id(id: &str) -> Result<(), RpcError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RpcError::invalid(format!(
            "league_id must be 1–64 letters, digits, `_` or `-`, not `{id}`"
        )))
    }
}

fn bands(i: usize, list: Vec<BandRequest>) -> Result<Vec<Prize>, RpcError> {
    let out = list
        .into_iter()
        .enumerate()
        .map(|(j, b)| match (b.rank, b.from, b.to) {
            (Some(r), None, None) => Ok(Prize {
                from: r,
                to: r,
                reward: b.reward,
            }),
            (None, Some(f), to) => Ok(Prize {
                from: f,
                to: to.unwrap_or(f),
                reward: b.reward,
            }),
            _ => Err(RpcError::invalid(format!(
                "tiers[{i}].rewards[{j}]: give `rank`, or `from` (and `to`)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_prizes(&out).map_err(|e| e.within(&format!("tiers[{i}]")))?;
    Ok(out)
}

/// A league as clients see it.
pub fn view(l: &League) -> Value {
    json!({
        "league_id": l.id,
        "name": l.name,
        "tiers": l.tiers.iter().enumerate().map(|(i, t)| json!({
            "tier": i,
            "name": t.name,
            "rewards": t.rewards,
            "cohorts": l.cohorts.get(i).map(|c| c.len()).unwrap_or(0),
        })).collect::<Vec<_>>(),
        "cohort_size": l.cohort_size,
        "fill": l.fill,
        "promotion": l.promotion,
        "demotion": l.demotion,
        "idle_demotion": l.idle_demotion,
        "season_length_secs": l.season_secs,
        "scoring": l.scoring,
        "authoritative": l.authoritative,
        "season": l.season,
        "season_start_time": crate::time::rfc3339(l.season_started_at),
        "season_end_time": crate::time::rfc3339(l.season_ends_at),
        "season_ends_at": l.season_ends_at,
        "members": l.members,
        "metadata": l.metadata,
    })
}

pub async fn create(ctx: RpcContext, req: CreateRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    check_id(&req.league_id)?;
    let name = req.name.unwrap_or_else(|| req.league_id.clone());
    check_text("name", &name, 128)?;
    if req.tiers.is_empty() || req.tiers.len() > MAX_TIERS {
        return Err(RpcError::invalid(format!(
            "tiers must hold 1 to {MAX_TIERS} tiers, lowest first"
        )));
    }
    let mut tiers = Vec::with_capacity(req.tiers.len());
    for (i, t) in req.tiers.into_iter().enumerate() {
        check_name(&format!("tiers[{i}].name"), &t.name)?;
        if tiers.iter().any(|x: &Tier| x.name == t.name) {
            return Err(RpcError::invalid(format!(
                "tiers[{i}].name `{}` is used twice",
                t.name
            )));
        }
        tiers.push(Tier {
            rewards: bands(i, t.rewards)?,
            name: t.name,
        });
    }
    let cohort_size = req
        .cohort_size
        .unwrap_or(ctx.app.config.leagues.cohort_size);
    if !(2..=MAX_COHORT).contains(&cohort_size) {
        return Err(RpcError::invalid(format!(
            "cohort_size must be between 2 and {MAX_COHORT}, not {cohort_size}"
        )));
    }
    let season_secs = crate::time::parse_duration(&req.season_length)
        .map_err(|e| RpcError::invalid(format!("season_length: {e}")))?;
    if season_secs < 60 {
        return Err(RpcError::invalid("season_length must be at least 1m"));
    }
    let now = game.now();
    let l = League {
        id: req.league_id,
        name,
        cohorts: vec![Vec::new(); tiers.len()],
        tiers,
        cohort_size,
        fill: req.fill,
        promotion: zone("promotion", req.promotion)?,
        demotion: zone("demotion", req.demotion)?,
        idle_demotion: req.idle_demotion,
        season_secs,
        scoring: req.scoring,
        authoritative: req.authoritative,
        metadata: req.metadata,
        season: 1,
        season_started_at: now,
        season_ends_at: now + season_secs,
        members: 0,
        join_seq: 0,
        created_at: now,
    };
    super::create(&game, &l).await?;
    Ok(json!({ "league": view(&l) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    game_id: String,
    league_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    /// Server callers only: the player's rating, for filling cohorts by rating.
    #[serde(default)]
    rating: Option<f64>,
}

fn division(l: &League, m: &Member) -> Value {
    json!({
        "league_id": l.id,
        "season": m.season,
        "tier": m.tier,
        "tier_name": l.tiers.get(m.tier).map(|t| t.name.clone()).unwrap_or_default(),
        "cohort": m.cohort,
        "season_end_time": crate::time::rfc3339(l.season_ends_at),
        "season_ends_at": l.season_ends_at,
    })
}

pub async fn join(ctx: RpcContext, req: JoinRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.rating.is_some() && !ctx.is_trusted() {
        return Err(RpcError::PermissionDenied(
            "rating: only server callers give a rating".into(),
        ));
    }
    if req.rating.is_some_and(|r| !r.is_finite()) {
        return Err(RpcError::invalid("rating must be a finite number"));
    }
    let name = crate::features::tournaments::rpc::username(&ctx.app, user);
    let (l, m, already) =
        super::join(&ctx.app, &game, &req.league_id, user, &name, req.rating).await?;
    Ok(json!({ "division": division(&l, &m), "already_joined": already }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    game_id: String,
    league_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    score: i64,
    #[serde(default)]
    subscore: i64,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

pub async fn submit_score(ctx: RpcContext, req: SubmitRequest) -> Result<Value, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let l = get(&game, &req.league_id)?;
    if l.authoritative && !ctx.is_trusted() {
        return Err(RpcError::PermissionDenied(format!(
            "league `{}` is authoritative: only the game server submits scores",
            l.id
        )));
    }
    if req.score < 0 && l.scoring == Scoring::Incr {
        return Err(RpcError::invalid(format!(
            "score must not be negative in a league that adds scores up, not {}",
            req.score
        )));
    }
    let s = Submission {
        score: req.score,
        subscore: req.subscore,
        metadata: req.metadata,
        operator: None,
    };
    let record = super::submit(&ctx.app, &game, &l.id, user, s).await?;
    Ok(json!({ "score": record.score, "rank": record.rank, "record": record }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    game_id: String,
    league_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

/// The caller's cohort, ranked, with each member's zone.
async fn my_cohort(
    ctx: &RpcContext,
    req: &MineRequest,
) -> Result<(League, Member, Vec<Value>), RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let l = get(&game, &req.league_id)?;
    let m = member(&game, &l.id, user)?.ok_or_else(|| {
        RpcError::from(LeagueError::NotNow(format!(
            "you are not in league `{}` (league_join)",
            l.id
        )))
    })?;
    let ranked = super::ranked(&ctx.app, &game, &l, m.season, m.tier, m.cohort).await?;
    let names = cohort(&game, &l.id, m.season, m.tier, m.cohort)?;
    let n = ranked.len();
    let rows = ranked
        .iter()
        .enumerate()
        .map(|(i, (u, score))| {
            let rank = i as u32 + 1;
            json!({
                "rank": rank,
                "user_id": u,
                "username": names.get(u).cloned().unwrap_or_default(),
                "score": score,
                "zone": rules::zone(m.tier, l.tiers.len(), rank, n, l.promotion, l.demotion),
            })
        })
        .collect();
    Ok((l, m, rows))
}

pub async fn standings(ctx: RpcContext, req: MineRequest) -> Result<Value, RpcError> {
    let (l, m, rows) = my_cohort(&ctx, &req).await?;
    Ok(json!({ "division": division(&l, &m), "standings": rows }))
}

pub async fn my_division(ctx: RpcContext, req: MineRequest) -> Result<Value, RpcError> {
    let (l, m, rows) = my_cohort(&ctx, &req).await?;
    let mine = rows
        .iter()
        .find(|r| r["user_id"] == json!(m.user_id))
        .cloned()
        .unwrap_or(Value::Null);
    let mut d = division(&l, &m);
    d["members"] = json!(rows.len());
    d["rank"] = mine["rank"].clone();
    d["score"] = mine["score"].clone();
    d["zone"] = mine["zone"].clone();
    Ok(json!({ "division": d }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    game_id: String,
    league_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct HistoryReply {
    league_id: String,
    seasons: Vec<super::Season>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub async fn history(ctx: RpcContext, req: HistoryRequest) -> Result<HistoryReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let l = get(&game, &req.league_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let prefix = Key::new().str(&l.id).uuid(user);
    let page =
        game.tree(HISTORY)?
            .page::<super::Season>(prefix.as_bytes(), start.as_deref(), limit)?;
    Ok(HistoryReply {
        league_id: l.id,
        cursor: paging::next(&page),
        seasons: page.entries.into_iter().map(|(_, s)| s).collect(),
    })
}
