//! The live queues of every game, in memory, with sled as the truth behind them: a ticket is
//! stored before it is queued and removed when it leaves. Each game has one lock; the pass,
//! queueing, cancelling and party changes take it, and write their few sled keys under it so
//! memory and store never disagree on who is queued.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::matcher::{self, Explanation};
use super::model::{
    Backfill, BackfillStatus, FoundMatch, LastTicket, Mode, Party, RecentOpponents, Ticket,
    TicketState,
};
use super::{
    MatchmakingError, FOUND, LAST, PARTIES, PARTY_BY_USER, RECENT, TICKETS, TICKET_BY_USER,
};
use crate::app::App;
use crate::auth::UserId;
use crate::config::MatchmakingConfig;
use crate::features::matches::{self, MatchDirectory, NewMatch};
use crate::features::notifications::{self, codes};
use crate::store::{Abort, GameId, GameStore, Key, KeyReader, Store, StoreError, Tree};

/// What a player needs to take their seat in a found match.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeatPass {
    pub match_id: String,
    pub host: String,
    pub port: u16,
    pub alpn: String,
    pub ticket: String,
    /// Unix milliseconds (wall clock) when the join ticket stops working.
    pub ticket_expires_at: i64,
    /// Game-clock milliseconds by which the seat must be taken.
    pub accept_by_ms: i64,
    /// The player's team (index into `teams`); null for a backfilled seat whose team the
    /// match decides.
    pub team: Option<usize>,
    /// The teams the matchmaker formed (empty for a match it did not find).
    pub teams: Vec<Vec<UserId>>,
    /// Set when the seat is in a running match that asked for players.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_id: Option<Uuid>,
}

/// Seats reserved whose players have not all taken them yet: a found match's (every
/// ticket of it), or one ticket's in a running match (a backfill).
#[derive(Debug, Clone)]
struct Pending {
    match_id: String,
    tickets: Vec<Uuid>,
    deadline_ms: i64,
    seats: HashMap<UserId, SeatPass>,
    backfill: Option<Uuid>,
    /// Players seen in the match by a pass so far (a found match's): they took their
    /// seat even if the match is gone by the time the others are settled.
    seen: HashSet<UserId>,
}

/// The key of the seats a matched ticket holds in `GameQueues::pending`.
fn hold_key(t: &Ticket) -> Option<String> {
    match &t.state {
        TicketState::Searching => None,
        TicketState::Matched {
            match_id,
            backfill_id: None,
            ..
        } => Some(match_id.clone()),
        TicketState::Matched {
            match_id,
            backfill_id: Some(_),
            ..
        } => Some(format!("{match_id}/{}", t.id)),
    }
}

/// Why a backfilled ticket's seats were not reserved.
enum Unseated {
    /// The match would not hand out a join ticket (full, or ended).
    Refused(String),
    Failed(String),
}

/// How long a backfill request that stopped being open is still shown.
const BACKFILL_SHOWN_MS: i64 = 300_000;

/// What `matchmaking_request_backfill` asks for, checked for shape by the RPC.
#[derive(Debug, Clone)]
pub struct BackfillAsk {
    pub match_id: String,
    pub mode: Option<String>,
    pub region: Option<String>,
    pub seats: u32,
    pub team: Option<usize>,
    pub timeout_secs: u64,
}

/// Matches formed per queue, for the stats.
#[derive(Debug, Default)]
struct Formed {
    /// Game-clock milliseconds of the matches formed in the last minute.
    recent: VecDeque<i64>,
    total: u64,
}

#[derive(Default)]
struct GameQueues {
    modes: BTreeMap<String, Mode>,
    tickets: HashMap<Uuid, Ticket>,
    by_user: HashMap<UserId, Uuid>,
    pending: BTreeMap<String, Pending>,
    /// Running matches' requests for players, open ones and those ended a short while ago.
    backfills: BTreeMap<Uuid, Backfill>,
    /// Each player's latest opponents, newest last (stored in `RECENT` as well).
    recent: HashMap<UserId, RecentOpponents>,
    /// Game-clock ms when opponents met too long ago were last forgotten.
    recent_pruned_ms: i64,
    formed: HashMap<(String, String), Formed>,
}

/// Every game's queues.
#[derive(Default)]
pub struct Matchmaker {
    games: Mutex<HashMap<GameId, Arc<Mutex<GameQueues>>>>,
    /// Opponents remembered per player, and for how long (ms, game clock).
    recent_keep: usize,
    recent_for_ms: i64,
}

/// How often a game's memory of recent opponents drops those met too long ago.
const RECENT_PRUNE_EVERY_MS: i64 = 60_000;

/// A notification to send once the game's lock is released.
struct Outgoing {
    user: UserId,
    code: i32,
    subject: &'static str,
    content: Map<String, Value>,
    persistent: bool,
}

/// Codes of matchmaking's own notifications (besides `MATCH_FOUND`).
pub const REQUEUED: i32 = 2;
pub const TICKET_DROPPED: i32 = 3;

/// Why tickets go back to the front of the queue.
const NO_SHOW: &str = "a player of the match did not take their seat";
const MATCH_GONE: &str = "the match ended before you took your seat";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn put_ticket(trees: &[Tree; 2], t: &Ticket) -> Result<(), StoreError> {
    trees[0].insert(Key::new().uuid(t.id), t)
}

fn delete_ticket(game: &GameStore, t: &Ticket) -> Result<(), StoreError> {
    let trees = [game.tree(TICKETS)?, game.tree(TICKET_BY_USER)?];
    Tree::transaction(&[&trees[0], &trees[1]], |tx| {
        tx.remove::<StoreError>(0, Key::new().uuid(t.id))?;
        for u in t.user_ids() {
            tx.remove::<StoreError>(1, Key::new().uuid(u))?;
        }
        Ok(())
    })
}

fn set_last(
    game: &GameStore,
    t: &Ticket,
    outcome: &str,
    match_id: Option<&str>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let users: Vec<UserId> = t.user_ids().collect();
    set_last_for(game, t, &users, outcome, match_id, at_ms)
}

/// As [`set_last`], for some of the ticket's players.
fn set_last_for(
    game: &GameStore,
    t: &Ticket,
    users: &[UserId],
    outcome: &str,
    match_id: Option<&str>,
    at_ms: i64,
) -> Result<(), StoreError> {
    let last = LastTicket {
        ticket_id: t.id,
        mode: t.mode.clone(),
        outcome: outcome.into(),
        match_id: match_id.map(str::to_string),
        at_ms,
    };
    let tree = game.tree(LAST)?;
    for u in users {
        tree.insert(Key::new().uuid(*u), &last)?;
    }
    Ok(())
}

/// The team a party of `size` joins when a backfill request names none: of the teams with
/// room for all of it (`filled[k]` players of `team_size` taken or reserved), the emptiest
/// (the lowest index on a tie). `None` when no team has room: the party is not split.
fn team_for_party(filled: &[u32], team_size: u32, size: u32) -> Option<usize> {
    filled
        .iter()
        .enumerate()
        .filter(|(_, &n)| n + size <= team_size)
        .min_by_key(|(k, &n)| (n, *k))
        .map(|(k, _)| k)
}

/// The team the arena puts a player it has no team for on: the smaller (the lowest index
/// on a tie).
fn smallest_team(filled: &[u32]) -> Option<usize> {
    filled
        .iter()
        .enumerate()
        .min_by_key(|(k, &n)| (n, *k))
        .map(|(k, _)| k)
}

fn p90(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * 0.9).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// One queue's figures.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    pub mode: String,
    pub region: String,
    pub waiting_tickets: usize,
    pub waiting_players: u32,
    /// Tickets matched whose seats are not all taken yet.
    pub matched_tickets: usize,
    pub avg_wait_secs: f64,
    pub p90_wait_secs: f64,
    pub longest_wait_secs: f64,
    pub matches_last_minute: usize,
    pub matches_total: u64,
}

/// A ticket's standing, for `matchmaking_get_status`.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub ticket: Ticket,
    pub wait_secs: f64,
    pub explanation: Option<Explanation>,
    pub seat: Option<SeatPass>,
}

impl Matchmaker {
    /// Rebuilds every game's queues from sled. Tickets that were matched when the server
    /// stopped lost their match with it: they go back to the front of their queue.
    pub fn load(store: &Store, config: &MatchmakingConfig) -> Matchmaker {
        let mm = Matchmaker {
            recent_keep: config.recent_opponents,
            recent_for_ms: config.recent_opponents_hours as i64 * 3_600_000,
            ..Matchmaker::default()
        };
        for g in store.games() {
            match store.game(g.id) {
                Ok(game) => {
                    if let Err(e) = mm.queues(&game) {
                        tracing::error!(error = %e, game = %g.id, "matchmaking queues not loaded");
                    }
                }
                Err(e) => tracing::error!(error = %e, game = %g.id, "game not opened"),
            }
        }
        mm
    }

    fn queues(&self, game: &GameStore) -> Result<Arc<Mutex<GameQueues>>, StoreError> {
        if let Some(q) = lock(&self.games).get(&game.id()) {
            return Ok(q.clone());
        }
        let mut q = GameQueues::default();
        for m in super::load_modes(game)? {
            q.modes.insert(m.name.clone(), m);
        }
        let trees = [game.tree(TICKETS)?, game.tree(TICKET_BY_USER)?];
        for r in trees[0].iter::<Ticket>() {
            let (_, mut t) = r?;
            if matches!(t.state, TicketState::Matched { .. }) {
                t.state = TicketState::Searching;
                t.front = true;
                put_ticket(&trees, &t)?;
            }
            for u in t.user_ids() {
                q.by_user.insert(u, t.id);
            }
            q.tickets.insert(t.id, t);
        }
        // Recent opponents, as remembered before the restart (those met too long ago go).
        let now = game.now_ms();
        let recent = game.tree(RECENT)?;
        let mut forgotten = Vec::new();
        for r in recent.iter::<RecentOpponents>() {
            let (k, mut r) = r?;
            let Some(user) = KeyReader::new(&k).uuid() else {
                continue;
            };
            if now - r.at_ms >= self.recent_for_ms || self.recent_keep == 0 {
                forgotten.push(k);
                continue;
            }
            while r.opponents.len() > self.recent_keep {
                r.opponents.pop_front();
            }
            q.recent.insert(user, r);
        }
        for k in forgotten {
            recent.remove(&k)?;
        }
        q.recent_pruned_ms = now;
        let mut games = lock(&self.games);
        Ok(games
            .entry(game.id())
            .or_insert_with(|| Arc::new(Mutex::new(q)))
            .clone())
    }

    /// Number of live tickets in every game (health, bench).
    pub fn ticket_count(&self) -> usize {
        let games: Vec<_> = lock(&self.games).values().cloned().collect();
        games.iter().map(|g| lock(g).tickets.len()).sum()
    }

    pub fn modes(&self, game: &GameStore) -> Result<Vec<Mode>, StoreError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        Ok(q.modes.values().cloned().collect())
    }

    pub fn mode(&self, game: &GameStore, name: &str) -> Result<Mode, MatchmakingError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        q.modes.get(name).cloned().ok_or_else(|| {
            MatchmakingError::NotFound(format!(
                "mode: no mode `{name}` in this game (see matchmaking_list_modes)"
            ))
        })
    }

    /// Replaces the game's modes; refused while a removed or reshaped mode has tickets.
    pub fn set_modes(&self, game: &GameStore, modes: Vec<Mode>) -> Result<(), MatchmakingError> {
        let q = self.queues(game)?;
        let mut q = lock(&q);
        for t in q.tickets.values() {
            let kept = modes.iter().find(|m| m.name == t.mode);
            let same_shape = kept.is_some_and(|m| {
                q.modes.get(&t.mode).is_some_and(|old| {
                    old.team_size == m.team_size
                        && old.team_count == m.team_count
                        && old.max_players == m.max_players
                })
            });
            if !same_shape {
                return Err(MatchmakingError::Precondition(format!(
                    "mode `{}` has live tickets: it cannot be removed or reshaped until they leave",
                    t.mode
                )));
            }
        }
        super::save_modes(game, &modes)?;
        q.modes = modes.into_iter().map(|m| (m.name.clone(), m)).collect();
        Ok(())
    }

    /// Queues a ticket (one player, or a party whole). Refused when any of its players
    /// already has a live ticket.
    pub fn enqueue(
        &self,
        game: &GameStore,
        ticket: Ticket,
        max_tickets: usize,
    ) -> Result<Ticket, MatchmakingError> {
        let q = self.queues(game)?;
        let mut q = lock(&q);
        if let Some(u) = ticket.user_ids().find(|u| q.by_user.contains_key(u)) {
            return Err(MatchmakingError::AlreadyExists(format!(
                "player {u} already has a live ticket (one per player): cancel it first"
            )));
        }
        if q.tickets.len() >= max_tickets {
            return Err(MatchmakingError::Full(format!(
                "this game's queues hold {max_tickets} tickets already: try again shortly"
            )));
        }
        if let Some(p) = ticket.party_id {
            // The party may have changed since the caller read it.
            let party: Option<Party> = game.tree(PARTIES)?.get(Key::new().uuid(p))?;
            let same = party.is_some_and(|party| {
                let mut a = party.members.clone();
                let mut b: Vec<UserId> = ticket.user_ids().collect();
                a.sort();
                b.sort();
                a == b
            });
            if !same {
                return Err(MatchmakingError::Precondition(
                    "the party changed meanwhile: queue again".into(),
                ));
            }
        }
        let trees = [game.tree(TICKETS)?, game.tree(TICKET_BY_USER)?];
        Tree::transaction(&[&trees[0], &trees[1]], |tx| {
            for u in ticket.user_ids() {
                if tx
                    .get::<Uuid, MatchmakingError>(1, Key::new().uuid(u))?
                    .is_some()
                {
                    return Err(Abort::Fail(MatchmakingError::AlreadyExists(format!(
                        "player {u} already has a live ticket"
                    ))));
                }
                tx.insert(1, Key::new().uuid(u), &ticket.id)?;
            }
            tx.insert(0, Key::new().uuid(ticket.id), &ticket)?;
            Ok(())
        })?;
        for u in ticket.user_ids() {
            q.by_user.insert(u, ticket.id);
        }
        q.tickets.insert(ticket.id, ticket.clone());
        Ok(ticket)
    }

    /// Takes a player's live ticket out of the queue (`outcome` says why). When it was
    /// matched, the other tickets of that match go back to the front at once. Returns the
    /// ticket as it was.
    pub fn cancel(
        &self,
        app: &App,
        game: &GameStore,
        user: UserId,
        ticket_id: Option<Uuid>,
        outcome: &str,
    ) -> Result<Ticket, MatchmakingError> {
        let q = self.queues(game)?;
        let mut out = Vec::new();
        let dir = matches::directory(app).ok();
        let t = lock(&q).cancel(game, dir.as_deref(), user, ticket_id, outcome, &mut out)?;
        send(app, game, out);
        Ok(t)
    }

    /// Where a player's live ticket stands.
    pub fn standing(
        &self,
        game: &GameStore,
        user: UserId,
    ) -> Result<Option<Standing>, MatchmakingError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        let Some(t) = q.by_user.get(&user).and_then(|id| q.tickets.get(id)) else {
            return Ok(None);
        };
        let now = game.now_ms();
        let wait_secs = (now - t.created_at_ms).max(0) as f64 / 1000.0;
        match &t.state {
            TicketState::Searching => {
                let mode = q.modes.get(&t.mode);
                let explanation = mode.map(|m| {
                    let queue: Vec<&Ticket> = q
                        .tickets
                        .values()
                        .filter(|o| {
                            o.mode == t.mode
                                && o.region == t.region
                                && o.state == TicketState::Searching
                        })
                        .collect();
                    matcher::explain(m, t, &queue, now)
                });
                Ok(Some(Standing {
                    ticket: t.clone(),
                    wait_secs,
                    explanation,
                    seat: None,
                }))
            }
            TicketState::Matched { .. } => Ok(Some(Standing {
                ticket: t.clone(),
                wait_secs,
                explanation: None,
                seat: hold_key(t)
                    .and_then(|k| q.pending.get(&k))
                    .and_then(|p| p.seats.get(&user).cloned()),
            })),
        }
    }

    pub fn stats(
        &self,
        game: &GameStore,
        mode: Option<&str>,
        region: Option<&str>,
    ) -> Result<Vec<QueueStats>, StoreError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        let now = game.now_ms();
        let mut by_queue: BTreeMap<(String, String), (Vec<f64>, u32, usize)> = BTreeMap::new();
        for t in q.tickets.values() {
            let e = by_queue
                .entry((t.mode.clone(), t.region.clone()))
                .or_default();
            match t.state {
                TicketState::Searching => {
                    e.0.push((now - t.created_at_ms).max(0) as f64 / 1000.0);
                    e.1 += t.size();
                }
                TicketState::Matched { .. } => e.2 += 1,
            }
        }
        for k in q.formed.keys() {
            by_queue.entry(k.clone()).or_default();
        }
        let mut out = Vec::new();
        for ((m, r), (mut waits, players, matched)) in by_queue {
            if mode.is_some_and(|x| x != m) || region.is_some_and(|x| x != r) {
                continue;
            }
            waits.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let formed = q.formed.get(&(m.clone(), r.clone()));
            out.push(QueueStats {
                waiting_tickets: waits.len(),
                waiting_players: players,
                matched_tickets: matched,
                avg_wait_secs: if waits.is_empty() {
                    0.0
                } else {
                    waits.iter().sum::<f64>() / waits.len() as f64
                },
                p90_wait_secs: p90(&waits),
                longest_wait_secs: waits.last().copied().unwrap_or(0.0),
                matches_last_minute: formed.map_or(0, |f| {
                    f.recent.iter().filter(|&&at| at > now - 60_000).count()
                }),
                matches_total: formed.map_or(0, |f| f.total),
                mode: m,
                region: r,
            });
        }
        Ok(out)
    }

    // ---- parties ----

    pub fn create_party(
        &self,
        game: &GameStore,
        user: UserId,
        max_size: u32,
    ) -> Result<Party, MatchmakingError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        if q.by_user.contains_key(&user) {
            return Err(MatchmakingError::Precondition(
                "you have a live ticket: cancel it before forming a party".into(),
            ));
        }
        let party = Party {
            id: Uuid::new_v4(),
            leader: user,
            members: vec![user],
            max_size,
            created_at: game.now(),
        };
        let trees = [game.tree(PARTIES)?, game.tree(PARTY_BY_USER)?];
        Tree::transaction(&[&trees[0], &trees[1]], |tx| {
            if tx
                .get::<Uuid, MatchmakingError>(1, Key::new().uuid(user))?
                .is_some()
            {
                return Err(Abort::Fail(MatchmakingError::AlreadyExists(
                    "you are already in a party: leave it first".into(),
                )));
            }
            tx.insert(1, Key::new().uuid(user), &party.id)?;
            tx.insert(0, Key::new().uuid(party.id), &party)?;
            Ok(())
        })?;
        Ok(party)
    }

    pub fn join_party(
        &self,
        game: &GameStore,
        user: UserId,
        party_id: Uuid,
    ) -> Result<Party, MatchmakingError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        if q.by_user.contains_key(&user) {
            return Err(MatchmakingError::Precondition(
                "you have a live ticket: cancel it before joining a party".into(),
            ));
        }
        let trees = [game.tree(PARTIES)?, game.tree(PARTY_BY_USER)?];
        let queued = |p: &Party| p.members.iter().any(|m| q.by_user.contains_key(m));
        Tree::transaction(&[&trees[0], &trees[1]], |tx| {
            if tx
                .get::<Uuid, MatchmakingError>(1, Key::new().uuid(user))?
                .is_some()
            {
                return Err(Abort::Fail(MatchmakingError::AlreadyExists(
                    "you are already in a party: leave it first".into(),
                )));
            }
            let Some(mut party) =
                tx.get::<Party, MatchmakingError>(0, Key::new().uuid(party_id))?
            else {
                return Err(Abort::Fail(MatchmakingError::NotFound(format!(
                    "party_id: no party {party_id}"
                ))));
            };
            if party.members.len() as u32 >= party.max_size {
                return Err(Abort::Fail(MatchmakingError::Precondition(format!(
                    "the party is full ({} players)",
                    party.max_size
                ))));
            }
            if queued(&party) {
                return Err(Abort::Fail(MatchmakingError::Precondition(
                    "the party is queued: its leader must cancel before anyone joins".into(),
                )));
            }
            party.members.push(user);
            tx.insert(1, Key::new().uuid(user), &party.id)?;
            tx.insert(0, Key::new().uuid(party.id), &party)?;
            Ok(party)
        })
    }

    /// Leaves the player's party (the next member leads; the last one out ends it). A
    /// queued party's ticket is cancelled: the party it was for no longer exists.
    pub fn leave_party(
        &self,
        app: &App,
        game: &GameStore,
        user: UserId,
    ) -> Result<(Uuid, Option<Party>), MatchmakingError> {
        let Some(party) = super::party_of(game, user)? else {
            return Err(MatchmakingError::NotFound("you are not in a party".into()));
        };
        let q = self.queues(game)?;
        let mut out = Vec::new();
        // One hold of the lock from the ticket check to the party's update: the leader
        // cannot queue the party as it was in between.
        let mut q = lock(&q);
        if q.by_user.contains_key(&user) {
            let dir = matches::directory(app).ok();
            match q.cancel(game, dir.as_deref(), user, None, "party_changed", &mut out) {
                Ok(_) | Err(MatchmakingError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let trees = [game.tree(PARTIES)?, game.tree(PARTY_BY_USER)?];
        let left = Tree::transaction(&[&trees[0], &trees[1]], |tx| {
            let Some(mut p) = tx.get::<Party, MatchmakingError>(0, Key::new().uuid(party.id))?
            else {
                return Ok(None);
            };
            p.members.retain(|m| *m != user);
            tx.remove(1, Key::new().uuid(user))?;
            if p.members.is_empty() {
                tx.remove(0, Key::new().uuid(p.id))?;
                return Ok(None);
            }
            if p.leader == user {
                p.leader = p.members[0];
            }
            tx.insert(0, Key::new().uuid(p.id), &p)?;
            Ok(Some(p))
        })?;
        drop(q);
        send(app, game, out);
        Ok((party.id, left))
    }

    // ---- backfill ----

    /// A running match asks for players to fill `ask.seats` seats (see [`Backfill`]).
    /// The mode and region default to those the matchmaker found the match for.
    pub fn request_backfill(
        &self,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        ask: BackfillAsk,
    ) -> Result<Backfill, MatchmakingError> {
        let Some(live) = dir.find(game.id(), &ask.match_id) else {
            return Err(MatchmakingError::NotFound(format!(
                "match_id: no live match {} in this game",
                ask.match_id
            )));
        };
        let found = super::found_match(game, &ask.match_id)?;
        let mode_name = match (&ask.mode, &found) {
            (Some(m), _) => m.clone(),
            (None, Some(f)) => f.mode.clone(),
            (None, None) => {
                return Err(MatchmakingError::Invalid(
                    "mode: required for a match the matchmaker did not find".into(),
                ))
            }
        };
        let region = ask
            .region
            .clone()
            .or_else(|| found.as_ref().map(|f| f.region.clone()))
            .unwrap_or_else(|| "any".into());
        let q = self.queues(game)?;
        let mut q = lock(&q);
        let Some(mode) = q.modes.get(&mode_name).cloned() else {
            return Err(MatchmakingError::NotFound(format!(
                "mode: no mode `{mode_name}` in this game (see matchmaking_list_modes)"
            )));
        };
        if !mode.regions.is_empty() && !mode.regions.contains(&region) {
            return Err(MatchmakingError::Invalid(format!(
                "region: `{region}` is not one of this mode's regions ({})",
                mode.regions.join(", ")
            )));
        }
        if let Some(t) = ask.team {
            if t >= mode.team_count as usize {
                return Err(MatchmakingError::Invalid(format!(
                    "team: a team index from 0 to {} (mode {} has {} teams)",
                    mode.team_count - 1,
                    mode.name,
                    mode.team_count
                )));
            }
        }
        if let Some(b) = q
            .backfills
            .values()
            .find(|b| b.match_id == ask.match_id && b.status == BackfillStatus::Open)
        {
            return Err(MatchmakingError::AlreadyExists(format!(
                "match {} already has an open backfill request ({}): cancel it first",
                ask.match_id, b.backfill_id
            )));
        }
        let present: HashSet<UserId> = dir
            .presences(game.id(), &[])
            .into_iter()
            .filter(|p| p.match_ids.contains(&ask.match_id))
            .map(|p| p.user_id)
            .collect();
        let free = live
            .max_size
            .saturating_sub(live.size)
            .saturating_sub(q.reserved_in(&ask.match_id, &present));
        if free == 0 {
            return Err(MatchmakingError::Precondition(format!(
                "the match has no free seat ({} of {} taken or reserved)",
                live.max_size - free,
                live.max_size
            )));
        }
        if ask.seats > free {
            return Err(MatchmakingError::Invalid(format!(
                "seats: between 1 and {free} (the match's free seats)"
            )));
        }
        // The players the match is rated around: those in it now, else those it was made for.
        let mut players: Vec<UserId> = present.into_iter().collect();
        if players.is_empty() {
            players = found.iter().flat_map(|f| f.teams.concat()).collect();
        }
        let mut ratings = Vec::new();
        for u in &players {
            ratings.push(super::rating(game, *u, &mode)?);
        }
        let (rating, deviation) = if ratings.is_empty() {
            (mode.initial_rating, 350.0)
        } else {
            let n = ratings.len() as f64;
            (
                ratings.iter().map(|r| r.rating).sum::<f64>() / n,
                (ratings
                    .iter()
                    .map(|r| r.deviation * r.deviation)
                    .sum::<f64>()
                    / n)
                    .sqrt(),
            )
        };
        let now = game.now_ms();
        let b = Backfill {
            backfill_id: Uuid::new_v4(),
            match_id: ask.match_id,
            mode: mode.name.clone(),
            region,
            status: BackfillStatus::Open,
            seats: ask.seats,
            open_seats: ask.seats,
            reserved_seats: 0,
            team: ask.team,
            rating,
            deviation,
            joined: Vec::new(),
            created_at_ms: now,
            expires_at_ms: now + ask.timeout_secs as i64 * 1000,
            ended_at_ms: None,
        };
        q.backfills.insert(b.backfill_id, b.clone());
        Ok(b)
    }

    /// Stops an open backfill request; seats already reserved stay until taken or timed out.
    pub fn cancel_backfill(
        &self,
        game: &GameStore,
        id: Uuid,
    ) -> Result<Backfill, MatchmakingError> {
        let q = self.queues(game)?;
        let mut q = lock(&q);
        let Some(b) = q.backfills.get_mut(&id) else {
            return Err(MatchmakingError::NotFound(format!(
                "backfill_id: no backfill request {id} (ended ones are kept 5 minutes)"
            )));
        };
        if b.status != BackfillStatus::Open {
            return Err(MatchmakingError::Precondition(format!(
                "the backfill request is no longer open ({})",
                serde_json::to_value(b.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )));
        }
        b.status = BackfillStatus::Cancelled;
        b.open_seats = 0;
        b.ended_at_ms = Some(game.now_ms());
        Ok(b.clone())
    }

    /// A backfill request as it stands (open ones, and ended ones for 5 minutes).
    pub fn backfill(&self, game: &GameStore, id: Uuid) -> Result<Backfill, MatchmakingError> {
        let q = self.queues(game)?;
        let q = lock(&q);
        q.backfills.get(&id).cloned().ok_or_else(|| {
            MatchmakingError::NotFound(format!(
                "backfill_id: no backfill request {id} (ended ones are kept 5 minutes)"
            ))
        })
    }

    // ---- the pass ----

    /// One matching pass over every game.
    pub fn run_pass(&self, app: &App) {
        let Ok(dir) = matches::directory(app) else {
            return; // realtime not started yet: no match can be created
        };
        let games: Vec<(GameId, Arc<Mutex<GameQueues>>)> = lock(&self.games)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (id, q) in games {
            let Ok(game) = app.store.game(id) else {
                continue;
            };
            let mut out = Vec::new();
            {
                let mut q = lock(&q);
                if q.tickets.is_empty() && q.backfills.is_empty() {
                    continue;
                }
                if let Err(e) = q.pass(app, &game, dir.as_ref(), &mut out) {
                    tracing::error!(error = %e, game = %id, "matching pass failed");
                }
                if let Err(e) = q.forget_old_opponents(&game, self.recent_for_ms) {
                    tracing::error!(error = %e, game = %id, "old opponents not forgotten");
                }
            }
            send(app, &game, out);
        }
    }
}

fn send(app: &App, game: &GameStore, out: Vec<Outgoing>) {
    for o in out {
        if let Err(e) = notifications::notify(
            &app.bus,
            game,
            o.user,
            o.code,
            o.subject,
            o.content,
            o.persistent,
        ) {
            tracing::warn!(error = %e, user = %o.user, "matchmaking notification not sent");
        }
    }
}

impl GameQueues {
    /// Takes a player's live ticket out (see [`Matchmaker::cancel`]).
    fn cancel(
        &mut self,
        game: &GameStore,
        dir: Option<&dyn MatchDirectory>,
        user: UserId,
        ticket_id: Option<Uuid>,
        outcome: &str,
        out: &mut Vec<Outgoing>,
    ) -> Result<Ticket, MatchmakingError> {
        let Some(&id) = self.by_user.get(&user) else {
            return Err(MatchmakingError::NotFound(
                "no live ticket for this player".into(),
            ));
        };
        if ticket_id.is_some_and(|t| t != id) {
            return Err(MatchmakingError::NotFound(format!(
                "ticket_id: not this player's live ticket (theirs is {id})"
            )));
        }
        let now = game.now_ms();
        let t = self.drop_ticket(game, id, outcome, now)?;
        if let Some(p) = hold_key(&t).and_then(|k| self.pending.remove(&k)) {
            match p.backfill {
                // Players already in the running match keep their seats; the others'
                // join tickets stop working and the match may find someone else.
                Some(b) => {
                    let seated: HashSet<UserId> = dir
                        .map(|d| d.presences(game.id(), &t.user_ids().collect::<Vec<_>>()))
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|pr| pr.match_ids.contains(&p.match_id))
                        .map(|pr| pr.user_id)
                        .collect();
                    let (joined, missing): (Vec<UserId>, Vec<UserId>) =
                        t.user_ids().partition(|u| seated.contains(u));
                    if let Some(d) = dir {
                        for u in &missing {
                            d.release_seat(game.id(), &p.match_id, *u);
                        }
                    }
                    let team = p.seats.values().next().and_then(|s| s.team);
                    self.backfill_joined(game, b, &p.match_id, team, &joined, now)?;
                    if !joined.is_empty() {
                        set_last_for(game, &t, &joined, "joined", Some(&p.match_id), now)?;
                    }
                    self.release_seats(b, missing.len() as u32);
                }
                None => {
                    for other in p.tickets.iter().filter(|o| **o != id) {
                        self.requeue(game, *other, NO_SHOW, out)?;
                    }
                }
            }
        }
        Ok(t)
    }

    /// Removes a ticket from memory and store, noting how it ended for its players.
    fn drop_ticket(
        &mut self,
        game: &GameStore,
        id: Uuid,
        outcome: &str,
        now_ms: i64,
    ) -> Result<Ticket, StoreError> {
        let Some(t) = self.tickets.get(&id).cloned() else {
            return Err(StoreError::Invalid(format!("ticket {id} is not queued")));
        };
        delete_ticket(game, &t)?;
        let match_id = match &t.state {
            TicketState::Matched { match_id, .. } => Some(match_id.as_str()),
            TicketState::Searching => None,
        };
        set_last(game, &t, outcome, match_id, now_ms)?;
        self.tickets.remove(&id);
        for u in t.user_ids() {
            self.by_user.remove(&u);
        }
        Ok(t)
    }

    /// Puts a matched ticket back, ahead of every ticket that was not put back.
    fn requeue(
        &mut self,
        game: &GameStore,
        id: Uuid,
        reason: &str,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), StoreError> {
        let trees = [game.tree(TICKETS)?, game.tree(TICKET_BY_USER)?];
        let Some(t) = self.tickets.get_mut(&id) else {
            return Ok(());
        };
        t.state = TicketState::Searching;
        t.front = true;
        put_ticket(&trees, t)?;
        for u in t.user_ids() {
            out.push(Outgoing {
                user: u,
                code: REQUEUED,
                subject: "Back in the queue",
                content: Map::from_iter([
                    ("ticket_id".to_string(), json!(t.id)),
                    ("reason".to_string(), json!(reason)),
                ]),
                persistent: false,
            });
        }
        Ok(())
    }

    fn pass(
        &mut self,
        app: &App,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), StoreError> {
        let now = game.now_ms();
        // Expired tickets leave.
        let expired: Vec<Uuid> =
            self.tickets
                .values()
                .filter(|t| {
                    t.state == TicketState::Searching
                        && self.modes.get(&t.mode).is_none_or(|m| {
                            now - t.created_at_ms >= m.expire_after_secs as i64 * 1000
                        })
                })
                .map(|t| t.id)
                .collect();
        for id in expired {
            let t = self.drop_ticket(game, id, "expired", now)?;
            for u in t.user_ids() {
                out.push(dropped(u, &t, "no match was found in time: queue again"));
            }
        }
        self.settle_pending(game, dir, now, out)?;
        // Running matches that asked for players are served before new matches form.
        self.settle_backfills(game, dir, now);
        self.fill_backfills(app, game, dir, now, out)?;
        // Match each queue.
        let mut queues: BTreeMap<(String, String), Vec<&Ticket>> = BTreeMap::new();
        for t in self.tickets.values() {
            if t.state == TicketState::Searching {
                queues
                    .entry((t.mode.clone(), t.region.clone()))
                    .or_default()
                    .push(t);
            }
        }
        let recent = &self.recent;
        let met = |a: UserId, b: UserId| recent.get(&a).is_some_and(|r| r.opponents.contains(&b));
        let mut found: Vec<(Mode, String, matcher::Proposal)> = Vec::new();
        for ((mode, region), tickets) in &queues {
            let Some(m) = self.modes.get(mode) else {
                continue;
            };
            for p in matcher::pass(m, tickets, now, &met) {
                found.push((m.clone(), region.clone(), p));
            }
        }
        for (mode, region, p) in found {
            if let Err(e) = self.start_match(app, game, dir, &mode, &region, &p, now, out) {
                tracing::warn!(error = %e, mode = %mode.name, "match not started; tickets stay queued");
                break;
            }
        }
        Ok(())
    }

    /// Seats taken finish a match's tickets; past the deadline, tickets with a no-show are
    /// dropped and the others go back to the front. A backfilled ticket is done once its
    /// players are in; a no-show gives its seats back to the request; a match gone first
    /// puts it back at the front.
    fn settle_pending(
        &mut self,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        now: i64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), StoreError> {
        let keys: Vec<String> = self.pending.keys().cloned().collect();
        for key in keys {
            let Some(p) = self.pending.get(&key).cloned() else {
                continue;
            };
            let users: Vec<UserId> = p.seats.keys().copied().collect();
            let seated: HashSet<UserId> = dir
                .presences(game.id(), &users)
                .into_iter()
                .filter(|pr| pr.match_ids.contains(&p.match_id))
                .map(|pr| pr.user_id)
                .collect();
            if let Some(b) = p.backfill {
                self.settle_backfilled(game, dir, &key, &p, b, &seated, now, out)?;
                continue;
            }
            // Who took their seat, counting those seen by an earlier pass (a match gone
            // has no one in it any more). The no-show rule below looks only at who is in.
            let mut taken = seated.clone();
            taken.extend(p.seen.iter().copied());
            if taken.len() == users.len() {
                self.pending.remove(&key);
                for id in &p.tickets {
                    if self.tickets.contains_key(id) {
                        self.drop_ticket(game, *id, "joined", now)?;
                    }
                }
                continue;
            }
            // A match that some players joined and that then ended (gone, or only running
            // its vote) takes no one else: those who joined are done, the others' tickets
            // go back to the front at once, whole. One nobody joined waits for its deadline
            // (it closed empty: its players are no-shows).
            if !taken.is_empty()
                && dir
                    .find(game.id(), &p.match_id)
                    .is_none_or(|live| !live.open)
            {
                self.pending.remove(&key);
                for id in &p.tickets {
                    let Some(t) = self.tickets.get(id) else {
                        continue;
                    };
                    if t.user_ids().all(|u| taken.contains(&u)) {
                        self.drop_ticket(game, *id, "joined", now)?;
                    } else {
                        for u in t.user_ids() {
                            dir.release_seat(game.id(), &p.match_id, u);
                        }
                        self.requeue(game, *id, MATCH_GONE, out)?;
                    }
                }
                continue;
            }
            if now < p.deadline_ms {
                if let Some(q) = self.pending.get_mut(&key) {
                    q.seen.extend(taken);
                }
                continue;
            }
            self.pending.remove(&key);
            for id in &p.tickets {
                let Some(t) = self.tickets.get(id) else {
                    continue;
                };
                if t.user_ids().all(|u| seated.contains(&u)) {
                    self.requeue(game, *id, NO_SHOW, out)?;
                } else {
                    let t = self.drop_ticket(game, *id, "no_show", now)?;
                    for u in t.user_ids() {
                        out.push(dropped(
                            u,
                            &t,
                            "a seat of this ticket was not taken in time: queue again",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn settle_backfilled(
        &mut self,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        key: &str,
        p: &Pending,
        backfill: Uuid,
        seated: &HashSet<UserId>,
        now: i64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), StoreError> {
        let Some(&id) = p.tickets.first() else {
            self.pending.remove(key);
            return Ok(());
        };
        let Some(t) = self.tickets.get(&id).cloned() else {
            self.pending.remove(key);
            return Ok(());
        };
        let team = p.seats.values().next().and_then(|s| s.team);
        if seated.len() == p.seats.len() {
            self.pending.remove(key);
            self.drop_ticket(game, id, "joined", now)?;
            let joined: Vec<UserId> = t.user_ids().collect();
            return self.backfill_joined(game, backfill, &p.match_id, team, &joined, now);
        }
        // A match gone, or ended and only waiting out its vote, takes no one else: the
        // ticket goes back to the front at once, whole.
        if dir
            .find(game.id(), &p.match_id)
            .is_none_or(|live| !live.open)
        {
            self.pending.remove(key);
            for u in t.user_ids() {
                dir.release_seat(game.id(), &p.match_id, u);
            }
            self.release_seats(backfill, t.size());
            return self.requeue(game, id, MATCH_GONE, out);
        }
        if now < p.deadline_ms {
            return Ok(());
        }
        // Time is up: the players in the match keep their seats; the others' go back to
        // the request.
        self.pending.remove(key);
        let (joined, missing): (Vec<UserId>, Vec<UserId>) =
            t.user_ids().partition(|u| seated.contains(u));
        for u in &missing {
            dir.release_seat(game.id(), &p.match_id, *u);
        }
        self.backfill_joined(game, backfill, &p.match_id, team, &joined, now)?;
        self.release_seats(backfill, missing.len() as u32);
        let t = self.drop_ticket(game, id, "no_show", now)?;
        if !joined.is_empty() {
            set_last_for(game, &t, &joined, "joined", Some(&p.match_id), now)?;
        }
        for u in missing {
            out.push(dropped(
                u,
                &t,
                "a seat of this ticket was not taken in time: queue again",
            ));
        }
        Ok(())
    }

    /// Players of a backfilled ticket took their seats: the request counts them, and the
    /// found match's teams (for `match_report_result`'s defaults) list them.
    fn backfill_joined(
        &mut self,
        game: &GameStore,
        backfill: Uuid,
        match_id: &str,
        team: Option<usize>,
        joined: &[UserId],
        now: i64,
    ) -> Result<(), StoreError> {
        if joined.is_empty() {
            return Ok(());
        }
        if let Some(b) = self.backfills.get_mut(&backfill) {
            b.reserved_seats = b.reserved_seats.saturating_sub(joined.len() as u32);
            b.joined.extend(joined.iter().copied());
            if b.status == BackfillStatus::Open && b.open_seats == 0 && b.reserved_seats == 0 {
                b.status = BackfillStatus::Filled;
                b.ended_at_ms = Some(now);
            }
        }
        if let Some(team) = team {
            let tree = game.tree(FOUND)?;
            let k = Key::new().str(match_id);
            if let Some(mut found) = tree.get::<FoundMatch>(&k)? {
                if let Some(side) = found.teams.get_mut(team) {
                    let new: Vec<UserId> = joined
                        .iter()
                        .copied()
                        .filter(|u| !side.contains(u))
                        .collect();
                    side.extend(new);
                    tree.insert(&k, &found)?;
                }
            }
        }
        Ok(())
    }

    /// Seats a backfill had reserved that were not taken: an open request fills them again.
    fn release_seats(&mut self, backfill: Uuid, seats: u32) {
        if let Some(b) = self.backfills.get_mut(&backfill) {
            b.reserved_seats = b.reserved_seats.saturating_sub(seats);
            if b.status == BackfillStatus::Open {
                b.open_seats += seats;
            }
        }
    }

    /// Seats of `match_id` reserved for players who are not in it yet.
    fn reserved_in(&self, match_id: &str, present: &HashSet<UserId>) -> u32 {
        self.pending
            .values()
            .filter(|p| p.match_id == match_id)
            .flat_map(|p| p.seats.keys())
            .filter(|u| !present.contains(u))
            .count() as u32
    }

    /// Open requests whose match ended (gone, or no longer taking players) or whose time
    /// ran out stop; those ended long ago go.
    fn settle_backfills(&mut self, game: &GameStore, dir: &dyn MatchDirectory, now: i64) {
        self.backfills
            .retain(|_, b| b.ended_at_ms.is_none_or(|at| now - at < BACKFILL_SHOWN_MS));
        for b in self.backfills.values_mut() {
            if b.status != BackfillStatus::Open {
                continue;
            }
            let status = if dir
                .find(game.id(), &b.match_id)
                .is_none_or(|live| !live.open)
            {
                BackfillStatus::MatchEnded
            } else if now >= b.expires_at_ms {
                BackfillStatus::Expired
            } else {
                continue;
            };
            b.status = status;
            b.open_seats = 0;
            b.ended_at_ms = Some(now);
        }
    }

    /// Fills open backfill requests from the searching tickets of their queue, oldest
    /// request first, before any new match is formed.
    fn fill_backfills(
        &mut self,
        app: &App,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        now: i64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), StoreError> {
        let mut open: Vec<(i64, Uuid)> = self
            .backfills
            .values()
            .filter(|b| b.status == BackfillStatus::Open && b.open_seats > 0)
            .map(|b| (b.created_at_ms, b.backfill_id))
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        open.sort();
        let online = dir.presences(game.id(), &[]);
        for (_, id) in open {
            let Some(b) = self.backfills.get(&id).cloned() else {
                continue;
            };
            let Some(mode) = self.modes.get(&b.mode).cloned() else {
                continue;
            };
            let Some(live) = dir.find(game.id(), &b.match_id).filter(|m| m.open) else {
                continue; // the next pass ends the request
            };
            let present: HashSet<UserId> = online
                .iter()
                .filter(|p| p.match_ids.contains(&b.match_id))
                .map(|p| p.user_id)
                .collect();
            let free = live
                .max_size
                .saturating_sub(live.size)
                .saturating_sub(self.reserved_in(&b.match_id, &present));
            let seats = b.open_seats.min(free);
            if seats == 0 {
                continue;
            }
            let players: Vec<UserId> = present.iter().copied().collect();
            // Who is on which team, when the request leaves the team to the matchmaker: a
            // party goes whole onto a team with room for it.
            let mut filled = match b.team {
                Some(_) => Vec::new(),
                None => match self.team_filling(game, &mode, &b.match_id, &present) {
                    Ok(filled) => filled,
                    Err(e) => {
                        tracing::warn!(error = %e, match_id = %b.match_id, "backfill skipped this pass: teams not read");
                        continue;
                    }
                },
            };
            let most_per_team = filled
                .iter()
                .map(|n| mode.team_size.saturating_sub(*n))
                .max();
            let chosen = {
                let queue: Vec<&Ticket> = self
                    .tickets
                    .values()
                    .filter(|t| {
                        t.mode == b.mode
                            && t.region == b.region
                            && t.state == TicketState::Searching
                    })
                    .collect();
                let recent = &self.recent;
                let met =
                    |a: UserId, c: UserId| recent.get(&a).is_some_and(|r| r.opponents.contains(&c));
                let window = matcher::window_since(&mode, b.created_at_ms, b.deviation, now);
                let most = match (b.team, most_per_team) {
                    (Some(_), _) => mode.team_size,
                    // A solo player always fits: the arena seats them on the smaller team.
                    (None, Some(room)) => room.max(1),
                    (None, None) => seats,
                };
                matcher::fill(
                    &mode, b.rating, window, seats, most, &players, &queue, now, &met,
                )
            };
            for t in chosen {
                let size = self.tickets.get(&t).map_or(1, Ticket::size);
                let team = match b.team {
                    Some(team) => Some(team),
                    None if size > 1 && !filled.is_empty() => {
                        match team_for_party(&filled, mode.team_size, size) {
                            Some(team) => Some(team),
                            // No team has room for the whole party now: it waits.
                            None => continue,
                        }
                    }
                    None => None,
                };
                match self.seat_backfill(app, game, dir, &mode, &b, team, t, &players, now, out) {
                    Ok(()) => {
                        if let Some(k) = team.or_else(|| smallest_team(&filled)) {
                            if let Some(n) = filled.get_mut(k) {
                                *n += size;
                            }
                        }
                    }
                    Err(e) => {
                        let refused = matches!(e, Unseated::Refused(_));
                        let (Unseated::Refused(e) | Unseated::Failed(e)) = e;
                        tracing::warn!(error = %e, match_id = %b.match_id, "backfill seat not reserved; ticket stays queued");
                        // Refused: the match filled up meanwhile (a `room_join`), and the
                        // request waits for a seat; or it ended, and so does the request.
                        let ended = refused
                            && dir
                                .find(game.id(), &b.match_id)
                                .is_none_or(|live| !live.open);
                        if ended {
                            if let Some(b) = self.backfills.get_mut(&id) {
                                b.status = BackfillStatus::MatchEnded;
                                b.open_seats = 0;
                                b.ended_at_ms = Some(now);
                            }
                        }
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Players per team of a running match, taken or reserved: those in it on the team the
    /// matchmaker made (or backfilled) them for, seats reserved on a team, and the others
    /// where the arena puts them (the smaller team). Empty for a mode of one team.
    fn team_filling(
        &self,
        game: &GameStore,
        mode: &Mode,
        match_id: &str,
        present: &HashSet<UserId>,
    ) -> Result<Vec<u32>, StoreError> {
        let count = mode.team_count as usize;
        if count < 2 {
            return Ok(Vec::new());
        }
        let teams = super::found_match(game, match_id)?
            .map(|f| f.teams)
            .unwrap_or_default();
        let mut filled = vec![0u32; count];
        let mut unplaced = 0;
        for u in present {
            match teams.iter().position(|t| t.contains(u)) {
                Some(k) if k < count => filled[k] += 1,
                _ => unplaced += 1,
            }
        }
        for p in self.pending.values().filter(|p| p.match_id == match_id) {
            for (u, seat) in &p.seats {
                if present.contains(u) {
                    continue;
                }
                match seat.team {
                    Some(k) if k < count => filled[k] += 1,
                    _ => unplaced += 1,
                }
            }
        }
        for _ in 0..unplaced {
            if let Some(k) = smallest_team(&filled) {
                filled[k] += 1;
            }
        }
        Ok(filled)
    }

    /// Reserves a ticket's seats in a backfilled match, on `team` when given, and tells its
    /// players. The store is written before memory changes: a failure leaves the ticket
    /// searching and hands back any join ticket already issued.
    #[allow(clippy::too_many_arguments)]
    fn seat_backfill(
        &mut self,
        app: &App,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        mode: &Mode,
        b: &Backfill,
        team: Option<usize>,
        ticket: Uuid,
        players: &[UserId],
        now: i64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), Unseated> {
        let Some(t) = self.tickets.get(&ticket).cloned() else {
            return Ok(());
        };
        let joiners: Vec<UserId> = t.user_ids().collect();
        let give_back = |users: &[UserId]| {
            for u in users {
                dir.release_seat(game.id(), &b.match_id, *u);
            }
        };
        let store = |e: StoreError| {
            give_back(&joiners);
            Unseated::Failed(e.to_string())
        };
        let teams = super::found_match(game, &b.match_id)
            .map_err(store)?
            .map(|f| f.teams)
            .unwrap_or_default();
        let endpoint = dir.endpoint();
        let deadline_ms = now + app.config.matchmaking.accept_timeout_secs as i64 * 1000;
        let mut seats = HashMap::new();
        for (i, u) in joiners.iter().enumerate() {
            let pass = match dir.ticket(game.id(), &b.match_id, *u, team) {
                Ok(pass) => pass,
                Err(e) => {
                    give_back(&joiners[..i]);
                    return Err(Unseated::Refused(e.to_string()));
                }
            };
            seats.insert(
                *u,
                SeatPass {
                    match_id: b.match_id.clone(),
                    host: endpoint.host.clone(),
                    port: endpoint.port,
                    alpn: endpoint.alpn.clone(),
                    ticket: pass.ticket,
                    ticket_expires_at: pass.expires_at,
                    accept_by_ms: deadline_ms,
                    team,
                    teams: teams.clone(),
                    backfill_id: Some(b.backfill_id),
                },
            );
        }
        let trees = [
            game.tree(TICKETS).map_err(store)?,
            game.tree(TICKET_BY_USER).map_err(store)?,
        ];
        let mut held = t.clone();
        held.state = TicketState::Matched {
            match_id: b.match_id.clone(),
            deadline_ms,
            backfill_id: Some(b.backfill_id),
        };
        held.front = false;
        put_ticket(&trees, &held).map_err(store)?;
        if let Err(e) = self.remember(
            game,
            &joiners,
            players,
            app.config.matchmaking.recent_opponents,
            now,
        ) {
            // The ticket is stored searching again, as memory still has it.
            if let Err(e) = put_ticket(&trees, &t) {
                tracing::error!(error = %e, ticket = %t.id, "backfilled ticket not restored in the store");
            }
            return Err(store(e));
        }
        // Every write went through: memory follows.
        let key = hold_key(&held).unwrap_or_default();
        self.tickets.insert(ticket, held);
        if let Some(r) = self.backfills.get_mut(&b.backfill_id) {
            r.open_seats = r.open_seats.saturating_sub(t.size());
            r.reserved_seats += t.size();
        }
        for (u, seat) in &seats {
            let mut content = match serde_json::to_value(seat) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            content.insert("mode".into(), json!(mode.name));
            content.insert("region".into(), json!(b.region));
            out.push(Outgoing {
                user: *u,
                code: codes::MATCH_FOUND,
                subject: "Match found",
                content,
                persistent: true,
            });
        }
        self.pending.insert(
            key,
            Pending {
                match_id: b.match_id.clone(),
                tickets: vec![ticket],
                deadline_ms,
                seats,
                backfill: Some(b.backfill_id),
                seen: HashSet::new(),
            },
        );
        Ok(())
    }

    /// Players of `a` and `b` remember each other as recent opponents, in memory and in
    /// the store (so a restart forgets none of them).
    fn remember(
        &mut self,
        game: &GameStore,
        a: &[UserId],
        b: &[UserId],
        keep: usize,
        now: i64,
    ) -> Result<(), StoreError> {
        let tree = game.tree(RECENT)?;
        // Stored first; memory changes only once every write went through.
        let mut updated: Vec<(UserId, RecentOpponents)> = Vec::new();
        for (side, others) in [(a, b), (b, a)] {
            for u in side {
                let mut r = match updated.iter().position(|(x, _)| x == u) {
                    Some(i) => updated.swap_remove(i).1,
                    None => self.recent.get(u).cloned().unwrap_or_default(),
                };
                for v in others {
                    r.opponents.retain(|x| x != v);
                    r.opponents.push_back(*v);
                }
                while r.opponents.len() > keep {
                    r.opponents.pop_front();
                }
                r.at_ms = now;
                tree.insert(Key::new().uuid(*u), &r)?;
                updated.push((*u, r));
            }
        }
        self.recent.extend(updated);
        Ok(())
    }

    /// Forgets (in memory and store) the opponents of players whose last match is older
    /// than `for_ms`; runs about once a minute.
    fn forget_old_opponents(&mut self, game: &GameStore, for_ms: i64) -> Result<(), StoreError> {
        let now = game.now_ms();
        if now - self.recent_pruned_ms < RECENT_PRUNE_EVERY_MS {
            return Ok(());
        }
        self.recent_pruned_ms = now;
        let old: Vec<UserId> = self
            .recent
            .iter()
            .filter(|(_, r)| now - r.at_ms >= for_ms)
            .map(|(u, _)| *u)
            .collect();
        let tree = game.tree(RECENT)?;
        for u in old {
            tree.remove(Key::new().uuid(u))?;
            self.recent.remove(&u);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn start_match(
        &mut self,
        app: &App,
        game: &GameStore,
        dir: &dyn MatchDirectory,
        mode: &Mode,
        region: &str,
        p: &matcher::Proposal,
        now: i64,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), String> {
        let teams: Vec<Vec<UserId>> = p
            .teams
            .iter()
            .map(|team| {
                team.iter()
                    .flat_map(|&i| {
                        self.tickets
                            .get(&p.tickets[i])
                            .map(|t| t.user_ids().collect::<Vec<_>>())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect();
        let mut params = mode.match_params.clone();
        if let Value::Object(m) = &mut params {
            m.entry("max_players").or_insert(json!(mode.max_players));
            m.insert(
                "matchmaking".into(),
                json!({"mode": mode.name, "region": region, "teams": teams}),
            );
        }
        let live = dir
            .create(NewMatch {
                game: game.id(),
                mode: mode.match_mode.clone(),
                label: format!("mm:{}:{}", mode.name, region),
                params,
                private: true,
                creator: None,
            })
            .map_err(|e| e.to_string())?;
        // Nothing below changes memory until every write went through; a failure takes
        // back the join tickets handed out (the empty match then closes by itself) and
        // what was stored, so the tickets stay searching in memory and store alike.
        let give_back = |users: &[UserId]| {
            for u in users {
                dir.release_seat(game.id(), &live.match_id, *u);
            }
        };
        let endpoint = dir.endpoint();
        let deadline_ms = now + app.config.matchmaking.accept_timeout_secs as i64 * 1000;
        let mut seats = HashMap::new();
        let mut issued: Vec<UserId> = Vec::new();
        for (team, members) in teams.iter().enumerate() {
            for u in members {
                let t = match dir.ticket(game.id(), &live.match_id, *u, None) {
                    Ok(t) => t,
                    Err(e) => {
                        give_back(&issued);
                        return Err(e.to_string());
                    }
                };
                issued.push(*u);
                seats.insert(
                    *u,
                    SeatPass {
                        match_id: live.match_id.clone(),
                        host: endpoint.host.clone(),
                        port: endpoint.port,
                        alpn: endpoint.alpn.clone(),
                        ticket: t.ticket,
                        ticket_expires_at: t.expires_at,
                        accept_by_ms: deadline_ms,
                        team: Some(team),
                        teams: teams.clone(),
                        backfill_id: None,
                    },
                );
            }
        }
        let found = FoundMatch {
            match_id: live.match_id.clone(),
            mode: mode.name.clone(),
            region: region.to_string(),
            teams: teams.clone(),
            found_at_ms: now,
        };
        let found_key = Key::new().str(&live.match_id);
        let found_tree = match game.tree(FOUND) {
            Ok(t) => t,
            Err(e) => {
                give_back(&issued);
                return Err(e.to_string());
            }
        };
        if let Err(e) = found_tree.insert(&found_key, &found) {
            give_back(&issued);
            return Err(e.to_string());
        }
        // Puts back what was stored before: the tickets as they were, no found match.
        let undo = |written: &[Ticket], trees: Option<&[Tree; 2]>| {
            if let Some(trees) = trees {
                for t in written {
                    if let Err(e) = put_ticket(trees, t) {
                        tracing::error!(error = %e, ticket = %t.id, "matched ticket not restored in the store");
                    }
                }
            }
            if let Err(e) = found_tree.remove(&found_key) {
                tracing::error!(error = %e, match_id = %live.match_id, "found match not removed");
            }
            give_back(&issued);
        };
        let trees = match (game.tree(TICKETS), game.tree(TICKET_BY_USER)) {
            (Ok(a), Ok(b)) => [a, b],
            (Err(e), _) | (_, Err(e)) => {
                undo(&[], None);
                return Err(e.to_string());
            }
        };
        let mut held: Vec<Ticket> = Vec::with_capacity(p.tickets.len());
        let mut before: Vec<Ticket> = Vec::with_capacity(p.tickets.len());
        for id in &p.tickets {
            let Some(t) = self.tickets.get(id) else {
                continue;
            };
            let mut h = t.clone();
            h.state = TicketState::Matched {
                match_id: live.match_id.clone(),
                deadline_ms,
                backfill_id: None,
            };
            h.front = false;
            if let Err(e) = put_ticket(&trees, &h) {
                undo(&before, Some(&trees));
                return Err(e.to_string());
            }
            before.push(t.clone());
            held.push(h);
        }
        // Everyone remembers their opponents (stored first by `remember` itself).
        let keep = app.config.matchmaking.recent_opponents;
        for (t, members) in teams.iter().enumerate() {
            for others in &teams[t + 1..] {
                if let Err(e) = self.remember(game, members, others, keep, now) {
                    undo(&before, Some(&trees));
                    return Err(e.to_string());
                }
            }
        }
        // Every write went through: memory follows.
        for h in held {
            self.tickets.insert(h.id, h);
        }
        let f = self
            .formed
            .entry((mode.name.clone(), region.to_string()))
            .or_default();
        f.total += 1;
        f.recent.push_back(now);
        while f.recent.front().is_some_and(|&at| at <= now - 60_000) {
            f.recent.pop_front();
        }
        for (u, seat) in &seats {
            let mut content = match serde_json::to_value(seat) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            content.insert("mode".into(), json!(mode.name));
            content.insert("region".into(), json!(region));
            out.push(Outgoing {
                user: *u,
                code: codes::MATCH_FOUND,
                subject: "Match found",
                content,
                persistent: true,
            });
        }
        self.pending.insert(
            live.match_id.clone(),
            Pending {
                match_id: live.match_id.clone(),
                tickets: p.tickets.clone(),
                deadline_ms,
                seats,
                backfill: None,
                seen: HashSet::new(),
            },
        );
        Ok(())
    }
}

fn dropped(user: UserId, t: &Ticket, reason: &str) -> Outgoing {
    Outgoing {
        user,
        code: TICKET_DROPPED,
        subject: "Matchmaking ticket dropped",
        content: Map::from_iter([
            ("ticket_id".to_string(), json!(t.id)),
            ("mode".to_string(), json!(t.mode)),
            ("reason".to_string(), json!(reason)),
        ]),
        persistent: false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::features::matches::{
        Access, DirectoryError, Endpoint, LiveMatch, MatchPlayer, Presence, RealtimeStats,
    };
    use crate::features::matchmaking::model::Seat;

    /// A live match that hands a join ticket to the first player asking and is full for
    /// the next; it notes the seats it is told to take back.
    struct OneSeatLeft {
        issued: Mutex<Vec<UserId>>,
        released: Mutex<Vec<UserId>>,
        /// What each `find` sees, in turn (then nothing).
        finds: Mutex<VecDeque<LiveMatch>>,
    }

    impl OneSeatLeft {
        fn new(finds: Vec<LiveMatch>) -> Self {
            OneSeatLeft {
                issued: Mutex::new(Vec::new()),
                released: Mutex::new(Vec::new()),
                finds: Mutex::new(finds.into()),
            }
        }
    }

    fn live(size: u32, open: bool) -> LiveMatch {
        LiveMatch {
            match_id: "m1".into(),
            mode: "arena".into(),
            label: String::new(),
            size,
            max_size: 4,
            tick_rate: 30,
            private: true,
            created_at: 0,
            map: None,
            kill_limit: None,
            time_limit_secs: None,
            open,
        }
    }

    impl MatchDirectory for OneSeatLeft {
        fn create_with(
            &self,
            _new: NewMatch,
            _access: Access,
        ) -> Result<(LiveMatch, Option<String>), DirectoryError> {
            Ok((live(0, true), None))
        }
        fn find(&self, _game: GameId, _match_id: &str) -> Option<LiveMatch> {
            self.finds.lock().unwrap().pop_front()
        }
        fn list(&self, _: GameId, _: Option<&str>, _: Option<&str>, _: usize) -> Vec<LiveMatch> {
            Vec::new()
        }
        fn ticket(
            &self,
            _game: GameId,
            match_id: &str,
            user: UserId,
            _team: Option<usize>,
        ) -> Result<matches::Ticket, DirectoryError> {
            let mut issued = self.issued.lock().unwrap();
            if !issued.is_empty() {
                return Err(DirectoryError::Refused(
                    "the match is full or has ended".into(),
                ));
            }
            issued.push(user);
            Ok(matches::Ticket {
                ticket: format!("t-{user}"),
                match_id: match_id.into(),
                user_id: user,
                expires_at: 0,
            })
        }
        fn ticket_for_player(
            &self,
            _: GameId,
            _: &str,
            _: UserId,
            _: Option<&str>,
        ) -> Result<matches::Ticket, DirectoryError> {
            Err(DirectoryError::Refused("private".into()))
        }
        fn release_seat(&self, _game: GameId, _match_id: &str, user: UserId) {
            self.released.lock().unwrap().push(user);
        }
        fn presences(&self, _: GameId, _: &[UserId]) -> Vec<Presence> {
            Vec::new()
        }
        fn presences_seen_by(&self, _: GameId, _: &[UserId], _: UserId) -> Vec<Presence> {
            Vec::new()
        }
        fn all(&self, _: GameId, _: usize) -> Vec<(LiveMatch, Vec<MatchPlayer>)> {
            Vec::new()
        }
        fn end(
            &self,
            _: GameId,
            match_id: &str,
            _: &str,
        ) -> Result<(LiveMatch, tokio::sync::oneshot::Receiver<()>), DirectoryError> {
            Err(DirectoryError::NotFound(format!(
                "no live match {match_id}"
            )))
        }
        fn endpoint(&self) -> Endpoint {
            Endpoint {
                host: "localhost".into(),
                port: 1,
                alpn: "outpost/1".into(),
            }
        }
        fn stats(&self, _reset: bool) -> RealtimeStats {
            RealtimeStats::default()
        }
    }

    /// A party whose second player is refused a seat (the match filled meanwhile) is not
    /// half taken: it stays searching in memory and store, the request's seats do not
    /// move, the first player's join ticket is taken back and nobody is told anything.
    /// A queue holding one searching party of two for `duo`, and an open request for two
    /// seats in match `m1`.
    struct Setup {
        _dir: tempfile::TempDir,
        app: App,
        game: GameStore,
        mode: Mode,
        ticket: Ticket,
        request: Backfill,
        q: GameQueues,
        a: UserId,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::default();
        cfg.server.data_dir = dir.path().join("data");
        let store = Store::open(&cfg.server.data_dir, 100).unwrap();
        let (secrets, _) = crate::auth::secrets::load_or_create(&cfg.server.data_dir).unwrap();
        let app = App::new(cfg, store.clone(), secrets).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let mode = crate::features::matchmaking::modes::defaults()
            .into_iter()
            .find(|m| m.name == "duo")
            .unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ticket = Ticket {
            id: Uuid::new_v4(),
            mode: "duo".into(),
            region: "eu".into(),
            party_id: Some(Uuid::new_v4()),
            players: [a, b]
                .map(|user_id| Seat {
                    user_id,
                    rating: 1500.0,
                    deviation: 350.0,
                })
                .to_vec(),
            string_properties: Default::default(),
            numeric_properties: Default::default(),
            constraints: Default::default(),
            created_at_ms: 0,
            front: false,
            state: TicketState::Searching,
        };
        let trees = [
            game.tree(TICKETS).unwrap(),
            game.tree(TICKET_BY_USER).unwrap(),
        ];
        put_ticket(&trees, &ticket).unwrap();
        let request = Backfill {
            backfill_id: Uuid::new_v4(),
            match_id: "m1".into(),
            mode: "duo".into(),
            region: "eu".into(),
            status: BackfillStatus::Open,
            seats: 2,
            open_seats: 2,
            reserved_seats: 0,
            team: None,
            rating: 1500.0,
            deviation: 350.0,
            joined: Vec::new(),
            created_at_ms: 0,
            expires_at_ms: 60_000,
            ended_at_ms: None,
        };
        let mut q = GameQueues::default();
        q.tickets.insert(ticket.id, ticket.clone());
        q.by_user.extend([(a, ticket.id), (b, ticket.id)]);
        q.backfills.insert(request.backfill_id, request.clone());
        q.modes.insert(mode.name.clone(), mode.clone());
        Setup {
            _dir: dir,
            app,
            game,
            mode,
            ticket,
            request,
            q,
            a,
        }
    }

    #[test]
    fn a_party_refused_part_way_is_left_as_it_was() {
        let Setup {
            _dir,
            app,
            game,
            mode,
            ticket,
            request,
            mut q,
            a,
        } = setup();
        let trees = [
            game.tree(TICKETS).unwrap(),
            game.tree(TICKET_BY_USER).unwrap(),
        ];
        let matches = OneSeatLeft::new(Vec::new());
        let mut out = Vec::new();
        let r = q.seat_backfill(
            &app,
            &game,
            &matches,
            &mode,
            &request,
            Some(1),
            ticket.id,
            &[],
            0,
            &mut out,
        );
        assert!(matches!(r, Err(Unseated::Refused(_))));
        assert_eq!(*matches.issued.lock().unwrap(), vec![a]);
        assert_eq!(*matches.released.lock().unwrap(), vec![a]);
        assert_eq!(q.tickets[&ticket.id].state, TicketState::Searching);
        let stored: Ticket = trees[0].get(Key::new().uuid(ticket.id)).unwrap().unwrap();
        assert_eq!(stored.state, TicketState::Searching);
        let r = &q.backfills[&request.backfill_id];
        assert_eq!((r.open_seats, r.reserved_seats), (2, 0));
        assert!(q.pending.is_empty());
        assert!(out.is_empty());
        assert!(q.recent.is_empty());
    }

    /// A found match whose second seat is refused (the match filled meanwhile) is not
    /// half started: the tickets stay searching in memory and store, the seat handed out
    /// is taken back, no found match is stored and nobody is told anything.
    #[test]
    fn a_match_refused_a_seat_part_way_leaves_its_tickets_searching() {
        let Setup {
            _dir,
            app,
            game,
            mode,
            ticket,
            mut q,
            a,
            ..
        } = setup();
        let trees = [
            game.tree(TICKETS).unwrap(),
            game.tree(TICKET_BY_USER).unwrap(),
        ];
        let matches = OneSeatLeft::new(Vec::new());
        let proposal = matcher::Proposal {
            tickets: vec![ticket.id],
            teams: vec![vec![0]],
        };
        let mut out = Vec::new();
        let r = q.start_match(&app, &game, &matches, &mode, "eu", &proposal, 0, &mut out);
        assert!(r.is_err());
        assert_eq!(*matches.issued.lock().unwrap(), vec![a]);
        assert_eq!(*matches.released.lock().unwrap(), vec![a]);
        assert_eq!(q.tickets[&ticket.id].state, TicketState::Searching);
        let stored: Ticket = trees[0].get(Key::new().uuid(ticket.id)).unwrap().unwrap();
        assert_eq!(stored.state, TicketState::Searching);
        let found: Option<FoundMatch> =
            game.tree(FOUND).unwrap().get(Key::new().str("m1")).unwrap();
        assert!(found.is_none());
        assert!(q.pending.is_empty());
        assert!(q.formed.is_empty());
        assert!(out.is_empty());
        assert!(q.recent.is_empty());
    }

    /// A found match gone after one player of a party joined (seen by an earlier pass;
    /// nobody is in a match that is gone): the party's ticket goes back to the front at
    /// once, whole, its seats are taken back and both players are told (code 2).
    #[test]
    fn a_found_match_gone_after_a_join_requeues_a_partly_seated_party_whole() {
        let Setup {
            _dir,
            game,
            ticket,
            mut q,
            a,
            ..
        } = setup();
        let matched = TicketState::Matched {
            match_id: "m1".into(),
            deadline_ms: 60_000,
            backfill_id: None,
        };
        q.tickets.get_mut(&ticket.id).unwrap().state = matched.clone();
        let users: Vec<UserId> = ticket.user_ids().collect();
        let seat = SeatPass {
            match_id: "m1".into(),
            host: String::new(),
            port: 1,
            alpn: String::new(),
            ticket: String::new(),
            ticket_expires_at: 0,
            accept_by_ms: 60_000,
            team: Some(0),
            teams: vec![users.clone()],
            backfill_id: None,
        };
        q.pending.insert(
            "m1".into(),
            Pending {
                match_id: "m1".into(),
                tickets: vec![ticket.id],
                deadline_ms: 60_000,
                seats: users.iter().map(|u| (*u, seat.clone())).collect(),
                backfill: None,
                seen: HashSet::from([a]),
            },
        );
        let matches = OneSeatLeft::new(Vec::new());
        let mut out = Vec::new();
        q.settle_pending(&game, &matches, 1_000, &mut out).unwrap();
        assert!(q.pending.is_empty());
        let t = &q.tickets[&ticket.id];
        assert_eq!(t.state, TicketState::Searching);
        assert!(t.front);
        let stored: Ticket = game
            .tree(TICKETS)
            .unwrap()
            .get(Key::new().uuid(ticket.id))
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, TicketState::Searching);
        assert_eq!(*matches.released.lock().unwrap(), users);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|o| o.code == REQUEUED && o.content["reason"] == MATCH_GONE));
    }

    #[test]
    fn a_party_goes_whole_onto_the_emptiest_team_with_room_for_it() {
        // 2 v 2, one red player: a pair fits only on blue.
        assert_eq!(team_for_party(&[1, 0], 2, 2), Some(1));
        // One seat free on each side: a pair fits nowhere, so it is not split.
        assert_eq!(team_for_party(&[1, 1], 2, 2), None);
        // Both teams have room: the emptier, red on a tie.
        assert_eq!(team_for_party(&[1, 3], 4, 2), Some(0));
        assert_eq!(team_for_party(&[2, 2], 4, 2), Some(0));
        // A team that has room only for part of the party is passed over.
        assert_eq!(team_for_party(&[0, 3, 2], 4, 3), Some(0));
        assert_eq!(team_for_party(&[2, 3, 1], 4, 3), Some(2));
        assert_eq!(team_for_party(&[], 4, 2), None);
    }

    #[test]
    fn a_player_without_a_team_goes_to_the_smaller_team() {
        assert_eq!(smallest_team(&[1, 0]), Some(1));
        assert_eq!(smallest_team(&[1, 1]), Some(0));
        assert_eq!(smallest_team(&[]), None);
    }

    /// A seat refused because the match just filled up (someone took the last seat with
    /// `room_join`) leaves the request open; refused because it ended, the request ends.
    #[test]
    fn a_refusal_ends_the_request_only_when_the_match_ended() {
        for (after, status) in [
            (live(4, true), BackfillStatus::Open),
            (live(1, false), BackfillStatus::MatchEnded),
        ] {
            let Setup {
                _dir,
                app,
                game,
                ticket,
                request,
                mut q,
                ..
            } = setup();
            let matches = OneSeatLeft::new(vec![live(1, true), after]);
            let mut out = Vec::new();
            q.fill_backfills(&app, &game, &matches, 0, &mut out)
                .unwrap();
            assert_eq!(matches.issued.lock().unwrap().len(), 1);
            assert_eq!(q.backfills[&request.backfill_id].status, status);
            assert_eq!(q.tickets[&ticket.id].state, TicketState::Searching);
            assert!(out.is_empty());
        }
    }
}
