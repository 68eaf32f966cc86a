use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::TestServer;
use crate::economy_support::{balance, ledger_sum, whole_ledger};

#[tokio::test(flavor = "multi_thread")]
async fn wallet_update_moves_balances_and_writes_the_ledger() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();

    let empty = alice
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(empty["wallet"], json!({}));

    let r = server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": uid, "changeset": {"coins": 100, "gems": 5},
                   "reason": "starter pack", "metadata": {"sku": "starter"}}),
        )
        .await
        .unwrap();
    assert_eq!(r["success"], true);
    assert_eq!(r["wallet"], json!({"coins": 100, "gems": 5}));
    assert_eq!(r["entry"]["seq"], 1);
    assert_eq!(r["entry"]["metadata"]["sku"], "starter");
    for (delta, reason) in [(-30, "shop"), (7, "quest")] {
        server
            .server_rpc(
                "wallet_update",
                json!({"game_id": game, "user_id": uid, "changeset": {"coins": delta}, "reason": reason}),
            )
            .await
            .unwrap();
    }
    let w = alice
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({"coins": 77, "gems": 5}));

    // Newest first, paged with a cursor.
    let page1 = alice
        .rpc("wallet_ledger_list", json!({"game_id": game, "limit": 2}))
        .await
        .unwrap();
    let entries = page1["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["reason"], "quest");
    assert_eq!(entries[0]["balances"]["coins"], 77);
    assert_eq!(entries[1]["reason"], "shop");
    let cursor = page1["cursor"].as_str().unwrap();
    let page2 = alice
        .rpc(
            "wallet_ledger_list",
            json!({"game_id": game, "limit": 2, "cursor": cursor}),
        )
        .await
        .unwrap();
    assert_eq!(page2["entries"].as_array().unwrap().len(), 1);
    assert_eq!(page2["entries"][0]["reason"], "starter pack");
    assert!(page2.get("cursor").is_none());

    // Another game's wallet is a different wallet.
    let other = alice
        .rpc("wallet_get", json!({"game_id": server.game("other")}))
        .await
        .unwrap();
    assert_eq!(other["wallet"], json!({}));
}

#[tokio::test(flavor = "multi_thread")]
async fn players_cannot_mint_coins_or_read_other_wallets() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let err = alice
        .rpc(
            "wallet_update",
            json!({"game_id": game, "changeset": {"coins": 5}, "reason": "please"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(
        balance(&server, &game, &alice.user_id().to_string(), "coins").await,
        0
    );
    let err = alice
        .rpc(
            "wallet_get",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = alice
        .rpc(
            "wallet_ledger_list",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = alice
        .rpc(
            "wallet_get",
            json!({"game_id": "00000000-0000-0000-0000-000000000001"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let err = server
        .server_rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "a server must name user_id");
    assert!(err.message.contains("user_id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_wallet_input_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": uid, "changeset": {"coins": 10}, "reason": "seed"}),
        )
        .await
        .unwrap();
    let cases = [
        (json!({"changeset": {"coins": 1}}), "reason"),
        (json!({"changeset": {}, "reason": "x"}), "changeset"),
        (
            json!({"changeset": {"coins": "5"}, "reason": "x"}),
            "changeset",
        ),
        (json!({"changeset": {"": 5}, "reason": "x"}), "currency"),
        (
            json!({"changeset": {"coins": 1}, "reason": "x", "colour": "red"}),
            "colour",
        ),
        (
            json!({"changeset": {"coins": 1}, "reason": "x", "metadata": [1]}),
            "metadata",
        ),
        (
            json!({"changeset": {"coins": 1}, "reason": "x", "idempotency_key": ""}),
            "idempotency_key",
        ),
        (
            json!({"changeset": {"coins": 1}, "reason": "x", "user_id": "nobody"}),
            "user_id",
        ),
    ];
    for (mut payload, field) in cases {
        payload["game_id"] = json!(game);
        if payload.get("user_id").is_none() {
            payload["user_id"] = json!(uid);
        }
        let err = server
            .server_rpc("wallet_update", payload.clone())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{payload}");
        assert!(
            err.message.contains(field),
            "error for {payload} should name {field}: {}",
            err.message
        );
    }
    // A change that would take any balance below zero is refused whole.
    let err = server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": uid, "changeset": {"coins": -11, "gems": 50}, "reason": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.code, Some(9));
    assert!(
        err.message.contains("insufficient coins"),
        "{}",
        err.message
    );
    let w = alice
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({"coins": 10}));
    assert_eq!(whole_ledger(&server, &game, &uid).await.len(), 1);

    for (payload, field) in [
        (json!({"game_id": game, "limit": 0}), "limit"),
        (json!({"game_id": game, "limit": 101}), "limit"),
        (json!({"game_id": game, "cursor": "%%%"}), "cursor"),
    ] {
        let err = alice.rpc("wallet_ledger_list", payload).await.unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message.contains(field), "{}", err.message);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_retried_ten_times_applies_once() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let payload = json!({"game_id": game, "user_id": uid, "changeset": {"coins": 25},
                         "reason": "purchase", "idempotency_key": "order-7781"});
    let mut calls = Vec::new();
    for _ in 0..10 {
        let client = server.client.clone();
        let key = server.local.http_key.clone();
        let p = payload.clone();
        calls.push(tokio::spawn(async move {
            client.rpc_as_server(&key, "wallet_update", p).await
        }));
    }
    let mut replayed = 0;
    let mut seqs = BTreeSet::new();
    for c in calls {
        let r = c.await.unwrap().unwrap();
        assert_eq!(r["wallet"]["coins"], 25);
        seqs.insert(r["entry"]["seq"].as_u64().unwrap());
        if r["replayed"] == true {
            replayed += 1;
        }
    }
    assert_eq!(replayed, 9);
    assert_eq!(seqs.len(), 1, "every retry answers with the one entry");
    assert_eq!(balance(&server, &game, &uid, "coins").await, 25);
    assert_eq!(whole_ledger(&server, &game, &uid).await.len(), 1);

    // The same key for a different change is refused.
    let mut other = payload.clone();
    other["changeset"] = json!({"coins": 999});
    let err = server.server_rpc("wallet_update", other).await.unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(err.message.contains("order-7781"));
    assert_eq!(balance(&server, &game, &uid, "coins").await, 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_debits_never_go_negative() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": uid, "changeset": {"coins": 30}, "reason": "seed"}),
        )
        .await
        .unwrap();
    let mut calls = Vec::new();
    for i in 0..50 {
        let client = server.client.clone();
        let key = server.local.http_key.clone();
        let p = json!({"game_id": game, "user_id": uid, "changeset": {"coins": -1},
                       "reason": format!("debit {i}")});
        calls.push(tokio::spawn(async move {
            client.rpc_as_server(&key, "wallet_update", p).await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for c in calls {
        match c.await.unwrap() {
            Ok(r) => {
                assert!(r["wallet"]["coins"].as_i64().unwrap() >= 0);
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.status(), 400, "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (30, 20));
    let coins = balance(&server, &game, &uid, "coins").await;
    assert_eq!(coins, 0);
    let ledger = whole_ledger(&server, &game, &uid).await;
    assert_eq!(ledger.len(), 31);
    assert_eq!(ledger_sum(&ledger, "coins"), coins);
    for e in &ledger {
        assert!(e["balances"]["coins"].as_i64().unwrap() >= 0);
    }
}

/// A child server takes a stream of wallet updates and is killed with SIGKILL mid-stream;
/// after a restart every answered update is in the balance and the ledger exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn answered_wallet_updates_survive_kill_9() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let answered: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let client = server.client.clone();
        let key = server.local.http_key.clone();
        let answered = answered.clone();
        let (game, uid) = (game.clone(), uid.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let op = w * 1_000_000 + n;
                let p = json!({"game_id": game, "user_id": uid, "changeset": {"coins": 1 + (op % 3) as i64},
                               "reason": "stream", "metadata": {"op": op}});
                match client.rpc_as_server(&key, "wallet_update", p).await {
                    Ok(_) => answered.lock().unwrap().push(op),
                    Err(_) => return,
                }
            }
        }));
    }
    // Let the stream run, then kill the server in the middle of it.
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if answered.lock().unwrap().len() >= 150 {
            break;
        }
    }
    tokio::task::block_in_place(|| server.local.kill());
    for w in writers {
        w.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() >= 20,
        "only {} updates answered",
        answered.len()
    );
    tokio::task::block_in_place(|| server.local.restart()).expect("restart");
    server.client = server.local.client();

    let ledger = whole_ledger(&server, &game, &uid).await;
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for e in &ledger {
        *seen
            .entry(e["metadata"]["op"].as_u64().unwrap())
            .or_default() += 1;
    }
    for op in &answered {
        assert_eq!(
            seen.get(op),
            Some(&1),
            "answered op {op} must be in the ledger once"
        );
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "no op is in the ledger twice"
    );
    let coins = balance(&server, &game, &uid, "coins").await;
    assert_eq!(
        ledger_sum(&ledger, "coins"),
        coins,
        "ledger and balance agree"
    );
    // Sequence numbers run without gaps and each entry's balance is the running total.
    let mut running = 0;
    for (i, e) in ledger.iter().rev().enumerate() {
        assert_eq!(e["seq"].as_u64(), Some(i as u64 + 1));
        running += e["changeset"]["coins"].as_i64().unwrap();
        assert_eq!(e["balances"]["coins"].as_i64(), Some(running));
    }
}
