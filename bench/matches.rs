//! `matches`: M arena matches × P players over QUIC on loopback, inputs at T Hz. Prints the
//! server's tick duration and lateness (jitter) percentiles, datagrams per second in and
//! out, server RSS per match and connection setup time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use outpost::client::quic::{self, arena_op, ArenaInput, QuicClient};
use outpost::client::Trust;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::report::{histogram, latency_line};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Matches.
    #[arg(short, long, default_value_t = 125)]
    pub matches: usize,
    /// Players per match.
    #[arg(short, long, default_value_t = 8)]
    pub players: usize,
    /// Tick rate of the matches and input rate of each player (Hz).
    #[arg(long, default_value_t = 30)]
    pub hz: u32,
    /// Seconds measured, after a 3 s warm-up.
    #[arg(short, long, default_value_t = 20)]
    pub duration: u64,
    /// Client UDP sockets the players are spread over.
    #[arg(long, default_value_t = 8)]
    pub sockets: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn stats(target: &Target, reset: bool) -> anyhow::Result<Value> {
    let v = target
        .client()?
        .rpc_as_server(&target.http_key, "realtime_stats", json!({"reset": reset}))
        .await?;
    Ok(v["realtime"].clone())
}

pub fn rss_mib(target: &Target) -> f64 {
    target.server_rss_kib().unwrap_or(0) as f64 / 1024.0
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let hz = args.hz.to_string();
    let (target, games) = Target::open(
        &args.target,
        &[
            ("OUTPOST_RATE_LIMIT_AUTH_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
            ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_WRITE_BURST", "100000"),
            ("OUTPOST_REALTIME_MAX_CONNECTIONS", "100000"),
            // Every bench player speaks from 127.0.0.1.
            ("OUTPOST_REALTIME_MAX_PENDING_PER_IP", "100000"),
            ("OUTPOST_REALTIME_MAX_MATCHES_PER_IP", "100000"),
            ("OUTPOST_REALTIME_TICK_HZ", &hz),
            ("OUTPOST_LOG_LEVEL", "warn,outpost::realtime=info"),
        ],
        &["bench"],
    )?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no game registered (use a started server, not --url)"))?;
    let local = target
        .local
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the matches scenario starts its own server"))?;
    let total = args.matches * args.players;
    let rss_idle = rss_mib(&target);

    let sessions = authenticate(&target, total).await?;
    let (clients, setup) = connect(&target, &game, &sessions, args.sockets).await?;
    let rss_connected = rss_mib(&target);
    let players = match fill(clients, args.matches, args.players, args.hz).await {
        Ok(p) => p,
        Err(e) => {
            dump_server(local);
            eprintln!("server realtime stats: {}", stats(&target, false).await?);
            return Err(e);
        }
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_matches = rss_mib(&target);
    play(PlayRun {
        target: &target,
        local,
        args: &args,
        players,
        setup,
        rss: (rss_idle, rss_connected, rss_matches),
    })
    .await
}

/// `total` device accounts with sessions, over a few keep-alive HTTPS clients.
pub async fn authenticate(
    target: &Target,
    total: usize,
) -> anyhow::Result<Vec<outpost::client::Session>> {
    let phase = Instant::now();
    let lanes = 8;
    let mut auths = Vec::new();
    for lane in 0..lanes {
        let client = target.client()?;
        auths.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (lane..total).step_by(lanes) {
                let device = format!("bench-player-{i:08}-{}", std::process::id());
                let s = client
                    .authenticate_device(&device, true, None, &BTreeMap::new())
                    .await?;
                out.push((i, s));
            }
            anyhow::Ok(out)
        }));
    }
    let mut sessions = Vec::new();
    for a in auths {
        sessions.extend(a.await??);
    }
    sessions.sort_by_key(|(i, _)| *i);
    let sessions: Vec<_> = sessions.into_iter().map(|(_, s)| s).collect();
    eprintln!(
        "{total} players authenticated in {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    Ok(sessions)
}

/// One QUIC connection per session, spread over `sockets` client sockets; with the
/// connection setup times (handshake + hello/welcome).
pub async fn connect(
    target: &Target,
    game: &str,
    sessions: &[outpost::client::Session],
    sockets: usize,
) -> anyhow::Result<(Vec<QuicClient>, hdrhistogram::Histogram<u64>)> {
    let local = target
        .local
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("QUIC scenarios start their own server"))?;
    let addr: std::net::SocketAddr = local.quic.parse()?;
    let pem = local.cert_pem.clone();
    let total = sessions.len();
    let gate = Arc::new(Semaphore::new(8));
    let mut endpoints = Vec::new();
    for _ in 0..sockets.max(1) {
        endpoints.push(quic::endpoint(Trust::Pem(&pem))?);
    }
    let mut setup = histogram();
    let mut connects = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let ep = endpoints[i % endpoints.len()].clone();
        let token = s.token.clone();
        let game = game.to_string();
        let gate = gate.clone();
        connects.push(tokio::spawn(async move {
            let _p = gate.acquire().await?;
            let t = Instant::now();
            let c = QuicClient::connect(&ep, addr, "localhost", &token, &game)
                .await
                .map_err(|e| anyhow::anyhow!("player {i}: {e} after {:?}", t.elapsed()))?;
            anyhow::Ok((c, t.elapsed()))
        }));
    }
    let phase = Instant::now();
    let mut clients = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut failed = Vec::new();
    for c in connects {
        let (c, took) = match c.await? {
            Ok(ok) => ok,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        setup.record(took.as_micros().max(1) as u64)?;
        slowest = slowest.max(took);
        clients.push(c);
        if clients.len() % 250 == 0 {
            eprintln!(
                "  {} connected at {:.1} s (slowest so far {:?})",
                clients.len(),
                phase.elapsed().as_secs_f64(),
                slowest
            );
        }
    }
    eprintln!(
        "{} QUIC connections in {:.1} s",
        clients.len(),
        phase.elapsed().as_secs_f64()
    );
    if let Some(first) = failed.first() {
        // An overloaded machine may lose some: the run goes on with the others, and says so.
        eprintln!(
            "{} of {total} players could not connect (the first: {first})",
            failed.len()
        );
        if clients.is_empty() {
            dump_server(local);
            anyhow::bail!("no player could connect");
        }
    }
    Ok((clients, setup))
}

/// Prints the tail of the started server's output (what it logged before a failure).
pub fn dump_server(local: &outpost::client::LocalServer) {
    let out = local.output();
    let lines: Vec<&str> = out.lines().collect();
    eprintln!("--- server output, last 40 of {} lines ---", lines.len());
    for l in &lines[lines.len().saturating_sub(40)..] {
        eprintln!("{l}");
    }
    let path =
        std::env::temp_dir().join(format!("outpost-bench-server-{}.log", std::process::id()));
    match std::fs::write(&path, &out) {
        Ok(()) => eprintln!("--- all of it is in {} ---", path.display()),
        Err(e) => eprintln!("--- server output not saved to {}: {e} ---", path.display()),
    }
}

/// `matches` arena matches of `per_match` players from `clients` (in order): the first of
/// each creates it, the others join together. Matches are filled 64 at a time, each player
/// reading its own replies, so filling stays short however many there are.
pub async fn fill(
    clients: Vec<QuicClient>,
    matches: usize,
    per_match: usize,
    hz: u32,
) -> anyhow::Result<Vec<(QuicClient, quic::Joined)>> {
    let matches = matches.min(clients.len() / per_match.max(1));
    let params = json!({
        "tick_rate": hz, "max_players": per_match.clamp(2, 16),
        "kill_limit": 1000, "time_limit_secs": 3600, "vote_secs": 0,
    });
    let phase = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut iter = clients.into_iter();
    let mut tasks = Vec::new();
    for m in 0..matches {
        let group: Vec<QuicClient> = iter.by_ref().take(per_match).collect();
        let params = params.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _p = gate.acquire().await?;
            let mut errors = Vec::new();
            let mut group = group.into_iter();
            let mut first = group.next().ok_or_else(|| anyhow::anyhow!("empty group"))?;
            let t = Instant::now();
            let j = match first.create_match("arena", "bench", params).await {
                Ok(j) => j,
                Err(e) => {
                    errors.push(format!("match {m}: create: {e} after {:?}", t.elapsed()));
                    return anyhow::Ok((Vec::new(), errors));
                }
            };
            let match_id = j.match_id.clone();
            let mut out = vec![(first, j)];
            // The others join at once: under load a match fills in one reply's time.
            let joins = group.enumerate().map(|(k, mut c)| {
                let match_id = match_id.clone();
                async move {
                    let t = Instant::now();
                    match c.join_match(&match_id, None).await {
                        Ok(j) => Ok((c, j)),
                        Err(e) => Err(format!(
                            "match {m}: player {}: join: {e} after {:?}",
                            k + 1,
                            t.elapsed()
                        )),
                    }
                }
            });
            for joined in futures_util::future::join_all(joins).await {
                match joined {
                    Ok(p) => out.push(p),
                    Err(e) => errors.push(e),
                }
            }
            anyhow::Ok((out, errors))
        }));
    }
    let mut players = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (p, e) = t.await??;
        players.extend(p);
        errors.extend(e);
    }
    eprintln!(
        "{matches} matches filled in {:.1} s: {} players in them",
        phase.elapsed().as_secs_f64(),
        players.len()
    );
    if let Some(first) = errors.first() {
        // Under overload a reply can come too late: that player sits out, and the report
        // counts only the players in matches.
        eprintln!(
            "{} creates or joins failed (the first: {first})",
            errors.len()
        );
    }
    anyhow::ensure!(!players.is_empty(), "no player got into a match");
    Ok(players)
}

struct PlayRun<'a> {
    target: &'a Target,
    local: &'a outpost::client::LocalServer,
    args: &'a Args,
    players: Vec<(QuicClient, quic::Joined)>,
    setup: hdrhistogram::Histogram<u64>,
    rss: (f64, f64, f64),
}

/// Every player walks a small circle around its spawn and fires upwards (at no one) at
/// `hz`, reading the state datagrams; counts what was sent and received after `warmup`
/// until `stop_at`.
pub fn spawn_players(
    players: Vec<(QuicClient, quic::Joined)>,
    hz: u32,
    start_at: Instant,
    measure_from: Instant,
    stop_at: Instant,
    sent: Arc<AtomicU64>,
    states: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<QuicClient>> {
    let period = Duration::from_secs_f64(1.0 / hz as f64);
    let mut tasks = Vec::new();
    for (i, (c, j)) in players.into_iter().enumerate() {
        let states = states.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(walk(
            c,
            j,
            i as f32,
            period,
            start_at,
            measure_from,
            stop_at,
            sent,
            states,
        )));
    }
    tasks
}

#[allow(clippy::too_many_arguments)]
async fn walk(
    mut c: QuicClient,
    j: quic::Joined,
    phase: f32,
    period: Duration,
    start_at: Instant,
    measure_from: Instant,
    stop_at: Instant,
    sent: Arc<AtomicU64>,
    states: Arc<AtomicU64>,
) -> QuicClient {
    let (cx, cy) = if j.you.team.as_deref() == Some("blue") {
        (432.0f32, 135.0f32)
    } else {
        (48.0, 135.0)
    };
    tokio::time::sleep_until(start_at.into()).await;
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0u32;
    let started_ms = outpost::time::now_ms();
    let mut last_fire = started_ms;
    loop {
        every.tick().await;
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        // Position and timestamp from one clock reading, as a real client samples them.
        let ts = outpost::time::now_ms();
        let theta = phase + (ts - started_ms) as f32 / 1000.0 * 2.0;
        let fire = ts - last_fire >= 500;
        if fire {
            last_fire = ts;
        }
        let inp = ArenaInput {
            timestamp_ms: ts,
            x: cx + 10.0 * theta.cos(),
            y: cy + 10.0 * theta.sin(),
            aim: std::f32::consts::FRAC_PI_2,
            fire,
        };
        seq += 1;
        if c.send_input(j.handle, seq, arena_op::INPUT, &inp.encode())
            .is_ok()
            && now >= measure_from
        {
            sent.fetch_add(1, Ordering::Relaxed);
        }
        let got = c.drain_datagrams().len() as u64;
        if now >= measure_from {
            states.fetch_add(got, Ordering::Relaxed);
        }
    }
    c
}

async fn play(run: PlayRun<'_>) -> anyhow::Result<()> {
    let PlayRun {
        target,
        local,
        args,
        players,
        setup,
        rss: (rss_idle, rss_connected, rss_matches),
    } = run;
    let total = players.len();

    // Play: each player walks a small circle around its spawn and fires upwards (at no one).
    let warmup = Duration::from_secs(3);
    let run_for = Duration::from_secs(args.duration);
    let start_at = Instant::now() + Duration::from_millis(200);
    let states = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let tasks = spawn_players(
        players,
        args.hz,
        start_at,
        start_at + warmup,
        start_at + warmup + run_for,
        sent.clone(),
        states.clone(),
    );
    let cpu_before = target.server_cpu_secs();
    tokio::time::sleep_until((start_at + warmup).into()).await;
    let before = stats(target, true).await?;
    let drops_before = target.udp_drops();
    let measured = Instant::now();
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await?);
    }
    let secs = measured
        .elapsed()
        .as_secs_f64()
        .min(run_for.as_secs_f64())
        .max(0.001);
    let after = stats(target, false).await?;
    let drops = drops_before.line_until(&target.udp_drops(), secs);
    let cpu = cpu_before
        .zip(target.server_cpu_secs())
        .map(|(a, b)| (b - a) / secs);
    let rss_end = rss_mib(target);
    let delta = |k: &str| {
        after[k]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(before[k].as_u64().unwrap_or(0))
    };
    let ms = |k: &str| after[k].as_u64().unwrap_or(0) as f64 / 1000.0;

    println!(
        "matches: {} arena matches x {} players = {} QUIC connections at {} Hz, {:.0} s measured",
        args.matches,
        args.players,
        args.matches * args.players,
        args.hz,
        secs
    );
    if total < args.matches * args.players {
        println!("  of them {total} players got into their matches (see above)");
    }
    println!(
        "server tick  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  ({} ticks, {:.0}/s)",
        ms("tick_p50_us"),
        ms("tick_p99_us"),
        ms("tick_max_us"),
        after["ticks"],
        after["ticks"].as_u64().unwrap_or(0) as f64 / secs
    );
    println!(
        "tick jitter (|tick interval - period|)  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms("jitter_p50_us"),
        ms("jitter_p99_us"),
        ms("jitter_max_us")
    );
    println!(
        "tick start lateness vs schedule  p50 {:.3} ms  p99 {:.3} ms",
        ms("lateness_p50_us"),
        ms("lateness_p99_us"),
    );
    println!(
        "datagrams/s  server in {:.0}  out {:.0}   (clients sent {:.0}/s, received {:.0}/s; expected out {:.0}/s)",
        delta("datagrams_in") as f64 / secs,
        delta("datagrams_out") as f64 / secs,
        sent.load(Ordering::Relaxed) as f64 / secs,
        states.load(Ordering::Relaxed) as f64 / secs,
        (total as u64 * args.hz as u64) as f64
    );
    println!(
        "anti-cheat violations {}  stale inputs {}  slow clients dropped {}",
        delta("violations"),
        delta("stale_inputs"),
        delta("dropped_slow")
    );
    if delta("violations") > 0 {
        for line in local
            .output()
            .lines()
            .filter(|l| l.contains("anti-cheat violation"))
            .take(5)
        {
            println!("  {line}");
        }
    }
    println!(
        "connection setup (QUIC handshake + hello/welcome) {}",
        latency_line(&setup)
    );
    println!("{drops}");
    if let Some(cpu) = cpu {
        println!(
            "server CPU {:.0}% of one core over the measured window",
            cpu * 100.0
        );
    }
    if rss_idle > 0.0 {
        let per_conn = (rss_connected - rss_idle) * 1024.0 / total as f64;
        let per_match = (rss_matches - rss_connected) * 1024.0 / args.matches as f64;
        let per_match_all = (rss_end - rss_idle) * 1024.0 / args.matches as f64;
        println!(
            "server RSS  idle {rss_idle:.1} MiB  connected {rss_connected:.1} MiB  matches up {rss_matches:.1} MiB  end {rss_end:.1} MiB"
        );
        println!(
            "  per connection {per_conn:.1} KiB  per match (state only) {per_match:.1} KiB  per match incl. its {} connections {per_match_all:.1} KiB",
            args.players
        );
    }
    drop(clients);
    Ok(())
}
