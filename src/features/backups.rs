//! Backups of the whole server, taken while it serves: the admin's `outpost backup create`
//! and the scheduled ones (`backup.interval`, `backup.keep`). The file format lives in
//! [`crate::store::backup`]; this module decides where files go, keeps the server's keys
//! with the database, remembers the last backup and writes the audit log.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::features::moderation::{actor, audit};
use crate::rpc::{Limit, Registry, RpcContext, RpcError};
use crate::store::backup::{self, BackupError, BackupReport};
use crate::store::{Store, StoreError};

/// `sys/backups.last`: the last backup taken of this database.
const BACKUPS: &str = "backups.last";
const LAST: &[u8] = b"last";

/// The last backup, as `outpost status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastBackup {
    /// RFC 3339.
    pub at: String,
    pub path: String,
    pub bytes: u64,
    pub records: u64,
    pub write_pause_ms: f64,
}

pub fn register(r: &mut Registry) {
    r.admin("backup_create", Limit::Write, create_rpc);
    r.admin("backup_list", Limit::Read, list_rpc);
    r.admin("backup_verify", Limit::Read, verify_rpc);
}

/// Where backups go by default: `<data_dir>/backups`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// The small files that travel with the database (the server's keys).
fn companions(data_dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![("secrets.toml", data_dir.join("secrets.toml"))]
}

/// Takes a backup to `out` (default: a new `outpost-<UTC>.bak` in [`dir`]), remembers it
/// and audits it. Blocking: call it off the async threads.
pub fn take(
    store: &Store,
    data_dir: &Path,
    out: Option<PathBuf>,
    actor: &str,
) -> Result<BackupReport, BackupError> {
    let out = out.unwrap_or_else(|| backup::default_path(&dir(data_dir)));
    let out = std::path::absolute(&out).unwrap_or(out);
    let report = backup::create(store, &out, &companions(data_dir))?;
    let last = LastBackup {
        at: report.header.created_at.clone(),
        path: report.path.display().to_string(),
        bytes: report.file_bytes,
        records: report.header.records,
        write_pause_ms: report.write_pause.as_secs_f64() * 1000.0,
    };
    store.global(BACKUPS)?.insert(LAST, &last)?;
    audit::record(
        store,
        actor,
        "backup_create",
        &last.path,
        &format!(
            "{} records, {} bytes, writes paused {:.3} ms",
            last.records, last.bytes, last.write_pause_ms
        ),
    )?;
    store.flush()?;
    Ok(report)
}

pub fn last(store: &Store) -> Result<Option<LastBackup>, StoreError> {
    store.global(BACKUPS)?.get(LAST)
}

impl From<BackupError> for RpcError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Exists { .. } => RpcError::AlreadyExists(e.to_string()),
            BackupError::NotABackup { .. }
            | BackupError::UnsupportedFormat { .. }
            | BackupError::Truncated { .. }
            | BackupError::Corrupted { .. } => RpcError::FailedPrecondition(e.to_string()),
            BackupError::Io { .. } => RpcError::Internal(e.to_string()),
            BackupError::Store(s) => s.into(),
        }
    }
}

/// What a backup taken now reports (the CLI's `backup create` prints it).
pub fn report_json(report: &BackupReport) -> serde_json::Value {
    serde_json::json!({
        "path": report.path,
        "bytes": report.file_bytes,
        "records": report.header.records,
        "trees": report.header.trees.len(),
        "sha256": report.sha256,
        "created_at": report.header.created_at,
        "took_ms": report.took.as_secs_f64() * 1000.0,
        "write_pause_ms": report.write_pause.as_secs_f64() * 1000.0,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {
    /// Accepted and ignored: backups span every game.
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

async fn create_rpc(ctx: RpcContext, _req: NoArgs) -> Result<serde_json::Value, RpcError> {
    let store = ctx.app.store.clone();
    let data_dir = ctx.app.config.server.data_dir.clone();
    let who = actor(&ctx.caller);
    let report = tokio::task::spawn_blocking(move || take(&store, &data_dir, None, &who))
        .await
        .map_err(|e| RpcError::Internal(e.to_string()))??;
    Ok(report_json(&report))
}

async fn list_rpc(ctx: RpcContext, _req: NoArgs) -> Result<serde_json::Value, RpcError> {
    let dir = dir(&ctx.app.config.server.data_dir);
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let found = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || backup::list(&dir)
    })
    .await
    .map_err(|e| RpcError::Internal(e.to_string()))??;
    let rows: Vec<serde_json::Value> = found
        .into_iter()
        .map(|l| {
            let file = l
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match l.header {
                Ok(h) => serde_json::json!({
                    "file": file, "path": l.path, "bytes": l.bytes, "created_at": h.created_at,
                    "server_version": h.server_version, "records": h.records,
                    "trees": h.trees.len(),
                }),
                Err(e) => serde_json::json!({
                    "file": file, "path": l.path, "bytes": l.bytes, "error": e.to_string(),
                }),
            }
        })
        .collect();
    Ok(serde_json::json!({ "dir": dir, "backups": rows }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// A file name in the backups directory (no path: only backups the server keeps).
    file: String,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

async fn verify_rpc(ctx: RpcContext, req: VerifyRequest) -> Result<serde_json::Value, RpcError> {
    let name = req.file.trim();
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err(RpcError::invalid(
            "file: the name of a file in the backups directory, without a path",
        ));
    }
    let path = dir(&ctx.app.config.server.data_dir).join(name);
    if !path.is_file() {
        return Err(RpcError::NotFound(format!(
            "file: no backup named `{name}`"
        )));
    }
    let checked = tokio::task::spawn_blocking(move || backup::verify(&path))
        .await
        .map_err(|e| RpcError::Internal(e.to_string()))??;
    Ok(serde_json::json!({
        "file": name, "path": checked.path, "ok": true, "bytes": checked.file_bytes,
        "sha256": checked.sha256, "records": checked.header.records,
        "trees": checked.header.trees.len(), "created_at": checked.header.created_at,
    }))
}
