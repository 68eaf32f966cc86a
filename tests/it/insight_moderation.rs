//! Player reports: checked input, one report per reporter and target, a rate limit, the
//! automatic ban exactly at the threshold with its cooldown, and the admin's listing and
//! resolution.

use serde_json::{json, Value};

use crate::common::TestServer;

async fn audit_actions(server: &TestServer) -> Vec<(String, String)> {
    let audit = server.cli_json(&["audit"]).await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_are_checked_counted_once_per_reporter_and_rate_limited() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_MODERATION_REPORTS_PER_HOUR", "3")]).await;
    let game = server.game("arena");
    let reporter = server.new_player().await;
    let target = server.new_player().await;
    let t = target.user_id().to_string();

    for (bad, status, starts) in [
        (json!({"reason": "ugly"}), 400, "reason:"),
        (json!({"reason": "other"}), 400, "text:"),
        (
            json!({"reason": "spam", "text": "x".repeat(1001)}),
            400,
            "text:",
        ),
        (
            json!({"reason": "spam", "evidence": {"match_id": ""}}),
            400,
            "evidence.match_id",
        ),
        (
            json!({"reason": "spam", "target_user_id": reporter.user_id()}),
            400,
            "target_user_id:",
        ),
        (
            json!({"reason": "spam", "target_user_id": uuid::Uuid::new_v4()}),
            404,
            "target_user_id:",
        ),
        (
            json!({"reason": "spam", "target_user_id": "someone"}),
            400,
            "target_user_id",
        ),
    ] {
        let mut req = json!({"game_id": game, "target_user_id": t});
        for (k, v) in bad.as_object().unwrap() {
            req[k] = v.clone();
        }
        let e = reporter.rpc("report_player", req).await.unwrap_err();
        assert_eq!(e.status(), status, "{e}");
        assert!(e.message.starts_with(starts), "{starts}: {e}");
    }

    let r = reporter
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "cheating",
                   "text": "wallhack", "evidence": {"match_id": "m-1", "chat_excerpt": "lol ez"}}),
        )
        .await
        .unwrap();
    assert!(r["report_id"].as_str().is_some());
    let e = reporter
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "spam"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "one reporter counts once per target");

    // The rate limit: 3 per hour, the duplicate above not counted.
    for _ in 0..2 {
        let other = server.new_player().await;
        reporter
            .rpc(
                "report_player",
                json!({"game_id": game, "target_user_id": other.user_id(), "reason": "spam"}),
            )
            .await
            .unwrap();
    }
    let fourth = server.new_player().await;
    let e = reporter
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": fourth.user_id(), "reason": "spam"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429);
    assert!(e.retry_after.unwrap_or(0) >= 1, "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auto_ban_fires_exactly_at_the_threshold_and_then_cools_down() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_MODERATION_AUTO_BAN_REPORTERS", "3"),
            ("OUTPOST_MODERATION_AUTO_BAN_DURATION", "2h"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let target = server.new_player().await;
    let t = target.user_id().to_string();
    let report = |p: outpost::client::Player, g: String, t: String| async move {
        p.rpc(
            "report_player",
            json!({"game_id": g, "target_user_id": t, "reason": "cheating"}),
        )
        .await
    };

    for _ in 0..2 {
        report(server.new_player().await, game.clone(), t.clone())
            .await
            .unwrap();
    }
    target
        .rpc("health_check", json!({}))
        .await
        .expect("two reporters: below the threshold, not banned");
    report(server.new_player().await, game.clone(), t.clone())
        .await
        .unwrap();
    let e = target.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403, "the third distinct reporter bans");
    assert!(e.message.contains("automatic"), "{e}");
    let banned_until =
        chrono::DateTime::parse_from_rfc3339(e.body["banned_until"].as_str().unwrap())
            .unwrap()
            .timestamp();
    let expect = chrono::Utc::now().timestamp() + 7200;
    assert!((banned_until - expect).abs() < 30, "a 2 h ban");
    let actions = audit_actions(&server).await;
    assert_eq!(
        actions[0],
        ("auto_ban".to_string(), "auto:reports".to_string())
    );

    // Within the cooldown more reports ban no one again (after an admin lifts the ban).
    let (ok, _, _) = server.cli(&["unban", &t]).await;
    assert!(ok);
    for _ in 0..3 {
        report(server.new_player().await, game.clone(), t.clone())
            .await
            .unwrap();
    }
    target
        .rpc("health_check", json!({}))
        .await
        .expect("cooldown: no second automatic ban");

    // Reports stay open for review.
    let l = admin
        .rpc(
            "moderation_list_reports",
            json!({"game_id": game, "target_user_id": t, "status": "open"}),
        )
        .await
        .unwrap();
    assert_eq!(l["reports"].as_array().unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_list_filter_and_resolve_reports() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let reporter = server.new_player().await;
    let (a, b) = (server.new_player().await, server.new_player().await);
    for (target, reason) in [(&a, "cheating"), (&b, "harassment")] {
        reporter
            .rpc(
                "report_player",
                json!({"game_id": game, "target_user_id": target.user_id(), "reason": reason,
                       "evidence": {"chat_excerpt": "gg"}}),
            )
            .await
            .unwrap();
    }
    let all = admin
        .rpc(
            "moderation_list_reports",
            json!({"game_id": game, "limit": 1}),
        )
        .await
        .unwrap();
    assert_eq!(all["reports"][0]["reason"], "harassment", "newest first");
    assert_eq!(all["reports"][0]["evidence"]["chat_excerpt"], "gg");
    let next = admin
        .rpc(
            "moderation_list_reports",
            json!({"game_id": game, "limit": 1, "cursor": all["cursor"]}),
        )
        .await
        .unwrap();
    assert_eq!(next["reports"][0]["reason"], "cheating");
    assert!(next["cursor"].is_null());
    let id: Value = next["reports"][0]["report_id"].clone();

    let e = admin
        .rpc(
            "moderation_resolve_report",
            json!({"game_id": game, "report_id": id, "resolution": "open"}),
        )
        .await
        .unwrap_err();
    assert!(e.message.starts_with("resolution:"), "{e}");
    let r = admin
        .rpc(
            "moderation_resolve_report",
            json!({"game_id": game, "report_id": id, "resolution": "actioned",
                   "note": "confirmed on replay", "ban": {"duration": "1d"}}),
        )
        .await
        .unwrap();
    assert_eq!(r["report"]["status"], "actioned");
    assert!(r["ban"]["ban"]["until"].as_str().is_some());
    let e = a.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);
    let e = admin
        .rpc(
            "moderation_resolve_report",
            json!({"game_id": game, "report_id": id, "resolution": "dismissed"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("already resolved"), "{e}");
    let e = admin
        .rpc(
            "moderation_resolve_report",
            json!({"game_id": game, "report_id": uuid::Uuid::new_v4(), "resolution": "dismissed"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let open = admin
        .rpc(
            "moderation_list_reports",
            json!({"game_id": game, "status": "open"}),
        )
        .await
        .unwrap();
    assert_eq!(open["reports"].as_array().unwrap().len(), 1);
    let e = reporter
        .rpc("moderation_list_reports", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let actions = audit_actions(&server).await;
    assert_eq!(actions[0].0, "ban");
    assert_eq!(actions[1].0, "report_resolve");
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_older_than_the_window_do_not_count_in_game_time() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_SERVER_DEV_MODE", "true"),
            ("OUTPOST_MODERATION_AUTO_BAN_REPORTERS", "3"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let target = server.new_player().await;
    let t = target.user_id().to_string();
    let first = server.new_player().await;
    for p in [&first, &server.new_player().await] {
        p.rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "griefing"}),
        )
        .await
        .unwrap();
    }
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "25h"}))
        .await
        .unwrap();
    server
        .new_player()
        .await
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "griefing"}),
        )
        .await
        .unwrap();
    target
        .rpc("health_check", json!({}))
        .await
        .expect("the first two reports fell out of the 24 h window");
    // Past the window the first reporter may report again: two within the window now,
    // and a third makes the ban.
    first
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "griefing"}),
        )
        .await
        .unwrap();
    target.rpc("health_check", json!({})).await.unwrap();
    server
        .new_player()
        .await
        .rpc(
            "report_player",
            json!({"game_id": game, "target_user_id": t, "reason": "griefing"}),
        )
        .await
        .unwrap();
    let e = target.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);
    let _: Value = e.body;
}
