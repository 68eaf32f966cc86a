//! A ban closes the banned player's live connection at once, and notifications reach
//! connected players as they happen. The first two tests run the node in-process and go
//! through `Auth::ban` and the bus directly (the one path every ban and notification
//! takes); the last drives the real binary: `outpost ban` on the CLI, rewards over HTTPS.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use outpost::app::App;
use outpost::auth::{secrets, Credential};
use outpost::client::quic::{Code, QuicClient, ServerMsg};
use outpost::client::Trust;
use outpost::config::Config;
use outpost::events::Event;
use outpost::store::Store;
use outpost::tls::Certs;

struct InProcess {
    app: App,
    certs: Arc<Certs>,
    addr: std::net::SocketAddr,
    game: String,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn start() -> InProcess {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.server.data_dir = dir.path().join("data");
    cfg.tls.cert_dir = dir.path().join("certs");
    cfg.realtime.listen = "127.0.0.1:0".into();
    let store = Store::open(&cfg.server.data_dir, 100).unwrap();
    let game = store.create_game("arena", BTreeMap::new()).unwrap();
    let (keys, _) = secrets::load_or_create(&cfg.server.data_dir).unwrap();
    let certs = Certs::load(&cfg.tls).unwrap();
    let app = App::new(cfg.clone(), store, keys).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let running = outpost::realtime::start(
        app.clone(),
        &certs,
        cfg.realtime.listen.parse().unwrap(),
        stop_rx,
    )
    .unwrap();
    InProcess {
        app,
        certs,
        addr: running.addr,
        game: game.id.to_string(),
        _stop: stop,
        _dir: dir,
    }
}

impl InProcess {
    async fn player(&self, device: &str) -> (uuid::Uuid, String) {
        let a = self
            .app
            .auth
            .authenticate(
                Credential::Device(device.into()),
                true,
                None,
                BTreeMap::new(),
            )
            .await
            .unwrap();
        (a.account.id, a.session.token)
    }

    async fn connect(&self, token: &str) -> Result<QuicClient, outpost::client::quic::QuicError> {
        let pem = self.certs.chain_pem().unwrap();
        let ep = outpost::client::quic::endpoint(Trust::Pem(&pem)).unwrap();
        QuicClient::connect(&ep, self.addr, "localhost", token, &self.game).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_banned_player_is_disconnected_at_once() {
    let node = start().await;
    let (alice, token) = node.player("device-ban-alice-0001").await;
    let (_, bob_token) = node.player("device-ban-bob-00001").await;
    let mut a = node.connect(&token).await.unwrap();
    let mut b = node.connect(&bob_token).await.unwrap();
    let j = a
        .create_match("relay", "", serde_json::json!({}))
        .await
        .unwrap();
    b.join_match(&j.match_id, None).await.unwrap();

    node.app
        .auth
        .ban(alice, None, "aimbot", "test")
        .await
        .unwrap();
    let (code, reason) = a.closed(Duration::from_secs(5)).await.unwrap();
    assert_eq!(code, Some(Code::Banned.as_u16()));
    assert!(reason.contains("aimbot"), "{reason}");
    // The match sees them leave; they cannot come back.
    match b
        .wait_for(
            Duration::from_secs(5),
            |m| matches!(m, ServerMsg::MatchPresence { leaves, .. } if !leaves.is_empty()),
        )
        .await
        .unwrap()
    {
        ServerMsg::MatchPresence { leaves, .. } => assert_eq!(leaves[0].user_id, alice.to_string()),
        other => panic!("{other:?}"),
    }
    let e = node.connect(&token).await.err().expect("refused");
    assert_eq!(e.code(), Some(Code::Banned.as_u16()), "{e}");
    b.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_pushed_to_connected_players() {
    let node = start().await;
    let (alice, token) = node.player("device-note-alice-01").await;
    let mut a = node.connect(&token).await.unwrap();
    node.app.bus.publish(Event::Notification {
        game_id: node.game.parse().unwrap(),
        user_id: alice,
        notification: serde_json::json!({"subject": "match found", "code": 7}),
    });
    match a
        .wait_for(Duration::from_secs(5), |m| {
            matches!(m, ServerMsg::Notification { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::Notification {
            game_id,
            notification,
        } => {
            assert_eq!(game_id, node.game);
            assert_eq!(notification["subject"], "match found");
        }
        other => panic!("{other:?}"),
    }
}

/// The same through the real surfaces: the admin's `outpost ban` on a running server closes
/// the player's QUIC connection, and a reward granted over HTTPS is pushed live.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_ban_closes_a_live_connection_and_rewards_are_pushed() {
    let server = crate::common::TestServer::start().await;
    let arena = server.game("arena");
    let alice = server.player("device-cli-ban-0001").await;
    let mut conn = server.quic(&alice, &arena).await;

    server
        .server_rpc(
            "rewards_grant",
            serde_json::json!({"game_id": arena, "user_id": alice.user_id().to_string(),
                               "reward": {"currencies": {"coins": 5}}, "reason": "welcome"}),
        )
        .await
        .unwrap();
    match conn
        .wait_for(Duration::from_secs(5), |m| {
            matches!(m, ServerMsg::Notification { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::Notification { game_id, .. } => assert_eq!(game_id, arena),
        other => panic!("{other:?}"),
    }

    let id = alice.user_id().to_string();
    let (ok, out, err) = server
        .cli(&["ban", &id, "--for", "1h", "--reason", "wallhack"])
        .await;
    assert!(ok, "{out}{err}");
    let (code, reason) = conn.closed(Duration::from_secs(5)).await.unwrap();
    assert_eq!(code, Some(Code::Banned.as_u16()));
    assert!(reason.contains("wallhack"), "{reason}");
    let e = QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &alice.session.token,
        &arena,
    )
    .await
    .err()
    .expect("a banned player cannot reconnect");
    assert_eq!(e.code(), Some(Code::Banned.as_u16()), "{e}");
}
