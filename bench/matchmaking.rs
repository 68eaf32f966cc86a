//! `matchmaking`: the matching pass over a full queue (100,000 tickets by default, the pure
//! matcher in this process), tickets admitted per second through HTTPS by a started server
//! (C connections queueing one ticket each for fresh players), memory per queued ticket
//! (server RSS growth, and the in-memory ticket alone), and the quality and waits of a
//! simulated population of players of known skill.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use outpost::features::matchmaking::{matcher, modes, sim, Mode, Ticket};
use serde_json::json;

use crate::load::OPEN_LIMITS;
use crate::report::{histogram, latency_line};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Tickets in the queue for the pass timing.
    #[arg(long, default_value_t = 100_000)]
    pub tickets: usize,
    /// Tickets admitted through HTTPS (one fresh player each).
    #[arg(long, default_value_t = 10_000)]
    pub admit: usize,
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Players of the simulated population.
    #[arg(long, default_value_t = 10_000)]
    pub population: usize,
    /// Seconds over which the simulated population arrives.
    #[arg(long, default_value_t = 600)]
    pub arrival_secs: u64,
    #[command(flatten)]
    pub target: TargetArgs,
}

fn solo() -> Mode {
    modes::defaults()
        .into_iter()
        .find(|m| m.name == "solo")
        .expect("solo preset")
}

fn self_rss_kib() -> Option<u64> {
    crate::report::rss_kib(std::process::id())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    pass_time(&args);
    population(&args);
    admission(&args).await
}

/// Times one pass over `args.tickets` solo and duo tickets that waited up to a minute.
fn pass_time(args: &Args) {
    for mode in [solo(), {
        let mut d = solo();
        d.name = "duo".into();
        d.team_size = 2;
        d.max_players = 4;
        d.min_players = 4;
        d
    }] {
        let now = 10_000_000;
        let before = self_rss_kib();
        let tickets = sim::population(&mode, args.tickets, now, 60_000, 1);
        let held: HashMap<uuid::Uuid, Ticket> = tickets.iter().map(|t| (t.id, t.clone())).collect();
        let after = self_rss_kib();
        let refs: Vec<&Ticket> = tickets.iter().collect();
        let mut times = Vec::new();
        let mut matches = 0;
        for _ in 0..5 {
            let t = Instant::now();
            matches = matcher::pass(&mode, &refs, now, &|_, _| false).len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "pass over {} {} tickets: median {:.1} ms, best {:.1} ms, worst {:.1} ms; {} matches formed",
            args.tickets,
            mode.name,
            times[2].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[4].as_secs_f64() * 1000.0,
            matches
        );
        if let (Some(b), Some(a)) = (before, after) {
            println!(
                "  in-memory ticket (as the queue holds it, twice here): ~{:.0} bytes each",
                (a.saturating_sub(b) as f64 * 1024.0) / (2.0 * args.tickets as f64)
            );
        }
        drop(held);
    }
}

fn population(args: &Args) {
    let r = sim::simulate(&solo(), args.population, args.arrival_secs, 42);
    println!(
        "population of {} (skill ~ N(1500, 300), arriving over {} s, solo, pass every 1 s): \
         {} matches, {:.1} % within 200 rating, median spread {:.0}, wait median {:.0} s / p90 {:.0} s, \
         {} unmatched, slowest pass {} µs",
        r.players,
        args.arrival_secs,
        r.matches,
        r.within_200_pct,
        r.median_spread,
        r.median_wait_secs,
        r.p90_wait_secs,
        r.unmatched,
        r.slowest_pass_us
    );
}

/// Fresh players queue one ticket each through HTTPS (as a studio server, naming them).
async fn admission(args: &Args) -> anyhow::Result<()> {
    let mut env: Vec<(&str, &str)> = OPEN_LIMITS.to_vec();
    // No pass while admitting: this measures the door, not the matcher.
    env.push(("OUTPOST_MATCHMAKING_INTERVAL_MS", "60000"));
    env.push(("OUTPOST_MATCHMAKING_MAX_TICKETS", "1000000"));
    let (target, games) = Target::open(&args.target, &env, &["bench"])?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--url targets need a game: use a started server"))?;
    let c = args.connections.max(1);
    let per = args.admit.div_ceil(c);
    // Players first (concurrently), so only ticket admission is timed.
    let vars: BTreeMap<String, String> = [("game_id".to_string(), game.clone())].into();
    let mut tasks = Vec::new();
    for i in 0..c {
        let client = target.client()?;
        let vars = vars.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(per);
            for n in 0..per {
                let device = format!("bench-mm-{i:04}-{n:06}-{}", std::process::id());
                let s = client
                    .authenticate_device(&device, true, None, &vars)
                    .await?;
                ids.push(s.user_id.to_string());
            }
            anyhow::Ok((client, ids))
        }));
    }
    let mut conns = Vec::new();
    for t in tasks {
        conns.push(t.await??);
    }
    let rss_before = target.server_rss_kib();
    let key = Arc::new(target.http_key.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, ids) in conns {
        let (key, game) = (key.clone(), game.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let mut errors = 0u64;
            for (n, user) in ids.iter().enumerate() {
                let region = ["eu", "us", "asia"][n % 3];
                let t = Instant::now();
                let r = client
                    .rpc_as_server(
                        &key,
                        "matchmaking_find_match",
                        json!({"game_id": game, "user_id": user, "mode": "solo",
                               "region": region,
                               "numeric_properties": {"level": (n % 50) as f64}}),
                    )
                    .await;
                match r {
                    Ok(_) => h.record(t.elapsed().as_micros().max(1) as u64)?,
                    Err(_) => errors += 1,
                }
            }
            anyhow::Ok((h, errors))
        }));
    }
    let mut all = histogram();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        all.add(&h)?;
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "admission through HTTPS: {:.0} tickets/s ({} ok, {} errors in {:.1} s, {} connections)",
        all.len() as f64 / secs,
        all.len(),
        errors,
        secs,
        c
    );
    println!("  latency {}", latency_line(&all));
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let (Some(b), Some(a)) = (rss_before, target.server_rss_kib()) {
        println!(
            "  server RSS {:.1} → {:.1} MiB: ~{:.0} bytes per queued ticket (queue + sled cache)",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            (a.saturating_sub(b) as f64 * 1024.0) / all.len().max(1) as f64
        );
    }
    Ok(())
}
