use outpost::client::{Credentials, Player};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::economy_support::player_in;

#[tokio::test(flavor = "multi_thread")]
async fn cloud_saves_keep_versions_and_permissions() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;

    let w = alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "slot1",
                   "value": {"level": 3, "hp": 80}}),
        )
        .await
        .unwrap();
    let v1 = w["ack"]["version"].as_str().unwrap().to_string();
    assert_eq!(v1.len(), 32, "MD5 hex");
    assert_eq!(w["ack"]["user_id"], alice.user_id().to_string());

    let r = alice
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "slot1"}),
        )
        .await
        .unwrap();
    assert_eq!(r["object"]["value"], json!({"level": 3, "hp": 80}));
    assert_eq!(r["object"]["version"], v1);
    assert_eq!(r["object"]["permission_read"], 1);

    // `*` creates only; a stale version is refused and nothing is written.
    let err = alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "slot1",
                   "value": {"level": 1}, "version": "*"}),
        )
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code), (400, Some(3)));
    assert_eq!(
        err.message,
        "Storage write rejected - version check failed."
    );
    let w2 = alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "slot1",
                   "value": {"level": 4}, "version": v1}),
        )
        .await
        .unwrap();
    let v2 = w2["ack"]["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);
    let err = alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "slot1",
                   "value": {"level": 99}, "version": v1}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "Storage write rejected - version check failed."
    );
    let r = alice
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "slot1"}),
        )
        .await
        .unwrap();
    assert_eq!(r["object"]["value"], json!({"level": 4}));

    // Private objects stay private; public ones are readable and listable by others.
    let err = bob
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "slot1", "user_id": alice.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "banner",
                   "value": {"colour": "red"}, "permission_read": 2}),
        )
        .await
        .unwrap();
    let r = bob
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "banner", "user_id": alice.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(r["object"]["value"]["colour"], "red");
    let l = bob
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves", "user_id": alice.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(l["objects"].as_array().unwrap().len(), 1);
    // Nobody writes or deletes another's objects.
    let err = bob
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "saves", "key": "banner",
                   "value": {"colour": "black"}, "user_id": alice.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = bob
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "saves", "key": "banner", "user_id": alice.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);

    // Owner listing, paged.
    for i in 0..3 {
        alice
            .rpc(
                "cloud_save_write",
                json!({"game_id": game, "collection": "saves", "key": format!("z{i}"), "value": {"i": i}}),
            )
            .await
            .unwrap();
    }
    let p1 = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves", "limit": 3}),
        )
        .await
        .unwrap();
    assert_eq!(p1["objects"].as_array().unwrap().len(), 3);
    let p2 = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves", "limit": 3, "cursor": p1["cursor"]}),
        )
        .await
        .unwrap();
    assert_eq!(p2["objects"].as_array().unwrap().len(), 2);
    assert!(p2.get("cursor").is_none());

    // Write permission 0: the owner may no longer change it, a server may.
    alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "progress", "key": "rank",
                   "value": {"rank": 1}, "permission_write": 0}),
        )
        .await
        .unwrap();
    let err = alice
        .rpc(
            "cloud_save_write",
            json!({"game_id": game, "collection": "progress", "key": "rank", "value": {"rank": 99}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.message, "Storage write rejected - permission denied.");
    server
        .server_rpc(
            "cloud_save_write",
            json!({"game_id": game, "user_id": alice.user_id(), "collection": "progress",
                   "key": "rank", "value": {"rank": 2}, "permission_write": 0}),
        )
        .await
        .unwrap();

    // Delete: a stale version is refused; the right one deletes.
    let err = alice
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "saves", "key": "slot1", "version": v1}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "Storage delete rejected - version check failed."
    );
    let d = alice
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "saves", "key": "slot1", "version": v2}),
        )
        .await
        .unwrap();
    assert_eq!(d["deleted"], true);
    let d = alice
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "saves", "key": "slot1"}),
        )
        .await
        .unwrap();
    assert_eq!(d["deleted"], false);

    // Another game sees none of it.
    let err = alice
        .rpc(
            "cloud_save_read",
            json!({"game_id": server.game("other"), "collection": "saves", "key": "banner"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_saves_refuse_bad_values() {
    let server = TestServer::start_with(
        &["arena", "other"],
        &[("OUTPOST_STORAGE_MAX_OBJECT_BYTES", "1024")],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    for (payload, field) in [
        (
            json!({"collection": "s", "key": "k", "value": [1, 2]}),
            "object",
        ),
        (
            json!({"collection": "s", "key": "k", "value": "text"}),
            "object",
        ),
        (
            json!({"collection": "s", "key": "k", "value": {"big": "x".repeat(2000)}}),
            "1024",
        ),
        (
            json!({"collection": "", "key": "k", "value": {}}),
            "collection",
        ),
        (json!({"collection": "s", "key": "", "value": {}}), "key"),
        (
            json!({"collection": "s", "key": "k", "value": {}, "permission_read": 3}),
            "permission_read",
        ),
        (
            json!({"collection": "s", "key": "k", "value": {}, "permission_write": 2}),
            "permission_write",
        ),
        (
            json!({"collection": "s", "key": "k", "value": {}, "owner": "me"}),
            "owner",
        ),
        (json!({"collection": "s", "value": {}}), "key"),
    ] {
        let mut p = payload.clone();
        p["game_id"] = json!(game);
        let err = alice.rpc("cloud_save_write", p).await.unwrap_err();
        assert_eq!(err.status(), 400, "{payload}");
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    let l = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "s"}),
        )
        .await
        .unwrap();
    assert!(
        l["objects"].as_array().unwrap().is_empty(),
        "nothing was written"
    );
    let err = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "s", "limit": 101}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("limit"));
    let err = server
        .server_rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "s", "key": "k"}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("user_id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_batches_read_by_index_and_write_all_or_nothing() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let w = alice
        .rpc(
            "batch_write_storage",
            json!({"game_id": game, "objects": [
                {"collection": "deck", "key": "a", "value": {"cards": [1, 2]}},
                {"collection": "deck", "key": "b", "value": {"cards": [3]}, "permission_read": 2}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(w["acks"].as_array().unwrap().len(), 2);
    let err = alice
        .rpc(
            "batch_write_storage",
            json!({"game_id": game, "objects": [
                {"collection": "deck", "key": "c", "value": {"cards": [4]}},
                {"collection": "deck", "key": "a", "value": {"cards": []}, "version": "*"}
            ]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let r = alice
        .rpc(
            "batch_read_storage",
            json!({"game_id": game, "objects": [
                {"collection": "deck", "key": "a"},
                {"collection": "deck", "key": "c"},
                {"collection": "deck", "key": "b"}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(r["objects"][0]["value"]["cards"], json!([1, 2]));
    assert!(r["objects"][1].is_null(), "the failed batch wrote nothing");
    assert_eq!(r["objects"][2]["key"], "b");
    let bob = server.new_player().await;
    let r = bob
        .rpc(
            "batch_read_storage",
            json!({"game_id": game, "objects": [
                {"collection": "deck", "key": "a", "user_id": alice.user_id()},
                {"collection": "deck", "key": "b", "user_id": alice.user_id()}
            ]}),
        )
        .await
        .unwrap();
    assert!(r["objects"][0].is_null(), "private");
    assert_eq!(r["objects"][1]["value"]["cards"], json!([3]));
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"collection": "deck", "key": format!("k{i}"), "value": {}}))
        .collect();
    let err = alice
        .rpc(
            "batch_write_storage",
            json!({"game_id": game, "objects": too_many}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("objects"));
}

async fn rest(p: &Player, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let r = p
        .client
        .request(
            method,
            path,
            Credentials::Bearer(&p.session.token),
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
        .unwrap();
    (r.status, r.body)
}

#[tokio::test(flavor = "multi_thread")]
async fn nakama_storage_rest_uses_the_session_game() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = player_in(&server, &game).await;
    let bob = player_in(&server, &game).await;
    let stranger = player_in(&server, &server.game("other")).await;

    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage",
        Some(json!({"objects": [
            {"collection": "saves", "key": "slot1", "value": "{\"level\": 3}"},
            {"collection": "saves", "key": "card", "value": "{\"name\": \"ada\"}", "permission_read": 2, "permission_write": 1}
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let acks = body["acks"].as_array().unwrap();
    assert_eq!(acks.len(), 2);
    let v1 = acks[0]["version"].as_str().unwrap().to_string();
    assert_eq!(acks[0]["user_id"], alice.user_id().to_string());

    // The object written through REST is the one the RPC reads, in the session's game.
    let r = alice
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "slot1"}),
        )
        .await
        .unwrap();
    assert_eq!(r["object"]["version"], v1);

    let (status, body) = rest(
        &alice,
        Method::POST,
        "/v2/storage",
        Some(json!({"object_ids": [
            {"collection": "saves", "key": "slot1", "user_id": alice.user_id()},
            {"collection": "saves", "key": "missing", "user_id": alice.user_id()}
        ]})),
    )
    .await;
    assert_eq!(status, 200);
    let objects = body["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["value"], "{\"level\":3}");
    assert_eq!(objects[0]["version"], v1);
    assert_eq!(objects[0]["permission_read"], 1);

    // Stale version: Nakama's 400 / code 3.
    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage",
        Some(json!({"objects": [{"collection": "saves", "key": "slot1", "value": "{}", "version": "0123456789abcdef0123456789abcdef"}]})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 3);
    assert_eq!(
        body["message"],
        "Storage write rejected - version check failed."
    );
    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage",
        Some(json!({"objects": [{"collection": "saves", "key": "slot1", "value": "[1]"}]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("object"));

    // Listing: own collection, another's public objects, limits and cursors.
    let (status, body) = rest(&alice, Method::GET, "/v2/storage/saves?limit=1", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["objects"].as_array().unwrap().len(), 1, "{body}");
    let (_, public) = rest(&bob, Method::GET, "/v2/storage/saves", None).await;
    let public = public["objects"].as_array().unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["key"], "card");
    let (_, mine) = rest(
        &alice,
        Method::GET,
        &format!("/v2/storage/saves/{}?limit=1&", alice.user_id()),
        None,
    )
    .await;
    assert_eq!(mine["objects"].as_array().unwrap().len(), 1);
    let cursor = mine["cursor"].as_str().unwrap();
    let (_, rest_page) = rest(
        &alice,
        Method::GET,
        &format!(
            "/v2/storage/saves/{}?limit=1&cursor={cursor}",
            alice.user_id()
        ),
        None,
    )
    .await;
    assert_eq!(rest_page["objects"].as_array().unwrap().len(), 1);
    assert_ne!(rest_page["objects"][0]["key"], mine["objects"][0]["key"]);
    let (_, bobs_view) = rest(
        &bob,
        Method::GET,
        &format!("/v2/storage/saves?user_id={}", alice.user_id()),
        None,
    )
    .await;
    assert_eq!(bobs_view["objects"].as_array().unwrap().len(), 1);
    for bad in ["0", "101", "many"] {
        let (status, body) = rest(
            &alice,
            Method::GET,
            &format!("/v2/storage/saves?limit={bad}"),
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert!(body["message"].as_str().unwrap().contains("limit"));
    }
    let (_, theirs) = rest(&stranger, Method::GET, "/v2/storage/saves", None).await;
    assert!(
        theirs["objects"].as_array().unwrap().is_empty(),
        "another game's session sees nothing"
    );

    // Bob cannot delete Alice's object; Alice deletes hers.
    let (status, _) = rest(
        &bob,
        Method::PUT,
        "/v2/storage/delete",
        Some(json!({"object_ids": [{"collection": "saves", "key": "card", "user_id": alice.user_id()}]})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage/delete",
        Some(json!({"object_ids": [{"collection": "saves", "key": "slot1", "version": v1}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({}));
    let (_, after) = rest(
        &alice,
        Method::POST,
        "/v2/storage",
        Some(json!({"object_ids": [{"collection": "saves", "key": "slot1"}]})),
    )
    .await;
    assert!(after["objects"].as_array().unwrap().is_empty());

    // Without a session: refused.
    let r = server
        .client
        .request(Method::GET, "/v2/storage/saves", Credentials::None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn public_listing_follows_permission_changes_and_a_quota_caps_each_player() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_STORAGE_MAX_OBJECTS_PER_USER", "4")]).await;
    let game = server.game("arena");
    let alice = player_in(&server, &game).await;
    let bob = player_in(&server, &game).await;
    let write = |key: &str, read: u8| {
        json!({"game_id": game, "collection": "cards", "key": key,
               "value": {"k": key}, "permission_read": read})
    };
    // Private objects around two public ones.
    for (key, read) in [("a", 1), ("b", 2), ("c", 1), ("d", 2)] {
        alice
            .rpc("cloud_save_write", write(key, read))
            .await
            .unwrap();
    }
    let keys = |body: &Value| -> Vec<String> {
        body["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["key"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, page1) = rest(&bob, Method::GET, "/v2/storage/cards?limit=1", None).await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(keys(&page1), ["b"]);
    let cursor = page1["cursor"].as_str().unwrap();
    let (_, page2) = rest(
        &bob,
        Method::GET,
        &format!("/v2/storage/cards?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(keys(&page2), ["d"]);
    assert!(page2.get("cursor").is_none(), "{page2}");

    // Made private, "b" leaves the public listing; made public, "c" joins it.
    alice.rpc("cloud_save_write", write("b", 1)).await.unwrap();
    alice.rpc("cloud_save_write", write("c", 2)).await.unwrap();
    let (_, public) = rest(&bob, Method::GET, "/v2/storage/cards", None).await;
    assert_eq!(keys(&public), ["c", "d"]);
    // Deleted, "d" leaves it too.
    alice
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "cards", "key": "d"}),
        )
        .await
        .unwrap();
    let (_, public) = rest(&bob, Method::GET, "/v2/storage/cards", None).await;
    assert_eq!(keys(&public), ["c"]);

    // Three objects held, quota 4: one more fits, the next is refused naming the quota.
    alice.rpc("cloud_save_write", write("e", 1)).await.unwrap();
    let err = alice
        .rpc("cloud_save_write", write("f", 1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.message.contains("storage.max_objects_per_user") && err.message.contains('4'),
        "{}",
        err.message
    );
    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage",
        Some(json!({"objects": [{"collection": "cards", "key": "g", "value": "{}"}]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("quota"),
        "{body}"
    );
    // Overwriting a held object is no new object; a delete frees a place.
    alice.rpc("cloud_save_write", write("e", 2)).await.unwrap();
    alice
        .rpc(
            "cloud_save_delete",
            json!({"game_id": game, "collection": "cards", "key": "a"}),
        )
        .await
        .unwrap();
    alice.rpc("cloud_save_write", write("f", 1)).await.unwrap();
    // Another player's quota is their own.
    bob.rpc("cloud_save_write", write("a", 1)).await.unwrap();
    let (_, public) = rest(&bob, Method::GET, "/v2/storage/cards", None).await;
    assert_eq!(keys(&public), ["c", "e"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_rest_routes_are_admitted_like_the_storage_rpcs() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "3"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = player_in(&server, &game).await;
    // REST listings and reads spend the player's read budget, as the RPCs do…
    for _ in 0..2 {
        let (status, body) = rest(&alice, Method::GET, "/v2/storage/saves", None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = rest(
        &alice,
        Method::POST,
        "/v2/storage",
        Some(json!({"object_ids": [{"collection": "saves", "key": "slot1"}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = rest(&alice, Method::GET, "/v2/storage/saves", None).await;
    assert_eq!(status, 429, "{body}");
    // …the budget the RPCs draw from too.
    let err = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "saves"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 429);
    // Writes have their own budget and still go through.
    let (status, body) = rest(
        &alice,
        Method::PUT,
        "/v2/storage",
        Some(json!({"objects": [{"collection": "saves", "key": "slot1", "value": "{}"}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
