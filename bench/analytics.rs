//! `analytics`: C connections (one player each) send `analytics_collect_events` with 100
//! events per call for D seconds (events/s = calls/s × 100), then call
//! `fetch_remote_config` against a config with a default and three audiences (semver range,
//! platform, custom property) for D seconds (its p99 is the figure).

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde_json::{json, Value};

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of each phase after a 2 s warm-up.
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    /// Events per call (1–100).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!((1..=100).contains(&args.batch), "--batch is 1 to 100");
    let (target, games) = Target::open(&args.target, OPEN_LIMITS, &["bench"])?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--url targets need a game: use a started server"))?;
    let players = players(&target, args.connections, &game).await?;

    let batch = args.batch;
    let g = game.clone();
    let collect: Op = Arc::new(move |client, session, i, n| {
        let game = g.clone();
        Box::pin(async move {
            let events: Vec<Value> = (0..batch)
                .map(|k| {
                    json!({"name": if k % 3 == 0 { "level_complete" } else { "enemy_killed" },
                           "properties": {"level": (n % 50) as i64, "conn": i as i64,
                                          "weapon": "rifle", "headshot": k % 2 == 0}})
                })
                .collect();
            client
                .rpc(
                    &session,
                    "analytics_collect_events",
                    json!({"game_id": game, "events": events}),
                )
                .await
                .is_ok_and(|r| r["accepted"].as_u64() == Some(batch as u64))
        })
    });
    let figures = drive(
        &players,
        Duration::from_secs(2),
        Duration::from_secs(args.duration),
        collect,
    )
    .await?;
    figures.print(&format!(
        "analytics_collect_events ({} events per call, {} connections)",
        batch, args.connections
    ));
    println!(
        "  = {:.0} events/s ingested",
        figures.ok.len() as f64 * batch as f64 / figures.secs
    );

    // A config to resolve: an admin (promoted through the admin socket) sets it.
    if let Some(local) = &target.local {
        let client = target.client()?;
        let admin = client
            .authenticate_device(
                &format!("bench-admin-{}", std::process::id()),
                true,
                None,
                &Default::default(),
            )
            .await?;
        let id = admin.user_id.to_string();
        let (ok, out, err) = local.cli(&["--data-dir", "data", "user", "promote", &id]);
        anyhow::ensure!(ok, "promote: {out}{err}");
        let mut default = serde_json::Map::new();
        for k in 0..50 {
            default.insert(format!("key_{k}"), json!(k));
        }
        client
            .rpc(
                &admin,
                "update_remote_config",
                json!({"game_id": game, "default": default, "audiences": [
                    {"name": "new_ios", "priority": 3,
                     "rule": {"platforms": ["ios"], "app_version": ">=2.0, <3"},
                     "values": {"key_1": "ios", "key_2": "ios"}},
                    {"name": "whales", "priority": 5,
                     "rule": {"properties": {"tier": ["gold", "vip"]}},
                     "values": {"key_1": "whale"}},
                    {"name": "eu", "priority": 1, "rule": {"countries": ["DE", "FR", "IT"]},
                     "values": {"key_3": "eu"}},
                ]}),
            )
            .await?;
    }
    let g = game.clone();
    let fetch: Op = Arc::new(move |client, session, i, _| {
        let game = g.clone();
        Box::pin(async move {
            client
                .rpc(
                    &session,
                    "fetch_remote_config",
                    json!({"game_id": game, "platform": if i % 2 == 0 { "ios" } else { "android" },
                           "app_version": "2.3.1", "country": "DE",
                           "properties": {"tier": if i % 4 == 0 { "vip" } else { "free" }}}),
                )
                .await
                .is_ok()
        })
    });
    let figures = drive(
        &players,
        Duration::from_secs(2),
        Duration::from_secs(args.duration),
        fetch,
    )
    .await?;
    figures.print(&format!(
        "fetch_remote_config (50 keys, 3 audiences, {} connections)",
        args.connections
    ));
    if let Some(rss) = target.server_rss_kib() {
        println!("server RSS {:.1} MiB", rss as f64 / 1024.0);
    }
    Ok(())
}
