//! `outpost-bench`: the load generator. Each scenario drives a real server over its real
//! protocols (a server it starts itself from the `outpost` binary beside it, or `--url`)
//! and prints figures; nothing here asserts.

mod backup;
mod leaderboard;
mod load;
mod matches;
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
    /// Fill a database to ~1 GB, back it up live (writers running), verify, restore.
    Backup(backup::Args),
    /// M arena matches x P players over QUIC at T Hz: tick p50/p99, jitter, datagrams/s,
    /// RSS per match, connection setup.
    Matches(matches::Args),
    /// A board of 1M records: rank structure in-process, rebuild at start, submits/s and
    /// top-100 / rank / around-me latency over HTTPS.
    Leaderboard(leaderboard::Args),
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.scenario {
            Scenario::Rpc(a) => rpc::run(a).await,
            Scenario::Wallet(a) => wallet::run(a).await,
            Scenario::Storage(a) => storage::run(a).await,
            Scenario::Backup(a) => backup::run(a).await,
            Scenario::Matches(a) => matches::run(a).await,
            Scenario::Leaderboard(a) => leaderboard::run(a).await,
        }
    })
}
