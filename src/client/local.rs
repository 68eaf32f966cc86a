//! Runs a real `outpost serve` as a child process on a free port with its own data
//! directory: what the tests and the bench talk to.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Client, Trust};

pub struct LocalServer {
    child: Option<Child>,
    binary: PathBuf,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub https: String,
    /// The QUIC address (`host:port`, UDP).
    pub quic: String,
    /// The admin console's base URL (`https://host:port`), when it runs.
    pub console: Option<String>,
    pub server_key: String,
    pub http_key: String,
    pub cert_pem: Vec<u8>,
    /// Everything the server wrote to stdout and stderr.
    pub output: Arc<Mutex<String>>,
}

impl LocalServer {
    /// Starts `binary serve` in `dir` (data in `dir/data`, certs in `dir/certs`) with
    /// extra environment. Waits for its `ready` line.
    pub fn start(binary: &Path, dir: &Path, env: &[(&str, &str)]) -> std::io::Result<LocalServer> {
        let mut server = LocalServer {
            child: None,
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            env: env
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            https: String::new(),
            quic: String::new(),
            console: None,
            server_key: "test-server-key".into(),
            http_key: "test-http-key".into(),
            cert_pem: Vec::new(),
            output: Arc::new(Mutex::new(String::new())),
        };
        for (k, v) in &server.env {
            match k.as_str() {
                "OUTPOST_SERVER_KEY" => server.server_key = v.clone(),
                "OUTPOST_HTTP_KEY" => server.http_key = v.clone(),
                _ => {}
            }
        }
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("serve")
            .current_dir(&self.dir)
            .env_remove("OUTPOST_CONFIG")
            .env("OUTPOST_SERVER_LISTEN", "127.0.0.1:0")
            .env("OUTPOST_CONSOLE_LISTEN", "127.0.0.1:0")
            .env("OUTPOST_SERVER_KEY", &self.server_key)
            .env("OUTPOST_HTTP_KEY", &self.http_key)
            .env(
                "OUTPOST_LOG_LEVEL",
                std::env::var("OUTPOST_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            // Every client of a local server is on loopback: lift the per-address caps on
            // new accounts and connections (tests and benches that check them set their own).
            .env("OUTPOST_RATE_LIMIT_ACCOUNTS_PER_IP_BURST", "1000000")
            .env("OUTPOST_HTTP_MAX_CONNECTIONS_PER_IP", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let (quic_tx, quic_rx) = std::sync::mpsc::channel::<String>();
        let (console_tx, console_rx) = std::sync::mpsc::channel::<String>();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr"))?;
        let out = self.output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ready quic=") {
                    let _ = quic_tx.send(addr.to_string());
                }
                if let Some(addr) = line.strip_prefix("ready console=") {
                    let _ = console_tx.send(addr.to_string());
                }
                if let Some(addr) = line.strip_prefix("ready https=") {
                    let _ = tx.send(addr.to_string());
                }
                out.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&(line + "\n"));
            }
        });
        let out = self.output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                out.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&(line + "\n"));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(a) = rx.recv_timeout(Duration::from_millis(50)) {
                break a;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "server exited with {status} before it was ready:\n{}",
                    self.output()
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(std::io::Error::other(format!(
                    "server not ready in 60 s:\n{}",
                    self.output()
                )));
            }
        };
        self.https = format!("https://{addr}");
        // Printed just before the https line.
        self.quic = quic_rx.try_recv().unwrap_or_default();
        self.console = console_rx.try_recv().ok().map(|a| format!("https://{a}"));
        self.cert_pem = std::fs::read(self.dir.join("certs/cert.pem"))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A client that trusts this server's certificate.
    pub fn client(&self) -> Client {
        Client::new(
            &self.https,
            &self.server_key,
            Trust::Pem(&self.cert_pem),
            false,
        )
        .expect("client for a local server")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits for the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the crash a durable write must survive.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory (new port).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.spawn()
    }

    /// Runs another `outpost` subcommand in the server's directory; returns
    /// (exit success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(&self.binary)
            .args(args)
            .current_dir(&self.dir)
            .env_remove("OUTPOST_CONFIG")
            .output()
            .expect("run outpost");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
