//! Nakama's tournament REST (`/v2/tournament…`) through the real server, in Nakama's shapes:
//! list with its filters and cursor, join, write a record (PUT and POST), list records,
//! records around an owner, and the errors a Nakama client gets.

use std::collections::BTreeMap;

use outpost::client::Session;
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::competition_tournaments::{advance, create, dev_server, tournament, wait_state};

async fn session(server: &TestServer, game: &str, device: &str) -> Session {
    let vars: BTreeMap<String, String> = [("game_id".to_string(), game.to_string())].into();
    server
        .client
        .authenticate_device(device, true, None, &vars)
        .await
        .expect("device authentication")
}

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["tournaments"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["id"] == id))
}

fn ids(list: &Value) -> Vec<String> {
    list["tournaments"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| t["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn nakama_tournament_rest_lists_joins_writes_and_reads_records() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let cup = create(
        &admin,
        &game,
        json!({"format": "leaderboard", "category": 3, "max_players": 10,
               "metadata": {"tier": "gold"}}),
    )
    .await;
    let bracket = create(
        &admin,
        &game,
        json!({"format": "single_elimination", "category": 9}),
    )
    .await;
    let alice = session(&server, &game, "device-nk-tour-alice").await;
    let bob = session(&server, &game, "device-nk-tour-bob").await;
    let client = &server.client;

    // The listing, in Nakama's Tournament shape.
    let list = client.list_tournaments(&alice, "").await.unwrap();
    assert_eq!(ids(&list).len(), 2, "{list}");
    let t = find(&list, &cup).unwrap();
    assert_eq!(t["title"], "Friday Cup");
    assert_eq!(t["category"], 3);
    assert_eq!(t["sort_order"], 1, "DESC is 1");
    assert_eq!(t["operator"], 1, "BEST is 1");
    assert_eq!(t["size"], 0);
    assert_eq!(t["max_size"], 10);
    assert_eq!(t["can_enter"], true);
    assert_eq!(t["join_required"], true);
    assert_eq!(t["authoritative"], false);
    assert_eq!(t["duration"], 86_400);
    assert_eq!(t["metadata"], "{\"tier\":\"gold\"}");
    let start = t["start_time"].as_str().unwrap();
    assert!(start.ends_with('Z'), "RFC 3339: {start}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(start)
            .unwrap()
            .timestamp(),
        t["start_active"].as_i64().unwrap()
    );
    assert_eq!(t["end_active"], t["next_reset"]);
    assert!(t["create_time"].as_str().unwrap().ends_with('Z'));

    // Filters: categories (snake_case and camelCase), and a cursor over pages of one.
    for q in [
        "category_start=4&category_end=10",
        "categoryStart=4&categoryEnd=10",
    ] {
        let l = client.list_tournaments(&alice, q).await.unwrap();
        assert_eq!(ids(&l), vec![bracket.clone()], "{q}: {l}");
    }
    let first = client.list_tournaments(&alice, "limit=1").await.unwrap();
    let cursor = first["cursor"]
        .as_str()
        .expect("a cursor after a full page");
    let second = client
        .list_tournaments(&alice, &format!("limit=1&cursor={cursor}"))
        .await
        .unwrap();
    let mut both = ids(&first);
    both.extend(ids(&second));
    both.sort();
    let mut want = vec![cup.clone(), bracket.clone()];
    want.sort();
    assert_eq!(both, want);
    assert!(second.get("cursor").is_none(), "last page: {second}");
    // A start above every category, with no end given, matches nothing (as Nakama).
    let none = client
        .list_tournaments(&alice, "category_start=200")
        .await
        .unwrap();
    assert!(ids(&none).is_empty(), "{none}");
    for (q, field) in [
        ("category_end=128", "category_end"),
        ("category_start=5&category_end=4", "category_end"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("start_time=abc", "start_time"),
        ("start_time=100&end_time=50", "end_time"),
        ("cursor=!!", "cursor"),
    ] {
        let e = client.list_tournaments(&alice, q).await.unwrap_err();
        assert_eq!(e.status, 400, "{q}");
        assert!(e.message.contains(field), "{q}: `{}`", e.message);
    }

    // Join, twice (harmless); the listing counts it.
    assert_eq!(
        client.join_tournament(&alice, &cup).await.unwrap(),
        json!({})
    );
    assert_eq!(
        client.join_tournament(&alice, &cup).await.unwrap(),
        json!({})
    );
    let t = client.list_tournaments(&alice, "").await.unwrap();
    assert_eq!(find(&t, &cup).unwrap()["size"], 1);
    let e = client
        .join_tournament(&alice, &uuid::Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);

    // Not started: no records yet, and no writes.
    let empty = client
        .tournament_records(&alice, &cup, None, "")
        .await
        .unwrap();
    assert_eq!(empty["records"], json!([]));
    assert_eq!(empty["rank_count"], "0");
    let e = client
        .write_tournament_record(&alice, &cup, &json!({"score": "1"}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("score window"), "{}", e.message);

    advance(&admin, &game, "1h").await;
    wait_state(&admin, &game, &cup, "active").await;

    // PUT with int64 as strings and metadata as text; unknown fields ignored.
    let rec = client
        .write_tournament_record(
            &alice,
            &cup,
            &json!({"score": "42", "subscore": "7", "metadata": "{\"map\":\"dunes\"}",
                    "not_a_field": true}),
        )
        .await
        .unwrap();
    assert_eq!(rec["leaderboard_id"], json!(cup));
    assert_eq!(rec["owner_id"], json!(alice.user_id));
    assert_eq!(rec["score"], "42");
    assert_eq!(rec["subscore"], "7");
    assert_eq!(rec["num_score"], 1);
    assert_eq!(rec["rank"], "1");
    assert_eq!(rec["metadata"], "{\"map\":\"dunes\"}");
    assert!(rec["update_time"].as_str().unwrap().ends_with('Z'));
    // POST, numbers accepted too; the tournament keeps the best.
    let rec = client
        .post_tournament_record(&alice, &cup, &json!({"score": 30}))
        .await
        .unwrap();
    assert_eq!(rec["score"], "42");
    assert_eq!(rec["num_score"], 2);

    // Bob must join first; then he leads.
    let e = client
        .post_tournament_record(&bob, &cup, &json!({"score": "60"}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("join"), "{}", e.message);
    client.join_tournament(&bob, &cup).await.unwrap();
    client
        .post_tournament_record(&bob, &cup, &json!({"score": "60"}))
        .await
        .unwrap();
    let e = client
        .write_tournament_record(&bob, &cup, &json!({"score": "many"}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("score"), "{}", e.message);

    // Records, in Nakama's TournamentRecordList shape.
    let records = client
        .tournament_records(&alice, &cup, None, "limit=10")
        .await
        .unwrap();
    assert_eq!(records["rank_count"], "2");
    let rows = records["records"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["owner_id"], json!(bob.user_id));
    assert_eq!(rows[0]["rank"], "1");
    assert_eq!(rows[1]["owner_id"], json!(alice.user_id));
    assert_eq!(rows[1]["score"], "42");
    // Records expire at the tournament's end, and passing that back as `expiry` (what a
    // Nakama client does with `next_reset`) reads the same records, not an empty list.
    let listed = client.list_tournaments(&alice, "").await.unwrap();
    let end = find(&listed, &cup).unwrap()["next_reset"].as_i64().unwrap();
    let expiry = rows[0]["expiry_time"].as_str().expect("expiry_time");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(expiry)
            .unwrap()
            .timestamp(),
        end
    );
    let by_expiry = client
        .tournament_records(&alice, &cup, None, &format!("limit=10&expiry={end}"))
        .await
        .unwrap();
    assert_eq!(by_expiry["records"], records["records"]);
    for q in [
        format!("owner_ids={}", alice.user_id),
        format!("ownerIds={}", alice.user_id),
    ] {
        let mine = client
            .tournament_records(&alice, &cup, None, &q)
            .await
            .unwrap();
        assert_eq!(mine["owner_records"][0]["owner_id"], json!(alice.user_id));
        assert_eq!(mine["owner_records"][0]["rank"], "2");
        assert_eq!(mine["records"].as_array().unwrap().len(), 2, "{q}");
    }
    let page = client
        .tournament_records(&alice, &cup, None, "limit=1")
        .await
        .unwrap();
    let next = page["next_cursor"].as_str().expect("next_cursor");
    let page2 = client
        .tournament_records(&alice, &cup, None, &format!("limit=1&cursor={next}"))
        .await
        .unwrap();
    assert_eq!(page2["records"][0]["owner_id"], json!(alice.user_id));
    assert!(page2["prev_cursor"].is_string(), "{page2}");

    // Around an owner.
    let around = client
        .tournament_records(&bob, &cup, Some(&alice.user_id.to_string()), "limit=1")
        .await
        .unwrap();
    let rows = around["records"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["owner_id"], json!(alice.user_id));
    let all = client
        .tournament_records(&bob, &cup, Some(&alice.user_id.to_string()), "")
        .await
        .unwrap();
    assert_eq!(all["records"].as_array().unwrap().len(), 2, "{all}");

    // Errors a Nakama client gets.
    let e = client
        .tournament_records(&alice, &cup, None, "limit=101")
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("limit"), "{}", e.message);
    let e = client
        .tournament_records(&alice, &cup, None, "owner_ids=nobody")
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("owner_ids"), "{}", e.message);
    let e = client
        .tournament_records(&alice, &cup, Some("nobody"), "")
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("owner_id"), "{}", e.message);
    let e = client
        .tournament_records(&alice, &uuid::Uuid::new_v4().to_string(), None, "")
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    let e = client
        .tournament_records(&alice, "not-a-tournament", None, "")
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);

    // A bracket tournament has no score records and takes no writes.
    let none = client
        .tournament_records(&alice, &bracket, None, "")
        .await
        .unwrap();
    assert_eq!(none["records"], json!([]));
    client.join_tournament(&alice, &bracket).await.unwrap_err();
    let e = client
        .write_tournament_record(&alice, &bracket, &json!({"score": "5"}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("bracket"), "{}", e.message);

    // Ended: out of the default listing, found by an end-time filter.
    admin
        .rpc(
            "tournament_end_now",
            json!({"game_id": game, "tournament_id": cup}),
        )
        .await
        .unwrap();
    let l = client.list_tournaments(&alice, "").await.unwrap();
    assert!(find(&l, &cup).is_none(), "ended: {l}");
    let l = client
        .list_tournaments(&alice, "start_time=0&end_time=4000000000")
        .await
        .unwrap();
    assert_eq!(find(&l, &cup).unwrap()["can_enter"], false);
    let l = client.list_tournaments(&alice, "end_time=0").await.unwrap();
    assert!(ids(&l).is_empty(), "every tournament has an end time: {l}");
    assert_eq!(tournament(&admin, &game, &cup).await["players"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn nakama_tournament_rest_needs_a_session_and_the_fee() {
    let mut server = dev_server().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let cup = create(
        &admin,
        &game,
        json!({"format": "leaderboard", "entry_fee": {"coins": 25}, "max_players": 2}),
    )
    .await;
    let carol = session(&server, &game, "device-nk-tour-carol").await;
    let client = &server.client;

    // No session: 401, as Nakama answers.
    let r = client
        .request(
            reqwest::Method::GET,
            "/v2/tournament",
            outpost::client::Credentials::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);

    // The fee is taken with the join, as tournament_join takes it.
    let e = client.join_tournament(&carol, &cup).await.unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("coins"), "{}", e.message);
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": carol.user_id.to_string(),
                   "changeset": {"coins": 40}, "reason": "test"}),
        )
        .await
        .unwrap();
    client.join_tournament(&carol, &cup).await.unwrap();
    let w = client
        .rpc(&carol, "wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({"coins": 15}));
    let l = client.list_tournaments(&carol, "").await.unwrap();
    assert_eq!(find(&l, &cup).unwrap()["size"], 1);
    assert_eq!(find(&l, &cup).unwrap()["can_enter"], true);
    let dave = server.new_player().await;
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": dave.user_id().to_string(),
                   "changeset": {"coins": 40}, "reason": "test"}),
        )
        .await
        .unwrap();
    dave.rpc(
        "tournament_join",
        json!({"game_id": game, "tournament_id": cup}),
    )
    .await
    .unwrap();
    let l = client.list_tournaments(&carol, "").await.unwrap();
    assert_eq!(find(&l, &cup).unwrap()["can_enter"], false, "full");
}
