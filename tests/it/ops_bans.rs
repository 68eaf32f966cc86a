//! Bans from the CLI and the moderation RPCs bite at once, and temporary ones lift.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_cli_ban_refuses_the_players_next_rpc() {
    let server = TestServer::start().await;
    let cheater = server
        .client
        .authenticate_device("device-cheat-0001", true, Some("cheater"), &BTreeMap::new())
        .await
        .unwrap();
    server
        .client
        .rpc(&cheater, "health_check", json!({}))
        .await
        .unwrap();

    let (ok, out, err) = server.cli(&["ban", "cheater", "--reason", "aimbot"]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("banned cheater") && out.contains("permanently"),
        "{out}"
    );

    let e = server
        .client
        .rpc(&cheater, "health_check", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(e.message.contains("aimbot"), "{}", e.message);
    assert_eq!(
        e.body["ban_reason"].as_str().map(|r| r.contains("aimbot")),
        Some(true)
    );
    let e = server
        .client
        .authenticate_device("device-cheat-0001", false, None, &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");

    let bans = server.cli_json(&["bans"]).await;
    assert_eq!(bans["bans"][0]["username"], "cheater");
    assert_eq!(bans["bans"][0]["by"], "cli");

    let (ok, out, _) = server.cli(&["unban", &cheater.user_id.to_string()]).await;
    assert!(ok && out.contains("unbanned cheater"), "{out}");
    server
        .client
        .rpc(&cheater, "health_check", json!({}))
        .await
        .unwrap();
    let audit = server.cli_json(&["audit"]).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(&actions[..2], &["unban", "ban"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_ban_lifts_itself() {
    let server = TestServer::start().await;
    let p = server.new_player().await;
    let id = p.user_id().to_string();
    let reply = server.cli_json(&["ban", &id, "--for", "2s"]).await;
    assert!(reply["ban"]["until"].as_str().is_some());
    let e = p.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(e.body["banned_until"].as_str().is_some(), "{}", e.body);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    p.rpc("health_check", json!({})).await.unwrap();
    assert_eq!(server.cli_json(&["bans"]).await["bans"], json!([]));
    let all = server.cli_json(&["bans", "--all"]).await;
    assert_eq!(all["bans"][0]["active"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn moderation_rpcs_are_for_admins_and_check_their_input() {
    let mut server = TestServer::start().await;
    let target = server.new_player().await;
    let player = server.new_player().await;
    let e = player
        .rpc("moderation_ban", json!({"user": target.user_id()}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);

    let admin = server.admin().await;
    let e = admin
        .rpc(
            "moderation_ban",
            json!({"user": target.user_id(), "duration": "soon"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("duration"), "{}", e.message);
    let e = admin
        .rpc("moderation_ban", json!({"user": "no-such-user"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let e = admin
        .rpc(
            "moderation_ban",
            json!({"user": target.user_id(), "colour": "red"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("colour"), "{}", e.message);
    target.rpc("health_check", json!({})).await.unwrap();

    let ban = admin
        .rpc(
            "moderation_ban",
            json!({"user_id": target.user_id(), "duration": "1h", "reason": "spam"}),
        )
        .await
        .unwrap();
    assert_eq!(ban["ban"]["by"], format!("admin:{}", admin.user_id()));
    assert_eq!(
        target
            .rpc("health_check", json!({}))
            .await
            .unwrap_err()
            .status(),
        403
    );
    let list = admin.rpc("moderation_list_bans", json!({})).await.unwrap();
    assert_eq!(list["bans"].as_array().unwrap().len(), 1);
    let un = admin
        .rpc("moderation_unban", json!({"user": target.user_id()}))
        .await
        .unwrap();
    assert_eq!(un["unbanned"], true);
    target.rpc("health_check", json!({})).await.unwrap();
}
