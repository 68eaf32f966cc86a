//! Matchmaking through the real surface: tickets over HTTPS, matches joined over QUIC,
//! no-shows, cancels, parties, ratings and the errors a client sees.

use std::time::{Duration, Instant};

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);

/// A fast pass (100 ms) and a short seat hold (2 s) so tests do not sleep long.
async fn server() -> TestServer {
    TestServer::start_with(
        &["arena", "other"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_MATCHMAKING_ACCEPT_TIMEOUT_SECS", "2"),
        ],
    )
    .await
}

async fn status(p: &Player, game: &str) -> Value {
    p.rpc("matchmaking_get_status", json!({"game_id": game}))
        .await
        .unwrap()
}

/// Polls a player's status until `want` holds.
async fn status_until(p: &Player, game: &str, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = status(p, game).await;
        if want(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "status never matched: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is(state: &'static str) -> impl Fn(&Value) -> bool {
    move |s: &Value| s["status"] == state
}

async fn queue(p: &Player, game: &str, mode: &str) -> Value {
    p.rpc(
        "matchmaking_find_match",
        json!({"game_id": game, "mode": mode, "region": "eu"}),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_found_match_is_joined_over_quic_by_every_player_it_names() {
    let server = server().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut qa = server.quic(&alice, &game).await;
    let mut qb = server.quic(&bob, &game).await;

    let t = queue(&alice, &game, "solo").await;
    assert_eq!(t["status"], "searching");
    assert_eq!(t["window"], 100.0);
    assert_eq!(t["rating"], 1500.0);
    let s = status(&alice, &game).await;
    assert_eq!(s["status"], "searching");
    assert_eq!(s["position"], 1);
    assert_eq!(s["reason"], "no other tickets in this queue yet");
    queue(&bob, &game, "solo").await;

    // Both are told live, with what they need to take their seat.
    let na = qa.notification(1, WAIT).await.unwrap();
    let nb = qb.notification(1, WAIT).await.unwrap();
    let match_id = na["content"]["match_id"].as_str().unwrap().to_string();
    assert_eq!(nb["content"]["match_id"], match_id);
    assert_eq!(na["subject"], "Match found");
    assert_eq!(na["content"]["mode"], "solo");
    assert_ne!(na["content"]["team"], nb["content"]["team"]);
    let teams = na["content"]["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2);
    let s = status(&bob, &game).await;
    assert_eq!(s["status"], "matched");
    assert_eq!(s["match"]["match_id"], match_id);
    assert_eq!(s["match"]["ticket"], nb["content"]["ticket"]);
    assert_eq!(s["match"]["port"], server.quic_addr().port());

    // Every player it names joins with their single-use ticket.
    let ja = qa
        .join_match(&match_id, na["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(ja.label, "mm:solo:eu");
    let jb = qb
        .join_match(&match_id, nb["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(jb.match_id, match_id);

    // Seats taken: the tickets are done.
    let s = status_until(&alice, &game, is("idle")).await;
    assert_eq!(s["last"]["outcome"], "joined");
    assert_eq!(s["last"]["match_id"], match_id);
    // And the notification was kept.
    let list = bob
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    let kept = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["code"] == 1 && n["content"]["match_id"] == match_id);
    assert!(kept, "{list}");
    let stats = alice
        .rpc(
            "matchmaking_get_queue_stats",
            json!({"game_id": game, "mode": "solo"}),
        )
        .await
        .unwrap();
    let q = &stats["queues"][0];
    assert_eq!(
        (q["mode"].clone(), q["region"].clone()),
        (json!("solo"), json!("eu"))
    );
    assert_eq!(q["matches_total"], 1);
    assert_eq!(q["matches_last_minute"], 1);
    assert_eq!(q["waiting_tickets"], 0);

    // The server reports the result: ratings move (Elo, K = 32) and history shows it.
    let r = server
        .server_rpc(
            "match_report_result",
            json!({"game_id": game, "match_id": match_id, "winner": na["content"]["team"]}),
        )
        .await
        .unwrap();
    assert_eq!(r["mode"], "solo");
    let again = server
        .server_rpc(
            "match_report_result",
            json!({"game_id": game, "match_id": match_id, "winner": 0}),
        )
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409);
    let h = alice
        .rpc("matchmaking_get_match_history", json!({"game_id": game}))
        .await
        .unwrap();
    let m = &h["matches"][0];
    assert_eq!(m["match_id"], match_id);
    assert_eq!(m["result"], "win");
    assert_eq!(m["opponents"], json!([bob.user_id()]));
    assert_eq!(m["rating_change"], 16.0);
    assert_eq!(h["ratings"]["solo"]["rating"], 1516.0);
    let h = bob
        .rpc(
            "matchmaking_get_match_history",
            json!({"game_id": game, "mode": "solo"}),
        )
        .await
        .unwrap();
    assert_eq!(h["matches"][0]["result"], "loss");
    assert_eq!(h["matches"][0]["rating_after"], 1484.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_shows_are_dropped_and_the_others_go_back_to_the_front() {
    let server = server().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    let dave = server.new_player().await;
    let mut qa = server.quic(&alice, &game).await;

    queue(&alice, &game, "solo").await;
    queue(&bob, &game, "solo").await;
    let n = qa.notification(1, WAIT).await.unwrap();
    let match_id = n["content"]["match_id"].as_str().unwrap().to_string();
    qa.join_match(&match_id, n["content"]["ticket"].as_str())
        .await
        .unwrap();
    // Bob never comes: after the 2 s hold he is dropped, Alice goes back to the front.
    let b = status_until(&bob, &game, is("idle")).await;
    assert_eq!(b["last"]["outcome"], "no_show");
    assert_eq!(b["last"]["match_id"], match_id);
    let a = status_until(&alice, &game, is("searching")).await;
    assert_eq!(a["ticket"]["front"], true);
    qa.leave_match(&match_id).await.unwrap();

    // A ticket is never in two matches: Alice (at the front) is matched with Carol.
    queue(&carol, &game, "solo").await;
    let c = status_until(&carol, &game, is("matched")).await;
    let a = status(&alice, &game).await;
    assert_eq!(a["status"], "matched");
    assert_eq!(a["match"]["match_id"], c["match"]["match_id"]);
    assert_ne!(a["match"]["match_id"], match_id);

    // Cancel while matched: Carol leaves; Alice is put back at once, at the front.
    let r = carol
        .rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(r["was"], "matched");
    let a = status(&alice, &game).await;
    assert_eq!(a["status"], "searching");
    assert_eq!(a["ticket"]["front"], true);
    let c = status(&carol, &game).await;
    assert_eq!(c["status"], "idle");
    assert_eq!(c["last"]["outcome"], "cancelled");
    let e = carol
        .rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);

    // Dave gets Alice; both cancel before taking their seats.
    queue(&dave, &game, "solo").await;
    status_until(&dave, &game, is("matched")).await;
    alice
        .rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();
    dave.rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();
    let stats = server
        .server_rpc("matchmaking_get_queue_stats", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(stats["queues"][0]["waiting_tickets"], 0);
    assert_eq!(stats["queues"][0]["matches_total"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn parties_queue_as_one_ticket_and_stay_together() {
    let server = server().await;
    let game = server.game("arena");
    let p: Vec<Player> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(server.new_player().await);
        }
        v
    };
    let party = p[0]
        .rpc(
            "matchmaking_create_party",
            json!({"game_id": game, "max_size": 2}),
        )
        .await
        .unwrap();
    let party_id = party["party"]["id"].as_str().unwrap().to_string();
    let joined = p[1]
        .rpc(
            "matchmaking_join_party",
            json!({"game_id": game, "party_id": party_id}),
        )
        .await
        .unwrap();
    assert_eq!(joined["party"]["members"].as_array().unwrap().len(), 2);
    let full = p[2]
        .rpc(
            "matchmaking_join_party",
            json!({"game_id": game, "party_id": party_id}),
        )
        .await
        .unwrap_err();
    assert_eq!(full.status(), 400);
    assert!(full.to_string().contains("full"), "{full}");
    // Only the leader queues the party; the ticket holds both.
    let e = p[1]
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "duo"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("leader"), "{e}");
    let t = p[0]
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "duo"}),
        )
        .await
        .unwrap();
    assert_eq!(t["players"].as_array().unwrap().len(), 2);
    assert_eq!(t["party_id"], party_id);
    // A member sees the party's ticket, and one live ticket per player holds.
    let s = status(&p[1], &game).await;
    assert_eq!(s["ticket"]["id"], t["ticket_id"]);
    let dup = p[0]
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "duo"}),
        )
        .await
        .unwrap_err();
    assert_eq!(dup.status(), 409);

    // Two solos fill the other team.
    for x in &p[2..] {
        x.rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "duo"}),
        )
        .await
        .unwrap();
    }
    let s = status_until(&p[1], &game, is("matched")).await;
    let teams = s["match"]["teams"].as_array().unwrap().clone();
    let team = &teams[s["match"]["team"].as_u64().unwrap() as usize];
    let ids: Vec<String> = team
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&p[0].user_id().to_string()) && ids.contains(&p[1].user_id().to_string()));

    // Leaving a queued party cancels its ticket; the other member now leads.
    let left = p[0]
        .rpc("matchmaking_leave_party", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(left["party"]["leader"], json!(p[1].user_id()));
    let s = status(&p[1], &game).await;
    assert_eq!(s["status"], "idle");
    assert_eq!(s["last"]["outcome"], "party_changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_naming_the_field() {
    let mut server = server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let e = alice
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "chess"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    assert!(e.to_string().contains("mode"), "{e}");
    let e = alice
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "solo", "numeric_properties": {"level": "high"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("numeric_properties"), "{e}");
    let e = alice
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "solo",
                   "constraints": {"ranges": [{"property": "level", "min": 5, "max": 1}]}}),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("constraints.ranges"), "{e}");
    // Players cannot set ratings or modes.
    let e = alice
        .rpc(
            "matchmaking_update_skill_rating",
            json!({"game_id": game, "user_id": alice.user_id(), "mode": "solo", "rating": 3000}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let e = alice
        .rpc(
            "matchmaking_set_modes",
            json!({"game_id": game, "modes": [{"name": "solo"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let e = admin
        .rpc(
            "matchmaking_set_modes",
            json!({"game_id": game, "modes": [{"name": "solo"}, {"name": "br", "team_size": 1, "team_count": 99}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("modes[1].team_count"), "{e}");
    // Nothing changed: the presets are still there.
    let m = alice
        .rpc("matchmaking_list_modes", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(m["modes"].as_array().unwrap().len(), 3);

    // A server sets a rating, then rates one game with the seed's formula.
    let r = server
        .server_rpc(
            "matchmaking_update_skill_rating",
            json!({"game_id": game, "user_id": alice.user_id(), "mode": "solo", "rating": 1700}),
        )
        .await
        .unwrap();
    assert_eq!(r["rating"]["rating"], 1700.0);
    let r = server
        .server_rpc(
            "matchmaking_update_skill_rating",
            json!({"game_id": game, "user_id": alice.user_id(), "mode": "solo",
                   "opponent_rating": 1500, "result": "win"}),
        )
        .await
        .unwrap();
    let change = r["change"].as_f64().unwrap();
    assert!((change - 7.688).abs() < 0.001, "{r}");
    let e = server
        .server_rpc(
            "matchmaking_update_skill_rating",
            json!({"game_id": game, "user_id": alice.user_id(), "mode": "solo", "result": "win"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    // The queued ticket carries the stored rating.
    let t = queue(&alice, &game, "solo").await;
    assert!(
        (t["rating"].as_f64().unwrap() - 1707.688).abs() < 0.001,
        "{t}"
    );
    // A mode with live tickets cannot be reshaped.
    let e = admin
        .rpc(
            "matchmaking_set_modes",
            json!({"game_id": game, "modes": [{"name": "solo", "team_count": 2, "team_size": 2}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("live tickets"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_widen_and_tickets_expire_with_the_game_clock() {
    let mut server = TestServer::start_with(
        &["arena", "other"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_SERVER_DEV_MODE", "true"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    admin
        .rpc(
            "matchmaking_set_modes",
            json!({"game_id": game, "modes": [
                {"name": "solo"},
                {"name": "ranked", "team_size": 1, "team_count": 2, "expire_after_secs": 300,
                 "widening": {"initial": 100, "step": 100, "every_secs": 30, "max_wait_secs": 600}}
            ]}),
        )
        .await
        .unwrap();
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    for (p, r) in [(&alice, 1000), (&bob, 1350)] {
        server
            .server_rpc(
                "matchmaking_update_skill_rating",
                json!({"game_id": game, "user_id": p.user_id(), "mode": "ranked", "rating": r}),
            )
            .await
            .unwrap();
    }
    queue(&alice, &game, "ranked").await;
    queue(&bob, &game, "ranked").await;
    // 350 apart with windows of ±100: they wait, and the status says why.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let s = status(&alice, &game).await;
    assert_eq!(s["status"], "searching");
    assert_eq!(s["window"], 100.0);
    assert_eq!(s["queued_tickets"], 1);
    assert_eq!(s["in_range_tickets"], 0);
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .starts_with("too few players in range"),
        "{s}"
    );
    // 60 s of game time: ±300, still apart.
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "60s"}))
        .await
        .unwrap();
    let s = status_until(&alice, &game, |s| s["window"] == 300.0).await;
    assert_eq!(s["status"], "searching");
    assert!(s["wait_secs"].as_f64().unwrap() >= 60.0, "{s}");
    // 30 s more: ±400, and the server matches them without anyone resubmitting.
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "30s"}))
        .await
        .unwrap();
    let s = status_until(&bob, &game, is("matched")).await;
    assert_eq!(s["ticket"]["mode"], "ranked");
    alice
        .rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();
    bob.rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();

    // Alone in the queue, a ticket expires after the mode's 300 s.
    let t = queue(&alice, &game, "ranked").await;
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "301s"}))
        .await
        .unwrap();
    let s = status_until(&alice, &game, is("idle")).await;
    assert_eq!(s["last"]["outcome"], "expired");
    assert_eq!(s["last"]["ticket_id"], t["ticket_id"]);

    // Tickets are stored: a restart rebuilds the queue.
    let t = queue(&bob, &game, "ranked").await;
    server.restart().await;
    let s = server
        .server_rpc(
            "matchmaking_get_status",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(s["status"], "searching");
    assert_eq!(s["ticket"]["id"], t["ticket_id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn recent_opponents_are_remembered_across_a_restart() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_SERVER_DEV_MODE", "true"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;

    // Alice and Bob meet.
    let mut qa = server.quic(&alice, &game).await;
    let mut qb = server.quic(&bob, &game).await;
    queue(&alice, &game, "solo").await;
    queue(&bob, &game, "solo").await;
    for q in [&mut qa, &mut qb] {
        let n = q.notification(1, WAIT).await.unwrap();
        q.join_match(
            n["content"]["match_id"].as_str().unwrap(),
            n["content"]["ticket"].as_str(),
        )
        .await
        .unwrap();
    }
    status_until(&alice, &game, is("idle")).await;
    drop((qa, qb));

    server.restart().await;
    let again = |p: &Player| Player {
        client: server.client.clone(),
        session: p.session.clone(),
    };
    let (admin, alice, bob, carol) = (again(&admin), again(&alice), again(&bob), again(&carol));

    // Bob is nearer Alice's rating than Carol is; nobody is in anyone's window (±100) yet.
    for (p, r) in [(&alice, 1500), (&bob, 1290), (&carol, 1720)] {
        server
            .server_rpc(
                "matchmaking_update_skill_rating",
                json!({"game_id": game, "user_id": p.user_id(), "mode": "solo", "rating": r}),
            )
            .await
            .unwrap();
    }
    queue(&alice, &game, "solo").await;
    queue(&bob, &game, "solo").await;
    queue(&carol, &game, "solo").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&alice, &game).await["in_range_tickets"], 0);

    // 60 s of game time: ±300 holds both Bob (210 away) and Carol (220 away). Alice met Bob
    // before the restart, so she is matched with Carol, and Bob waits.
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "60s"}))
        .await
        .unwrap();
    let s = status_until(&alice, &game, is("matched")).await;
    let teams: Vec<String> = s["match"]["teams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t.as_array().unwrap().iter())
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert!(teams.contains(&carol.user_id().to_string()), "{s}");
    assert!(!teams.contains(&bob.user_id().to_string()), "{s}");
    assert_eq!(status(&bob, &game).await["status"], "searching");
}

/// A matchmade match is private, yet its players are invited: one whose connection drops
/// gets a fresh ticket from `room_join` and rejoins; a stranger is still refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_matchmade_player_rejoins_after_a_reconnect_and_strangers_stay_out() {
    let server = server().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let eve = server.new_player().await;
    let mut qa = server.quic(&alice, &game).await;
    let mut qb = server.quic(&bob, &game).await;
    queue(&alice, &game, "solo").await;
    queue(&bob, &game, "solo").await;
    let na = qa.notification(1, WAIT).await.unwrap();
    let nb = qb.notification(1, WAIT).await.unwrap();
    let match_id = na["content"]["match_id"].as_str().unwrap().to_string();
    let ja = qa
        .join_match(&match_id, na["content"]["ticket"].as_str())
        .await
        .unwrap();
    qb.join_match(&match_id, nb["content"]["ticket"].as_str())
        .await
        .unwrap();
    let team = ja.you.team.clone();

    // Alice's network drops; her single-use ticket is spent.
    qa.close();
    drop(qa);
    let mut qa = server.quic(&alice, &game).await;
    let spent = qa
        .join_match(&match_id, na["content"]["ticket"].as_str())
        .await
        .unwrap_err();
    assert!(spent.to_string().contains("ticket"), "{spent}");
    // The server has seen her old connection go.
    let deadline = Instant::now() + WAIT;
    loop {
        let p = alice
            .rpc(
                "presence_list",
                json!({"game_id": game, "user_ids": [alice.user_id()]}),
            )
            .await
            .unwrap();
        let inside = p["presences"].as_array().unwrap().iter().any(|p| {
            p["match_ids"]
                .as_array()
                .unwrap()
                .contains(&json!(match_id))
        });
        if !inside {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "her old connection never left: {p}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Someone the match was not made for is refused, though a seat is free.
    let e = eve
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("private"), "{e}");
    // `room_join` hands her a fresh one, and she is back on her team.
    let room = alice
        .rpc("room_join", json!({"game_id": game, "match_id": match_id}))
        .await
        .unwrap();
    assert_eq!(room["private"], true);
    assert_ne!(room["ticket"], na["content"]["ticket"]);
    let again = qa
        .join_match(&match_id, room["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(again.you.team, team);
    assert_eq!(again.presences.len(), 2);
}

/// A found match that ends before every player it names has joined (here an arena match
/// in its end-of-match vote, which takes no one else) does not hold the missing player for
/// the seat timeout: on the next pass their ticket goes back to the front (code 2) and the
/// player who joined is done (`joined`).
#[tokio::test(flavor = "multi_thread")]
async fn a_found_match_that_ends_before_everyone_joined_requeues_the_missing_at_once() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_MATCHMAKING_ACCEPT_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let game = server.game("arena");
    let admin = server.admin().await;
    // The shortest arena match: 10 s, then a 60 s vote with joins closed.
    admin
        .rpc(
            "matchmaking_set_modes",
            json!({"game_id": game, "modes": [
                {"name": "solo",
                 "match_params": {"time_limit_secs": 10, "vote_secs": 60}}
            ]}),
        )
        .await
        .unwrap();
    let xena = server.new_player().await;
    let yann = server.new_player().await;
    let mut qx = server.quic(&xena, &game).await;
    let mut qy = server.quic(&yann, &game).await;
    queue(&xena, &game, "solo").await;
    queue(&yann, &game, "solo").await;
    let nx = qx.notification(1, WAIT).await.unwrap();
    let ny = qy.notification(1, WAIT).await.unwrap();
    let match_id = nx["content"]["match_id"].as_str().unwrap().to_string();
    assert_eq!(ny["content"]["match_id"], match_id);
    qx.join_match(&match_id, nx["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(status(&yann, &game).await["status"], "matched");

    // Yann has not joined when the match ends; it stays for its vote.
    let end = qx
        .wait_for(Duration::from_secs(20), |m| {
            matches!(m, outpost::client::quic::ServerMsg::MatchEnd { .. })
        })
        .await;
    assert!(end.is_ok(), "the match never ended: {end:?}");
    let ended = Instant::now();
    let back = qy.notification(2, WAIT).await.unwrap();
    assert_eq!(
        back["content"]["reason"],
        "the match ended before you took your seat"
    );
    let y = status(&yann, &game).await;
    assert_eq!(back["content"]["ticket_id"], y["ticket"]["id"]);
    assert_eq!(y["status"], "searching");
    assert_eq!(y["ticket"]["front"], true);
    // At once, not after the 60 s seat hold.
    assert!(ended.elapsed() < Duration::from_secs(5));
    // Xena took her seat: her ticket is done.
    let x = status_until(&xena, &game, is("idle")).await;
    assert_eq!(x["last"]["outcome"], "joined");
    assert_eq!(x["last"]["match_id"], match_id);
}
