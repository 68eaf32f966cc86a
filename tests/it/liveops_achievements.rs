//! Achievements through the API: templates, hidden text, stats that move them, rewards paid
//! once (concurrently and across a restart), capped player reports, completion stats, bad
//! input.

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::economy_support::{balance, ledger_sum, whole_ledger};

fn template(name: &str) -> String {
    format!("{}/data/templates/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["achievement_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_load_and_a_hidden_achievement_keeps_its_secret_until_unlocked() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let other = server.game("other");
    let admin = server.admin().await;
    let alice = server.new_player().await;

    // The CLI loads a template through the running server (by game name).
    let out = server
        .cli_json(&[
            "achievements",
            "load",
            &template("lasttolive_achievements.json"),
            "--game",
            "arena",
        ])
        .await;
    assert_eq!(out["created"], 3, "{out}");
    // The other template loads with the RPC itself.
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(template("quizverse_achievements.json")).unwrap(),
    )
    .unwrap();
    let r = admin
        .rpc(
            "achievements_bulk_create",
            json!({"game_id": other, "achievements": file["achievements"]}),
        )
        .await
        .unwrap();
    assert_eq!(r["created"], 3);
    // Loading again is refused as a whole, naming the id, unless replacing.
    let (ok, _, err) = server
        .cli(&[
            "achievements",
            "load",
            &template("lasttolive_achievements.json"),
            "--game",
            &game,
        ])
        .await;
    assert!(!ok && err.contains("first_kill"), "{err}");

    let secrets = [
        "One Man Army",
        "Eliminate an entire squad solo",
        "army_badge",
    ];
    let all = alice
        .rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    let hidden = find(&all, "solo_squad_wipe");
    assert_eq!(hidden["title"], "???");
    assert_eq!(hidden["description"], "???");
    assert_eq!(hidden["unlocked"], false);
    assert_eq!(find(&all, "first_kill")["title"], "First Blood");
    assert_eq!(all["stats"]["total_achievements"], 3);
    for reply in [
        all.clone(),
        alice
            .rpc(
                "achievements_get_by_category",
                json!({"game_id": game, "category": "combat"}),
            )
            .await
            .unwrap(),
        alice
            .rpc("achievements_get_player_stats", json!({"game_id": game}))
            .await
            .unwrap(),
    ] {
        let text = reply.to_string();
        for s in secrets {
            assert!(!text.contains(s), "`{s}` leaked before unlock: {text}");
        }
    }
    // A player cannot report it (server only), and the refusal tells nothing either.
    let err = alice
        .rpc(
            "achievements_update_progress",
            json!({"game_id": game, "achievement_id": "solo_squad_wipe", "progress": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    for s in secrets {
        assert!(!err.message.contains(s), "{}", err.message);
    }

    // The game server unlocks it: now the player sees it, and is paid once.
    let u = server
        .server_rpc(
            "achievements_update_progress",
            json!({"game_id": game, "user_id": alice.user_id(), "achievement_id": "solo_squad_wipe", "progress": 1}),
        )
        .await
        .unwrap();
    assert_eq!(u["just_unlocked"], true);
    assert_eq!(u["achievement"]["title"], "One Man Army");
    let all = alice
        .rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(find(&all, "solo_squad_wipe")["title"], "One Man Army");
    assert_eq!(all["stats"]["unlocked"], 1);
    let uid = alice.user_id().to_string();
    assert_eq!(balance(&server, &game, &uid, "coins").await, 5000);
    let profile = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(profile["profile"]["badges"]
        .as_array()
        .unwrap()
        .contains(&json!("army_badge")));
    // Nothing of it shows in the other game.
    let o = alice
        .rpc("achievements_get_all", json!({"game_id": other}))
        .await
        .unwrap();
    assert!(!o.to_string().contains("solo_squad_wipe"));
}

#[tokio::test(flavor = "multi_thread")]
async fn stat_achievements_follow_the_stat_and_back_fill_when_created_later() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    server
        .cli_json(&[
            "achievements",
            "load",
            &template("lasttolive_achievements.json"),
            "--game",
            &game,
        ])
        .await;

    // A kill recorded on the profile unlocks First Blood and pays it.
    server
        .server_rpc(
            "profile_update",
            json!({"game_id": game, "user_id": uid, "stats_increment": {"kills": 1, "matches": 9}}),
        )
        .await
        .unwrap();
    assert_eq!(balance(&server, &game, &uid, "coins").await, 50);
    // A stat-following achievement cannot be reported directly.
    let err = server
        .server_rpc(
            "achievements_update_progress",
            json!({"game_id": game, "user_id": uid, "achievement_id": "first_kill", "progress": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);

    // An achievement on `matches`, created after the stat moved, back-fills on the next read.
    admin
        .rpc(
            "achievements_create_definition",
            json!({"game_id": game, "achievement_id": "veteran", "title": "Veteran",
                   "type": "incremental", "target": 5, "stat": "matches", "rewards": {"coins": 7}}),
        )
        .await
        .unwrap();
    let all = alice
        .rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    let v = find(&all, "veteran");
    assert_eq!(v["unlocked"], true, "{v}");
    assert_eq!(v["progress"], 9);
    assert_eq!(find(&all, "win_100_matches")["unlocked"], false);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 57);
    // Reading again pays nothing more.
    alice
        .rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(balance(&server, &game, &uid, "coins").await, 57);
}

#[tokio::test(flavor = "multi_thread")]
async fn rewards_are_paid_once_under_concurrent_updates_and_across_a_restart() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let uid = alice.user_id().to_string();
    admin
        .rpc(
            "achievements_bulk_create",
            json!({"game_id": game, "achievements": [
                {"achievement_id": "quizmaster_100", "title": "Quiz Master", "type": "incremental",
                 "target": 100, "rarity": "epic", "rewards": {"coins": 1000, "xp": 500}},
                {"achievement_id": "sharpshooter", "title": "Sharpshooter", "type": "tiered",
                 "category": "combat", "tiers": [
                    {"name": "bronze", "threshold": 10, "rewards": {"coins": 1}, "points": 5},
                    {"name": "silver", "threshold": 50, "rewards": {"coins": 10}, "points": 10},
                    {"name": "gold", "threshold": 100, "rewards": {"coins": 100}, "points": 20}]}
            ]}),
        )
        .await
        .unwrap();

    // 16 concurrent reports that each complete it: one unlock, one payment.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = server.client.clone();
        let key = server.local.http_key.clone();
        let body = json!({"game_id": game, "user_id": uid, "achievement_id": "quizmaster_100", "progress": 100});
        tasks.push(tokio::spawn(async move {
            s.rpc_as_server(&key, "achievements_update_progress", body)
                .await
        }));
    }
    let mut unlocks = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        if r["just_unlocked"] == true {
            unlocks += 1;
        }
    }
    assert_eq!(unlocks, 1);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 1000);

    // Tiers pay as they are reached, each once, whatever the order of reports.
    let report = |n: u64| {
        json!({"game_id": game, "user_id": uid, "achievement_id": "sharpshooter",
               "progress": n, "increment": true})
    };
    let r = server
        .server_rpc("achievements_update_progress", report(60))
        .await
        .unwrap();
    assert_eq!(r["steps_reached"], json!(["bronze", "silver"]));
    assert_eq!(r["achievement"]["tier"], "silver");
    assert_eq!(r["just_unlocked"], false);

    server.restart().await;
    let r = server
        .server_rpc("achievements_update_progress", report(40))
        .await
        .unwrap();
    assert_eq!(r["steps_reached"], json!(["gold"]));
    assert_eq!(r["just_unlocked"], true);
    let r = server
        .server_rpc(
            "achievements_update_progress",
            json!({"game_id": game, "user_id": uid, "achievement_id": "quizmaster_100", "progress": 100}),
        )
        .await
        .unwrap();
    assert_eq!(r["just_unlocked"], false);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 1111);
    let ledger = whole_ledger(&server, &game, &uid).await;
    assert_eq!(ledger_sum(&ledger, "coins"), 1111);
    assert_eq!(ledger.len(), 4, "one ledger entry per step paid");

    // Stats: unlocked count, points, completion, and the share of players per achievement.
    // The server has a new port: the players' sessions carry over.
    let alice = Player {
        client: server.client.clone(),
        session: alice.session.clone(),
    };
    let bob = Player {
        client: server.client.clone(),
        session: bob.session.clone(),
    };
    bob.rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    let bob_uid = bob.user_id().to_string();
    server
        .server_rpc(
            "achievements_update_progress",
            json!({"game_id": game, "user_id": bob_uid, "achievement_id": "sharpshooter", "progress": 10}),
        )
        .await
        .unwrap();
    let s = alice
        .rpc("achievements_get_player_stats", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(s["stats"]["unlocked"], 2);
    assert_eq!(s["stats"]["total_achievements"], 2);
    assert_eq!(s["stats"]["points"], 50 + 35);
    assert_eq!(s["stats"]["completion_percentage"], 100.0);
    assert_eq!(s["players"], 2);
    let share = |id: &str| {
        s["achievements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["achievement_id"] == id)
            .unwrap()["unlocked_share_percentage"]
            .clone()
    };
    assert_eq!(share("quizmaster_100"), 50.0);
    assert_eq!(share("sharpshooter"), 50.0, "bob reached bronze only");
    let b = bob
        .rpc("achievements_get_player_stats", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(b["stats"]["unlocked"], 0);
    assert_eq!(b["stats"]["points"], 5, "bronze's points");
}

#[tokio::test(flavor = "multi_thread")]
async fn player_reports_are_capped_and_bad_input_changes_nothing() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let uid = alice.user_id().to_string();
    admin
        .rpc(
            "achievements_create_definition",
            json!({"game_id": game, "achievement_id": "quiz_streak_10", "title": "Streak Master",
                   "type": "incremental", "target": 10, "progress_by": "player",
                   "max_player_increment": 2, "rewards": {"coins": 500}}),
        )
        .await
        .unwrap();
    let r = alice
        .rpc(
            "achievements_update_progress",
            json!({"game_id": game, "achievement_id": "quiz_streak_10", "progress": 100, "increment": true}),
        )
        .await
        .unwrap();
    assert_eq!(r["capped"], true);
    assert_eq!(r["achievement"]["progress"], 2);
    assert_eq!(balance(&server, &game, &uid, "coins").await, 0);

    // Players may not define achievements.
    let err = alice
        .rpc(
            "achievements_create_definition",
            json!({"game_id": game, "achievement_id": "x", "title": "X"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    // Bad definitions name the field.
    for (def, field) in [
        (json!({"game_id": game, "achievement_id": "x"}), "title"),
        (
            json!({"game_id": game, "achievement_id": "bad id!", "title": "X"}),
            "achievement_id",
        ),
        (
            json!({"game_id": game, "achievement_id": "x", "title": "X", "type": "tiered",
                   "tiers": [{"name": "gold", "threshold": 5}]}),
            "tiers[0].name",
        ),
        (
            json!({"game_id": game, "achievement_id": "x", "title": "X", "rewards": {"coins": -5}}),
            "coins",
        ),
        (
            json!({"game_id": game, "achievement_id": "x", "title": "X", "rarity": "mythic"}),
            "rarity",
        ),
    ] {
        let err = admin
            .rpc("achievements_create_definition", def)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{field}");
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    // Unknown achievement, unknown game.
    let err = alice
        .rpc(
            "achievements_update_progress",
            json!({"game_id": game, "achievement_id": "nope", "progress": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let err = alice
        .rpc(
            "achievements_get_all",
            json!({"game_id": uuid::Uuid::new_v4()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    // A batch is all or nothing: one unknown id, and no report of it lands.
    let err = alice
        .rpc(
            "batch_achievement_progress",
            json!({"game_id": game, "updates": [
                {"achievement_id": "quiz_streak_10", "progress": 1, "increment": true},
                {"achievement_id": "nope", "progress": 1}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert!(err.message.contains("updates[1]"), "{}", err.message);
    let err = alice
        .rpc(
            "batch_achievement_progress",
            json!({"game_id": game, "updates": []}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let all = alice
        .rpc("achievements_get_all", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(find(&all, "quiz_streak_10")["progress"], 2);
    // A batch that works moves several at once.
    let r = alice
        .rpc(
            "batch_achievement_progress",
            json!({"game_id": game, "updates": [
                {"achievement_id": "quiz_streak_10", "progress": 2, "increment": true},
                {"achievement_id": "quiz_streak_10", "progress": 2, "increment": true}]}),
        )
        .await
        .unwrap();
    assert_eq!(r["results"][1]["achievement"]["progress"], 6);
}
