//! A simulated population for judging the matcher: players of known skill arrive at random
//! over a span of time and queue once; the pure pass runs every simulated second. Used by
//! the quality test and the bench (no server, no clock: simulated time only).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::matcher;
use super::model::{Constraints, Mode, Seat, Ticket, TicketState};

#[derive(Debug, Clone, serde::Serialize)]
pub struct SimReport {
    pub players: usize,
    pub matches: usize,
    /// Share of matches whose ratings span at most 200 (max − min), in percent.
    pub within_200_pct: f64,
    pub median_spread: f64,
    pub median_wait_secs: f64,
    pub p90_wait_secs: f64,
    pub unmatched: usize,
    /// Longest single pass, microseconds.
    pub slowest_pass_us: u128,
}

fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// `players` of skill ~ N(1500, 300) arrive uniformly over `arrival_secs`; runs until every
/// one is matched or has waited past the mode's `expire_after_secs`.
pub fn simulate(mode: &Mode, players: usize, arrival_secs: u64, seed: u64) -> SimReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut arrivals: Vec<(i64, Ticket)> = (0..players)
        .map(|i| {
            let at = rng.gen_range(0..arrival_secs.max(1) * 1000) as i64;
            let skill = normal(&mut rng, 1500.0, 300.0);
            let id = Uuid::from_u128(i as u128 + 1);
            (
                at,
                Ticket {
                    id,
                    mode: mode.name.clone(),
                    region: "sim".into(),
                    party_id: None,
                    players: vec![Seat {
                        user_id: id,
                        rating: skill,
                        deviation: 60.0,
                    }],
                    string_properties: Default::default(),
                    numeric_properties: Default::default(),
                    constraints: Constraints::default(),
                    created_at_ms: at,
                    front: false,
                    state: TicketState::Searching,
                },
            )
        })
        .collect();
    arrivals.sort_by_key(|(at, t)| (*at, t.id));
    let mut next = 0;
    let mut queue: Vec<Ticket> = Vec::new();
    let mut spreads = Vec::new();
    let mut waits = Vec::new();
    let mut unmatched = 0;
    let mut slowest = 0;
    let end = (arrival_secs + mode.expire_after_secs + 1) as i64 * 1000;
    let mut now = 0;
    while now <= end && (next < arrivals.len() || !queue.is_empty()) {
        now += 1000;
        while next < arrivals.len() && arrivals[next].0 <= now {
            queue.push(arrivals[next].1.clone());
            next += 1;
        }
        let before = queue.len();
        queue.retain(|t| now - t.created_at_ms < mode.expire_after_secs as i64 * 1000);
        unmatched += before - queue.len();
        let refs: Vec<&Ticket> = queue.iter().collect();
        let started = std::time::Instant::now();
        let found = matcher::pass(mode, &refs, now, &|_, _| false);
        slowest = slowest.max(started.elapsed().as_micros());
        let mut taken = std::collections::HashSet::new();
        for p in &found {
            let members: Vec<&Ticket> = p
                .tickets
                .iter()
                .filter_map(|id| queue.iter().find(|t| t.id == *id))
                .collect();
            let (lo, hi) = members.iter().fold((f64::MAX, f64::MIN), |(lo, hi), t| {
                (lo.min(t.rating()), hi.max(t.rating()))
            });
            spreads.push(hi - lo);
            for t in members {
                waits.push((now - t.created_at_ms) as f64 / 1000.0);
                taken.insert(t.id);
            }
        }
        queue.retain(|t| !taken.contains(&t.id));
    }
    unmatched += queue.len();
    spreads.sort_by(|a, b| a.total_cmp(b));
    waits.sort_by(|a, b| a.total_cmp(b));
    let within = spreads.iter().filter(|&&s| s <= 200.0).count();
    SimReport {
        players,
        matches: spreads.len(),
        within_200_pct: if spreads.is_empty() {
            0.0
        } else {
            100.0 * within as f64 / spreads.len() as f64
        },
        median_spread: percentile(&spreads, 0.5),
        median_wait_secs: percentile(&waits, 0.5),
        p90_wait_secs: percentile(&waits, 0.9),
        unmatched,
        slowest_pass_us: slowest,
    }
}

/// `n` searching solo tickets of skill ~ N(1500, 300), all queued `waited_ms` before `now`
/// (for timing one pass over a full queue).
pub fn population(mode: &Mode, n: usize, now: i64, waited_ms: i64, seed: u64) -> Vec<Ticket> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let id = Uuid::from_u128(i as u128 + 1);
            Ticket {
                id,
                mode: mode.name.clone(),
                region: "sim".into(),
                party_id: None,
                players: vec![Seat {
                    user_id: id,
                    rating: normal(&mut rng, 1500.0, 300.0),
                    deviation: 60.0,
                }],
                string_properties: Default::default(),
                numeric_properties: Default::default(),
                constraints: Constraints::default(),
                created_at_ms: now - rng.gen_range(0..waited_ms.max(1)),
                front: false,
                state: TicketState::Searching,
            }
        })
        .collect()
}
