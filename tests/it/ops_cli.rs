//! The admin CLI: the same commands against a running server (admin socket) and a stopped
//! one (the database opened directly).

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_socket_is_private() {
    let mut server = TestServer::start().await;
    let socket = server.local.data_dir().join("admin.sock");
    let meta = std::fs::metadata(&socket).expect("admin.sock exists while serving");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let status = server.cli_json(&["status"]).await;
    assert_eq!(status["server"], "running");
    assert_eq!(status["games"], 2);
    server.stop().await;
    assert!(!socket.exists(), "the socket goes away with the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_works_against_a_stopped_server_too() {
    let mut server = TestServer::start().await;
    let alice = server.new_player().await;
    let id = alice.user_id().to_string();
    let live_show = server.cli(&["user", "show", &id]).await;
    assert!(live_show.0, "{}", live_show.2);

    server.stop().await;
    let stopped_show = server.cli(&["user", "show", &id]).await;
    assert_eq!(
        stopped_show, live_show,
        "same output with the server stopped"
    );
    let status = server.cli_json(&["status"]).await;
    assert_eq!(status["server"], "stopped");
    assert_eq!(status["accounts"], 1);
    let (ok, out, err) = server.cli(&["game", "create", "puzzle"]).await;
    assert!(ok, "{err}");
    let puzzle = out.trim().to_string();
    assert_eq!(
        server.cli_json(&["game", "list"]).await["games"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    server
        .cli_json(&["ban", &id, "--reason", "offline ban"])
        .await;
    server.cli_json(&["user", "promote", &id]).await;
    let users = server.cli_json(&["user", "list"]).await;
    assert_eq!(users["users"][0]["role"], "admin");
    let backup = server.cli_json(&["backup", "create"]).await;
    assert!(backup["path"]
        .as_str()
        .unwrap()
        .contains("/backups/outpost-"));
    let listed = server.cli_json(&["backup", "list"]).await;
    assert_eq!(listed["backups"].as_array().unwrap().len(), 1);
    let (ok, _, err) = server.cli(&["ban", "nobody-at-all"]).await;
    assert!(!ok);
    assert!(err.contains("nobody-at-all"), "{err}");

    // Back up: what was done offline holds.
    server.start_again().await;
    let alice = outpost::client::Player {
        client: server.client.clone(),
        session: alice.session,
    };
    let e = alice.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(e.message.contains("offline ban"), "{}", e.message);
    let games = server.cli_json(&["game", "list"]).await;
    assert!(games["games"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["game_id"] == puzzle.as_str()));
    let actions: Vec<String> = server.cli_json(&["audit"]).await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in ["backup_create", "promote", "ban", "game_create"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn games_created_through_the_socket_serve_at_once() {
    let server = TestServer::start_with(&[], &[]).await;
    let created = server.cli_json(&["game", "create", "arena"]).await;
    let game = created["game_id"].as_str().unwrap().to_string();
    let p = server.new_player().await;
    let reply = p
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(reply["profile"]["level"], 1);
    let (ok, _, err) = server.cli(&["game", "create", "ARENA"]).await;
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
}
