//! Rooms over HTTPS, relay matches, many matches at once, chat and presence.

use std::time::Duration;

use outpost::client::quic::{arena_op, ArenaInput, ArenaState, Channel, Code, ServerMsg};
use serde_json::json;

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread")]
async fn rooms_hand_out_single_use_tickets() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;

    let room = alice
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "arena", "label": "ranked", "private": true,
                   "invite": [bob.user_id()]}),
        )
        .await
        .unwrap();
    let match_id = room["match_id"].as_str().unwrap().to_string();
    let quic = server.quic_addr();
    assert_eq!(room["port"], quic.port());
    assert_eq!(room["host"], "127.0.0.1");
    assert_eq!(room["alpn"], "outpost/1");
    let ticket = room["ticket"].as_str().unwrap().to_string();
    assert!(ticket.len() >= 32);

    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    // A private room needs a ticket, and a ticket is its owner's.
    let e = b.join_match(&match_id, None).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
    let e = b.join_match(&match_id, Some(&ticket)).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
    // That attempt did not spend it: it is still its owner's, once.
    let j = a.join_match(&match_id, Some(&ticket)).await.unwrap();
    assert_eq!(j.label, "ranked");
    let again = alice
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap();
    a.leave_match(&match_id).await.unwrap();
    let e = a.join_match(&match_id, Some(&ticket)).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::NotFound.as_u16()), "{e}");
    a.join_match(&match_id, again["ticket"].as_str())
        .await
        .unwrap();
    let bt = bob
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap();
    b.join_match(&match_id, bt["ticket"].as_str())
        .await
        .unwrap();

    // Private rooms are not listed; public ones are, with their size.
    let public = bob
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "relay", "label": "casual"}),
        )
        .await
        .unwrap();
    let list = alice
        .rpc("room_list", json!({"game_id": game}))
        .await
        .unwrap();
    let rooms = list["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "{list}");
    assert_eq!(rooms[0]["match_id"], public["match_id"]);
    assert_eq!(rooms[0]["size"], 0);
    let none = alice
        .rpc("room_list", json!({"game_id": game, "mode": "arena"}))
        .await
        .unwrap();
    assert!(none["rooms"].as_array().unwrap().is_empty());

    // Bad input is named.
    let err = alice
        .rpc("room_create", json!({"game_id": game, "mode": "chess"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("mode"), "{}", err.message);
    let err = alice
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "arena", "params": {"kill_limit": 0}}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("params.kill_limit"), "{}", err.message);
    let err = alice
        .rpc(
            "room_join",
            json!({"game_id": game, "match_id": "no-such-match"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    // Another game does not see this game's matches.
    let other = server.game("other");
    let err = alice
        .rpc("room_join", json!({"game_id": other, "match_id": match_id}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_forwards_datagrams_and_messages() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let ja = a
        .create_match("relay", "lobby", json!({"tick_rate": 60}))
        .await
        .unwrap();
    let jb = b.join_match(&ja.match_id, None).await.unwrap();
    let listed = b.list_matches(Some("relay"), Some("lobby")).await.unwrap();
    assert_eq!(listed[0].size, 2);

    a.send_input(ja.handle, 1, 7, b"hi").unwrap();
    let (h, payload) = b.next_datagram(WAIT).await.expect("forwarded datagram");
    assert_eq!((h.handle, h.op), (jb.handle, 7));
    assert_eq!(payload[0], ja.you.slot);
    assert_eq!(&payload[1..], b"hi");

    a.send_data(&ja.match_id, 3, b"reliable", &[])
        .await
        .unwrap();
    match b
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchData { .. }))
        .await
        .unwrap()
    {
        ServerMsg::MatchData { op, data, from, .. } => {
            assert_eq!(op, 3);
            assert_eq!(data, b"reliable");
            assert_eq!(from, Some(alice.user_id().to_string()));
        }
        other => panic!("{other:?}"),
    }

    b.leave_match(&ja.match_id).await.unwrap();
    match a
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMsg::MatchPresence { leaves, .. } if !leaves.is_empty()),
        )
        .await
        .unwrap()
    {
        ServerMsg::MatchPresence { leaves, .. } => {
            assert_eq!(leaves[0].user_id, bob.user_id().to_string())
        }
        other => panic!("{other:?}"),
    }
    let e = b.leave_match(&ja.match_id).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::NotFound.as_u16()));
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_matches_run_in_parallel() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let player = server.new_player().await;
        let ep = server.quic_endpoint();
        let addr = server.quic_addr();
        let game = game.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = outpost::client::quic::QuicClient::connect(
                &ep,
                addr,
                "localhost",
                &player.session.token,
                &game,
            )
            .await
            .unwrap();
            let j = c
                .create_match("arena", "parallel", json!({}))
                .await
                .unwrap();
            // Time enough after spawning to walk 2 units (150 units/s).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let x = 48.0 + 2.0;
            let moved = ArenaInput {
                timestamp_ms: outpost::time::now_ms(),
                x,
                y: 135.0,
                aim: 0.0,
                fire: false,
            };
            c.send_input(j.handle, 1, arena_op::INPUT, &moved.encode())
                .unwrap();
            // Wait for a state that shows the input applied.
            loop {
                let (h, p) = c.next_datagram(WAIT).await.expect("state");
                assert_eq!(h.handle, j.handle);
                let s = ArenaState::decode(&p).unwrap();
                if s.players[0].ack == 1 {
                    assert_eq!(s.players[0].x, x);
                    break;
                }
            }
            (c, j.match_id)
        }));
    }
    let mut clients = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (c, id) = t.await.unwrap();
        ids.insert(id);
        clients.push(c);
    }
    assert_eq!(ids.len(), 50);
    let stats = server
        .server_rpc("realtime_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["realtime"]["matches"], 50);
    assert_eq!(stats["realtime"]["connections"], 50);
    assert!(stats["realtime"]["ticks"].as_u64().unwrap() > 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_is_filtered_and_rate_limited() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_REALTIME_PROFANITY_EXTRA", "frak,smeg")],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let mut c = server.quic(&carol, &game).await;
    let j = a.create_match("relay", "", json!({})).await.unwrap();
    b.join_match(&j.match_id, None).await.unwrap();

    a.chat(Channel::Match, Some(&j.match_id), "well SHIT, frak this")
        .await
        .unwrap();
    match b
        .wait_for(WAIT, |m| matches!(m, ServerMsg::Chat { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Chat {
            channel,
            text,
            filtered,
            from,
            match_id,
            ..
        } => {
            assert_eq!(channel, Channel::Match);
            assert_eq!(text, "well ****, **** this");
            assert!(filtered);
            assert_eq!(from, alice.user_id().to_string());
            assert_eq!(match_id.as_deref(), Some(j.match_id.as_str()));
        }
        other => panic!("{other:?}"),
    }

    // Global reaches everyone in the game, in a match or not.
    a.chat(Channel::Global, None, "good game all")
        .await
        .unwrap();
    match c
        .wait_for(WAIT, |m| matches!(m, ServerMsg::Chat { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Chat {
            channel,
            text,
            filtered,
            ..
        } => {
            assert_eq!(channel, Channel::Global);
            assert_eq!(text, "good game all");
            assert!(!filtered);
        }
        other => panic!("{other:?}"),
    }

    // Too long, not in the match, too fast.
    let rid = a
        .chat(Channel::Global, None, &"x".repeat(281))
        .await
        .unwrap();
    let e = a
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMsg::Error { rid: r, .. } if *r == rid),
        )
        .await
        .unwrap();
    assert!(matches!(e, ServerMsg::Error { code: 9, .. }), "{e:?}");
    let rid = c
        .chat(Channel::Match, Some(&j.match_id), "let me in")
        .await
        .unwrap();
    let e = c
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMsg::Error { rid: r, .. } if *r == rid),
        )
        .await
        .unwrap();
    assert!(matches!(e, ServerMsg::Error { code: 7, .. }), "{e:?}");
    let mut last = 0;
    for i in 0..10 {
        last = c
            .chat(Channel::Global, None, &format!("spam {i}"))
            .await
            .unwrap();
    }
    let e = c
        .wait_for(
            WAIT,
            |m| matches!(m, ServerMsg::Error { rid: r, .. } if *r == last),
        )
        .await
        .unwrap();
    assert!(matches!(e, ServerMsg::Error { code: 10, .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_lists_who_is_online_and_where() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let _b = server.quic(&bob, &game).await;
    let j = a.create_match("relay", "", json!({})).await.unwrap();
    let r = alice
        .rpc("presence_list", json!({"game_id": game}))
        .await
        .unwrap();
    let list = r["presences"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let me = list
        .iter()
        .find(|p| p["user_id"] == alice.user_id().to_string())
        .unwrap();
    assert_eq!(me["match_ids"][0], j.match_id.as_str());
    assert_eq!(me["sessions"], 1);
    let health = server
        .server_rpc("detailed_health_check", json!({}))
        .await
        .unwrap();
    assert_eq!(health["connections"]["quic"], 2);
    assert_eq!(health["matches"], 1);
    // Another game has nobody online.
    let other = server.game("other");
    let r = alice
        .rpc("presence_list", json!({"game_id": other}))
        .await
        .unwrap();
    assert!(r["presences"].as_array().unwrap().is_empty());
    // Closing the connection takes the player offline.
    a.close();
    let mut online = 2;
    for _ in 0..50 {
        let r = bob
            .rpc("presence_list", json!({"game_id": game}))
            .await
            .unwrap();
        online = r["presences"].as_array().unwrap().len();
        if online == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(online, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_dropped_without_stalling_the_match() {
    use outpost::client::quic::{ClientMsg, Code};
    // Relay messages up to 60 KB are allowed here, to outgrow the sloth's stream window fast.
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_SEND_QUEUE", "16"),
            ("OUTPOST_REALTIME_MAX_RELAY_BYTES", "60000"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let sloth = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let j = a.create_match("relay", "", json!({})).await.unwrap();
    b.join_match(&j.match_id, None).await.unwrap();

    // A raw connection that joins and then never reads its control stream.
    let conn = server
        .quic_endpoint()
        .connect(server.quic_addr(), "localhost")
        .unwrap()
        .await
        .unwrap();
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    for msg in [
        ClientMsg::Hello {
            token: sloth.session.token.clone(),
            game_id: game.clone(),
            client_version: 1,
        },
        ClientMsg::MatchJoin {
            rid: 1,
            match_id: j.match_id.clone(),
            ticket: None,
        },
    ] {
        let frame = outpost::realtime::protocol::encode_frame(&msg).unwrap();
        send.write_all(&frame).await.unwrap();
    }
    let joined = a
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchPresence { joins, .. } if joins.iter().any(|p| p.user_id == sloth.user_id().to_string())))
        .await;
    assert!(joined.is_ok());

    // 60 KB messages: far more than the sloth's stream window and queue can hold.
    let blob = vec![7u8; 60_000];
    for _ in 0..100 {
        a.send_data(&j.match_id, 1, &blob, &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closed = tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("sloth dropped");
    match closed {
        quinn::ConnectionError::ApplicationClosed(c) => {
            assert_eq!(
                c.error_code.into_inner(),
                Code::SlowConsumer.as_u16() as u64
            )
        }
        other => panic!("{other:?}"),
    }
    // Bob, who reads, got every message, and the match still answers.
    let mut got = 0;
    while got < 100 {
        b.wait_for(WAIT, |m| matches!(m, ServerMsg::MatchData { .. }))
            .await
            .unwrap();
        got += 1;
    }
    a.send_input(j.handle, 1, 9, b"still here").unwrap();
    let (h, _) = b.next_datagram(WAIT).await.expect("relay still ticks");
    assert_eq!(h.op, 9);
    let stats = server
        .server_rpc("realtime_stats", json!({}))
        .await
        .unwrap();
    assert!(stats["realtime"]["dropped_slow"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_matches_end_after_the_grace_period() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_REALTIME_EMPTY_GRACE_SECS", "1")]).await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    // Created over HTTPS, never joined.
    let room = alice
        .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
        .await
        .unwrap();
    let id = room["match_id"].as_str().unwrap().to_string();
    // Joined, then left.
    let mut a = server.quic(&alice, &game).await;
    let j = a.create_match("arena", "", json!({})).await.unwrap();
    a.leave_match(&j.match_id).await.unwrap();
    let list = alice
        .rpc("room_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(list["rooms"].as_array().unwrap().len(), 2);

    let mut left = 2;
    for _ in 0..60 {
        let list = alice
            .rpc("room_list", json!({"game_id": game}))
            .await
            .unwrap();
        left = list["rooms"].as_array().unwrap().len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0);
    let err = alice
        .rpc("room_join", json!({"game_id": game, "match_id": id}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let e = a.join_match(&j.match_id, None).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::NotFound.as_u16()));
    // An abandoned match leaves no result behind.
    let err = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": j.match_id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_player_cannot_fill_the_node_with_matches() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let host = server.new_player().await;
    let other = server.new_player().await;
    let mut h = server.quic(&host, &game).await;

    // Four live matches created by one player, over HTTPS and QUIC alike...
    for i in 0..2 {
        host.rpc(
            "room_create",
            json!({"game_id": game, "mode": "relay", "label": format!("r{i}")}),
        )
        .await
        .unwrap();
        h.create_match("relay", &format!("q{i}"), json!({}))
            .await
            .unwrap();
    }
    // ...and a fifth is refused on both, with the cap named.
    let e = h.create_match("relay", "q2", json!({})).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
    assert!(e.to_string().contains("at most 4"), "{e}");
    let err = host
        .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("at most 4"), "{}", err.message);
    let listed = other
        .rpc("room_list", json!({"game_id": game, "limit": 100}))
        .await
        .unwrap();
    assert_eq!(listed["rooms"].as_array().unwrap().len(), 4, "{listed}");

    // The cap is per player: someone else still creates.
    other
        .rpc("room_create", json!({"game_id": game, "mode": "relay"}))
        .await
        .unwrap();

    // A connection already in 8 matches is refused before a ninth is created.
    let third = server.new_player().await;
    let mut o = server.quic(&other, &game).await;
    let mut t = server.quic(&third, &game).await;
    for i in 0..3 {
        let j = o
            .create_match("relay", &format!("o{i}"), json!({}))
            .await
            .unwrap();
        t.join_match(&j.match_id, None).await.unwrap();
    }
    let listed = third
        .rpc("room_list", json!({"game_id": game, "limit": 100}))
        .await
        .unwrap();
    // The other five: the host's four and `other`'s first.
    let rest: Vec<&serde_json::Value> = listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["label"].as_str().unwrap().starts_with('o'))
        .collect();
    assert_eq!(rest.len(), 5, "{listed}");
    for room in rest {
        t.join_match(room["match_id"].as_str().unwrap(), None)
            .await
            .unwrap();
    }
    let before = third
        .rpc("room_list", json!({"game_id": game, "limit": 100}))
        .await
        .unwrap()["rooms"]
        .as_array()
        .unwrap()
        .len();
    let e = t
        .create_match("relay", "ninth", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(Code::Refused.as_u16()), "{e}");
    assert!(e.to_string().contains("per connection"), "{e}");
    let after = third
        .rpc("room_list", json!({"game_id": game, "limit": 100}))
        .await
        .unwrap()["rooms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before, "a refused create leaves no match behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_relay_data_is_refused_and_everyone_stays_connected() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let ja = a.create_match("relay", "big", json!({})).await.unwrap();
    b.join_match(&ja.match_id, None).await.unwrap();

    // Under the 64 KiB frame cap, over the 4096-byte relay cap: refused, not forwarded.
    a.send_data(&ja.match_id, 1, &vec![7u8; 4097], &[])
        .await
        .unwrap();
    match a
        .wait_for(WAIT, |m| matches!(m, ServerMsg::Error { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Error { code, message, .. } => {
            assert_eq!(code, Code::InvalidArgument.as_u16());
            assert!(message.contains("4096"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // The limit itself passes, and both players are still connected and in the match.
    a.send_data(&ja.match_id, 2, &vec![8u8; 4096], &[])
        .await
        .unwrap();
    match b
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchData { .. }))
        .await
        .unwrap()
    {
        ServerMsg::MatchData { op, data, .. } => {
            assert_eq!(op, 2, "the oversized message must not have been forwarded");
            assert_eq!(data.len(), 4096);
        }
        other => panic!("{other:?}"),
    }
    b.send_data(&ja.match_id, 3, b"still here", &[])
        .await
        .unwrap();
    match a
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchData { .. }))
        .await
        .unwrap()
    {
        ServerMsg::MatchData { op, data, .. } => {
            assert_eq!(op, 3);
            assert_eq!(data, b"still here");
        }
        other => panic!("{other:?}"),
    }
    assert!(a.connection().close_reason().is_none());
    assert!(b.connection().close_reason().is_none());
}
