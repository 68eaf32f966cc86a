use serde_json::json;

use crate::common::TestServer;
use crate::economy_support::balance;

#[tokio::test(flavor = "multi_thread")]
async fn inventory_holds_stacks_and_unique_items() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();

    let r = server
        .server_rpc(
            "inventory_grant",
            json!({"game_id": game, "user_id": uid, "items": [
                {"id": "potion", "quantity": 3, "properties": {"heal": 50}},
                {"id": "sword", "quantity": 2, "unique": true, "properties": {"damage": 12}}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(r["items"][0]["quantity"], 3);
    assert_eq!(r["items"][1]["instances"].as_array().unwrap().len(), 2);
    server
        .server_rpc(
            "inventory_grant",
            json!({"game_id": game, "user_id": uid, "items": [{"id": "potion", "quantity": 2}]}),
        )
        .await
        .unwrap();

    let list = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let potion = items.iter().find(|i| i["id"] == "potion").unwrap();
    assert_eq!(potion["quantity"], 5);
    assert_eq!(potion["properties"]["heal"], 50);
    let sword = items.iter().find(|i| i["id"] == "sword").unwrap();
    assert_eq!(sword["unique"], true);
    assert_eq!(sword["instances"][0]["properties"]["damage"], 12);
    let first_sword = sword["instances"][0]["instance_id"].clone();

    // Consuming more than owned is refused and changes nothing.
    let err = alice
        .rpc(
            "inventory_consume",
            json!({"game_id": game, "items": [{"id": "potion", "quantity": 1}, {"id": "potion", "quantity": 9}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("not enough potion"), "{}", err.message);
    let err = alice
        .rpc(
            "inventory_consume",
            json!({"game_id": game, "items": [{"id": "shield", "quantity": 1}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);

    let r = alice
        .rpc(
            "inventory_consume",
            json!({"game_id": game, "items": [{"id": "potion", "quantity": 5}, {"id": "sword", "instance_ids": [first_sword]}]}),
        )
        .await
        .unwrap();
    assert_eq!(r["items"][0]["quantity"], 0);
    assert_eq!(r["items"][1]["quantity"], 1);
    let list = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "a used-up stack is gone");
    assert_eq!(items[0]["id"], "sword");
    assert_ne!(items[0]["instances"][0]["instance_id"], first_sword);
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_refuses_bad_input_and_player_grants() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let err = alice
        .rpc(
            "inventory_grant",
            json!({"game_id": game, "items": [{"id": "gold_sword", "quantity": 1}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let bob = server.new_player().await;
    let err = bob
        .rpc("inventory_list", json!({"game_id": game, "user_id": uid}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = bob
        .rpc(
            "inventory_consume",
            json!({"game_id": game, "user_id": uid, "items": [{"id": "potion", "quantity": 1}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    for (items, field) in [
        (json!([{"id": "potion", "quantity": 0}]), "quantity"),
        (json!([{"id": "", "quantity": 1}]), "id"),
        (
            json!([{"id": "potion", "quantity": 1, "rarity": "epic"}]),
            "rarity",
        ),
        (json!([{"id": "potion", "quantity": -1}]), "quantity"),
        (json!([]), "items"),
    ] {
        let err = server
            .server_rpc(
                "inventory_grant",
                json!({"game_id": game, "user_id": uid, "items": items}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{items}");
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    // A stackable id cannot later be granted as unique.
    server
        .server_rpc(
            "inventory_grant",
            json!({"game_id": game, "user_id": uid, "items": [{"id": "potion", "quantity": 1}]}),
        )
        .await
        .unwrap();
    let err = server
        .server_rpc(
            "inventory_grant",
            json!({"game_id": game, "user_id": uid, "items": [{"id": "potion", "quantity": 1, "unique": true}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let err = alice
        .rpc(
            "inventory_consume",
            json!({"game_id": game, "items": [{"id": "potion", "quantity": 1, "instance_ids": ["00000000-0000-0000-0000-000000000001"]}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let list = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(list["items"][0]["quantity"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_reward_lands_everywhere_and_notifies_the_player() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let reward = json!({"currencies": {"coins": 150, "gems": 2},
                        "items": [{"id": "chest", "quantity": 1}],
                        "xp": 350, "badge": "first_blood", "title": "Rookie"});
    let err = alice
        .rpc(
            "rewards_grant",
            json!({"game_id": game, "user_id": uid, "reward": reward, "reason": "self-made"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);

    let r = server
        .server_rpc(
            "rewards_grant",
            json!({"game_id": game, "user_id": uid, "reward": reward, "reason": "achievement"}),
        )
        .await
        .unwrap();
    let g = &r["granted"];
    assert_eq!(g["currencies"], json!({"coins": 150, "gems": 2}));
    assert_eq!(g["wallet"]["coins"], 150);
    assert_eq!(g["items"][0]["id"], "chest");
    assert_eq!(g["xp"], 350);
    assert_eq!(g["level"], 3);
    assert_eq!(g["levels_gained"], 2);
    assert_eq!(g["badge"], "first_blood");
    assert_eq!(g["title"], "Rookie");

    assert_eq!(balance(&server, &game, &uid, "coins").await, 150);
    let p = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["xp"], 350);
    assert_eq!(p["profile"]["badges"], json!(["first_blood"]));
    assert_eq!(p["profile"]["titles"], json!(["Rookie"]));
    let inv = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(inv["items"][0]["id"], "chest");

    // The same badge again is not "new".
    let again = server
        .server_rpc(
            "rewards_grant",
            json!({"game_id": game, "user_id": uid, "reward": {"badge": "first_blood"}, "reason": "again"}),
        )
        .await
        .unwrap();
    assert!(again["granted"]["badge"].is_null());

    // The player was notified, newest first.
    let n = alice
        .rpc("notifications_list", json!({"game_id": game, "limit": 1}))
        .await
        .unwrap();
    let list = n["notifications"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], 100);
    assert_eq!(list[0]["content"]["reason"], "again");
    let cursor = n["cursor"].as_str().unwrap();
    let older = alice
        .rpc(
            "notifications_list",
            json!({"game_id": game, "limit": 1, "cursor": cursor}),
        )
        .await
        .unwrap();
    assert_eq!(
        older["notifications"][0]["content"]["reason"],
        "achievement"
    );
    assert_eq!(
        older["notifications"][0]["content"]["granted"]["currencies"]["coins"],
        150
    );
    let id = older["notifications"][0]["id"].clone();

    // Bad rewards change nothing.
    for (bad, field) in [
        (json!({"currencies": {"coins": -5}}), "coins"),
        (
            json!({"items": [{"id": "chest", "quantity": 0}]}),
            "quantity",
        ),
        (json!({"xp": "lots"}), "xp"),
        (json!({"gold": 5}), "gold"),
    ] {
        let err = server
            .server_rpc(
                "rewards_grant",
                json!({"game_id": game, "user_id": uid, "reward": bad, "reason": "bad"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    assert_eq!(balance(&server, &game, &uid, "coins").await, 150);

    // Deleting: only one's own notifications.
    let bob = server.new_player().await;
    let none = bob
        .rpc(
            "notifications_delete",
            json!({"game_id": game, "ids": [id]}),
        )
        .await
        .unwrap();
    assert_eq!(none["deleted"], 0);
    let gone = alice
        .rpc(
            "notifications_delete",
            json!({"game_id": game, "ids": [id]}),
        )
        .await
        .unwrap();
    assert_eq!(gone["deleted"], 1);
    let left = alice
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(left["notifications"].as_array().unwrap().len(), 1);
    let err = alice
        .rpc("notifications_delete", json!({"game_id": game, "ids": []}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let err = alice
        .rpc(
            "notifications_delete",
            json!({"game_id": game, "ids": ["x"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("ids"));
}

fn seven_days() -> serde_json::Value {
    json!((1..=7)
        .map(|d| json!({"currencies": {"coins": d * 10}, "xp": 10}))
        .collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_rewards_pay_once_per_utc_day() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();

    let err = alice
        .rpc("daily_rewards_get_status", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("not configured"));
    let err = alice
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": seven_days()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = server
        .server_rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": seven_days()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403, "the table is an admin's");
    let err = admin
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": [{"currencies": {"coins": 1}}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("days"));
    let mut bad = seven_days();
    bad[3]["currencies"]["coins"] = json!(-1);
    let err = admin
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": bad}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("days[3]"), "{}", err.message);
    admin
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": seven_days()}),
        )
        .await
        .unwrap();

    let s = alice
        .rpc("daily_rewards_get_status", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(s["claimable"], true);
    assert_eq!(s["next_day"], 1);
    assert_eq!(s["streak"], 0);
    assert_eq!(s["next_reward"]["currencies"]["coins"], 10);

    let c = alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(c["day"], 1);
    assert_eq!(c["streak"], 1);
    assert_eq!(c["granted"]["currencies"]["coins"], 10);
    assert!(c["next_claim_time"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00Z"));
    assert_eq!(balance(&server, &game, &uid, "coins").await, 10);

    let err = alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 10);
    let s = alice
        .rpc("daily_rewards_get_status", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(s["claimable"], false);
    assert_eq!(s["streak_day"], 1);
    assert_eq!(s["streak"], 1);
    assert_eq!(s["next_day"], 2);
    assert_eq!(s["next_claim_time"], c["next_claim_time"]);

    // Concurrent claims by a second player: exactly one pays.
    let bob = server.new_player().await;
    let mut claims = Vec::new();
    for _ in 0..8 {
        let bob = bob.clone();
        let game = game.clone();
        claims.push(tokio::spawn(async move {
            bob.rpc("daily_rewards_claim", json!({"game_id": game}))
                .await
        }));
    }
    let mut paid = 0;
    for c in claims {
        if c.await.unwrap().is_ok() {
            paid += 1;
        }
    }
    assert_eq!(paid, 1);
    assert_eq!(
        balance(&server, &game, &bob.user_id().to_string(), "coins").await,
        10
    );
    let err = alice
        .rpc(
            "daily_rewards_claim",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_missions_progress_and_pay_once() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let missions = json!([
        {"id": "kill_5", "title": "Defeat 5 enemies", "stat": "kills", "target": 5,
         "reward": {"currencies": {"coins": 50}, "xp": 20}},
        {"id": "play_3", "title": "Play 3 matches", "stat": "matches", "target": 3,
         "reward": {"items": [{"id": "chest", "quantity": 1}]}},
        {"id": "login", "title": "Open the game", "stat": "logins", "target": 1,
         "reward": {"currencies": {"gems": 1}}, "progress_by": "player"}
    ]);
    let err = alice
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": missions}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": missions, "daily_count": 4}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("daily_count"));
    let mut bad = missions.clone();
    bad[1]["target"] = json!(0);
    let err = admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": bad}),
        )
        .await
        .unwrap_err();
    assert!(
        err.message.contains("missions[1].target"),
        "{}",
        err.message
    );
    let set = admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": missions}),
        )
        .await
        .unwrap();
    assert_eq!(set["daily_count"], 3);

    let daily = alice
        .rpc("missions_get_daily", json!({"game_id": game}))
        .await
        .unwrap();
    let again = alice
        .rpc("missions_get_daily", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(
        daily["missions"], again["missions"],
        "the selection is stable"
    );
    assert_eq!(daily["missions"].as_array().unwrap().len(), 3);

    // Server-reported missions refuse players; player-reported ones accept them.
    let err = alice
        .rpc(
            "missions_update_progress",
            json!({"game_id": game, "mission_id": "kill_5", "amount": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let r = alice
        .rpc(
            "missions_update_progress",
            json!({"game_id": game, "stat": "logins"}),
        )
        .await
        .unwrap();
    assert_eq!(r["updated"][0]["completed"], true);

    // Progress is capped at the target.
    let r = server
        .server_rpc(
            "missions_update_progress",
            json!({"game_id": game, "user_id": uid, "stat": "kills", "amount": 3}),
        )
        .await
        .unwrap();
    assert_eq!(r["updated"][0]["progress"], 3);
    let err = alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": "kill_5"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("3/5"));
    let r = server
        .server_rpc(
            "missions_update_progress",
            json!({"game_id": game, "user_id": uid, "mission_id": "kill_5", "amount": 100}),
        )
        .await
        .unwrap();
    assert_eq!(r["updated"][0]["progress"], 5);

    let c = alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": "kill_5"}),
        )
        .await
        .unwrap();
    assert_eq!(c["granted"]["currencies"]["coins"], 50);
    assert_eq!(c["mission"]["claimed"], true);
    let err = alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": "kill_5"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 50);

    for (payload, status, field) in [
        (json!({"game_id": game, "mission_id": "nope"}), 404, "nope"),
        (json!({"game_id": game}), 400, "mission_id"),
        (
            json!({"game_id": game, "mission_id": "login", "stat": "logins"}),
            400,
            "mission_id",
        ),
        (
            json!({"game_id": game, "stat": "logins", "amount": 0}),
            400,
            "amount",
        ),
    ] {
        let err = alice
            .rpc("missions_update_progress", payload.clone())
            .await
            .unwrap_err();
        assert_eq!(err.status(), status, "{payload}");
        assert!(err.message.contains(field), "{}", err.message);
    }
    let err = alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_player_gets_a_deterministic_draw_from_a_larger_pool() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let pool: Vec<_> = (0..12)
        .map(|i| {
            json!({"id": format!("m{i}"), "title": format!("Mission {i}"), "stat": "kills",
                        "target": 1, "reward": {"xp": 5}})
        })
        .collect();
    admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": pool, "daily_count": 3}),
        )
        .await
        .unwrap();
    let mut draws = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let p = server.new_player().await;
        let a = p
            .rpc("missions_get_daily", json!({"game_id": game}))
            .await
            .unwrap();
        let b = server
            .server_rpc(
                "missions_get_daily",
                json!({"game_id": game, "user_id": p.user_id()}),
            )
            .await
            .unwrap();
        let ids: Vec<String> = a["missions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(a["missions"], b["missions"]);
        draws.insert(ids);
    }
    assert!(draws.len() > 1, "players get different draws");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_reward_or_item_grant_with_an_idempotency_key_applies_once() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();

    // rewards_grant retried 10 times, concurrently: one payment, one notification.
    let payload = json!({"game_id": game, "user_id": uid, "reason": "season prize",
        "idempotency_key": "prize-42",
        "reward": {"currencies": {"coins": 40}, "items": [{"id": "relic", "quantity": 1, "unique": true}], "xp": 10}});
    let mut calls = Vec::new();
    for _ in 0..10 {
        let client = server.client.clone();
        let key = server.local.http_key.clone();
        let p = payload.clone();
        calls.push(tokio::spawn(async move {
            client.rpc_as_server(&key, "rewards_grant", p).await
        }));
    }
    let mut replayed = 0;
    let mut relics = std::collections::BTreeSet::new();
    for c in calls {
        let r = c.await.unwrap().unwrap();
        assert_eq!(r["granted"]["currencies"]["coins"], 40);
        assert_eq!(r["granted"]["wallet"]["coins"], 40);
        relics.insert(r["granted"]["items"][0]["instances"][0]["instance_id"].to_string());
        if r["replayed"] == true {
            replayed += 1;
        }
    }
    assert_eq!(replayed, 9);
    assert_eq!(relics.len(), 1, "every retry answers with the one grant");
    assert_eq!(balance(&server, &game, &uid, "coins").await, 40);
    let inv = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(inv["items"][0]["quantity"], 1);
    let p = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["xp"], 10);
    let n = alice
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(n["notifications"].as_array().unwrap().len(), 1);

    // The same key for another reward is refused, and changes nothing.
    let mut other = payload.clone();
    other["reward"] = json!({"currencies": {"coins": 4000}});
    let err = server.server_rpc("rewards_grant", other).await.unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(err.message.contains("prize-42"), "{}", err.message);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 40);
    let mut bad = payload.clone();
    bad["idempotency_key"] = json!("");
    let err = server.server_rpc("rewards_grant", bad).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("idempotency_key"), "{}", err.message);

    // inventory_grant retried 10 times: the stack grows once.
    let grant = json!({"game_id": game, "user_id": uid, "idempotency_key": "chest-9",
        "items": [{"id": "potion", "quantity": 3}]});
    let mut replayed = 0;
    for _ in 0..10 {
        let r = server
            .server_rpc("inventory_grant", grant.clone())
            .await
            .unwrap();
        assert_eq!(r["items"][0]["quantity"], 3);
        if r["replayed"] == true {
            replayed += 1;
        }
    }
    assert_eq!(replayed, 9);
    let mut other = grant.clone();
    other["items"] = json!([{"id": "potion", "quantity": 300}]);
    let err = server
        .server_rpc("inventory_grant", other)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    let inv = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    let potion = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "potion")
        .unwrap();
    assert_eq!(potion["quantity"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_the_pool_mid_day_does_not_reshuffle_a_running_day() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let mission = |id: String| {
        json!({"id": id, "title": "Mission", "stat": "kills", "target": 2,
               "reward": {"currencies": {"coins": 5}}})
    };
    let pool: Vec<_> = (0..12).map(|i| mission(format!("m{i}"))).collect();
    admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": pool, "daily_count": 3}),
        )
        .await
        .unwrap();
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let ids = |reply: &serde_json::Value| -> Vec<String> {
        reply["missions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = alice
        .rpc("missions_get_daily", json!({"game_id": game}))
        .await
        .unwrap();
    let drawn = ids(&before);
    assert_eq!(before["unclaimed_yesterday"], json!([]));
    // The first report fixes the day's missions.
    server
        .server_rpc(
            "missions_update_progress",
            json!({"game_id": game, "user_id": uid, "mission_id": drawn[0], "amount": 2}),
        )
        .await
        .unwrap();

    // The pool grows and the daily count rises mid-day.
    let bigger: Vec<_> = (0..40).map(|i| mission(format!("m{i}"))).collect();
    admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "missions": bigger, "daily_count": 5}),
        )
        .await
        .unwrap();
    let after = alice
        .rpc("missions_get_daily", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(ids(&after), drawn, "the running day keeps its draw");
    assert_eq!(after["missions"][0]["progress"], 2);
    let claim = alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": drawn[0]}),
        )
        .await
        .unwrap();
    assert_eq!(claim["granted"]["currencies"]["coins"], 5);
    assert_eq!(claim["date"], after["date"]);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 5);

    // A player who had not started today draws from the new pool.
    let bob = server.new_player().await;
    let fresh = bob
        .rpc("missions_get_daily", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(ids(&fresh).len(), 5);
}
