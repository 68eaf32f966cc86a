//! Round robin by the circle method: the first seed stays put, everyone else rotates one
//! place a round, so every pair meets exactly once in n − 1 rounds (n rounds when n is odd,
//! each player sitting out once). Every match can be played from the start.

use std::collections::BTreeMap;

use super::{
    check_seeds, places, record, tally, Bracket, BracketError, BracketFormat, Format, Match,
    MatchStatus, Placement, PlayerId, Report, Slot, DRAW_POINTS, WIN_POINTS,
};

#[derive(Debug, Clone, Copy)]
pub struct RoundRobin;

/// The rounds of the circle method over `n` players: pairs of seed indices per round.
pub fn circle(n: usize) -> Vec<Vec<(usize, usize)>> {
    let m = if n.is_multiple_of(2) { n } else { n + 1 };
    // `None` is the empty chair when n is odd.
    let mut ring: Vec<Option<usize>> = (0..m).map(|i| (i < n).then_some(i)).collect();
    let mut rounds = Vec::with_capacity(m - 1);
    for _ in 0..m - 1 {
        let mut pairs = Vec::with_capacity(m / 2);
        for i in 0..m / 2 {
            if let (Some(a), Some(b)) = (ring[i], ring[m - 1 - i]) {
                pairs.push((a, b));
            }
        }
        rounds.push(pairs);
        ring[1..].rotate_right(1);
    }
    rounds
}

impl Format for RoundRobin {
    fn start(&self, seeds: &[PlayerId]) -> Result<Bracket, BracketError> {
        check_seeds(seeds)?;
        let mut matches = Vec::new();
        let rounds = circle(seeds.len());
        for (r, pairs) in rounds.iter().enumerate() {
            for (i, (a, b)) in pairs.iter().enumerate() {
                let id = matches.len() as u32;
                matches.push(Match::between(
                    id,
                    r as u32 + 1,
                    i as u32,
                    seeds[*a],
                    Slot::Player(seeds[*b]),
                ));
            }
        }
        Ok(Bracket {
            format: BracketFormat::RoundRobin,
            players: seeds.to_vec(),
            matches,
            rounds: rounds.len() as u32,
            finished: false,
            ended_early: false,
        })
    }

    fn report(&self, b: &mut Bracket, match_id: u32, r: &Report) -> Result<(), BracketError> {
        record(b, match_id, r, None)?;
        b.finished = b.matches.iter().all(|m| m.status.decided());
        Ok(())
    }

    fn standings(&self, b: &Bracket) -> Option<Vec<Placement>> {
        b.finished.then(|| by_points(b, false))
    }
}

/// Points of every player: 3 a win (byes included), 1 a draw.
pub(crate) fn points(b: &Bracket) -> BTreeMap<PlayerId, i64> {
    tally(b)
        .into_iter()
        .map(|(p, (w, _, d))| (p, w as i64 * WIN_POINTS + d as i64 * DRAW_POINTS))
        .collect()
}

/// Score difference (own minus opponents') over played matches with scores.
fn score_difference(b: &Bracket) -> BTreeMap<PlayerId, i64> {
    let mut diff: BTreeMap<PlayerId, i64> = BTreeMap::new();
    for m in b.matches.iter().filter(|m| m.status == MatchStatus::Done) {
        if let (Some((a, c)), Some(sa), Some(sb)) = (m.players(), m.score_a, m.score_b) {
            *diff.entry(a).or_default() += sa - sb;
            *diff.entry(c).or_default() += sb - sa;
        }
    }
    diff
}

/// The sum of each player's opponents' points (byes are no opponent).
pub(crate) fn buchholz(b: &Bracket, pts: &BTreeMap<PlayerId, i64>) -> BTreeMap<PlayerId, i64> {
    let mut out: BTreeMap<PlayerId, i64> = b.players.iter().map(|p| (*p, 0)).collect();
    for m in b.matches.iter().filter(|m| m.status == MatchStatus::Done) {
        if let Some((a, c)) = m.players() {
            *out.entry(a).or_default() += pts.get(&c).copied().unwrap_or(0);
            *out.entry(c).or_default() += pts.get(&a).copied().unwrap_or(0);
        }
    }
    out
}

/// Standings by points, then Buchholz (Swiss) or score difference (round robin), then
/// seed; equal points and tie-break share a place.
pub(crate) fn by_points(b: &Bracket, swiss: bool) -> Vec<Placement> {
    let t = tally(b);
    let pts = points(b);
    let tie = if swiss {
        buchholz(b, &pts)
    } else {
        score_difference(b)
    };
    let mut rows: Vec<Placement> = b
        .players
        .iter()
        .map(|p| {
            let (wins, losses, draws) = t.get(p).copied().unwrap_or_default();
            Placement {
                user_id: *p,
                place: 0,
                wins,
                losses,
                draws,
                points: pts.get(p).copied().unwrap_or(0),
                buchholz: swiss.then(|| tie.get(p).copied().unwrap_or(0)),
            }
        })
        .collect();
    let key = |r: &Placement| (r.points, tie.get(&r.user_id).copied().unwrap_or(0));
    // Stable sort over seed order: equal keys stay in seed order.
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    let keys: Vec<(i64, i64)> = rows.iter().map(key).collect();
    let p = places(rows.len(), |i| keys[i] == keys[i - 1]);
    for (row, place) in rows.iter_mut().zip(p) {
        row.place = place;
    }
    rows
}
