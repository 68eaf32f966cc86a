//! `outpost-bench`: the load generator. Each scenario drives a real server over its real
//! protocols (a server it starts itself from the `outpost` binary beside it, or `--url`)
//! and prints figures; nothing here asserts.

mod analytics;
mod backup;
mod leaderboard;
mod liveops;
mod load;
mod matches;
mod matchmaking;
mod mixed;
mod report;
mod rpc;
mod storage;
mod target;
mod wallet;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "outpost-bench", about = "Load generator for Outpost")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// C keep-alive HTTPS connections authenticate, then loop one RPC for D seconds.
    Rpc(rpc::Args),
    /// C connections send durable wallet credits and debits for D seconds.
    Wallet(wallet::Args),
    /// C players write cloud-save objects for D seconds, then read them for D seconds.
    Storage(storage::Args),
    /// C players ingest analytics events (100 per call), then fetch remote config.
    Analytics(analytics::Args),
    /// Fill a database to ~1 GB, back it up live (writers running), verify, restore.
    Backup(backup::Args),
    /// M arena matches x P players over QUIC at T Hz: tick p50/p99, jitter, datagrams/s,
    /// RSS per match, connection setup.
    Matches(matches::Args),
    /// N QUIC players at once: some in arena matches at T Hz, the rest in the lobby with
    /// global chat and presence polling; server CPU, RSS and tick figures.
    Mixed(mixed::Args),
    /// C connections report achievement progress (durable), then add to one community goal.
    Liveops(liveops::Args),
    /// Matching pass over 100,000 tickets, tickets/s admitted over HTTPS, memory per
    /// ticket, quality and waits of a simulated population.
    Matchmaking(matchmaking::Args),
    /// A board of 1M records: rank structure in-process, rebuild at start, submits/s and
    /// top-100 / rank / around-me latency over HTTPS.
    Leaderboard(leaderboard::Args),
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // The load generator's own log (its QUIC client), for a diagnosing run:
    // `OUTPOST_BENCH_LOG=quinn_proto=trace`.
    if let Ok(filter) = std::env::var("OUTPOST_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.scenario {
            Scenario::Rpc(a) => rpc::run(a).await,
            Scenario::Wallet(a) => wallet::run(a).await,
            Scenario::Storage(a) => storage::run(a).await,
            Scenario::Backup(a) => backup::run(a).await,
            Scenario::Analytics(a) => analytics::run(a).await,
            Scenario::Matches(a) => matches::run(a).await,
            Scenario::Mixed(a) => mixed::run(a).await,
            Scenario::Liveops(a) => liveops::run(a).await,
            Scenario::Matchmaking(a) => matchmaking::run(a).await,
            Scenario::Leaderboard(a) => leaderboard::run(a).await,
        }
    })
}
