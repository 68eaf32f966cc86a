//! Where the load goes: a server this bench starts (the `outpost` binary next to this one,
//! in a temp dir) or one already running (`--url`).

use std::path::PathBuf;

use clap::Args as ClapArgs;
use outpost::client::{Client, LocalServer, Trust};

#[derive(ClapArgs, Debug, Clone)]
pub struct TargetArgs {
    /// A running server (`https://host:port`); unset: start one.
    #[arg(long)]
    pub url: Option<String>,
    /// Server key of `--url`.
    #[arg(long, default_value = "bench-server-key")]
    pub server_key: String,
    /// HTTP key of `--url`.
    #[arg(long, default_value = "bench-http-key")]
    pub http_key: String,
    /// The `outpost` binary to start (default: next to this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Pin the started server to these CPUs (`1`, `0,1`, `2-3`), and this load generator to
    /// the others (when any are left), so their shares of the machine are separate.
    #[arg(long)]
    pub server_cpus: Option<String>,
}

pub struct Target {
    pub base: String,
    pub server_key: String,
    pub http_key: String,
    cert_pem: Option<Vec<u8>>,
    pub local: Option<LocalServer>,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    /// Starts a server (with `env`) unless `--url` was given. `games` are registered first.
    pub fn open(
        args: &TargetArgs,
        env: &[(&str, &str)],
        games: &[&str],
    ) -> anyhow::Result<(Target, Vec<String>)> {
        if let Some(url) = &args.url {
            return Ok((
                Target {
                    base: url.clone(),
                    server_key: args.server_key.clone(),
                    http_key: args.http_key.clone(),
                    cert_pem: None,
                    local: None,
                    _dir: None,
                },
                Vec::new(),
            ));
        }
        let binary = match &args.binary {
            Some(b) => b.clone(),
            None => std::env::current_exe()?.with_file_name("outpost"),
        };
        let dir = tempfile::tempdir()?;
        let mut ids = Vec::new();
        for g in games {
            let out = std::process::Command::new(&binary)
                .args(["--data-dir", "data", "game", "create", g])
                .current_dir(dir.path())
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "game create: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let mut all_env: Vec<(&str, &str)> = vec![
            ("OUTPOST_SERVER_KEY", &args.server_key),
            ("OUTPOST_HTTP_KEY", &args.http_key),
        ];
        all_env.extend_from_slice(env);
        // The server's log filter for a diagnosing run (e.g. `quinn_proto=trace`).
        let log = std::env::var("OUTPOST_BENCH_SERVER_LOG").ok();
        if let Some(level) = &log {
            all_env.push(("OUTPOST_LOG_LEVEL", level));
        }
        let local = LocalServer::start(&binary, dir.path(), &all_env)?;
        if let Some(list) = &args.server_cpus {
            let server = crate::report::parse_cpus(list)?;
            let pid = local
                .pid()
                .ok_or_else(|| anyhow::anyhow!("the server has no pid"))?;
            crate::report::pin(pid, &server)?;
            let rest: Vec<usize> = crate::report::all_cpus()
                .into_iter()
                .filter(|c| !server.contains(c))
                .collect();
            if !rest.is_empty() {
                crate::report::pin(std::process::id(), &rest)?;
            }
            eprintln!("server pinned to CPUs {server:?}, load generator to {rest:?}");
        }
        Ok((
            Target {
                base: local.https.clone(),
                server_key: args.server_key.clone(),
                http_key: args.http_key.clone(),
                cert_pem: Some(local.cert_pem.clone()),
                local: Some(local),
                _dir: Some(dir),
            },
            ids,
        ))
    }

    /// A client with its own single keep-alive connection.
    pub fn client(&self) -> anyhow::Result<Client> {
        let trust = match &self.cert_pem {
            Some(p) => Trust::Pem(p),
            None => Trust::AnyCertificate,
        };
        Ok(Client::new(&self.base, &self.server_key, trust, true)?)
    }

    /// Resident memory of the started server, in KiB.
    pub fn server_rss_kib(&self) -> Option<u64> {
        let pid = self.local.as_ref()?.pid()?;
        crate::report::rss_kib(pid)
    }

    /// CPU seconds the started server has used so far.
    pub fn server_cpu_secs(&self) -> Option<f64> {
        let pid = self.local.as_ref()?.pid()?;
        crate::report::cpu_secs(pid)
    }

    /// Datagrams dropped so far at full receive buffers: (the started server's sockets,
    /// this load generator's sockets).
    pub fn udp_drops(&self) -> UdpDrops {
        let server = self
            .local
            .as_ref()
            .and_then(|l| l.pid())
            .and_then(crate::report::udp_drops);
        UdpDrops {
            server,
            bench: crate::report::udp_drops(std::process::id()),
        }
    }

    /// Peak resident memory of the started server, in KiB.
    pub fn server_peak_rss_kib(&self) -> Option<u64> {
        let pid = self.local.as_ref()?.pid()?;
        crate::report::peak_rss_kib(pid)
    }
}

/// Datagrams the kernel dropped at full receive buffers, on each side (see
/// [`crate::report::udp_drops`]).
#[derive(Debug, Clone, Copy)]
pub struct UdpDrops {
    pub server: Option<u64>,
    pub bench: Option<u64>,
}

impl UdpDrops {
    /// The drops per second between `self` and `later`, as a report line.
    pub fn line_until(&self, later: &UdpDrops, secs: f64) -> String {
        let rate = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.0}", b.saturating_sub(a) as f64 / secs),
            _ => "?".into(),
        };
        format!(
            "UDP receive drops/s (a reader fell behind)  server socket {}  load generator sockets {}",
            rate(self.server, later.server),
            rate(self.bench, later.bench)
        )
    }
}
