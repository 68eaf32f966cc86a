//! Bracket rooms across a restart: live matches are in memory, so the rooms a tournament
//! had open die with the server. At the next start each ready bracket match whose room is
//! gone gets a fresh room, both players are invited and told again, and the stale links
//! are replaced: the match is still played there and reaches the bracket once. A room that
//! is still live is never opened twice.

use std::time::Duration;

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::competition_tournament_rooms::play;
use crate::competition_tournaments::{advance, create, dev_server, wait_state};

/// The bracket of stage 0 as a player sees it.
async fn bracket(p: &Player, game: &str, id: &str) -> Value {
    p.rpc(
        "tournament_get_bracket",
        json!({"game_id": game, "tournament_id": id}),
    )
    .await
    .unwrap()
}

/// The live match recorded for bracket match `m`.
async fn room(p: &Player, game: &str, id: &str, m: u32) -> Option<String> {
    bracket(p, game, id).await["rooms"][m.to_string()]
        .as_str()
        .map(str::to_string)
}

/// Waits until bracket match `m` has a room other than `old`.
async fn new_room(p: &Player, game: &str, id: &str, m: u32, old: &str) -> String {
    for _ in 0..100 {
        if let Some(r) = room(p, game, id, m).await.filter(|r| r != old) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("bracket match {m} never got a room other than {old}");
}

/// The same account, through the restarted server's client.
fn again(server: &TestServer, p: &Player) -> Player {
    Player {
        client: server.client.clone(),
        session: p.session.clone(),
    }
}

/// The ids of the live matches a notification told `p` about, oldest first.
async fn told(p: &Player, game: &str) -> Vec<Value> {
    let n = p
        .rpc("notifications_list", json!({"game_id": game, "limit": 100}))
        .await
        .unwrap();
    let mut v: Vec<Value> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["code"] == 1)
        .map(|n| n["content"].clone())
        .collect();
    v.sort_by_key(|c| c["match_id"].as_str().map(str::to_string));
    v
}

/// The game's live matches of tournament `id`.
async fn live_rooms(admin: &Player, game: &str, id: &str) -> Vec<String> {
    let r = admin
        .rpc("match_list_live", json!({"game_id": game}))
        .await
        .unwrap();
    let mut v: Vec<String> = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["label"] == format!("tournament:{id}"))
        .map(|m| m["match_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

async fn join_all(players: &[&Player], game: &str, id: &str) {
    for p in players {
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_lost_to_a_restart_is_reopened_and_reports_once() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "single_elimination",
               "prizes": [{"rank": 1, "reward": {"currencies": {"coins": 10}}}],
               "rooms": {"mode": "arena",
                         "params": {"kill_limit": 1, "vote_secs": 60, "tick_rate": 20}}}),
    )
    .await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    join_all(&[&alice, &bob], &game, &id).await;
    advance(&admin, &game, "1h").await;
    wait_state(&alice, &game, &id, "active").await;
    let first = room(&alice, &game, &id, 0)
        .await
        .expect("a room for match 0");

    server.restart().await;
    let (admin, alice, bob) = (
        again(&server, &admin),
        again(&server, &alice),
        again(&server, &bob),
    );
    // A fresh room for the same bracket match; the old one is gone.
    let second = new_room(&alice, &game, &id, 0, &first).await;
    assert_eq!(live_rooms(&admin, &game, &id).await, vec![second.clone()]);
    let e = alice
        .rpc("room_join", json!({"game_id": game, "match_id": first}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 404, "{}", e.message);
    // Both were told again, with the room it replaces.
    for p in [&alice, &bob] {
        let n = told(p, &game).await;
        assert_eq!(n.len(), 2, "{n:?}");
        let new = n.iter().find(|c| c["match_id"] == second.as_str()).unwrap();
        assert_eq!(new["replaces_match_id"], first.as_str(), "{new}");
        assert_eq!(new["bracket_match_id"], 0);
    }
    // The start's reopening ran once: the room stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(room(&alice, &game, &id, 0).await.as_deref(), Some(&*second));

    // Both take tickets for the new room and play it; Alice (red) wins.
    let winner = play(&server, &game, &second, &alice, &bob, true).await;
    assert_eq!(winner.as_deref(), Some("red"));
    let t = wait_state(&alice, &game, &id, "rewards_distributed").await;
    assert_eq!(t["ended_by"], "bracket");
    assert_eq!(t["results"][0]["user_id"], json!(alice.user_id()));
    let m = &bracket(&alice, &game, &id).await["rounds"][0]["matches"][0];
    assert_eq!(m["winner_id"], json!(alice.user_id()));
    let w = alice
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({"coins": 10}), "the prize, once");
    // Decided: a report now is refused and changes nothing.
    let e = server
        .server_rpc(
            "tournament_report_match",
            json!({"game_id": game, "tournament_id": id, "match_id": 0,
                   "winner_id": bob.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_room_is_never_opened_twice() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "single_elimination",
               "rooms": {"mode": "arena",
                         "params": {"kill_limit": 1, "vote_secs": 60, "tick_rate": 20}}}),
    )
    .await;
    let mut players = Vec::new();
    for _ in 0..4 {
        players.push(server.new_player().await);
    }
    join_all(&players.iter().collect::<Vec<_>>(), &game, &id).await;
    advance(&admin, &game, "1h").await;
    wait_state(&admin, &game, &id, "active").await;
    let before = [
        room(&admin, &game, &id, 0).await.expect("room 0"),
        room(&admin, &game, &id, 1).await.expect("room 1"),
    ];

    server.restart().await;
    let admin = again(&server, &admin);
    let players: Vec<Player> = players.iter().map(|p| again(&server, p)).collect();
    let after = [
        new_room(&admin, &game, &id, 0, &before[0]).await,
        new_room(&admin, &game, &id, 1, &before[1]).await,
    ];
    let mut want = after.to_vec();
    want.sort();
    assert_eq!(live_rooms(&admin, &game, &id).await, want);

    // A server reports match 0 by hand: the bracket changes and ready matches are looked at
    // again, but match 1's room is live and stays the one room it has.
    let b = bracket(&admin, &game, &id).await;
    let m1 = b["rounds"][0]["matches"][1].clone();
    let m0 = &b["rounds"][0]["matches"][0];
    server
        .server_rpc(
            "tournament_report_match",
            json!({"game_id": game, "tournament_id": id, "match_id": 0,
                   "winner_id": m0["a"]["user_id"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        room(&admin, &game, &id, 1).await.as_deref(),
        Some(&*after[1])
    );
    assert_eq!(live_rooms(&admin, &game, &id).await, want, "no room added");
    // Match 1's players were told once per room: before and after the restart.
    for side in ["a", "b"] {
        let p = players
            .iter()
            .find(|p| json!(p.user_id()) == m1[side]["user_id"])
            .unwrap();
        let n = told(p, &game).await;
        let ids: Vec<&str> = n.iter().filter_map(|c| c["match_id"].as_str()).collect();
        let mut expect = vec![before[1].as_str(), after[1].as_str()];
        expect.sort();
        assert_eq!(ids, expect);
        // The new room takes them.
        p.rpc("room_join", json!({"game_id": game, "match_id": after[1]}))
            .await
            .unwrap();
    }
}
