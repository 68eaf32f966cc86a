//! A newcomer's first run and the smaller limits: a fresh server makes itself a default
//! game that Nakama-style clients use without naming one, `/metrics` can leave the public
//! port, listings read a bounded number of objects per page, profile and ban arithmetic
//! cannot overflow, and a deleted notification stays deleted after a crash.

use std::time::Duration;

use outpost::client::Credentials;
use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_server_creates_a_default_game_that_sdk_clients_use() {
    let mut server = TestServer::start_with(&[], &[]).await;
    let output = server.local.output();
    let line = output
        .lines()
        .find(|l| l.contains("created as the default game"))
        .unwrap_or_else(|| panic!("the first start names its game:\n{output}"));
    let game_id = line.split_whitespace().nth(1).unwrap().to_string();
    let games = server.server_rpc("game_list", json!({})).await.unwrap();
    assert_eq!(games["games"][0]["name"], "default");
    assert_eq!(games["games"][0]["game_id"], game_id);

    // A Nakama SDK authenticates without vars.game_id, then uses storage.
    let player = server.new_player().await;
    let write =
        json!({"objects": [{"collection": "saves", "key": "slot1", "value": "{\"hp\":3}"}]});
    let reply = server
        .client
        .request(
            reqwest::Method::PUT,
            "/v2/storage",
            Credentials::Bearer(&player.session.token),
            Some(write.to_string().into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["acks"][0]["key"], "slot1");
    // The RPCs act on it too.
    let profile = player.rpc("profile_get", json!({})).await.unwrap();
    assert_eq!(profile["profile"]["game_id"], game_id);

    // Later starts keep it, and create no other.
    server.restart().await;
    let output = server.local.output();
    assert!(
        output.contains(&format!("{game_id} `default` (the default game)")),
        "{output}"
    );
    let games = server.server_rpc("game_list", json!({})).await.unwrap();
    assert_eq!(games["games"].as_array().unwrap().len(), 1);
    let read = json!({"object_ids": [{"collection": "saves", "key": "slot1"}]});
    let reply = server
        .client
        .request(
            reqwest::Method::POST,
            "/v2/storage",
            Credentials::Bearer(&player.session.token),
            Some(read.to_string().into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(reply.body["objects"][0]["value"], "{\"hp\":3}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_with_games_gets_no_default_game_made_for_it() {
    let server = TestServer::start_with(&["arena"], &[]).await;
    let games = server.server_rpc("game_list", json!({})).await.unwrap();
    assert_eq!(games["games"].as_array().unwrap().len(), 1);
    assert_eq!(games["games"][0]["name"], "arena");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_can_move_to_a_private_listener() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_HTTP_METRICS_LISTEN", "127.0.0.1:0")],
    )
    .await;
    let public = server
        .client
        .request(reqwest::Method::GET, "/metrics", Credentials::None, None)
        .await
        .unwrap();
    assert_eq!(public.status, 404, "not on the public port");
    let output = server.local.output();
    let addr = output
        .lines()
        .find_map(|l| l.strip_prefix("ready metrics="))
        .unwrap_or_else(|| panic!("the metrics address is printed:\n{output}"));
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("outpost_uptime_seconds"), "{text}");
    // Without the setting, /metrics stays where it was.
    let plain = TestServer::start_with(&["arena"], &[]).await;
    assert!(plain
        .client
        .metrics()
        .await
        .unwrap()
        .contains("outpost_uptime_seconds"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_page_reads_a_bounded_number_of_objects() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    for n in 0..30 {
        alice
            .rpc(
                "cloud_save_write",
                json!({"game_id": game, "collection": "saves", "key": format!("k{n:02}"),
                       "value": {"n": n}, "permission_read": 1}),
            )
            .await
            .unwrap();
    }
    // Bob may read none of them: a page stops after a bounded scan, with a cursor.
    let page = bob
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves", "user_id": alice.user_id(), "limit": 5}),
        )
        .await
        .unwrap();
    assert_eq!(page["objects"].as_array().unwrap().len(), 0);
    let mut cursor = page["cursor"].as_str().expect("a cursor").to_string();
    let mut pages = 1;
    loop {
        let page = bob
            .rpc(
                "cloud_save_list",
                json!({"game_id": game, "collection": "saves", "user_id": alice.user_id(),
                       "limit": 5, "cursor": cursor}),
            )
            .await
            .unwrap();
        pages += 1;
        assert_eq!(page["objects"].as_array().unwrap().len(), 0);
        match page["cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 2, "30 objects, 20 read per page");
    // Alice reads her own in full pages.
    let own = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves", "limit": 5}),
        )
        .await
        .unwrap();
    assert_eq!(own["objects"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_level_of_a_huge_profile_does_not_overflow() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let player = server.new_player().await;
    let uid = player.user_id();
    server
        .server_rpc(
            "profile_update",
            json!({"game_id": game, "user_id": uid, "add_xp": u64::MAX}),
        )
        .await
        .unwrap();
    let p = player
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["xp"], u64::MAX);
    assert_eq!(p["profile"]["next_level_xp"], u64::MAX);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_notification_stays_deleted_after_a_crash() {
    // A long periodic flush: only a durable write survives the kill.
    let mut server =
        TestServer::start_with(&["arena"], &[("OUTPOST_STORAGE_FLUSH_EVERY_MS", "60000")]).await;
    let game = server.game("arena");
    let player = server.new_player().await;
    let uid = player.user_id();
    server
        .server_rpc(
            "rewards_grant",
            json!({"game_id": game, "user_id": uid, "reward": {"currencies": {"coins": 5}}, "reason": "gift"}),
        )
        .await
        .unwrap();
    let list = player
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    let id = list["notifications"][0]["id"].clone();
    let gone = player
        .rpc(
            "notifications_delete",
            json!({"game_id": game, "ids": [id]}),
        )
        .await
        .unwrap();
    assert_eq!(gone["deleted"], 1);
    tokio::task::block_in_place(|| server.local.kill());
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.start_again().await;
    let player = outpost::client::Player {
        client: server.client.clone(),
        session: player.session.clone(),
    };
    let list = player
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(list["notifications"].as_array().unwrap().len(), 0, "{list}");
}
