//! `rpc`: C keep-alive HTTPS connections each authenticate a device, then call one RPC in a
//! loop for D seconds. Prints requests/s and latency percentiles.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use serde_json::json;

use crate::report::{histogram, latency_line};
use crate::target::{Target, TargetArgs};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Concurrent keep-alive connections (one player each).
    #[arg(short, long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of load after a 2 s warm-up.
    #[arg(short, long, default_value_t = 10)]
    pub duration: u64,
    /// The RPC to call (with an empty payload).
    #[arg(long, default_value = "health_check")]
    pub rpc: String,
    /// Call as a studio server (http key) instead of as players.
    #[arg(long)]
    pub as_server: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    // The limiter still runs on every call; its quotas are raised so the bench measures the
    // server, not the quota.
    let (target, _) = Target::open(
        &args.target,
        &[
            ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "10000000"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "10000000"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
        ],
        &[],
    )?;
    let warmup = Duration::from_secs(2);
    let run_for = Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    let start_at = Instant::now() + Duration::from_millis(500);
    for i in 0..args.connections {
        let client = target.client()?;
        let rpc = args.rpc.clone();
        let http_key = args.as_server.then(|| target.http_key.clone());
        tasks.push(tokio::spawn(async move {
            let device = format!("bench-device-{i:08}-{}", std::process::id());
            let session = client
                .authenticate_device(&device, true, None, &BTreeMap::new())
                .await?;
            tokio::time::sleep_until(start_at.into()).await;
            let measure_from = start_at + warmup;
            let stop_at = measure_from + run_for;
            let mut h = histogram();
            let mut errors = 0u64;
            loop {
                let t = Instant::now();
                if t >= stop_at {
                    break;
                }
                let ok = match &http_key {
                    Some(k) => client.rpc_as_server(k, &rpc, json!({})).await.is_ok(),
                    None => client.rpc(&session, &rpc, json!({})).await.is_ok(),
                };
                if t >= measure_from {
                    if ok {
                        h.record(t.elapsed().as_micros().max(1) as u64)?;
                    } else {
                        errors += 1;
                    }
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
    let secs = run_for.as_secs_f64();
    println!(
        "rpc {}: {} connections, {:.0} s: {:.0} req/s ({} ok, {} errors)",
        args.rpc,
        args.connections,
        secs,
        all.len() as f64 / secs,
        all.len(),
        errors
    );
    println!("latency {}", latency_line(&all));
    if let Some(rss) = target.server_rss_kib() {
        let peak = target.server_peak_rss_kib().unwrap_or(rss);
        println!(
            "server RSS {:.1} MiB (peak {:.1} MiB)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    Ok(())
}
