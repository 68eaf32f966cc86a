//! Analytics through the real surface: per-event refusals, a player's history, Nakama's
//! `POST /v2/event`, the admin's counts, unique users and funnel, and the CLI export.

use serde_json::{json, Value};

use crate::common::TestServer;
use crate::economy_support::player_in;

fn names(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partly_bad_batch_says_which_events_were_refused_and_why() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let p = server.new_player().await;
    let future = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let reply = p
        .rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": [
                {"name": "level_complete", "properties": {"level": 3, "boss": true, "mode": "hard"}},
                {"name": "9lives"},
                {"name": "shop_open", "properties": {"cart": {"items": 2}}},
                {"name": "shop_open", "timestamp": future},
                {"name": "shop_open", "colour": "red"},
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(reply["accepted"], 1);
    let refused = reply["refused"].as_array().unwrap();
    let idx: Vec<u64> = refused
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![1, 2, 3, 4]);
    assert!(refused[0]["error"].as_str().unwrap().starts_with("name:"));
    assert!(
        refused[1]["error"]
            .as_str()
            .unwrap()
            .contains("properties.cart"),
        "{refused:?}"
    );
    assert!(refused[2]["error"].as_str().unwrap().contains("future"));
    assert!(refused[3]["error"].as_str().unwrap().contains("colour"));

    // Whole-batch refusals change nothing.
    let many: Vec<Value> = (0..101).map(|_| json!({"name": "tick"})).collect();
    let e = p
        .rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": many}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("at most 100"), "{e}");
    let e = p
        .rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": []}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);

    let mine = p
        .rpc("analytics_get_user_events", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(names(&mine), vec!["level_complete"]);
    assert_eq!(mine["events"][0]["properties"]["level"], 3);

    // Another game sees nothing; another player cannot read mine.
    let other = p
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": server.game("other")}),
        )
        .await
        .unwrap();
    assert!(other["events"].as_array().unwrap().is_empty());
    let q = server.new_player().await;
    let e = q
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": game, "user_id": p.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_players_history_filters_by_name_and_time_with_a_cursor() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let p = server.new_player().await;
    let now = chrono::Utc::now().timestamp_millis();
    let events: Vec<Value> = (0..7)
        .map(|i| {
            json!({"name": if i % 2 == 0 { "kill" } else { "death" },
                   "timestamp": now - (10 - i) * 60_000, "properties": {"i": i}})
        })
        .collect();
    let r = p
        .rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": events}),
        )
        .await
        .unwrap();
    assert_eq!(r["accepted"], 7);

    // Kills newest first, two a page.
    let page1 = p
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": game, "name": "kill", "limit": 2}),
        )
        .await
        .unwrap();
    let is: Vec<i64> = page1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["i"].as_i64().unwrap())
        .collect();
    assert_eq!(is, vec![6, 4]);
    let page2 = p
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": game, "name": "kill", "limit": 2,
                   "cursor": page1["cursor"]}),
        )
        .await
        .unwrap();
    let is: Vec<i64> = page2["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["i"].as_i64().unwrap())
        .collect();
    assert_eq!(is, vec![2, 0]);

    // A window: events 2..=4 happened 8..6 minutes ago.
    let since = chrono::DateTime::from_timestamp_millis(now - 8 * 60_000 - 1)
        .unwrap()
        .to_rfc3339();
    let until = chrono::DateTime::from_timestamp_millis(now - 5 * 60_000)
        .unwrap()
        .to_rfc3339();
    let window = p
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": game, "since": since, "until": until}),
        )
        .await
        .unwrap();
    assert_eq!(names(&window), vec!["kill", "death", "kill"]);

    let e = p
        .rpc(
            "analytics_get_user_events",
            json!({"game_id": game, "since": "last tuesday"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.starts_with("since:"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nakama_clients_post_events_to_v2_event() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let p = player_in(&server, &game).await;
    let reply = server
        .client
        .event(
            &p.session,
            json!({"name": "tutorial_done", "properties": {"step": "5"},
                   "timestamp": chrono::Utc::now().to_rfc3339(), "external": true}),
        )
        .await
        .unwrap();
    assert_eq!(reply, json!({}));
    let e = server
        .client
        .event(&p.session, json!({"name": "bad name"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.starts_with("name:"), "{e}");
    let mine = p
        .rpc("analytics_get_user_events", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(names(&mine), vec!["tutorial_done"]);
    assert_eq!(mine["events"][0]["properties"]["step"], "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_count_per_day_unique_users_and_a_funnel_and_export_ndjson() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let now = chrono::Utc::now().timestamp_millis();
    // Three players: all open the shop, two add to cart, one of them before opening (does
    // not count for the funnel), one buys.
    let steps: [&[(&str, i64)]; 3] = [
        &[("shop_open", 1), ("add_to_cart", 2), ("purchase", 3)],
        &[("shop_open", 1), ("add_to_cart", 2)],
        &[("add_to_cart", 1), ("shop_open", 2)],
    ];
    for s in steps {
        let p = server.new_player().await;
        let events: Vec<Value> = s
            .iter()
            .map(|(n, at)| json!({"name": n, "timestamp": now - 60_000 + at * 1000}))
            .collect();
        p.rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": events}),
        )
        .await
        .unwrap();
    }
    let q = admin
        .rpc(
            "analytics_query",
            json!({"game_id": game, "funnel": ["shop_open", "add_to_cart", "purchase"]}),
        )
        .await
        .unwrap();
    assert_eq!(q["unique_users"], 3);
    assert_eq!(q["unique_users_by_name"]["add_to_cart"], 3);
    assert_eq!(q["unique_users_by_name"]["purchase"], 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let count = |name: &str| {
        q["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == name && c["day"] == today.as_str())
            .map(|c| c["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(count("shop_open"), 3);
    assert_eq!(count("purchase"), 1);
    let funnel: Vec<u64> = q["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["users"].as_u64().unwrap())
        .collect();
    assert_eq!(funnel, vec![3, 2, 1]);
    assert!((q["funnel"][2]["rate_from_start"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);

    // Named events only.
    let q = admin
        .rpc(
            "analytics_query",
            json!({"game_id": game, "names": ["purchase"]}),
        )
        .await
        .unwrap();
    assert_eq!(q["unique_users"], 1);

    // Bad input and the wrong caller.
    let e = admin
        .rpc(
            "analytics_query",
            json!({"game_id": game, "funnel": ["only_one"]}),
        )
        .await
        .unwrap_err();
    assert!(e.message.starts_with("funnel:"), "{e}");
    let e = admin
        .rpc(
            "analytics_query",
            json!({"game_id": game, "since": "2020-01-01", "until": "2024-01-01"}),
        )
        .await
        .unwrap_err();
    assert!(e.message.starts_with("since:"), "{e}");
    let player = server.new_player().await;
    let e = player
        .rpc("analytics_query", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);

    // The export through the admin socket: one JSON object per line, oldest first.
    let (ok, out, err) = server.cli(&["analytics", "export", "--game", &game]).await;
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert!(err.contains("exported 7 events"), "{err}");
    let ts: Vec<&str> = lines
        .iter()
        .map(|l| l["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted);
    let since = chrono::DateTime::from_timestamp_millis(now - 60_000 + 2500)
        .unwrap()
        .to_rfc3339();
    let (ok, out, _) = server
        .cli(&["analytics", "export", "--game", &game, "--since", &since])
        .await;
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_prunes_events_past_retention_in_game_time() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_SERVER_DEV_MODE", "true"),
            ("OUTPOST_ANALYTICS_RETENTION_DAYS", "1"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let p = server.new_player().await;
    p.rpc(
        "analytics_collect_events",
        json!({"game_id": game, "events": [{"name": "old_news"}]}),
    )
    .await
    .unwrap();
    // Older than the retention period: refused at once.
    let e = p
        .rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": [{"name": "ancient",
                "timestamp": chrono::Utc::now().timestamp_millis() - 2 * 86_400_000}]}),
        )
        .await
        .unwrap();
    assert!(e["refused"][0]["error"]
        .as_str()
        .unwrap()
        .contains("retention"));
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "3d"}))
        .await
        .unwrap();
    let mut left = usize::MAX;
    for _ in 0..50 {
        let mine = p
            .rpc("analytics_get_user_events", json!({"game_id": game}))
            .await
            .unwrap();
        left = mine["events"].as_array().unwrap().len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(left, 0, "the prune job ran in game time");
    let q = admin
        .rpc("analytics_query", json!({"game_id": game, "since": "2000-01-01T00:00:00Z", "until": "2000-12-01T00:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(q["unique_users"], 0);
}
