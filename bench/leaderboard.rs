//! `leaderboard`: a board of N (default 1,000,000) records.
//!
//! 1. In-process, the rank structure alone: build time from N records, bytes per entry,
//!    rank / top-100 / around-me / update latencies (p50, p99).
//! 2. A started server: the board is created over HTTPS, the server stopped, N records
//!    imported into its database (`leaderboards::import`), the server started again; then
//!    the first read (which builds the ranks from sled: the rebuild time), server RSS
//!    before and after, and over HTTPS with C connections: `submit_score` per second and
//!    its latency, then `get_leaderboard` top-100, `leaderboard_get_rank` and around-me
//!    (`around_me`, 21 records).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use outpost::features::leaderboards::{self, ranking::Ranking, Item, Record, Sort, Tie};
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::report::histogram;
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Records on the board.
    #[arg(short = 'n', long, default_value_t = 1_000_000)]
    pub entries: usize,
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of each HTTPS phase after a 1 s warm-up.
    #[arg(short, long, default_value_t = 5)]
    pub duration: u64,
    /// Only the in-process figures (no server).
    #[arg(long)]
    pub in_process: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

const BOARD: &str = "bench";
const SCORES: u64 = 10_000_000;

fn item(rng: &mut impl Rng, seq: u64) -> Item {
    Item::new(
        Sort::Desc,
        Tie::Earliest,
        rng.gen_range(0..SCORES) as i64,
        0,
        seq,
        Uuid::from_u128(rng.gen()),
    )
}

fn timed<T>(h: &mut hdrhistogram::Histogram<u64>, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let ns = t.elapsed().as_nanos().max(1) as u64;
    let _ = h.record(ns);
    out
}

fn ns_line(h: &hdrhistogram::Histogram<u64>) -> String {
    let us = |ns: u64| ns as f64 / 1000.0;
    format!(
        "p50 {:.2} µs  p99 {:.2} µs  max {:.1} µs",
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.99)),
        us(h.max())
    )
}

fn in_process(n: usize) {
    let mut rng = rand::thread_rng();
    let items: Vec<Item> = (0..n as u64).map(|i| item(&mut rng, i)).collect();
    let t = Instant::now();
    let mut sorted = items.clone();
    sorted.sort_unstable();
    let mut r = Ranking::from_sorted(sorted);
    println!(
        "in-process: built {} entries in {:.0} ms (sort + build); {:.1} bytes/entry",
        r.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        r.heap_bytes() as f64 / r.len() as f64
    );
    let samples = 200_000;
    let (mut rank, mut top, mut around, mut update) =
        (histogram(), histogram(), histogram(), histogram());
    for _ in 0..samples {
        let it = items[rng.gen_range(0..n)];
        let p = timed(&mut rank, || r.count_before(&it));
        std::hint::black_box(p);
        std::hint::black_box(timed(&mut top, || r.range(0, 100)));
        std::hint::black_box(timed(&mut around, || {
            let p = r.count_before(&it);
            r.range(p.saturating_sub(10), 21)
        }));
    }
    let mut live = items;
    for i in 0..samples {
        let k = rng.gen_range(0..n);
        let next = item(&mut rng, (n + i) as u64);
        let old = live[k];
        timed(&mut update, || {
            r.remove(&old);
            r.insert(next);
        });
        live[k] = next;
    }
    println!("  rank       {}", ns_line(&rank));
    println!("  top-100    {}", ns_line(&top));
    println!("  around-me  {}", ns_line(&around));
    println!("  update     {}  (remove + insert)", ns_line(&update));
    println!(
        "  after {samples} updates: {:.1} bytes/entry",
        r.heap_bytes() as f64 / r.len() as f64
    );
}

fn import(dir: &std::path::Path, game: &str, n: usize) -> anyhow::Result<Duration> {
    let store = outpost::store::Store::open(dir, 0)?;
    let game = store.game(game.parse().map_err(anyhow::Error::msg)?)?;
    let t = Instant::now();
    let mut rng = rand::thread_rng();
    let now = outpost::time::now();
    let records = (0..n).map(move |i| Record {
        owner_id: Uuid::from_u128(rng.gen()),
        username: format!("bench-{i}"),
        score: rng.gen_range(0..SCORES) as i64,
        subscore: 0,
        num_score: 1,
        metadata: Default::default(),
        create_time: now,
        update_time: now,
        seq: 0,
    });
    leaderboards::import(&game, BOARD, records).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(t.elapsed())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    in_process(args.entries);
    if args.in_process {
        return Ok(());
    }
    anyhow::ensure!(
        args.target.url.is_none(),
        "this scenario imports records into a server it starts: leave out --url"
    );
    let (mut target, games) = Target::open(&args.target, OPEN_LIMITS, &["bench"])?;
    let game = games[0].clone();
    let sessions = players(&target, args.connections + 1, &game).await?;
    let admin = sessions[0].clone();
    let local = target
        .local
        .as_mut()
        .ok_or_else(|| anyhow::anyhow!("no local server"))?;
    let (ok, out, err) = local.cli(&[
        "--data-dir",
        "data",
        "user",
        "promote",
        &admin.1.user_id.to_string(),
    ]);
    anyhow::ensure!(ok, "promote: {out}{err}");
    admin
        .0
        .rpc(
            &admin.1,
            "leaderboard_create",
            json!({"game_id": game, "id": BOARD}),
        )
        .await?;
    local.stop();
    let took = import(&local.data_dir(), &game, args.entries)?;
    println!(
        "server: imported {} records into sled in {:.1} s",
        args.entries,
        took.as_secs_f64()
    );
    local.restart()?;
    target.base = local.https.clone();
    let pid = local.pid();
    let rss = || pid.and_then(crate::report::rss_kib).unwrap_or(0);
    let clients: Vec<_> = sessions
        .iter()
        .skip(1)
        .map(|(_, s)| Ok((target.client()?, s.clone())))
        .collect::<anyhow::Result<_>>()?;
    let (c0, s0) = clients[0].clone();
    let before = rss();
    let t = Instant::now();
    c0.rpc(
        &s0,
        "get_leaderboard",
        json!({"game_id": game, "leaderboard_id": BOARD, "limit": 1}),
    )
    .await?;
    let rebuild = t.elapsed();
    let after = rss();
    println!(
        "  rebuild at first use: {:.0} ms for {} entries; server RSS {:.0} → {:.0} MiB \
         ({:.0} bytes/entry, sled's page cache included)",
        rebuild.as_secs_f64() * 1000.0,
        args.entries,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before) * 1024) as f64 / args.entries as f64
    );

    let g = game.clone();
    let submit: Op = Arc::new(move |client, session, _i, _n| {
        let g = g.clone();
        Box::pin(async move {
            let score = rand::thread_rng().gen_range(0..SCORES as i64);
            client
                .rpc(
                    &session,
                    "submit_score",
                    json!({"game_id": g, "leaderboard_id": BOARD, "score": score}),
                )
                .await
                .is_ok()
        })
    });
    let warm = Duration::from_secs(1);
    let run_for = Duration::from_secs(args.duration);
    let f = drive(&clients, warm, run_for, submit).await?;
    f.print(&format!(
        "  submit_score over HTTPS, {} connections",
        args.connections
    ));
    for (what, payload) in [
        (
            "get_leaderboard top-100",
            json!({"game_id": game, "leaderboard_id": BOARD, "limit": 100}),
        ),
        (
            "leaderboard_get_rank",
            json!({"game_id": game, "leaderboard_id": BOARD}),
        ),
        (
            "get_leaderboard around_me (21)",
            json!({"game_id": game, "leaderboard_id": BOARD, "around_me": true, "limit": 21}),
        ),
    ] {
        let id = if what.starts_with("leaderboard_get_rank") {
            "leaderboard_get_rank"
        } else {
            "get_leaderboard"
        };
        let op: Op = Arc::new(move |client, session, _i, _n| {
            let payload = payload.clone();
            Box::pin(async move { client.rpc(&session, id, payload).await.is_ok() })
        });
        let f = drive(&clients, warm, run_for, op).await?;
        f.print(&format!("  {what}, {} connections", args.connections));
    }
    println!("  server RSS at the end {:.0} MiB", rss() as f64 / 1024.0);
    Ok(())
}
