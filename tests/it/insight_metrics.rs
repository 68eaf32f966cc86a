//! The metrics RPCs over the registry that feeds `/metrics`, and `rate_limit_status` from
//! the governor limiters.

use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_rpcs_and_prometheus_show_rpcs_games_storage_and_revenue() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let p = server.new_player().await;
    for _ in 0..3 {
        p.rpc("health_check", json!({})).await.unwrap();
    }
    p.rpc("wallet_get", json!({"game_id": "not-a-uuid"}))
        .await
        .unwrap_err();
    p.rpc(
        "analytics_collect_events",
        json!({"game_id": game, "events": [{"name": "a"}, {"name": "b"}]}),
    )
    .await
    .unwrap();

    let stats = server
        .server_rpc("metrics_get_rpc_stats", json!({}))
        .await
        .unwrap();
    let hc = stats["rpcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rpc"] == "health_check")
        .unwrap()
        .clone();
    assert_eq!(hc["calls"], 3);
    assert_eq!(hc["errors"], 0);
    assert!(
        hc["p50_ms"].as_f64().unwrap() > 0.0
            && hc["p99_ms"].as_f64().unwrap() >= hc["p50_ms"].as_f64().unwrap()
    );
    let wg = server
        .server_rpc("metrics_get_rpc_stats", json!({"rpc": "WALLET_GET"}))
        .await
        .unwrap();
    assert_eq!(wg["rpcs"][0]["errors"], 1);
    let e = server
        .server_rpc("metrics_get_rpc_stats", json!({"rpc": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let e = p.rpc("metrics_get_summary", json!({})).await.unwrap_err();
    assert_eq!(e.status(), 403);

    let s = server
        .server_rpc("metrics_get_summary", json!({}))
        .await
        .unwrap();
    assert!(s["rpc_calls"].as_u64().unwrap() >= 5);
    assert!(s["rpc_errors"].as_u64().unwrap() >= 1);
    assert!(s["storage_operations"]["write"].as_u64().unwrap() > 0);

    // Revenue: an entry fee of 10 coins, refunded 4, and a premium pass of 50 gems.
    let u = p.user_id().to_string();
    for (change, reason) in [
        (json!({"coins": 100, "gems": 100}), "grant"),
        (json!({"coins": -10}), "entry_fee:cup-1"),
        (json!({"coins": 4}), "entry_fee_refund:cup-1"),
        (json!({"gems": -50}), "premium_pass:s1"),
    ] {
        server
            .server_rpc(
                "wallet_update",
                json!({"game_id": game, "user_id": u, "changeset": change, "reason": reason}),
            )
            .await
            .unwrap();
    }
    let g = server
        .server_rpc("metrics_get_game_stats", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(g["daily_active_users"], 1);
    assert_eq!(g["events_today"], 2);
    assert_eq!(g["revenue"]["entry_fees"]["coins"], 6);
    assert_eq!(g["revenue"]["premium_passes"]["gems"], 50);
    assert_eq!(g["ccu"], 0);
    let other = server
        .server_rpc(
            "metrics_get_game_stats",
            json!({"game_id": server.game("other")}),
        )
        .await
        .unwrap();
    assert_eq!(other["daily_active_users"], 0);

    let text = server.client.metrics().await.unwrap();
    assert!(text.contains("outpost_storage_operations_total{op=\"write\"}"));
    assert!(text.contains(&format!("outpost_game_players_today{{game=\"{game}\"}} 1")));
    assert!(text.contains(&format!("outpost_game_ccu{{game=\"{game}\"}} 0")));
    assert!(text.contains("# TYPE outpost_game_ccu gauge"));

    let x = admin.rpc("metrics_export", json!({})).await.unwrap();
    assert!(x["content"]
        .as_str()
        .unwrap()
        .contains("outpost_rpc_calls_total"));
    let x = admin
        .rpc("metrics_export", json!({"format": "json"}))
        .await
        .unwrap();
    assert!(x["rpcs"].as_array().unwrap().len() > 3);
    let e = admin
        .rpc("metrics_export", json!({"format": "xml"}))
        .await
        .unwrap_err();
    assert!(e.message.starts_with("format:"), "{e}");
    let e = server
        .server_rpc("metrics_export", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_status_reads_what_the_limiter_holds() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_WRITE_BURST", "5"),
            ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "50"),
        ],
    )
    .await;
    let game = server.game("arena");
    let p = server.new_player().await;
    let s = p.rpc("rate_limit_status", json!({})).await.unwrap();
    assert_eq!(s["limited"], true);
    let class = |s: &serde_json::Value, c: &str| {
        s["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["class"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(class(&s, "write")["remaining"], 5);
    assert_eq!(class(&s, "write")["burst"], 5);
    // The status call itself is a read.
    assert_eq!(class(&s, "read")["remaining"], 49);
    for _ in 0..2 {
        p.rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": [{"name": "x"}]}),
        )
        .await
        .unwrap();
    }
    let s = p.rpc("rate_limit_status", json!({})).await.unwrap();
    let w = class(&s, "write");
    assert!(w["remaining"] == 3 || w["remaining"] == 4, "{s}");
    assert!(w["full_in_ms"].as_u64().unwrap() > 0);
}
