//! Property tests: every format played to a champion with random results, over many player
//! counts and seeds; each player leaves exactly as the format says.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::*;

fn players(n: usize) -> Vec<PlayerId> {
    (0..n).map(|i| Uuid::from_u128(i as u128 + 1)).collect()
}

/// Plays `b` to the end with random results (draws allowed when `draws`), checking that a
/// contradictory report is refused without a change along the way. Returns the order in
/// which matches were played.
fn play(f: &dyn Format, b: &mut Bracket, rng: &mut StdRng, draws: bool) -> Vec<u32> {
    let mut order = Vec::new();
    let mut guard = 0;
    while !b.finished {
        guard += 1;
        assert!(guard < 10_000, "bracket never finishes");
        let ready = f.next_matches(b);
        assert!(!ready.is_empty(), "unfinished bracket with nothing to play");
        let p = ready[rng.gen_range(0..ready.len())];
        if rng.gen_bool(0.2) {
            contradictions_refused(f, b, p);
        }
        let r = if draws && rng.gen_bool(0.15) {
            let s = rng.gen_range(0..5);
            Report::draw(p.a, p.b).with_scores(&[(p.a, s), (p.b, s)])
        } else if rng.gen_bool(0.5) {
            Report::win(p.a, p.b).with_scores(&[(p.a, 3), (p.b, rng.gen_range(0..3))])
        } else {
            Report::win(p.b, p.a)
        };
        f.report(b, p.match_id, &r)
            .expect("a valid report is accepted");
        order.push(p.match_id);
        // A decided match is refused the second time, and nothing changes.
        let before = b.clone();
        assert!(matches!(
            f.report(b, p.match_id, &r),
            Err(BracketError::AlreadyDecided { .. }) | Err(BracketError::Finished)
        ));
        assert_eq!(*b, before);
    }
    assert!(f.next_matches(b).is_empty());
    order
}

fn contradictions_refused(f: &dyn Format, b: &mut Bracket, p: Pairing) {
    let before = b.clone();
    let stranger = Uuid::from_u128(u128::MAX);
    let bad = [
        (p.match_id, Report::win(p.a, stranger)),
        (p.match_id, Report::win(stranger, p.b)),
        (
            p.match_id,
            Report::win(p.a, p.b).with_scores(&[(p.a, 1), (p.b, 2)]),
        ),
        (
            p.match_id,
            Report::win(p.a, p.b).with_scores(&[(stranger, 1)]),
        ),
        (9_999, Report::win(p.a, p.b)),
    ];
    for (id, r) in bad {
        assert!(f.report(b, id, &r).is_err(), "{r:?} on {id} accepted");
        assert_eq!(*b, before, "a refused report changed the bracket");
    }
    if let Some(w) = b
        .matches
        .iter()
        .find(|m| m.status == MatchStatus::Waiting)
        .map(|m| m.id)
    {
        assert!(matches!(
            f.report(b, w, &Report::win(p.a, p.b)),
            Err(BracketError::NotReady(_)) | Err(BracketError::WrongPlayers { .. })
        ));
        assert_eq!(*b, before);
    }
}

/// Losses of each player over played matches, in play order, with the section.
fn losses(b: &Bracket, order: &[u32]) -> HashMap<PlayerId, Vec<(u32, Section)>> {
    let mut out: HashMap<PlayerId, Vec<(u32, Section)>> = HashMap::new();
    for id in order {
        let m = &b.matches[*id as usize];
        if let Some(l) = m.loser() {
            out.entry(l).or_default().push((*id, m.section));
        }
    }
    out
}

fn assert_permutation(st: &[Placement], ps: &[PlayerId]) {
    let got: HashSet<PlayerId> = st.iter().map(|p| p.user_id).collect();
    assert_eq!(got.len(), ps.len(), "standings list each player once");
    assert_eq!(got, ps.iter().copied().collect());
    assert_eq!(st[0].place, 1);
    assert_eq!(
        st.iter().filter(|p| p.place == 1).count(),
        1,
        "one champion"
    );
    for w in st.windows(2) {
        assert!(w[0].place <= w[1].place);
    }
}

#[test]
fn draw_order_puts_top_seeds_apart() {
    assert_eq!(elimination::draw_order(4), vec![0, 3, 1, 2]);
    assert_eq!(elimination::draw_order(8), vec![0, 7, 3, 4, 1, 6, 2, 5]);
}

#[test]
fn single_elimination_to_a_champion() {
    for third_place in [false, true] {
        for n in 2..=33 {
            for seed in 0..6 {
                let mut rng = StdRng::seed_from_u64(seed * 1000 + n as u64);
                let ps = players(n);
                let f = SingleElimination { third_place };
                let mut b = f.start(&ps).unwrap();
                // Byes go to the top seeds: round 1 walkovers are exactly size − n.
                let size = n.next_power_of_two();
                let walkovers = b
                    .matches
                    .iter()
                    .filter(|m| m.round == 1 && m.status == MatchStatus::Walkover)
                    .collect::<Vec<_>>();
                assert_eq!(walkovers.len(), size - n);
                for m in walkovers {
                    let w = m.winner.unwrap();
                    assert!(b.seed_of(w).unwrap() < size - n, "a bye for a top seed");
                }
                let order = play(&f, &mut b, &mut rng, false);
                let st = f.standings(&b).unwrap();
                assert_permutation(&st, &ps);
                let l = losses(&b, &order);
                let champion = st[0].user_id;
                assert!(!l.contains_key(&champion), "the champion never lost");
                for p in &ps {
                    if *p == champion {
                        continue;
                    }
                    let mine = &l[p];
                    let main: Vec<_> = mine.iter().filter(|x| x.1 == Section::Winners).collect();
                    assert_eq!(main.len(), 1, "out at the first loss");
                    // Nothing after that loss but the third-place match.
                    let out_at = main[0].0;
                    let after = order.iter().skip_while(|id| **id != out_at).skip(1);
                    for id in after {
                        let m = &b.matches[*id as usize];
                        if m.has(*p) {
                            assert_eq!(m.section, Section::ThirdPlace);
                        }
                    }
                }
                if third_place && n >= 3 {
                    assert_eq!(st.iter().filter(|p| p.place == 3).count(), 1);
                    if n >= 4 {
                        assert!(st.iter().any(|p| p.place == 4));
                    }
                } else if n >= 3 {
                    assert!(st.iter().any(|p| p.place == 3));
                }
            }
        }
    }
}

#[test]
fn double_elimination_needs_two_losses() {
    for n in 2..=33 {
        for seed in 0..6 {
            let mut rng = StdRng::seed_from_u64(seed * 7919 + n as u64);
            let ps = players(n);
            let f = DoubleElimination;
            let mut b = f.start(&ps).unwrap();
            let order = play(&f, &mut b, &mut rng, false);
            let st = f.standings(&b).unwrap();
            assert_permutation(&st, &ps);
            let l = losses(&b, &order);
            let champion = st[0].user_id;
            assert!(l.get(&champion).map(|v| v.len()).unwrap_or(0) <= 1);
            for p in &ps {
                if *p == champion {
                    continue;
                }
                let mine = &l[p];
                assert_eq!(mine.len(), 2, "{p} out after exactly two losses");
                // Nothing played after the second loss.
                let out_at = mine[1].0;
                let after = order.iter().skip_while(|id| **id != out_at).skip(1);
                for id in after {
                    assert!(!b.matches[*id as usize].has(*p), "played after elimination");
                }
                // The first loss is in the upper bracket or the first grand final.
                assert!(matches!(mine[0].1, Section::Winners | Section::GrandFinal));
            }
            // The reset is played exactly when the lower-bracket side won the first final.
            let g: Vec<&Match> = b
                .matches
                .iter()
                .filter(|m| m.section == Section::GrandFinal)
                .collect();
            let lower_won = g[0].winner == g[0].b.player();
            assert_eq!(g[1].status == MatchStatus::Done, lower_won);
        }
    }
}

#[test]
fn round_robin_every_pair_once() {
    for n in 2..=21 {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let ps = players(n);
        let f = RoundRobin;
        let mut b = f.start(&ps).unwrap();
        let want = if n.is_multiple_of(2) { n - 1 } else { n };
        assert_eq!(b.rounds as usize, want);
        // Nobody plays twice in a round.
        for r in 1..=b.rounds {
            let mut seen = HashSet::new();
            for m in b.matches.iter().filter(|m| m.round == r) {
                let (x, y) = m.players().unwrap();
                assert!(seen.insert(x) && seen.insert(y));
            }
        }
        play(&f, &mut b, &mut rng, true);
        let mut pairs: BTreeMap<(PlayerId, PlayerId), u32> = BTreeMap::new();
        for m in &b.matches {
            let (x, y) = m.players().unwrap();
            *pairs.entry((x.min(y), x.max(y))).or_default() += 1;
        }
        assert_eq!(pairs.len(), n * (n - 1) / 2);
        assert!(pairs.values().all(|c| *c == 1));
        let st = f.standings(&b).unwrap();
        assert_eq!(st.len(), n);
        let total: i64 = st.iter().map(|p| p.points).sum();
        let draws = b.matches.iter().filter(|m| m.draw).count() as i64;
        let played = b.matches.len() as i64;
        assert_eq!(
            total,
            (played - draws) * WIN_POINTS + draws * 2 * DRAW_POINTS
        );
        for w in st.windows(2) {
            assert!(w[0].points >= w[1].points);
        }
    }
}

#[test]
fn swiss_no_rematch_one_bye_buchholz() {
    for n in 2..=40 {
        for seed in 0..4 {
            let mut rng = StdRng::seed_from_u64(seed * 31 + n as u64);
            let ps = players(n);
            let f = Swiss { rounds: None };
            let mut b = f.start(&ps).unwrap();
            assert_eq!(b.rounds, swiss::default_rounds(n).min(swiss::max_rounds(n)));
            if n % 2 == 1 {
                let bye = b.matches.iter().find(|m| m.b == Slot::Bye).unwrap();
                assert_eq!(
                    bye.a,
                    Slot::Player(ps[n - 1]),
                    "round 1 bye to the last seed"
                );
            }
            play(&f, &mut b, &mut rng, true);
            let mut met = HashSet::new();
            let mut byes: HashMap<PlayerId, u32> = HashMap::new();
            for m in &b.matches {
                match (m.a, m.b) {
                    (Slot::Player(x), Slot::Player(y)) => {
                        assert!(met.insert((x.min(y), x.max(y))), "rematch {x} {y}");
                    }
                    (Slot::Player(x), Slot::Bye) => *byes.entry(x).or_default() += 1,
                    other => panic!("unexpected slots {other:?}"),
                }
            }
            assert!(byes.values().all(|c| *c <= 1), "at most one bye each");
            let rounds = b.matches.iter().map(|m| m.round).max().unwrap();
            assert!(rounds == b.rounds || b.ended_early);
            for r in 1..=rounds {
                let mut seen = HashSet::new();
                for m in b.matches.iter().filter(|m| m.round == r) {
                    for p in [m.a, m.b].iter().filter_map(|s| s.player()) {
                        assert!(seen.insert(p), "{p} twice in round {r}");
                    }
                }
                assert_eq!(seen.len(), n, "everyone plays or sits out each round");
            }
            let st = f.standings(&b).unwrap();
            assert_eq!(st.len(), n);
            // Ordered by points, then Buchholz.
            for w in st.windows(2) {
                let k = |p: &Placement| (p.points, p.buchholz.unwrap());
                assert!(k(&w[0]) >= k(&w[1]));
            }
            // Buchholz is the sum of opponents' points.
            let pts: HashMap<PlayerId, i64> = st.iter().map(|p| (p.user_id, p.points)).collect();
            for p in &st {
                let opp: i64 = b
                    .matches
                    .iter()
                    .filter_map(|m| m.players())
                    .filter_map(|(x, y)| {
                        if x == p.user_id {
                            Some(pts[&y])
                        } else if y == p.user_id {
                            Some(pts[&x])
                        } else {
                            None
                        }
                    })
                    .sum();
                assert_eq!(p.buchholz, Some(opp));
            }
        }
    }
}

#[test]
fn swiss_bye_goes_to_the_lowest_ranked_without_one() {
    let ps = players(5);
    let f = Swiss { rounds: Some(3) };
    let mut b = f.start(&ps).unwrap();
    // Round 1: seed 5 sits out; the top half beats the bottom half.
    for p in f.next_matches(&b) {
        f.report(&mut b, p.match_id, &Report::win(p.a, p.b))
            .unwrap();
    }
    // Seeds 1, 2 and 5 have 3 points (5 by its bye); seeds 3 and 4 have none, with the
    // same Buchholz (3): seed 4 ranks last and sits out round 2.
    let bye = b
        .matches
        .iter()
        .filter(|m| m.round == 2)
        .find(|m| m.b == Slot::Bye)
        .unwrap();
    assert_eq!(bye.a, Slot::Player(ps[3]));
    // Round 2: everyone wins as `a`; before round 3 the lowest-ranked without a bye sits.
    for p in f.next_matches(&b) {
        f.report(&mut b, p.match_id, &Report::win(p.a, p.b))
            .unwrap();
    }
    let sitters: Vec<PlayerId> = b
        .matches
        .iter()
        .filter(|m| m.b == Slot::Bye)
        .filter_map(|m| m.a.player())
        .collect();
    assert_eq!(sitters.len(), 3);
    let unique: HashSet<_> = sitters.iter().collect();
    assert_eq!(unique.len(), 3, "one bye per player");
}

#[test]
fn draws_are_refused_in_elimination() {
    let ps = players(4);
    let f = SingleElimination { third_place: false };
    let mut b = f.start(&ps).unwrap();
    let p = f.next_matches(&b)[0];
    assert!(matches!(
        f.report(&mut b, p.match_id, &Report::draw(p.a, p.b)),
        Err(BracketError::DrawNotAllowed(_))
    ));
}

#[test]
fn seeding_by_rating_then_join_order() {
    let e = |i: u128, joined: u64, rating: Option<f64>| Entrant {
        user_id: Uuid::from_u128(i),
        joined,
        rating,
    };
    let list = [
        e(1, 1, None),
        e(2, 2, Some(1500.0)),
        e(3, 3, Some(1700.0)),
        e(4, 4, None),
        e(5, 5, Some(1500.0)),
    ];
    let ids = |v: Vec<PlayerId>| v.into_iter().map(|u| u.as_u128()).collect::<Vec<_>>();
    assert_eq!(ids(seed(&list, SeedBy::Rating)), vec![3, 2, 5, 1, 4]);
    assert_eq!(ids(seed(&list, SeedBy::JoinOrder)), vec![1, 2, 3, 4, 5]);
}

#[test]
fn too_few_or_duplicate_players_are_refused() {
    let f = DoubleElimination;
    assert_eq!(
        f.start(&players(1)).unwrap_err(),
        BracketError::NotEnoughPlayers(1)
    );
    let p = players(2);
    assert!(matches!(
        f.start(&[p[0], p[0]]),
        Err(BracketError::DuplicatePlayer(_))
    ));
}
