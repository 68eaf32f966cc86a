//! The server's keys and token secrets: generated on first run into `<data>/secrets.toml`
//! (mode 0600), fixed by config or `OUTPOST_SERVER_KEY` / `OUTPOST_HTTP_KEY` when given.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Game clients present it (HTTP Basic user) to authenticate.
    pub server_key: String,
    /// Studio servers present it (`?http_key=`) to call server RPCs.
    pub http_key: String,
    pub session_secret: String,
    pub refresh_secret: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(********)")
    }
}

fn random_key(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Loads the secrets file, creating it when absent. Returns the secrets and whether they
/// were just created (the caller prints them once).
pub fn load_or_create(data_dir: &Path) -> std::io::Result<(Secrets, bool)> {
    let path = data_dir.join("secrets.toml");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let s: Secrets = toml::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        return Ok((s, false));
    }
    std::fs::create_dir_all(data_dir)?;
    let s = Secrets {
        server_key: random_key(16),
        http_key: random_key(16),
        session_secret: random_key(32),
        refresh_secret: random_key(32),
    };
    let text = toml::to_string(&s).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path)?;
    f.write_all(
        b"# Outpost secrets: keep private. server_key and http_key may be overridden by config.\n",
    )?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok((s, true))
}
