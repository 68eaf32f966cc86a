//! `storage`: C connections, one player each, write cloud-save objects (`cloud_save_write`,
//! or `PUT /v2/storage` with `--rest`,
//! durable before the reply) for D seconds over K keys each, then read them back
//! (`cloud_save_read`) for D seconds. Values are JSON objects of about `--value-bytes`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use outpost::client::Credentials;
use serde_json::json;

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of writes, then seconds of reads (each after a 2 s warm-up).
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    /// Distinct keys per player.
    #[arg(long, default_value_t = 100)]
    pub keys: u64,
    /// Approximate size of each value.
    #[arg(long, default_value_t = 1024)]
    pub value_bytes: usize,
    /// Write through the Nakama-compatible REST route `PUT /v2/storage` instead of the
    /// `cloud_save_write` RPC (same transaction and flush behind both).
    #[arg(long)]
    pub rest: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (target, games) = Target::open(&args.target, OPEN_LIMITS, &["bench"])?;
    let game = games
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--url targets need a game: use a started server"))?;
    let players = players(&target, args.connections, &game).await?;
    let keys = args.keys.max(1);
    let filler = "x".repeat(args.value_bytes.saturating_sub(40));
    let (g, f) = (game.clone(), filler.clone());
    let rest = args.rest;
    let write: Op = Arc::new(move |client, session, _i, n| {
        let (game, filler) = (g.clone(), f.clone());
        Box::pin(async move {
            if rest {
                let value = json!({"n": n, "filler": filler}).to_string();
                let body = json!({"objects": [{"collection": "bench", "key": format!("k{}", n % keys),
                                               "value": value}]});
                return client
                    .request(
                        reqwest::Method::PUT,
                        "/v2/storage",
                        Credentials::Bearer(&session.token),
                        Some(body.to_string().into_bytes()),
                    )
                    .await
                    .is_ok_and(|r| r.status == 200);
            }
            client
                .rpc(
                    &session,
                    "cloud_save_write",
                    json!({"game_id": game, "collection": "bench", "key": format!("k{}", n % keys),
                           "value": {"n": n, "filler": filler}}),
                )
                .await
                .is_ok()
        })
    });
    let g = game.clone();
    let read: Op = Arc::new(move |client, session, _i, n| {
        let game = g.clone();
        Box::pin(async move {
            client
                .rpc(
                    &session,
                    "cloud_save_read",
                    json!({"game_id": game, "collection": "bench", "key": format!("k{}", n % keys)}),
                )
                .await
                .is_ok()
        })
    });
    let warmup = Duration::from_secs(2);
    let run_for = Duration::from_secs(args.duration);
    let w = drive(&players, warmup, run_for, write).await?;
    w.print(&format!(
        "{} (durable, ~{} B values), {} connections",
        if args.rest {
            "PUT /v2/storage"
        } else {
            "cloud_save_write"
        },
        args.value_bytes,
        args.connections
    ));
    let r = drive(&players, warmup, run_for, read).await?;
    r.print(&format!(
        "cloud_save_read, {} connections",
        args.connections
    ));
    if let Some(rss) = target.server_rss_kib() {
        println!("server RSS {:.1} MiB", rss as f64 / 1024.0);
    }
    Ok(())
}
