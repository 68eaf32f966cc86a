//! Helpers the live-ops tests share: a dev-mode server, the game's clock, waiting for the
//! scheduler.

#![allow(dead_code)]

use std::time::Duration;

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

/// A server in dev mode (the clock can move) with games `arena` and `other`.
pub async fn dev_server() -> TestServer {
    TestServer::start_with(&["arena", "other"], &[("OUTPOST_SERVER_DEV_MODE", "true")]).await
}

/// The game's time now, as the server reads it.
pub async fn game_now(admin: &Player, game: &str) -> i64 {
    let c = admin
        .rpc("dev_clock_get", json!({"game_id": game}))
        .await
        .expect("dev_clock_get");
    chrono::Utc::now().timestamp() + c["offset_secs"].as_i64().unwrap_or(0)
}

/// Moves the game's clock forward by `secs` seconds.
pub async fn advance(admin: &Player, game: &str, secs: i64) {
    admin
        .rpc(
            "dev_clock_advance",
            json!({"game_id": game, "by": format!("{secs}s")}),
        )
        .await
        .expect("dev_clock_advance");
}

/// Polls `probe` until it returns `Some` (the scheduler runs about once a second).
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A player's stored notifications with `code`.
pub async fn notifications_with(player: &Player, game: &str, code: i64) -> Vec<Value> {
    let n = player
        .rpc("notifications_list", json!({"game_id": game, "limit": 100}))
        .await
        .expect("notifications_list");
    n["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x["code"] == code)
        .collect()
}
