//! Bracket formats: single elimination, double elimination, round robin and Swiss, each a
//! pure state machine over seeds and reported results. A [`Bracket`] is what is stored and
//! what a client draws: every match with its section, round, position, both slots, where
//! each slot comes from, its status, winner and scores. Nothing here knows of storage,
//! clocks or players' accounts.

pub mod elimination;
pub mod round_robin;
pub mod swiss;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use elimination::{DoubleElimination, SingleElimination};
pub use round_robin::RoundRobin;
pub use swiss::Swiss;

pub type PlayerId = Uuid;

/// Points for a win, a draw and a loss where formats count points (round robin, Swiss).
pub const WIN_POINTS: i64 = 3;
pub const DRAW_POINTS: i64 = 1;

/// Which part of a bracket a match belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The (only) bracket of single elimination, the upper bracket of double elimination.
    Winners,
    /// The lower bracket of double elimination.
    Losers,
    /// Double elimination's final; its second match is the bracket reset.
    GrandFinal,
    /// Single elimination's match between the semi-final losers.
    ThirdPlace,
    /// The rounds of round robin and Swiss.
    Pool,
}

/// Who sits in one side of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// Not known yet: the match it comes from is not decided.
    Pending,
    /// Nobody will come: the other side advances without playing.
    Bye,
    Player(PlayerId),
}

impl Slot {
    pub fn player(self) -> Option<PlayerId> {
        match self {
            Slot::Player(p) => Some(p),
            _ => None,
        }
    }
}

/// Where a slot is filled from (what a client draws its lines from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The player seeded at this index (0 = top seed); a bye past the last seed.
    Seed(u32),
    /// The winner of this match id.
    Winner(u32),
    /// The loser of this match id.
    Loser(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// A slot is still pending.
    Waiting,
    /// Both players known: can be played and reported.
    Ready,
    /// Played and reported.
    Done,
    /// One side is a bye: the other advanced without playing.
    Walkover,
    /// Nobody plays it: both sides byes, or a bracket reset that was not needed.
    Void,
}

impl MatchStatus {
    pub fn decided(self) -> bool {
        matches!(
            self,
            MatchStatus::Done | MatchStatus::Walkover | MatchStatus::Void
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub id: u32,
    pub section: Section,
    /// 1-based within its section.
    pub round: u32,
    /// 0-based position within its round, top to bottom.
    pub position: u32,
    pub a: Slot,
    pub b: Slot,
    pub a_from: Option<Source>,
    pub b_from: Option<Source>,
    pub status: MatchStatus,
    pub winner: Option<PlayerId>,
    pub score_a: Option<i64>,
    pub score_b: Option<i64>,
    #[serde(default)]
    pub draw: bool,
    /// Double elimination's bracket reset: played only when the lower-bracket champion
    /// wins the first grand final.
    #[serde(default)]
    pub reset: bool,
}

impl Match {
    fn new(id: u32, section: Section, round: u32, position: u32, a: Source, b: Source) -> Self {
        Match {
            id,
            section,
            round,
            position,
            a: Slot::Pending,
            b: Slot::Pending,
            a_from: Some(a),
            b_from: Some(b),
            status: MatchStatus::Waiting,
            winner: None,
            score_a: None,
            score_b: None,
            draw: false,
            reset: false,
        }
    }

    /// A match whose players are known at creation (round robin, Swiss).
    fn between(id: u32, round: u32, position: u32, a: PlayerId, b: Slot) -> Self {
        let status = if b == Slot::Bye {
            MatchStatus::Walkover
        } else {
            MatchStatus::Ready
        };
        Match {
            id,
            section: Section::Pool,
            round,
            position,
            a: Slot::Player(a),
            b,
            a_from: None,
            b_from: None,
            status,
            winner: (b == Slot::Bye).then_some(a),
            score_a: None,
            score_b: None,
            draw: false,
            reset: false,
        }
    }

    /// The two players, when both are known.
    pub fn players(&self) -> Option<(PlayerId, PlayerId)> {
        Some((self.a.player()?, self.b.player()?))
    }

    pub fn has(&self, p: PlayerId) -> bool {
        self.a == Slot::Player(p) || self.b == Slot::Player(p)
    }

    /// The loser of a played match without a draw.
    pub fn loser(&self) -> Option<PlayerId> {
        if self.status != MatchStatus::Done || self.draw {
            return None;
        }
        let (a, b) = self.players()?;
        match self.winner {
            Some(w) if w == a => Some(b),
            Some(_) => Some(a),
            None => None,
        }
    }
}

/// The stored state of one bracket stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bracket {
    pub format: BracketFormat,
    /// Seed order: index 0 is the top seed.
    pub players: Vec<PlayerId>,
    pub matches: Vec<Match>,
    /// Rounds a Swiss stage plays (after clamping to what its player count allows); the
    /// round count of the other formats.
    pub rounds: u32,
    /// True once every match that will be played is decided.
    pub finished: bool,
    /// Swiss only: no pairing without a rematch existed, so the stage ended before
    /// `rounds`.
    #[serde(default)]
    pub ended_early: bool,
}

impl Bracket {
    pub fn get(&self, id: u32) -> Option<&Match> {
        self.matches.get(id as usize)
    }

    /// What can be played now.
    pub fn ready(&self) -> Vec<Pairing> {
        self.matches
            .iter()
            .filter(|m| m.status == MatchStatus::Ready)
            .filter_map(|m| {
                let (a, b) = m.players()?;
                Some(Pairing {
                    match_id: m.id,
                    a,
                    b,
                })
            })
            .collect()
    }

    /// The seed index of a player (0 = top).
    pub fn seed_of(&self, p: PlayerId) -> Option<usize> {
        self.players.iter().position(|x| *x == p)
    }
}

/// A match that can be played now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    pub match_id: u32,
    pub a: PlayerId,
    pub b: PlayerId,
}

/// What happened in a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Win { winner: PlayerId, loser: PlayerId },
    Draw { a: PlayerId, b: PlayerId },
}

/// A reported result with optional scores by player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub result: Outcome,
    pub scores: BTreeMap<PlayerId, i64>,
}

impl Report {
    pub fn win(winner: PlayerId, loser: PlayerId) -> Self {
        Report {
            result: Outcome::Win { winner, loser },
            scores: BTreeMap::new(),
        }
    }

    pub fn draw(a: PlayerId, b: PlayerId) -> Self {
        Report {
            result: Outcome::Draw { a, b },
            scores: BTreeMap::new(),
        }
    }

    pub fn with_scores(mut self, scores: &[(PlayerId, i64)]) -> Self {
        self.scores = scores.iter().copied().collect();
        self
    }
}

/// One line of a decided stage's final standings. Places may tie (both semi-final losers
/// of a single elimination without a third-place match are 3rd).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub user_id: PlayerId,
    pub place: u32,
    pub wins: u32,
    pub losses: u32,
    pub draws: u32,
    /// Round robin and Swiss: 3 a win (a bye counts as a win), 1 a draw.
    pub points: i64,
    /// Swiss: the sum of the opponents' points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buchholz: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BracketError {
    #[error("a bracket needs at least 2 players, it has {0}")]
    NotEnoughPlayers(usize),
    #[error("players: {0} is seeded twice")]
    DuplicatePlayer(PlayerId),
    #[error("match_id: no match {0} in this bracket")]
    UnknownMatch(u32),
    #[error("match {0} is waiting for its players")]
    NotReady(u32),
    #[error("match {id} is already decided{}", winner.map(|w| format!(" (winner {w})")).unwrap_or_default())]
    AlreadyDecided { id: u32, winner: Option<PlayerId> },
    #[error("match {id} is between {a} and {b}, not {named}")]
    WrongPlayers {
        id: u32,
        a: PlayerId,
        b: PlayerId,
        named: String,
    },
    #[error("a draw is not a result in {0}")]
    DrawNotAllowed(&'static str),
    #[error("scores: {0}")]
    ScoresContradict(String),
    #[error("the bracket is finished")]
    Finished,
}

/// Every bracket format, as stored with its bracket and as chosen for a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BracketFormat {
    SingleElimination {
        #[serde(default)]
        third_place: bool,
    },
    DoubleElimination,
    RoundRobin,
    Swiss {
        /// Rounds to play; `None` = ⌈log2 players⌉.
        #[serde(default)]
        rounds: Option<u32>,
    },
}

impl BracketFormat {
    pub fn name(&self) -> &'static str {
        match self {
            BracketFormat::SingleElimination { .. } => "single_elimination",
            BracketFormat::DoubleElimination => "double_elimination",
            BracketFormat::RoundRobin => "round_robin",
            BracketFormat::Swiss { .. } => "swiss",
        }
    }

    /// The format's rules.
    pub fn rules(&self) -> Box<dyn Format> {
        match self {
            BracketFormat::SingleElimination { third_place } => Box::new(SingleElimination {
                third_place: *third_place,
            }),
            BracketFormat::DoubleElimination => Box::new(DoubleElimination),
            BracketFormat::RoundRobin => Box::new(RoundRobin),
            BracketFormat::Swiss { rounds } => Box::new(Swiss { rounds: *rounds }),
        }
    }
}

/// A format: a pure state machine over seeds and reported results.
pub trait Format {
    /// The bracket with round 1 laid out (byes placed); `seeds` in seed order.
    fn start(&self, seeds: &[PlayerId]) -> Result<Bracket, BracketError>;
    /// Records a result. A result that contradicts the bracket (unknown match, a match
    /// not ready or already decided, players not those of the match, a draw where there
    /// are none, scores against the winner) is refused and the bracket is unchanged.
    fn report(&self, b: &mut Bracket, match_id: u32, r: &Report) -> Result<(), BracketError>;
    /// What can be played now.
    fn next_matches(&self, b: &Bracket) -> Vec<Pairing> {
        b.ready()
    }
    /// The final standings, once the stage is decided.
    fn standings(&self, b: &Bracket) -> Option<Vec<Placement>>;
}

/// Checks a seed list: at least two players, none twice.
pub(crate) fn check_seeds(seeds: &[PlayerId]) -> Result<(), BracketError> {
    if seeds.len() < 2 {
        return Err(BracketError::NotEnoughPlayers(seeds.len()));
    }
    let mut seen = std::collections::HashSet::new();
    for p in seeds {
        if !seen.insert(*p) {
            return Err(BracketError::DuplicatePlayer(*p));
        }
    }
    Ok(())
}

/// Checks `r` against match `id` and records it (status `Done`): the shared part of every
/// format's `report`. Nothing changes on refusal.
pub(crate) fn record(
    b: &mut Bracket,
    id: u32,
    r: &Report,
    draws: Option<&'static str>,
) -> Result<(), BracketError> {
    if b.finished {
        return Err(BracketError::Finished);
    }
    let m = b.get(id).ok_or(BracketError::UnknownMatch(id))?;
    match m.status {
        MatchStatus::Waiting => return Err(BracketError::NotReady(id)),
        s if s.decided() => {
            return Err(BracketError::AlreadyDecided {
                id,
                winner: m.winner,
            })
        }
        _ => {}
    }
    let (a, b_) = m.players().ok_or(BracketError::NotReady(id))?;
    let (x, y, winner) = match r.result {
        Outcome::Win { winner, loser } => (winner, loser, Some(winner)),
        Outcome::Draw { a, b } => {
            if let Some(format) = draws {
                return Err(BracketError::DrawNotAllowed(format));
            }
            (a, b, None)
        }
    };
    if !((x == a && y == b_) || (x == b_ && y == a)) {
        return Err(BracketError::WrongPlayers {
            id,
            a,
            b: b_,
            named: format!("{x} and {y}"),
        });
    }
    if let Some(p) = r.scores.keys().find(|p| **p != a && **p != b_) {
        return Err(BracketError::WrongPlayers {
            id,
            a,
            b: b_,
            named: format!("a score for {p}"),
        });
    }
    let (sa, sb) = (r.scores.get(&a).copied(), r.scores.get(&b_).copied());
    if let (Some(sa), Some(sb)) = (sa, sb) {
        let ok = match winner {
            Some(w) if w == a => sa > sb,
            Some(_) => sb > sa,
            None => sa == sb,
        };
        if !ok {
            let said = match winner {
                Some(w) => format!("{w} won"),
                None => "a draw".into(),
            };
            return Err(BracketError::ScoresContradict(format!(
                "{sa}–{sb} contradicts {said}"
            )));
        }
    }
    let m = &mut b.matches[id as usize];
    m.status = MatchStatus::Done;
    m.winner = winner;
    m.draw = winner.is_none();
    m.score_a = sa;
    m.score_b = sb;
    Ok(())
}

/// Wins, losses and draws of every player over played matches (walkovers count as wins
/// for the player who had one, as Swiss byes do).
pub(crate) fn tally(b: &Bracket) -> BTreeMap<PlayerId, (u32, u32, u32)> {
    let mut t: BTreeMap<PlayerId, (u32, u32, u32)> =
        b.players.iter().map(|p| (*p, (0, 0, 0))).collect();
    for m in &b.matches {
        match m.status {
            MatchStatus::Done if m.draw => {
                for p in [m.a, m.b].iter().filter_map(|s| s.player()) {
                    t.entry(p).or_default().2 += 1;
                }
            }
            MatchStatus::Done => {
                if let Some(w) = m.winner {
                    t.entry(w).or_default().0 += 1;
                }
                if let Some(l) = m.loser() {
                    t.entry(l).or_default().1 += 1;
                }
            }
            MatchStatus::Walkover if m.section == Section::Pool => {
                if let Some(w) = m.winner {
                    t.entry(w).or_default().0 += 1;
                }
            }
            _ => {}
        }
    }
    t
}

/// Places for a list already in order, where `same(i)` says entry `i` ties with `i - 1`.
pub(crate) fn places(n: usize, same: impl Fn(usize) -> bool) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && same(i) {
            let prev = out[i - 1];
            out.push(prev);
        } else {
            out.push(i as u32 + 1);
        }
    }
    out
}

/// How to order entrants into seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SeedBy {
    /// First to join is the top seed.
    #[default]
    JoinOrder,
    /// Highest rating first; unrated players after the rated ones, in join order.
    Rating,
}

/// One entrant as seeding sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entrant {
    pub user_id: PlayerId,
    /// Order of joining (smaller first).
    pub joined: u64,
    pub rating: Option<f64>,
}

/// The seed order of `entrants`.
pub fn seed(entrants: &[Entrant], by: SeedBy) -> Vec<PlayerId> {
    let mut v = entrants.to_vec();
    match by {
        SeedBy::JoinOrder => v.sort_by_key(|e| e.joined),
        SeedBy::Rating => v.sort_by(|x, y| match (x.rating, y.rating) {
            (Some(a), Some(b)) => b.total_cmp(&a).then(x.joined.cmp(&y.joined)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.joined.cmp(&y.joined),
        }),
    }
    v.into_iter().map(|e| e.user_id).collect()
}
