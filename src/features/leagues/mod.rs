//! Leagues: a ladder of tiers (bronze … master) played in seasons. Each season a tier is
//! split into cohorts of at most `cohort_size` players (filled in join order, or by rating
//! when re-formed); members score in their cohort (a leaderboard per cohort); at season end
//! the top of each cohort's promotion zone goes up a tier, the bottom of its demotion zone
//! (and, if set, anyone idle) goes down, each member is paid the reward band of their rank
//! exactly once, the season is written to their history, and everyone is placed into the
//! new season's cohorts. The season end is a stored job in game time: a season due while
//! the server was down ends at start, and a crash mid-way re-runs harmlessly.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{League, Member, Move, Season, Tier, Zone};

use std::collections::BTreeMap;

use crate::app::App;
use crate::auth::UserId;
use crate::features::leaderboards::{self, Definition, LeaderboardError, Submitter};
use crate::features::rewards::{self, RewardError};
use crate::features::schedule;
use crate::features::tournaments::formats::SeedBy;
use crate::features::vault::fail;
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, StoreError, Tree};

/// `g/<game>/league.id`: league id → [`League`].
pub const LEAGUES: &str = "league.id";
/// `g/<game>/league.id_userid`: (league, user) → [`Member`].
pub const MEMBERS: &str = "league.id_userid";
/// `g/<game>/league.id_season_tier_cohort_userid`: who is in each cohort → username.
pub const COHORTS: &str = "league.id_season_tier_cohort_userid";
/// `g/<game>/league.id_userid_season`: (league, user, season desc) → [`Season`].
pub const HISTORY: &str = "league.id_userid_season";
/// The scheduled-job kind that ends a league's season; the subject is the league id.
pub const SEASON_END_JOB: &str = "league_season_end";

#[derive(Debug, thiserror::Error)]
pub enum LeagueError {
    #[error("{0}")]
    Invalid(String),
    #[error("league_id: no league `{0}`")]
    NotFound(String),
    #[error("{0}")]
    NotNow(String),
    #[error("{0}")]
    Exists(String),
    #[error(transparent)]
    Reward(#[from] RewardError),
    #[error(transparent)]
    Leaderboard(#[from] LeaderboardError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LeagueError> for RpcError {
    fn from(e: LeagueError) -> Self {
        match e {
            LeagueError::Invalid(m) => RpcError::InvalidArgument(m),
            e @ LeagueError::NotFound(_) => RpcError::NotFound(e.to_string()),
            LeagueError::NotNow(m) => RpcError::FailedPrecondition(m),
            LeagueError::Exists(m) => RpcError::AlreadyExists(m),
            LeagueError::Reward(r) => r.into(),
            LeagueError::Leaderboard(l) => l.into(),
            LeagueError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin("league_create", Limit::Write, rpc::create);
    r.player("league_join", Limit::Write, rpc::join);
    r.player("league_submit_score", Limit::Write, rpc::submit_score);
    r.player("league_get_standings", Limit::Read, rpc::standings);
    r.player("league_get_my_division", Limit::Read, rpc::my_division);
    r.player("league_get_history", Limit::Read, rpc::history);
    r.job(SEASON_END_JOB, job);
}

fn league_key(id: &str) -> Key {
    Key::new().str(id)
}

fn member_key(id: &str, user: UserId) -> Key {
    Key::new().str(id).uuid(user)
}

fn cohort_prefix(id: &str, season: u64, tier: usize, cohort: u32) -> Key {
    Key::new()
        .str(id)
        .u64(season)
        .u64(tier as u64)
        .u64(cohort as u64)
}

fn history_key(id: &str, user: UserId, season: u64) -> Key {
    Key::new().str(id).uuid(user).u64_desc(season)
}

/// The leaderboard that ranks one cohort of one season.
pub fn board_id(id: &str, season: u64, tier: usize, cohort: u32) -> String {
    format!("league.{id}.{season}.{tier}.{cohort}")
}

/// The idempotency key a season's reward is paid under (one per member and season).
pub fn reward_key(id: &str, season: u64) -> String {
    format!("league:{id}:season:{season}")
}

pub fn get(game: &GameStore, id: &str) -> Result<League, LeagueError> {
    game.tree(LEAGUES)?
        .get(league_key(id))?
        .ok_or_else(|| LeagueError::NotFound(id.to_string()))
}

pub fn member(game: &GameStore, id: &str, user: UserId) -> Result<Option<Member>, StoreError> {
    game.tree(MEMBERS)?.get(member_key(id, user))
}

/// The members of one cohort: user → username.
pub fn cohort(
    game: &GameStore,
    id: &str,
    season: u64,
    tier: usize,
    cohort: u32,
) -> Result<BTreeMap<UserId, String>, StoreError> {
    let prefix = cohort_prefix(id, season, tier, cohort);
    let skip = prefix.as_bytes().len();
    game.tree(COHORTS)?
        .scan_prefix::<String>(prefix)
        .map(|r| {
            let (k, name) = r?;
            let user = crate::store::KeyReader::new(&k[skip..])
                .uuid()
                .ok_or_else(|| StoreError::Codec("cohort key without a user".into()))?;
            Ok((user, name))
        })
        .collect()
}

/// Creates a league; its first season starts at `l.season_started_at`.
pub async fn create(game: &GameStore, l: &League) -> Result<(), LeagueError> {
    if !game.tree(LEAGUES)?.insert_new(league_key(&l.id), l)? {
        return Err(LeagueError::Exists(format!(
            "league_id: league `{}` already exists",
            l.id
        )));
    }
    schedule::at(game, l.season_ends_at, SEASON_END_JOB, &l.id)?;
    game.durable().await?;
    Ok(())
}

async fn ensure_board(
    app: &App,
    game: &GameStore,
    l: &League,
    m: &Member,
) -> Result<String, LeagueError> {
    let id = board_id(&l.id, m.season, m.tier, m.cohort);
    let mut def = Definition::new(id.clone());
    def.operator = match l.scoring {
        model::Scoring::Incr => leaderboards::Operator::Incr,
        model::Scoring::Best => leaderboards::Operator::Best,
    };
    def.submitters = leaderboards::Submitters::Server;
    def.metadata.insert("league_id".into(), l.id.clone().into());
    match leaderboards::create(app, game, def).await {
        Ok(_) | Err(LeaderboardError::Exists(_)) => Ok(id),
        Err(e) => Err(e.into()),
    }
}

/// Joins `user` into the lowest tier's last cohort of the season with room (a new cohort
/// when all are full). Joining again answers the membership as it is.
pub async fn join(
    app: &App,
    game: &GameStore,
    id: &str,
    user: UserId,
    username: &str,
    rating: Option<f64>,
) -> Result<(League, Member, bool), LeagueError> {
    let now = game.now();
    let trees = [
        game.tree(LEAGUES)?,
        game.tree(MEMBERS)?,
        game.tree(COHORTS)?,
    ];
    let done = Tree::transaction(&trees.iter().collect::<Vec<_>>(), |tx| {
        let mut l: League = tx
            .get(0, league_key(id))?
            .ok_or_else(|| fail(LeagueError::NotFound(id.to_string())))?;
        if let Some(m) = tx.get::<Member, LeagueError>(1, member_key(id, user))? {
            return Ok((l, m, true));
        }
        if now >= l.season_ends_at {
            return Err(fail(LeagueError::NotNow(format!(
                "season {} of league `{id}` is closing; join again in a moment",
                l.season
            ))));
        }
        let size = l.cohort_size;
        let counts = &mut l.cohorts[0];
        if counts.last().is_none_or(|c| *c >= size) {
            counts.push(0);
        }
        let cohort = counts.len() - 1;
        counts[cohort] += 1;
        l.join_seq += 1;
        l.members += 1;
        let m = Member {
            user_id: user,
            username: username.to_string(),
            tier: 0,
            cohort: cohort as u32,
            season: l.season,
            joined: l.join_seq,
            joined_at: now,
            rating,
        };
        tx.insert(1, member_key(id, user), &m)?;
        tx.insert(
            2,
            cohort_prefix(id, l.season, 0, cohort as u32).uuid(user),
            &m.username,
        )?;
        tx.insert(0, league_key(id), &l)?;
        Ok::<_, Abort<LeagueError>>((l, m, false))
    })?;
    game.durable().await?;
    ensure_board(app, game, &done.0, &done.1).await?;
    Ok(done)
}

/// Adds a member's score to their cohort of the running season.
pub async fn submit(
    app: &App,
    game: &GameStore,
    id: &str,
    user: UserId,
    submission: leaderboards::Submission,
) -> Result<leaderboards::Standing, LeagueError> {
    let l = get(game, id)?;
    let m = member(game, id, user)?
        .ok_or_else(|| LeagueError::NotNow(format!("join league `{id}` before scoring in it")))?;
    if game.now() >= l.season_ends_at || m.season != l.season {
        return Err(LeagueError::NotNow(format!(
            "season {} of league `{id}` is closing; scores count from the next season",
            l.season
        )));
    }
    let board = ensure_board(app, game, &l, &m).await?;
    Ok(leaderboards::submit(app, game, &board, user, submission, Submitter::Server).await?)
}

/// A cohort ranked: members with a score best first (by the cohort's leaderboard), then
/// idle members in join order.
pub async fn ranked(
    app: &App,
    game: &GameStore,
    l: &League,
    season: u64,
    tier: usize,
    c: u32,
) -> Result<Vec<(UserId, Option<i64>)>, LeagueError> {
    let members = cohort(game, &l.id, season, tier, c)?;
    let board = board_id(&l.id, season, tier, c);
    let limit = (members.len() as u32).clamp(1, leaderboards::MAX_LIMIT);
    let records = match leaderboards::top(app, game, &board, limit, None).await {
        Ok(listing) => listing.records,
        Err(LeaderboardError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut out: Vec<(UserId, Option<i64>)> = records
        .iter()
        .filter(|r| members.contains_key(&r.owner_id))
        .map(|r| (r.owner_id, Some(r.score)))
        .collect();
    let mut idle: Vec<Member> = Vec::new();
    for user in members.keys() {
        if !out.iter().any(|(u, _)| u == user) {
            if let Some(m) = member(game, &l.id, *user)? {
                idle.push(m);
            }
        }
    }
    idle.sort_by_key(|m| m.joined);
    out.extend(idle.into_iter().map(|m| (m.user_id, None)));
    Ok(out)
}

/// The scheduled season end.
pub async fn job(app: App, game: GameStore, subject: String) -> Result<(), RpcError> {
    match end_season(&app, &game, &subject).await {
        Err(LeagueError::NotFound(_)) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Ends the season if it is due: records each member's outcome in their history, pays
/// the reward bands once, moves everyone and forms the next season's cohorts. Returns
/// whether a season ended. Safe to re-run at any point.
pub async fn end_season(app: &App, game: &GameStore, id: &str) -> Result<bool, LeagueError> {
    let l = get(game, id)?;
    let now = game.now();
    if now < l.season_ends_at {
        return Ok(false);
    }
    let season = l.season;
    let tiers = l.tiers.len();
    // 1. Outcomes, cohort by cohort, written to history (the same every run).
    let mut outcomes: Vec<(usize, u32, rules::Outcome)> = Vec::new();
    for (tier, counts) in l.cohorts.iter().enumerate() {
        for c in 0..counts.len() as u32 {
            let r = ranked(app, game, &l, season, tier, c).await?;
            for o in rules::moves(tier, tiers, &r, l.promotion, l.demotion, l.idle_demotion) {
                outcomes.push((tier, c, o));
            }
        }
    }
    let history = game.tree(HISTORY)?;
    for (tier, c, o) in &outcomes {
        let reward = o.score.and_then(|_| l.prize(*tier, o.rank)).cloned();
        let s = Season {
            season,
            tier: *tier,
            tier_name: l.tiers[*tier].name.clone(),
            cohort: *c,
            rank: o.rank,
            score: o.score,
            moved: o.moved,
            new_tier: o.new_tier,
            reward,
            ended_at: l.season_ends_at,
        };
        history.insert(history_key(id, o.user_id, season), &s)?;
    }
    game.durable().await?;
    // 2. Rewards, once each.
    for (tier, _, o) in &outcomes {
        if o.score.is_none() {
            continue;
        }
        if let Some(reward) = l.prize(*tier, o.rank) {
            let reason = format!(
                "league {} season {season}: {} rank {}",
                l.name, l.tiers[*tier].name, o.rank
            );
            rewards::grant_and_notify(
                &app.bus,
                game,
                o.user_id,
                reward,
                &reason,
                Some(&reward_key(id, season)),
            )
            .await?;
        }
    }
    // 3. Everyone into the next season's cohorts.
    let members: Vec<Member> = game
        .tree(MEMBERS)?
        .scan_prefix::<Member>(Key::new().str(id))
        .map(|r| r.map(|(_, m)| m))
        .collect::<Result<_, _>>()?;
    let new_tier: BTreeMap<UserId, usize> = outcomes
        .iter()
        .map(|(_, _, o)| (o.user_id, o.new_tier))
        .collect();
    let mut by_tier: Vec<Vec<&Member>> = vec![Vec::new(); tiers];
    for m in &members {
        let t = new_tier.get(&m.user_id).copied().unwrap_or(m.tier);
        by_tier[t.min(tiers - 1)].push(m);
    }
    let mut placed: Vec<Member> = Vec::with_capacity(members.len());
    let mut counts: Vec<Vec<u32>> = Vec::with_capacity(tiers);
    for (t, list) in by_tier.iter_mut().enumerate() {
        match l.fill {
            SeedBy::JoinOrder => list.sort_by_key(|m| m.joined),
            SeedBy::Rating => list.sort_by(|a, b| match (a.rating, b.rating) {
                (Some(x), Some(y)) => y.total_cmp(&x).then(a.joined.cmp(&b.joined)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.joined.cmp(&b.joined),
            }),
        }
        let order: Vec<UserId> = list.iter().map(|m| m.user_id).collect();
        let split = rules::split(&order, l.cohort_size as usize);
        counts.push(split.iter().map(|c| c.len() as u32).collect());
        for (ci, ids) in split.iter().enumerate() {
            for u in ids {
                if let Some(m) = list.iter().find(|m| m.user_id == *u) {
                    placed.push(Member {
                        tier: t,
                        cohort: ci as u32,
                        season: season + 1,
                        ..(*m).clone()
                    });
                }
            }
        }
    }
    let trees = [
        game.tree(LEAGUES)?,
        game.tree(MEMBERS)?,
        game.tree(COHORTS)?,
    ];
    let next_end = l.season_ends_at + l.season_secs;
    let moved = Tree::transaction(&trees.iter().collect::<Vec<_>>(), |tx| {
        let mut cur: League = tx
            .get(0, league_key(id))?
            .ok_or_else(|| fail(LeagueError::NotFound(id.to_string())))?;
        if cur.season != season {
            return Ok(false);
        }
        for m in &placed {
            tx.insert(1, member_key(id, m.user_id), m)?;
            tx.insert(
                2,
                cohort_prefix(id, m.season, m.tier, m.cohort).uuid(m.user_id),
                &m.username,
            )?;
        }
        cur.season = season + 1;
        cur.season_started_at = cur.season_ends_at;
        cur.season_ends_at = next_end;
        cur.cohorts = counts.clone();
        tx.insert(0, league_key(id), &cur)?;
        Ok::<_, Abort<LeagueError>>(true)
    })?;
    schedule::at(game, next_end, SEASON_END_JOB, id)?;
    game.durable().await?;
    Ok(moved)
}
