//! Remote config with audiences, versions and rollback, answered from a cache that an
//! update invalidates; experiments with deterministic assignment, audiences and results.

use serde_json::{json, Value};

use crate::common::TestServer;

async fn cache_stat(admin: &outpost::client::Player, name: &str) -> Value {
    let s = admin.rpc("cache_stats", json!({})).await.unwrap();
    s["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn audiences_override_the_default_by_priority_and_say_where_values_came_from() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let p = server.new_player().await;

    // Nothing yet: an empty default at version 0.
    let f = p
        .rpc("fetch_remote_config", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(f["version"], 0);
    assert_eq!(f["config"], json!({}));

    let u = admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "note": "launch",
            "default": {"coins": 100, "banner": "hello", "hard_mode": false},
            "audiences": [
              {"name": "ios_new", "priority": 1,
               "rule": {"platforms": ["ios"], "app_version": ">=2.0.0, <3"},
               "values": {"coins": 150, "banner": "hi iPhone"}},
              {"name": "whales", "priority": 10, "rule": {"properties": {"tier": ["gold", "vip"]}},
               "values": {"coins": 900}},
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(u["version"], 1);

    let f = p
        .rpc(
            "fetch_remote_config",
            json!({"game_id": game, "platform": "ios", "app_version": "2.1"}),
        )
        .await
        .unwrap();
    assert_eq!(f["config"]["coins"], 150);
    assert_eq!(f["sources"]["coins"], "ios_new");
    assert_eq!(f["sources"]["hard_mode"], "default");
    let f = p
        .rpc(
            "fetch_remote_config",
            json!({"game_id": game, "platform": "ios", "app_version": "2.1",
                   "properties": {"tier": "vip"}}),
        )
        .await
        .unwrap();
    assert_eq!(f["config"]["coins"], 900, "whales has the higher priority");
    assert_eq!(f["config"]["banner"], "hi iPhone");
    assert_eq!(f["audiences"], json!(["whales", "ios_new"]));
    let f = p
        .rpc(
            "fetch_remote_config",
            json!({"game_id": game, "platform": "ios", "app_version": "3.0.0"}),
        )
        .await
        .unwrap();
    assert_eq!(f["config"]["coins"], 100, "outside the version range");
    let e = p
        .rpc(
            "fetch_remote_config",
            json!({"game_id": game, "app_version": "latest"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.starts_with("app_version:"), "{e}");

    // Bad updates name the field and change nothing.
    let e = admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "audiences": [
                {"name": "x", "rule": {"app_version": "two"}, "values": {"a": 1}}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        e.message.starts_with("audiences[0].rule.app_version"),
        "{e}"
    );
    let e = p
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "set": {"coins": 1}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let e = admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "set": {"coins": 1}, "expected_version": 0}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);
    let f = p
        .rpc("fetch_remote_config", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(
        (f["version"].clone(), f["config"]["coins"].clone()),
        (json!(1), json!(100))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_version_is_kept_with_who_changed_what_and_a_rollback_restores_one() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let p = server.new_player().await;
    admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "default": {"coins": 100, "speed": 1.0}}),
        )
        .await
        .unwrap();

    // Fetched twice: the second comes from the cache.
    for _ in 0..2 {
        p.rpc("fetch_remote_config", json!({"game_id": game}))
            .await
            .unwrap();
    }
    let before = cache_stat(&admin, "remote_config").await;
    assert!(before["hits"].as_u64().unwrap() >= 1, "{before}");
    assert_eq!(before["entries"], 1);
    assert!(before["memory_bytes"].as_u64().unwrap() > 0);

    let u = admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "set": {"coins": 120}, "unset": ["speed"], "note": "economy"}),
        )
        .await
        .unwrap();
    assert_eq!(u["version"], 2);
    assert_eq!(
        u["changes"],
        json!(["default.coins: 100 -> 120", "default.speed removed"])
    );
    // The update dropped the cached version: the next fetch sees it at once.
    let after = cache_stat(&admin, "remote_config").await;
    assert_eq!(
        after["invalidations"].as_u64().unwrap(),
        before["invalidations"].as_u64().unwrap() + 1
    );
    let f = p
        .rpc("fetch_remote_config", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(f["config"], json!({"coins": 120}));

    // The same content again is no new version.
    let same = admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "set": {"coins": 120}}),
        )
        .await
        .unwrap();
    assert_eq!(
        (same["version"].clone(), same["changed"].clone()),
        (json!(2), json!(false))
    );

    let r = admin
        .rpc(
            "remote_config_rollback",
            json!({"game_id": game, "version": 1}),
        )
        .await
        .unwrap();
    assert_eq!(r["version"], 3);
    let f = p
        .rpc("fetch_remote_config", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(f["config"], json!({"coins": 100, "speed": 1.0}));
    assert_eq!(f["version"], 3);

    let h = admin
        .rpc("remote_config_history", json!({"game_id": game}))
        .await
        .unwrap();
    let versions: Vec<u64> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    let who = format!("admin:{}", admin.user_id());
    assert_eq!(h["versions"][1]["by"], who.as_str());
    assert_eq!(h["versions"][1]["note"], "economy");
    assert_eq!(h["versions"][0]["note"], "rollback to version 1");
    let e = admin
        .rpc(
            "remote_config_rollback",
            json!({"game_id": game, "version": 42}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);

    // Every change is in the audit log.
    let audit = server.cli_json(&["audit"]).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.starts_with(&["remote_config_rollback", "remote_config_update"]),
        "{actions:?}"
    );

    // cache_clear empties the caches; the next fetch reloads from storage.
    let c = admin
        .rpc("cache_clear", json!({"cache": "remote_config"}))
        .await
        .unwrap();
    assert_eq!(c["cleared"][0]["entries_dropped"], 1);
    assert_eq!(cache_stat(&admin, "remote_config").await["entries"], 0);
    let f = p
        .rpc("fetch_remote_config", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(f["version"], 3);
    let e = admin
        .rpc("cache_clear", json!({"cache": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let e = p.rpc("cache_stats", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn experiments_assign_deterministically_feed_remote_config_and_report_results() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;

    // Bad definitions name the field.
    for (bad, field) in [
        (
            json!({"variants": [{"name": "a", "weight": 1}]}),
            "variants",
        ),
        (json!({"baseline_conversion": 1.5}), "baseline_conversion"),
        (
            json!({"variants": [{"name": "a", "weight": 1}, {"name": "a", "weight": 1}]}),
            "variants[1].name",
        ),
        (
            json!({"audience": {"app_version": "banana"}}),
            "audience.app_version",
        ),
    ] {
        let mut req = json!({"game_id": game, "experiment_id": "price",
            "variants": [{"name": "control", "weight": 50}, {"name": "cheap", "weight": 50}],
            "goal_event": "purchase", "baseline_conversion": 0.1,
            "minimum_detectable_effect": 0.02});
        for (k, v) in bad.as_object().unwrap() {
            req[k] = v.clone();
        }
        let e = admin.rpc("experiment_create", req).await.unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        assert!(e.message.starts_with(field), "{field}: {e}");
    }
    let created = admin
        .rpc(
            "experiment_create",
            json!({"game_id": game, "experiment_id": "price", "name": "Shop price",
                "variants": [{"name": "control", "weight": 50}, {"name": "cheap", "weight": 50}],
                "goal_event": "purchase", "baseline_conversion": 0.1,
                "minimum_detectable_effect": 0.02}),
        )
        .await
        .unwrap();
    assert_eq!(created["experiment"]["planned_users_per_variant"], 3841);
    assert_eq!(created["experiment"]["status"], "running");
    let e = admin
        .rpc(
            "experiment_create",
            json!({"game_id": game, "experiment_id": "price",
                "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
                "goal_event": "purchase", "baseline_conversion": 0.1,
                "minimum_detectable_effect": 0.02}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);

    let active = server
        .new_player()
        .await
        .rpc("list_active_experiments", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(active["experiments"][0]["experiment_id"], "price");

    // Eight players, each asked twice: the same variant every time.
    let mut players = Vec::new();
    for _ in 0..8 {
        let p = server.new_player().await;
        let a = p
            .rpc(
                "get_experiment_assignment",
                json!({"game_id": game, "experiment_id": "price"}),
            )
            .await
            .unwrap();
        let b = p
            .rpc(
                "get_experiment_assignment",
                json!({"game_id": game, "experiment_id": "price"}),
            )
            .await
            .unwrap();
        assert_eq!(a["variant"], b["variant"]);
        assert_eq!(a["assigned_at"], b["assigned_at"]);
        players.push((p, a["variant"].as_str().unwrap().to_string()));
    }

    // A weight-changing edit is refused; an edit that keeps them moves no one.
    let e = admin
        .rpc(
            "experiment_update",
            json!({"game_id": game, "experiment_id": "price",
                "variants": [{"name": "control", "weight": 10}, {"name": "cheap", "weight": 90}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.starts_with("variants:"), "{e}");
    admin
        .rpc(
            "experiment_update",
            json!({"game_id": game, "experiment_id": "price", "name": "Shop price v2",
                "variants": [{"name": "control", "weight": 50}, {"name": "cheap", "weight": 50}]}),
        )
        .await
        .unwrap();

    // Remote config targets the cohort.
    admin
        .rpc(
            "update_remote_config",
            json!({"game_id": game, "default": {"price": 100},
              "audiences": [{"name": "cheap_cohort", "priority": 1,
                 "rule": {"experiment": {"experiment_id": "price", "variants": ["cheap"]}},
                 "values": {"price": 80}}]}),
        )
        .await
        .unwrap();
    for (p, variant) in &players {
        let f = p
            .rpc("fetch_remote_config", json!({"game_id": game}))
            .await
            .unwrap();
        let (want, source) = if variant == "cheap" {
            (80, "cheap_cohort")
        } else {
            (100, "default")
        };
        assert_eq!(f["config"]["price"], want, "{variant}");
        assert_eq!(f["sources"]["price"], source);
    }

    // Two players of each variant buy.
    let mut converted = std::collections::BTreeMap::<String, u64>::new();
    for (p, variant) in &players {
        let n = converted.entry(variant.clone()).or_insert(0);
        if *n < 2 {
            *n += 1;
            p.rpc(
                "analytics_collect_events",
                json!({"game_id": game, "events": [{"name": "purchase"}]}),
            )
            .await
            .unwrap();
        }
    }
    let users = |v: &str| players.iter().filter(|(_, x)| x == v).count() as u64;
    let r = admin
        .rpc(
            "experiment_get_results",
            json!({"game_id": game, "experiment_id": "price"}),
        )
        .await
        .unwrap();
    assert_eq!(r["control"], "control");
    assert_eq!(r["sample_reached"], false);
    for v in r["variants"].as_array().unwrap() {
        let name = v["variant"].as_str().unwrap();
        assert_eq!(v["users"], users(name), "{r}");
        assert_eq!(
            v["conversions"],
            converted.get(name).copied().unwrap_or(0),
            "{r}"
        );
        assert_eq!(v["planned_users"], 3841);
    }
    if users("control") > 0 && users("cheap") > 0 {
        let vs = &r["variants"][1]["versus_control"];
        assert!(vs.is_null() || vs["p_value"].as_f64().is_some(), "{r}");
    }

    // Analytics groups by the experiment's variants.
    let q = admin
        .rpc(
            "analytics_query",
            json!({"game_id": game, "names": ["purchase"], "experiment_id": "price"}),
        )
        .await
        .unwrap();
    let grouped: u64 = q["by_variant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["events"]["purchase"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(grouped, converted.values().sum::<u64>());

    // The assignment survives a restart.
    let (p0, v0) = (&players[0].0.clone(), players[0].1.clone());
    server.restart().await;
    let p0 = outpost::client::Player {
        client: server.client.clone(),
        session: p0.session.clone(),
    };
    let a = p0
        .rpc(
            "get_experiment_assignment",
            json!({"game_id": game, "experiment_id": "price"}),
        )
        .await
        .unwrap();
    assert_eq!(a["variant"], v0.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_experiments_audience_decides_who_takes_part() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    admin
        .rpc(
            "experiment_create",
            json!({"game_id": game, "experiment_id": "ios_only",
                "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
                "audience": {"platforms": ["ios"]},
                "goal_event": "purchase", "baseline_conversion": 0.2,
                "minimum_detectable_effect": 0.05}),
        )
        .await
        .unwrap();
    let p = server.new_player().await;
    let a = p
        .rpc(
            "get_experiment_assignment",
            json!({"game_id": game, "experiment_id": "ios_only", "platform": "android"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (a["eligible"].clone(), a["variant"].clone()),
        (json!(false), Value::Null)
    );
    let a = p
        .rpc(
            "get_experiment_assignment",
            json!({"game_id": game, "experiment_id": "ios_only", "platform": "ios"}),
        )
        .await
        .unwrap();
    assert_eq!(a["eligible"], true);
    let e = p
        .rpc(
            "get_experiment_assignment",
            json!({"game_id": game, "experiment_id": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    // Players do not see an experiment's targeting; admins do.
    let l = p
        .rpc("list_active_experiments", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(l["experiments"][0].get("audience").is_none());
    let l = admin
        .rpc("list_active_experiments", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(l["experiments"][0]["audience"]["platforms"], json!(["ios"]));
    // A scheduled experiment hands out nothing yet.
    admin
        .rpc(
            "experiment_create",
            json!({"game_id": game, "experiment_id": "later",
                "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
                "start": "2099-01-01T00:00:00Z",
                "goal_event": "purchase", "baseline_conversion": 0.2,
                "minimum_detectable_effect": 0.05}),
        )
        .await
        .unwrap();
    let e = p
        .rpc(
            "get_experiment_assignment",
            json!({"game_id": game, "experiment_id": "later"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("has not started"), "{e}");
}
