//! Leagues through the real server: cohorts, a season end that moves, pays once and
//! re-forms cohorts, history, and bad input.

use std::time::Duration;

use outpost::client::Player;
use serde_json::{json, Value};

use crate::common::TestServer;

async fn division(p: &Player, game: &str) -> Value {
    p.rpc(
        "league_get_my_division",
        json!({"game_id": game, "league_id": "ranked"}),
    )
    .await
    .unwrap()["division"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_season_end_moves_pays_once_and_reforms_cohorts() {
    let mut server =
        TestServer::start_with(&["arena"], &[("OUTPOST_SERVER_DEV_MODE", "true")]).await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let reward = |n: i64| json!({"currencies": {"coins": n}});
    let l = admin
        .rpc(
            "league_create",
            json!({"game_id": game, "league_id": "ranked", "name": "Ranked",
                   "tiers": [{"name": "bronze", "rewards": [{"rank": 1, "reward": reward(100)},
                                                            {"from": 2, "to": 3, "reward": reward(10)}]},
                             {"name": "silver"}, {"name": "gold"}],
                   "cohort_size": 3, "promotion": 1, "demotion": 0.34, "season_length": "1d"}),
        )
        .await
        .unwrap();
    assert_eq!(l["league"]["season"], 1);
    let mut players = Vec::new();
    for _ in 0..7 {
        let p = server.new_player().await;
        let j = p
            .rpc(
                "league_join",
                json!({"game_id": game, "league_id": "ranked"}),
            )
            .await
            .unwrap();
        assert_eq!(j["division"]["tier_name"], "bronze");
        players.push(p);
    }
    // Joined in order: cohorts of 3, 3, 1.
    let cohorts: Vec<u64> = {
        let mut v = Vec::new();
        for p in &players {
            v.push(division(p, &game).await["cohort"].as_u64().unwrap());
        }
        v
    };
    assert_eq!(cohorts, vec![0, 0, 0, 1, 1, 1, 2]);
    // Everyone but the last of cohort 0 and the lone player scores (twice for the first).
    for (i, p) in players.iter().enumerate() {
        if i == 2 || i == 6 {
            continue;
        }
        p.rpc(
            "league_submit_score",
            json!({"game_id": game, "league_id": "ranked", "score": (i as i64 + 1) * 10}),
        )
        .await
        .unwrap();
    }
    players[0]
        .rpc(
            "league_submit_score",
            json!({"game_id": game, "league_id": "ranked", "score": 100}),
        )
        .await
        .unwrap();
    let st = players[0]
        .rpc(
            "league_get_standings",
            json!({"game_id": game, "league_id": "ranked"}),
        )
        .await
        .unwrap();
    let rows = st["standings"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["user_id"], json!(players[0].user_id()));
    assert_eq!(rows[0]["score"], 110, "scores add up");
    assert_eq!(rows[0]["zone"], "promotion");
    assert_eq!(rows[2]["score"], Value::Null, "idle last");

    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "1d"}))
        .await
        .unwrap();
    for _ in 0..100 {
        if division(&players[0], &game).await["season"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Cohort 0: players 0 (110), 1 (20) scored, 2 idle → 0 promoted; cohort 1: 5 (60) up.
    let d0 = division(&players[0], &game).await;
    assert_eq!(d0["season"], 2);
    assert_eq!(d0["tier_name"], "silver");
    assert_eq!(division(&players[5], &game).await["tier_name"], "silver");
    assert_eq!(division(&players[1], &game).await["tier_name"], "bronze");
    // Paid by rank in the cohort, once.
    let coins = |v: Value| v["wallet"]["coins"].as_i64().unwrap_or(0);
    assert_eq!(
        coins(
            players[0]
                .rpc("wallet_get", json!({"game_id": game}))
                .await
                .unwrap()
        ),
        100
    );
    assert_eq!(
        coins(
            players[1]
                .rpc("wallet_get", json!({"game_id": game}))
                .await
                .unwrap()
        ),
        10
    );
    assert_eq!(
        coins(
            players[2]
                .rpc("wallet_get", json!({"game_id": game}))
                .await
                .unwrap()
        ),
        0,
        "idle members are not paid"
    );
    let h = players[0]
        .rpc(
            "league_get_history",
            json!({"game_id": game, "league_id": "ranked"}),
        )
        .await
        .unwrap();
    let s1 = &h["seasons"][0];
    assert_eq!(s1["season"], 1);
    assert_eq!(s1["rank"], 1);
    assert_eq!(s1["moved"], "promoted");
    assert_eq!(s1["score"], 110);
    // Silver holds the two cohort winners who scored, in one cohort; bronze re-forms.
    let silver: Vec<u64> = {
        let mut v = Vec::new();
        for i in [0, 3, 5] {
            let d = division(&players[i], &game).await;
            if d["tier_name"] == "silver" {
                v.push(d["cohort"].as_u64().unwrap());
            }
        }
        v
    };
    assert!(silver.iter().all(|c| *c == 0));
    let st = players[1]
        .rpc(
            "league_get_standings",
            json!({"game_id": game, "league_id": "ranked"}),
        )
        .await
        .unwrap();
    assert!(st["standings"].as_array().unwrap().len() <= 3);

    // A restart pays nothing again.
    server.restart().await;
    let p0 = Player {
        client: server.client.clone(),
        session: players[0].session.clone(),
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        coins(
            p0.rpc("wallet_get", json!({"game_id": game}))
                .await
                .unwrap()
        ),
        100
    );
    assert_eq!(division(&p0, &game).await["season"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn league_bad_input_names_the_field() {
    let mut server = TestServer::start_with(&["arena"], &[]).await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let base = json!({"game_id": game, "league_id": "l1", "tiers": [{"name": "bronze"}],
                      "promotion": 1, "demotion": 1, "season_length": "7d"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("league_id", json!("bad id!")), "league_id"),
        (with("tiers", json!([])), "tiers"),
        (
            with("tiers", json!([{"name": "a"}, {"name": "a"}])),
            "tiers[1].name",
        ),
        (with("promotion", json!(1.5)), "promotion"),
        (with("cohort_size", json!(1)), "cohort_size"),
        (with("season_length", json!("soon")), "season_length"),
        (
            with(
                "tiers",
                json!([{"name": "a", "rewards": [{"rank": 0, "reward": {"currencies": {"c": 1}}}]}]),
            ),
            "tiers[0]",
        ),
    ] {
        let e = admin.rpc("league_create", body.clone()).await.unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        assert!(
            e.message.contains(field),
            "`{}` should name {field}",
            e.message
        );
    }
    admin.rpc("league_create", base.clone()).await.unwrap();
    let e = admin.rpc("league_create", base).await.unwrap_err();
    assert_eq!(e.status, 409);
    let p = server.new_player().await;
    let e = p
        .rpc("league_join", json!({"game_id": game, "league_id": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    assert!(e.message.contains("league_id"));
    let e = p
        .rpc(
            "league_get_standings",
            json!({"game_id": game, "league_id": "l1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400, "not a member");
    let e = p
        .rpc(
            "league_submit_score",
            json!({"game_id": game, "league_id": "l1", "score": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
}
