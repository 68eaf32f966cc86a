//! Backups of the whole server, taken while it serves: the admin's `outpost backup create`
//! and the scheduled ones (`backup.interval`, `backup.keep`). The file format lives in
//! [`crate::store::backup`]; this module decides where files go, keeps the server's keys
//! with the database, remembers the last backup and writes the audit log.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::features::moderation::audit;
use crate::rpc::RpcError;
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
