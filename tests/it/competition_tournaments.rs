//! Tournaments through the real server: fees and refunds, brackets played to a champion,
//! contradictory reports refused, stages (a score window's best into a bracket), prizes
//! paid once across a kill -9.

use std::collections::BTreeMap;
use std::time::Duration;

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

const DEV: &[(&str, &str)] = &[("OUTPOST_SERVER_DEV_MODE", "true")];

pub(crate) async fn dev_server() -> TestServer {
    TestServer::start_with(&["arena"], DEV).await
}

async fn coins(server: &TestServer, game: &str, p: &Player, amount: i64) {
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": p.user_id().to_string(),
                   "changeset": {"coins": amount}, "reason": "test"}),
        )
        .await
        .unwrap();
}

async fn wallet(p: &Player, game: &str) -> Value {
    p.rpc("wallet_get", json!({"game_id": game})).await.unwrap()["wallet"].clone()
}

pub(crate) async fn advance(admin: &Player, game: &str, by: &str) {
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": by}))
        .await
        .unwrap();
}

/// The tournament as clients see it.
pub(crate) async fn tournament(p: &Player, game: &str, id: &str) -> Value {
    p.rpc(
        "tournament_get_leaderboard",
        json!({"game_id": game, "tournament_id": id}),
    )
    .await
    .unwrap()["tournament"]
        .clone()
}

/// Waits (briefly: the scheduler runs about once a second) until the tournament's state is
/// `want`.
pub(crate) async fn wait_state(p: &Player, game: &str, id: &str, want: &str) -> Value {
    for _ in 0..100 {
        let t = tournament(p, game, id).await;
        if t["state"] == want {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "tournament {id} never reached {want}: {}",
        tournament(p, game, id).await
    );
}

pub(crate) async fn create(admin: &Player, game: &str, extra: Value) -> String {
    let mut body =
        json!({"game_id": game, "title": "Friday Cup", "starts_in": "1h", "duration": "1d"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin.rpc("tournament_create", body).await.unwrap();
    r["tournament"]["tournament_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_fee_is_taken_with_the_join_and_refunded_on_leave() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "single_elimination", "entry_fee": {"coins": 30}, "max_players": 2}),
    )
    .await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let carol = server.new_player().await;
    coins(&server, &game, &alice, 100).await;
    coins(&server, &game, &bob, 10).await;
    coins(&server, &game, &carol, 100).await;

    let j = alice
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(j["fee_paid"], json!({"coins": 30}));
    assert_eq!(j["wallet"], json!({"coins": 70}));
    assert_eq!(j["tournament"]["players"], 1);
    // Joining again charges nothing.
    let again = alice
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(again["already_joined"], true);
    assert_eq!(wallet(&alice, &game).await, json!({"coins": 70}));

    // Bob cannot pay: refused, nothing changed.
    let err = bob
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(
        err.message.contains("insufficient coins"),
        "{}",
        err.message
    );
    assert_eq!(wallet(&bob, &game).await, json!({"coins": 10}));
    assert_eq!(tournament(&alice, &game, &id).await["players"], 1);

    coins(&server, &game, &bob, 20).await;
    bob.rpc(
        "tournament_join",
        json!({"game_id": game, "tournament_id": id}),
    )
    .await
    .unwrap();
    assert_eq!(wallet(&bob, &game).await, json!({"coins": 0}));
    // Full at two: Carol is refused and keeps her coins.
    let err = carol
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("full"), "{}", err.message);
    assert_eq!(wallet(&carol, &game).await, json!({"coins": 100}));

    // Leaving before the start refunds exactly the fee.
    let left = alice
        .rpc(
            "tournament_leave",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(left["refunded"], json!({"coins": 30}));
    assert_eq!(wallet(&alice, &game).await, json!({"coins": 100}));
    let ledger = alice
        .rpc("wallet_ledger_list", json!({"game_id": game}))
        .await
        .unwrap();
    let deltas: Vec<i64> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["changeset"]["coins"].as_i64().unwrap())
        .collect();
    assert_eq!(
        deltas,
        vec![30, -30, 100],
        "refund, fee, grant (newest first)"
    );
    let err = alice
        .rpc(
            "tournament_leave",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, 400);

    // Carol takes the seat; the tournament starts; leaving is then refused.
    carol
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    advance(&admin, &game, "1h").await;
    wait_state(&carol, &game, &id, "active").await;
    let err = carol
        .rpc(
            "tournament_leave",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert_eq!(wallet(&carol, &game).await, json!({"coins": 70}));

    // A restart keeps every balance and entry.
    server.restart().await;
    let carol2 = Player {
        client: server.client.clone(),
        session: carol.session.clone(),
    };
    assert_eq!(wallet(&carol2, &game).await, json!({"coins": 70}));
    assert_eq!(tournament(&carol2, &game, &id).await["players"], 2);
}

/// Plays every ready match of the current stage with `pick` choosing the winner, until the
/// tournament ends; returns how many matches were reported.
pub(crate) async fn play_out(server: &TestServer, p: &Player, game: &str, id: &str) -> usize {
    for played in 0..200 {
        let t = tournament(p, game, id).await;
        if t["state"] != "active" {
            return played;
        }
        let b = p
            .rpc(
                "tournament_get_bracket",
                json!({"game_id": game, "tournament_id": id}),
            )
            .await
            .unwrap();
        let ready = b["ready_matches"].as_array().unwrap().clone();
        assert!(
            !ready.is_empty(),
            "an active bracket with nothing to play: {b}"
        );
        let m = ready[0].as_u64().unwrap();
        let found = b["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["matches"].as_array().unwrap().iter())
            .find(|x| x["match_id"] == m)
            .unwrap()
            .clone();
        // The lower seed wins (the favourite), with a score.
        let (a, c) = (&found["a"], &found["b"]);
        let (w, l) = if a["seed"].as_u64() < c["seed"].as_u64() {
            (a, c)
        } else {
            (c, a)
        };
        let mut scores = BTreeMap::new();
        scores.insert(w["user_id"].as_str().unwrap().to_string(), 3);
        scores.insert(l["user_id"].as_str().unwrap().to_string(), 1);
        server
            .server_rpc(
                "tournament_report_match",
                json!({"game_id": game, "tournament_id": id, "match_id": m,
                       "winner_id": w["user_id"], "scores": scores}),
            )
            .await
            .unwrap();
    }
    panic!("the tournament never ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_elimination_to_a_champion_refusing_contradictions() {
    let server = dev_server().await;
    let game = server.game("arena");
    let mut s = server;
    let admin = s.admin().await;
    let server = s;
    let id = create(
        &admin,
        &game,
        json!({"format": "single_elimination", "third_place": true,
               "prizes": [{"rank": 1, "reward": {"currencies": {"gems": 50}, "title": "champion"}},
                          {"from": 2, "to": 3, "reward": {"currencies": {"gems": 10}}}]}),
    )
    .await;
    let mut players = Vec::new();
    for _ in 0..5 {
        let p = server.new_player().await;
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    let err = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, 400, "no bracket before the start");
    advance(&admin, &game, "1h").await;
    wait_state(&players[0], &game, &id, "active").await;

    let b = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(b["format"], "single_elimination");
    assert_eq!(b["players"].as_array().unwrap().len(), 5);
    // 5 players in a bracket of 8: three byes, to seeds 1–3.
    let first = &b["rounds"][0];
    assert_eq!(first["section"], "winners");
    let byes = first["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "walkover")
        .count();
    assert_eq!(byes, 3);
    assert!(b["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["section"] == "third_place"));

    // Contradictions are refused and change nothing.
    let ready = b["ready_matches"][0].as_u64().unwrap();
    let m = first["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["match_id"] == ready)
        .unwrap()
        .clone();
    let stranger = server.new_player().await.user_id().to_string();
    let report = |body: Value| {
        let mut full = json!({"game_id": game, "tournament_id": id});
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        server.server_rpc("tournament_report_match", full)
    };
    let e = report(json!({"match_id": ready, "winner_id": stranger}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400, "{}", e.message);
    let e = report(json!({"match_id": ready, "winner_id": m["a"]["user_id"],
                          "scores": {m["a"]["user_id"].as_str().unwrap(): 0, m["b"]["user_id"].as_str().unwrap(): 2}}))
    .await
    .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("scores"), "{}", e.message);
    let e = report(json!({"match_id": 999, "winner_id": m["a"]["user_id"]}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    let e = report(json!({"match_id": ready, "draw": [m["a"]["user_id"], m["b"]["user_id"]]}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400, "no draws in elimination");
    // A player may not report.
    let e = players[0]
        .rpc(
            "tournament_report_match",
            json!({"game_id": game, "tournament_id": id, "match_id": ready, "winner_id": m["a"]["user_id"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 403);
    let unchanged = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(unchanged, b, "refused reports changed the bracket");

    // A valid report, then the same match again: refused as decided.
    report(json!({"match_id": ready, "winner_id": m["a"]["user_id"]}))
        .await
        .unwrap();
    let e = report(json!({"match_id": ready, "winner_id": m["b"]["user_id"]}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("already decided"), "{}", e.message);

    play_out(&server, &players[0], &game, &id).await;
    let t = wait_state(&players[0], &game, &id, "rewards_distributed").await;
    assert_eq!(t["ended_by"], "bracket");
    let results = t["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0]["place"], 1);
    let champion = results[0]["user_id"].as_str().unwrap().to_string();
    let winner = players
        .iter()
        .find(|p| p.user_id().to_string() == champion)
        .unwrap();
    assert_eq!(wallet(winner, &game).await, json!({"gems": 50}));
    let notes = winner
        .rpc("notifications_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert!(notes.to_string().contains("Reward granted"), "{notes}");
    // Claiming answers the prize already paid and pays nothing more.
    let c = winner
        .rpc(
            "tournament_claim_rewards",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(c["already_paid"], true);
    assert_eq!(c["place"], 1);
    assert_eq!(wallet(winner, &game).await, json!({"gems": 50}));
    let past = winner
        .rpc("tournament_get_past_results", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(past["tournaments"][0]["tournament_id"], json!(id));
    let mine = winner
        .rpc("tournament_get_my_tournaments", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(mine["tournaments"][0]["place"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn swiss_then_top_four_into_single_elimination() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"stages": [{"format": "swiss", "rounds": 3},
                          {"format": "single_elimination", "advance": 4}]}),
    )
    .await;
    let mut players = Vec::new();
    for _ in 0..8 {
        let p = server.new_player().await;
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    advance(&admin, &game, "1h").await;
    wait_state(&players[0], &game, &id, "active").await;
    let played = play_out(&server, &players[0], &game, &id).await;
    assert_eq!(
        played,
        3 * 4 + 3,
        "three Swiss rounds of four, then a bracket of four"
    );
    let t = wait_state(&players[0], &game, &id, "rewards_distributed").await;
    let results = t["results"].as_array().unwrap();
    assert_eq!(results.len(), 8, "every entrant placed");
    let stage0 = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id, "stage": 0}),
        )
        .await
        .unwrap();
    let stage1 = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id, "stage": 1}),
        )
        .await
        .unwrap();
    // The top four of the Swiss standings are the second stage's seeds, in order.
    let top4: Vec<Value> = stage0["standings"].as_array().unwrap()[..4]
        .iter()
        .map(|p| p["user_id"].clone())
        .collect();
    let seeds: Vec<Value> = stage1["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].clone())
        .collect();
    assert_eq!(top4, seeds);
    assert_eq!(results[0]["user_id"], stage1["standings"][0]["user_id"]);
    // The four who did not advance come after, in their Swiss order.
    let rest: Vec<Value> = results[4..].iter().map(|p| p["user_id"].clone()).collect();
    let swiss_rest: Vec<Value> = stage0["standings"].as_array().unwrap()[4..]
        .iter()
        .map(|p| p["user_id"].clone())
        .collect();
    assert_eq!(rest, swiss_rest);
}

#[tokio::test(flavor = "multi_thread")]
async fn leaderboard_window_then_top_four_into_single_elimination() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"stages": [{"format": "leaderboard", "duration": "2h"},
                          {"format": "single_elimination", "advance": 4}],
               "prizes": [{"rank": 1, "reward": {"currencies": {"coins": 100}}}]}),
    )
    .await;
    // A window whose best are too few for a bracket ends on its ranks.
    let lone = create(
        &admin,
        &game,
        json!({"stages": [{"format": "leaderboard", "duration": "2h"},
                          {"format": "single_elimination", "advance": 4}]}),
    )
    .await;
    let join = |p: &Player, t: &str| {
        let (p, t, game) = (p.clone(), t.to_string(), game.clone());
        async move {
            p.rpc(
                "tournament_join",
                json!({"game_id": game, "tournament_id": t}),
            )
            .await
        }
    };
    let submit = |p: &Player, t: &str, score: i64| {
        let (p, t, game) = (p.clone(), t.to_string(), game.clone());
        async move {
            p.rpc(
                "tournament_submit_score",
                json!({"game_id": game, "tournament_id": t, "score": score}),
            )
            .await
        }
    };
    let mut players = Vec::new();
    for _ in 0..6 {
        let p = server.new_player().await;
        join(&p, &id).await.unwrap();
        players.push(p);
    }
    join(&players[0], &lone).await.unwrap();
    join(&players[1], &lone).await.unwrap();
    advance(&admin, &game, "1h").await;
    wait_state(&players[0], &game, &id, "active").await;
    wait_state(&players[0], &game, &lone, "active").await;
    // Scores 10, 20, …, 60: the last player is the best.
    for (i, p) in players.iter().enumerate() {
        submit(p, &id, 10 * (i as i64 + 1)).await.unwrap();
    }
    submit(&players[0], &lone, 5).await.unwrap();
    // A latecomer joins while the window runs, and never scores.
    let late = server.new_player().await;
    join(&late, &id).await.unwrap();
    let e = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("score window"), "{}", e.message);
    let board = players[0]
        .rpc(
            "tournament_get_leaderboard",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(board["records"][0]["owner_id"], json!(players[5].user_id()));

    // The window closes: the best four go on, seeded by rank.
    advance(&admin, &game, "2h").await;
    let mut t = tournament(&admin, &game, &id).await;
    for _ in 0..100 {
        if t["stage"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        t = tournament(&admin, &game, &id).await;
    }
    assert_eq!(t["stage"], 1, "{t}");
    assert_eq!(t["state"], "active");
    let b = players[0]
        .rpc(
            "tournament_get_bracket",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    let seeds: Vec<Value> = b["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].clone())
        .collect();
    let best: Vec<Value> = players[2..]
        .iter()
        .rev()
        .map(|p| json!(p.user_id()))
        .collect();
    assert_eq!(seeds, best, "seed 1 is the best score");
    let e = submit(&players[5], &id, 1000).await.unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("bracket"), "{}", e.message);
    let e = join(&server.new_player().await, &id).await.unwrap_err();
    assert_eq!(e.status, 400);
    let standings = players[0]
        .rpc(
            "tournament_get_leaderboard",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(standings["standings"].as_array().unwrap().len(), 6);
    let l = wait_state(&admin, &game, &lone, "rewards_distributed").await;
    assert_eq!(l["ended_by"], "schedule");
    assert_eq!(l["results"][0]["user_id"], json!(players[0].user_id()));
    assert_eq!(l["results"].as_array().unwrap().len(), 1);

    // The bracket is played (the better seed wins): the best score is the champion, and
    // the two who did not go on keep their window ranks.
    assert_eq!(play_out(&server, &players[0], &game, &id).await, 3);
    let t = wait_state(&players[0], &game, &id, "rewards_distributed").await;
    let results: Vec<Value> = t["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_id"].clone())
        .collect();
    assert_eq!(results.len(), 6, "every ranked player placed: {t}");
    assert_eq!(results[0], json!(players[5].user_id()));
    assert_eq!(
        results[4..].to_vec(),
        vec![json!(players[1].user_id()), json!(players[0].user_id())]
    );
    assert_eq!(t["results"][4]["place"], 5);
    assert_eq!(
        wallet(&players[5], &game).await,
        json!({"coins": 100}),
        "the champion's prize"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prizes_are_paid_once_across_a_kill_and_restart() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "leaderboard",
               "prizes": [{"rank": 1, "reward": {"currencies": {"coins": 500}}},
                          {"from": 2, "to": 3, "reward": {"currencies": {"coins": 100}, "xp": 10}}]}),
    )
    .await;
    let mut players = Vec::new();
    for _ in 0..4 {
        let p = server.new_player().await;
        p.rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    let e = players[0]
        .rpc(
            "tournament_submit_score",
            json!({"game_id": game, "tournament_id": id, "score": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400, "no scores before the start");
    advance(&admin, &game, "1h").await;
    wait_state(&players[0], &game, &id, "active").await;
    for (i, p) in players.iter().enumerate() {
        let r = p
            .rpc(
                "tournament_submit_score",
                json!({"game_id": game, "tournament_id": id, "score": (i as i64 + 1) * 10}),
            )
            .await
            .unwrap();
        assert_eq!(r["score"], (i as i64 + 1) * 10);
    }
    let board = players[0]
        .rpc(
            "tournament_get_leaderboard",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(board["records"][0]["owner_id"], json!(players[3].user_id()));
    admin
        .rpc(
            "tournament_end_now",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap();
    // Kill at once: the payout may be half done, or not started.
    tokio::task::block_in_place(|| server.local.kill());
    server.start_again().await;
    let p = |i: usize| Player {
        client: server.client.clone(),
        session: players[i].session.clone(),
    };
    let t = wait_state(&p(0), &game, &id, "rewards_distributed").await;
    assert_eq!(t["ended_by"], "admin");
    assert_eq!(wallet(&p(3), &game).await, json!({"coins": 500}));
    assert_eq!(wallet(&p(2), &game).await, json!({"coins": 100}));
    assert_eq!(wallet(&p(1), &game).await, json!({"coins": 100}));
    assert_eq!(wallet(&p(0), &game).await, json!({}));
    // Once more after a clean restart: nothing paid twice.
    server.restart().await;
    let p = |i: usize| Player {
        client: server.client.clone(),
        session: players[i].session.clone(),
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(wallet(&p(3), &game).await, json!({"coins": 500}));
    let ledger = p(3)
        .rpc("wallet_ledger_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 1);
    let e = admin_again(&server, &admin)
        .rpc(
            "tournament_end_now",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400, "already ended");
}

fn admin_again(server: &TestServer, admin: &Player) -> Player {
    Player {
        client: server.client.clone(),
        session: admin.session.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_names_the_field_and_changes_nothing() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let bad = [
        (
            json!({"game_id": game, "starts_in": "1h", "duration": "1d"}),
            "title",
        ),
        (
            json!({"game_id": game, "title": "x", "duration": "1d"}),
            "start_time",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d", "format": "knockout"}),
            "format",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d", "max_players": 1}),
            "max_players",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d", "entry_fee": {"coins": -5}}),
            "entry_fee",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                "prizes": [{"from": 1, "to": 3, "reward": {"currencies": {"coins": 1}}},
                           {"rank": 2, "reward": {"currencies": {"coins": 1}}}]}),
            "prizes[1]",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                "stages": [{"format": "swiss"}, {"format": "single_elimination"}]}),
            "stages[1].advance",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                "stages": [{"format": "leaderboard"}, {"format": "single_elimination", "advance": 4}]}),
            "stages[0].duration",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                "stages": [{"format": "swiss"}, {"format": "leaderboard", "advance": 4}]}),
            "stages[1].format",
        ),
        (
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d",
                "stages": [{"format": "leaderboard", "duration": "2d"},
                           {"format": "single_elimination", "advance": 4}]}),
            "stages[0].duration",
        ),
        (
            json!({"game_id": game, "title": "x", "start_time": "yesterday", "duration": "1d"}),
            "start_time",
        ),
    ];
    for (body, field) in bad {
        let e = admin
            .rpc("tournament_create", body.clone())
            .await
            .unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        assert!(
            e.message.contains(field),
            "`{}` should name {field}",
            e.message
        );
    }
    let list = admin
        .rpc("tournament_list_active", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(list["tournaments"], json!([]), "nothing was created");
    let p = server.new_player().await;
    let e = p
        .rpc(
            "tournament_create",
            json!({"game_id": game, "title": "x", "starts_in": "1h", "duration": "1d"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 403);
    let nobody = uuid::Uuid::new_v4().to_string();
    let e = p
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": nobody}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    assert!(e.message.contains("tournament_id"), "{}", e.message);
    let e = p
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": "not-a-uuid"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("tournament_id"), "{}", e.message);
    let e = p
        .rpc(
            "tournament_list_active",
            json!({"game_id": game, "limit": 0}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("limit"), "{}", e.message);
    let e = p
        .rpc(
            "tournament_join",
            json!({"game_id": game, "tournament_id": nobody, "rating": 1500}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 403, "players do not rate themselves");
}

#[tokio::test(flavor = "multi_thread")]
async fn recurring_tournament_creates_its_next_instance() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let id = create(
        &admin,
        &game,
        json!({"format": "leaderboard", "recurrence": "daily", "duration": "2h"}),
    )
    .await;
    advance(&admin, &game, "1h").await;
    let t = wait_state(&admin, &game, &id, "active").await;
    let next = t["next_instance"].as_str().unwrap().to_string();
    let n = tournament(&admin, &game, &next).await;
    assert_eq!(n["instance"], 2);
    assert_eq!(
        n["starts_at"].as_i64().unwrap() - t["starts_at"].as_i64().unwrap(),
        86_400
    );
    let listed = admin
        .rpc("tournament_list_active", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(listed["tournaments"].as_array().unwrap().len(), 2);
    // The window closes (nobody played: nothing to pay) and the next one opens on time.
    advance(&admin, &game, "2h").await;
    wait_state(&admin, &game, &id, "rewards_distributed").await;
    // Now at +3h; the next instance runs from +25h to +27h.
    advance(&admin, &game, "22h").await;
    wait_state(&admin, &game, &next, "active").await;
}
