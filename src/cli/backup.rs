//! `outpost backup create|list|verify` and `outpost restore`.
//!
//! `create` goes through the running server (which pauses writes only while it copies) or
//! opens the stopped server's database; `list` and `verify` read files only; `restore`
//! needs the server stopped, loads the file into a new directory, and swaps it in only
//! when every count and the checksum agree, keeping the old database aside.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::operate::{operate, print_json, size, text};
use crate::admin::{self, Operation};
use crate::config::Config;
use crate::features::{backups, moderation::audit};
use crate::store::backup;
use crate::store::{Store, StoreError};

#[derive(Subcommand)]
pub enum BackupCmd {
    /// Back up the whole database (and the server's keys) while the server runs.
    Create {
        /// Where to write it (default: <data_dir>/backups/outpost-<UTC time>.bak).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the backups in <data_dir>/backups, newest first.
    List,
    /// Check a backup's header, record counts and checksum (touches no database).
    Verify { file: PathBuf },
}

pub fn run(cfg: &Config, cmd: &BackupCmd, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupCmd::Create { out } => {
            let out = match out {
                Some(p) => Some(std::path::absolute(p).with_context(|| p.display().to_string())?),
                None => None,
            };
            let r = operate(cfg, Operation::BackupCreate { out })?;
            if json {
                print_json(&r)?;
            } else {
                println!("backup   {}", text(&r["path"]));
                println!(
                    "size     {} ({} records in {} trees)",
                    size(r["bytes"].as_u64().unwrap_or(0)),
                    text(&r["records"]),
                    text(&r["trees"])
                );
                println!("sha256   {}", text(&r["sha256"]));
                println!(
                    "took     {:.0} ms; writes were paused {:.3} ms",
                    r["took_ms"].as_f64().unwrap_or(0.0),
                    r["write_pause_ms"].as_f64().unwrap_or(0.0)
                );
            }
        }
        BackupCmd::List => {
            let dir = std::path::absolute(backups::dir(&cfg.server.data_dir))?;
            let found = backup::list(&dir)?;
            let rows: Vec<serde_json::Value> = found
                .into_iter()
                .map(
                    |backup::Listed {
                         path,
                         bytes,
                         header,
                     }| match header {
                        Ok(h) => json!({
                            "path": path, "bytes": bytes, "created_at": h.created_at,
                            "server_version": h.server_version, "records": h.records,
                            "trees": h.trees.len(),
                        }),
                        Err(e) => json!({ "path": path, "bytes": bytes, "error": e.to_string() }),
                    },
                )
                .collect();
            if json {
                print_json(&json!({ "dir": dir, "backups": rows }))?;
            } else if rows.is_empty() {
                println!("no backups in {}", dir.display());
            } else {
                println!("{:<22}  {:>10}  {:>10}  file", "created", "size", "records");
                for r in &rows {
                    if r["error"].is_null() {
                        println!(
                            "{:<22}  {:>10}  {:>10}  {}",
                            text(&r["created_at"]),
                            size(r["bytes"].as_u64().unwrap_or(0)),
                            text(&r["records"]),
                            text(&r["path"])
                        );
                    } else {
                        println!(
                            "{:<22}  {:>10}  {:>10}  {} (unreadable: {})",
                            "?",
                            size(r["bytes"].as_u64().unwrap_or(0)),
                            "?",
                            text(&r["path"]),
                            text(&r["error"])
                        );
                    }
                }
            }
        }
        BackupCmd::Verify { file } => {
            let checked = backup::verify(file)?;
            let h = &checked.header;
            if json {
                print_json(&json!({
                    "path": checked.path, "ok": true, "bytes": checked.file_bytes,
                    "sha256": checked.sha256, "header": h,
                }))?;
            } else {
                println!("{} is a good backup", checked.path.display());
                println!(
                    "created  {} by Outpost {} (format {})",
                    h.created_at, h.server_version, h.format
                );
                println!(
                    "holds    {} records in {} trees, {} file(s); {}",
                    h.records,
                    h.trees.len(),
                    h.files.len(),
                    size(checked.file_bytes)
                );
                println!("sha256   {}", checked.sha256);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `outpost restore FILE [--force]`.
pub fn restore(cfg: &Config, file: &Path, force: bool, json: bool) -> anyhow::Result<ExitCode> {
    let data_dir = &std::path::absolute(&cfg.server.data_dir)?;
    let file = std::path::absolute(file).with_context(|| file.display().to_string())?;
    if admin::connect(&admin::socket_path(data_dir))?.is_some() {
        anyhow::bail!(
            "a server is running on {} (its admin socket answers): stop it first \
             (for example `systemctl stop outpost`), then restore",
            data_dir.display()
        );
    }
    super::operate::refuse_foreign_owner(data_dir)?;
    let had_database = data_dir.join("db").exists();
    // Holding the database keeps a server from starting on it while the file loads.
    let current = match Store::open(data_dir, 0) {
        Ok(s) => s,
        Err(StoreError::Locked { .. }) => anyhow::bail!(
            "a server is running on {}: stop it first (for example `systemctl stop outpost`), \
             then restore",
            data_dir.display()
        ),
        Err(e) => return Err(e.into()),
    };
    let holds_data = current.games().len() + count_accounts(&current)? > 0;
    if holds_data && !force {
        anyhow::bail!(
            "{} already holds a database ({} games, {} accounts); pass --force to replace it \
             (the current one is kept aside, not deleted)",
            data_dir.display(),
            current.games().len(),
            count_accounts(&current)?
        );
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let staging = data_dir.join(format!(".restore-{stamp}"));
    let _ = std::fs::remove_dir_all(&staging);
    let checked = match backup::restore_into(&file, &staging) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(anyhow::anyhow!(e).context("restore refused; nothing was changed"));
        }
    };
    drop(current);

    // Swap: the current database (and keys) go aside, the restored ones take their place.
    let aside = data_dir.join(format!("before-restore-{stamp}"));
    let mut kept = Vec::new();
    let mut moves = vec!["db"];
    moves.extend(checked.header.files.iter().map(|f| f.name.as_str()));
    if !had_database {
        // Only the empty database opened above to take the lock: nothing to keep.
        let _ = std::fs::remove_dir_all(data_dir.join("db"));
    }
    for name in &moves {
        let from = data_dir.join(name);
        if from.exists() {
            std::fs::create_dir_all(&aside)?;
            std::fs::rename(&from, aside.join(name)).with_context(|| {
                format!(
                    "moving {} aside failed; the restored data waits in {} and what was moved \
                     aside so far is in {}: move them into {} by hand",
                    from.display(),
                    staging.display(),
                    aside.display(),
                    data_dir.display()
                )
            })?;
            kept.push(name.to_string());
        }
    }
    for name in &moves {
        let from = staging.join(name);
        if from.exists() {
            std::fs::rename(&from, data_dir.join(name)).with_context(|| {
                format!(
                    "moving the restored {name} into place failed; the previous data is in {} \
                     and the restored data in {}: move one of them into {} by hand",
                    aside.display(),
                    staging.display(),
                    data_dir.display()
                )
            })?;
        }
    }
    let _ = std::fs::remove_dir_all(&staging);

    let restored = Store::open(data_dir, 0)?;
    let aside_text = if kept.is_empty() {
        "no previous database".to_string()
    } else {
        format!("previous data kept in {}", aside.display())
    };
    audit::record(
        &restored,
        "cli",
        "restore",
        &file.display().to_string(),
        &format!("backup of {}, {aside_text}", checked.header.created_at),
    )?;
    restored.flush()?;
    let games = restored.games().len();
    let accounts = count_accounts(&restored)?;
    drop(restored);
    let h = &checked.header;
    if json {
        print_json(&json!({
            "restored": file, "created_at": h.created_at, "records": h.records,
            "trees": h.trees.len(), "games": games, "accounts": accounts,
            "sha256": checked.sha256, "data_dir": data_dir,
            "previous": if kept.is_empty() { None } else { Some(&aside) },
        }))?;
    } else {
        println!("restored {} (taken {})", file.display(), h.created_at);
        println!(
            "into     {}: {} records in {} trees; {games} games, {accounts} accounts",
            data_dir.display(),
            h.records,
            h.trees.len()
        );
        println!("sha256   {} (verified)", checked.sha256);
        println!("{aside_text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn count_accounts(store: &Store) -> Result<usize, StoreError> {
    Ok(store.global(crate::auth::ACCOUNTS)?.len())
}
