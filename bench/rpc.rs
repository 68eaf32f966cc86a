//! `rpc`: C keep-alive HTTPS connections each authenticate a device, then call one RPC in a
//! loop for D seconds. Prints requests/s and latency percentiles.

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde_json::json;

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Concurrent keep-alive connections (one player each).
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of load after a 2 s warm-up.
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    /// The RPC to call (with an empty payload, in the players' session game).
    #[arg(long, default_value = "health_check")]
    pub rpc: String,
    /// Call as a studio server (http key) instead of as players.
    #[arg(long)]
    pub as_server: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (target, games) = Target::open(&args.target, OPEN_LIMITS, &["bench"])?;
    let game = games.first().cloned().unwrap_or_default();
    let players = players(&target, args.connections, &game).await?;
    let rpc = args.rpc.clone();
    let http_key = args.as_server.then(|| target.http_key.clone());
    let op: Op = Arc::new(move |client, session, _, _| {
        let (rpc, http_key) = (rpc.clone(), http_key.clone());
        Box::pin(async move {
            match http_key {
                Some(k) => client.rpc_as_server(&k, &rpc, json!({})).await.is_ok(),
                None => client.rpc(&session, &rpc, json!({})).await.is_ok(),
            }
        })
    });
    let figures = drive(
        &players,
        Duration::from_secs(2),
        Duration::from_secs(args.duration),
        op,
    )
    .await?;
    figures.print(&format!(
        "rpc {} ({} connections)",
        args.rpc, args.connections
    ));
    if let Some(rss) = target.server_rss_kib() {
        let peak = target.server_peak_rss_kib().unwrap_or(rss);
        println!(
            "  server RSS {:.1} MiB (peak {:.1} MiB)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    Ok(())
}
