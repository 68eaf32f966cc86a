//! What a hostile player or a flood finds over QUIC: handshake floods, strict frames, bursts,
//! slow readers, private rooms, per-user caps and chat budgets, forged clocks, stat farming.

use std::net::SocketAddr;
use std::time::Duration;

use outpost::client::quic::{
    self, arena_op, ArenaInput, ArenaState, Channel, Code, QuicClient, QuicError, ServerMsg,
};
use outpost::client::Trust;
use serde_json::{json, Value};

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);

fn frame(body: &Value) -> Vec<u8> {
    let body = rmp_serde::to_vec_named(body).unwrap();
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend(body);
    f
}

async fn stats(server: &TestServer) -> Value {
    server
        .server_rpc("realtime_stats", json!({}))
        .await
        .unwrap()["realtime"]
        .clone()
}

/// Every frame until the server closes the connection, and the close code.
async fn frames_until_close(c: &mut QuicClient) -> (Vec<ServerMsg>, Option<u16>) {
    let mut got = Vec::new();
    loop {
        match c.recv(WAIT).await {
            Ok(m) => got.push(m),
            Err(QuicError::Closed { code, .. }) => return (got, code),
            Err(e) => panic!("{e} after {} frames", got.len()),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn handshakes_that_never_say_hello_do_not_lock_players_out() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_MAX_CONNECTIONS", "2"),
            ("OUTPOST_REALTIME_MAX_PENDING_PER_IP", "3"),
        ],
    )
    .await;
    let game = server.game("arena");
    // A flood from another address: handshakes that complete and then say nothing.
    let flood = quic::endpoint_with(
        Trust::Pem(&server.local.cert_pem),
        "127.0.0.2:0".parse::<SocketAddr>().unwrap(),
        None,
    )
    .unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..6 {
        match flood
            .connect(server.quic_addr(), "localhost")
            .unwrap()
            .await
        {
            Ok(c) => held.push(c),
            Err(quinn::ConnectionError::ConnectionClosed(c))
                if c.error_code == quinn::TransportErrorCode::CONNECTION_REFUSED =>
            {
                refused += 1
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((held.len(), refused), (3, 3));
    // They hold no connection slot: both real players get in, the next is told the server
    // is full before the close.
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let e = QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &carol.session.token,
        &game,
    )
    .await
    .err()
    .expect("a third connection is over the cap");
    assert!(
        matches!(e, QuicError::Server { code: 13, .. }),
        "the error frame arrives before the close: {e:?}"
    );
    a.ping().await.unwrap();
    b.ping().await.unwrap();
    let s = stats(&server).await;
    assert_eq!(s["connections"], 2, "{s}");
    // The flood's connections wait for a hello (until theirs times out), uncounted.
    assert!(s["pending"].as_u64().unwrap() <= 3, "{s}");
    // Every address was validated with a Retry first.
    assert!(s["handshakes_retried"].as_u64().unwrap() >= 9, "{s}");
    assert_eq!(s["handshakes_refused"], 3, "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_hello_gets_its_error_frame_before_the_close() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let e = QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        "not-a-token",
        &game,
    )
    .await
    .err()
    .expect("refused");
    assert!(
        matches!(&e, QuicError::Server { code: 5, message } if !message.is_empty()),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_a_map_with_a_string_t_closes_with_bad_frame() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    for body in [
        json!(["ping", 1]),
        json!({"t": 1}),
        json!({"t": 5}),
        json!({"t": "ping", "id": "one"}),
        json!({"t": "match_leave", "rid": 4}),
    ] {
        let mut c = server.quic(&alice, &game).await;
        c.send_raw(&frame(&body)).await.unwrap();
        let (got, code) = frames_until_close(&mut c).await;
        assert_eq!(code, Some(Code::BadFrame.as_u16()), "{body}: {got:?}");
        assert!(
            matches!(got.last(), Some(ServerMsg::Error { code: 1, .. })),
            "{body}: {got:?}"
        );
    }
    // A missing field is named.
    let mut c = server.quic(&alice, &game).await;
    c.send_raw(&frame(&json!({"t": "match_leave", "rid": 4})))
        .await
        .unwrap();
    let (got, _) = frames_until_close(&mut c).await;
    assert!(
        matches!(got.last(), Some(ServerMsg::Error { message, .. }) if message.contains("match_id")),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_over_the_limit_is_refused_in_order_then_closed_with_rate_limited() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_MESSAGES_PER_SEC", "1"),
            ("OUTPOST_REALTIME_MESSAGES_BURST", "100"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut c = server.quic(&alice, &game).await;
    // 400 pings written at once.
    let mut burst = Vec::new();
    for id in 1..=400u32 {
        burst.extend(frame(&json!({"t": "ping", "id": id})));
    }
    let _ = c.send_raw(&burst).await;
    let (got, code) = frames_until_close(&mut c).await;
    assert_eq!(code, Some(Code::RateLimited.as_u16()), "{got:?}");
    let pongs: Vec<u32> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Pong { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let refused: Vec<u32> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code: 10, rid, .. } if *rid > 0 => Some(*rid),
            _ => None,
        })
        .collect();
    assert_eq!(pongs, (1..=100).collect::<Vec<_>>());
    assert_eq!(refused, (101..=150).collect::<Vec<_>>());
    // The last frame says why the connection closes.
    assert!(
        matches!(
            got.last(),
            Some(ServerMsg::Error {
                code: 10,
                rid: 0,
                ..
            })
        ),
        "{:?}",
        got.last()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_is_closed_with_slow_consumer() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_MESSAGES_PER_SEC", "10000"),
            ("OUTPOST_REALTIME_MESSAGES_BURST", "10000"),
            ("OUTPOST_REALTIME_SEND_QUEUE", "8"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    // A small stream window: once the client stops taking frames, the server cannot write.
    let ep = quic::endpoint_with(
        Trust::Pem(&server.local.cert_pem),
        "0.0.0.0:0".parse::<SocketAddr>().unwrap(),
        Some(4096),
    )
    .unwrap();
    let c = QuicClient::connect(
        &ep,
        server.quic_addr(),
        "localhost",
        &alice.session.token,
        &game,
    )
    .await
    .unwrap();
    let mut c = c;
    let mut burst = Vec::new();
    for id in 1..=3000u32 {
        burst.extend(frame(&json!({"t": "ping", "id": id})));
    }
    let _ = c.send_raw(&burst).await;
    let (code, reason) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::SlowConsumer.as_u16()), "{reason}");
    assert!(stats(&server).await["dropped_slow"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn profanity_masks_exactly_the_word_through_leetspeak_and_punctuation() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_REALTIME_PROFANITY_EXTRA", "zorkword")],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    for (said, shown) in [
        ("you zorkword!", "you ********!"),
        ("$zorkword", "$********"),
        ("z0rkw0rd$", "********$"),
        ("fine words", "fine words"),
    ] {
        a.chat(Channel::Global, None, said).await.unwrap();
        let m = a
            .wait_for(WAIT, |m| matches!(m, ServerMsg::Chat { .. }))
            .await
            .unwrap();
        let ServerMsg::Chat { text, filtered, .. } = m else {
            unreachable!()
        };
        assert_eq!(text, shown);
        assert_eq!(filtered, said != shown);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn joined_and_listed_arena_matches_tell_their_map_and_limits() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let j = a
        .create_match(
            "arena",
            "rules",
            json!({"map": "canyon", "kill_limit": 7, "time_limit_secs": 120, "max_players": 4}),
        )
        .await
        .unwrap();
    assert_eq!(j.map.as_deref(), Some("canyon"));
    assert_eq!(
        (j.kill_limit, j.time_limit_secs, j.max_size),
        (Some(7), Some(120), 4)
    );
    let listed = a.list_matches(Some("arena"), None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].map.as_deref(), Some("canyon"));
    assert_eq!(
        (listed[0].kill_limit, listed[0].time_limit_secs),
        (Some(7), Some(120))
    );
    let rooms = alice
        .rpc("room_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(rooms["rooms"][0]["map"], "canyon");
    assert_eq!(rooms["rooms"][0]["kill_limit"], 7);
    // Relay has no such rules, and says nothing of them.
    let r = a.create_match("relay", "", json!({})).await.unwrap();
    assert_eq!((r.map, r.kill_limit), (None, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn private_rooms_are_hidden_and_joined_only_by_invitation_or_code() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    let dave = server.new_player().await;
    let room = alice
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "relay", "private": true, "invite": [bob.user_id()]}),
        )
        .await
        .unwrap();
    let match_id = room["match_id"].as_str().unwrap().to_string();
    let code = room["join_code"].as_str().unwrap().to_string();
    assert!(code.len() >= 16);
    // Alice plays in it.
    let mut a = server.quic(&alice, &game).await;
    a.join_match(&match_id, room["ticket"].as_str())
        .await
        .unwrap();

    // Not invited, no code: no ticket.
    let err = carol
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "{}", err.message);
    assert!(err.message.contains("private"), "{}", err.message);
    let err = carol
        .rpc(
            "room_join",
            json!({"game_id": game, "match_id": match_id, "join_code": "guessed-code-000"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    // Invited, or holding the code: in.
    let bt = bob
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap();
    assert!(bt.get("join_code").is_none(), "the code is for the creator");
    let ct = carol
        .rpc(
            "room_join",
            json!({"game_id": game, "match_id": match_id, "join_code": code}),
        )
        .await
        .unwrap();
    let mut c = server.quic(&carol, &game).await;
    c.join_match(&match_id, ct["ticket"].as_str())
        .await
        .unwrap();

    // Presence: Dave sees Alice online but not where; Alice and Carol see their room.
    let _d = server.quic(&dave, &game).await;
    let seen = |r: &Value, who: uuid::Uuid| {
        r["presences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == who.to_string())
            .map(|p| p["match_ids"].clone())
            .unwrap()
    };
    let by_dave = dave
        .rpc("presence_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(seen(&by_dave, alice.user_id()), json!([]), "{by_dave}");
    let by_carol = carol
        .rpc("presence_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(seen(&by_carol, alice.user_id()), json!([match_id]));
    let by_server = server
        .server_rpc("presence_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(seen(&by_server, alice.user_id()), json!([match_id]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_shown_by_the_wrong_player_stays_its_owners() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mallory = server.new_player().await;
    let room = alice
        .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
        .await
        .unwrap();
    let match_id = room["match_id"].as_str().unwrap();
    let bt = bob
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap();
    let ticket = bt["ticket"].as_str().unwrap();
    let mut m = server.quic(&mallory, &game).await;
    let e = m.join_match(match_id, Some(ticket)).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
    let mut b = server.quic(&bob, &game).await;
    b.join_match(match_id, Some(ticket)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_player_is_capped_in_connections_and_chat_and_a_game_in_global_chat() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_MAX_CONNECTIONS_PER_USER", "2"),
            ("OUTPOST_REALTIME_CHAT_PER_SEC", "1"),
            ("OUTPOST_REALTIME_CHAT_BURST", "3"),
            ("OUTPOST_REALTIME_GLOBAL_CHAT_PER_SEC", "1"),
            ("OUTPOST_REALTIME_GLOBAL_CHAT_BURST", "5"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut a1 = server.quic(&alice, &game).await;
    let mut a2 = server.quic(&alice, &game).await;
    let e = QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &alice.session.token,
        &game,
    )
    .await
    .err()
    .expect("a third connection of one user");
    assert!(matches!(e, QuicError::Server { code: 8, .. }), "{e:?}");

    // Alice's chat budget is shared by her connections: 3 lines, not 3 each.
    let m1 = a1.create_match("relay", "", json!({})).await.unwrap();
    let m2 = a2.create_match("relay", "", json!({})).await.unwrap();
    let mut refused = 0;
    for i in 0..4 {
        let (c, m) = if i % 2 == 0 {
            (&mut a1, &m1)
        } else {
            (&mut a2, &m2)
        };
        let line = format!("line {i}");
        let rid = c
            .chat(Channel::Match, Some(&m.match_id), &line)
            .await
            .unwrap();
        let m = c
            .wait_for(WAIT, |m| {
                matches!(m, ServerMsg::Chat { text, .. } if *text == line)
                    || matches!(m, ServerMsg::Error { rid: r, .. } if *r == rid)
            })
            .await
            .unwrap();
        if matches!(m, ServerMsg::Error { code: 10, .. }) {
            refused += 1;
        }
    }
    assert_eq!(refused, 1);

    // Global chat of the game: 5 lines in a burst whoever sends them.
    let mut talkers = Vec::new();
    for _ in 0..6 {
        let p = server.new_player().await;
        let c = server.quic(&p, &game).await;
        talkers.push((p, c));
    }
    let mut rids = Vec::new();
    for (_, c) in talkers.iter_mut() {
        rids.push(c.chat(Channel::Global, None, "hi all").await.unwrap());
    }
    let mut refused_global = 0;
    for ((p, c), rid) in talkers.iter_mut().zip(rids) {
        let me = p.user_id().to_string();
        let m = c
            .wait_for(WAIT, |m| {
                matches!(m, ServerMsg::Chat { from, .. } if *from == me)
                    || matches!(m, ServerMsg::Error { rid: r, .. } if *r == rid)
            })
            .await
            .unwrap();
        if let ServerMsg::Error { code, message, .. } = m {
            assert_eq!(code, 10);
            assert!(message.contains("global"), "{message}");
            refused_global += 1;
        }
    }
    assert!(
        refused_global >= 1,
        "six global lines passed a burst of five"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rooms_created_from_one_address_are_capped() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_REALTIME_MAX_MATCHES_PER_IP", "2")]).await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    for _ in 0..2 {
        alice
            .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
            .await
            .unwrap();
    }
    // Another account from the same address.
    let err = bob
        .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("address"), "{}", err.message);
    let mut b = server.quic(&bob, &game).await;
    let e = b.create_match("relay", "", json!({})).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
}

fn arena_input(ts: i64, x: f32, y: f32, fire: bool) -> Vec<u8> {
    ArenaInput {
        timestamp_ms: ts,
        x,
        y,
        aim: 0.0,
        fire,
    }
    .encode()
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_client_clocks_buy_no_distance_and_no_shots() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let j = a
        .create_match("arena", "", json!({"kick_after": 1000}))
        .await
        .unwrap();
    b.join_match(&j.match_id, None).await.unwrap();
    let before = stats(&server).await["violations"].as_u64().unwrap();
    // -4.9 s, then +4.9 s: within the clock tolerance, "9.8 s" apart on the client's clock.
    let now = outpost::time::now_ms();
    a.send_input(
        j.handle,
        1,
        arena_op::INPUT,
        &arena_input(now - 4900, 48.0, 135.0, false),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.send_input(
        j.handle,
        2,
        arena_op::INPUT,
        &arena_input(now + 4900, 400.0, 135.0, false),
    )
    .unwrap();
    // Twenty shots 95 ms apart on the client's clock, all sent at once.
    for i in 0..20 {
        let ts = now - 4800 + i * 95;
        a.send_input(
            j.handle,
            3 + i as u32,
            arena_op::INPUT,
            &arena_input(ts, 48.0, 135.0, true),
        )
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let states: Vec<ArenaState> = a
        .drain_datagrams()
        .into_iter()
        .filter_map(|(_, p)| ArenaState::decode(&p))
        .collect();
    let me = states
        .last()
        .expect("a state")
        .players
        .iter()
        .find(|p| p.slot == j.you.slot)
        .copied()
        .unwrap();
    assert_eq!(me.x, 48.0, "the teleport was refused");
    let violations = stats(&server).await["violations"].as_u64().unwrap() - before;
    // One speed violation, and every shot beyond the bank of 3 (plus what refills in the
    // moment they take to arrive).
    assert!(violations >= 16, "{violations} violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_match_with_too_few_distinct_players_moves_no_stats() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_REALTIME_MIN_PLAYERS_FOR_STATS", "3")],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let alt = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&alt, &game).await;
    let j = a
        .create_match("arena", "farm", json!({"kill_limit": 1, "vote_secs": 0}))
        .await
        .unwrap();
    b.join_match(&j.match_id, None).await.unwrap();
    let mut seq = 0;
    loop {
        seq += 1;
        let ts = outpost::time::now_ms();
        a.send_input(
            j.handle,
            seq,
            arena_op::INPUT,
            &arena_input(ts, 48.0, 135.0, true),
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(130)).await;
        if a.wait_for(Duration::from_millis(1), |m| {
            matches!(m, ServerMsg::MatchEnd { .. })
        })
        .await
        .is_ok()
        {
            break;
        }
        assert!(seq < 100, "no kill limit reached");
    }
    let r = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": j.match_id}),
        )
        .await
        .unwrap();
    assert_eq!(r["result"]["winner"], "red");
    assert_eq!(r["result"]["stats_counted"], false);
    let p = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(
        p["profile"]["stats"].get("wins").is_none_or(|w| w == 0),
        "{p}"
    );
    // The history still lists it.
    let h = alice
        .rpc("match_list_history", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(h["matches"][0]["match_id"], j.match_id.as_str());
}
