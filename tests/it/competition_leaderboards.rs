//! Leaderboards through the real server: ranks against a brute-force model, limits and bad
//! input, resets on time and after downtime, hidden and banned owners, Nakama's REST shapes.

use std::collections::HashMap;
use std::time::Duration;

use outpost::client::Player;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::TestServer;

/// A small deterministic generator, so a failure replays.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn create(admin: &Player, game: &str, def: Value) -> Value {
    let mut payload = def;
    payload["game_id"] = json!(game);
    admin.rpc("leaderboard_create", payload).await.unwrap()
}

/// (owner, score, subscore, rank) of a reply's `records`.
fn rows(list: &Value, field: &str) -> Vec<(Uuid, i64, i64, u64)> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {list}"))
        .iter()
        .map(|r| {
            (
                r["owner_id"].as_str().unwrap().parse().unwrap(),
                r["score"].as_i64().unwrap(),
                r["subscore"].as_i64().unwrap(),
                r["rank"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Model {
    desc: bool,
    owner_tie: bool,
    op: &'static str,
}

#[tokio::test(flavor = "multi_thread")]
async fn ranks_match_a_brute_force_model_for_every_operator_and_order() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let boards = [
        (
            "best-desc",
            Model {
                desc: true,
                owner_tie: false,
                op: "best",
            },
        ),
        (
            "set-asc",
            Model {
                desc: false,
                owner_tie: true,
                op: "set",
            },
        ),
        (
            "incr-desc",
            Model {
                desc: true,
                owner_tie: true,
                op: "incr",
            },
        ),
        (
            "decr-asc",
            Model {
                desc: false,
                owner_tie: false,
                op: "decr",
            },
        ),
        (
            "best-asc",
            Model {
                desc: false,
                owner_tie: false,
                op: "best",
            },
        ),
    ];
    for (id, m) in boards {
        create(
            &admin,
            &game,
            json!({
                "id": id,
                "sort": if m.desc { "desc" } else { "asc" },
                "operator": m.op,
                "tie": if m.owner_tie { "owner_id" } else { "earliest" },
            }),
        )
        .await;
    }
    let mut players = Vec::new();
    for _ in 0..9 {
        players.push(server.new_player().await);
    }
    // board → owner → (score, subscore, arrival of the current value)
    let mut model: HashMap<&str, HashMap<Uuid, (i64, i64, u64)>> = HashMap::new();
    let mut arrival = 0u64;
    let mut rng = Lcg(7);
    for _ in 0..160 {
        let (id, m) = boards[rng.below(boards.len() as u64) as usize];
        let who = players[rng.below(players.len() as u64) as usize].user_id();
        let (score, sub) = (rng.below(5) as i64, rng.below(2) as i64);
        let reply = server
            .server_rpc(
                "submit_score",
                json!({"game_id": game, "leaderboard_id": id, "user_id": who,
                       "score": score, "subscore": sub}),
            )
            .await
            .unwrap();
        let entries = model.entry(id).or_default();
        let old = entries.get(&who).copied();
        let (o_score, o_sub) = old.map(|(a, b, _)| (a, b)).unwrap_or((0, 0));
        let new = match m.op {
            "incr" => (o_score + score, o_sub + sub),
            "decr" => (o_score - score, o_sub - sub),
            "set" => (score, sub),
            _ => match old {
                Some(_)
                    if (m.desc && (score, sub) <= (o_score, o_sub))
                        || (!m.desc && (score, sub) >= (o_score, o_sub)) =>
                {
                    (o_score, o_sub)
                }
                _ => (score, sub),
            },
        };
        let moved = old.is_none_or(|(a, b, _)| (a, b) != new);
        if moved {
            arrival += 1;
        }
        let at = if moved {
            arrival
        } else {
            old.map(|o| o.2).unwrap_or(0)
        };
        entries.insert(who, (new.0, new.1, at));
        assert_eq!(reply["record"]["score"], new.0, "{reply}");
        assert_eq!(reply["record"]["subscore"], new.1, "{reply}");
    }

    for (id, m) in boards {
        let entries = model.get(id).cloned().unwrap_or_default();
        let mut expected: Vec<(Uuid, (i64, i64, u64))> = entries.into_iter().collect();
        expected.sort_by(|(oa, a), (ob, b)| {
            let by_score = if m.desc {
                (b.0, b.1).cmp(&(a.0, a.1))
            } else {
                (a.0, a.1).cmp(&(b.0, b.1))
            };
            let by_tie = match (m.owner_tie, m.desc) {
                (true, true) => ob.cmp(oa),
                (true, false) => oa.cmp(ob),
                (false, _) => a.2.cmp(&b.2),
            };
            by_score.then(by_tie)
        });
        let want: Vec<(Uuid, i64, i64, u64)> = expected
            .iter()
            .enumerate()
            .map(|(i, (o, v))| (*o, v.0, v.1, i as u64 + 1))
            .collect();

        let all = admin
            .rpc(
                "get_leaderboard",
                json!({"game_id": game, "leaderboard_id": id, "limit": 1000}),
            )
            .await
            .unwrap();
        assert_eq!(rows(&all, "records"), want, "board {id}");
        assert_eq!(all["rank_count"], want.len(), "board {id}");

        // Paging by cursor, forwards then one page back.
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        let mut first_page = None;
        let mut second_prev = None;
        for page in 0.. {
            let mut q = json!({"game_id": game, "leaderboard_id": id, "limit": 2});
            if let Some(c) = &cursor {
                q["cursor"] = json!(c);
            }
            let p = admin.rpc("get_leaderboard", q).await.unwrap();
            paged.extend(rows(&p, "records"));
            if page == 0 {
                first_page = Some(rows(&p, "records"));
                assert!(p.get("prev_cursor").is_none());
            }
            if page == 1 {
                second_prev = p["prev_cursor"].as_str().map(str::to_string);
            }
            match p["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(paged, want, "board {id} paged");
        if let Some(prev) = second_prev {
            let back = admin
                .rpc(
                    "get_leaderboard",
                    json!({"game_id": game, "leaderboard_id": id, "limit": 2, "cursor": prev}),
                )
                .await
                .unwrap();
            assert_eq!(Some(rows(&back, "records")), first_page, "board {id} back");
        }

        // Each player's rank, and the page around them.
        for p in &players {
            let r = p
                .rpc(
                    "leaderboard_get_rank",
                    json!({"game_id": game, "leaderboard_id": id}),
                )
                .await
                .unwrap();
            let mine = want.iter().find(|w| w.0 == p.user_id());
            assert_eq!(r["rank"].as_u64(), mine.map(|w| w.3), "board {id}: {r}");
            let around = p
                .rpc(
                    "get_leaderboard",
                    json!({"game_id": game, "leaderboard_id": id, "around_me": true, "limit": 3}),
                )
                .await
                .unwrap();
            let got = rows(&around, "records");
            match mine {
                None => assert!(got.is_empty(), "board {id}: {around}"),
                Some(me) => {
                    assert!(got.contains(me), "board {id}: {around}");
                    let start = (got[0].3 - 1) as usize;
                    assert_eq!(got, want[start..start + got.len()].to_vec());
                    assert_eq!(got.len(), want.len().min(3));
                }
            }
        }
        // Named owners, in the order asked.
        let owners: Vec<Uuid> = players.iter().take(3).map(Player::user_id).collect();
        let named = admin
            .rpc(
                "get_leaderboard",
                json!({"game_id": game, "leaderboard_id": id, "owner_ids": owners}),
            )
            .await
            .unwrap();
        assert!(rows(&named, "records").is_empty());
        let expect_named: Vec<_> = owners
            .iter()
            .filter_map(|o| want.iter().find(|w| w.0 == *o).copied())
            .collect();
        assert_eq!(rows(&named, "owner_records"), expect_named);
    }

    // The ranks are rebuilt from storage after a restart.
    let before = admin
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "incr-desc", "limit": 100}),
        )
        .await
        .unwrap();
    server.restart().await;
    let admin = server.admin().await;
    let after = admin
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "incr-desc", "limit": 100}),
        )
        .await
        .unwrap();
    assert_eq!(rows(&before, "records"), rows(&after, "records"));
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_and_bad_input_are_refused_and_change_nothing() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    create(
        &admin,
        &game,
        json!({"id": "capped", "operator": "set", "max_score": 1000, "max_delta": 100,
               "submits_per_minute": 4, "metadata": {"season": 1}}),
    )
    .await;
    let submit = |score: i64| {
        alice.rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "capped", "score": score}),
        )
    };
    let ok = submit(90).await.unwrap();
    assert_eq!(ok["record"]["rank"], 1);
    assert_eq!(ok["record"]["num_score"], 1);
    let e = submit(1001).await.unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("max_score"), "{}", e.message);
    let e = submit(191).await.unwrap_err();
    assert!(e.message.contains("max_delta"), "{}", e.message);
    let e = submit(150).await.unwrap();
    assert_eq!(e["record"]["score"], 150);
    let e = submit(160).await.unwrap_err();
    assert_eq!(e.status(), 429, "the fifth submit in a minute: {e}");
    let r = alice
        .rpc(
            "leaderboard_get_rank",
            json!({"game_id": game, "leaderboard_id": "capped"}),
        )
        .await
        .unwrap();
    assert_eq!(r["record"]["score"], 150, "refusals changed nothing: {r}");
    assert_eq!(r["record"]["num_score"], 2);

    // Authoritative boards take scores from the server only.
    create(
        &admin,
        &game,
        json!({"id": "official", "submitters": "server"}),
    )
    .await;
    let e = alice
        .rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "official", "score": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    server
        .server_rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "official", "score": 5,
                   "user_id": alice.user_id()}),
        )
        .await
        .unwrap();

    // Bad input names the field.
    let bad_creates = [
        (json!({"id": "x", "sort": "sideways"}), "sort"),
        (json!({"id": "x", "operator": "max"}), "operator"),
        (json!({"id": "x", "reset": "0 0 * *"}), "reset"),
        (json!({"id": "x", "reset": "61 * * * *"}), "minute"),
        (json!({"id": "x", "max_delta": 0}), "max_delta"),
        (json!({"id": "x", "tie": "random"}), "tie"),
        (json!({"id": "has space"}), "leaderboard_id"),
        (json!({"id": "x", "colour": "red"}), "colour"),
        (json!({}), "id"),
    ];
    for (def, field) in bad_creates {
        let mut p = def.clone();
        p["game_id"] = json!(game);
        let e = admin.rpc("leaderboard_create", p).await.unwrap_err();
        assert_eq!(e.status(), 400, "{def}");
        assert!(e.message.contains(field), "{def}: {}", e.message);
    }
    let e = admin
        .rpc(
            "leaderboard_create",
            json!({"game_id": game, "id": "capped"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);
    let e = alice
        .rpc("leaderboard_create", json!({"game_id": game, "id": "mine"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let bad_reads = [
        (
            json!({"leaderboard_id": "capped", "limit": 0}),
            "limit",
            400,
        ),
        (
            json!({"leaderboard_id": "capped", "limit": 1001}),
            "limit",
            400,
        ),
        (
            json!({"leaderboard_id": "capped", "cursor": "%%"}),
            "cursor",
            400,
        ),
        (
            json!({"leaderboard_id": "capped", "owner_ids": ["nope"]}),
            "owner_ids",
            400,
        ),
        (json!({"leaderboard_id": "nowhere"}), "nowhere", 404),
        (
            json!({"leaderboard_id": "capped", "limit": "ten"}),
            "limit",
            400,
        ),
    ];
    for (q, field, status) in bad_reads {
        let mut p = q.clone();
        p["game_id"] = json!(game);
        let e = alice.rpc("get_leaderboard", p).await.unwrap_err();
        assert_eq!(e.status(), status, "{q}");
        assert!(e.message.contains(field), "{q}: {}", e.message);
    }
    let bad_submits = [
        (json!({"leaderboard_id": "capped"}), "score"),
        (json!({"leaderboard_id": "capped", "score": "12"}), "score"),
        (
            json!({"leaderboard_id": "capped", "score": 1, "user_id": Uuid::new_v4()}),
            "own",
        ),
        (
            json!({"leaderboard_id": "capped", "score": 1, "metadata": [1]}),
            "metadata",
        ),
    ];
    for (q, field) in bad_submits {
        let mut p = q.clone();
        p["game_id"] = json!(game);
        let e = alice.rpc("submit_score", p).await.unwrap_err();
        assert!(e.message.contains(field), "{q}: {}", e.message);
    }
    let e = admin
        .rpc(
            "leaderboard_hide_owner",
            json!({"game_id": game, "leaderboard_id": "capped", "owner_id": Uuid::new_v4()}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    assert!(e.message.contains("owner_id"), "{}", e.message);

    // A batch is all or nothing: the second score is over max_score, so neither lands.
    create(&admin, &game, json!({"id": "open", "operator": "incr"})).await;
    let e = server
        .server_rpc(
            "batch_leaderboard_submissions",
            json!({"game_id": game, "submissions": [
                {"leaderboard_id": "open", "user_id": alice.user_id(), "score": 7},
                {"leaderboard_id": "capped", "user_id": alice.user_id(), "score": 5000},
            ]}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("submissions[1]"), "{}", e.message);
    let r = alice
        .rpc(
            "leaderboard_get_rank",
            json!({"game_id": game, "leaderboard_id": "open"}),
        )
        .await
        .unwrap();
    assert_eq!(r["rank"], Value::Null, "nothing landed: {r}");
    let ok = server
        .server_rpc(
            "batch_leaderboard_submissions",
            json!({"game_id": game, "submissions": [
                {"leaderboard_id": "open", "user_id": alice.user_id(), "score": 7},
                {"leaderboard_id": "open", "user_id": alice.user_id(), "score": 3},
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(ok["results"][1]["score"], 10, "{ok}");

    // Listing and deleting boards.
    let list = admin
        .rpc("leaderboard_list", json!({"game_id": game}))
        .await
        .unwrap();
    let ids: Vec<&str> = list["leaderboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["capped", "official", "open"]);
    assert_eq!(list["leaderboards"][0]["metadata"]["season"], 1);
    admin
        .rpc(
            "leaderboard_delete",
            json!({"game_id": game, "leaderboard_id": "open"}),
        )
        .await
        .unwrap();
    let e = alice
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "open"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    // A board of one game is not visible through another.
    let other = server.game("other");
    let e = alice
        .rpc(
            "get_leaderboard",
            json!({"game_id": other, "leaderboard_id": "capped"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
}

async fn archived_count(admin: &Player, game: &str) -> usize {
    let list = admin
        .rpc("leaderboard_list", json!({"game_id": game}))
        .await
        .unwrap();
    list["leaderboards"][0]["archived"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

async fn wait_for_archives(admin: &Player, game: &str, n: usize) {
    for _ in 0..100 {
        if archived_count(admin, game).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scheduled reset did not archive period {n}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_archives_the_period_on_time_and_after_downtime() {
    let mut server =
        TestServer::start_with(&["arena"], &[("OUTPOST_SERVER_DEV_MODE", "true")]).await;
    let game = server.game("arena");
    let admin = server.admin().await;
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let board = create(&admin, &game, json!({"id": "daily", "reset": "daily"})).await;
    let first_expiry = board["leaderboard"]["expiry"].as_i64().unwrap();
    assert_eq!(first_expiry % 86_400, 0, "daily resets at 00:00 UTC");
    for (p, score) in [(&alice, 50), (&bob, 70)] {
        p.rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "daily", "score": score}),
        )
        .await
        .unwrap();
    }
    let r = alice
        .rpc(
            "leaderboard_get_rank",
            json!({"game_id": game, "leaderboard_id": "daily"}),
        )
        .await
        .unwrap();
    assert_eq!(r["record"]["expiry_time"], first_expiry);

    // A day later the scheduler archives the period without anyone reading the board.
    admin
        .rpc("dev_clock_advance", json!({"game_id": game, "by": "1d"}))
        .await
        .unwrap();
    wait_for_archives(&admin, &game, 1).await;
    let now = alice
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "daily"}),
        )
        .await
        .unwrap();
    assert_eq!(now["records"], json!([]));
    assert_eq!(now["rank_count"], 0);
    let old = alice
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "daily", "expiry": first_expiry}),
        )
        .await
        .unwrap();
    let got: Vec<(Uuid, i64, u64)> = rows(&old, "records")
        .into_iter()
        .map(|r| (r.0, r.1, r.3))
        .collect();
    assert_eq!(got, [(bob.user_id(), 70, 1), (alice.user_id(), 50, 2)]);
    let fresh = alice
        .rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "daily", "score": 5}),
        )
        .await
        .unwrap();
    assert_eq!(fresh["record"]["rank"], 1);
    assert_eq!(fresh["record"]["num_score"], 1, "a new period starts fresh");
    let second_expiry = fresh["record"]["expiry_time"].as_i64().unwrap();
    assert_eq!(second_expiry, first_expiry + 86_400);

    // The server is down when the next reset is due: it happens at start.
    server.stop().await;
    let dir = server.local.data_dir();
    std::fs::write(
        dir.parent().unwrap().join("outpost.toml"),
        "[server]\ndev_mode = true\n",
    )
    .unwrap();
    let (ok, out, err) = server
        .cli(&["clock", "advance", "1d", "--game", &game])
        .await;
    assert!(ok, "offline clock advance: {out}{err}");
    server.start_again().await;
    let admin = server.admin().await;
    wait_for_archives(&admin, &game, 2).await;
    let old = admin
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "daily", "expiry": second_expiry}),
        )
        .await
        .unwrap();
    assert_eq!(rows(&old, "records").len(), 1);
    assert_eq!(old["records"][0]["score"], 5);
    let list = admin
        .rpc("leaderboard_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(
        list["leaderboards"][0]["expiry"],
        second_expiry + 86_400,
        "the next reset is a day later: {list}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_and_banned_owners_leave_the_ranks_and_come_back() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    create(&admin, &game, json!({"id": "kills"})).await;
    let mut players = Vec::new();
    for score in [40, 30, 20, 10] {
        let p = server.new_player().await;
        p.rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "kills", "score": score}),
        )
        .await
        .unwrap();
        players.push(p);
    }
    let scores_seen_by = |p: &Player| {
        let p = p.clone();
        let game = game.clone();
        async move {
            let l = p
                .rpc(
                    "get_leaderboard",
                    json!({"game_id": game, "leaderboard_id": "kills", "limit": 10}),
                )
                .await
                .unwrap();
            (
                rows(&l, "records")
                    .into_iter()
                    .map(|r| (r.1, r.3))
                    .collect::<Vec<_>>(),
                l["rank_count"].as_u64().unwrap(),
            )
        }
    };
    let hidden = &players[1];
    admin
        .rpc(
            "leaderboard_hide_owner",
            json!({"game_id": game, "leaderboard_id": "kills", "owner_id": hidden.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(
        scores_seen_by(&players[0]).await,
        (vec![(40, 1), (20, 2), (10, 3)], 3),
        "ranks close up for everyone else"
    );
    assert_eq!(
        scores_seen_by(hidden).await,
        (vec![(40, 1), (30, 2), (20, 3), (10, 4)], 4),
        "the hidden owner still sees themself"
    );
    let r = hidden
        .rpc(
            "leaderboard_get_rank",
            json!({"game_id": game, "leaderboard_id": "kills"}),
        )
        .await
        .unwrap();
    assert_eq!(r["rank"], 2);
    let r = players[3]
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "kills", "owner_ids": [hidden.user_id()]}),
        )
        .await
        .unwrap();
    assert_eq!(
        r["owner_records"],
        json!([]),
        "invisible to others by id too"
    );
    // A hidden owner's new score is kept but stays hidden.
    hidden
        .rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "kills", "score": 99}),
        )
        .await
        .unwrap();
    assert_eq!(scores_seen_by(&players[3]).await.1, 3);
    admin
        .rpc(
            "leaderboard_unhide_owner",
            json!({"game_id": game, "leaderboard_id": "kills", "owner_id": hidden.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(
        scores_seen_by(&players[3]).await,
        (vec![(99, 1), (40, 2), (20, 3), (10, 4)], 4)
    );

    // A banned player is hidden while banned.
    let banned = players[0].user_id().to_string();
    let (ok, out, err) = server.cli(&["ban", &banned, "--reason", "cheating"]).await;
    assert!(ok, "{out}{err}");
    let mut seen = (Vec::new(), 0);
    for _ in 0..50 {
        seen = scores_seen_by(&players[3]).await;
        if seen.1 == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, (vec![(99, 1), (20, 2), (10, 3)], 3));
    let (ok, out, err) = server.cli(&["unban", &banned]).await;
    assert!(ok, "{out}{err}");
    for _ in 0..50 {
        seen = scores_seen_by(&players[3]).await;
        if seen.1 == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, (vec![(99, 1), (40, 2), (20, 3), (10, 4)], 4));
}

#[tokio::test(flavor = "multi_thread")]
async fn nakama_rest_shapes() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let admin = server.admin().await;
    create(
        &admin,
        &game,
        json!({"id": "weekly:points", "reset": "weekly"}),
    )
    .await;
    create(
        &admin,
        &game,
        json!({"id": "official", "submitters": "server"}),
    )
    .await;
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("game_id".to_string(), game.clone());
    let mut sessions = Vec::new();
    for i in 0..3 {
        sessions.push(
            server
                .client
                .authenticate_device(&format!("device-nk-lb-{i:04}"), true, None, &vars)
                .await
                .unwrap(),
        );
    }
    let c = &server.client;
    let rec = c
        .leaderboard_write(
            &sessions[0],
            "weekly:points",
            json!({"score": "42", "subscore": "7", "metadata": "{\"car\":\"red\"}",
                   "unknown_field": true}),
        )
        .await
        .unwrap();
    assert_eq!(rec["score"], "42");
    assert_eq!(rec["subscore"], "7");
    assert_eq!(rec["rank"], "1");
    assert_eq!(rec["num_score"], 1);
    assert_eq!(rec["max_num_score"], 0);
    assert_eq!(rec["metadata"], "{\"car\":\"red\"}");
    assert_eq!(rec["owner_id"], sessions[0].user_id.to_string());
    assert_eq!(rec["username"], sessions[0].username);
    assert!(rec["expiry_time"].as_str().unwrap().ends_with("T00:00:00Z"));
    c.leaderboard_write(&sessions[1], "weekly:points", json!({"score": 50}))
        .await
        .unwrap();
    let incr = c
        .leaderboard_write(
            &sessions[2],
            "weekly:points",
            json!({"score": "10", "operator": 3}),
        )
        .await
        .unwrap();
    assert_eq!(incr["rank"], "3");

    let list = c
        .leaderboard_records(&sessions[0], "weekly:points", "limit=2")
        .await
        .unwrap();
    assert_eq!(list["rank_count"], "3");
    assert_eq!(list["records"][0]["score"], "50");
    assert_eq!(list["records"][1]["rank"], "2");
    let next = list["next_cursor"].as_str().unwrap();
    let rest = c
        .leaderboard_records(
            &sessions[0],
            "weekly:points",
            &format!("limit=2&cursor={next}"),
        )
        .await
        .unwrap();
    assert_eq!(rest["records"][0]["score"], "10");
    assert!(rest.get("next_cursor").is_none());
    assert!(rest["prev_cursor"].is_string());
    let camel = c
        .leaderboard_records(
            &sessions[0],
            "weekly:points",
            &format!(
                "ownerIds={}&ownerIds={}",
                sessions[2].user_id, sessions[1].user_id
            ),
        )
        .await
        .unwrap();
    let owners: Vec<&str> = camel["owner_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["3", "1"]);
    let around = c
        .leaderboard_around(
            &sessions[0],
            "weekly:points",
            sessions[2].user_id,
            "limit=2",
        )
        .await
        .unwrap();
    let ranks: Vec<&str> = around["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_str().unwrap())
        .collect();
    assert_eq!(ranks, ["2", "3"]);

    c.leaderboard_delete(&sessions[1], "weekly:points")
        .await
        .unwrap();
    let list = c
        .leaderboard_records(&sessions[0], "weekly:points", "")
        .await
        .unwrap();
    assert_eq!(list["rank_count"], "2");
    assert_eq!(list["records"][0]["score"], "42");

    let e = c
        .leaderboard_write(&sessions[0], "official", json!({"score": "1"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    let e = c
        .leaderboard_write(&sessions[0], "weekly:points", json!({"score": "lots"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("score"), "{}", e.message);
    let e = c
        .leaderboard_records(&sessions[0], "weekly:points", "limit=0")
        .await
        .unwrap_err();
    assert!(e.message.contains("limit"), "{}", e.message);
    let e = c
        .leaderboard_records(&sessions[0], "nothing-here", "")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
}
