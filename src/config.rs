//! Configuration: defaults < `outpost.toml` < `OUTPOST_*` environment < command-line flags,
//! validated once at load. Every key is listed in [`KEYS`]; anything else in the file or
//! the environment is reported as unknown.

mod console;
pub use console::ConsoleConfig;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod http;
pub use http::HttpConfig;
mod insight;
pub use insight::{AnalyticsConfig, ModerationConfig};
mod matchmaking;
pub use matchmaking::MatchmakingConfig;
mod leagues;
pub use leagues::LeaguesConfig;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub storage: StorageConfig,
    pub backup: BackupConfig,
    pub log: LogConfig,
    pub realtime: RealtimeConfig,
    pub http: HttpConfig,
    pub analytics: AnalyticsConfig,
    pub moderation: ModerationConfig,
    pub matchmaking: MatchmakingConfig,
    pub leagues: LeaguesConfig,
    pub console: ConsoleConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// HTTPS listen address.
    pub listen: String,
    /// Optional plain-HTTP listener for running behind a TLS-terminating reverse proxy.
    pub plain_http_listen: Option<String>,
    pub data_dir: PathBuf,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The game Nakama-style endpoints act on when the session names none.
    pub default_game_id: Option<String>,
    /// Reverse proxies (addresses or address/prefix) whose `X-Forwarded-For` names the
    /// client; the sign-in rate limit is then per client, not per proxy.
    pub trusted_proxies: Vec<String>,
    /// Lets admins move a game's clock forward (`dev_clock_advance`) to test resets,
    /// season ends and events. Never on a live game.
    pub dev_mode: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "0.0.0.0:7350".into(),
            plain_http_listen: None,
            data_dir: PathBuf::from("./data"),
            shutdown_grace_secs: 10,
            max_body_bytes: 256 * 1024,
            default_game_id: None,
            trusted_proxies: Vec::new(),
            dev_mode: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// PEM certificate chain. Unset: a self-signed certificate in `cert_dir`.
    pub cert: Option<PathBuf>,
    /// PEM private key, with `cert`.
    pub key: Option<PathBuf>,
    /// Where the self-signed development certificate is created.
    pub cert_dir: PathBuf,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: None,
            key: None,
            cert_dir: PathBuf::from("./certs"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Key game clients present (HTTP Basic) to authenticate. Unset: generated on first run.
    pub server_key: Option<String>,
    /// Key studio servers present (`?http_key=`) to call server RPCs. Unset: generated.
    pub http_key: Option<String>,
    pub session_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// Password hashes (argon2id, about 19 MiB and tens of ms each) computed at once.
    /// 0: the number of CPU cores.
    pub max_concurrent_hashes: usize,
    /// Sign-ins that may wait for a hashing slot; beyond them 429 with `Retry-After`.
    pub max_queued_hashes: usize,
    /// Wrong passwords for one account within `failed_login_window_secs` before its
    /// sign-ins are refused (429) for the rest of the window.
    pub failed_logins_per_account: u32,
    /// Wrong passwords from one client address within the window before its sign-ins are
    /// refused (429) for the rest of the window.
    pub failed_logins_per_ip: u32,
    pub failed_login_window_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            server_key: None,
            http_key: None,
            session_ttl_secs: 2 * 3600,
            refresh_ttl_secs: 30 * 24 * 3600,
            max_concurrent_hashes: 0,
            max_queued_hashes: 16,
            failed_logins_per_account: 10,
            failed_logins_per_ip: 50,
            failed_login_window_secs: 900,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Authentication attempts per second per client IP, and the burst allowed.
    pub auth_per_sec: u32,
    pub auth_burst: u32,
    /// Read RPCs per second per user, and burst.
    pub read_per_sec: u32,
    pub read_burst: u32,
    /// Write RPCs per second per user, and burst.
    pub write_per_sec: u32,
    pub write_burst: u32,
    /// Most keys (users or IPs) tracked per class before the oldest idle ones are dropped.
    pub max_keys: usize,
    /// Server callers (http key) are not limited.
    pub exempt_server: bool,
    /// Requests per second per client address on routes without a user (`/healthcheck`,
    /// `/metrics`), and burst.
    pub ip_per_sec: u32,
    pub ip_burst: u32,
    /// New accounts per hour per client address, and burst.
    pub accounts_per_ip_per_hour: u32,
    pub accounts_per_ip_burst: u32,
    /// Wrong server keys and http keys from one client address within
    /// `bad_key_window_secs` before every key it sends is refused (429) for the rest of it.
    pub bad_keys_per_ip: u32,
    pub bad_key_window_secs: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            auth_per_sec: 10,
            auth_burst: 100,
            read_per_sec: 100,
            read_burst: 200,
            write_per_sec: 30,
            write_burst: 60,
            max_keys: 100_000,
            exempt_server: true,
            ip_per_sec: 20,
            ip_burst: 40,
            accounts_per_ip_per_hour: 60,
            accounts_per_ip_burst: 20,
            bad_keys_per_ip: 20,
            bad_key_window_secs: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// Periodic flush of writes that are not flushed before their reply.
    pub flush_every_ms: u64,
    /// Largest value of one cloud-save / storage object, in bytes of JSON.
    pub max_object_bytes: usize,
    /// Most cloud-save / storage objects one player keeps in one game.
    pub max_objects_per_user: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            flush_every_ms: 100,
            max_object_bytes: 64 * 1024,
            max_objects_per_user: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupConfig {
    /// How often the server backs itself up into `<data_dir>/backups`, like `6h` or `1d`
    /// (a number is seconds). Unset: no scheduled backups.
    #[serde(deserialize_with = "duration_text")]
    pub interval: Option<String>,
    /// How many `outpost-*.bak` files to keep in `<data_dir>/backups`; older ones are pruned
    /// after each scheduled backup.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            interval: None,
            keep: 7,
        }
    }
}

impl BackupConfig {
    /// The schedule's period, when one is configured (validated at load).
    pub fn every(&self) -> Option<std::time::Duration> {
        let text = self.interval.as_deref()?;
        crate::time::parse_duration(text)
            .ok()
            .map(|s| std::time::Duration::from_secs(s as u64))
    }
}

/// A duration given as text (`24h`) or as a number of seconds.
fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Seconds(i64),
    }
    Ok(match Option::<Given>::deserialize(d)? {
        Some(Given::Text(t)) if t.trim().is_empty() => None,
        Some(Given::Text(t)) => Some(t),
        Some(Given::Seconds(n)) => Some(format!("{n}s")),
        None => None,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` (for a terminal) or `json` (for journald and log shippers).
    pub format: String,
    /// A tracing filter: `info`, `outpost=debug,warn`, …
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info,warp=warn,hyper=warn".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RealtimeConfig {
    /// QUIC listen address (UDP). Empty: the HTTPS address and port number.
    pub listen: String,
    /// Host name handed to clients by the room RPCs. Unset: the listen address, or
    /// `localhost` when that is unspecified (0.0.0.0).
    pub public_host: Option<String>,
    /// Most authenticated connections (after `hello`); more are closed with 13 SERVER_FULL.
    pub max_connections: usize,
    /// Connections of one client address (IPv6: per /64) between the start of the QUIC
    /// handshake and a successful `hello`; more are refused at the handshake.
    pub max_pending_per_ip: usize,
    /// Live connections of one user; more are refused after `hello` with 8 REFUSED.
    pub max_connections_per_user: usize,
    pub idle_timeout_secs: u64,
    pub keep_alive_secs: u64,
    /// Largest control-stream frame body, in bytes.
    pub max_frame_bytes: usize,
    /// Frames queued for a client before it is dropped as too slow.
    pub send_queue: usize,
    /// Control-stream frames per second per connection, and burst.
    pub messages_per_sec: u32,
    pub messages_burst: u32,
    /// Datagrams per second per connection, and burst.
    pub datagrams_per_sec: u32,
    pub datagrams_burst: u32,
    /// Chat lines per second per user (all their connections together), and burst.
    pub chat_per_sec: u32,
    pub chat_burst: u32,
    /// Global-chat lines per second of one game (everyone together), and burst: a global
    /// line goes to every connected player of the game.
    pub global_chat_per_sec: u32,
    pub global_chat_burst: u32,
    pub chat_max_chars: usize,
    /// Extra words for the profanity filter, comma-separated.
    pub profanity_extra: String,
    /// Default tick rate of a match (Hz, 10–60).
    pub tick_hz: u32,
    /// Seconds an empty match lives before it ends.
    pub empty_grace_secs: u64,
    /// Seconds a room join ticket stays valid.
    pub ticket_ttl_secs: u64,
    /// Most live matches on this node.
    pub max_matches: usize,
    /// Most live matches one player may have created (QUIC `match_create` or `room_create`).
    pub max_matches_per_user: usize,
    /// Most live matches created from one client address (IPv6: per /64).
    pub max_matches_per_ip: usize,
    /// Largest `data` of one relayed `match_data` message, in bytes.
    pub max_relay_bytes: usize,
    /// Distinct players a match created by a player must have had for its result to move
    /// profile stats (matches, wins, kills, deaths); fewer and the result is stored only.
    pub min_players_for_stats: usize,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            listen: String::new(),
            public_host: None,
            max_connections: 5000,
            max_pending_per_ip: 16,
            max_connections_per_user: 4,
            idle_timeout_secs: 30,
            keep_alive_secs: 5,
            max_frame_bytes: 64 * 1024,
            send_queue: 256,
            messages_per_sec: 50,
            messages_burst: 100,
            datagrams_per_sec: 120,
            datagrams_burst: 240,
            chat_per_sec: 2,
            chat_burst: 5,
            global_chat_per_sec: 10,
            global_chat_burst: 20,
            chat_max_chars: 280,
            profanity_extra: String::new(),
            tick_hz: 30,
            empty_grace_secs: 30,
            ticket_ttl_secs: 30,
            max_matches: 10_000,
            max_matches_per_user: 4,
            max_matches_per_ip: 64,
            max_relay_bytes: 4096,
            min_players_for_stats: 2,
        }
    }
}

/// Every configuration key, as (section, key). The environment variable of a key is
/// `OUTPOST_<SECTION>_<KEY>` in upper case.
pub const KEYS: &[(&str, &str)] = &[
    ("server", "listen"),
    ("server", "plain_http_listen"),
    ("server", "data_dir"),
    ("server", "shutdown_grace_secs"),
    ("server", "max_body_bytes"),
    ("server", "default_game_id"),
    ("server", "trusted_proxies"),
    ("server", "dev_mode"),
    ("tls", "cert"),
    ("tls", "key"),
    ("tls", "cert_dir"),
    ("auth", "server_key"),
    ("auth", "http_key"),
    ("auth", "session_ttl_secs"),
    ("auth", "refresh_ttl_secs"),
    ("auth", "max_concurrent_hashes"),
    ("auth", "max_queued_hashes"),
    ("auth", "failed_logins_per_account"),
    ("auth", "failed_logins_per_ip"),
    ("auth", "failed_login_window_secs"),
    ("rate_limit", "auth_per_sec"),
    ("rate_limit", "auth_burst"),
    ("rate_limit", "read_per_sec"),
    ("rate_limit", "read_burst"),
    ("rate_limit", "write_per_sec"),
    ("rate_limit", "write_burst"),
    ("rate_limit", "max_keys"),
    ("rate_limit", "exempt_server"),
    ("rate_limit", "ip_per_sec"),
    ("rate_limit", "ip_burst"),
    ("rate_limit", "accounts_per_ip_per_hour"),
    ("rate_limit", "accounts_per_ip_burst"),
    ("rate_limit", "bad_keys_per_ip"),
    ("rate_limit", "bad_key_window_secs"),
    ("storage", "flush_every_ms"),
    ("storage", "max_object_bytes"),
    ("storage", "max_objects_per_user"),
    ("backup", "interval"),
    ("backup", "keep"),
    ("log", "format"),
    ("log", "level"),
    ("http", "max_connections"),
    ("http", "max_connections_per_ip"),
    ("http", "header_read_timeout_secs"),
    ("http", "body_read_timeout_secs"),
    ("http", "idle_timeout_secs"),
    ("http", "h2_max_concurrent_streams"),
    ("http", "metrics_listen"),
    ("console", "enabled"),
    ("console", "listen"),
    ("realtime", "listen"),
    ("realtime", "public_host"),
    ("realtime", "max_connections"),
    ("realtime", "max_pending_per_ip"),
    ("realtime", "max_connections_per_user"),
    ("realtime", "idle_timeout_secs"),
    ("realtime", "keep_alive_secs"),
    ("realtime", "max_frame_bytes"),
    ("realtime", "send_queue"),
    ("realtime", "messages_per_sec"),
    ("realtime", "messages_burst"),
    ("realtime", "datagrams_per_sec"),
    ("realtime", "datagrams_burst"),
    ("realtime", "chat_per_sec"),
    ("realtime", "chat_burst"),
    ("realtime", "global_chat_per_sec"),
    ("realtime", "global_chat_burst"),
    ("realtime", "chat_max_chars"),
    ("realtime", "profanity_extra"),
    ("realtime", "tick_hz"),
    ("realtime", "empty_grace_secs"),
    ("realtime", "ticket_ttl_secs"),
    ("realtime", "max_matches"),
    ("realtime", "max_matches_per_user"),
    ("realtime", "max_matches_per_ip"),
    ("realtime", "max_relay_bytes"),
    ("realtime", "min_players_for_stats"),
    ("analytics", "retention_days"),
    ("moderation", "auto_ban_reporters"),
    ("moderation", "auto_ban_window"),
    ("moderation", "auto_ban_duration"),
    ("moderation", "auto_ban_cooldown"),
    ("moderation", "reports_per_hour"),
    ("matchmaking", "interval_ms"),
    ("matchmaking", "accept_timeout_secs"),
    ("matchmaking", "max_tickets"),
    ("matchmaking", "recent_opponents"),
    ("matchmaking", "recent_opponents_hours"),
    ("leagues", "cohort_size"),
];

/// Short environment names kept for convenience.
const ENV_ALIASES: &[(&str, (&str, &str))] = &[
    ("OUTPOST_SERVER_KEY", ("auth", "server_key")),
    ("OUTPOST_HTTP_KEY", ("auth", "http_key")),
    ("OUTPOST_DATA_DIR", ("server", "data_dir")),
];

/// Environment variables that are not configuration keys but are ours all the same.
const ENV_OTHER: &[&str] = &["OUTPOST_CONFIG", "OUTPOST_LOG"];

const SECRET_KEYS: &[(&str, &str)] = &[("auth", "server_key"), ("auth", "http_key")];

/// Values given on the command line, applied last.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// A loaded configuration and what was noticed while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: Option<PathBuf>,
    /// Keys in the file and `OUTPOST_*` variables that mean nothing to Outpost.
    pub unknown: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {err}")]
    Read { path: String, err: String },
    #[error("config file {path} is not valid TOML: {err}")]
    Parse { path: String, err: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

fn env_name(section: &str, key: &str) -> String {
    format!("OUTPOST_{}_{}", section.to_uppercase(), key.to_uppercase())
}

/// An environment value as TOML: numbers and booleans where the key's default is one,
/// text everywhere else (so `OUTPOST_SERVER_KEY=12345678` stays a key, not a number).
fn env_value(section: &str, key: &str, raw: &str) -> toml::Value {
    let text = || toml::Value::String(raw.to_string());
    let defaults = toml::Value::try_from(Config::default()).unwrap_or(toml::Value::Boolean(false));
    let default = defaults.get(section).and_then(|s| s.get(key));
    if let Some(toml::Value::Array(_)) = default {
        return toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| toml::Value::String(x.to_string()))
                .collect(),
        );
    }
    let typed = matches!(
        default,
        Some(toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_))
    );
    if !typed {
        return text();
    }
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").unwrap_or_else(text),
        Err(_) => text(),
    }
}

fn set(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        t.insert(key.to_string(), value);
    }
}

/// Loads the configuration: `path` (or `./outpost.toml` if it exists), then the
/// environment given as `env`, then `flags`.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &Overrides,
) -> Result<Loaded, ConfigError> {
    let mut unknown = Vec::new();
    let source = match path {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = PathBuf::from("outpost.toml");
            default.exists().then_some(default)
        }
    };
    let mut table = match &source {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                path: p.display().to_string(),
                err: e.to_string(),
            })?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    err: e.to_string(),
                })?
        }
        None => toml::Table::new(),
    };
    // Report and drop what the file holds that no key names.
    let sections: Vec<String> = table.keys().cloned().collect();
    for section in sections {
        match table.get_mut(&section) {
            Some(toml::Value::Table(inner)) => {
                let keys: Vec<String> = inner.keys().cloned().collect();
                for key in keys {
                    if !KEYS.contains(&(section.as_str(), key.as_str())) {
                        unknown.push(format!("{section}.{key} (in the config file)"));
                        inner.remove(&key);
                    }
                }
            }
            _ => {
                unknown.push(format!("{section} (in the config file)"));
                table.remove(&section);
            }
        }
    }
    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("OUTPOST_"))
        .collect();
    env.sort();
    for (name, raw) in env {
        if let Some((_, (s, k))) = ENV_ALIASES.iter().find(|(n, _)| *n == name) {
            set(&mut table, s, k, env_value(s, k, &raw));
        } else if let Some((s, k)) = KEYS.iter().find(|(s, k)| env_name(s, k) == name) {
            set(&mut table, s, k, env_value(s, k, &raw));
        } else if !ENV_OTHER.contains(&name.as_str()) {
            unknown.push(format!("{name} (environment)"));
        }
    }
    if let Some(d) = &flags.data_dir {
        set(
            &mut table,
            "server",
            "data_dir",
            toml::Value::String(d.display().to_string()),
        );
    }
    if let Some(l) = &flags.listen {
        set(
            &mut table,
            "server",
            "listen",
            toml::Value::String(l.clone()),
        );
    }
    let config: Config = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
    config.validate()?;
    Ok(Loaded {
        config,
        source,
        unknown,
    })
}

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return bad(format!(
                "server.listen `{}` is not an ADDRESS:PORT",
                self.server.listen
            ));
        }
        if let Some(p) = &self.server.plain_http_listen {
            if p.parse::<SocketAddr>().is_err() {
                return bad(format!(
                    "server.plain_http_listen `{p}` is not an ADDRESS:PORT"
                ));
            }
        }
        if let Some(g) = &self.server.default_game_id {
            if uuid::Uuid::parse_str(g).is_err() {
                return bad(format!("server.default_game_id `{g}` is not a UUID"));
            }
        }
        for p in &self.server.trusted_proxies {
            if let Err(e) = p.parse::<crate::http::proxy::Cidr>() {
                return bad(format!("server.trusted_proxies: {e}"));
            }
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes must be at least 1024".into());
        }
        if self.storage.max_object_bytes < 64 {
            return bad("storage.max_object_bytes must be at least 64".into());
        }
        if self.storage.max_objects_per_user < 1 {
            return bad("storage.max_objects_per_user must be at least 1".into());
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key must be given together".into());
        }
        if self.auth.session_ttl_secs < 60 {
            return bad("auth.session_ttl_secs must be at least 60".into());
        }
        if self.auth.refresh_ttl_secs < self.auth.session_ttl_secs {
            return bad("auth.refresh_ttl_secs must be at least auth.session_ttl_secs".into());
        }
        for (name, key) in [
            ("auth.server_key", &self.auth.server_key),
            ("auth.http_key", &self.auth.http_key),
        ] {
            if let Some(k) = key {
                if k.len() < 8 || k.contains(':') {
                    return bad(format!(
                        "{name} must be at least 8 characters and contain no `:`"
                    ));
                }
            }
        }
        let rl = &self.rate_limit;
        for (name, v) in [
            ("auth_per_sec", rl.auth_per_sec),
            ("auth_burst", rl.auth_burst),
            ("read_per_sec", rl.read_per_sec),
            ("read_burst", rl.read_burst),
            ("write_per_sec", rl.write_per_sec),
            ("write_burst", rl.write_burst),
            ("ip_per_sec", rl.ip_per_sec),
            ("ip_burst", rl.ip_burst),
            ("accounts_per_ip_per_hour", rl.accounts_per_ip_per_hour),
            ("accounts_per_ip_burst", rl.accounts_per_ip_burst),
            ("bad_keys_per_ip", rl.bad_keys_per_ip),
            ("bad_key_window_secs", rl.bad_key_window_secs.min(1) as u32),
        ] {
            if v == 0 {
                return bad(format!("rate_limit.{name} must be at least 1"));
            }
        }
        if let Some(i) = &self.backup.interval {
            if let Err(e) = crate::time::parse_duration(i) {
                return bad(format!("backup.interval: {e}"));
            }
        }
        for (name, v) in [
            (
                "failed_logins_per_account",
                self.auth.failed_logins_per_account as u64,
            ),
            (
                "failed_logins_per_ip",
                self.auth.failed_logins_per_ip as u64,
            ),
            (
                "failed_login_window_secs",
                self.auth.failed_login_window_secs,
            ),
        ] {
            if v == 0 {
                return bad(format!("auth.{name} must be at least 1"));
            }
        }
        self.http.validate()?;
        if self.backup.keep == 0 {
            return bad("backup.keep must be at least 1".into());
        }
        self.validate_realtime()?;
        insight::validate(&self.analytics, &self.moderation)?;
        self.matchmaking.validate().map_err(ConfigError::Invalid)?;
        self.leagues.validate().map_err(ConfigError::Invalid)?;
        self.validate_console()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad(format!(
                "log.format `{}` must be `text` or `json`",
                self.log.format
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad(format!(
                "log.level `{}` is not a valid filter",
                self.log.level
            ));
        }
        Ok(())
    }

    fn validate_console(&self) -> Result<(), ConfigError> {
        self.console.validate().map_err(ConfigError::Invalid)
    }

    fn validate_realtime(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let rt = &self.realtime;
        if !rt.listen.is_empty() && rt.listen.parse::<SocketAddr>().is_err() {
            return bad(format!(
                "realtime.listen `{}` is not an ADDRESS:PORT",
                rt.listen
            ));
        }
        if !(10..=60).contains(&rt.tick_hz) {
            return bad("realtime.tick_hz must be between 10 and 60".into());
        }
        if !(1024..=16 * 1024 * 1024).contains(&rt.max_frame_bytes) {
            return bad("realtime.max_frame_bytes must be between 1024 and 16777216".into());
        }
        if rt.idle_timeout_secs == 0 || rt.keep_alive_secs >= rt.idle_timeout_secs {
            return bad(
                "realtime.keep_alive_secs must be below realtime.idle_timeout_secs (at least 1)"
                    .into(),
            );
        }
        for (name, v) in [
            ("max_connections", rt.max_connections),
            ("max_pending_per_ip", rt.max_pending_per_ip),
            ("max_connections_per_user", rt.max_connections_per_user),
            ("max_matches_per_ip", rt.max_matches_per_ip),
            ("global_chat_per_sec", rt.global_chat_per_sec as usize),
            ("global_chat_burst", rt.global_chat_burst as usize),
            ("send_queue", rt.send_queue),
            ("chat_max_chars", rt.chat_max_chars),
            ("max_matches", rt.max_matches),
            ("max_matches_per_user", rt.max_matches_per_user),
            ("max_relay_bytes", rt.max_relay_bytes),
            ("messages_per_sec", rt.messages_per_sec as usize),
            ("messages_burst", rt.messages_burst as usize),
            ("datagrams_per_sec", rt.datagrams_per_sec as usize),
            ("datagrams_burst", rt.datagrams_burst as usize),
            ("chat_per_sec", rt.chat_per_sec as usize),
            ("chat_burst", rt.chat_burst as usize),
            ("ticket_ttl_secs", rt.ticket_ttl_secs as usize),
        ] {
            if v == 0 {
                return bad(format!("realtime.{name} must be at least 1"));
            }
        }
        Ok(())
    }

    /// Where QUIC listens: `realtime.listen`, else the HTTPS address with `https_port`
    /// (the port HTTPS actually bound).
    pub fn realtime_addr(&self, https_port: u16) -> SocketAddr {
        match self.realtime.listen.parse() {
            Ok(a) => a,
            Err(_) => SocketAddr::new(self.listen_addr().ip(), https_port),
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.server
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 7350)))
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn render_masked(&self) -> String {
        let mut value =
            toml::Value::try_from(self).unwrap_or(toml::Value::Table(Default::default()));
        if let toml::Value::Table(t) = &mut value {
            for (s, k) in SECRET_KEYS {
                if let Some(toml::Value::Table(sec)) = t.get_mut(*s) {
                    if sec.contains_key(*k) {
                        sec.insert(k.to_string(), toml::Value::String("********".into()));
                    }
                }
            }
        }
        toml::to_string_pretty(&value).unwrap_or_default()
    }

    /// Every key with its environment variable name, for documentation and `config check`.
    pub fn env_names() -> BTreeMap<String, String> {
        KEYS.iter()
            .map(|(s, k)| (format!("{s}.{k}"), env_name(s, k)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outpost.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:1000\"\nmax_body_bytes = 4096\n[rate_limit]\nread_per_sec = 5\n",
        )
        .unwrap();
        let loaded = load(
            Some(&file),
            env(&[
                ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "7"),
                ("OUTPOST_SERVER_LISTEN", "127.0.0.1:2000"),
            ]),
            &Overrides {
                listen: Some("127.0.0.1:3000".into()),
                data_dir: None,
            },
        )
        .unwrap();
        assert_eq!(loaded.config.server.listen, "127.0.0.1:3000");
        assert_eq!(loaded.config.server.max_body_bytes, 4096);
        assert_eq!(loaded.config.rate_limit.read_per_sec, 7);
        assert!(loaded.unknown.is_empty());
    }

    #[test]
    fn unknown_keys_and_variables_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outpost.toml");
        std::fs::write(&file, "[server]\nlisen = \"x\"\n[nonsense]\na = 1\n").unwrap();
        let loaded = load(
            Some(&file),
            env(&[("OUTPOST_SERVR_LISTEN", "x")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(loaded.unknown.len(), 3, "{:?}", loaded.unknown);
        assert!(loaded.unknown.iter().any(|u| u.starts_with("server.lisen")));
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let err = load(
            None,
            env(&[("OUTPOST_SERVER_LISTEN", "nowhere")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
        let err = load(
            None,
            env(&[("OUTPOST_LOG_FORMAT", "xml")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("log.format"), "{err}");
        let err = load(
            None,
            env(&[("OUTPOST_STORAGE_MAX_OBJECT_BYTES", "10")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("storage.max_object_bytes"),
            "{err}"
        );
        let ok = load(
            None,
            env(&[("OUTPOST_STORAGE_MAX_OBJECT_BYTES", "4096")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.config.storage.max_object_bytes, 4096);
        let err = load(
            None,
            env(&[("OUTPOST_STORAGE_MAX_OBJECTS_PER_USER", "0")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("storage.max_objects_per_user"),
            "{err}"
        );
        let ok = load(
            None,
            env(&[("OUTPOST_STORAGE_MAX_OBJECTS_PER_USER", "5")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.config.storage.max_objects_per_user, 5);
    }

    #[test]
    fn backup_schedule_reads_text_or_seconds() {
        let loaded = load(
            None,
            env(&[
                ("OUTPOST_BACKUP_INTERVAL", "6h"),
                ("OUTPOST_BACKUP_KEEP", "3"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            loaded.config.backup.every(),
            Some(std::time::Duration::from_secs(6 * 3600))
        );
        assert_eq!(loaded.config.backup.keep, 3);
        let loaded = load(
            None,
            env(&[("OUTPOST_BACKUP_INTERVAL", "90")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            loaded.config.backup.every(),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            load(None, env(&[]), &Overrides::default())
                .unwrap()
                .config
                .backup
                .every(),
            None
        );
        let err = load(
            None,
            env(&[("OUTPOST_BACKUP_INTERVAL", "soon")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("backup.interval"), "{err}");
        let err = load(
            None,
            env(&[("OUTPOST_BACKUP_KEEP", "0")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("backup.keep"), "{err}");
    }

    #[test]
    fn the_example_file_is_valid_and_names_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("outpost.toml.example");
        let loaded = load(Some(&path), env(&[]), &Overrides::default()).unwrap();
        assert!(loaded.unknown.is_empty(), "{:?}", loaded.unknown);
        let text = std::fs::read_to_string(&path).unwrap();
        for (section, key) in KEYS {
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] in the example"
            );
            assert!(
                text.contains(&format!("\n{key} =")) || text.contains(&format!("# {key} =")),
                "{section}.{key} in the example"
            );
        }
    }

    #[test]
    fn trusted_proxies_come_as_a_list() {
        let loaded = load(
            None,
            env(&[("OUTPOST_SERVER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            loaded.config.server.trusted_proxies,
            vec!["127.0.0.1", "10.0.0.0/8"]
        );
        let err = load(
            None,
            env(&[("OUTPOST_SERVER_TRUSTED_PROXIES", "nginx")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("server.trusted_proxies"), "{err}");
    }

    #[test]
    fn numeric_looking_keys_stay_text() {
        let loaded = load(
            None,
            env(&[
                ("OUTPOST_SERVER_KEY", "12345678"),
                ("OUTPOST_HTTP_KEY", "1e50000000"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(loaded.config.auth.server_key.as_deref(), Some("12345678"));
        assert_eq!(loaded.config.auth.http_key.as_deref(), Some("1e50000000"));
        let err = load(
            None,
            env(&[("OUTPOST_SERVER_MAX_BODY_BYTES", "lots")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("max_body_bytes") || err.to_string().contains("invalid type"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_masked() {
        let loaded = load(
            None,
            env(&[("OUTPOST_SERVER_KEY", "supersecretkey")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            loaded.config.auth.server_key.as_deref(),
            Some("supersecretkey")
        );
        let shown = loaded.config.render_masked();
        assert!(!shown.contains("supersecretkey"));
        assert!(shown.contains("********"));
    }

    #[test]
    fn realtime_settings_are_checked() {
        let ok = load(
            None,
            env(&[
                ("OUTPOST_REALTIME_TICK_HZ", "60"),
                ("OUTPOST_REALTIME_PROFANITY_EXTRA", "frak,smeg"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.config.realtime.tick_hz, 60);
        assert_eq!(ok.config.realtime.max_frame_bytes, 65536);
        assert_eq!(ok.config.realtime.max_matches_per_user, 4);
        assert_eq!(ok.config.realtime.max_relay_bytes, 4096);
        assert_eq!(
            ok.config.realtime_addr(7350),
            "0.0.0.0:7350".parse().unwrap()
        );
        for (k, v, field) in [
            ("OUTPOST_REALTIME_TICK_HZ", "61", "realtime.tick_hz"),
            ("OUTPOST_REALTIME_LISTEN", "udp", "realtime.listen"),
            (
                "OUTPOST_REALTIME_KEEP_ALIVE_SECS",
                "30",
                "realtime.keep_alive_secs",
            ),
            (
                "OUTPOST_REALTIME_MAX_FRAME_BYTES",
                "10",
                "realtime.max_frame_bytes",
            ),
            ("OUTPOST_REALTIME_SEND_QUEUE", "0", "realtime.send_queue"),
            (
                "OUTPOST_REALTIME_MAX_MATCHES_PER_USER",
                "0",
                "realtime.max_matches_per_user",
            ),
            (
                "OUTPOST_REALTIME_MAX_RELAY_BYTES",
                "0",
                "realtime.max_relay_bytes",
            ),
        ] {
            let err = load(None, env(&[(k, v)]), &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains(field), "{k}: {err}");
        }
    }
}
