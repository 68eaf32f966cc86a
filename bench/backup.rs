//! `backup`: fills a database to about `--size-mb`, starts a server on it, and while
//! players keep writing (profile updates) takes a backup through the admin socket with the
//! CLI; then stops the server and restores the file. Prints fill, backup and restore times,
//! the write pause the backup reports, the write latency players saw meanwhile, file and
//! database sizes, and peak RSS of the server and of the restore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use outpost::client::{Client, LocalServer, Trust};
use outpost::store::{Key, Store};
use rand::RngCore;
use serde_json::{json, Value};

use crate::report::{histogram, latency_line, peak_rss_kib};

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Logical data to fill the database with (keys + values), in MiB.
    #[arg(long, default_value_t = 1024)]
    pub size_mb: u64,
    /// Bytes per value (random, so incompressible).
    #[arg(long, default_value_t = 1024)]
    pub value_bytes: usize,
    /// Players writing (profile_update) while the backup runs.
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// Where to put the work directory (default: the system temp dir). It is deleted after.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The `outpost` binary (default: next to this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Fills `data` through the library (faster than RPCs, same on-disk result): a game whose
/// trees hold `size_mb` of records, written by two threads.
fn fill(data: &Path, size_mb: u64, value_bytes: usize) -> anyhow::Result<u64> {
    let store = Store::open(data, 1000)?;
    let game = store.create_game("bench", Default::default())?;
    let game = store.game(game.id)?;
    let per_record = (value_bytes + 9) as u64;
    let records = size_mb * 1024 * 1024 / per_record;
    let threads = 2u64;
    let mut handles = Vec::new();
    for t in 0..threads {
        let tree = game.tree(&format!("bench.fill{t}"))?;
        handles.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let mut rng = rand::thread_rng();
            let mut value = vec![0u8; value_bytes];
            for i in (t..records).step_by(threads as usize) {
                rng.fill_bytes(&mut value);
                tree.insert_raw(Key::new().u64(i), &value)?;
            }
            Ok(())
        }));
    }
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("fill thread panicked"))??;
    }
    store.flush()?;
    Ok(records)
}

/// Runs `outpost --data-dir data <args>` in `dir` off the async threads, sampling its peak
/// RSS; returns (stdout, wall time, peak KiB).
async fn outpost(
    binary: &Path,
    dir: &Path,
    args: &[&str],
) -> anyhow::Result<(String, Duration, u64)> {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir).args(["--data-dir", "data"]).args(args);
    tokio::task::spawn_blocking(move || run_measured(&mut cmd)).await?
}

/// Runs a command to completion, sampling its peak RSS; returns (stdout, wall time, peak KiB).
fn run_measured(cmd: &mut Command) -> anyhow::Result<(String, Duration, u64)> {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(s) = child.try_wait()? {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out)?;
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err)?;
    }
    anyhow::ensure!(status.success(), "{cmd:?} failed: {out}{err}");
    Ok((out, took, peak))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("outpost"),
    };
    let work = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let data = work.path().join("data");

    // 1. Fill.
    let t = Instant::now();
    let (size_mb, value_bytes) = (args.size_mb, args.value_bytes);
    let data_for_fill = data.clone();
    let records =
        tokio::task::spawn_blocking(move || fill(&data_for_fill, size_mb, value_bytes)).await??;
    let fill_took = t.elapsed();
    let db_bytes = dir_bytes(&data.join("db"));
    println!(
        "fill: {records} records of {value_bytes} B ({size_mb} MiB of data) in {:.1} s; database {:.0} MiB on disk",
        fill_took.as_secs_f64(),
        mib(db_bytes)
    );

    // 2. Serve it, with players writing.
    let server = LocalServer::start(
        &binary,
        work.path(),
        &[
            ("OUTPOST_SERVER_KEY", "bench-server-key"),
            ("OUTPOST_HTTP_KEY", "bench-http-key"),
            ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "10000000"),
            ("OUTPOST_RATE_LIMIT_WRITE_BURST", "10000000"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
        ],
    )?;
    let server_pid = server.pid().unwrap_or(0);
    let games: Value = serde_json::from_str(
        &server
            .cli(&["--data-dir", "data", "--json", "game", "list"])
            .1,
    )?;
    let game = games["games"][0]["game_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rss_before = crate::report::rss_kib(server_pid).unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for i in 0..args.writers {
        let client = Client::new(
            &server.https,
            "bench-server-key",
            Trust::Pem(&server.cert_pem),
            true,
        )?;
        let (stop, measuring, game) = (stop.clone(), measuring.clone(), game.clone());
        writers.push(tokio::spawn(async move {
            let session = client
                .authenticate_device(
                    &format!("bench-writer-{i:06}"),
                    true,
                    None,
                    &BTreeMap::new(),
                )
                .await?;
            let mut h = histogram();
            let mut n = 0u64;
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = client
                    .rpc(
                        &session,
                        "profile_update",
                        json!({"game_id": game, "display_name": format!("writer {i} {n}")}),
                    )
                    .await
                    .is_ok();
                n += 1;
                if measuring.load(Ordering::Relaxed) {
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
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 3. Back up through the admin socket while they write.
    measuring.store(true, Ordering::Relaxed);
    let file = work.path().join("bench.bak");
    let file_arg = file.to_str().unwrap_or_default();
    let (out, backup_took, _) = outpost(
        &binary,
        work.path(),
        &["--json", "backup", "create", "--out", file_arg],
    )
    .await?;
    measuring.store(false, Ordering::Relaxed);
    let reply: Value = serde_json::from_str(&out)?;
    stop.store(true, Ordering::Relaxed);
    let mut during = histogram();
    let mut errors = 0;
    for w in writers {
        let (h, e) = w.await??;
        during.add(&h)?;
        errors += e;
    }
    let server_peak = peak_rss_kib(server_pid).unwrap_or(0);
    let file_bytes = reply["bytes"].as_u64().unwrap_or(0);
    println!(
        "backup: {:.2} s wall (CLI), {:.2} s in the server; {} records, file {:.0} MiB ({:.0} MiB/s)",
        backup_took.as_secs_f64(),
        reply["took_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        reply["records"],
        mib(file_bytes),
        mib(file_bytes) / backup_took.as_secs_f64()
    );
    println!(
        "write pause: {:.3} ms (writes held while the point-in-time capture started)",
        reply["write_pause_ms"].as_f64().unwrap_or(0.0)
    );
    println!(
        "writes during the backup: {} ok, {} errors; latency {}",
        during.len(),
        errors,
        latency_line(&during)
    );
    println!(
        "server RSS: {:.0} MiB before the backup, peak {:.0} MiB",
        rss_before as f64 / 1024.0,
        server_peak as f64 / 1024.0
    );

    // 4. Verify, then restore into the stopped server's data dir.
    let mut server = server;
    server.stop();
    let (_, verify_took, verify_peak) =
        outpost(&binary, work.path(), &["backup", "verify", file_arg]).await?;
    println!(
        "verify: {:.2} s, peak RSS {:.0} MiB",
        verify_took.as_secs_f64(),
        verify_peak as f64 / 1024.0
    );
    let (out, restore_took, restore_peak) = outpost(
        &binary,
        work.path(),
        &["--json", "restore", "--force", file_arg],
    )
    .await?;
    let restored: Value = serde_json::from_str(&out)?;
    println!(
        "restore: {:.2} s ({} records), peak RSS {:.0} MiB; restored database {:.0} MiB on disk",
        restore_took.as_secs_f64(),
        restored["records"],
        restore_peak as f64 / 1024.0,
        mib(dir_bytes(&data.join("db")))
    );
    Ok(())
}
