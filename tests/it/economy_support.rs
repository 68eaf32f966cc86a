//! Helpers the economy tests share: reading a wallet and a whole ledger as a server would.

#![allow(dead_code)]

use std::collections::BTreeMap;

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

/// A player whose session names `game_id` (what Nakama-style endpoints act on).
pub async fn player_in(server: &TestServer, game_id: &str) -> Player {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let vars: BTreeMap<String, String> = [("game_id".to_string(), game_id.to_string())].into();
    let session = server
        .client
        .authenticate_device(
            &format!("device-economy-{}-{n:06}", std::process::id()),
            true,
            None,
            &vars,
        )
        .await
        .expect("device authentication");
    Player {
        client: server.client.clone(),
        session,
    }
}

/// One currency's balance, as the server reads it.
pub async fn balance(server: &TestServer, game: &str, user: &str, currency: &str) -> i64 {
    let w = server
        .server_rpc("wallet_get", json!({"game_id": game, "user_id": user}))
        .await
        .expect("wallet_get");
    w["wallet"][currency].as_i64().unwrap_or(0)
}

/// Every ledger entry of a user, newest first, following cursors.
pub async fn whole_ledger(server: &TestServer, game: &str, user: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = json!({"game_id": game, "user_id": user, "limit": 100});
        if let Some(c) = &cursor {
            req["cursor"] = json!(c);
        }
        let page = server
            .server_rpc("wallet_ledger_list", req)
            .await
            .expect("wallet_ledger_list");
        out.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Sum of one currency's deltas over ledger entries.
pub fn ledger_sum(entries: &[Value], currency: &str) -> i64 {
    entries
        .iter()
        .filter_map(|e| e["changeset"][currency].as_i64())
        .sum()
}
