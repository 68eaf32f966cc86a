use serde_json::{json, Value};

use crate::common::TestServer;
use crate::economy_support::{balance, whole_ledger};

async fn inventory(server: &TestServer, game: &str, user: &str) -> Value {
    server
        .server_rpc("inventory_list", json!({"game_id": game, "user_id": user}))
        .await
        .unwrap()["items"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_atomic_batch_with_one_failing_op_changes_nothing() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": uid, "changeset": {"coins": 100}, "reason": "seed"}),
        )
        .await
        .unwrap();
    let ops = |debit: i64| {
        json!([
            {"rpc_id": "wallet_update", "payload": {"user_id": uid, "changeset": {"coins": 40}, "reason": "quest"}},
            {"rpc_id": "inventory_grant", "payload": {"user_id": uid, "items": [{"id": "chest", "quantity": 2}]}},
            {"rpc_id": "cloud_save_write", "payload": {"user_id": uid, "collection": "saves", "key": "slot1", "value": {"level": 9}}},
            {"rpc_id": "inventory_consume", "payload": {"user_id": uid, "items": [{"id": "chest", "quantity": 1}]}},
            {"rpc_id": "wallet_update", "payload": {"user_id": uid, "changeset": {"coins": -debit}, "reason": "shop"}}
        ])
    };
    let err = server
        .server_rpc(
            "batch_execute",
            json!({"game_id": game, "atomic": true, "operations": ops(500)}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.message.contains("operations[4] (wallet_update)")
            && err.message.contains("nothing was applied")
            && err.message.contains("insufficient coins"),
        "{}",
        err.message
    );
    assert_eq!(balance(&server, &game, &uid, "coins").await, 100);
    assert_eq!(whole_ledger(&server, &game, &uid).await.len(), 1);
    assert_eq!(inventory(&server, &game, &uid).await, json!([]));
    let err = alice
        .rpc(
            "cloud_save_read",
            json!({"game_id": game, "collection": "saves", "key": "slot1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);

    // The same batch with an affordable debit applies every operation, in order.
    let r = server
        .server_rpc(
            "batch_execute",
            json!({"game_id": game, "atomic": true, "operations": ops(120)}),
        )
        .await
        .unwrap();
    assert_eq!(r["successful_operations"], 5);
    assert_eq!(r["failed_operations"], 0);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results[0]["data"]["wallet"]["coins"], 140);
    assert_eq!(results[2]["data"]["acks"][0]["key"], "slot1");
    assert_eq!(results[3]["data"]["items"][0]["quantity"], 1);
    assert_eq!(results[4]["operation_index"], 4);
    assert_eq!(results[4]["data"]["wallet"]["coins"], 20);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 20);
    assert_eq!(inventory(&server, &game, &uid).await[0]["quantity"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn atomic_mode_refuses_what_cannot_join_a_transaction() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let err = server
        .server_rpc(
            "batch_execute",
            json!({"game_id": game, "atomic": true, "operations": [
                {"rpc_id": "wallet_update", "payload": {"user_id": uid, "changeset": {"coins": 5}, "reason": "x"}},
                {"rpc_id": "wallet_get", "payload": {"user_id": uid}}
            ]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.message.contains("operations[1] (wallet_get)")
            && err.message.contains("cannot join an atomic batch"),
        "{}",
        err.message
    );
    assert_eq!(balance(&server, &game, &uid, "coins").await, 0);

    // Each operation keeps its own caller class: a player cannot mint through a batch.
    let err = alice
        .rpc(
            "batch_execute",
            json!({"game_id": game, "atomic": true, "operations": [
                {"rpc_id": "cloud_save_write", "payload": {"collection": "s", "key": "k", "value": {}}},
                {"rpc_id": "wallet_update", "payload": {"changeset": {"coins": 5}, "reason": "x"}}
            ]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(err.message.contains("operations[1]"));
    let l = alice
        .rpc(
            "cloud_save_list",
            json!({"game_id": game, "collection": "s"}),
        )
        .await
        .unwrap();
    assert!(l["objects"].as_array().unwrap().is_empty());

    // One game per atomic batch.
    let err = server
        .server_rpc(
            "batch_execute",
            json!({"game_id": game, "atomic": true, "operations": [
                {"rpc_id": "wallet_update", "payload": {"user_id": uid, "changeset": {"coins": 5}, "reason": "x"}},
                {"rpc_id": "wallet_update", "payload": {"game_id": server.game("other"), "user_id": uid, "changeset": {"coins": 5}, "reason": "x"}}
            ]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("one game"));

    // Caps and shape.
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"rpc_id": "wallet_get", "payload": {"user_id": uid}}))
        .collect();
    for (payload, field) in [
        (json!({"game_id": game, "operations": many}), "operations"),
        (json!({"game_id": game, "operations": []}), "operations"),
        (
            json!({"game_id": game, "operations": [{"rpc_id": "batch_execute", "payload": {}}]}),
            "another batch_execute",
        ),
        (
            json!({"game_id": game, "operations": [{"payload": {}}]}),
            "rpc_id",
        ),
        (
            json!({"game_id": game, "atomic": "yes", "operations": []}),
            "atomic",
        ),
    ] {
        let err = server
            .server_rpc("batch_execute", payload.clone())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{payload}");
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_batch_runs_each_operation_and_reports_by_index() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let r = alice
        .rpc(
            "batch_execute",
            json!({"game_id": game, "operations": [
                {"rpc_id": "cloud_save_write", "payload": {"collection": "s", "key": "k", "value": {"a": 1}}},
                {"rpc_id": "wallet_update", "payload": {"changeset": {"coins": 5}, "reason": "x"}},
                {"rpc_id": "no_such_rpc", "payload": {}},
                {"rpc_id": "wallet_get"},
                {"rpc_id": "profile_get", "payload": {"game_id": server.game("other")}}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(r["atomic"], false);
    assert_eq!(r["total_operations"], 5);
    assert_eq!(r["successful_operations"], 3);
    assert_eq!(r["failed_operations"], 2);
    let res = r["results"].as_array().unwrap();
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[0]["data"]["ack"]["key"], "k");
    assert_eq!(res[1]["success"], false);
    assert_eq!(res[1]["code"], 7);
    assert_eq!(res[2]["success"], false);
    assert_eq!(res[2]["code"], 5);
    assert_eq!(res[3]["data"]["wallet"], json!({}));
    assert_eq!(res[4]["success"], true);
    assert_eq!(res[4]["data"]["profile"]["game_id"], server.game("other"));
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_wallet_operations_are_all_or_nothing() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let (a, b) = (alice.user_id().to_string(), bob.user_id().to_string());
    let err = alice
        .rpc(
            "batch_wallet_operations",
            json!({"game_id": game, "operations": [{"user_id": a, "changeset": {"coins": 5}, "reason": "x"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // A transfer that Bob cannot afford moves nothing for anyone.
    let err = server
        .server_rpc(
            "batch_wallet_operations",
            json!({"game_id": game, "operations": [
                {"user_id": a, "changeset": {"coins": 30}, "reason": "trade"},
                {"user_id": b, "changeset": {"coins": -30}, "reason": "trade"}
            ]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("operations[1]"), "{}", err.message);
    assert_eq!(balance(&server, &game, &a, "coins").await, 0);
    let r = server
        .server_rpc(
            "batch_wallet_operations",
            json!({"game_id": game, "operations": [
                {"user_id": b, "changeset": {"coins": 50}, "reason": "grant"},
                {"user_id": b, "changeset": {"coins": -30}, "reason": "trade"},
                {"user_id": a, "changeset": {"coins": 30}, "reason": "trade"}
            ]}),
        )
        .await
        .unwrap();
    let res = r["results"].as_array().unwrap();
    assert_eq!(res[0]["wallet"]["coins"], 50);
    assert_eq!(res[1]["wallet"]["coins"], 20);
    assert_eq!(res[2]["wallet"]["coins"], 30);
    assert_eq!(balance(&server, &game, &b, "coins").await, 20);
    let err = server
        .server_rpc(
            "batch_wallet_operations",
            json!({"game_id": game, "operations": [{"user_id": a, "changeset": {"coins": 1}}]}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("reason"), "{}", err.message);
}
