//! Single and double elimination. The whole tree is laid out at start over the next power
//! of two, seeds placed so the top seeds meet last and take the byes; every slot names the
//! match it comes from, and [`settle`] fills slots forward as results arrive (a match with
//! one bye is a walkover, two byes void).

use super::{
    check_seeds, places, record, tally, Bracket, BracketError, BracketFormat, Format, Match,
    MatchStatus, Placement, PlayerId, Report, Section, Slot, Source,
};

/// Single elimination: one loss and you are out; optionally a match for third place
/// between the semi-final losers.
#[derive(Debug, Clone, Copy)]
pub struct SingleElimination {
    pub third_place: bool,
}

/// Double elimination: a first loss drops you to the lower bracket, a second puts you
/// out. The upper-bracket champion meets the lower-bracket champion in the grand final;
/// if the lower one wins, the bracket resets and a second final decides.
#[derive(Debug, Clone, Copy)]
pub struct DoubleElimination;

/// Seed indices (0-based) in draw order for a bracket of `size` (a power of two): seed 1
/// meets seed 2 only in the final, and the top seeds face the byes.
pub fn draw_order(size: usize) -> Vec<u32> {
    let mut order = vec![0u32];
    while order.len() < size {
        let n = order.len() as u32 * 2;
        order = order.iter().flat_map(|&s| [s, n - 1 - s]).collect();
    }
    order
}

/// Lays out the winners bracket; returns the match ids of each round.
fn winners(matches: &mut Vec<Match>, size: usize) -> Vec<Vec<u32>> {
    let order = draw_order(size);
    let mut rounds: Vec<Vec<u32>> = Vec::new();
    let mut r1 = Vec::new();
    for (i, pair) in order.chunks(2).enumerate() {
        let id = matches.len() as u32;
        matches.push(Match::new(
            id,
            Section::Winners,
            1,
            i as u32,
            Source::Seed(pair[0]),
            Source::Seed(pair[1]),
        ));
        r1.push(id);
    }
    rounds.push(r1);
    while rounds.last().map(|r| r.len()).unwrap_or(0) > 1 {
        let prev = rounds.last().cloned().unwrap_or_default();
        let round = rounds.len() as u32 + 1;
        let mut next = Vec::new();
        for (i, pair) in prev.chunks(2).enumerate() {
            let id = matches.len() as u32;
            matches.push(Match::new(
                id,
                Section::Winners,
                round,
                i as u32,
                Source::Winner(pair[0]),
                Source::Winner(pair[1]),
            ));
            next.push(id);
        }
        rounds.push(next);
    }
    rounds
}

fn new_bracket(format: BracketFormat, seeds: &[PlayerId], matches: Vec<Match>) -> Bracket {
    let rounds = matches.iter().map(|m| m.round).max().unwrap_or(0);
    let mut b = Bracket {
        format,
        players: seeds.to_vec(),
        matches,
        rounds,
        finished: false,
        ended_early: false,
    };
    settle(&mut b);
    b
}

/// Fills every slot whose source is decided and sets each undecided match's status; one
/// pass suffices because a match's sources always have smaller ids. Then marks the
/// bracket finished when its deciding matches are.
pub(crate) fn settle(b: &mut Bracket) {
    for i in 0..b.matches.len() {
        if b.matches[i].status.decided() {
            continue;
        }
        let resolve = |src: Option<Source>, b: &Bracket| -> Slot {
            match src {
                None => Slot::Pending,
                Some(Source::Seed(s)) => match b.players.get(s as usize) {
                    Some(p) => Slot::Player(*p),
                    None => Slot::Bye,
                },
                Some(Source::Winner(m)) => {
                    let m = &b.matches[m as usize];
                    match m.status {
                        MatchStatus::Done | MatchStatus::Walkover => {
                            m.winner.map(Slot::Player).unwrap_or(Slot::Bye)
                        }
                        MatchStatus::Void => Slot::Bye,
                        _ => Slot::Pending,
                    }
                }
                Some(Source::Loser(m)) => {
                    let m = &b.matches[m as usize];
                    match m.status {
                        MatchStatus::Done => m.loser().map(Slot::Player).unwrap_or(Slot::Bye),
                        MatchStatus::Walkover | MatchStatus::Void => Slot::Bye,
                        _ => Slot::Pending,
                    }
                }
            }
        };
        let a = resolve(b.matches[i].a_from, b);
        let c = resolve(b.matches[i].b_from, b);
        // The reset is played only when the first final's lower-bracket side won it.
        let reset_needed = if b.matches[i].reset {
            match b.matches[i].a_from {
                Some(Source::Winner(g)) | Some(Source::Loser(g)) => {
                    let g = &b.matches[g as usize];
                    match g.status {
                        MatchStatus::Done => Some(g.winner.is_some() && g.winner == g.b.player()),
                        s if s.decided() => Some(false),
                        _ => None,
                    }
                }
                _ => Some(false),
            }
        } else {
            Some(true)
        };
        let m = &mut b.matches[i];
        m.a = a;
        m.b = c;
        m.status = match (reset_needed, a, c) {
            (Some(false), _, _) => MatchStatus::Void,
            (None, _, _) | (_, Slot::Pending, _) | (_, _, Slot::Pending) => MatchStatus::Waiting,
            (_, Slot::Player(_), Slot::Player(_)) => MatchStatus::Ready,
            (_, Slot::Player(p), Slot::Bye) | (_, Slot::Bye, Slot::Player(p)) => {
                m.winner = Some(p);
                MatchStatus::Walkover
            }
            (_, Slot::Bye, Slot::Bye) => MatchStatus::Void,
        };
    }
    b.finished = b
        .matches
        .iter()
        .filter(|m| deciding(b, m))
        .all(|m| m.status.decided());
}

/// The matches a bracket waits for before it is finished: the final (and third-place
/// match) of single elimination, both grand finals of double elimination.
fn deciding(b: &Bracket, m: &Match) -> bool {
    match b.format {
        BracketFormat::DoubleElimination => m.section == Section::GrandFinal,
        _ => {
            m.section == Section::ThirdPlace
                || (m.section == Section::Winners && m.round == b.rounds)
        }
    }
}

impl Format for SingleElimination {
    fn start(&self, seeds: &[PlayerId]) -> Result<Bracket, BracketError> {
        check_seeds(seeds)?;
        let size = seeds.len().next_power_of_two();
        let mut matches = Vec::new();
        let rounds = winners(&mut matches, size);
        if self.third_place && rounds.len() >= 2 {
            let semis = &rounds[rounds.len() - 2];
            let id = matches.len() as u32;
            matches.push(Match::new(
                id,
                Section::ThirdPlace,
                rounds.len() as u32,
                0,
                Source::Loser(semis[0]),
                Source::Loser(semis[1]),
            ));
        }
        let format = BracketFormat::SingleElimination {
            third_place: self.third_place,
        };
        Ok(new_bracket(format, seeds, matches))
    }

    fn report(&self, b: &mut Bracket, match_id: u32, r: &Report) -> Result<(), BracketError> {
        record(b, match_id, r, Some("single elimination"))?;
        settle(b);
        Ok(())
    }

    fn standings(&self, b: &Bracket) -> Option<Vec<Placement>> {
        if !b.finished {
            return None;
        }
        let last = b.rounds;
        let final_ = b
            .matches
            .iter()
            .find(|m| m.section == Section::Winners && m.round == last)?;
        let third = b.matches.iter().find(|m| m.section == Section::ThirdPlace);
        let mut tiers: Vec<Vec<PlayerId>> = vec![final_.winner.into_iter().collect()];
        tiers.push(final_.loser().into_iter().collect());
        let mut down_from = last.saturating_sub(1);
        if let Some(t) = third {
            tiers.push(t.winner.into_iter().collect());
            tiers.push(t.loser().into_iter().collect());
            down_from = last.saturating_sub(2);
        }
        for r in (1..=down_from).rev() {
            tiers.push(
                b.matches
                    .iter()
                    .filter(|m| m.section == Section::Winners && m.round == r)
                    .filter_map(|m| m.loser())
                    .collect(),
            );
        }
        Some(from_tiers(b, tiers))
    }
}

impl Format for DoubleElimination {
    fn start(&self, seeds: &[PlayerId]) -> Result<Bracket, BracketError> {
        check_seeds(seeds)?;
        let size = seeds.len().next_power_of_two();
        let mut matches = Vec::new();
        let w = winners(&mut matches, size);
        let k = w.len();
        // Lower bracket: L1 pairs the losers of W1; then, for each later upper round,
        // a round where the survivors meet that round's losers (in reverse order, to
        // keep early rematches away) and, but for the last, a round among survivors.
        let mut lower: Vec<Vec<u32>> = Vec::new();
        if k >= 2 {
            let mut round = 1;
            let mut cur = Vec::new();
            for (i, pair) in w[0].chunks(2).enumerate() {
                let id = matches.len() as u32;
                matches.push(Match::new(
                    id,
                    Section::Losers,
                    round,
                    i as u32,
                    Source::Loser(pair[0]),
                    Source::Loser(pair[1]),
                ));
                cur.push(id);
            }
            lower.push(cur.clone());
            for (j, upper) in w.iter().enumerate().skip(1) {
                round += 1;
                let mut drop_in = Vec::new();
                let flip = j % 2 == 1;
                for (i, &survivor) in cur.iter().enumerate() {
                    let from = if flip {
                        upper[upper.len() - 1 - i]
                    } else {
                        upper[i]
                    };
                    let id = matches.len() as u32;
                    matches.push(Match::new(
                        id,
                        Section::Losers,
                        round,
                        i as u32,
                        Source::Winner(survivor),
                        Source::Loser(from),
                    ));
                    drop_in.push(id);
                }
                lower.push(drop_in.clone());
                cur = drop_in;
                if cur.len() > 1 {
                    round += 1;
                    let mut among = Vec::new();
                    for (i, pair) in cur.chunks(2).enumerate() {
                        let id = matches.len() as u32;
                        matches.push(Match::new(
                            id,
                            Section::Losers,
                            round,
                            i as u32,
                            Source::Winner(pair[0]),
                            Source::Winner(pair[1]),
                        ));
                        among.push(id);
                    }
                    lower.push(among.clone());
                    cur = among;
                }
            }
        }
        let upper_final = w[k - 1][0];
        let lower_champion = match lower.last() {
            Some(r) => Source::Winner(r[0]),
            None => Source::Loser(upper_final),
        };
        let g1 = matches.len() as u32;
        matches.push(Match::new(
            g1,
            Section::GrandFinal,
            1,
            0,
            Source::Winner(upper_final),
            lower_champion,
        ));
        let mut reset = Match::new(
            g1 + 1,
            Section::GrandFinal,
            2,
            0,
            Source::Winner(g1),
            Source::Loser(g1),
        );
        reset.reset = true;
        matches.push(reset);
        let mut b = new_bracket(BracketFormat::DoubleElimination, seeds, matches);
        b.rounds = k as u32;
        Ok(b)
    }

    fn report(&self, b: &mut Bracket, match_id: u32, r: &Report) -> Result<(), BracketError> {
        record(b, match_id, r, Some("double elimination"))?;
        settle(b);
        Ok(())
    }

    fn standings(&self, b: &Bracket) -> Option<Vec<Placement>> {
        if !b.finished {
            return None;
        }
        let finals: Vec<&Match> = b
            .matches
            .iter()
            .filter(|m| m.section == Section::GrandFinal)
            .collect();
        let deciding = finals
            .iter()
            .rev()
            .find(|m| matches!(m.status, MatchStatus::Done | MatchStatus::Walkover))?;
        let mut tiers: Vec<Vec<PlayerId>> = vec![deciding.winner.into_iter().collect()];
        tiers.push(
            [deciding.a, deciding.b]
                .iter()
                .filter_map(|s| s.player())
                .filter(|p| Some(*p) != deciding.winner)
                .collect(),
        );
        let lower_rounds = b
            .matches
            .iter()
            .filter(|m| m.section == Section::Losers)
            .map(|m| m.round)
            .max()
            .unwrap_or(0);
        for r in (1..=lower_rounds).rev() {
            tiers.push(
                b.matches
                    .iter()
                    .filter(|m| m.section == Section::Losers && m.round == r)
                    .filter_map(|m| m.loser())
                    .collect(),
            );
        }
        Some(from_tiers(b, tiers))
    }
}

/// Standings from tiers of players (best tier first); players of a tier share a place and
/// are listed in seed order.
fn from_tiers(b: &Bracket, tiers: Vec<Vec<PlayerId>>) -> Vec<Placement> {
    let t = tally(b);
    let mut out: Vec<Placement> = Vec::with_capacity(b.players.len());
    let mut tier_of = Vec::new();
    for (i, mut tier) in tiers.into_iter().enumerate() {
        tier.sort_by_key(|p| b.seed_of(*p));
        for p in tier {
            let (wins, losses, draws) = t.get(&p).copied().unwrap_or_default();
            tier_of.push(i);
            out.push(Placement {
                user_id: p,
                place: 0,
                wins,
                losses,
                draws,
                points: 0,
                buchholz: None,
            });
        }
    }
    let p = places(out.len(), |i| tier_of[i] == tier_of[i - 1]);
    for (row, place) in out.iter_mut().zip(p) {
        row.place = place;
    }
    out
}
