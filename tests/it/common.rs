//! The test harness: a real `outpost serve` (the binary under test) on a free port, real TLS,
//! a temp data dir, with games registered before it starts; called through `outpost::client`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use outpost::client::quic::QuicClient;
use outpost::client::{Client, LocalServer, Player, Trust};
use serde_json::Value;

pub struct TestServer {
    pub local: LocalServer,
    pub client: Client,
    /// name → game_id of the games registered at start.
    pub games: BTreeMap<String, String>,
    _dir: tempfile::TempDir,
}

pub const BIN: &str = env!("CARGO_BIN_EXE_outpost");

impl TestServer {
    /// A server with two games, `arena` and `other`.
    pub async fn start() -> TestServer {
        Self::start_with(&["arena", "other"], &[]).await
    }

    /// A server with these games registered and this extra environment.
    pub async fn start_with(games: &[&str], env: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ids = BTreeMap::new();
        for name in games {
            let out = std::process::Command::new(BIN)
                .args(["--data-dir", "data", "game", "create", name])
                .current_dir(dir.path())
                .env_remove("OUTPOST_CONFIG")
                .output()
                .expect("outpost game create");
            assert!(
                out.status.success(),
                "game create: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            ids.insert(
                name.to_string(),
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            );
        }
        let path = dir.path().to_path_buf();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let local = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            LocalServer::start(std::path::Path::new(BIN), &path, &env)
        })
        .await
        .expect("join")
        .expect("server starts");
        let client = local.client();
        TestServer {
            local,
            client,
            games: ids,
            _dir: dir,
        }
    }

    pub fn game(&self, name: &str) -> String {
        self.games
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no game {name}"))
    }

    /// A player authenticated by device id through the real API.
    pub async fn player(&self, device_id: &str) -> Player {
        let session = self
            .client
            .authenticate_device(device_id, true, None, &BTreeMap::new())
            .await
            .expect("device authentication");
        Player {
            client: self.client.clone(),
            session,
        }
    }

    /// A fresh player with a unique device id.
    pub async fn new_player(&self) -> Player {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        self.player(&format!("device-test-{}-{n:06}", std::process::id()))
            .await
    }

    /// An RPC as a studio server (http key).
    pub async fn server_rpc(
        &self,
        id: &str,
        payload: Value,
    ) -> Result<Value, outpost::client::ApiError> {
        self.client
            .rpc_as_server(&self.local.http_key, id, payload)
            .await
    }

    /// A player with the admin role, promoted by `outpost user promote` through the running
    /// server's admin socket.
    pub async fn admin(&mut self) -> Player {
        let p = self.new_player().await;
        let id = p.user_id().to_string();
        let (ok, out, err) = self.cli(&["user", "promote", &id]).await;
        assert!(ok, "promote: {out}{err}");
        p
    }

    /// Runs an `outpost` subcommand against this server's data dir (through its admin
    /// socket while it runs); returns (success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut full = vec!["--data-dir".to_string(), "data".to_string()];
        full.extend(args.iter().map(|a| a.to_string()));
        let local = &self.local;
        tokio::task::block_in_place(|| {
            let refs: Vec<&str> = full.iter().map(String::as_str).collect();
            local.cli(&refs)
        })
    }

    /// Like [`TestServer::cli`] with `--json`, parsed; panics on failure.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let (ok, out, err) = self.cli(&full).await;
        assert!(ok, "outpost {args:?} failed: {out}{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Stops the server (SIGTERM) and leaves it stopped.
    pub async fn stop(&mut self) {
        let local = &mut self.local;
        tokio::task::block_in_place(|| local.stop());
    }

    /// Starts a stopped server again on the same data directory.
    pub async fn start_again(&mut self) {
        let local = &mut self.local;
        tokio::task::block_in_place(|| local.restart()).expect("start again");
        self.client = self.local.client();
    }

    /// Restarts the server on the same data directory (SIGTERM, then start again).
    pub async fn restart(&mut self) {
        let local = &mut self.local;
        tokio::task::block_in_place(|| local.restart()).expect("restart");
        self.client = self.local.client();
    }

    /// The server's QUIC address.
    pub fn quic_addr(&self) -> std::net::SocketAddr {
        self.local
            .quic
            .parse()
            .expect("the server printed its QUIC address")
    }

    /// A QUIC client endpoint trusting this server's certificate.
    pub fn quic_endpoint(&self) -> quinn::Endpoint {
        outpost::client::quic::endpoint(Trust::Pem(&self.local.cert_pem)).expect("QUIC endpoint")
    }

    /// A player's authenticated realtime connection to `game_id`.
    pub async fn quic(&self, player: &Player, game_id: &str) -> QuicClient {
        QuicClient::connect(
            &self.quic_endpoint(),
            self.quic_addr(),
            "localhost",
            &player.session.token,
            game_id,
        )
        .await
        .expect("QUIC connect")
    }
}
