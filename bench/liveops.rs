//! `liveops`: C connections report achievement progress for D seconds (each its own
//! player, as the studio server; every report is durable before its reply), then C
//! connections add to one community goal's server-wide counter for D seconds (every
//! contribution contends for the same counter). Prints ops/s and latency per phase, and
//! checks the goal's total against the contributions answered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use outpost::client::Session;
use serde_json::json;

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of load per phase, after a 2 s warm-up.
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (target, games) = Target::open(&args.target, OPEN_LIMITS, &["bench"])?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the liveops scenario needs a server it starts"))?;
    let local = target
        .local
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the liveops scenario needs a server it starts"))?;
    // An admin (promoted through the admin socket) defines the achievement and the event.
    let admin_client = target.client()?;
    let admin: Session = admin_client
        .authenticate_device(
            &format!("bench-liveops-admin-{}", std::process::id()),
            true,
            None,
            &Default::default(),
        )
        .await?;
    let (ok, out, err) = tokio::task::block_in_place(|| {
        local.cli(&[
            "--data-dir",
            "data",
            "user",
            "promote",
            &admin.user_id.to_string(),
        ])
    });
    anyhow::ensure!(ok, "promote: {out}{err}");
    admin_client
        .rpc(
            &admin,
            "achievements_bulk_create",
            json!({"game_id": game, "achievements": [
                {"achievement_id": "questions_answered", "title": "Answer everything",
                 "type": "tiered", "tiers": [
                    {"name": "bronze", "threshold": 100, "rewards": {"coins": 1}},
                    {"name": "silver", "threshold": 1000, "rewards": {"coins": 10}},
                    {"name": "gold", "threshold": 10000, "rewards": {"coins": 100}},
                    {"name": "platinum", "threshold": 1000000000, "rewards": {"coins": 1000}}]}]}),
        )
        .await?;
    admin_client
        .rpc(
            &admin,
            "event_create",
            json!({"game_id": game, "event_id": "bench", "title": "Bench harvest",
                   "starts_at": chrono::Utc::now().timestamp() - 10,
                   "ends_at": chrono::Utc::now().timestamp() + 86_400,
                   "goals": [{"goal_id": "crops", "title": "Crops",
                              "thresholds": [{"at": 1000000000, "rewards": {"coins": 1}}]}]}),
        )
        .await?;

    let players = players(&target, args.connections, &game).await?;
    let users: Arc<Vec<String>> =
        Arc::new(players.iter().map(|(_, s)| s.user_id.to_string()).collect());
    let http_key = target.http_key.clone();

    let progress: Op = {
        let (users, game, key) = (users.clone(), game.clone(), http_key.clone());
        Arc::new(move |client, _session, i, _n| {
            let (user, game, key) = (users[i].clone(), game.clone(), key.clone());
            Box::pin(async move {
                client
                    .rpc_as_server(
                        &key,
                        "achievements_update_progress",
                        json!({"game_id": game, "user_id": user,
                               "achievement_id": "questions_answered",
                               "progress": 1, "increment": true}),
                    )
                    .await
                    .is_ok()
            })
        })
    };
    let figures = drive(
        &players,
        Duration::from_secs(2),
        Duration::from_secs(args.duration),
        progress,
    )
    .await?;
    figures.print(&format!(
        "achievements_update_progress (durable, tiers paying as reached), {} connections",
        args.connections
    ));

    let answered = Arc::new(AtomicU64::new(0));
    let contribute: Op = {
        let (users, game, key, answered) = (users, game.clone(), http_key, answered.clone());
        Arc::new(move |client, _session, i, _n| {
            let (user, game, key, answered) = (
                users[i].clone(),
                game.clone(),
                key.clone(),
                answered.clone(),
            );
            Box::pin(async move {
                let ok = client
                    .rpc_as_server(
                        &key,
                        "event_contribute",
                        json!({"game_id": game, "user_id": user, "event_id": "bench",
                               "goal_id": "crops", "amount": 1}),
                    )
                    .await
                    .is_ok();
                if ok {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                ok
            })
        })
    };
    let figures = drive(
        &players,
        Duration::from_secs(2),
        Duration::from_secs(args.duration),
        contribute,
    )
    .await?;
    figures.print(&format!(
        "event_contribute to one community goal (durable), {} connections",
        args.connections
    ));
    let progress = admin_client
        .rpc(
            &admin,
            "event_get_leaderboard",
            json!({"game_id": game, "event_id": "bench", "limit": 100}),
        )
        .await?;
    let total: u64 = progress["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["score"].as_u64())
        .sum();
    println!(
        "  goal total {total}, contributions answered {} ({})",
        answered.load(Ordering::Relaxed),
        if total == answered.load(Ordering::Relaxed) {
            "none lost"
        } else {
            "MISMATCH"
        }
    );
    if let Some(rss) = target.server_rss_kib() {
        println!("server RSS {:.1} MiB", rss as f64 / 1024.0);
    }
    Ok(())
}
