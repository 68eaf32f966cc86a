//! Backfill through the real surface: a running match asks for players over HTTPS, the
//! matcher fills its free seat from the queue within reach of the match's rating, the
//! player is told over QUIC and joins the running match on the team asked for; the request
//! ends with the match. The arena seats the matchmaker's teams as it formed them.

use std::time::{Duration, Instant};

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);
const TEAMS: [&str; 2] = ["red", "blue"];

async fn server() -> TestServer {
    TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_MATCHMAKING_ACCEPT_TIMEOUT_SECS", "3"),
            ("OUTPOST_REALTIME_EMPTY_GRACE_SECS", "1"),
        ],
    )
    .await
}

async fn status(p: &Player, game: &str) -> Value {
    p.rpc("matchmaking_get_status", json!({"game_id": game}))
        .await
        .unwrap()
}

async fn queue(p: &Player, game: &str) -> Value {
    p.rpc(
        "matchmaking_find_match",
        json!({"game_id": game, "mode": "solo", "region": "eu"}),
    )
    .await
    .unwrap()
}

/// Polls until `f` returns something.
async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn backfill(server: &TestServer, game: &str, id: &Value) -> Value {
    server
        .server_rpc(
            "matchmaking_get_backfill",
            json!({"game_id": game, "backfill_id": id}),
        )
        .await
        .unwrap()["backfill"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_match_missing_a_player_is_backfilled_over_quic() {
    let server = server().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    let dave = server.new_player().await;
    let mut qa = server.quic(&alice, &game).await;
    let mut qb = server.quic(&bob, &game).await;
    let mut qc = server.quic(&carol, &game).await;

    // Alice and Bob are matched; each joins on the team the matchmaker put them on. The
    // one on blue joins first: the arena's own rule would have made them red.
    queue(&alice, &game).await;
    queue(&bob, &game).await;
    let na = qa.notification(1, WAIT).await.unwrap();
    let nb = qb.notification(1, WAIT).await.unwrap();
    let match_id = na["content"]["match_id"].as_str().unwrap().to_string();
    let team_of = |n: &Value| n["content"]["team"].as_u64().unwrap() as usize;
    let (first, second) = if team_of(&na) == 1 {
        ((&mut qa, &na), (&mut qb, &nb))
    } else {
        ((&mut qb, &nb), (&mut qa, &na))
    };
    let j1 = first
        .0
        .join_match(&match_id, first.1["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(j1.you.team.as_deref(), Some("blue"));
    let j2 = second
        .0
        .join_match(&match_id, second.1["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(j2.you.team.as_deref(), Some("red"));
    until("both seated", || async {
        (status(&bob, &game).await["status"] == "idle").then_some(())
    })
    .await;

    // Bob drops out: the match is missing a player.
    let bob_team = team_of(&nb);
    qb.leave_match(&match_id).await.unwrap();

    // Dave waits in the same queue, far above the match's rating.
    server
        .server_rpc(
            "matchmaking_update_skill_rating",
            json!({"game_id": game, "user_id": dave.user_id(), "mode": "solo", "rating": 1900.0}),
        )
        .await
        .unwrap();
    queue(&dave, &game).await;

    // Bad requests are refused, naming the field; players may not ask.
    let ask = |extra: Value| {
        let mut body = json!({"game_id": game, "match_id": match_id, "seats": 1});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let err = |r: Result<Value, outpost::client::ApiError>| r.unwrap_err();
    let e = err(server
        .server_rpc("matchmaking_request_backfill", ask(json!({"seats": 2})))
        .await);
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("seats: between 1 and 1"), "{e}");
    let e = err(server
        .server_rpc("matchmaking_request_backfill", ask(json!({"team": 2})))
        .await);
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("team"), "{e}");
    let e = err(server
        .server_rpc(
            "matchmaking_request_backfill",
            ask(json!({"match_id": "no-such-match"})),
        )
        .await);
    assert_eq!(e.status(), 404);
    let e = err(alice
        .rpc("matchmaking_request_backfill", ask(json!({})))
        .await);
    assert_eq!(e.status(), 403);

    // The match asks for one player on Bob's team.
    let r = server
        .server_rpc(
            "matchmaking_request_backfill",
            ask(json!({"team": bob_team})),
        )
        .await
        .unwrap();
    let b = &r["backfill"];
    let id = b["backfill_id"].clone();
    assert_eq!(b["status"], "open");
    assert_eq!(
        (b["mode"].clone(), b["region"].clone()),
        (json!("solo"), json!("eu"))
    );
    assert_eq!(
        (b["seats"].clone(), b["open_seats"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(b["rating"], 1500.0); // Alice's, the one player left
    let e = err(server
        .server_rpc("matchmaking_request_backfill", ask(json!({})))
        .await);
    assert_eq!(e.status(), 409, "one open request per match: {e}");

    // Dave is out of reach: passes go by and the seat stays open.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(backfill(&server, &game, &id).await["open_seats"], 1);
    assert_eq!(status(&dave, &game).await["status"], "searching");

    // Carol queues: she gets the seat, told live with her join ticket and persistently.
    queue(&carol, &game).await;
    let nc = qc.notification(1, WAIT).await.unwrap();
    assert_eq!(nc["content"]["match_id"], match_id);
    assert_eq!(nc["content"]["backfill_id"], id);
    assert_eq!(nc["content"]["team"], bob_team);
    let s = status(&carol, &game).await;
    assert_eq!(s["status"], "matched");
    assert_eq!(s["match"]["ticket"], nc["content"]["ticket"]);
    let b = backfill(&server, &game, &id).await;
    assert_eq!(
        (b["open_seats"].clone(), b["reserved_seats"].clone()),
        (json!(0), json!(1))
    );

    // She joins the running match over QUIC, on Bob's team, and Alice sees her arrive.
    let jc = qc
        .join_match(&match_id, nc["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(jc.match_id, match_id);
    assert_eq!(jc.you.team.as_deref(), Some(TEAMS[bob_team]));
    assert_eq!(jc.presences.len(), 2);
    let b = until("the request filled", || async {
        let b = backfill(&server, &game, &id).await;
        (b["status"] == "filled").then_some(b)
    })
    .await;
    assert_eq!(b["joined"], json!([carol.user_id()]));
    let s = status(&carol, &game).await;
    assert_eq!(
        (s["status"].clone(), s["last"]["outcome"].clone()),
        (json!("idle"), json!("joined"))
    );
    let list = carol
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(
        list["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["code"] == 1 && n["content"]["backfill_id"] == id),
        "{list}"
    );
    assert_eq!(status(&dave, &game).await["status"], "searching");

    // The match is full: no request. A request can be cancelled; one still open when the
    // match ends stops with it.
    let e = err(server
        .server_rpc("matchmaking_request_backfill", ask(json!({})))
        .await);
    assert_eq!(e.status(), 400, "{e}");
    qc.leave_match(&match_id).await.unwrap();
    let r = server
        .server_rpc("matchmaking_request_backfill", ask(json!({})))
        .await
        .unwrap();
    let id2 = r["backfill"]["backfill_id"].clone();
    let r = server
        .server_rpc(
            "matchmaking_cancel_backfill",
            json!({"game_id": game, "backfill_id": id2}),
        )
        .await
        .unwrap();
    assert_eq!(r["backfill"]["status"], "cancelled");
    let r = server
        .server_rpc("matchmaking_request_backfill", ask(json!({})))
        .await
        .unwrap();
    let id3 = r["backfill"]["backfill_id"].clone();
    qa.leave_match(&match_id).await.unwrap();
    let b = until("the request ended with its match", || async {
        let b = backfill(&server, &game, &id3).await;
        (b["status"] != "open").then_some(b)
    })
    .await;
    assert_eq!(b["status"], "match_ended");
    assert_eq!(b["open_seats"], 0);
    let e = err(server
        .server_rpc(
            "matchmaking_cancel_backfill",
            json!({"game_id": game, "backfill_id": id3}),
        )
        .await);
    assert_eq!(e.status(), 400);
    assert_eq!(status(&dave, &game).await["status"], "searching");
}

/// A party of two queued for `duo`, its leader first.
async fn duo_party(server: &TestServer, game: &str) -> (Player, Player) {
    let leader = server.new_player().await;
    let member = server.new_player().await;
    let party = leader
        .rpc(
            "matchmaking_create_party",
            json!({"game_id": game, "max_size": 2}),
        )
        .await
        .unwrap();
    member
        .rpc(
            "matchmaking_join_party",
            json!({"game_id": game, "party_id": party["party"]["id"]}),
        )
        .await
        .unwrap();
    leader
        .rpc(
            "matchmaking_find_match",
            json!({"game_id": game, "mode": "duo", "region": "eu"}),
        )
        .await
        .unwrap();
    (leader, member)
}

/// A backfill that names no team puts a party whole on one team with room for it (the
/// arena alone would have seated its second player on the other team). A party only partly
/// seated when time runs out keeps the seats taken: only the missing player's seat goes back
/// to the request, only they are told to queue again, and their join ticket stops working.
#[tokio::test(flavor = "multi_thread")]
async fn a_backfilled_party_stays_on_one_team_and_a_partly_seated_one_keeps_its_seats() {
    let server = server().await;
    let game = server.game("arena");
    let xena = server.new_player().await;
    let mut qx = server.quic(&xena, &game).await;
    let room = xena
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "arena", "params": {"max_players": 4}}),
        )
        .await
        .unwrap();
    let match_id = room["match_id"].as_str().unwrap().to_string();
    let jx = qx
        .join_match(&match_id, room["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(jx.you.team.as_deref(), Some("red"));
    let ask = || json!({"game_id": game, "match_id": match_id, "mode": "duo", "region": "eu", "seats": 2});

    // A party of two is backfilled: both on blue, the team with room for both.
    let (p1, p2) = duo_party(&server, &game).await;
    let mut q1 = server.quic(&p1, &game).await;
    let mut q2 = server.quic(&p2, &game).await;
    let r = server
        .server_rpc("matchmaking_request_backfill", ask())
        .await
        .unwrap();
    let id = r["backfill"]["backfill_id"].clone();
    let n1 = q1.notification(1, WAIT).await.unwrap();
    let n2 = q2.notification(1, WAIT).await.unwrap();
    assert_eq!(n1["content"]["backfill_id"], id);
    assert_eq!(
        (n1["content"]["team"].clone(), n2["content"]["team"].clone()),
        (json!(1), json!(1))
    );
    let j1 = q1
        .join_match(&match_id, n1["content"]["ticket"].as_str())
        .await
        .unwrap();
    let j2 = q2
        .join_match(&match_id, n2["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(j1.you.team.as_deref(), Some("blue"));
    assert_eq!(j2.you.team.as_deref(), Some("blue"));
    let b = until("the request filled", || async {
        let b = backfill(&server, &game, &id).await;
        (b["status"] == "filled").then_some(b)
    })
    .await;
    assert_eq!(b["joined"].as_array().unwrap().len(), 2);

    // The party leaves; another is backfilled, and only its leader takes a seat.
    q1.leave_match(&match_id).await.unwrap();
    q2.leave_match(&match_id).await.unwrap();
    let (p3, p4) = duo_party(&server, &game).await;
    let mut q3 = server.quic(&p3, &game).await;
    let mut q4 = server.quic(&p4, &game).await;
    let r = server
        .server_rpc("matchmaking_request_backfill", ask())
        .await
        .unwrap();
    let id = r["backfill"]["backfill_id"].clone();
    let n3 = q3.notification(1, WAIT).await.unwrap();
    let n4 = q4.notification(1, WAIT).await.unwrap();
    assert_eq!(n3["content"]["team"], n4["content"]["team"]);
    let j3 = q3
        .join_match(&match_id, n3["content"]["ticket"].as_str())
        .await
        .unwrap();
    assert_eq!(j3.you.team.as_deref(), Some("blue"));

    // Time runs out (3 s): P3 keeps the seat; P4's goes back to the request.
    let b = until("the missing seat given back", || async {
        let b = backfill(&server, &game, &id).await;
        (b["reserved_seats"] == 0).then_some(b)
    })
    .await;
    assert_eq!(b["status"], "open");
    assert_eq!(b["joined"], json!([p3.user_id()]));
    assert_eq!(b["open_seats"], 1);
    let s3 = status(&p3, &game).await;
    assert_eq!(
        (s3["status"].clone(), s3["last"]["outcome"].clone()),
        (json!("idle"), json!("joined"))
    );
    let s4 = status(&p4, &game).await;
    assert_eq!(
        (s4["status"].clone(), s4["last"]["outcome"].clone()),
        (json!("idle"), json!("no_show"))
    );
    let dropped = q4.notification(3, WAIT).await.unwrap();
    assert_eq!(dropped["content"]["ticket_id"], s4["last"]["ticket_id"]);
    assert!(
        q3.notification(3, Duration::from_millis(500))
            .await
            .is_err(),
        "the seated player is not told to queue again"
    );
    // The missing player's join ticket was taken back.
    let e = q4
        .join_match(&match_id, n4["content"]["ticket"].as_str())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ticket"), "{e}");

    // A party cancelled once one of its players is in: the same, at once.
    server
        .server_rpc(
            "matchmaking_cancel_backfill",
            json!({"game_id": game, "backfill_id": id}),
        )
        .await
        .unwrap();
    q3.leave_match(&match_id).await.unwrap();
    let (p5, p6) = duo_party(&server, &game).await;
    let mut q5 = server.quic(&p5, &game).await;
    let mut q6 = server.quic(&p6, &game).await;
    let r = server
        .server_rpc("matchmaking_request_backfill", ask())
        .await
        .unwrap();
    let id = r["backfill"]["backfill_id"].clone();
    let n5 = q5.notification(1, WAIT).await.unwrap();
    let n6 = q6.notification(1, WAIT).await.unwrap();
    q5.join_match(&match_id, n5["content"]["ticket"].as_str())
        .await
        .unwrap();
    until("P5 seen in the match", || async {
        let p = xena
            .rpc(
                "presence_list",
                json!({"game_id": game, "user_ids": [p5.user_id()]}),
            )
            .await
            .unwrap();
        p["presences"][0]["match_ids"]
            .as_array()
            .is_some_and(|m| m.contains(&json!(match_id)))
            .then_some(())
    })
    .await;
    p6.rpc("matchmaking_cancel", json!({"game_id": game}))
        .await
        .unwrap();
    let b = backfill(&server, &game, &id).await;
    assert_eq!(b["joined"], json!([p5.user_id()]));
    assert_eq!(
        (b["open_seats"].clone(), b["reserved_seats"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(status(&p5, &game).await["last"]["outcome"], "joined");
    assert_eq!(status(&p6, &game).await["last"]["outcome"], "cancelled");
    let e = q6
        .join_match(&match_id, n6["content"]["ticket"].as_str())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ticket"), "{e}");
}

/// A match that has ended but still runs its vote takes no one else: a backfilled ticket
/// holding one of its seats goes back to the front at once (code 2), long before its seat
/// would time out, and the request ends as `match_ended`.
#[tokio::test(flavor = "multi_thread")]
async fn a_seat_in_a_match_that_ended_goes_back_to_the_front_at_once() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_MATCHMAKING_INTERVAL_MS", "100"),
            ("OUTPOST_MATCHMAKING_ACCEPT_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    let game = server.game("arena");
    let xena = server.new_player().await;
    let yann = server.new_player().await;
    let mut qx = server.quic(&xena, &game).await;
    let mut qy = server.quic(&yann, &game).await;
    // The shortest arena match: 10 s, then a 60 s vote with joins closed.
    let room = xena
        .rpc(
            "room_create",
            json!({"game_id": game, "mode": "arena",
                   "params": {"max_players": 2, "time_limit_secs": 10, "vote_secs": 60}}),
        )
        .await
        .unwrap();
    let match_id = room["match_id"].as_str().unwrap().to_string();
    qx.join_match(&match_id, room["ticket"].as_str())
        .await
        .unwrap();
    let r = server
        .server_rpc(
            "matchmaking_request_backfill",
            json!({"game_id": game, "match_id": match_id, "mode": "solo", "region": "eu",
                   "seats": 1, "timeout_secs": 120}),
        )
        .await
        .unwrap();
    let id = r["backfill"]["backfill_id"].clone();
    queue(&yann, &game).await;
    let ny = qy.notification(1, WAIT).await.unwrap();
    assert_eq!(ny["content"]["backfill_id"], id);
    assert_eq!(status(&yann, &game).await["status"], "matched");

    // Yann has not joined when the match ends; the match stays for its vote.
    let end = qx
        .wait_for(Duration::from_secs(20), |m| {
            matches!(m, outpost::client::quic::ServerMsg::MatchEnd { .. })
        })
        .await;
    assert!(end.is_ok(), "the match never ended: {end:?}");
    let back = qy.notification(2, WAIT).await.unwrap();
    assert_eq!(
        back["content"]["reason"],
        "the match ended before you took your seat"
    );
    let s = status(&yann, &game).await;
    assert_eq!(s["status"], "searching");
    assert_eq!(s["ticket"]["front"], true);
    let b = until("the request ended with its match", || async {
        let b = backfill(&server, &game, &id).await;
        (b["status"] != "open").then_some(b)
    })
    .await;
    assert_eq!(b["status"], "match_ended");
    assert_eq!(b["reserved_seats"], 0);
}
