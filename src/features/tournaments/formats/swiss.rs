//! Swiss: a fixed number of rounds; each round pairs players of equal or nearest score who
//! have not met, and when the count is odd the lowest-ranked player who has not had a bye
//! sits out with a win. Ranked by points, then Buchholz (the opponents' points), then seed.
//! Round 1 pairs the top half of the seeds against the bottom half; a round is drawn when
//! the one before it is decided.

use std::collections::{BTreeMap, HashSet};

use super::round_robin::{buchholz, by_points, points};
use super::{
    check_seeds, record, Bracket, BracketError, BracketFormat, Format, Match, Placement, PlayerId,
    Report, Slot,
};

#[derive(Debug, Clone, Copy)]
pub struct Swiss {
    /// Rounds to play; `None` = ⌈log2 players⌉.
    pub rounds: Option<u32>,
}

/// Most rounds `n` players can play without a rematch being forced by arithmetic.
pub fn max_rounds(n: usize) -> u32 {
    if n.is_multiple_of(2) {
        n as u32 - 1
    } else {
        n as u32
    }
}

/// Default rounds: ⌈log2 n⌉, at least 1.
pub fn default_rounds(n: usize) -> u32 {
    (n.max(2).next_power_of_two().trailing_zeros()).max(1)
}

/// Upper bound on the pairing search, so a hopeless round gives up instead of spinning.
const SEARCH_BUDGET: u32 = 200_000;

impl Swiss {
    fn draw_round(b: &mut Bracket) -> bool {
        let round = b.matches.iter().map(|m| m.round).max().unwrap_or(0) + 1;
        let ranking: Vec<PlayerId> = if round == 1 {
            b.players.clone()
        } else {
            by_points(b, true).into_iter().map(|p| p.user_id).collect()
        };
        let mut met: HashSet<(PlayerId, PlayerId)> = HashSet::new();
        let mut had_bye: HashSet<PlayerId> = HashSet::new();
        for m in &b.matches {
            match (m.a, m.b) {
                (Slot::Player(x), Slot::Player(y)) => {
                    met.insert((x, y));
                    met.insert((y, x));
                }
                (Slot::Player(x), Slot::Bye) => {
                    had_bye.insert(x);
                }
                _ => {}
            }
        }
        // The bye goes to the lowest-ranked player without one; if no pairing of the rest
        // exists, to the next one up.
        let bye_candidates: Vec<Option<PlayerId>> = if ranking.len() % 2 == 1 {
            ranking
                .iter()
                .rev()
                .filter(|p| !had_bye.contains(p))
                .map(|p| Some(*p))
                .collect()
        } else {
            vec![None]
        };
        for bye in bye_candidates {
            let rest: Vec<PlayerId> = ranking
                .iter()
                .copied()
                .filter(|p| Some(*p) != bye)
                .collect();
            let pairs = if round == 1 {
                let half = rest.len() / 2;
                Some((0..half).map(|i| (rest[i], rest[i + half])).collect())
            } else {
                let mut budget = SEARCH_BUDGET;
                pair(&rest, &met, &mut budget)
            };
            if let Some(pairs) = pairs {
                let mut position = 0;
                for (x, y) in pairs {
                    let id = b.matches.len() as u32;
                    b.matches
                        .push(Match::between(id, round, position, x, Slot::Player(y)));
                    position += 1;
                }
                if let Some(p) = bye {
                    let id = b.matches.len() as u32;
                    b.matches
                        .push(Match::between(id, round, position, p, Slot::Bye));
                }
                return true;
            }
        }
        false
    }
}

/// Pairs `ranked` (best first) so nobody meets a player they met before: the first
/// unpaired player takes the nearest-ranked one they may meet, backtracking when the rest
/// cannot be paired.
fn pair(
    ranked: &[PlayerId],
    met: &HashSet<(PlayerId, PlayerId)>,
    budget: &mut u32,
) -> Option<Vec<(PlayerId, PlayerId)>> {
    if ranked.is_empty() {
        return Some(Vec::new());
    }
    let first = ranked[0];
    for i in 1..ranked.len() {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let other = ranked[i];
        if met.contains(&(first, other)) {
            continue;
        }
        let rest: Vec<PlayerId> = ranked[1..]
            .iter()
            .copied()
            .filter(|p| *p != other)
            .collect();
        if let Some(mut pairs) = pair(&rest, met, budget) {
            pairs.insert(0, (first, other));
            return Some(pairs);
        }
    }
    None
}

impl Format for Swiss {
    fn start(&self, seeds: &[PlayerId]) -> Result<Bracket, BracketError> {
        check_seeds(seeds)?;
        let rounds = self
            .rounds
            .unwrap_or_else(|| default_rounds(seeds.len()))
            .clamp(1, max_rounds(seeds.len()));
        let mut b = Bracket {
            format: BracketFormat::Swiss {
                rounds: self.rounds,
            },
            players: seeds.to_vec(),
            matches: Vec::new(),
            rounds,
            finished: false,
            ended_early: false,
        };
        Self::draw_round(&mut b);
        Ok(b)
    }

    fn report(&self, b: &mut Bracket, match_id: u32, r: &Report) -> Result<(), BracketError> {
        record(b, match_id, r, None)?;
        if b.matches.iter().all(|m| m.status.decided()) {
            let played = b.matches.iter().map(|m| m.round).max().unwrap_or(0);
            if played >= b.rounds {
                b.finished = true;
            } else if !Self::draw_round(b) {
                b.finished = true;
                b.ended_early = true;
            }
        }
        Ok(())
    }

    fn standings(&self, b: &Bracket) -> Option<Vec<Placement>> {
        b.finished.then(|| by_points(b, true))
    }
}

/// Points and Buchholz of every player so far (what a live Swiss table shows).
pub fn table(b: &Bracket) -> BTreeMap<PlayerId, (i64, i64)> {
    let pts = points(b);
    let bh = buchholz(b, &pts);
    pts.iter()
        .map(|(p, v)| (*p, (*v, bh.get(p).copied().unwrap_or(0))))
        .collect()
}
