//! `wallet`: C connections each send `wallet_update` as a studio server (http key) for D
//! seconds — alternately a credit of 2 and a debit of 1, each flushed to disk before its
//! reply. By default each connection moves its own player's wallet; `--shared` sends every
//! change to one wallet (all transactions contend for one balance).

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde_json::json;

use crate::load::{drive, players, Op, OPEN_LIMITS};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of load after a 2 s warm-up.
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    /// Every connection changes the same wallet.
    #[arg(long)]
    pub shared: bool,
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
    let users: Arc<Vec<String>> =
        Arc::new(players.iter().map(|(_, s)| s.user_id.to_string()).collect());
    let http_key = target.http_key.clone();
    let shared = args.shared;
    let op: Op = Arc::new(move |client, _session, i, n| {
        let user = users[if shared { 0 } else { i }].clone();
        let (game, key) = (game.clone(), http_key.clone());
        Box::pin(async move {
            let delta = if n % 2 == 0 { 2 } else { -1 };
            client
                .rpc_as_server(
                    &key,
                    "wallet_update",
                    json!({"game_id": game, "user_id": user, "changeset": {"coins": delta},
                           "reason": "bench"}),
                )
                .await
                .is_ok()
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
        "wallet_update (durable), {} connections, {} wallet(s)",
        args.connections,
        if shared { 1 } else { args.connections }
    ));
    if let Some(rss) = target.server_rss_kib() {
        println!("server RSS {:.1} MiB", rss as f64 / 1024.0);
    }
    Ok(())
}
