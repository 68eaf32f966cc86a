//! `arena`: team deathmatch (seed 003). Two teams, movement and shots as datagram inputs,
//! every input validated (clock, bounds, speed, fire rate) before it is applied, a kill or
//! time limit, the scoreboard at the end, then a vote on the next map. The rules are in
//! `docs/PROTOCOL.md` §5.

use std::collections::{BTreeMap, HashMap};

use super::protocol::{arena_op, ArenaInput, ArenaPlayer, ArenaState, ScoreLine, Scoreboard};
use super::room::{
    Effect, Flow, Input, Inputs, MatchHandler, MatchParams, MessageKind, Outbox, Presence, Rules,
    Setup, Target,
};
use crate::auth::UserId;
use crate::features::matches::{MatchResult, PlayerResult};

/// Maps: name, width, height.
pub const MAPS: &[(&str, f32, f32)] = &[("outpost", 480.0, 270.0), ("canyon", 640.0, 360.0)];
pub const TEAMS: [&str; 2] = ["red", "blue"];
/// Running speed, units per second; inputs may exceed it by [`SPEED_TOLERANCE`].
pub const MAX_SPEED: f32 = 150.0;
pub const SPEED_TOLERANCE: f32 = 1.1;
/// Slack for rounding, in units.
const SPEED_SLACK: f32 = 0.5;
pub const CLOCK_TOLERANCE_MS: i64 = 5000;
pub const RIFLE_RPM: i64 = 600;
pub const RIFLE_DAMAGE: u8 = 34;
pub const RIFLE_RANGE: f32 = 500.0;
pub const PLAYER_RADIUS: f32 = 8.0;
pub const HEALTH: u8 = 100;
pub const RESPAWN_MS: i64 = 1000;
/// Movement budget on the server's clock: running speed (with tolerance) accrues as distance
/// a player may cover, banked up to this much running time. Client timestamps cannot add to
/// it, so a forged clock buys nothing.
pub const MOVE_BANK_MS: i64 = 1000;
/// Shots a player may bank; the bank refills at the rifle's rate (with tolerance) on the
/// server's clock.
pub const SHOT_BANK: f32 = 3.0;
/// How far two inputs' client timestamps may be further apart than their arrival times on
/// the server (network jitter), before the client's elapsed time is cut down to the real one.
pub const ARRIVAL_SLACK_MS: i64 = 250;

/// A budget that refills with server time, up to a cap.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f32,
    /// Server clock (Unix ms) of the last refill.
    at: i64,
}

impl Bucket {
    fn new(tokens: f32, at: i64) -> Bucket {
        Bucket { tokens, at }
    }

    /// Refills for the time since the last refill at `per_sec`, up to `cap`.
    fn refill(&mut self, now: i64, per_sec: f32, cap: f32) {
        let dt = now.saturating_sub(self.at).max(0) as f32 / 1000.0;
        self.tokens = (self.tokens + dt * per_sec).min(cap);
        self.at = self.at.max(now);
    }
}

fn run_rate() -> f32 {
    MAX_SPEED * SPEED_TOLERANCE
}

fn run_bank() -> f32 {
    run_rate() * MOVE_BANK_MS as f32 / 1000.0
}

/// What a (re)spawned player may run at once: the same network slack the elapsed-time clamp
/// allows, since the client learns of its spawn a moment after the server placed it.
fn run_at_spawn() -> f32 {
    run_rate() * ARRIVAL_SLACK_MS as f32 / 1000.0
}

fn shot_rate() -> f32 {
    RIFLE_RPM as f32 / 60.0 * SPEED_TOLERANCE
}

pub struct Arena;

struct Fighter {
    user_id: UserId,
    username: String,
    slot: u8,
    team: usize,
    x: f32,
    y: f32,
    aim: f32,
    health: u8,
    kills: u32,
    deaths: u32,
    /// Client clock of the last accepted input; `None` until the first input after a
    /// spawn, whose own timestamp becomes the baseline (client and server clocks may differ
    /// by up to [`CLOCK_TOLERANCE_MS`], so the server clock is never mixed in).
    last_ts: Option<i64>,
    /// Server clock of the last (re)spawn: how far the first input after it may have moved.
    spawned_at: i64,
    /// Where the player died, until an input from the new life is accepted: inputs sent
    /// before the client saw the respawn still report it, and are dropped, not counted.
    died_at: Option<(f32, f32)>,
    /// Where the client said it was in the last input that arrived while it was dead. A
    /// client learns of its death a moment late, so it may have moved on past `died_at`
    /// with inputs the server dropped (dead); its inputs in flight at the respawn repeat
    /// this position, and are stale just the same.
    dead_report: Option<(f32, f32)>,
    last_shot: Option<i64>,
    respawn_at: i64,
    ack: u32,
    violations: u32,
    /// Distance and shots the player may still spend, refilled on server time.
    run: Bucket,
    shots: Bucket,
    /// Server arrival time of the last accepted input of this life.
    last_arrival: Option<i64>,
}

impl Fighter {
    fn line(&self) -> PlayerResult {
        PlayerResult {
            user_id: self.user_id,
            username: self.username.clone(),
            team: TEAMS[self.team].to_string(),
            kills: self.kills,
            deaths: self.deaths,
            score: score(self.kills, self.deaths),
            violations: self.violations,
        }
    }
}

fn score(kills: u32, deaths: u32) -> i64 {
    i64::from(kills) * 100 - i64::from(deaths) * 50
}

enum Phase {
    Playing,
    Voting {
        until: i64,
        votes: HashMap<UserId, String>,
    },
}

struct Ending {
    winner: Option<usize>,
    reason: &'static str,
    at: i64,
}

pub struct ArenaMatch {
    match_id: String,
    label: String,
    map: &'static str,
    w: f32,
    h: f32,
    kill_limit: u32,
    time_limit_ms: i64,
    vote_secs: u32,
    kick_after: u32,
    max_players: u32,
    params: serde_json::Value,
    /// Teams the match was made with (`params.matchmaking.teams`: the matchmaker's
    /// balanced teams, red first): user → team. Players not listed join the smaller team.
    assigned: HashMap<UserId, usize>,
    started: i64,
    fighters: Vec<Fighter>,
    departed: Vec<PlayerResult>,
    scores: [u32; 2],
    phase: Phase,
    ending: Option<Ending>,
}

/// The teams in `params.matchmaking.teams`, when present: two lists of user ids (red, blue).
fn assigned_teams(params: &serde_json::Value) -> Result<HashMap<UserId, usize>, String> {
    let Some(teams) = params.get("matchmaking").and_then(|m| m.get("teams")) else {
        return Ok(HashMap::new());
    };
    let bad = || "params.matchmaking.teams must be two lists of user ids (red, blue)".to_string();
    let lists = teams
        .as_array()
        .filter(|t| t.len() == TEAMS.len())
        .ok_or_else(bad)?;
    let mut out = HashMap::new();
    for (team, list) in lists.iter().enumerate() {
        for id in list.as_array().ok_or_else(bad)? {
            let user: UserId = id.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            if out.insert(user, team).is_some() {
                return Err(format!("params.matchmaking.teams lists {user} twice"));
            }
        }
    }
    Ok(out)
}

fn vote_options() -> Vec<String> {
    MAPS.iter().map(|(m, _, _)| format!("arena/{m}")).collect()
}

impl ArenaMatch {
    fn spawn(&self, team: usize) -> (f32, f32) {
        let x = if team == 0 { 0.1 } else { 0.9 };
        (self.w * x, self.h * 0.5)
    }

    fn lines(&self) -> Vec<PlayerResult> {
        let mut v: Vec<PlayerResult> = self.fighters.iter().map(Fighter::line).collect();
        v.extend(self.departed.iter().cloned());
        v
    }

    /// Ends the match: the scoreboard goes out, then (`vote`) the post-match vote runs.
    fn end(
        &mut self,
        winner: Option<usize>,
        reason: &'static str,
        now: i64,
        vote: bool,
        out: &mut Outbox,
    ) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(Ending {
            winner,
            reason,
            at: now,
        });
        let scoreboard = Scoreboard {
            winner: winner.map(|t| TEAMS[t].to_string()),
            reason: reason.to_string(),
            team_scores: self.team_scores(),
            duration_ms: (now - self.started).max(0) as u64,
            players: self
                .lines()
                .into_iter()
                .map(|p| ScoreLine {
                    user_id: p.user_id.to_string(),
                    username: p.username,
                    team: p.team,
                    kills: p.kills,
                    deaths: p.deaths,
                    score: p.score,
                })
                .collect(),
        };
        let (vote_options, vote_secs) = if vote {
            (vote_options(), self.vote_secs)
        } else {
            (Vec::new(), 0)
        };
        out.push(Effect::End {
            scoreboard,
            vote_options,
            vote_secs,
        });
        self.phase = Phase::Voting {
            until: now + i64::from(self.vote_secs) * 1000,
            votes: HashMap::new(),
        };
    }

    /// The team with more kills; `None` on a tie.
    fn leader(&self) -> Option<usize> {
        match self.scores[0].cmp(&self.scores[1]) {
            std::cmp::Ordering::Greater => Some(0),
            std::cmp::Ordering::Less => Some(1),
            std::cmp::Ordering::Equal => None,
        }
    }

    fn team_scores(&self) -> BTreeMap<String, u32> {
        TEAMS
            .iter()
            .zip(self.scores)
            .map(|(t, s)| (t.to_string(), s))
            .collect()
    }

    fn violation(&mut self, i: usize, kind: &'static str, detail: String, out: &mut Outbox) {
        let f = &mut self.fighters[i];
        f.violations += 1;
        out.push(Effect::Suspicion {
            user_id: f.user_id,
            kind,
            detail,
            count: f.violations,
        });
        if f.violations == self.kick_after {
            out.push(Effect::Kick {
                user_id: f.user_id,
                reason: format!("removed after {} anti-cheat violations", self.kick_after),
            });
        }
    }

    fn input(&mut self, input: &Input, now: i64, out: &mut Outbox) {
        let Some(i) = self.fighters.iter().position(|f| f.slot == input.slot) else {
            return;
        };
        self.fighters[i].ack = input.seq;
        if self.fighters[i].violations >= self.kick_after {
            return;
        }
        if input.op != arena_op::INPUT {
            return;
        }
        let Some(inp) = ArenaInput::decode(&input.payload) else {
            let len = input.payload.len();
            self.violation(
                i,
                "malformed_input",
                format!("{len} bytes, expected {}", ArenaInput::LEN),
                out,
            );
            return;
        };
        if self.fighters[i].health == 0 {
            self.fighters[i].dead_report = Some((inp.x, inp.y));
            return;
        }
        let off = inp.timestamp_ms.saturating_sub(now);
        if off.unsigned_abs() > CLOCK_TOLERANCE_MS as u64 {
            self.violation(i, "timestamp", format!("input clock {off} ms off"), out);
            return;
        }
        let finite = inp.x.is_finite() && inp.y.is_finite() && inp.aim.is_finite();
        if !finite || !(0.0..=self.w).contains(&inp.x) || !(0.0..=self.h).contains(&inp.y) {
            self.violation(
                i,
                "out_of_bounds",
                format!("({}, {}) outside {}x{}", inp.x, inp.y, self.w, self.h),
                out,
            );
            return;
        }
        let f = &self.fighters[i];
        if f.last_ts.is_none() {
            let stale = [f.died_at, f.dead_report]
                .into_iter()
                .flatten()
                .any(|(dx, dy)| (inp.x - dx).hypot(inp.y - dy) <= SPEED_SLACK);
            if stale {
                // In flight when the player respawned: stale, not a cheat.
                return;
            }
        }
        // When it arrived, on the server's clock (never after `now`).
        let arrived = input.at_ms.min(now);
        let client_dt = match f.last_ts {
            Some(last) => inp.timestamp_ms.saturating_sub(last).max(0),
            // The first input of a life: the time since the spawn on the server's clock, plus
            // the network slack every later input gets. Both ends are tick clocks, and a late
            // tick followed by one on time makes that gap shorter than the frame the client
            // stepped through; the spawn's budget (`run_at_spawn`) caps the distance anyway.
            None => now.saturating_sub(f.spawned_at).max(0) + ARRIVAL_SLACK_MS,
        };
        // The client's elapsed time, but never more than really passed between the two
        // arrivals (plus network jitter): stamps swinging between -5 s and +5 s buy nothing.
        let dt = match f.last_arrival {
            Some(a) => client_dt.min(arrived.saturating_sub(a).max(0) + ARRIVAL_SLACK_MS),
            None => client_dt,
        };
        let dist = (inp.x - f.x).hypot(inp.y - f.y);
        let allowed = run_rate() * dt as f32 / 1000.0 + SPEED_SLACK;
        let mut run = f.run;
        run.refill(arrived, run_rate(), run_bank());
        if dist > allowed || dist > run.tokens + SPEED_SLACK {
            let budget = run.tokens.min(allowed);
            self.violation(
                i,
                "speed",
                format!("moved {dist:.1} in {dt} ms, at most {budget:.1}"),
                out,
            );
            return;
        }
        let min_gap = 60_000 / RIFLE_RPM * 9 / 10;
        let mut shots = f.shots;
        if inp.fire {
            if let Some(last) = f.last_shot {
                let gap = inp.timestamp_ms.saturating_sub(last);
                if gap < min_gap {
                    self.violation(
                        i,
                        "fire_rate",
                        format!("shots {gap} ms apart, at least {min_gap}"),
                        out,
                    );
                    return;
                }
            }
            shots.refill(arrived, shot_rate(), SHOT_BANK);
            if shots.tokens < 1.0 {
                self.violation(
                    i,
                    "fire_rate",
                    format!(
                        "shots arriving faster than {:.0}/s (bank of {SHOT_BANK})",
                        shot_rate()
                    ),
                    out,
                );
                return;
            }
            shots.tokens -= 1.0;
        }
        run.tokens = (run.tokens - dist).max(0.0);
        let f = &mut self.fighters[i];
        f.run = run;
        f.shots = shots;
        f.last_arrival = Some(f.last_arrival.map_or(arrived, |a| a.max(arrived)));
        f.x = inp.x;
        f.y = inp.y;
        f.aim = inp.aim;
        f.last_ts = Some(
            f.last_ts
                .map_or(inp.timestamp_ms, |l| l.max(inp.timestamp_ms)),
        );
        f.died_at = None;
        f.dead_report = None;
        if inp.fire {
            f.last_shot = Some(inp.timestamp_ms);
            self.shoot(i, now, out);
        }
    }

    /// Hitscan along the shooter's aim: the nearest living enemy within reach takes damage.
    fn shoot(&mut self, shooter: usize, now: i64, out: &mut Outbox) {
        let (sx, sy, aim, team) = {
            let f = &self.fighters[shooter];
            (f.x, f.y, f.aim, f.team)
        };
        let (dx, dy) = (aim.cos(), aim.sin());
        let mut best: Option<(usize, f32)> = None;
        for (j, t) in self.fighters.iter().enumerate() {
            if t.team == team || t.health == 0 {
                continue;
            }
            let (ex, ey) = (t.x - sx, t.y - sy);
            let along = ex * dx + ey * dy;
            let across = (ex * dy - ey * dx).abs();
            let in_line = along > 0.0 && along <= RIFLE_RANGE && across <= PLAYER_RADIUS;
            if in_line && best.is_none_or(|(_, d)| along < d) {
                best = Some((j, along));
            }
        }
        let Some((victim, _)) = best else {
            return;
        };
        let v = &mut self.fighters[victim];
        v.health = v.health.saturating_sub(RIFLE_DAMAGE);
        if v.health > 0 {
            return;
        }
        v.deaths += 1;
        v.respawn_at = now + RESPAWN_MS;
        v.dead_report = None;
        self.fighters[shooter].kills += 1;
        self.scores[team] += 1;
        if self.scores[team] >= self.kill_limit {
            self.end(Some(team), "kill_limit", now, true, out);
        }
    }

    fn respawn(&mut self, now: i64) {
        for i in 0..self.fighters.len() {
            let f = &self.fighters[i];
            if f.health == 0 && f.respawn_at <= now {
                let (x, y) = self.spawn(f.team);
                let f = &mut self.fighters[i];
                f.health = HEALTH;
                f.died_at = Some((f.x, f.y));
                f.x = x;
                f.y = y;
                f.last_ts = None;
                f.spawned_at = now;
                f.last_shot = None;
                f.last_arrival = None;
                f.run = Bucket::new(run_at_spawn(), now);
                f.shots = Bucket::new(SHOT_BANK, now);
            }
        }
    }

    fn state(&self, now: i64) -> ArenaState {
        let elapsed = now - self.started;
        let left = match &self.ending {
            Some(_) => 0,
            None => (self.time_limit_ms - elapsed).clamp(0, u32::MAX as i64) as u32,
        };
        ArenaState {
            time_left_ms: left,
            red: self.scores[0].min(u16::MAX as u32) as u16,
            blue: self.scores[1].min(u16::MAX as u32) as u16,
            phase: u8::from(self.ending.is_some()),
            players: self
                .fighters
                .iter()
                .map(|f| ArenaPlayer {
                    slot: f.slot,
                    team: f.team as u8,
                    health: f.health,
                    x: f.x,
                    y: f.y,
                    aim: f.aim,
                    kills: f.kills.min(u16::MAX as u32) as u16,
                    deaths: f.deaths.min(u16::MAX as u32) as u16,
                    ack: f.ack,
                })
                .collect(),
        }
    }
}

impl MatchHandler for Arena {
    type State = ArenaMatch;

    fn init(&self, params: &MatchParams) -> Result<Setup<ArenaMatch>, String> {
        let map_name = params.text("map", MAPS[0].0)?;
        let &(map, w, h) = MAPS
            .iter()
            .find(|(m, _, _)| *m == map_name)
            .ok_or_else(|| {
                let names: Vec<&str> = MAPS.iter().map(|m| m.0).collect();
                format!("params.map must be one of {}", names.join(", "))
            })?;
        let max_players = params.int("max_players", 10, 2..=16)? as u32;
        let kill_limit = params.int("kill_limit", 50, 1..=1000)? as u32;
        let time_limit_secs = params.int("time_limit_secs", 600, 10..=3600)?;
        let rules = Rules {
            map: Some(map.to_string()),
            kill_limit: Some(kill_limit),
            time_limit_secs: Some(time_limit_secs as u32),
        };
        let state = ArenaMatch {
            match_id: params.match_id.clone(),
            label: params.label.clone(),
            map,
            w,
            h,
            kill_limit,
            time_limit_ms: time_limit_secs * 1000,
            vote_secs: params.int("vote_secs", 15, 0..=60)? as u32,
            kick_after: params.int("kick_after", 10, 1..=1000)? as u32,
            max_players,
            assigned: assigned_teams(&params.params)?,
            params: params.params.clone(),
            started: crate::time::now_ms(),
            fighters: Vec::new(),
            departed: Vec::new(),
            scores: [0, 0],
            phase: Phase::Playing,
            ending: None,
        };
        Ok(Setup {
            state,
            tick_rate: params.tick_rate()?,
            max_players,
            rules,
        })
    }

    fn join_attempt(&self, s: &ArenaMatch, who: &Presence) -> Result<(), String> {
        if s.ending.is_some() {
            return Err("the match has ended".into());
        }
        if s.fighters.len() as u32 >= s.max_players {
            return Err("the match is full".into());
        }
        // Removed for cheating is removed for the rest of the match: a rejoin would come
        // back with its violations counted and never be removed again.
        if s.departed
            .iter()
            .any(|p| p.user_id == who.user_id && p.violations >= s.kick_after)
        {
            return Err(format!(
                "you were removed from this match after {} anti-cheat violations",
                s.kick_after
            ));
        }
        Ok(())
    }

    fn join(&self, s: &mut ArenaMatch, who: &mut Presence, _out: &mut Outbox) {
        // The seat's team (a backfill's join ticket), else the team the match was made
        // with, else the team a returning player left (their kills count for it), else
        // the smaller team (red on a tie).
        let returning = s
            .departed
            .iter()
            .find(|p| p.user_id == who.user_id)
            .and_then(|p| TEAMS.iter().position(|t| *t == p.team));
        let team = match who
            .seat_team
            .filter(|t| *t < TEAMS.len())
            .or_else(|| s.assigned.get(&who.user_id).copied())
            .or(returning)
        {
            Some(t) => t,
            None => {
                let red = s.fighters.iter().filter(|f| f.team == 0).count();
                usize::from(red > s.fighters.len() - red)
            }
        };
        who.team = Some(TEAMS[team].to_string());
        let (x, y) = s.spawn(team);
        // A player who comes back keeps what they scored.
        let (kills, deaths, violations) =
            match s.departed.iter().position(|p| p.user_id == who.user_id) {
                Some(i) => {
                    let p = s.departed.remove(i);
                    (p.kills, p.deaths, p.violations)
                }
                None => (0, 0, 0),
            };
        let now = crate::time::now_ms();
        s.fighters.push(Fighter {
            user_id: who.user_id,
            username: who.username.clone(),
            slot: who.slot,
            team,
            x,
            y,
            aim: if team == 0 { 0.0 } else { std::f32::consts::PI },
            health: HEALTH,
            kills,
            deaths,
            last_ts: None,
            spawned_at: now,
            died_at: None,
            dead_report: None,
            last_shot: None,
            respawn_at: 0,
            ack: 0,
            violations,
            run: Bucket::new(run_at_spawn(), now),
            shots: Bucket::new(SHOT_BANK, now),
            last_arrival: None,
        });
    }

    fn leave(&self, s: &mut ArenaMatch, who: &Presence, _out: &mut Outbox) {
        if let Some(i) = s.fighters.iter().position(|f| f.user_id == who.user_id) {
            let f = s.fighters.remove(i);
            s.departed.push(f.line());
        }
    }

    fn tick(&self, s: &mut ArenaMatch, _tick: u64, inputs: Inputs, out: &mut Outbox) -> Flow {
        let now = crate::time::now_ms();
        let mut flow = Flow::Continue;
        match &mut s.phase {
            Phase::Playing => {
                for input in &inputs.datagrams {
                    if s.ending.is_some() {
                        break;
                    }
                    s.input(input, now, out);
                }
                s.respawn(now);
                if s.ending.is_none() && now - s.started >= s.time_limit_ms {
                    s.end(s.leader(), "time_limit", now, true, out);
                }
            }
            Phase::Voting { until, votes } => {
                let options = vote_options();
                for m in inputs.messages {
                    if let MessageKind::Vote { option } = m.kind {
                        if options.contains(&option) {
                            votes.insert(m.user_id, option);
                        }
                    }
                }
                if now >= *until {
                    let mut tally: BTreeMap<String, u32> =
                        options.iter().map(|o| (o.clone(), 0)).collect();
                    for v in votes.values() {
                        *tally.entry(v.clone()).or_insert(0) += 1;
                    }
                    let mut chosen = options[0].clone();
                    for o in &options {
                        if tally.get(o) > tally.get(&chosen) {
                            chosen = o.clone();
                        }
                    }
                    let next = if s.fighters.is_empty() {
                        None
                    } else {
                        let mut params = match &s.params {
                            serde_json::Value::Object(m) => m.clone(),
                            _ => serde_json::Map::new(),
                        };
                        let map = chosen.trim_start_matches("arena/").to_string();
                        params.insert("map".into(), serde_json::Value::String(map));
                        Some(("arena".to_string(), serde_json::Value::Object(params)))
                    };
                    out.push(Effect::VoteResult {
                        option: chosen,
                        tally,
                        next,
                    });
                    flow = Flow::End;
                }
            }
        }
        out.datagram(Target::All, arena_op::STATE, s.state(now).encode());
        flow
    }

    fn result(&self, s: &ArenaMatch) -> Option<MatchResult> {
        let ending = s.ending.as_ref()?;
        Some(MatchResult {
            match_id: s.match_id.clone(),
            mode: "arena".into(),
            label: s.label.clone(),
            map: s.map.to_string(),
            winner: ending.winner.map(|t| TEAMS[t].to_string()),
            reason: ending.reason.to_string(),
            team_scores: s.team_scores(),
            started_at: s.started,
            ended_at: ending.at,
            duration_ms: (ending.at - s.started).max(0) as u64,
            players: s.lines(),
            stats_counted: true,
        })
    }

    fn terminate(&self, s: ArenaMatch) -> Option<MatchResult> {
        self.result(&s)
    }

    /// Ended by an admin: scored as if time ran out (more kills wins, a tie is a draw),
    /// `reason: "ended_by_admin"`, no vote. A match already past its end keeps its result.
    fn end_now(&self, s: &mut ArenaMatch, out: &mut Outbox) {
        let now = crate::time::now_ms();
        s.end(s.leader(), "ended_by_admin", now, false, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn arena(params: serde_json::Value) -> (Arena, ArenaMatch) {
        let setup = Arena
            .init(&MatchParams {
                match_id: "m".into(),
                mode: "arena".into(),
                label: String::new(),
                params,
                default_tick_hz: 30,
            })
            .unwrap();
        (Arena, setup.state)
    }

    fn join(a: &Arena, s: &mut ArenaMatch, slot: u8) -> Presence {
        let mut p = Presence {
            user_id: uuid::Uuid::new_v4(),
            username: format!("p{slot}"),
            session_id: String::new(),
            slot,
            team: None,
            seat_team: None,
        };
        a.join_attempt(s, &p).unwrap();
        a.join(s, &mut p, &mut Outbox::default());
        p
    }

    fn input(slot: u8, seq: u32, payload: Vec<u8>) -> Input {
        Input {
            user_id: uuid::Uuid::nil(),
            slot,
            seq,
            op: arena_op::INPUT,
            payload: Bytes::from(payload),
            at_ms: crate::time::now_ms(),
        }
    }

    fn raw(ts: i64, x: f32, y: f32, aim: f32, fire: bool) -> Vec<u8> {
        ArenaInput {
            timestamp_ms: ts,
            x,
            y,
            aim,
            fire,
        }
        .encode()
    }

    fn kinds(out: &Outbox) -> Vec<&'static str> {
        out.effects()
            .iter()
            .filter_map(|e| match e {
                Effect::Suspicion { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_returning_player_keeps_their_team_and_a_removed_cheater_stays_out() {
        let (a, mut s) = arena(serde_json::json!({"kick_after": 3}));
        let red = join(&a, &mut s, 0);
        let _blue = join(&a, &mut s, 1);
        let _red2 = join(&a, &mut s, 2);
        assert_eq!(red.team.as_deref(), Some("red"));
        // Red leads 2–1; the red player leaves and comes back: red again, not the smaller
        // blue, so their kills and a win go with the team they earned them for.
        a.leave(&mut s, &red, &mut Outbox::default());
        let mut back = red.clone();
        back.team = None;
        a.join_attempt(&s, &back).unwrap();
        a.join(&mut s, &mut back, &mut Outbox::default());
        assert_eq!(back.team.as_deref(), Some("red"));

        // Removed after `kick_after` violations: a rejoin is refused with the reason.
        let i = s
            .fighters
            .iter()
            .position(|f| f.user_id == back.user_id)
            .unwrap();
        s.fighters[i].violations = 3;
        a.leave(&mut s, &back, &mut Outbox::default());
        let refused = a.join_attempt(&s, &back).unwrap_err();
        assert!(refused.contains("anti-cheat"), "{refused}");
    }

    #[test]
    fn teams_fill_evenly_and_hostile_inputs_are_refused_without_panicking() {
        let (a, mut s) = arena(serde_json::json!({"kick_after": 100}));
        let red = join(&a, &mut s, 0);
        let blue = join(&a, &mut s, 1);
        assert_eq!(red.team.as_deref(), Some("red"));
        assert_eq!(blue.team.as_deref(), Some("blue"));
        let now = crate::time::now_ms();
        let hostile = vec![
            input(0, 1, raw(i64::MIN, 48.0, 135.0, 0.0, false)),
            input(0, 2, raw(i64::MAX, 48.0, 135.0, 0.0, true)),
            input(0, 3, raw(now, f32::NAN, 135.0, 0.0, false)),
            input(0, 4, raw(now, 48.0, f32::INFINITY, 0.0, false)),
            input(0, 5, raw(now, 48.0, 135.0, f32::NAN, true)),
            input(0, 6, vec![1, 2, 3]),
            input(0, 7, raw(now, 400.0, 135.0, 0.0, false)),
            input(9, 8, raw(now, 48.0, 135.0, 0.0, false)),
        ];
        let mut out = Outbox::default();
        a.tick(
            &mut s,
            1,
            Inputs {
                datagrams: hostile,
                messages: vec![],
            },
            &mut out,
        );
        assert_eq!(
            kinds(&out),
            [
                "timestamp",
                "timestamp",
                "out_of_bounds",
                "out_of_bounds",
                "out_of_bounds",
                "malformed_input",
                "speed"
            ]
        );
        assert_eq!((s.fighters[0].x, s.fighters[0].ack), (48.0, 7));
    }

    fn join_as(
        a: &Arena,
        s: &mut ArenaMatch,
        user: UserId,
        slot: u8,
        seat: Option<usize>,
    ) -> Presence {
        let mut p = Presence {
            user_id: user,
            username: format!("p{slot}"),
            session_id: String::new(),
            slot,
            team: None,
            seat_team: seat,
        };
        a.join_attempt(s, &p).unwrap();
        a.join(s, &mut p, &mut Outbox::default());
        p
    }

    #[test]
    fn the_matchmakers_teams_are_honoured_and_others_join_the_smaller_team() {
        let (a1, a2, b1, b2) = (
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        );
        let params = serde_json::json!({"matchmaking": {"mode": "duo", "region": "eu",
            "teams": [[a1.to_string(), a2.to_string()], [b1.to_string(), b2.to_string()]]}});
        let (a, mut s) = arena(params);
        // Red's two players join first: alone, the fill rule would send the second to blue.
        let team = |p: Presence| p.team.unwrap();
        assert_eq!(team(join_as(&a, &mut s, a1, 0, None)), "red");
        assert_eq!(team(join_as(&a, &mut s, a2, 1, None)), "red");
        assert_eq!(team(join_as(&a, &mut s, b2, 2, None)), "blue");
        // A player the params do not name joins the smaller team; a seat reserved on a team
        // (a backfill's ticket) goes there.
        assert_eq!(
            team(join_as(&a, &mut s, uuid::Uuid::new_v4(), 3, None)),
            "blue"
        );
        assert_eq!(
            team(join_as(&a, &mut s, uuid::Uuid::new_v4(), 4, Some(1))),
            "blue"
        );
        assert_eq!(s.fighters.iter().filter(|f| f.team == 1).count(), 3);

        // Without teams in the params, the fill rule alone.
        let (a, mut s) = arena(serde_json::json!({}));
        assert_eq!(team(join_as(&a, &mut s, a1, 0, None)), "red");
        assert_eq!(team(join_as(&a, &mut s, a2, 1, None)), "blue");

        // Malformed teams are refused at creation, naming the parameter.
        for bad in [
            serde_json::json!({"matchmaking": {"teams": [["x"], []]}}),
            serde_json::json!({"matchmaking": {"teams": [[a1.to_string()]]}}),
            serde_json::json!({"matchmaking": {"teams": [[a1.to_string()], [a1.to_string()]]}}),
        ] {
            let e = Arena
                .init(&MatchParams {
                    match_id: "m".into(),
                    mode: "arena".into(),
                    label: String::new(),
                    params: bad,
                    default_tick_hz: 30,
                })
                .err()
                .unwrap();
            assert!(e.starts_with("params.matchmaking.teams"), "{e}");
        }
    }

    fn tick_with(a: &Arena, s: &mut ArenaMatch, inputs: Vec<Input>) -> Vec<&'static str> {
        let mut out = Outbox::default();
        a.tick(
            s,
            1,
            Inputs {
                datagrams: inputs,
                messages: vec![],
            },
            &mut out,
        );
        kinds(&out)
    }

    #[test]
    fn inputs_in_flight_at_a_respawn_are_stale_even_one_step_past_where_the_server_saw_the_death() {
        let (a, mut s) = arena(serde_json::json!({}));
        join(&a, &mut s, 0);
        join(&a, &mut s, 1);
        // Blue was last placed at 397 when it died; its client, not told yet, stepped on to
        // 392 and keeps reporting 392 while dead (those inputs are dropped).
        let now = crate::time::now_ms();
        s.fighters[1].x = 397.0;
        s.fighters[1].health = 0;
        s.fighters[1].respawn_at = now + 60_000;
        let dead = tick_with(
            &a,
            &mut s,
            vec![input(1, 1, raw(now, 392.0, 135.0, 0.0, false))],
        );
        assert!(dead.is_empty(), "{dead:?}");
        // The respawn puts it back at its spawn.
        s.fighters[1].respawn_at = 0;
        tick_with(&a, &mut s, vec![]);
        assert_eq!((s.fighters[1].health, s.fighters[1].x), (HEALTH, 432.0));
        s.fighters[1].spawned_at -= 100; // the client took 100 ms to see it
                                         // Still in flight: 392 again, and the server's own 397. Both dropped, not flagged.
        let stale = vec![
            input(1, 2, raw(now, 392.0, 135.0, 0.0, false)),
            input(1, 3, raw(now, 397.0, 135.0, 0.0, false)),
        ];
        assert!(tick_with(&a, &mut s, stale).is_empty());
        assert_eq!(s.fighters[1].x, 432.0);
        // A jump anywhere else from the spawn is a speed violation as before.
        let far = tick_with(
            &a,
            &mut s,
            vec![input(1, 4, raw(now, 300.0, 135.0, 0.0, false))],
        );
        assert_eq!(far, ["speed"]);
        // The new life's first step is applied; from then on 392 is an ordinary position.
        assert!(tick_with(
            &a,
            &mut s,
            vec![input(1, 5, raw(now, 427.0, 135.0, 0.0, false))]
        )
        .is_empty());
        assert_eq!(s.fighters[1].x, 427.0);
        assert_eq!(s.fighters[1].dead_report, None);
    }

    #[test]
    fn three_hits_kill_and_the_kill_limit_ends_the_match() {
        let (a, mut s) = arena(serde_json::json!({"kill_limit": 1, "vote_secs": 0}));
        join(&a, &mut s, 0);
        join(&a, &mut s, 1);
        let now = crate::time::now_ms();
        let shots = (0..3)
            .map(|i| {
                input(
                    0,
                    i + 1,
                    raw(now + i64::from(i) * 100, 48.0, 135.0, 0.0, true),
                )
            })
            .collect();
        let mut out = Outbox::default();
        a.tick(
            &mut s,
            1,
            Inputs {
                datagrams: shots,
                messages: vec![],
            },
            &mut out,
        );
        assert!(kinds(&out).is_empty());
        assert_eq!((s.fighters[1].health, s.fighters[1].deaths), (0, 1));
        assert_eq!(s.scores, [1, 0]);
        assert!(out
            .effects()
            .iter()
            .any(|e| matches!(e, Effect::End { scoreboard, .. } if scoreboard.winner.as_deref() == Some("red"))));
        // With no vote, the next tick ends the match; the result names the winner.
        let flow = a.tick(&mut s, 2, Inputs::default(), &mut Outbox::default());
        assert_eq!(flow, Flow::End);
        let result = a.terminate(s).unwrap();
        assert_eq!(result.winner.as_deref(), Some("red"));
        assert_eq!(result.players.len(), 2);
    }
}
