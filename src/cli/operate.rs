//! How an admin command reaches the data: through a running server's admin socket, or —
//! when no server answers there — by opening the database directly. Either way the same
//! [`admin::perform`] runs, so the reply (and what the CLI prints from it) is the same.

use anyhow::Context;
use serde_json::Value;

use crate::admin::{self, Mode, Operation};
use crate::app::App;
use crate::auth::Secrets;
use crate::config::Config;

/// Runs `op` on the server for `cfg`'s data dir.
pub fn operate(cfg: &Config, op: Operation) -> anyhow::Result<Value> {
    let socket = admin::socket_path(&cfg.server.data_dir);
    if let Some(mut stream) = admin::connect(&socket)? {
        let answer = admin::ask(&mut stream, &op)
            .with_context(|| format!("admin socket {}", socket.display()))?;
        return answer.into_result().map_err(anyhow::Error::msg);
    }
    direct(cfg, op)
}

/// Refuses to work as root on a data dir that belongs to another user (the service's):
/// files root created there would lock the server out of its own database.
pub fn refuse_foreign_owner(data_dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(data_dir) else {
        return Ok(());
    };
    let me = unsafe { libc::geteuid() };
    if me == 0 && meta.uid() != 0 {
        anyhow::bail!(
            "{} belongs to uid {}, not root: run this as that user so the server can still \
             write what it creates (for example `sudo -u outpost outpost ...`)",
            data_dir.display(),
            meta.uid()
        );
    }
    Ok(())
}

/// No server runs: open the database (refused plainly if a server holds it after all).
fn direct(cfg: &Config, op: Operation) -> anyhow::Result<Value> {
    let data_dir = &cfg.server.data_dir;
    refuse_foreign_owner(data_dir)?;
    let store = crate::server::open_store(data_dir, cfg.storage.flush_every_ms)?;
    // Admin operations issue and check no tokens; keys are read when present and never
    // created here, so the first `outpost serve` still generates and prints them.
    let secrets = if data_dir.join("secrets.toml").exists() {
        crate::auth::secrets::load_or_create(data_dir)?.0
    } else {
        Secrets {
            server_key: String::new(),
            http_key: String::new(),
            session_secret: String::new(),
            refresh_secret: String::new(),
        }
    };
    let app = App::new(cfg.clone(), store.clone(), secrets)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(admin::perform(&app, op, Mode::Direct));
    store.flush()?;
    result.map_err(|e| anyhow::anyhow!(e.to_string()))
}

/// Prints a reply as pretty JSON (for `--json`).
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A JSON field as text for tables (`-` when absent).
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Bytes in a human unit.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
