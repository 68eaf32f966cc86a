//! Bracket matches as QUIC rooms: a ready match opens as a private arena room for its two
//! players, who are told and take tickets with `room_join`; the room's result reports
//! itself into the bracket, and the tournament ends and pays as if a server had reported.

use std::time::Duration;

use outpost::client::quic::ServerMsg;
use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::competition_tournaments::{advance, create, dev_server, wait_state};
use crate::realtime_arena::{send, RED_SPAWN};

/// The live match opened for bracket match 0.
async fn room(p: &Player, game: &str, id: &str) -> Option<String> {
    let b: Value = p
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    b["rooms"]["0"].as_str().map(str::to_string)
}

/// Both players take tickets with `room_join` and join the room over QUIC, Alice first (red);
/// Alice fires along +x at Bob at his spawn when `fire`, else both idle; returns the
/// scoreboard's winner at the match's end.
pub(crate) async fn play(
    server: &TestServer,
    game: &str,
    room: &str,
    alice: &Player,
    bob: &Player,
    fire: bool,
) -> Option<String> {
    let ta = alice
        .rpc("room_join", json!({"game_id": game, "match_id": room}))
        .await
        .unwrap();
    let tb = bob
        .rpc("room_join", json!({"game_id": game, "match_id": room}))
        .await
        .unwrap();
    let mut qa = server.quic(alice, game).await;
    let mut qb = server.quic(bob, game).await;
    let ja = qa.join_match(room, ta["ticket"].as_str()).await.unwrap();
    assert_eq!(ja.you.team.as_deref(), Some("red"));
    qb.join_match(room, tb["ticket"].as_str()).await.unwrap();
    let mut seq = 0;
    loop {
        seq += 1;
        send(&qa, ja.handle, seq, RED_SPAWN.0, RED_SPAWN.1, 0.0, fire);
        tokio::time::sleep(Duration::from_millis(130)).await;
        if let Ok(ServerMsg::MatchEnd { scoreboard, .. }) = qa
            .wait_for(Duration::from_millis(1), |m| {
                matches!(m, ServerMsg::MatchEnd { .. })
            })
            .await
        {
            return scoreboard.winner;
        }
        assert!(seq < 150, "the match never ended");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bracket_match_is_played_as_a_room_and_reports_itself() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let e = admin
        .rpc(
            "tournament_create",
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                   "rooms": {"mode": "arena"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("rooms"), "{}", e.message);
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
    for p in [&alice, &bob] {
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    }
    advance(&admin, &game, "1h").await;
    wait_state(&alice, &game, &id, "active").await;

    // The one match of the bracket has its room, and both players were told.
    let live = room(&alice, &game, &id).await.expect("a room for match 0");
    for p in [&alice, &bob] {
        let n = p
            .rpc("notifications_list", json!({"game_id": game}))
            .await
            .unwrap();
        assert!(
            n["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["code"] == 1 && n["content"]["match_id"] == live.as_str()),
            "{n}"
        );
    }
    // Invited: each takes a ticket; a stranger cannot.
    let stranger = server.new_player().await;
    stranger
        .rpc("room_join", json!({"game_id": game, "match_id": live}))
        .await
        .unwrap_err();
    // Alice (red) fires at Bob to the kill limit.
    let winner = play(&server, &game, &live, &alice, &bob, true).await;
    assert_eq!(winner.as_deref(), Some("red"));

    // The result reported itself: the bracket is decided, the tournament ends and pays.
    let t = wait_state(&alice, &game, &id, "rewards_distributed").await;
    assert_eq!(t["ended_by"], "bracket");
    assert_eq!(t["results"][0]["user_id"], json!(alice.user_id()));
    let b = alice
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    let m = &b["rounds"][0]["matches"][0];
    assert_eq!(m["winner_id"], json!(alice.user_id()));
    assert_eq!(m["score_a"], 1, "the red team's score: {m}");
    let w = alice
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({"coins": 10}));
    // Reported already: a server's report now is refused and changes nothing.
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
async fn a_drawn_elimination_room_is_replayed_in_a_new_room() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "single_elimination",
               "rooms": {"mode": "arena",
                         "params": {"kill_limit": 1, "time_limit_secs": 10, "vote_secs": 0,
                                    "tick_rate": 20}}}),
    )
    .await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    for p in [&alice, &bob] {
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    }
    advance(&admin, &game, "1h").await;
    wait_state(&alice, &game, &id, "active").await;
    let first = room(&alice, &game, &id).await.expect("a room for match 0");
    // Nobody fires: the time limit ends it 0–0, a draw elimination cannot take.
    assert_eq!(
        play(&server, &game, &first, &alice, &bob, false).await,
        None
    );
    let mut second = None;
    for _ in 0..50 {
        second = room(&alice, &game, &id).await.filter(|r| *r != first);
        if second.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = second.expect("a new room for the replay");
    assert_eq!(
        wait_state(&alice, &game, &id, "active").await["state"],
        "active",
        "undecided"
    );
    let winner = play(&server, &game, &second, &alice, &bob, true).await;
    assert_eq!(winner.as_deref(), Some("red"));
    let t = wait_state(&alice, &game, &id, "rewards_distributed").await;
    assert_eq!(t["results"][0]["user_id"], json!(alice.user_id()));
}
