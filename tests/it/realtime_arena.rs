//! Arena team deathmatch over QUIC: inputs in, state out at the tick rate, a team wins at
//! the kill limit, results and stats are stored; replays are dropped and cheats flagged.

use std::time::Duration;

use outpost::client::quic::{arena_op, ArenaInput, ArenaState, QuicClient, ServerMsg};
use serde_json::json;

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);
/// The `outpost` map: red spawns at (48, 135), blue at (432, 135).
pub(crate) const RED_SPAWN: (f32, f32) = (48.0, 135.0);
const BLUE_SPAWN: (f32, f32) = (432.0, 135.0);

pub(crate) fn input(x: f32, y: f32, aim: f32, fire: bool) -> Vec<u8> {
    ArenaInput {
        timestamp_ms: outpost::time::now_ms(),
        x,
        y,
        aim,
        fire,
    }
    .encode()
}

/// Sends one arena input stamped now.
pub(crate) fn send(c: &QuicClient, handle: u32, seq: u32, x: f32, y: f32, aim: f32, fire: bool) {
    c.send_input(handle, seq, arena_op::INPUT, &input(x, y, aim, fire))
        .expect("input sent");
}

/// The newest arena state among the datagrams received so far (waits for one if none).
async fn latest_state(c: &mut QuicClient) -> ArenaState {
    let mut states: Vec<(u32, ArenaState)> = c
        .drain_datagrams()
        .into_iter()
        .filter(|(h, _)| h.op == arena_op::STATE)
        .filter_map(|(h, p)| ArenaState::decode(&p).map(|s| (h.seq, s)))
        .collect();
    if states.is_empty() {
        let (h, p) = c.next_datagram(WAIT).await.expect("a state datagram");
        states.push((h.seq, ArenaState::decode(&p).expect("state decodes")));
    }
    states.sort_by_key(|(seq, _)| *seq);
    states.pop().map(|(_, s)| s).unwrap()
}

/// A state taken after the server has processed everything sent before this call.
async fn settled_state(c: &mut QuicClient) -> ArenaState {
    tokio::time::sleep(Duration::from_millis(300)).await;
    latest_state(c).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_players_fight_until_a_team_reaches_the_kill_limit() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;

    let ja = a
        .create_match(
            "arena",
            "duel",
            json!({"kill_limit": 2, "vote_secs": 1, "tick_rate": 20}),
        )
        .await
        .unwrap();
    assert_eq!(ja.tick_rate, 20);
    assert_eq!(ja.you.team.as_deref(), Some("red"));
    let jb = b.join_match(&ja.match_id, None).await.unwrap();
    assert_eq!(jb.you.team.as_deref(), Some("blue"));
    assert_eq!(jb.presences.len(), 2);
    match a
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchPresence { .. }))
        .await
        .unwrap()
    {
        ServerMsg::MatchPresence { joins, .. } => {
            assert_eq!(joins[0].user_id, bob.user_id().to_string())
        }
        other => panic!("{other:?}"),
    }

    // State arrives every tick, with increasing tick numbers, carrying both players.
    b.drain_datagrams();
    let started = std::time::Instant::now();
    let mut ticks = Vec::new();
    while started.elapsed() < Duration::from_secs(1) {
        if let Some((h, p)) = b.next_datagram(WAIT).await {
            assert_eq!(h.handle, jb.handle);
            let s = ArenaState::decode(&p).expect("state decodes");
            assert_eq!(s.players.len(), 2);
            ticks.push(h.seq);
        }
    }
    assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{ticks:?}");
    assert!(
        ticks.len() >= 10,
        "only {} states in a second at 20 Hz",
        ticks.len()
    );

    // Alice moves a little and her input is applied and acknowledged.
    send(&a, ja.handle, 1, RED_SPAWN.0 + 3.0, RED_SPAWN.1, 0.0, false);
    let s = settled_state(&mut b).await;
    let red = s.players.iter().find(|p| p.slot == ja.you.slot).unwrap();
    assert_eq!((red.x, red.ack), (RED_SPAWN.0 + 3.0, 1));

    // Alice fires along +x at Bob, who stands at his spawn: 34 damage a hit, 3 hits a kill.
    let mut seq = 1;
    let mut bseq = 0;
    let end = loop {
        seq += 1;
        send(
            &a,
            ja.handle,
            seq,
            RED_SPAWN.0 + 3.0,
            RED_SPAWN.1,
            0.0,
            true,
        );
        bseq += 1;
        send(
            &b,
            jb.handle,
            bseq,
            BLUE_SPAWN.0,
            BLUE_SPAWN.1,
            std::f32::consts::PI,
            false,
        );
        tokio::time::sleep(Duration::from_millis(130)).await;
        if let Ok(m) = a
            .wait_for(Duration::from_millis(1), |m| {
                matches!(m, ServerMsg::MatchEnd { .. })
            })
            .await
        {
            break m;
        }
        assert!(seq < 200, "no kill limit reached");
    };
    let ServerMsg::MatchEnd {
        match_id,
        scoreboard,
        vote_options,
        vote_secs,
    } = end
    else {
        unreachable!()
    };
    assert_eq!(match_id, ja.match_id);
    assert_eq!(scoreboard.winner.as_deref(), Some("red"));
    assert_eq!(scoreboard.reason, "kill_limit");
    assert_eq!(scoreboard.team_scores["red"], 2);
    assert_eq!(scoreboard.team_scores["blue"], 0);
    let line = |u: uuid::Uuid| {
        scoreboard
            .players
            .iter()
            .find(|p| p.user_id == u.to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(
        (line(alice.user_id()).kills, line(alice.user_id()).score),
        (2, 200)
    );
    assert_eq!(
        (line(bob.user_id()).deaths, line(bob.user_id()).score),
        (2, -100)
    );
    assert_eq!(vote_secs, 1);
    assert!(vote_options.contains(&"arena/canyon".to_string()));

    // Bob sees the same end; both vote for the next map.
    b.wait_for(WAIT, |m| matches!(m, ServerMsg::MatchEnd { .. }))
        .await
        .unwrap();
    a.vote(&ja.match_id, "arena/canyon").await.unwrap();
    b.vote(&ja.match_id, "arena/canyon").await.unwrap();
    match b
        .wait_for(WAIT, |m| matches!(m, ServerMsg::VoteResult { .. }))
        .await
        .unwrap()
    {
        ServerMsg::VoteResult {
            option,
            tally,
            next_match_id,
            ..
        } => {
            assert_eq!(option, "arena/canyon");
            assert_eq!(tally["arena/canyon"], 2);
            let next = next_match_id.expect("a next match");
            assert_ne!(next, ja.match_id);
            let j = b.join_match(&next, None).await.unwrap();
            assert_eq!(j.mode, "arena");
        }
        other => panic!("{other:?}"),
    }
    a.wait_for(WAIT, |m| matches!(m, ServerMsg::MatchLeft { code: 0, .. }))
        .await
        .unwrap();

    // The result is stored and readable over HTTPS; profiles moved.
    let r = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": ja.match_id}),
        )
        .await
        .unwrap();
    assert_eq!(r["result"]["winner"], "red");
    assert_eq!(r["result"]["team_scores"]["red"], 2);
    assert_eq!(r["result"]["map"], "outpost");
    assert_eq!(r["result"]["players"].as_array().unwrap().len(), 2);
    assert!(r["result"]["duration_ms"].as_u64().unwrap() > 0);
    let pa = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(pa["profile"]["stats"]["matches"], 1);
    assert_eq!(pa["profile"]["stats"]["wins"], 1);
    assert_eq!(pa["profile"]["stats"]["kills"], 2);
    let pb = bob
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(pb["profile"]["stats"]["deaths"], 2);
    assert_eq!(pb["profile"]["stats"]["wins"], 0);
    let h = bob
        .rpc("match_list_history", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(h["matches"][0]["match_id"], ja.match_id.as_str());
    let err = bob
        .rpc(
            "match_list_history",
            json!({"game_id": game, "user_id": alice.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let all = server
        .server_rpc("match_list_history", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(all["matches"].as_array().unwrap().len(), 1);
    let err = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_input_is_dropped() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let j = a.create_match("arena", "", json!({})).await.unwrap();
    let me = |s: &ArenaState| *s.players.iter().find(|p| p.slot == j.you.slot).unwrap();
    // Time enough after spawning to walk 5 units (150 units/s).
    tokio::time::sleep(Duration::from_millis(200)).await;

    send(&a, j.handle, 10, RED_SPAWN.0 + 5.0, RED_SPAWN.1, 0.0, false);
    let p = me(&settled_state(&mut a).await);
    assert_eq!((p.x, p.ack), (RED_SPAWN.0 + 5.0, 10));

    // An older sequence number, however plausible its content, changes nothing.
    send(&a, j.handle, 5, RED_SPAWN.0 + 10.0, RED_SPAWN.1, 0.0, false);
    send(
        &a,
        j.handle,
        10,
        RED_SPAWN.0 + 10.0,
        RED_SPAWN.1,
        0.0,
        false,
    );
    let p = me(&settled_state(&mut a).await);
    assert_eq!((p.x, p.ack), (RED_SPAWN.0 + 5.0, 10));

    send(
        &a,
        j.handle,
        11,
        RED_SPAWN.0 + 10.0,
        RED_SPAWN.1,
        0.0,
        false,
    );
    let p = me(&settled_state(&mut a).await);
    assert_eq!((p.x, p.ack), (RED_SPAWN.0 + 10.0, 11));
    let stats = server
        .server_rpc("realtime_stats", json!({}))
        .await
        .unwrap();
    assert!(stats["realtime"]["stale_inputs"].as_u64().unwrap() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_speed_hack_is_flagged_and_a_repeat_offender_kicked() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let j = a
        .create_match("arena", "", json!({"kick_after": 3}))
        .await
        .unwrap();
    let me = |s: &ArenaState| *s.players.iter().find(|p| p.slot == j.you.slot).unwrap();

    // 400 units at once: far beyond 150 units/s.
    send(
        &a,
        j.handle,
        1,
        RED_SPAWN.0 + 400.0,
        RED_SPAWN.1,
        0.0,
        false,
    );
    let p = me(&settled_state(&mut a).await);
    assert_eq!(p.x, RED_SPAWN.0, "the teleport was not applied");
    assert_eq!(p.ack, 1);

    // Out of the map, and a clock an hour off.
    send(&a, j.handle, 2, -50.0, RED_SPAWN.1, 0.0, false);
    let mut late = ArenaInput::decode(&input(RED_SPAWN.0, RED_SPAWN.1, 0.0, false)).unwrap();
    late.timestamp_ms -= 3_600_000;
    a.send_input(j.handle, 3, arena_op::INPUT, &late.encode())
        .unwrap();
    match a
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchLeft { .. }))
        .await
        .unwrap()
    {
        ServerMsg::MatchLeft { code, reason, .. } => {
            assert_eq!(code, 12, "{reason}");
            assert!(reason.contains("anti-cheat"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    let mut kinds = Vec::new();
    for _ in 0..50 {
        let r = admin
            .rpc(
                "moderation_list_suspicious",
                json!({"game_id": game, "user_id": alice.user_id()}),
            )
            .await
            .unwrap();
        kinds = r["activities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect();
        if kinds.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kinds.sort();
    assert_eq!(kinds, ["out_of_bounds", "speed", "timestamp"]);
    let err = alice
        .rpc("moderation_list_suspicious", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn shots_faster_than_the_rifle_allows_are_refused() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let j = a
        .create_match("arena", "", json!({"kick_after": 100}))
        .await
        .unwrap();
    let jb = b.join_match(&j.match_id, None).await.unwrap();
    // Three shots 10 ms apart (the rifle allows one per 100 ms): only the first lands.
    let t = outpost::time::now_ms();
    for (i, dt) in [0i64, 10, 20].into_iter().enumerate() {
        let shot = ArenaInput {
            timestamp_ms: t + dt,
            x: RED_SPAWN.0,
            y: RED_SPAWN.1,
            aim: 0.0,
            fire: true,
        };
        a.send_input(j.handle, i as u32 + 1, arena_op::INPUT, &shot.encode())
            .unwrap();
    }
    let s = settled_state(&mut a).await;
    let blue = s.players.iter().find(|p| p.slot == jb.you.slot).unwrap();
    assert_eq!(blue.health, 66);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_result_is_readable_as_soon_as_match_end_arrives() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    // A long vote: the match task lives on for a minute after the end.
    let ja = a
        .create_match(
            "arena",
            "stored-early",
            json!({"kill_limit": 1, "vote_secs": 60, "tick_rate": 20}),
        )
        .await
        .unwrap();
    b.join_match(&ja.match_id, None).await.unwrap();
    // Alice fires along +x at Bob, who stands at his spawn.
    let mut seq = 0;
    loop {
        seq += 1;
        send(&a, ja.handle, seq, RED_SPAWN.0, RED_SPAWN.1, 0.0, true);
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
    // No waiting for the vote: the result and the stats are there already.
    let r = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": ja.match_id}),
        )
        .await
        .unwrap();
    assert_eq!(r["result"]["winner"], "red");
    assert_eq!(r["result"]["reason"], "kill_limit");
    assert_eq!(r["result"]["team_scores"]["red"], 1);
    let pb = bob
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(pb["profile"]["stats"]["matches"], 1);
    assert_eq!(pb["profile"]["stats"]["deaths"], 1);
    // The match is still in its vote (live, but closed to joins).
    let live = bob
        .rpc(
            "room_join",
            json!({"game_id": game, "match_id": ja.match_id}),
        )
        .await
        .unwrap_err();
    assert_eq!(live.status(), 400, "{}", live.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_clock_behind_the_server_moves_legally_across_a_respawn_unflagged() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let ja = a
        .create_match("arena", "behind", json!({"tick_rate": 20}))
        .await
        .unwrap();
    let jb = b.join_match(&ja.match_id, None).await.unwrap();
    let bob_of = |s: &ArenaState| *s.players.iter().find(|p| p.slot == jb.you.slot).unwrap();

    // Bob's clock runs 3 s behind the server's (inside the ±5 s allowed). He walks along
    // Alice's line of fire at 100 units/s (the cap is 150), is shot dead, respawns, and
    // walks on from his spawn. While dead he keeps sending where he fell, as a client does.
    let stamp = |x: f32| {
        ArenaInput {
            timestamp_ms: outpost::time::now_ms() - 3000,
            x,
            y: BLUE_SPAWN.1,
            aim: std::f32::consts::PI,
            fire: false,
        }
        .encode()
    };
    let (mut x, mut dir) = (BLUE_SPAWN.0, -1.0f32);
    let (mut bseq, mut aseq) = (0u32, 0u32);
    let mut last_fire = std::time::Instant::now();
    let mut respawned_at: Option<std::time::Instant> = None;
    let started = std::time::Instant::now();
    let mut last = bob_of(&latest_state(&mut b).await);
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no respawn seen"
        );
        let s = bob_of(&latest_state(&mut b).await);
        if s.health > 0 && last.health == 0 {
            // Respawned: carry on from where the server put him.
            x = s.x;
            respawned_at = Some(std::time::Instant::now());
        }
        if s.health > 0 {
            x += dir * 5.0;
            if !(380.0..=BLUE_SPAWN.0).contains(&x) {
                dir = -dir;
                x = x.clamp(380.0, BLUE_SPAWN.0);
            }
        }
        last = s;
        bseq += 1;
        b.send_input(jb.handle, bseq, arena_op::INPUT, &stamp(x))
            .unwrap();
        // Alice fires along +x until Bob has died once.
        if s.deaths == 0 && last_fire.elapsed() >= Duration::from_millis(150) {
            aseq += 1;
            send(&a, ja.handle, aseq, RED_SPAWN.0, RED_SPAWN.1, 0.0, true);
            last_fire = std::time::Instant::now();
        }
        if respawned_at.is_some_and(|t| t.elapsed() >= Duration::from_millis(1500)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every move was applied, none flagged (a failure names the violation).
    let s = bob_of(&settled_state(&mut b).await);
    let r = admin
        .rpc(
            "moderation_list_suspicious",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(r["activities"].as_array().unwrap().len(), 0, "{r}");
    let stats = server
        .server_rpc("realtime_stats", json!({}))
        .await
        .unwrap();
    assert_eq!(stats["realtime"]["violations"], 0, "{stats}");
    assert_eq!(s.deaths, 1);
    assert_eq!((s.ack, s.x), (bseq, x), "Bob's last move was applied");
}
