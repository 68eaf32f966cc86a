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

/// Another user cannot use a server's admin socket, and root does not write into a
/// stopped server's data dir that belongs to the service user. (Needs root to act as
/// another user; elsewhere it says so and checks nothing.)
#[tokio::test(flavor = "multi_thread")]
async fn other_users_are_kept_out() {
    use std::os::unix::process::CommandExt;
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("other_users_are_kept_out: not root, cannot switch users here");
        return;
    }
    let mut server = TestServer::start().await;
    let dir = server.local.dir.clone();
    // Let `nobody` reach the data dir, so only the socket's own mode keeps them out.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("data"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(crate::common::BIN)
            .args(["--data-dir", "data", "status"])
            .current_dir(&dir)
            .env_remove("OUTPOST_CONFIG")
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    });
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("permission denied"), "{err}");

    server.stop().await;
    let data = server.local.data_dir();
    let chown = |uid: u32| {
        for entry in std::fs::read_dir(&data).unwrap() {
            let p = entry.unwrap().path();
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            unsafe { libc::chown(c.as_ptr(), uid, uid) };
        }
        let c = std::ffi::CString::new(data.to_str().unwrap()).unwrap();
        unsafe { libc::chown(c.as_ptr(), uid, uid) };
    };
    chown(65534);
    let (ok, _, err) = server.cli(&["ban", "someone"]).await;
    chown(0);
    assert!(!ok);
    assert!(err.contains("belongs to uid 65534"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_counts_quic_players_and_live_matches() {
    let server = TestServer::start().await;
    let arena = server.game("arena");
    let alice = server.new_player().await;
    let mut conn = server.quic(&alice, &arena).await;
    conn.create_match("relay", "", json!({})).await.unwrap();
    let s = server.cli_json(&["status"]).await;
    assert_eq!(s["live_connections"]["quic"], 1, "{s}");
    assert_eq!(s["live_matches"], 1, "{s}");
    let total = s["live_connections"]["total"].as_i64().unwrap();
    let http = s["live_connections"]["http"].as_i64().unwrap();
    assert_eq!(total, http + 1);
    let (ok, text, _) = server.cli(&["status"]).await;
    assert!(ok);
    assert!(text.contains("1 QUIC"), "{text}");
}
