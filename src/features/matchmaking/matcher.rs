//! The matching pass, pure and deterministic: the same queue at the same time always gives
//! the same matches. Tickets are taken in wait order (tickets put back after a no-show
//! first); each one, as the anchor, gathers the nearest-rated compatible tickets inside its
//! window (their windows must hold the anchor's rating too), fresh opponents before recent
//! ones, parties whole, until the match is full. Teams are then balanced by total rating.
//!
//! Finding neighbours is a walk outward from the anchor in a rating-sorted array, skipping
//! tickets already taken through two "next free" forests, so a pass over 100,000 tickets is
//! near-linear.

use std::cmp::Ordering;

use uuid::Uuid;

use super::model::{Mode, RatingSystem, Ticket};
use crate::auth::UserId;

/// How many neighbours an anchor looks at, at most, in one pass.
const SCAN_LIMIT: usize = 256;

/// The rating half-width a ticket accepts after waiting `now_ms - created_at_ms`; `None`
/// once it has waited `max_wait_secs` (any rating). Glicko-2 starts at twice the ticket's
/// rating deviation (its 95 % interval) instead of `initial`.
pub fn window(mode: &Mode, t: &Ticket, now_ms: i64) -> Option<f64> {
    window_since(mode, t.created_at_ms, t.deviation(), now_ms)
}

/// [`window`] of anything that has waited since `created_at_ms` with rating deviation
/// `deviation` (a ticket, a backfill request).
pub fn window_since(mode: &Mode, created_at_ms: i64, deviation: f64, now_ms: i64) -> Option<f64> {
    let w = &mode.widening;
    let waited_ms = (now_ms - created_at_ms).max(0) as u64;
    if waited_ms >= w.max_wait_secs.saturating_mul(1000) {
        return None;
    }
    let start = match mode.rating {
        RatingSystem::Elo => w.initial,
        RatingSystem::Glicko2 => 2.0 * deviation,
    };
    let steps = if w.every_secs == 0 {
        0
    } else {
        waited_ms / (w.every_secs * 1000)
    };
    Some(start + w.step * steps as f64)
}

pub fn within(diff: f64, w: Option<f64>) -> bool {
    w.is_none_or(|w| diff <= w)
}

/// Whether `a` accepts `b` by `a`'s constraints; the reason when not.
fn accepts(a: &Ticket, b: &Ticket) -> Result<(), String> {
    for p in &a.constraints.equal {
        if a.string_properties.get(p) != b.string_properties.get(p) {
            return Err(format!("string property `{p}` must be equal"));
        }
    }
    for r in &a.constraints.ranges {
        match b.numeric_properties.get(&r.property) {
            Some(v) if r.min.is_none_or(|m| *v >= m) && r.max.is_none_or(|m| *v <= m) => {}
            _ => return Err(format!("numeric property `{}` out of range", r.property)),
        }
    }
    if let Some(u) = b.user_ids().find(|u| a.constraints.avoid.contains(u)) {
        return Err(format!("player {u} is avoided"));
    }
    Ok(())
}

/// Whether two tickets may share a match by their constraints (both ways).
pub fn compatible(a: &Ticket, b: &Ticket) -> Result<(), String> {
    if a.user_ids().any(|u| b.user_ids().any(|v| u == v)) {
        return Err("a player is on both tickets".into());
    }
    accepts(a, b)?;
    accepts(b, a)
}

/// Whether parties of `sizes` can be packed whole into `teams` teams of `team_size`.
pub fn fits(sizes: &[u32], teams: u32, team_size: u32) -> bool {
    let total: u32 = sizes.iter().sum();
    if total > teams * team_size || sizes.iter().any(|&s| s > team_size) {
        return false;
    }
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    if sorted.first().is_none_or(|&s| s <= 1) {
        return true;
    }
    let mut room = vec![team_size; teams as usize];
    fn place(sizes: &[u32], room: &mut [u32]) -> bool {
        let Some((&s, rest)) = sizes.split_first() else {
            return true;
        };
        for i in 0..room.len() {
            // Teams with the same room left are interchangeable: try one of them.
            if room[i] < s || room[..i].contains(&room[i]) {
                continue;
            }
            room[i] -= s;
            let ok = place(rest, room);
            room[i] += s;
            if ok {
                return true;
            }
        }
        false
    }
    place(&sorted, &mut room)
}

/// Splits tickets into `mode.team_count` teams of at most `team_size` players, parties
/// whole, balanced by total rating: largest parties first, each to the team with the fewest
/// players and then the lowest total, then swaps of equal-sized tickets while they narrow
/// the gap. Returns ticket indices per team.
pub fn balance(mode: &Mode, tickets: &[&Ticket]) -> Vec<Vec<usize>> {
    let n_teams = mode.team_count.max(1) as usize;
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    let total = |i: usize| tickets[i].rating() * tickets[i].size() as f64;
    order.sort_by(|&a, &b| {
        tickets[b]
            .size()
            .cmp(&tickets[a].size())
            .then(total(b).partial_cmp(&total(a)).unwrap_or(Ordering::Equal))
            .then(tickets[a].id.cmp(&tickets[b].id))
    });
    let mut teams: Vec<Vec<usize>> = vec![Vec::new(); n_teams];
    let mut players = vec![0u32; n_teams];
    let mut sums = vec![0f64; n_teams];
    let mut greedy_ok = true;
    for &i in &order {
        let size = tickets[i].size();
        let best = (0..n_teams)
            .filter(|&t| players[t] + size <= mode.team_size)
            .min_by(|&a, &b| {
                players[a]
                    .cmp(&players[b])
                    .then(sums[a].partial_cmp(&sums[b]).unwrap_or(Ordering::Equal))
                    .then(a.cmp(&b))
            });
        match best {
            Some(t) => {
                teams[t].push(i);
                players[t] += size;
                sums[t] += total(i);
            }
            None => {
                greedy_ok = false;
                break;
            }
        }
    }
    if !greedy_ok {
        // Greedy placement got stuck on party sizes (the pass only forms matches whose
        // parties pack, see `fits`): place them by exhaustive search instead.
        return exact_packing(mode, tickets, &order);
    }
    // Swap equal-sized tickets between teams while that narrows the gap between them.
    for _ in 0..64 {
        let mut improved = false;
        for a in 0..n_teams {
            for b in a + 1..n_teams {
                let gap = (sums[a] - sums[b]).abs();
                let mut best: Option<(usize, usize, f64)> = None;
                for (x, &ix) in teams[a].iter().enumerate() {
                    for (y, &iy) in teams[b].iter().enumerate() {
                        if tickets[ix].size() != tickets[iy].size() {
                            continue;
                        }
                        let d = total(ix) - total(iy);
                        let new_gap = (sums[a] - d - (sums[b] + d)).abs();
                        if new_gap + 1e-9 < best.map_or(gap, |b| b.2) {
                            best = Some((x, y, new_gap));
                        }
                    }
                }
                if let Some((x, y, _)) = best {
                    let (ix, iy) = (teams[a][x], teams[b][y]);
                    let d = total(ix) - total(iy);
                    teams[a][x] = iy;
                    teams[b][y] = ix;
                    sums[a] -= d;
                    sums[b] += d;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    teams
}

fn exact_packing(mode: &Mode, tickets: &[&Ticket], order: &[usize]) -> Vec<Vec<usize>> {
    let n_teams = mode.team_count.max(1) as usize;
    let mut teams = vec![Vec::new(); n_teams];
    let mut room = vec![mode.team_size; n_teams];
    fn place(
        tickets: &[&Ticket],
        order: &[usize],
        room: &mut [u32],
        teams: &mut [Vec<usize>],
    ) -> bool {
        let Some((&i, rest)) = order.split_first() else {
            return true;
        };
        let s = tickets[i].size();
        for t in 0..room.len() {
            if room[t] < s || room[..t].contains(&room[t]) {
                continue;
            }
            room[t] -= s;
            teams[t].push(i);
            if place(tickets, rest, room, teams) {
                return true;
            }
            teams[t].pop();
            room[t] += s;
        }
        false
    }
    place(tickets, order, &mut room, &mut teams);
    teams
}

/// A match the pass found: ticket ids, and teams as indices into `tickets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub tickets: Vec<Uuid>,
    pub teams: Vec<Vec<usize>>,
}

/// "Next free position" forests over the rating-sorted array, one per direction.
struct Free {
    right: Vec<u32>,
    left: Vec<u32>,
}

impl Free {
    fn new(n: usize) -> Free {
        Free {
            right: (0..=n as u32).collect(),
            left: (0..=n as u32).collect(),
        }
    }

    fn find(parent: &mut [u32], mut p: u32) -> u32 {
        let mut root = p;
        while parent[root as usize] != root {
            root = parent[root as usize];
        }
        while parent[p as usize] != root {
            let next = parent[p as usize];
            parent[p as usize] = root;
            p = next;
        }
        root
    }

    /// The first free position at or after `p` (`n` when none).
    fn at_or_after(&mut self, p: usize) -> usize {
        Self::find(&mut self.right, p as u32) as usize
    }

    /// The last free position at or before `p`, if any.
    fn at_or_before(&mut self, p: Option<usize>) -> Option<usize> {
        let p = p?;
        let q = Self::find(&mut self.left, p as u32 + 1) as usize;
        q.checked_sub(1)
    }

    fn take(&mut self, p: usize) {
        self.right[p] = p as u32 + 1;
        self.left[p + 1] = p as u32;
    }
}

/// Wait order: tickets put back at the front first, then oldest first, then by id.
pub fn wait_order(a: &Ticket, b: &Ticket) -> Ordering {
    b.front
        .cmp(&a.front)
        .then(a.created_at_ms.cmp(&b.created_at_ms))
        .then(a.id.cmp(&b.id))
}

/// The player of a ticket that holds one.
fn solo_player(t: &Ticket) -> Option<UserId> {
    match t.players.as_slice() {
        [one] => Some(one.user_id),
        _ => None,
    }
}

fn no_constraints(t: &Ticket) -> bool {
    let c = &t.constraints;
    c.equal.is_empty() && c.ranges.is_empty() && c.avoid.is_empty()
}

/// One pass over one queue's searching tickets. `met(a, b)` tells whether two players met
/// recently (their tickets are paired only when nothing fresher fits).
pub fn pass(
    mode: &Mode,
    tickets: &[&Ticket],
    now_ms: i64,
    met: &dyn Fn(UserId, UserId) -> bool,
) -> Vec<Proposal> {
    let n = tickets.len();
    // Everything the walk reads per ticket, in flat arrays: the walk jumps between tickets
    // in rating order, and chasing each ticket's heap data there costs more than the match.
    let ratings: Vec<f64> = tickets.iter().map(|t| t.rating()).collect();
    let windows: Vec<Option<f64>> = tickets.iter().map(|t| window(mode, t, now_ms)).collect();
    let sizes_of: Vec<u32> = tickets.iter().map(|t| t.size()).collect();
    // A ticket's player when it holds one: recent meetings are looked up from here.
    let solo: Vec<Option<UserId>> = tickets.iter().map(|t| solo_player(t)).collect();
    // A lone player without constraints is compatible with any ticket that has none either
    // and is not them: the common case, decided without touching the tickets.
    let plain: Vec<Option<UserId>> = tickets
        .iter()
        .zip(&solo)
        .map(|(t, s)| s.filter(|_| no_constraints(t)))
        .collect();
    let mut by_wait: Vec<(bool, i64, u128, usize)> = tickets
        .iter()
        .enumerate()
        .map(|(i, t)| (!t.front, t.created_at_ms, t.id.as_u128(), i))
        .collect();
    by_wait.sort_unstable(); // = `wait_order`: keys are unique (the id)
    let mut by_rating_keyed: Vec<(f64, u128, usize)> = tickets
        .iter()
        .enumerate()
        .map(|(i, t)| (ratings[i], t.id.as_u128(), i))
        .collect();
    by_rating_keyed.sort_unstable_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(Ordering::Equal)
            .then(a.1.cmp(&b.1))
    });
    let by_rating: Vec<usize> = by_rating_keyed.iter().map(|k| k.2).collect();
    drop(by_rating_keyed);
    let mut pos = vec![0usize; n];
    for (p, &i) in by_rating.iter().enumerate() {
        pos[i] = p;
    }
    let mut free = Free::new(n);
    let mut taken = vec![false; n];
    let mut out = Vec::new();
    let max = mode.max_players;
    let team_cap = mode.team_size;
    let compatible_at = |a: usize, c: usize| match (plain[a], plain[c]) {
        (Some(x), Some(y)) => x != y,
        _ => compatible(tickets[a], tickets[c]).is_ok(),
    };
    // Reused across anchors.
    let (mut fresh, mut stale) = (Vec::<usize>::new(), Vec::<usize>::new());
    let (mut chosen, mut sizes) = (Vec::<usize>::new(), Vec::<u32>::new());

    for &(_, created_at_ms, _, a) in &by_wait {
        if taken[a] {
            continue;
        }
        let anchor = tickets[a];
        let ra = ratings[a];
        let wa = windows[a];
        let needed = max.saturating_sub(sizes_of[a]);
        let waited_out = now_ms - created_at_ms >= mode.widening.max_wait_secs as i64 * 1000;
        // Walk outward, nearest rating first.
        let mut right = free.at_or_after(pos[a] + 1);
        let mut left = free.at_or_before(pos[a].checked_sub(1));
        fresh.clear();
        stale.clear();
        let mut fresh_players = 0u32;
        let mut scanned = 0;
        while scanned < SCAN_LIMIT && fresh_players < needed + team_cap {
            let r_diff = (right < n).then(|| ratings[by_rating[right]] - ra);
            let l_diff = left.map(|l| ra - ratings[by_rating[l]]);
            let (p, diff, from_right) = match (r_diff, l_diff) {
                (Some(r), Some(l)) if r <= l => (right, r, true),
                (_, Some(l)) => (left.unwrap_or(0), l, false),
                (Some(r), None) => (right, r, true),
                (None, None) => break,
            };
            if !within(diff, wa) {
                break; // the nearer side is already out of the window, so is the other
            }
            if from_right {
                right = free.at_or_after(p + 1);
            } else {
                left = free.at_or_before(p.checked_sub(1));
            }
            scanned += 1;
            let c = by_rating[p];
            if !within(diff, windows[c]) || !compatible_at(a, c) {
                continue;
            }
            let recent = match (solo[a], solo[c]) {
                (Some(u), Some(v)) => met(u, v),
                _ => anchor
                    .user_ids()
                    .any(|u| tickets[c].user_ids().any(|v| met(u, v))),
            };
            if recent {
                stale.push(c);
            } else {
                fresh.push(c);
                fresh_players += sizes_of[c];
            }
        }
        // Fill: fresh first, then recent opponents, each whole and fitting the teams.
        chosen.clear();
        chosen.push(a);
        sizes.clear();
        sizes.push(sizes_of[a]);
        let mut players = sizes_of[a];
        for &c in fresh.iter().chain(stale.iter()) {
            if players >= max {
                break;
            }
            let size = sizes_of[c];
            if players + size > max || chosen.iter().skip(1).any(|&x| !compatible_at(x, c)) {
                continue;
            }
            sizes.push(size);
            if !fits(&sizes, mode.team_count, mode.team_size) {
                sizes.pop();
                continue;
            }
            chosen.push(c);
            players += size;
        }
        let full = players >= max;
        if !(full || (waited_out && players >= mode.min_players && chosen.len() > 1)) {
            continue;
        }
        for &c in &chosen {
            taken[c] = true;
            free.take(pos[c]);
        }
        let members: Vec<&Ticket> = chosen.iter().map(|&c| tickets[c]).collect();
        out.push(Proposal {
            tickets: members.iter().map(|t| t.id).collect(),
            teams: balance(mode, &members),
        });
    }
    out
}

/// The tickets that fill `seats` of a running match (a backfill request): searching tickets
/// in wait order, whole, at most `most_per_ticket` players each, whose window holds the
/// match's `rating` and whose rating lies in the request's own `window`; a ticket that
/// avoids one of the match's `players` is left out, and tickets with recent opponents of
/// them go after the others.
#[allow(clippy::too_many_arguments)]
pub fn fill(
    mode: &Mode,
    rating: f64,
    window: Option<f64>,
    seats: u32,
    most_per_ticket: u32,
    players: &[UserId],
    tickets: &[&Ticket],
    now_ms: i64,
    met: &dyn Fn(UserId, UserId) -> bool,
) -> Vec<Uuid> {
    let mut order: Vec<&Ticket> = tickets
        .iter()
        .copied()
        .filter(|t| {
            let diff = (t.rating() - rating).abs();
            t.size() <= most_per_ticket.min(seats)
                && within(diff, window)
                && within(diff, self::window(mode, t, now_ms))
                && !t.user_ids().any(|u| players.contains(&u))
                && !t.constraints.avoid.iter().any(|u| players.contains(u))
        })
        .collect();
    order.sort_by(|a, b| wait_order(a, b));
    let recent = |t: &Ticket| t.user_ids().any(|u| players.iter().any(|p| met(u, *p)));
    let (fresh, stale): (Vec<&Ticket>, Vec<&Ticket>) = order.into_iter().partition(|t| !recent(t));
    let mut left = seats;
    let mut out = Vec::new();
    for t in fresh.into_iter().chain(stale) {
        if t.size() <= left {
            left -= t.size();
            out.push(t.id);
        }
        if left == 0 {
            break;
        }
    }
    out
}

/// Where a ticket stands, for `matchmaking_get_status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// Rating half-width now; `None`: any rating.
    pub window: Option<f64>,
    pub rating: f64,
    /// 1-based place in the queue's wait order.
    pub position: usize,
    pub queued_tickets: usize,
    /// Other tickets whose rating and window fit this one's.
    pub in_range_tickets: usize,
    /// Those that the constraints also allow.
    pub compatible_tickets: usize,
    pub compatible_players: u32,
    /// Players a match needs (this ticket's included): full, and the least it settles for.
    pub needed_players: u32,
    pub min_players: u32,
    pub reason: String,
}

/// Explains why `t` is (not yet) matched among the searching tickets `queue` (which may
/// include `t`).
pub fn explain(mode: &Mode, t: &Ticket, queue: &[&Ticket], now_ms: i64) -> Explanation {
    let w = window(mode, t, now_ms);
    let r = t.rating();
    let mut position = 1;
    let mut queued = 0;
    let mut in_range = 0;
    let mut compatible_tickets = 0;
    let mut compatible_players = 0;
    let mut sizes = vec![t.size()];
    let mut first_refusal: Option<String> = None;
    for o in queue.iter().filter(|o| o.id != t.id) {
        queued += 1;
        if wait_order(o, t) == Ordering::Less {
            position += 1;
        }
        let diff = (o.rating() - r).abs();
        if !within(diff, w) || !within(diff, window(mode, o, now_ms)) {
            continue;
        }
        in_range += 1;
        match compatible(t, o) {
            Ok(()) => {
                compatible_tickets += 1;
                compatible_players += o.size();
                sizes.push(o.size());
            }
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    let have = compatible_players + t.size();
    let waited_out = now_ms - t.created_at_ms >= mode.widening.max_wait_secs as i64 * 1000;
    let range = match w {
        Some(w) => format!("within ±{w:.0} of {r:.0}"),
        None => "at any rating".into(),
    };
    let reason = if queued == 0 {
        "no other tickets in this queue yet".to_string()
    } else if in_range == 0 {
        format!("too few players in range: none of the {queued} other tickets is {range} (the window widens as you wait)")
    } else if compatible_tickets == 0 {
        format!(
            "a constraint excludes all {in_range} tickets in range ({})",
            first_refusal.unwrap_or_default()
        )
    } else if have >= mode.max_players || (waited_out && have >= mode.min_players) {
        if sizes.iter().all(|&s| s <= mode.team_size) && fits_some(&sizes, mode) {
            "a match can form: it will at the next pass".to_string()
        } else {
            format!(
                "party size does not fit: parties of {sizes:?} cannot fill {} teams of {}",
                mode.team_count, mode.team_size
            )
        }
    } else {
        let excluded = in_range - compatible_tickets;
        let mut s = format!(
            "too few players in range: {have} of {} players {range}",
            mode.max_players
        );
        if excluded > 0 {
            s.push_str(&format!(
                "; a constraint excludes {excluded} more ({})",
                first_refusal.unwrap_or_default()
            ));
        }
        s
    };
    Explanation {
        window: w,
        rating: r,
        position,
        queued_tickets: queued,
        in_range_tickets: in_range,
        compatible_tickets,
        compatible_players,
        needed_players: mode.max_players,
        min_players: mode.min_players,
        reason,
    }
}

/// Whether some subset of `sizes` containing the first (this ticket) reaches `min_players`
/// and packs into the teams.
fn fits_some(sizes: &[u32], mode: &Mode) -> bool {
    let mut chosen = vec![sizes[0]];
    let mut players = sizes[0];
    for &s in &sizes[1..] {
        if players + s > mode.max_players {
            continue;
        }
        chosen.push(s);
        if fits(&chosen, mode.team_count, mode.team_size) {
            players += s;
        } else {
            chosen.pop();
        }
    }
    players >= mode.min_players
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use crate::features::matchmaking::model::{Constraints, Range, Seat, TicketState};
    use crate::features::matchmaking::modes;

    fn mode(name: &str) -> Mode {
        modes::defaults()
            .into_iter()
            .find(|m| m.name == name)
            .unwrap()
    }

    fn ticket(n: u128, ratings: &[f64], created_at_ms: i64) -> Ticket {
        Ticket {
            id: Uuid::from_u128(n),
            mode: "solo".into(),
            region: "eu".into(),
            party_id: None,
            players: ratings
                .iter()
                .enumerate()
                .map(|(i, r)| Seat {
                    user_id: Uuid::from_u128(n * 1000 + i as u128),
                    rating: *r,
                    deviation: 100.0,
                })
                .collect(),
            string_properties: BTreeMap::new(),
            numeric_properties: BTreeMap::new(),
            constraints: Constraints::default(),
            created_at_ms,
            front: false,
            state: TicketState::Searching,
        }
    }

    fn never(_: UserId, _: UserId) -> bool {
        false
    }

    #[test]
    fn the_window_widens_with_the_wait_then_opens() {
        let m = mode("solo");
        let t = ticket(1, &[1500.0], 0);
        assert_eq!(window(&m, &t, 0), Some(100.0));
        assert_eq!(window(&m, &t, 29_999), Some(100.0));
        assert_eq!(window(&m, &t, 30_000), Some(200.0));
        assert_eq!(window(&m, &t, 90_000), Some(400.0));
        assert_eq!(window(&m, &t, 120_000), None);
        let g = Mode {
            rating: RatingSystem::Glicko2,
            ..m
        };
        // Glicko-2: twice the deviation to start with.
        assert_eq!(window(&g, &t, 0), Some(200.0));
    }

    #[test]
    fn far_apart_tickets_meet_once_the_windows_have_widened() {
        let m = mode("solo");
        let a = ticket(1, &[1000.0], 0);
        let b = ticket(2, &[1350.0], 0);
        assert!(pass(&m, &[&a, &b], 0, &never).is_empty());
        assert!(pass(&m, &[&a, &b], 60_000, &never).is_empty()); // ±300
        let found = pass(&m, &[&a, &b], 90_000, &never); // ±400
        assert_eq!(found.len(), 1);
        let e = explain(&m, &a, &[&a, &b], 0);
        assert_eq!(e.in_range_tickets, 0);
        assert!(
            e.reason.starts_with("too few players in range"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn the_nearest_rating_is_matched_and_oldest_tickets_go_first() {
        let m = mode("solo");
        let old = ticket(1, &[1500.0], 0);
        let near = ticket(2, &[1540.0], 5_000);
        let far = ticket(3, &[1590.0], 1_000);
        let found = pass(&m, &[&far, &near, &old], 10_000, &never);
        assert_eq!(found.len(), 1);
        let mut ids = found[0].tickets.clone();
        ids.sort();
        assert_eq!(ids, vec![old.id, near.id]);
    }

    #[test]
    fn parties_stay_whole_and_teams_are_balanced_by_total_rating() {
        let m = mode("squad"); // two teams of four
        let p3 = ticket(1, &[1500.0, 1500.0, 1500.0], 0);
        let p2 = ticket(2, &[1520.0, 1480.0], 0);
        let s: Vec<Ticket> = (3..6)
            .map(|i| ticket(i, &[1450.0 + i as f64 * 10.0], 0))
            .collect();
        let mut all: Vec<&Ticket> = vec![&p3, &p2];
        all.extend(s.iter());
        let found = pass(&m, &all, 1_000, &never);
        assert_eq!(found.len(), 1);
        let p = &found[0];
        let members: Vec<&Ticket> = p
            .tickets
            .iter()
            .map(|id| *all.iter().find(|t| t.id == *id).unwrap())
            .collect();
        assert_eq!(members.iter().map(|t| t.size()).sum::<u32>(), 8);
        // Every ticket sits in exactly one team, whole.
        let mut seen = HashSet::new();
        for team in &p.teams {
            let players: u32 = team.iter().map(|&i| members[i].size()).sum();
            assert_eq!(players, 4);
            for &i in team {
                assert!(seen.insert(i));
            }
        }
        assert_eq!(seen.len(), members.len());

        // Four solo players 1000..1300 in two teams of two: 1000+1300 against 1100+1200.
        let duo = mode("duo");
        let t: Vec<Ticket> = (0..4)
            .map(|i| ticket(10 + i, &[1000.0 + 100.0 * i as f64], 0))
            .collect();
        let refs: Vec<&Ticket> = t.iter().collect();
        let teams = balance(&duo, &refs);
        let sums: Vec<f64> = teams
            .iter()
            .map(|team| team.iter().map(|&i| refs[i].rating()).sum())
            .collect();
        assert_eq!(sums, vec![2300.0, 2300.0]);
    }

    #[test]
    fn a_party_too_big_for_the_room_left_waits_for_a_match_it_fits() {
        let m = mode("duo");
        // Two parties of two fill a duo match; a third solo cannot squeeze in.
        let a = ticket(1, &[1500.0, 1500.0], 0);
        let solo1 = ticket(2, &[1500.0], 0);
        let solo2 = ticket(3, &[1500.0], 0);
        let b = ticket(4, &[1500.0, 1500.0], 0);
        assert!(fits(&[2, 1, 1], 2, 2));
        assert!(!fits(&[2, 1, 2], 2, 2));
        assert!(!fits(&[3], 2, 2));
        assert!(fits(&[2, 2, 1, 1, 1, 1], 4, 2));
        assert!(!fits(&[3, 3, 2], 2, 4));
        let found = pass(&m, &[&a, &solo1, &solo2, &b], 1_000, &never);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tickets.len(), 3); // a, then two solos (nearest first)
    }

    #[test]
    fn constraints_exclude_and_say_why() {
        let m = mode("solo");
        let mut a = ticket(1, &[1500.0], 0);
        a.string_properties.insert("map".into(), "dust".into());
        a.constraints.equal.push("map".into());
        let mut b = ticket(2, &[1500.0], 0);
        b.string_properties.insert("map".into(), "ice".into());
        assert!(pass(&m, &[&a, &b], 1_000, &never).is_empty());
        let e = explain(&m, &a, &[&a, &b], 1_000);
        assert_eq!((e.in_range_tickets, e.compatible_tickets), (1, 0));
        assert!(e.reason.contains("constraint excludes"), "{}", e.reason);
        assert!(e.reason.contains("map"), "{}", e.reason);

        let mut c = ticket(3, &[1500.0], 0);
        c.constraints.ranges.push(Range {
            property: "level".into(),
            min: Some(10.0),
            max: None,
        });
        let mut d = ticket(4, &[1500.0], 0);
        d.numeric_properties.insert("level".into(), 5.0);
        assert!(compatible(&c, &d).is_err());
        d.numeric_properties.insert("level".into(), 12.0);
        assert!(compatible(&c, &d).is_ok());
        d.constraints.avoid.push(c.players[0].user_id);
        assert!(compatible(&c, &d).is_err());
    }

    #[test]
    fn recent_opponents_are_avoided_when_someone_else_fits() {
        let m = mode("solo");
        let a = ticket(1, &[1500.0], 0);
        let b = ticket(2, &[1501.0], 0);
        let c = ticket(3, &[1560.0], 0);
        let (ua, ub) = (a.players[0].user_id, b.players[0].user_id);
        let met = move |x: UserId, y: UserId| (x == ua && y == ub) || (x == ub && y == ua);
        let found = pass(&m, &[&a, &b, &c], 1_000, &met);
        assert_eq!(found.len(), 1);
        assert!(found[0].tickets.contains(&c.id) && found[0].tickets.contains(&a.id));
        // With nobody else, they meet again.
        assert_eq!(pass(&m, &[&a, &b], 1_000, &met).len(), 1);
    }

    #[test]
    fn no_ticket_is_in_two_matches_and_the_pass_is_deterministic() {
        let m = mode("duo");
        let pop = crate::features::matchmaking::sim::population(&m, 2_000, 100_000, 60_000, 7);
        let refs: Vec<&Ticket> = pop.iter().collect();
        let one = pass(&m, &refs, 100_000, &never);
        let mut shuffled = refs.clone();
        shuffled.reverse();
        assert_eq!(pass(&m, &shuffled, 100_000, &never), one);
        let mut seen = HashSet::new();
        for p in &one {
            assert_eq!(p.tickets.len(), 4);
            for id in &p.tickets {
                assert!(seen.insert(*id), "ticket {id} in two matches");
            }
        }
        assert!(one.len() > 400, "{} matches", one.len());
    }

    #[test]
    fn a_backfill_takes_the_oldest_tickets_in_reach_whole_and_fresh_first() {
        let m = mode("squad");
        let old_far = ticket(1, &[1900.0], 0);
        let pair = ticket(2, &[1510.0, 1490.0], 1_000);
        let solo = ticket(3, &[1450.0], 2_000);
        let met_before = ticket(4, &[1500.0], 500);
        let in_match = Uuid::from_u128(999);
        let mut avoider = ticket(5, &[1500.0], 100);
        avoider.constraints.avoid.push(in_match);
        let mine = met_before.players[0].user_id;
        let met = move |x: UserId, y: UserId| x == mine && y == in_match;
        let all = [&old_far, &pair, &solo, &met_before, &avoider];
        // Two seats: the pair (oldest in reach); the far ticket, the avoider and the recent
        // opponent are passed over.
        let two = fill(
            &m,
            1500.0,
            Some(100.0),
            2,
            4,
            &[in_match],
            &all,
            3_000,
            &met,
        );
        assert_eq!(two, vec![pair.id]);
        // Three seats: then the solo; with four, the recent opponent last.
        let three = fill(
            &m,
            1500.0,
            Some(100.0),
            3,
            4,
            &[in_match],
            &all,
            3_000,
            &met,
        );
        assert_eq!(three, vec![pair.id, solo.id]);
        let four = fill(
            &m,
            1500.0,
            Some(100.0),
            4,
            4,
            &[in_match],
            &all,
            3_000,
            &met,
        );
        assert_eq!(four, vec![pair.id, solo.id, met_before.id]);
        // Seats on one team of one player each: no pair.
        let one_each = fill(
            &m,
            1500.0,
            Some(100.0),
            2,
            1,
            &[in_match],
            &all,
            3_000,
            &met,
        );
        assert_eq!(one_each, vec![solo.id, met_before.id]);
        // Once the far ticket's window has opened and the request's too, it goes first.
        let late = fill(&m, 1500.0, None, 1, 4, &[in_match], &all, 120_000, &met);
        assert_eq!(late, vec![old_far.id]);
    }

    #[test]
    fn a_population_of_10000_is_matched_within_200_rating() {
        let m = mode("solo");
        let r = crate::features::matchmaking::sim::simulate(&m, 10_000, 600, 42);
        println!("{r:?}");
        assert!(r.within_200_pct >= 80.0, "{r:?}");
        assert!(r.matches * 2 + r.unmatched == 10_000, "{r:?}");
        assert!(r.median_wait_secs < 30.0, "{r:?}");
    }
}
