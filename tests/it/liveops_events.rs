//! Events through the API: a community goal under 32 concurrent contributors, settled once
//! and paid only to contributors; a weekend event with missions, double XP and
//! announcements run with the dev clock; bad input.

use serde_json::{json, Value};

use crate::economy_support::balance;
use crate::liveops_support::{advance, dev_server, eventually, game_now, notifications_with};

const EVENT_STARTED: i64 = 120;
const EVENT_ENDED: i64 = 121;

#[tokio::test(flavor = "multi_thread")]
async fn a_community_goal_counts_32_concurrent_contributors_exactly_and_settles_once() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let now = game_now(&admin, &game).await;
    admin
        .rpc(
            "event_create",
            json!({"game_id": game, "event_id": "harvest", "title": "Harvest",
                   "starts_at": now - 10, "ends_at": now + 86_400,
                   "goals": [{"goal_id": "crops", "title": "Crops", "min_contribution": 3,
                              "contribution_by": "player", "max_player_contribution": 5,
                              "thresholds": [{"at": 100, "rewards": {"coins": 5}},
                                             {"at": 1000, "rewards": {"coins": 50}}]}]}),
        )
        .await
        .unwrap();

    let mut players = Vec::new();
    for _ in 0..33 {
        let p = server.new_player().await;
        // A profile makes them one of the game's players (announcements).
        p.rpc(
            "profile_update",
            json!({"game_id": game, "display_name": "farmer"}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    let laggard = players.pop().unwrap();
    let mut tasks = Vec::new();
    for p in &players {
        let p = p.clone();
        let game = game.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                p.rpc(
                    "event_contribute",
                    json!({"game_id": game, "event_id": "harvest", "goal_id": "crops", "amount": 1}),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A player's call is capped (5 at most); this one stays below the minimum of 3.
    let r = laggard
        .rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops", "amount": 2}),
        )
        .await
        .unwrap();
    assert_eq!(r["total"], 322, "no increment lost: {r}");
    let r = players[0]
        .rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops", "amount": 50}),
        )
        .await
        .unwrap();
    assert_eq!(r["added"], 5);
    assert_eq!(r["contribution"], 15);
    assert_eq!(r["total"], 327);

    let p = players[1]
        .rpc(
            "event_get_player_progress",
            json!({"game_id": game, "event_id": "harvest"}),
        )
        .await
        .unwrap();
    assert_eq!(p["goals"][0]["contribution"], 10);
    assert_eq!(p["goals"][0]["thresholds"][0]["reached"], true);
    assert_eq!(p["goals"][0]["thresholds"][1]["reached"], false);
    let lb = players[1]
        .rpc(
            "event_get_leaderboard",
            json!({"game_id": game, "event_id": "harvest", "limit": 3}),
        )
        .await
        .unwrap();
    assert_eq!(lb["records"][0]["user_id"], json!(players[0].user_id()));
    assert_eq!(lb["records"][0]["score"], 15);
    assert_eq!(lb["participants"], 33);

    // One player claims early; the settlement pays everyone else once.
    let c = players[1]
        .rpc(
            "event_claim_rewards",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops"}),
        )
        .await
        .unwrap();
    assert_eq!(c["claimed"].as_array().unwrap().len(), 1);
    let err = players[1]
        .rpc(
            "event_claim_rewards",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    let end = admin
        .rpc("event_end", json!({"game_id": game, "event_id": "harvest"}))
        .await
        .unwrap();
    assert_eq!(end["rewards_paid"], 31);
    assert_eq!(end["event"]["state"], "ended");
    let again = admin
        .rpc("event_end", json!({"game_id": game, "event_id": "harvest"}))
        .await
        .unwrap_err();
    assert_eq!(again.status(), 400);
    for p in &players {
        let uid = p.user_id().to_string();
        assert_eq!(balance(&server, &game, &uid, "coins").await, 5, "{uid}");
    }
    let luid = laggard.user_id().to_string();
    assert_eq!(balance(&server, &game, &luid, "coins").await, 0);
    let ended = notifications_with(&laggard, &game, EVENT_ENDED).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["content"]["event_id"], "harvest");
    // The clock's end job later finds it settled and pays nothing more.
    advance(&admin, &game, 86_400).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let uid = players[5].user_id().to_string();
    assert_eq!(balance(&server, &game, &uid, "coins").await, 5);
    let err = players[2]
        .rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops", "amount": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weekend_event_comes_and_goes_with_the_dev_clock() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    alice
        .rpc(
            "profile_update",
            json!({"game_id": game, "display_name": "alice"}),
        )
        .await
        .unwrap();
    let now = game_now(&admin, &game).await;
    let created = admin
        .rpc(
            "event_create",
            json!({"game_id": game, "event_id": "weekend", "title": "Double XP Weekend",
                   "recurrence": {"kind": "weekends"}, "xp_multiplier": 2.0,
                   "missions": [{"mission_id": "win_3", "title": "Win 3", "target": 3,
                                 "progress_by": "player", "rewards": {"coins": 30, "xp": 10}}]}),
        )
        .await
        .unwrap();
    let starts =
        chrono::DateTime::parse_from_rfc3339(created["event"]["starts_at"].as_str().unwrap())
            .unwrap()
            .timestamp();
    let ends = chrono::DateTime::parse_from_rfc3339(created["event"]["ends_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(ends - starts, 2 * 86_400, "Saturday to Monday");
    assert!(ends > now);

    // Move to the weekend (if not in it already): the start is announced.
    if starts > now {
        advance(&admin, &game, starts - now + 5).await;
    }
    eventually("the start announcement", || {
        let alice = alice.clone();
        let game = game.clone();
        async move {
            let n = notifications_with(&alice, &game, EVENT_STARTED).await;
            (!n.is_empty()).then_some(())
        }
    })
    .await;
    let active = alice
        .rpc("event_get_active_events", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(active["events"][0]["event_id"], "weekend");
    assert_eq!(active["xp_multiplier"]["season"], 2.0);

    // Player-reported mission progress is capped at 1 a call.
    for _ in 0..2 {
        alice
            .rpc(
                "event_complete_mission",
                json!({"game_id": game, "event_id": "weekend", "mission_id": "win_3", "progress": 5, "increment": true}),
            )
            .await
            .unwrap();
    }
    let err = alice
        .rpc(
            "event_claim_rewards",
            json!({"game_id": game, "event_id": "weekend", "mission_id": "win_3"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "not complete yet");
    let m = alice
        .rpc(
            "event_complete_mission",
            json!({"game_id": game, "event_id": "weekend", "mission_id": "win_3"}),
        )
        .await
        .unwrap();
    assert_eq!(m["completed"], true);
    let xp_before = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap()["profile"]["xp"]
        .as_u64()
        .unwrap();
    let c = alice
        .rpc(
            "event_claim_rewards",
            json!({"game_id": game, "event_id": "weekend"}),
        )
        .await
        .unwrap();
    assert_eq!(c["claimed"].as_array().unwrap().len(), 1);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 30);
    let xp_after = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap()["profile"]["xp"]
        .as_u64()
        .unwrap();
    assert_eq!(xp_after - xp_before, 20, "double XP on the reward's XP");

    // Monday: it ends (announced) and is scheduled again for next weekend, fresh.
    let now = game_now(&admin, &game).await;
    advance(&admin, &game, ends - now + 5).await;
    let p = eventually("the next occurrence", || {
        let alice = alice.clone();
        let game = game.clone();
        async move {
            let p = alice
                .rpc(
                    "event_get_player_progress",
                    json!({"game_id": game, "event_id": "weekend"}),
                )
                .await
                .ok()?;
            (p["occurrence"] == 2).then_some(p)
        }
    })
    .await;
    assert_eq!(p["missions"][0]["progress"], 0);
    assert_eq!(p["event"]["state"], "scheduled");
    let next_start =
        chrono::DateTime::parse_from_rfc3339(p["event"]["starts_at"].as_str().unwrap())
            .unwrap()
            .timestamp();
    assert_eq!(next_start, starts + 7 * 86_400);
    let past = alice
        .rpc(
            "event_get_player_progress",
            json!({"game_id": game, "event_id": "weekend", "occurrence": 1}),
        )
        .await
        .unwrap();
    assert_eq!(past["missions"][0]["claimed"], true);
    assert_eq!(
        notifications_with(&alice, &game, EVENT_ENDED).await.len(),
        1
    );
    let active = alice
        .rpc("event_get_active_events", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(active["events"], json!([]));
    assert_eq!(active["xp_multiplier"]["season"], 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_event_input_is_refused_naming_the_field() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let now = game_now(&admin, &game).await;
    let ok = json!({"game_id": game, "event_id": "e1", "title": "E1",
                    "starts_at": now - 10, "ends_at": now + 3600,
                    "missions": [{"mission_id": "m", "title": "M", "target": 2, "rewards": {"coins": 3}}],
                    "goals": [{"goal_id": "g", "title": "G", "thresholds": [{"at": 10, "rewards": {"coins": 1}}]}]});
    for (change, field) in [
        (json!({"missions": [], "goals": []}), "an event needs"),
        (
            json!({"recurrence": {"kind": "cron", "cron": "61 * * * *", "duration": "1h"}}),
            "recurrence.cron",
        ),
        (json!({"recurrence": {"kind": "monthly"}}), "recurrence"),
        (json!({"xp_multiplier": 0.5}), "xp_multiplier"),
        (json!({"starts_at": null}), "starts_at"),
        (
            json!({"missions": [{"mission_id": "m", "title": "M", "target": 0, "rewards": {"coins": 1}}]}),
            "missions[0].target",
        ),
        (
            json!({"goals": [{"goal_id": "g", "title": "G", "thresholds": [{"at": 10, "rewards": {"coins": 1}}, {"at": 5, "rewards": {"coins": 1}}]}]}),
            "goals[0].thresholds[1].at",
        ),
        (
            json!({"goals": [{"goal_id": "g", "title": "G", "thresholds": [{"at": 10}]}]}),
            "goals[0].thresholds[0]",
        ),
    ] {
        let mut req = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                req.as_object_mut().unwrap().remove(k);
            } else {
                req[k] = v.clone();
            }
        }
        let err = admin.rpc("event_create", req).await.unwrap_err();
        assert_eq!(err.status(), 400, "{field}: {}", err.message);
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    let err = alice.rpc("event_create", ok.clone()).await.unwrap_err();
    assert_eq!(err.status(), 403);
    admin.rpc("event_create", ok.clone()).await.unwrap();
    let err = admin.rpc("event_create", ok).await.unwrap_err();
    assert_eq!(err.status(), 409);

    let call = |id: &'static str, body: Value| {
        let alice = alice.clone();
        async move { alice.rpc(id, body).await.unwrap_err() }
    };
    // Server-only goal and mission, unknown ids, nothing to claim.
    let e = call(
        "event_contribute",
        json!({"game_id": game, "event_id": "e1", "goal_id": "g", "amount": 1}),
    )
    .await;
    assert_eq!(e.status(), 403);
    let e = call(
        "event_complete_mission",
        json!({"game_id": game, "event_id": "e1", "mission_id": "m"}),
    )
    .await;
    assert_eq!(e.status(), 403);
    let e = call(
        "event_contribute",
        json!({"game_id": game, "event_id": "e1", "goal_id": "nope", "amount": 1}),
    )
    .await;
    assert_eq!(e.status(), 404);
    let e = call(
        "event_get_player_progress",
        json!({"game_id": game, "event_id": "nope"}),
    )
    .await;
    assert_eq!(e.status(), 404);
    let e = call(
        "event_claim_rewards",
        json!({"game_id": game, "event_id": "e1", "mission_id": "m"}),
    )
    .await;
    assert_eq!(e.status(), 400);
    let e = call(
        "event_claim_rewards",
        json!({"game_id": game, "event_id": "e1", "mission_id": "m", "goal_id": "g"}),
    )
    .await;
    assert_eq!(e.status(), 400);
    let e = call(
        "event_get_leaderboard",
        json!({"game_id": game, "event_id": "e1", "limit": 1000}),
    )
    .await;
    assert!(e.message.contains("limit"), "{}", e.message);
    let e = call("event_end", json!({"game_id": game, "event_id": "e1"})).await;
    assert_eq!(e.status(), 403);
    // The server reports for a player: zero amounts are refused, the rest counts.
    let uid = alice.user_id().to_string();
    let e = server
        .server_rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "e1", "goal_id": "g", "user_id": uid, "amount": 0}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("amount"), "{}", e.message);
    let r = server
        .server_rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "e1", "goal_id": "g", "user_id": uid, "amount": 12}),
        )
        .await
        .unwrap();
    assert_eq!(r["total"], 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_tournament_ranks_on_a_leaderboard_and_pays_prizes_once() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let now = game_now(&admin, &game).await;
    let created = admin
        .rpc(
            "event_create",
            json!({"game_id": game, "event_id": "cup", "title": "Weekend Cup",
                   "starts_at": now - 10, "ends_at": now + 3600,
                   "tournament": {"score_by": "player", "prizes": [
                        {"rank_from": 1, "rewards": {"coins": 100}},
                        {"rank_from": 2, "rank_to": 3, "rewards": {"coins": 10}}]}}),
        )
        .await
        .unwrap();
    assert_eq!(created["event"]["leaderboard_id"], "event:cup:1");
    let mut players = Vec::new();
    for score in [50, 80, 30, 10] {
        let p = server.new_player().await;
        p.rpc(
            "event_submit_score",
            json!({"game_id": game, "event_id": "cup", "score": score}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    // The board is the event's: a direct submission does not get past it.
    let direct = players[3]
        .rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "event:cup:1", "score": 1000}),
        )
        .await;
    assert!(direct.is_err(), "{direct:?}");
    let lb = players[3]
        .rpc(
            "event_get_leaderboard",
            json!({"game_id": game, "event_id": "cup"}),
        )
        .await
        .unwrap();
    let order: Vec<i64> = lb["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![80, 50, 30, 10]);
    assert_eq!(lb["my_rank"], 4);
    assert_eq!(lb["records"][0]["user_id"], json!(players[1].user_id()));

    let end = admin
        .rpc("event_end", json!({"game_id": game, "event_id": "cup"}))
        .await
        .unwrap();
    assert_eq!(end["rewards_paid"], 3);
    for (p, coins) in players.iter().zip([10, 100, 10, 0]) {
        let uid = p.user_id().to_string();
        assert_eq!(balance(&server, &game, &uid, "coins").await, coins);
    }
    let err = players[0]
        .rpc(
            "event_submit_score",
            json!({"game_id": game, "event_id": "cup", "score": 999}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
}
