//! `mixed`: the SPEC's 5,000 connected players on one node, as a game has them: some in arena
//! matches sending inputs at T Hz, the rest in the lobby, reading global chat (every line goes
//! to every connected player) while their friends lists poll `presence_list` over HTTPS.
//! Prints the server's CPU, RSS and tick figures, datagram and chat throughput and the
//! presence latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use outpost::client::quic::{Channel, QuicClient, QuicError, ServerMsg};
use serde_json::json;

use crate::matches::{authenticate, connect, fill, rss_mib, spawn_players, stats};
use crate::report::{histogram, latency_line};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Connected players in all.
    #[arg(short, long, default_value_t = 5000)]
    pub players: usize,
    /// Of them, players in arena matches.
    #[arg(long, default_value_t = 1000)]
    pub arena: usize,
    /// Players per arena match.
    #[arg(long, default_value_t = 8)]
    pub per_match: usize,
    /// Tick rate of the matches and input rate of their players (Hz).
    #[arg(long, default_value_t = 30)]
    pub hz: u32,
    /// Global chat lines per second, said by lobby players in turn.
    #[arg(long, default_value_t = 5)]
    pub chat: u32,
    /// `presence_list` calls per second (50 user ids each), over 4 HTTPS connections.
    #[arg(long, default_value_t = 20)]
    pub presence: u32,
    /// Seconds measured, after a 3 s warm-up.
    #[arg(short, long, default_value_t = 20)]
    pub duration: u64,
    /// Client UDP sockets the players are spread over.
    #[arg(long, default_value_t = 8)]
    pub sockets: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Default)]
struct Chatter {
    said: AtomicU64,
    heard: AtomicU64,
    refused: AtomicU64,
    closed: AtomicU64,
}

/// A lobby player: says a global line every `every` from `first`, reads everything.
async fn lobby(
    mut c: QuicClient,
    first: Instant,
    every: Duration,
    measure_from: Instant,
    stop_at: Instant,
    chatter: Arc<Chatter>,
) -> QuicClient {
    let mut next_say = first;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        if now >= next_say {
            if c.chat(Channel::Global, None, "anyone up for a match?")
                .await
                .is_ok()
                && now >= measure_from
            {
                chatter.said.fetch_add(1, Ordering::Relaxed);
            }
            next_say += every;
        }
        let wake = next_say.min(stop_at);
        match c.recv(wake.saturating_duration_since(now)).await {
            Ok(ServerMsg::Chat { .. }) => {
                if Instant::now() >= measure_from {
                    chatter.heard.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(ServerMsg::Error { .. }) => {
                chatter.refused.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) | Err(QuicError::Timeout(_)) => {}
            Err(_) => {
                chatter.closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    c
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.arena <= args.players, "--arena is more than --players");
    let matches = args.arena / args.per_match.max(1);
    let in_arena = matches * args.per_match;
    let lobby_count = args.players - in_arena;
    let hz = args.hz.to_string();
    let chat_budget = (args.chat * 2).max(1).to_string();
    let (target, games) = Target::open(
        &args.target,
        &[
            ("OUTPOST_RATE_LIMIT_AUTH_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
            ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "100000"),
            ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_WRITE_BURST", "100000"),
            ("OUTPOST_REALTIME_MAX_CONNECTIONS", "100000"),
            // Every bench player speaks from 127.0.0.1.
            ("OUTPOST_REALTIME_MAX_PENDING_PER_IP", "100000"),
            ("OUTPOST_REALTIME_MAX_MATCHES_PER_IP", "100000"),
            ("OUTPOST_REALTIME_GLOBAL_CHAT_PER_SEC", &chat_budget),
            ("OUTPOST_REALTIME_GLOBAL_CHAT_BURST", &chat_budget),
            ("OUTPOST_REALTIME_TICK_HZ", &hz),
            ("OUTPOST_LOG_LEVEL", "warn"),
        ],
        &["bench"],
    )?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no game registered (use a started server, not --url)"))?;
    let rss_idle = rss_mib(&target);
    let sessions = authenticate(&target, args.players).await?;
    let (mut clients, setup) = connect(&target, &game, &sessions, args.sockets).await?;
    let rss_connected = rss_mib(&target);
    // Players that could not connect are missing from the lobby (connect said how many).
    let lobby_clients = clients.split_off(in_arena.min(clients.len()));
    let players = fill(clients, matches, args.per_match, args.hz).await?;
    let (playing, lobby_live) = (players.len(), lobby_clients.len());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_matches = rss_mib(&target);

    let warmup = Duration::from_secs(3);
    let run_for = Duration::from_secs(args.duration);
    let start_at = Instant::now() + Duration::from_millis(200);
    let measure_from = start_at + warmup;
    let stop_at = measure_from + run_for;
    let sent = Arc::new(AtomicU64::new(0));
    let states = Arc::new(AtomicU64::new(0));
    let arena = spawn_players(
        players,
        args.hz,
        start_at,
        measure_from,
        stop_at,
        sent.clone(),
        states.clone(),
    );

    // Lobby: each says a line every `every`, their turns spread evenly over it.
    let chatter = Arc::new(Chatter::default());
    let every = Duration::from_secs_f64(lobby_count.max(1) as f64 / args.chat.max(1) as f64);
    let mut lobby_tasks = Vec::new();
    for (i, c) in lobby_clients.into_iter().enumerate() {
        let first = start_at + every.mul_f64(i as f64 / lobby_count.max(1) as f64);
        lobby_tasks.push(tokio::spawn(lobby(
            c,
            first,
            every,
            measure_from,
            stop_at,
            chatter.clone(),
        )));
    }

    // Friends lists: presence_list of 50 players, from 4 HTTPS connections.
    let lanes = 4usize;
    let mut presence_tasks = Vec::new();
    let period = Duration::from_secs_f64(lanes as f64 / args.presence.max(1) as f64);
    for lane in 0..lanes {
        let client = target.client()?;
        let me = sessions[in_arena + lane % lobby_count.max(1)].clone();
        let friends: Vec<String> = sessions
            .iter()
            .skip(lane * 50)
            .take(50)
            .map(|s| s.user_id.to_string())
            .collect();
        let game = game.clone();
        presence_tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let mut errors = 0u64;
            tokio::time::sleep_until((start_at + period.mul_f64(lane as f64 / 4.0)).into()).await;
            let mut every = tokio::time::interval(period);
            loop {
                every.tick().await;
                if Instant::now() >= stop_at {
                    break;
                }
                let t = Instant::now();
                let r = client
                    .rpc(
                        &me,
                        "presence_list",
                        json!({"game_id": game, "user_ids": friends}),
                    )
                    .await;
                if t >= measure_from {
                    match r {
                        Ok(_) => h.record(t.elapsed().as_micros().max(1) as u64)?,
                        Err(_) => errors += 1,
                    }
                }
            }
            anyhow::Ok((h, errors))
        }));
    }

    tokio::time::sleep_until(measure_from.into()).await;
    let before = stats(&target, true).await?;
    let cpu_before = target.server_cpu_secs();
    let drops_before = target.udp_drops();
    let measured = Instant::now();
    tokio::time::sleep_until(stop_at.into()).await;
    let secs = measured.elapsed().as_secs_f64().max(0.001);
    let after = stats(&target, false).await?;
    let drops = drops_before.line_until(&target.udp_drops(), secs);
    let cpu = cpu_before
        .zip(target.server_cpu_secs())
        .map(|(a, b)| (b - a) / secs);
    let rss_end = rss_mib(&target);
    let peak = target.server_peak_rss_kib().unwrap_or(0) as f64 / 1024.0;
    let mut presence = histogram();
    let mut presence_errors = 0;
    for t in presence_tasks {
        let (h, e) = t.await??;
        presence.add(&h)?;
        presence_errors += e;
    }
    let mut keep = Vec::new();
    for t in arena {
        keep.push(t.await?);
    }
    for t in lobby_tasks {
        keep.push(t.await?);
    }
    let delta = |k: &str| {
        after[k]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(before[k].as_u64().unwrap_or(0))
    };
    let ms = |k: &str| after[k].as_u64().unwrap_or(0) as f64 / 1000.0;

    println!(
        "mixed: {} QUIC players: {in_arena} in {matches} arena matches at {} Hz, {lobby_count} in the lobby; {:.0} s measured",
        args.players, args.hz, secs
    );
    if playing < in_arena || lobby_live < lobby_count {
        println!("  of them {playing} in matches and {lobby_live} in the lobby (see above)");
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
        "tick jitter  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms;  lateness p50 {:.3} ms  p99 {:.3} ms",
        ms("jitter_p50_us"),
        ms("jitter_p99_us"),
        ms("jitter_max_us"),
        ms("lateness_p50_us"),
        ms("lateness_p99_us"),
    );
    println!(
        "datagrams/s  server in {:.0}  out {:.0}   (arena players sent {:.0}/s, received {:.0}/s; expected out {:.0}/s)",
        delta("datagrams_in") as f64 / secs,
        delta("datagrams_out") as f64 / secs,
        sent.load(Ordering::Relaxed) as f64 / secs,
        states.load(Ordering::Relaxed) as f64 / secs,
        (playing as u64 * args.hz as u64) as f64
    );
    let said = chatter.said.load(Ordering::Relaxed) as f64 / secs;
    println!(
        "global chat  {said:.1} lines/s said, {:.0} deliveries/s heard by lobby players (expected {:.0}/s to the lobby, {:.0}/s to all); {} refused, {} lobby connections closed",
        chatter.heard.load(Ordering::Relaxed) as f64 / secs,
        said * lobby_live as f64,
        said * args.players as f64,
        chatter.refused.load(Ordering::Relaxed),
        chatter.closed.load(Ordering::Relaxed),
    );
    println!(
        "control frames/s  in {:.0}  out {:.0};  slow clients dropped {}  anti-cheat violations {}",
        delta("frames_in") as f64 / secs,
        delta("frames_out") as f64 / secs,
        delta("dropped_slow"),
        delta("violations"),
    );
    println!(
        "presence_list (50 ids) {:.0}/s  {}  ({presence_errors} errors)",
        presence.len() as f64 / secs,
        latency_line(&presence)
    );
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
    println!(
        "server RSS  idle {rss_idle:.1} MiB  connected {rss_connected:.1} MiB  matches up {rss_matches:.1} MiB  end {rss_end:.1} MiB  peak {peak:.1} MiB"
    );
    drop(keep);
    Ok(())
}
