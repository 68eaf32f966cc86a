//! Live events: time-boxed happenings a game runs, several at once — an XP multiplier
//! (double XP weekend), limited-time missions, and community goals (one server-wide counter
//! every player adds to; each threshold reached pays every player who contributed enough).
//! An event may come back on weekends, on given dates or on a cron schedule (UTC); each
//! occurrence keeps its own progress. An event tournament ranks scores on a leaderboard of
//! the leaderboards feature (one board per occurrence) and pays prizes by rank at the end. Start and end are announced to the game's players;
//! the end settles every reward due exactly once, whether the clock or an admin ends it.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

use std::collections::BTreeMap;

pub use model::{
    AppliesTo, CommunityGoal, Event, EventMission, EventState, Participation, Recurrence,
};

use serde_json::{json, Map};

use crate::app::App;
use crate::auth::UserId;
use crate::features::leaderboards::{self, Definition, LeaderboardError, Submission, Submitter};
use crate::features::missions::Reporter;
use crate::features::notifications;
use crate::features::profiles;
use crate::features::rewards::{self, Granted, Reward};
use crate::features::schedule;
use crate::features::vault::{self, fail, Vault, EXTRA};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameStore, Key, KeyReader, StoreError, Tree};

/// `g/<game>/event.id`: event id → [`Event`].
pub const EVENTS: &str = "event.id";
/// `g/<game>/event.id_occurrence_userid`: (event, occurrence, user) → [`Participation`].
pub const PARTICIPATION: &str = "event.id_occurrence_userid";
/// `g/<game>/event.id_occurrence_goalid`: (event, occurrence, goal) → server-wide total (u64).
pub const TOTALS: &str = "event.id_occurrence_goalid";

pub const JOB_START: &str = "event_start";
pub const JOB_END: &str = "event_end";

/// The rpc id event payouts keep their grant receipts under.
const GRANTS: &str = "events";

pub fn register(r: &mut Registry) {
    r.admin("event_create", Limit::Write, rpc::create);
    r.admin("event_end", Limit::Write, rpc::end);
    r.player("event_get_active_events", Limit::Read, rpc::active_events);
    r.player(
        "event_get_player_progress",
        Limit::Read,
        rpc::player_progress,
    );
    r.player(
        "event_complete_mission",
        Limit::Write,
        rpc::complete_mission,
    );
    r.player("event_contribute", Limit::Write, rpc::contribute);
    r.player("event_claim_rewards", Limit::Write, rpc::claim_rewards);
    r.player("event_submit_score", Limit::Write, rpc::submit_score);
    r.player("event_get_leaderboard", Limit::Read, rpc::leaderboard);
    r.job(JOB_START, start_job);
    r.job(JOB_END, end_job);
}

/// Which XP a multiplier is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XpTarget {
    Season,
    Profile,
}

fn event_key(id: &str) -> Key {
    Key::new().str(id)
}

fn part_prefix(id: &str, occurrence: u32) -> Key {
    Key::new().str(id).u64(u64::from(occurrence))
}

fn part_key(id: &str, occurrence: u32, user: UserId) -> Key {
    part_prefix(id, occurrence).uuid(user)
}

fn total_key(id: &str, occurrence: u32, goal: &str) -> Key {
    part_prefix(id, occurrence).str(goal)
}

pub fn load(game: &GameStore, id: &str) -> Result<Option<Event>, StoreError> {
    game.tree(EVENTS)?.get(event_key(id))
}

pub fn all(game: &GameStore) -> Result<Vec<Event>, StoreError> {
    game.tree(EVENTS)?
        .iter::<Event>()
        .map(|r| r.map(|(_, e)| e))
        .collect()
}

/// The XP multiplier (percent, 100 = ×1) of every event live at `now` for `target`; see
/// [`rules::stacked_percent`] for how several stack.
pub fn xp_multiplier(game: &GameStore, now: i64, target: XpTarget) -> Result<u32, StoreError> {
    let live = all(game)?;
    Ok(rules::stacked_percent(
        live.iter()
            .filter(|e| rules::is_live(e, now))
            .filter_map(|e| e.xp_boost.as_ref()),
        target == XpTarget::Season,
    ))
}

/// `reward` with its profile XP multiplied by the live events (what every reward a player
/// earns is paid as).
pub fn boost_reward(game: &GameStore, reward: &Reward) -> Result<Reward, StoreError> {
    if reward.xp == 0 {
        return Ok(reward.clone());
    }
    let percent = xp_multiplier(game, game.now(), XpTarget::Profile)?;
    let mut r = reward.clone();
    r.xp = crate::features::seasons::rules::boosted(r.xp, percent).min(rewards::rules::MAX_XP);
    Ok(r)
}

/// A server-wide goal total.
pub fn total(game: &GameStore, id: &str, occurrence: u32, goal: &str) -> Result<u64, StoreError> {
    Ok(game
        .tree(TOTALS)?
        .get_raw(total_key(id, occurrence, goal))?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

pub fn participation(
    game: &GameStore,
    e: &Event,
    occurrence: u32,
    user: UserId,
) -> Result<Participation, StoreError> {
    Ok(game
        .tree(PARTICIPATION)?
        .get(part_key(&e.event_id, occurrence, user))?
        .unwrap_or_default())
}

/// The leaderboard of an event tournament's occurrence.
pub fn board_id(event_id: &str, occurrence: u32) -> String {
    format!("event:{event_id}:{occurrence}")
}

/// Creates the occurrence's tournament board unless it exists. Scores reach it only through
/// the event (`submitters: server`), so only while the event runs.
async fn ensure_board(app: &App, game: &GameStore, e: &Event, occ: u32) -> Result<(), RpcError> {
    let Some(t) = &e.tournament else {
        return Ok(());
    };
    let mut def = Definition::new(board_id(&e.event_id, occ));
    def.sort = t.sort;
    def.operator = t.operator;
    def.max_score = t.max_score;
    def.submitters = leaderboards::Submitters::Server;
    match leaderboards::create(app, game, def).await {
        Ok(_) | Err(LeaderboardError::Exists(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Stores a new event (and its tournament board) and schedules its start and end.
pub async fn create(app: &App, game: &GameStore, e: Event) -> Result<Event, RpcError> {
    let tree = game.tree(EVENTS)?;
    if !tree.insert_new(event_key(&e.event_id), &e)? {
        return Err(RpcError::AlreadyExists(format!(
            "event_id: event `{}` exists",
            e.event_id
        )));
    }
    ensure_board(app, game, &e, e.occurrence).await?;
    schedule::at(game, e.starts_at, JOB_START, &e.event_id)?;
    schedule::at(game, e.ends_at, JOB_END, &e.event_id)?;
    game.durable().await?;
    Ok(e)
}

fn live_event(game: &GameStore, id: &str) -> Result<Event, RpcError> {
    crate::features::achievements::rules::check_id("event_id", id)?;
    let e =
        load(game, id)?.ok_or_else(|| RpcError::NotFound(format!("event_id: no event `{id}`")))?;
    if !rules::is_live(&e, game.now()) {
        return Err(RpcError::FailedPrecondition(format!(
            "event `{id}` is not running (from {} to {})",
            crate::time::rfc3339(e.starts_at),
            crate::time::rfc3339(e.ends_at)
        )));
    }
    Ok(e)
}

/// What a report may add: servers report anything; a player only where allowed, at most
/// `cap` a call.
fn capped(asked: u64, by: Reporter, trusted: bool, cap: u64) -> Result<u64, RpcError> {
    if !trusted && by == Reporter::Server {
        return Err(RpcError::PermissionDenied(
            "this is reported by the game server only".into(),
        ));
    }
    Ok(if trusted { asked } else { asked.min(cap) })
}

/// Adds to a community goal: the player's contribution and the server-wide total move in
/// one transaction (concurrent contributions serialise; none is lost). Returns (total,
/// the player's contribution, what this call added).
pub async fn contribute(
    game: &GameStore,
    id: &str,
    goal_id: &str,
    user: UserId,
    amount: u64,
    trusted: bool,
) -> Result<(u64, u64, u64), RpcError> {
    let e = live_event(game, id)?;
    let goal = e
        .goals
        .iter()
        .find(|g| g.goal_id == goal_id)
        .ok_or_else(|| {
            RpcError::NotFound(format!("goal_id: event `{id}` has no goal `{goal_id}`"))
        })?;
    if amount == 0 || amount > rules::MAX_AMOUNT {
        return Err(RpcError::invalid(format!(
            "amount must be between 1 and {}",
            rules::MAX_AMOUNT
        )));
    }
    let add = capped(
        amount,
        goal.contribution_by,
        trusted,
        goal.max_player_contribution,
    )?;
    let parts = game.tree(PARTICIPATION)?;
    let totals = game.tree(TOTALS)?;
    let now = game.now();
    let occ = e.occurrence;
    let done = Tree::transaction(&[&parts, &totals], |tx| {
        let pk = part_key(id, occ, user);
        let mut p: Participation = tx.get(0, &pk)?.unwrap_or_default();
        let mine = p.contributions.entry(goal_id.to_string()).or_insert(0);
        *mine = mine.saturating_add(add);
        let mine = *mine;
        p.updated_at = now;
        tx.insert(0, &pk, &p)?;
        let total = tx.increment::<RpcError>(1, total_key(id, occ, goal_id), add)?;
        Ok((total, mine, add))
    })?;
    game.durable().await?;
    Ok(done)
}

/// Submits a score to the event's tournament (its board for the current occurrence).
pub async fn submit_score(
    app: &App,
    game: &GameStore,
    id: &str,
    user: UserId,
    score: i64,
    subscore: i64,
    trusted: bool,
) -> Result<leaderboards::Standing, RpcError> {
    let e = live_event(game, id)?;
    let Some(t) = &e.tournament else {
        return Err(RpcError::FailedPrecondition(format!(
            "event `{id}` has no tournament"
        )));
    };
    if !trusted && t.score_by == Reporter::Server {
        return Err(RpcError::PermissionDenied(
            "this event's scores are reported by the game server only".into(),
        ));
    }
    ensure_board(app, game, &e, e.occurrence).await?;
    let submission = Submission {
        score,
        subscore,
        ..Default::default()
    };
    Ok(leaderboards::submit(
        app,
        game,
        &board_id(id, e.occurrence),
        user,
        submission,
        Submitter::Server,
    )
    .await?)
}

/// Reports progress on an event mission (set, never lower, or `increment`). Returns the
/// progress and whether it is complete.
pub async fn report_mission(
    game: &GameStore,
    id: &str,
    mission_id: &str,
    user: UserId,
    value: Option<u64>,
    increment: bool,
    trusted: bool,
) -> Result<(EventMission, u64), RpcError> {
    let e = live_event(game, id)?;
    let m = e
        .missions
        .iter()
        .find(|m| m.mission_id == mission_id)
        .cloned()
        .ok_or_else(|| {
            RpcError::NotFound(format!(
                "mission_id: event `{id}` has no mission `{mission_id}`"
            ))
        })?;
    let parts = game.tree(PARTICIPATION)?;
    let now = game.now();
    let occ = e.occurrence;
    let progress = Tree::transaction(&[&parts], |tx| {
        let pk = part_key(id, occ, user);
        let mut p: Participation = tx.get(0, &pk)?.unwrap_or_default();
        let current = p.missions.get(mission_id).copied().unwrap_or(0);
        let asked = match (value, increment) {
            (None, _) => m.target.saturating_sub(current),
            (Some(v), true) => v,
            (Some(v), false) => v.saturating_sub(current),
        };
        let add = capped(asked, m.progress_by, trusted, m.max_player_increment)
            .map_err(fail::<RpcError, _>)?;
        let new = current.saturating_add(add).min(m.target);
        p.missions.insert(mission_id.to_string(), new);
        p.updated_at = now;
        tx.insert(0, &pk, &p)?;
        Ok(new)
    })?;
    game.durable().await?;
    Ok((m, progress))
}

/// One reward due to a player.
#[derive(Debug, Clone)]
pub struct Due {
    pub key: String,
    pub reward: Reward,
    pub reason: String,
    /// `mission` or `goal`.
    pub kind: &'static str,
    pub id: String,
}

/// What `p` is owed in occurrence `occ` of `e`: completed missions, and each reached
/// threshold of the goals they contributed enough to. `totals`: goal id → total.
pub fn due(e: &Event, occ: u32, p: &Participation, totals: &BTreeMap<String, u64>) -> Vec<Due> {
    let mut out = Vec::new();
    for m in &e.missions {
        if p.missions.get(&m.mission_id).copied().unwrap_or(0) >= m.target {
            out.push(Due {
                key: format!("event:{}:{occ}:mission:{}", e.event_id, m.mission_id),
                reward: m.reward.clone(),
                reason: format!("event {} mission {}", e.event_id, m.mission_id),
                kind: "mission",
                id: m.mission_id.clone(),
            });
        }
    }
    for g in &e.goals {
        let mine = p.contributions.get(&g.goal_id).copied().unwrap_or(0);
        if !rules::qualifies(g, mine) {
            continue;
        }
        let t = totals.get(&g.goal_id).copied().unwrap_or(0);
        for i in rules::reached(g, t) {
            out.push(Due {
                key: format!("event:{}:{occ}:goal:{}:{i}", e.event_id, g.goal_id),
                reward: g.thresholds[i].reward.clone(),
                reason: format!(
                    "event {} goal {} threshold {}",
                    e.event_id, g.goal_id, g.thresholds[i].at
                ),
                kind: "goal",
                id: g.goal_id.clone(),
            });
        }
    }
    out
}

fn totals(game: &GameStore, e: &Event, occ: u32) -> Result<BTreeMap<String, u64>, StoreError> {
    e.goals
        .iter()
        .map(|g| {
            Ok((
                g.goal_id.clone(),
                total(game, &e.event_id, occ, &g.goal_id)?,
            ))
        })
        .collect()
}

/// Pays what is due (not yet paid) to `user` in one transaction; each key pays once (the
/// participation's `paid` list and a grant receipt commit with the payment). Durable.
pub async fn pay(
    game: &GameStore,
    e: &Event,
    occ: u32,
    user: UserId,
    items: &[Due],
) -> Result<Vec<(Due, Granted)>, RpcError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let boosted: Vec<Reward> = items
        .iter()
        .map(|d| boost_reward(game, &d.reward))
        .collect::<Result<_, _>>()?;
    let ids: Vec<Vec<uuid::Uuid>> = boosted.iter().map(rewards::instance_ids).collect();
    let parts = game.tree(PARTICIPATION)?;
    let now = game.now();
    let vault = Vault::open(game)?;
    let paid = vault.transaction(&[&parts], |tx| {
        let pk = part_key(&e.event_id, occ, user);
        let mut p: Participation = tx.get(EXTRA, &pk)?.unwrap_or_default();
        let mut out = Vec::new();
        for ((d, r), ids) in items.iter().zip(&boosted).zip(&ids) {
            if p.paid.contains(&d.key) {
                continue;
            }
            let request = json!({ "reward": d.reward, "reason": d.reason });
            let (g, _) = vault::once(tx, user, GRANTS, Some(&d.key), &request, || {
                rewards::grant_in::<RpcError>(tx, user, r, &d.reason, ids)
            })?;
            p.paid.push(d.key.clone());
            out.push((d.clone(), g));
        }
        p.updated_at = now;
        tx.insert(EXTRA, &pk, &p)?;
        Ok(out)
    })?;
    game.durable().await?;
    Ok(paid)
}

/// What a player claims now: every due reward, or those of one mission or goal. Naming one
/// that is not due, or already paid, is refused.
pub async fn claim(
    app: &App,
    game: &GameStore,
    id: &str,
    user: UserId,
    only: Option<(&'static str, String)>,
) -> Result<Vec<(Due, Granted)>, RpcError> {
    let e = live_event(game, id)?;
    let occ = e.occurrence;
    let p = participation(game, &e, occ, user)?;
    let mut items = due(&e, occ, &p, &totals(game, &e, occ)?);
    if let Some((kind, which)) = &only {
        let known = match *kind {
            "mission" => e.missions.iter().any(|m| &m.mission_id == which),
            _ => e.goals.iter().any(|g| &g.goal_id == which),
        };
        if !known {
            return Err(RpcError::NotFound(format!(
                "{kind}_id: event `{id}` has no {kind} `{which}`"
            )));
        }
        items.retain(|d| d.kind == *kind && &d.id == which);
        if items.is_empty() {
            return Err(RpcError::FailedPrecondition(format!(
                "{kind} `{which}` has nothing to claim yet (not complete, or not enough contributed)"
            )));
        }
        if items.iter().all(|d| p.paid.contains(&d.key)) {
            return Err(RpcError::AlreadyExists(format!(
                "the rewards of {kind} `{which}` were already claimed"
            )));
        }
    }
    items.retain(|d| !p.paid.contains(&d.key));
    let paid = pay(game, &e, occ, user, &items).await?;
    if only.is_some() && paid.is_empty() {
        return Err(RpcError::AlreadyExists(
            "those rewards were already claimed".into(),
        ));
    }
    for (d, g) in &paid {
        if let Err(err) = rewards::announce(&app.bus, game, user, g, &d.reason) {
            tracing::warn!(error = %err, "event reward paid, notification not stored");
        }
    }
    Ok(paid)
}

/// Tells every player of the game (everyone with a profile) that an event started or ended.
fn announce(app: &App, game: &GameStore, e: &Event, started: bool) {
    if !e.announce {
        return;
    }
    let (code, subject) = if started {
        (
            notifications::codes::EVENT_STARTED,
            format!("{} has started", e.title),
        )
    } else {
        (
            notifications::codes::EVENT_ENDED,
            format!("{} has ended", e.title),
        )
    };
    let mut content = Map::new();
    content.insert("event_id".into(), json!(e.event_id));
    content.insert("title".into(), json!(e.title));
    content.insert("occurrence".into(), json!(e.occurrence));
    content.insert("starts_at".into(), json!(crate::time::rfc3339(e.starts_at)));
    content.insert("ends_at".into(), json!(crate::time::rfc3339(e.ends_at)));
    let users: Vec<UserId> = match profiles::tree(game) {
        Ok(t) => t
            .iter::<profiles::Profile>()
            .filter_map(|r| r.ok())
            .filter_map(|(k, _)| KeyReader::new(&k).uuid())
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "event announcement: players not listed");
            return;
        }
    };
    for u in users {
        if let Err(err) =
            notifications::notify(&app.bus, game, u, code, &subject, content.clone(), true)
        {
            tracing::warn!(error = %err, "event announcement not stored");
        }
    }
}

/// Moves an event from one of `from` to `to` (with `f` applied); false when it was not in
/// one of `from`.
fn transition(
    game: &GameStore,
    id: &str,
    from: &[EventState],
    f: impl Fn(&mut Event),
) -> Result<Option<Event>, RpcError> {
    let tree = game.tree(EVENTS)?;
    Tree::transaction(&[&tree], |tx| {
        let Some(mut e) = tx.get::<Event, RpcError>(0, event_key(id))? else {
            return Ok(None);
        };
        if !from.contains(&e.state) {
            return Ok(None);
        }
        f(&mut e);
        tx.insert(0, event_key(id), &e)?;
        Ok(Some(e))
    })
}

/// Settles the occurrence an event is in: marks it settling (claims close), pays every
/// participant what is due (once: keyed payouts), then schedules the next occurrence of a
/// recurring event or ends it. Re-running resumes a settlement cut short. Returns how many
/// rewards were paid by this run.
pub async fn settle(
    app: &App,
    game: &GameStore,
    id: &str,
    stop_recurring: bool,
) -> Result<usize, RpcError> {
    let now = game.now();
    let Some(e) = transition(
        game,
        id,
        &[
            EventState::Scheduled,
            EventState::Active,
            EventState::Settling,
        ],
        |e| {
            e.state = EventState::Settling;
            e.ends_at = e.ends_at.min(now);
            if stop_recurring {
                e.recurrence = None;
            }
        },
    )?
    else {
        return Ok(0);
    };
    game.durable().await?;
    let occ = e.occurrence;
    let sums = totals(game, &e, occ)?;
    let prefix = part_prefix(id, occ);
    let plen = prefix.as_bytes().len();
    let players: Vec<(UserId, Participation)> = game
        .tree(PARTICIPATION)?
        .scan_prefix::<Participation>(&prefix)
        .filter_map(|r| r.ok())
        .filter_map(|(k, p)| KeyReader::new(&k[plen..]).uuid().map(|u| (u, p)))
        .collect();
    let mut count = 0;
    for (user, p) in players {
        let items: Vec<Due> = due(&e, occ, &p, &sums)
            .into_iter()
            .filter(|d| !p.paid.contains(&d.key))
            .collect();
        let paid = pay(game, &e, occ, user, &items).await?;
        count += paid.len();
        for (d, g) in &paid {
            if let Err(err) = rewards::announce(&app.bus, game, user, g, &d.reason) {
                tracing::warn!(error = %err, "event reward paid, notification not stored");
            }
        }
    }
    if let Some(t) = &e.tournament {
        let last = t.prizes.last().map_or(0, |p| p.rank_to);
        if last > 0 {
            let listing =
                leaderboards::top(app, game, &board_id(id, occ), last as u32, None).await?;
            for r in listing.records {
                let Some(prize) = rules::prize_for(t, r.rank) else {
                    continue;
                };
                let d = Due {
                    key: format!("event:{id}:{occ}:rank:{}", r.rank),
                    reward: prize.reward.clone(),
                    reason: format!("event {id} tournament rank {}", r.rank),
                    kind: "prize",
                    id: r.rank.to_string(),
                };
                let paid = pay(game, &e, occ, r.owner_id, std::slice::from_ref(&d)).await?;
                count += paid.len();
                for (d, g) in &paid {
                    if let Err(err) = rewards::announce(&app.bus, game, r.owner_id, g, &d.reason) {
                        tracing::warn!(error = %err, "event prize paid, notification not stored");
                    }
                }
            }
        }
    }
    let next = e
        .recurrence
        .as_ref()
        .and_then(|r| rules::next_window(r, e.ends_at.max(now)));
    let moved = transition(game, id, &[EventState::Settling], |ev| match next {
        Some((s, end)) => {
            ev.state = EventState::Scheduled;
            ev.starts_at = s;
            ev.ends_at = end;
            ev.occurrence = occ + 1;
        }
        None => ev.state = EventState::Ended,
    })?;
    if let (Some(ev), Some(_)) = (&moved, next) {
        schedule::at(game, ev.starts_at, JOB_START, id)?;
        schedule::at(game, ev.ends_at, JOB_END, id)?;
        ensure_board(app, game, ev, ev.occurrence).await?;
    }
    game.durable().await?;
    if moved.is_some() {
        announce(app, game, &e, false);
        tracing::info!(game_id = %game.id(), event_id = %id, occurrence = occ, paid = count, "event ended");
    }
    Ok(count)
}

/// Job `event_start`: a scheduled event whose window opened becomes active and is announced.
async fn start_job(app: App, game: GameStore, id: String) -> Result<(), RpcError> {
    let now = game.now();
    let Some(e) = load(&game, &id)? else {
        return Ok(());
    };
    if now < e.starts_at || now >= e.ends_at {
        return Ok(());
    }
    if let Some(e) = transition(&game, &id, &[EventState::Scheduled], |e| {
        e.state = EventState::Active
    })? {
        game.durable().await?;
        announce(&app, &game, &e, true);
    }
    Ok(())
}

/// Job `event_end`: at the end of its window an event settles (and a recurring one is
/// scheduled again).
async fn end_job(app: App, game: GameStore, id: String) -> Result<(), RpcError> {
    let Some(e) = load(&game, &id)? else {
        return Ok(());
    };
    if e.state == EventState::Ended || game.now() < e.ends_at {
        return Ok(());
    }
    settle(&app, &game, &id, false).await?;
    Ok(())
}

/// The contributors of one occurrence, highest first (to `goal`, or to all goals summed);
/// ties go to who got there first. (user, score, last contribution time).
pub fn contributors(
    game: &GameStore,
    e: &Event,
    occ: u32,
    goal: Option<&str>,
) -> Result<Vec<(UserId, u64, i64)>, StoreError> {
    let prefix = part_prefix(&e.event_id, occ);
    let plen = prefix.as_bytes().len();
    let mut rows = Vec::new();
    for r in game
        .tree(PARTICIPATION)?
        .scan_prefix::<Participation>(&prefix)
    {
        let (k, p) = r?;
        let Some(u) = KeyReader::new(&k[plen..]).uuid() else {
            continue;
        };
        let score: u64 = match goal {
            Some(g) => p.contributions.get(g).copied().unwrap_or(0),
            None => p
                .contributions
                .values()
                .fold(0u64, |a, b| a.saturating_add(*b)),
        };
        if score > 0 {
            rows.push((u, score, p.updated_at));
        }
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    Ok(rows)
}
