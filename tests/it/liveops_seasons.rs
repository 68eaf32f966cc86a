//! Seasons through the API: a season played to its end with the dev clock, premium bought
//! before and after reaching tiers, double claims in parallel, XP hooks and multipliers,
//! bad input.

use serde_json::{json, Value};

use crate::economy_support::balance;
use crate::liveops_support::{advance, dev_server, eventually, game_now};

const WEEK: i64 = 7 * 86_400;

/// A season of 10 tiers, 100 XP each, running from a minute ago for a week.
fn season(game: &str, id: &str, starts_at: i64, ends_at: i64, end_policy: &str) -> Value {
    json!({
        "game_id": game, "season_id": id, "title": format!("Season {id}"),
        "starts_at": starts_at, "ends_at": ends_at,
        "max_tier": 10, "xp_per_tier": 100,
        "free_rewards": {"1": {"coins": 10}, "2": {"coins": 20}, "5": {"coins": 50}},
        "premium_rewards": {"1": {"gems": 1}, "2": {"gems": 2, "items": ["epic_skin"]}},
        "premium_price": {"coins": 25},
        "end_policy": end_policy,
    })
}

async fn grant(server: &crate::common::TestServer, game: &str, user: &str, xp: u64) -> Value {
    server
        .server_rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": user, "amount": xp}),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_season_is_played_to_its_end_with_the_dev_clock() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let now = game_now(&admin, &game).await;
    admin
        .rpc(
            "season_create",
            season(&game, "s1", now - 60, now + WEEK, "auto_grant"),
        )
        .await
        .unwrap();
    // The next season is stored now and starts on its own when s1 ends.
    admin
        .rpc(
            "season_create",
            season(&game, "s2", now + WEEK, now + 3 * WEEK, "close"),
        )
        .await
        .unwrap();
    let active = alice
        .rpc("season_get_active", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(active["season"]["season_id"], "s1");
    assert_eq!(active["next_season"]["season_id"], "s2");

    let g = grant(&server, &game, &uid, 250).await;
    assert_eq!(g["grant"]["tier"], 2);
    let c = alice
        .rpc(
            "season_claim_tier_rewards",
            json!({"game_id": game, "tier": 1}),
        )
        .await
        .unwrap();
    assert_eq!(c["claimed"][0]["tier"], 1);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 10);

    // A week later s1 has ended: tier 2's free reward was paid automatically, once.
    advance(&admin, &game, WEEK + 1).await;
    let active = eventually("s2 to start", || {
        let alice = alice.clone();
        let game = game.clone();
        async move {
            let a = alice
                .rpc("season_get_active", json!({"game_id": game}))
                .await
                .ok()?;
            (a["season"]["season_id"] == "s2").then_some(a)
        }
    })
    .await;
    assert_eq!(active["season"]["state"], "active");
    let past = eventually("s1 to be settled", || {
        let alice = alice.clone();
        let game = game.clone();
        async move {
            let p = alice
                .rpc(
                    "season_get_player_progress",
                    json!({"game_id": game, "season_id": "s1"}),
                )
                .await
                .ok()?;
            (p["progress"]["season"]["state"] == "ended").then_some(p)
        }
    })
    .await;
    assert_eq!(past["progress"]["tier"], 2);
    let claimed: Vec<(u64, String)> = past["progress"]["claimed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tier"].as_u64().unwrap(),
                c["by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        claimed,
        vec![(1, "player".to_string()), (2, "season_end".to_string())]
    );
    assert_eq!(balance(&server, &game, &uid, "coins").await, 30);
    // Claims on the ended season are closed.
    let err = alice
        .rpc(
            "season_claim_tier_rewards",
            json!({"game_id": game, "season_id": "s1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("ended"), "{}", err.message);

    // XP now goes to s2; s1 stays readable in the player's history.
    grant(&server, &game, &uid, 100).await;
    let p = alice
        .rpc(
            "season_get_player_progress",
            json!({"game_id": game, "history": true}),
        )
        .await
        .unwrap();
    assert_eq!(p["progress"]["season_id"], "s2");
    assert_eq!(p["progress"]["tier"], 1);
    assert_eq!(p["history"][0]["season_id"], "s1");
    assert_eq!(p["history"][0]["xp"], 250);

    // s2 closes its claims at the end: unclaimed rewards are not paid.
    advance(&admin, &game, 2 * WEEK + 1).await;
    eventually("s2 to end", || {
        let alice = alice.clone();
        let game = game.clone();
        async move {
            let p = alice
                .rpc(
                    "season_get_player_progress",
                    json!({"game_id": game, "season_id": "s2"}),
                )
                .await
                .ok()?;
            (p["progress"]["season"]["state"] == "ended").then_some(())
        }
    })
    .await;
    let err = alice
        .rpc(
            "season_claim_tier_rewards",
            json!({"game_id": game, "season_id": "s2", "tier": 1}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("closed"), "{}", err.message);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 30);
    let active = alice
        .rpc("season_get_active", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(active["season"].is_null());
    // No running season: XP from the server is refused plainly.
    let err = server
        .server_rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": uid, "amount": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn premium_bought_before_or_after_reaching_tiers_pays_each_reward_once() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let early = server.new_player().await;
    let late = server.new_player().await;
    let broke = server.new_player().await;
    let now = game_now(&admin, &game).await;
    admin
        .rpc(
            "season_create",
            season(&game, "s1", now - 60, now + WEEK, "close"),
        )
        .await
        .unwrap();
    for p in [&early, &late] {
        server
            .server_rpc(
                "wallet_update",
                json!({"game_id": game, "user_id": p.user_id(), "changeset": {"coins": 100},
                       "reason": "top-up"}),
            )
            .await
            .unwrap();
    }

    // Bought before any tier: premium rewards come as tiers are reached.
    let b = early
        .rpc("season_purchase_premium", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(b["progress"]["wallet"]["coins"], 75);
    assert_eq!(b["progress"]["claimable"], json!([]));
    grant(&server, &game, &early.user_id().to_string(), 200).await;
    let c = early
        .rpc("season_claim_tier_rewards", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(c["claimed"].as_array().unwrap().len(), 4, "{c}");

    // Bought after reaching tier 2 and claiming the free track: premium 1 and 2 are owed.
    let luid = late.user_id().to_string();
    grant(&server, &game, &luid, 200).await;
    late.rpc("season_claim_tier_rewards", json!({"game_id": game}))
        .await
        .unwrap();
    let b = late
        .rpc("season_purchase_premium", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(
        b["progress"]["claimable"],
        json!([{"tier": 1, "track": "premium"}, {"tier": 2, "track": "premium"}])
    );
    let again = late
        .rpc("season_purchase_premium", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409);
    let c = late
        .rpc("season_claim_tier_rewards", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(c["claimed"].as_array().unwrap().len(), 2);
    let c = late
        .rpc("season_claim_tier_rewards", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(c["claimed"], json!([]), "nothing is paid twice");
    for p in [&early, &late] {
        let uid = p.user_id().to_string();
        assert_eq!(balance(&server, &game, &uid, "coins").await, 100 - 25 + 30);
        assert_eq!(balance(&server, &game, &uid, "gems").await, 3);
        let inv = p
            .rpc("inventory_list", json!({"game_id": game}))
            .await
            .unwrap();
        assert!(inv.to_string().contains("epic_skin"), "{inv}");
    }

    // Too poor: refused, nothing changed.
    let err = broke
        .rpc("season_purchase_premium", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("coins"), "{}", err.message);
    let p = broke
        .rpc("season_get_player_progress", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["progress"]["premium"], false);
    // Premium rewards without the pass are refused.
    grant(&server, &game, &broke.user_id().to_string(), 100).await;
    let err = broke
        .rpc(
            "season_claim_tier_rewards",
            json!({"game_id": game, "tier": 1, "track": "premium"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("premium"), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_double_claims_pay_once() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let now = game_now(&admin, &game).await;
    admin
        .rpc(
            "season_create",
            season(&game, "s1", now - 60, now + WEEK, "close"),
        )
        .await
        .unwrap();
    grant(&server, &game, &uid, 100).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let a = alice.clone();
        let body = if i % 2 == 0 {
            json!({"game_id": game, "tier": 1})
        } else {
            json!({"game_id": game})
        };
        tasks.push(tokio::spawn(async move {
            a.rpc("season_claim_tier_rewards", body).await
        }));
    }
    let mut paid = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => paid += r["claimed"].as_array().unwrap().len(),
            Err(e) => assert_eq!(e.status(), 409, "{}", e.message),
        }
    }
    assert_eq!(paid, 1);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn achievements_and_missions_give_season_xp_and_xp_events_multiply_it() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    let now = game_now(&admin, &game).await;
    let mut s = season(&game, "s1", now - 60, now + WEEK, "close");
    s["xp_sources"] = json!({"achievement_unlocked": 40, "per_achievement_point": 1,
                             "mission_claimed": 70, "match_played": 100});
    admin.rpc("season_create", s).await.unwrap();

    // An achievement unlock (points 10) gives 40 + 10 XP.
    admin
        .rpc(
            "achievements_create_definition",
            json!({"game_id": game, "achievement_id": "first", "title": "First",
                   "points": 10, "rewards": {"coins": 1}}),
        )
        .await
        .unwrap();
    server
        .server_rpc(
            "achievements_update_progress",
            json!({"game_id": game, "user_id": uid, "achievement_id": "first", "progress": 1}),
        )
        .await
        .unwrap();
    let xp = |p: Value| p["progress"]["xp"].as_u64().unwrap();
    let p = alice
        .rpc("season_get_player_progress", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(xp(p), 50);

    // A daily mission claimed gives 70.
    admin
        .rpc(
            "missions_set_definitions",
            json!({"game_id": game, "daily_count": 1, "missions": [
                {"id": "play", "title": "Play", "stat": "matches", "target": 1,
                 "reward": {"currencies": {"coins": 5}}}]}),
        )
        .await
        .unwrap();
    server
        .server_rpc(
            "missions_update_progress",
            json!({"game_id": game, "user_id": uid, "mission_id": "play"}),
        )
        .await
        .unwrap();
    alice
        .rpc(
            "missions_claim_reward",
            json!({"game_id": game, "mission_id": "play"}),
        )
        .await
        .unwrap();
    let p = alice
        .rpc("season_get_player_progress", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(xp(p), 120);

    // Two XP events at once: bonuses add (x2 and x1.5 make x2.5) for season XP.
    for (id, m) in [("double", 2.0), ("half", 1.5)] {
        admin
            .rpc(
                "event_create",
                json!({"game_id": game, "event_id": id, "title": id,
                       "starts_at": now - 10, "ends_at": now + 3600, "xp_multiplier": m}),
            )
            .await
            .unwrap();
    }
    let g = server
        .server_rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": uid, "amount": 100, "idempotency_key": "k1"}),
        )
        .await
        .unwrap();
    assert_eq!(g["grant"]["multiplier_percent"], 250);
    assert_eq!(g["grant"]["xp_granted"], 250);
    let again = server
        .server_rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": uid, "amount": 100, "idempotency_key": "k1"}),
        )
        .await
        .unwrap();
    assert_eq!(again["grant"]["replayed"], true);
    assert_eq!(again["grant"]["xp"], 370);
    // Profile XP of rewards is multiplied too.
    let before = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap()["profile"]["xp"]
        .as_u64()
        .unwrap();
    server
        .server_rpc(
            "rewards_grant",
            json!({"game_id": game, "user_id": uid, "reward": {"xp": 10}, "reason": "test"}),
        )
        .await
        .unwrap();
    let after = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap()["profile"]["xp"]
        .as_u64()
        .unwrap();
    assert_eq!(after - before, 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_season_input_is_refused_naming_the_field() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let now = game_now(&admin, &game).await;
    let ok = season(&game, "s1", now - 60, now + WEEK, "close");
    for (change, field) in [
        (json!({"max_tier": 101}), "max_tier"),
        (json!({"starts_at": "yesterday"}), "starts_at"),
        (json!({"ends_at": now - 100}), "ends_at"),
        (json!({"free_rewards": {"0": {"coins": 1}}}), "free_rewards"),
        (
            json!({"premium_rewards": {"1": {"coins": "many"}}}),
            "premium_rewards.1",
        ),
        (json!({"xp_table": [1, 2]}), "xp_table"),
        (json!({"season_id": ""}), "season_id"),
        (json!({"end_policy": "maybe"}), "end_policy"),
    ] {
        let mut req = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            req[k] = v.clone();
        }
        let err = admin.rpc("season_create", req).await.unwrap_err();
        assert_eq!(err.status(), 400, "{field}: {}", err.message);
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    let err = alice.rpc("season_create", ok.clone()).await.unwrap_err();
    assert_eq!(err.status(), 403);
    admin.rpc("season_create", ok.clone()).await.unwrap();
    let err = admin.rpc("season_create", ok.clone()).await.unwrap_err();
    assert_eq!(err.status(), 409);
    let mut overlapping = ok;
    overlapping["season_id"] = json!("s2");
    let err = admin.rpc("season_create", overlapping).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("overlaps"), "{}", err.message);

    // XP is for servers; amounts and tiers are checked.
    let err = alice
        .rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": alice.user_id(), "amount": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = server
        .server_rpc(
            "season_grant_xp",
            json!({"game_id": game, "user_id": alice.user_id(), "amount": 0}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("amount"), "{}", err.message);
    for (req, status) in [
        (json!({"game_id": game, "tier": 1}), 400),
        (json!({"game_id": game, "tier": 11}), 400),
        (json!({"game_id": game, "tier": 3}), 404),
        (json!({"game_id": game, "track": "premium"}), 400),
        (json!({"game_id": game, "season_id": "nope"}), 404),
    ] {
        let err = alice
            .rpc("season_claim_tier_rewards", req.clone())
            .await
            .unwrap_err();
        assert_eq!(err.status(), status, "{req}: {}", err.message);
    }
    let r = alice
        .rpc("season_get_all_rewards", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(r["tiers"].as_array().unwrap().len(), 10);
    assert_eq!(r["tiers"][1]["xp"], 200);
    assert_eq!(r["tiers"][1]["premium"]["currencies"]["gems"], 2);
}
