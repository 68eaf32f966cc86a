//! The game clock: moved forward by an admin in dev mode only; daily rules follow it; it
//! survives a restart.

use serde_json::json;

use crate::common::TestServer;

fn one_coin_a_day() -> serde_json::Value {
    json!((1..=7)
        .map(|d| json!({"currencies": {"coins": d}}))
        .collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clock_moves_only_in_dev_mode() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let err = admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "1d"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("dev_mode"), "{}", err.message);
    let clock = admin
        .rpc("dev_clock_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(clock["offset_secs"], 0);
    assert_eq!(clock["dev_mode"], false);
    let (ok, _, err) = server
        .cli(&["clock", "advance", "1d", "--game", &game])
        .await;
    assert!(!ok);
    assert!(err.contains("dev mode is off"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_passes_in_dev_mode_and_daily_rules_follow() {
    let mut server =
        TestServer::start_with(&["arena", "other"], &[("OUTPOST_SERVER_DEV_MODE", "true")]).await;
    let game = server.game("arena");
    let other = server.game("other");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    admin
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": one_coin_a_day()}),
        )
        .await
        .unwrap();
    alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap();
    let again = alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409);

    // A player may not move time; bad durations name the field; nothing moved.
    let err = alice
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "1d"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    for bad in ["soon", "-1d", "0h"] {
        let err = admin
            .rpc("dev_clock_advance", json!({"game_id": game, "by": bad}))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{bad}");
        assert!(err.message.starts_with("by:"), "{}", err.message);
    }

    let moved = admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "1d"}))
        .await
        .unwrap();
    assert_eq!(moved["offset_secs"], 86_400);
    let c = alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(c["day"], 2, "the next day's reward: {c}");
    assert_eq!(c["streak"], 2);

    // Another game's clock did not move.
    let o = admin
        .rpc("dev_clock_get", json!({"game_id": other}))
        .await
        .unwrap();
    assert_eq!(o["offset_secs"], 0);

    // The CLI moves it too, status says dev mode, and the audit log has both moves.
    let out = server
        .cli_json(&["clock", "advance", "2d", "--game", &game])
        .await;
    assert_eq!(out["offset_secs"], 3 * 86_400);
    let status = server.cli_json(&["status"]).await;
    assert_eq!(status["dev_mode"], true);
    let audit = server.cli_json(&["audit"]).await;
    let moves = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "clock_advance")
        .count();
    assert_eq!(moves, 2);

    // The game's time survives a restart.
    server.restart().await;
    let admin = server.admin().await;
    let clock = admin
        .rpc("dev_clock_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(clock["offset_secs"], 3 * 86_400);
}
