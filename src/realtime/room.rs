//! A match is an actor: one tokio task owns its state and ticks at its rate; connections
//! reach it only through its bounded command channel. Game modes implement
//! [`MatchHandler`]; the task does the rest (membership, sequence checks, delivery,
//! empty-match grace, results, timing figures).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::peer::Peer;
use super::protocol::{Code, DatagramHeader, PresenceView, Scoreboard, ServerMsg};
use super::Node;
use crate::auth::UserId;
use crate::features::matches::{self, LiveMatch, MatchResult, NewMatch, Suspicion};
use crate::store::GameId;

/// Most inputs gathered between two ticks; later ones are dropped until the tick.
const MAX_PENDING_INPUTS: usize = 2048;
/// Violations of one player in one match that are stored (all are counted).
const MAX_STORED_SUSPICIONS: u32 = 20;

/// A player in a match, as the handler sees them.
#[derive(Debug, Clone)]
pub struct Presence {
    pub user_id: UserId,
    pub username: String,
    pub session_id: String,
    pub slot: u8,
    /// Set by the handler on join (arena: `red` / `blue`).
    pub team: Option<String>,
    /// The team (an index) the server reserved this player's seat on, when its join ticket
    /// named one (a matchmaking backfill); handlers that know teams honour it.
    pub seat_team: Option<usize>,
}

impl Presence {
    pub fn view(&self) -> PresenceView {
        PresenceView {
            user_id: self.user_id.to_string(),
            username: self.username.clone(),
            session_id: self.session_id.clone(),
            slot: self.slot,
            team: self.team.clone(),
        }
    }
}

/// What a match is created with.
#[derive(Debug, Clone)]
pub struct MatchParams {
    pub match_id: String,
    pub mode: String,
    pub label: String,
    pub params: serde_json::Value,
    /// The node's default tick rate (`realtime.tick_hz`).
    pub default_tick_hz: u32,
}

impl MatchParams {
    /// An integer parameter within `range`, or its default; the error names it.
    pub fn int(
        &self,
        name: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, String> {
        match self.params.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => match v.as_i64() {
                Some(n) if range.contains(&n) => Ok(n),
                _ => Err(format!(
                    "params.{name} must be an integer from {} to {}",
                    range.start(),
                    range.end()
                )),
            },
        }
    }

    pub fn text(&self, name: &str, default: &str) -> Result<String, String> {
        match self.params.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default.to_string()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("params.{name} must be a string")),
        }
    }

    /// `tick_rate` (10–60 Hz).
    pub fn tick_rate(&self) -> Result<u32, String> {
        Ok(self.int("tick_rate", self.default_tick_hz as i64, 10..=60)? as u32)
    }
}

/// What `init` decides.
pub struct Setup<S> {
    pub state: S,
    pub tick_rate: u32,
    pub max_players: u32,
    /// What the mode tells joining and listing players about its rules.
    pub rules: Rules,
}

/// A mode's headline rules, sent in `match_joined` and `match_list` (arena: map, kill limit,
/// time limit); `None` where a mode has no such rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub map: Option<String>,
    pub kill_limit: Option<u32>,
    pub time_limit_secs: Option<u32>,
}

/// Who may get a ticket to a private match from `room_join`.
pub struct Admission {
    /// Counted against `realtime.max_matches_per_ip` (already narrowed to a /64).
    pub creator_ip: Option<IpAddr>,
    pub invited: Mutex<HashSet<UserId>>,
    pub join_code: Option<String>,
    /// Created by a player, or following one that was (see `min_players_for_stats`).
    pub player_made: bool,
}

impl Admission {
    /// Invited, or presenting the join code (which invites them from then on).
    fn admits(&self, user: UserId, code: Option<&str>) -> bool {
        let mut invited = self.invited.lock().unwrap_or_else(|p| p.into_inner());
        if invited.contains(&user) {
            return true;
        }
        let matches = match (&self.join_code, code) {
            (Some(want), Some(got)) => {
                // Compared in constant time: the code is the room's only secret.
                want.len() == got.len()
                    && want
                        .bytes()
                        .zip(got.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }
            _ => false,
        };
        if matches {
            invited.insert(user);
        }
        matches
    }
}

/// One datagram input, in arrival order.
#[derive(Debug, Clone)]
pub struct Input {
    pub user_id: UserId,
    pub slot: u8,
    pub seq: u32,
    pub op: u16,
    pub payload: Bytes,
    /// When the server received it (Unix ms): anti-cheat budgets run on this clock.
    pub at_ms: i64,
}

/// A reliable message from a player.
#[derive(Debug, Clone)]
pub enum MessageKind {
    Data {
        op: u16,
        data: Vec<u8>,
        to: Vec<UserId>,
    },
    Vote {
        option: String,
    },
}

#[derive(Debug, Clone)]
pub struct Message {
    pub user_id: UserId,
    pub slot: u8,
    pub kind: MessageKind,
}

/// Everything that arrived since the last tick.
#[derive(Debug, Default)]
pub struct Inputs {
    pub datagrams: Vec<Input>,
    pub messages: Vec<Message>,
}

/// Who a delivery goes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    All,
    AllExcept(UserId),
    Only(Vec<UserId>),
}

impl Target {
    fn includes(&self, u: &UserId) -> bool {
        match self {
            Target::All => true,
            Target::AllExcept(x) => x != u,
            Target::Only(list) => list.contains(u),
        }
    }
}

/// What a handler asks the match task to do; nothing here blocks a tick.
#[derive(Debug)]
pub enum Effect {
    Datagram {
        to: Target,
        op: u16,
        payload: Vec<u8>,
    },
    Data {
        to: Target,
        op: u16,
        data: Vec<u8>,
        from: Option<UserId>,
    },
    End {
        scoreboard: Scoreboard,
        vote_options: Vec<String>,
        vote_secs: u32,
    },
    VoteResult {
        option: String,
        tally: BTreeMap<String, u32>,
        /// Mode and params of the match to create for the winning option.
        next: Option<(String, serde_json::Value)>,
    },
    Kick {
        user_id: UserId,
        reason: String,
    },
    Suspicion {
        user_id: UserId,
        kind: &'static str,
        detail: String,
        count: u32,
    },
    /// The match takes no more players (it has ended).
    CloseJoins,
}

/// Where a handler's effects go.
#[derive(Debug, Default)]
pub struct Outbox {
    effects: Vec<Effect>,
}

impl Outbox {
    pub fn push(&mut self, e: Effect) {
        self.effects.push(e);
    }

    pub fn datagram(&mut self, to: Target, op: u16, payload: Vec<u8>) {
        self.push(Effect::Datagram { to, op, payload });
    }

    pub fn data(&mut self, to: Target, op: u16, data: Vec<u8>, from: Option<UserId>) {
        self.push(Effect::Data { to, op, data, from });
    }

    /// What has been asked so far (handlers' unit tests read it).
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }
}

/// Whether the match goes on after a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    End,
}

/// A game mode. The match task owns `State`; the handler is shared by every match of the
/// mode and holds only settings.
pub trait MatchHandler: Send + Sync + 'static {
    type State: Send + 'static;
    fn init(&self, params: &MatchParams) -> Result<Setup<Self::State>, String>;
    fn join_attempt(&self, s: &Self::State, who: &Presence) -> Result<(), String>;
    /// May set `who.team`.
    fn join(&self, s: &mut Self::State, who: &mut Presence, out: &mut Outbox);
    fn leave(&self, s: &mut Self::State, who: &Presence, out: &mut Outbox);
    fn tick(&self, s: &mut Self::State, tick: u64, inputs: Inputs, out: &mut Outbox) -> Flow;
    /// The result of a finished match, once there is one. Read right after an
    /// [`Effect::End`] is applied and stored before `match_end` goes out, so players who
    /// are told the match ended can already read it.
    fn result(&self, _s: &Self::State) -> Option<MatchResult> {
        None
    }
    /// The result to store, if the match finished (not merely emptied). Storing is
    /// idempotent by match id: a result already stored at [`Effect::End`] stays as it was.
    fn terminate(&self, s: Self::State) -> Option<MatchResult>;
    /// An admin ends the match now. A mode that keeps score closes it as at its limit, with
    /// an [`Effect::End`] (no vote follows), so its result is stored and `match_end` goes
    /// out; a mode without a scoreboard does nothing here. Either way the match then closes
    /// and every player gets `match_left`.
    fn end_now(&self, _s: &mut Self::State, _out: &mut Outbox) {}
}

/// What the outside sends a match.
pub enum Command {
    Join {
        peer: Arc<Peer>,
        rid: u32,
        reply: oneshot::Sender<Result<(), (Code, String)>>,
    },
    Leave {
        user_id: UserId,
        rid: Option<u32>,
    },
    Input(Input),
    Message {
        user_id: UserId,
        kind: MessageKind,
    },
    Chat(ServerMsg),
    /// An admin ends the match (`match_end` RPC); `done` is told once players have been
    /// told and the result is stored.
    End {
        reason: String,
        done: oneshot::Sender<()>,
    },
    Stop,
}

/// A live match as the node lists it.
pub struct MatchEntry {
    pub id: String,
    pub game: GameId,
    pub mode: String,
    pub label: String,
    pub private: bool,
    /// Who created it, when a player did.
    pub creator: Option<UserId>,
    pub handle: u32,
    pub tick_rate: u32,
    pub max_size: u32,
    pub created_at: i64,
    pub size: AtomicU32,
    pub open: AtomicBool,
    pub tx: mpsc::Sender<Command>,
    pub rules: Rules,
    pub admission: Admission,
    /// Teams seats were reserved on (user → team index), from join tickets that named one.
    pub seat_teams: Mutex<HashMap<UserId, usize>>,
}

impl MatchEntry {
    pub fn live(&self) -> LiveMatch {
        LiveMatch {
            match_id: self.id.clone(),
            mode: self.mode.clone(),
            label: self.label.clone(),
            size: self.size.load(Ordering::Relaxed),
            max_size: self.max_size,
            tick_rate: self.tick_rate,
            private: self.private,
            created_at: self.created_at,
            map: self.rules.map.clone(),
            kill_limit: self.rules.kill_limit,
            time_limit_secs: self.rules.time_limit_secs,
            open: self.open.load(Ordering::Relaxed),
        }
    }

    /// The address this match counts against for `realtime.max_matches_per_ip`.
    pub fn creator_ip(&self) -> Option<IpAddr> {
        self.admission.creator_ip
    }

    /// May `user` have a ticket (private rooms: invited or with the join code)?
    pub fn admits(&self, user: UserId, join_code: Option<&str>) -> bool {
        !self.private || self.admission.admits(user, join_code)
    }

    pub fn has_room(&self) -> bool {
        self.open.load(Ordering::Relaxed) && self.size.load(Ordering::Relaxed) < self.max_size
    }
}

struct Member {
    presence: Presence,
    peer: Arc<Peer>,
    last_seq: u32,
    stored_suspicions: u32,
}

/// Starts a match of `handler`'s mode; the entry is what the node keeps.
pub fn spawn<H: MatchHandler>(
    node: Arc<Node>,
    handler: Arc<H>,
    new: &NewMatch,
    admission: Admission,
    params: MatchParams,
    handle: u32,
) -> Result<Arc<MatchEntry>, String> {
    let setup = handler.init(&params)?;
    let (tx, rx) = mpsc::channel(4096);
    let entry = Arc::new(MatchEntry {
        id: params.match_id.clone(),
        game: new.game,
        mode: params.mode.clone(),
        label: params.label.clone(),
        private: new.private,
        creator: new.creator,
        handle,
        tick_rate: setup.tick_rate,
        max_size: setup.max_players,
        created_at: crate::time::now_ms(),
        size: AtomicU32::new(0),
        open: AtomicBool::new(true),
        tx,
        rules: setup.rules.clone(),
        admission,
        seat_teams: Mutex::new(HashMap::new()),
    });
    let task = MatchTask {
        node,
        entry: entry.clone(),
        handler,
        members: Vec::new(),
        slots: HashMap::new(),
        tick: 0,
        ended: None,
        result_stored: false,
        close_reason: None,
        closed: None,
    };
    tokio::spawn(task.run(setup.state, rx));
    Ok(entry)
}

struct MatchTask<H: MatchHandler> {
    node: Arc<Node>,
    entry: Arc<MatchEntry>,
    handler: Arc<H>,
    members: Vec<Member>,
    /// user → slot held (slots are reused after a player leaves).
    slots: HashMap<UserId, u8>,
    tick: u64,
    /// `match_end`, held back until the result is stored.
    ended: Option<ServerMsg>,
    /// The result went through `matches::finish` already (at the match's End): the one
    /// `terminate` gives after the vote is the same match and is not fanned out twice
    /// (a tied bracket room would open two replays).
    result_stored: bool,
    /// Why the match closed, for `match_left` (default "match ended").
    close_reason: Option<String>,
    /// Told once the match has closed (an admin's `match_end` waits on it).
    closed: Option<oneshot::Sender<()>>,
}

impl<H: MatchHandler> MatchTask<H> {
    async fn run(mut self, mut state: H::State, mut rx: mpsc::Receiver<Command>) {
        let period = Duration::from_secs_f64(1.0 / self.entry.tick_rate as f64);
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let grace = Duration::from_secs(self.node.cfg.empty_grace_secs);
        let mut empty_since = Some(Instant::now());
        let mut pending = Inputs::default();
        let mut previous: Option<Instant> = None;
        loop {
            tokio::select! {
                scheduled = interval.tick() => {
                    let started = Instant::now();
                    let late = started.saturating_duration_since(scheduled.into_std());
                    let interval_error = previous.map(|p| {
                        let gap = started.duration_since(p);
                        gap.max(period) - gap.min(period)
                    });
                    previous = Some(started);
                    self.tick += 1;
                    let mut out = Outbox::default();
                    let flow = self.handler.tick(&mut state, self.tick, std::mem::take(&mut pending), &mut out);
                    self.apply(&mut state, out);
                    self.node.stats.tick(started.elapsed(), late, interval_error);
                    if let Some((msg, result)) = self.take_end(&state) {
                        self.announce_end(msg, result).await;
                    }
                    if flow == Flow::End {
                        break;
                    }
                    if self.members.is_empty() {
                        let since = *empty_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= grace {
                            break;
                        }
                    } else {
                        empty_since = None;
                    }
                }
                cmd = rx.recv() => match cmd {
                    None | Some(Command::Stop) => break,
                    Some(Command::Join { peer, rid, reply }) => {
                        let r = self.join(&mut state, peer, rid);
                        let _ = reply.send(r);
                        if let Some((msg, result)) = self.take_end(&state) {
                            self.announce_end(msg, result).await;
                        }
                    }
                    Some(Command::Leave { user_id, rid }) => {
                        self.leave(&mut state, user_id, rid, Code::Normal, "left the match");
                        if let Some((msg, result)) = self.take_end(&state) {
                            self.announce_end(msg, result).await;
                        }
                    }
                    Some(Command::Input(input)) => self.gather(&mut pending, input),
                    Some(Command::Message { user_id, kind }) => {
                        if let Some(slot) = self.slots.get(&user_id) {
                            pending.messages.push(Message { user_id, slot: *slot, kind });
                        }
                    }
                    Some(Command::Chat(msg)) => {
                        for m in &self.members {
                            m.peer.send(&msg);
                        }
                    }
                    Some(Command::End { reason, done }) => {
                        self.entry.open.store(false, Ordering::Relaxed);
                        let mut out = Outbox::default();
                        self.handler.end_now(&mut state, &mut out);
                        self.apply(&mut state, out);
                        self.close_reason = Some(format!("ended by an admin: {reason}"));
                        self.closed = Some(done);
                        break;
                    }
                },
            }
        }
        self.finish(state).await;
    }

    fn gather(&mut self, pending: &mut Inputs, mut input: Input) {
        let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.presence.user_id == input.user_id)
        else {
            return;
        };
        // Strictly increasing sequence numbers: replays and late packets are dropped.
        if input.seq <= m.last_seq {
            self.node.stats.stale.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if pending.datagrams.len() >= MAX_PENDING_INPUTS {
            return;
        }
        m.last_seq = input.seq;
        input.slot = m.presence.slot;
        pending.datagrams.push(input);
    }

    fn join(
        &mut self,
        state: &mut H::State,
        peer: Arc<Peer>,
        rid: u32,
    ) -> Result<(), (Code, String)> {
        if self.slots.contains_key(&peer.user_id) {
            return Err((Code::Refused, "already in this match".into()));
        }
        if !self.entry.open.load(Ordering::Relaxed) {
            return Err((Code::Refused, "the match has ended".into()));
        }
        if self.members.len() as u32 >= self.entry.max_size {
            return Err((Code::Refused, "the match is full".into()));
        }
        let slot = (0..=u8::MAX)
            .find(|s| !self.slots.values().any(|x| x == s))
            .ok_or((Code::Refused, "the match is full".to_string()))?;
        let mut presence = Presence {
            user_id: peer.user_id,
            username: peer.username.clone(),
            session_id: peer.session_id.clone(),
            slot,
            team: None,
            seat_team: self
                .entry
                .seat_teams
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&peer.user_id)
                .copied(),
        };
        self.handler
            .join_attempt(state, &presence)
            .map_err(|m| (Code::Refused, m))?;
        let mut out = Outbox::default();
        self.handler.join(state, &mut presence, &mut out);
        peer.enter(self.entry.clone());
        let view = presence.view();
        for m in &self.members {
            m.peer.send(&ServerMsg::MatchPresence {
                match_id: self.entry.id.clone(),
                joins: vec![view.clone()],
                leaves: vec![],
            });
        }
        self.slots.insert(peer.user_id, slot);
        self.members.push(Member {
            presence,
            peer: peer.clone(),
            last_seq: 0,
            stored_suspicions: 0,
        });
        self.entry
            .size
            .store(self.members.len() as u32, Ordering::Relaxed);
        peer.send(&ServerMsg::MatchJoined {
            rid,
            match_id: self.entry.id.clone(),
            handle: self.entry.handle,
            mode: self.entry.mode.clone(),
            label: self.entry.label.clone(),
            tick_rate: self.entry.tick_rate,
            max_size: self.entry.max_size,
            map: self.entry.rules.map.clone(),
            kill_limit: self.entry.rules.kill_limit,
            time_limit_secs: self.entry.rules.time_limit_secs,
            you: view,
            presences: self.members.iter().map(|m| m.presence.view()).collect(),
        });
        self.apply(state, out);
        Ok(())
    }

    fn leave(
        &mut self,
        state: &mut H::State,
        user_id: UserId,
        rid: Option<u32>,
        code: Code,
        reason: &str,
    ) {
        let Some(i) = self
            .members
            .iter()
            .position(|m| m.presence.user_id == user_id)
        else {
            return;
        };
        let m = self.members.remove(i);
        self.slots.remove(&user_id);
        self.entry
            .size
            .store(self.members.len() as u32, Ordering::Relaxed);
        m.peer.exit(self.entry.handle);
        if rid.is_some() || code != Code::Normal {
            m.peer.send(&ServerMsg::MatchLeft {
                rid: rid.unwrap_or(0),
                match_id: self.entry.id.clone(),
                code: code.as_u16(),
                reason: reason.to_string(),
            });
        }
        let view = m.presence.view();
        for other in &self.members {
            other.peer.send(&ServerMsg::MatchPresence {
                match_id: self.entry.id.clone(),
                joins: vec![],
                leaves: vec![view.clone()],
            });
        }
        let mut out = Outbox::default();
        self.handler.leave(state, &m.presence, &mut out);
        self.apply(state, out);
    }

    fn apply(&mut self, state: &mut H::State, out: Outbox) {
        for effect in out.effects {
            match effect {
                Effect::Datagram { to, op, payload } => {
                    let bytes = Bytes::from(
                        DatagramHeader {
                            handle: self.entry.handle,
                            seq: self.tick as u32,
                            op,
                        }
                        .encode(&payload),
                    );
                    for m in &self.members {
                        if to.includes(&m.presence.user_id) {
                            m.peer.send_datagram(bytes.clone());
                        }
                    }
                }
                Effect::Data { to, op, data, from } => {
                    let msg = ServerMsg::MatchData {
                        match_id: self.entry.id.clone(),
                        op,
                        data,
                        from: from.map(|u| u.to_string()),
                    };
                    for m in &self.members {
                        if to.includes(&m.presence.user_id) {
                            m.peer.send(&msg);
                        }
                    }
                }
                Effect::End {
                    scoreboard,
                    vote_options,
                    vote_secs,
                } => {
                    self.entry.open.store(false, Ordering::Relaxed);
                    // Sent by `announce_end` once the result is stored.
                    self.ended = Some(ServerMsg::MatchEnd {
                        match_id: self.entry.id.clone(),
                        scoreboard,
                        vote_options,
                        vote_secs,
                    });
                }
                Effect::VoteResult {
                    option,
                    tally,
                    next,
                } => {
                    // A private room's next match invites everyone this one did, and its
                    // players.
                    let mut invited: Vec<UserId> = self
                        .entry
                        .admission
                        .invited
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter()
                        .copied()
                        .collect();
                    invited.extend(self.members.iter().map(|m| m.presence.user_id));
                    let next_match_id = next.and_then(|(mode, params)| {
                        self.node
                            .create_match(
                                &NewMatch {
                                    game: self.entry.game,
                                    mode,
                                    label: self.entry.label.clone(),
                                    params,
                                    private: self.entry.private,
                                    creator: None,
                                },
                                matches::Access {
                                    creator_ip: None,
                                    invited,
                                    player_made: self.entry.admission.player_made,
                                },
                            )
                            .map_err(|e| tracing::warn!(error = %e, "next match not created"))
                            .ok()
                            .map(|(m, _)| m.match_id)
                    });
                    let msg = ServerMsg::VoteResult {
                        match_id: self.entry.id.clone(),
                        option,
                        tally,
                        next_match_id,
                    };
                    for m in &self.members {
                        m.peer.send(&msg);
                    }
                }
                Effect::Kick { user_id, reason } => {
                    self.leave(state, user_id, None, Code::Kicked, &reason);
                }
                Effect::Suspicion {
                    user_id,
                    kind,
                    detail,
                    count,
                } => {
                    let Some(m) = self
                        .members
                        .iter_mut()
                        .find(|m| m.presence.user_id == user_id)
                    else {
                        continue;
                    };
                    self.node.stats.violations.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(user = %user_id, match_id = %self.entry.id, kind, %detail, count, "anti-cheat violation");
                    if m.stored_suspicions >= MAX_STORED_SUSPICIONS {
                        continue;
                    }
                    m.stored_suspicions += 1;
                    let s = Suspicion {
                        user_id,
                        match_id: self.entry.id.clone(),
                        kind: kind.to_string(),
                        detail,
                        count,
                        at: crate::time::now_ms(),
                    };
                    let store = self.node.app.store.clone();
                    let game = self.entry.game;
                    tokio::task::spawn_blocking(move || {
                        let r = store
                            .game(game)
                            .and_then(|g| matches::record_suspicion(&g, &s));
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "suspicious activity not stored");
                        }
                    });
                }
                Effect::CloseJoins => self.entry.open.store(false, Ordering::Relaxed),
            }
        }
    }

    /// The held-back `match_end` and the handler's result, after an [`Effect::End`].
    fn take_end(&mut self, state: &H::State) -> Option<(ServerMsg, Option<MatchResult>)> {
        let msg = self.ended.take()?;
        Some((msg, self.handler.result(state)))
    }

    /// Stores the result (and so the players' stats), then sends `match_end`. This match
    /// waits for the store; no other match does.
    async fn announce_end(&mut self, msg: ServerMsg, result: Option<MatchResult>) {
        if let Some(result) = result {
            self.store_result(result).await;
        }
        for m in &self.members {
            m.peer.send(&msg);
        }
    }

    async fn finish(mut self, state: H::State) {
        self.entry.open.store(false, Ordering::Relaxed);
        self.node.remove_match(&self.entry.id);
        // An End applied in the last tick is announced (and its result stored) first.
        if let Some((msg, result)) = self.take_end(&state) {
            self.announce_end(msg, result).await;
        }
        // Stored before anyone is told the match is over, so what they read next is there.
        if let Some(result) = self.handler.terminate(state) {
            self.store_result(result).await;
        }
        let reason = self
            .close_reason
            .take()
            .unwrap_or_else(|| "match ended".into());
        for m in self.members.drain(..) {
            m.peer.exit(self.entry.handle);
            m.peer.send(&ServerMsg::MatchLeft {
                rid: 0,
                match_id: self.entry.id.clone(),
                code: Code::Normal.as_u16(),
                reason: reason.clone(),
            });
        }
        if let Some(done) = self.closed.take() {
            let _ = done.send(());
        }
    }

    async fn store_result(&mut self, mut result: MatchResult) {
        if std::mem::replace(&mut self.result_stored, true) {
            return;
        }
        // A match a player set up counts only with enough distinct players: a player and an
        // alt account cannot farm wins. Matches the server made (matchmaking) always count.
        let min = self.node.cfg.min_players_for_stats;
        if self.entry.admission.player_made && result.distinct_players() < min {
            result.stats_counted = false;
        }
        let app = &self.node.app;
        let stored = match app.store.game(self.entry.game) {
            Ok(g) => matches::finish(app, &g, &result).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = stored {
            tracing::error!(error = %e, match_id = %self.entry.id, "match result not stored");
        }
    }
}
