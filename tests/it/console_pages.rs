//! The console's pages for the competition, live-ops, matchmaking and insight features,
//! through HTTP as a browser without JavaScript uses them: each shows what the feature's
//! RPCs hold, and its actions land where the API sees them, in the audit log too.

use std::time::Duration;

use outpost::client::console::{ConsoleClient, ConsolePage};
use serde_json::{json, Value};

use crate::common::TestServer;
use crate::console_actions::signed_in_admin;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Posts a page's form and returns where it sent the browser (asserting a 303).
async fn post(
    console: &ConsoleClient,
    page: &ConsolePage,
    path: &str,
    form: &[(&str, &str)],
) -> String {
    let csrf = page.csrf().expect("the page carries a CSRF token");
    let mut full = vec![("csrf", csrf.as_str())];
    full.extend_from_slice(form);
    let r = console.post(path, &full).await.unwrap();
    assert_eq!(r.status, 303, "{path}: {}", r.body);
    r.location.expect("a redirect")
}

fn decoded(location: &str) -> String {
    form_urlencoded::parse(location.split_once('?').map_or("", |(_, q)| q).as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

async fn audit_actions(console: &ConsoleClient, action: &str) -> String {
    console
        .get(&format!("/audit?action={action}"))
        .await
        .unwrap()
        .body
}

#[tokio::test(flavor = "multi_thread")]
async fn leaderboards_show_the_top_and_hide_an_owner() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, admin_id) = signed_in_admin(&server, "boards@example.com").await;
    root.rpc(
        "leaderboard_create",
        json!({"game_id": game, "id": "weekly_kills", "reset": "weekly"}),
    )
    .await
    .unwrap();
    let cheater = server.player("device-board-cheat-1").await;
    let honest = server.player("device-board-fair-01").await;
    for (p, score) in [(&cheater, 99_999), (&honest, 420)] {
        p.rpc(
            "submit_score",
            json!({"game_id": game, "leaderboard_id": "weekly_kills", "score": score}),
        )
        .await
        .unwrap();
    }

    let list = console
        .get(&format!("/leaderboards?game={game}"))
        .await
        .unwrap();
    assert_eq!(list.status, 200);
    assert!(list.body.contains("weekly_kills"), "{}", list.body);
    assert!(list.body.contains("weekly"));
    let board = console
        .get(&format!("/leaderboards/weekly_kills?game={game}&n=10"))
        .await
        .unwrap();
    assert!(board.body.contains("99999"), "{}", board.body);
    assert!(board.body.contains("420"));
    assert!(board.body.contains(&cheater.user_id().to_string()));

    // Hidden by device id from the form; the board closes up for everyone else.
    let to = post(
        &console,
        &board,
        &format!("/leaderboards/weekly_kills/hide?game={game}"),
        &[("owner", "device-board-cheat-1")],
    )
    .await;
    assert!(decoded(&to).contains("ok="), "{to}");
    let seen = honest
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "weekly_kills"}),
        )
        .await
        .unwrap();
    assert_eq!(seen["records"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["records"][0]["score"], 420);
    assert_eq!(seen["records"][0]["rank"], 1);
    let audit = audit_actions(&console, "leaderboard_hide_owner").await;
    assert!(audit.contains(&format!("admin:{admin_id}")), "{audit}");
    assert!(audit.contains(&cheater.user_id().to_string()));

    let nobody = post(
        &console,
        &board,
        &format!("/leaderboards/weekly_kills/unhide?game={game}"),
        &[("owner", "no-such-player-anywhere")],
    )
    .await;
    assert!(
        decoded(&nobody).contains("err=owner: no account"),
        "{nobody}"
    );
    let shown = post(
        &console,
        &board,
        &format!("/leaderboards/weekly_kills/unhide?game={game}"),
        &[("owner", &cheater.user_id().to_string())],
    )
    .await;
    assert!(decoded(&shown).contains("shown again"), "{shown}");
    let seen = honest
        .rpc(
            "get_leaderboard",
            json!({"game_id": game, "leaderboard_id": "weekly_kills"}),
        )
        .await
        .unwrap();
    assert_eq!(seen["records"].as_array().unwrap().len(), 2);
}

async fn tournament_state(server: &TestServer, game: &str, id: &str) -> Value {
    server
        .server_rpc(
            "tournament_get_leaderboard",
            json!({"game_id": game, "tournament_id": id}),
        )
        .await
        .unwrap()["tournament"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn tournaments_show_their_bracket_and_end_now() {
    let mut server =
        TestServer::start_with(&["arena"], &[("OUTPOST_SERVER_DEV_MODE", "true")]).await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, admin_id) = signed_in_admin(&server, "cups@example.com").await;
    let created = root
        .rpc(
            "tournament_create",
            json!({"game_id": game, "title": "Friday Cup", "format": "single_elimination",
                   "starts_in": "1h", "duration": "1d", "max_players": 8}),
        )
        .await
        .unwrap();
    let id = created["tournament"]["tournament_id"]
        .as_str()
        .unwrap()
        .to_string();
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
    let list = console
        .get(&format!("/tournaments?game={game}"))
        .await
        .unwrap();
    assert!(list.body.contains("Friday Cup"), "{}", list.body);
    assert!(list.body.contains("registration"));

    root.rpc("dev_clock_advance", json!({"game_id": game, "by": "1h"}))
        .await
        .unwrap();
    for _ in 0..100 {
        if tournament_state(&server, &game, &id).await["state"] == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = console
        .get(&format!("/tournaments/{id}?game={game}"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Bracket"), "{}", page.body);
    assert!(page.body.contains("Round 1"), "{}", page.body);
    assert!(page.body.contains("winners"));
    for p in &players {
        assert!(page.body.contains(&p.user_id().to_string()));
    }
    assert!(page.body.contains("End now"));

    let to = post(
        &console,
        &page,
        &format!("/tournaments/{id}/end?game={game}"),
        &[],
    )
    .await;
    assert!(decoded(&to).contains("ok="), "{to}");
    let t = tournament_state(&server, &game, &id).await;
    assert_eq!(t["ended_by"], "admin", "{t}");
    assert!(matches!(
        t["state"].as_str(),
        Some("ended" | "rewards_distributed")
    ));
    let again = console
        .get(&format!("/tournaments/{id}?game={game}"))
        .await
        .unwrap();
    assert!(
        !again.body.contains("End now"),
        "an ended tournament has no button"
    );
    let audit = audit_actions(&console, "tournament_end_now").await;
    assert!(
        audit.contains(&id) && audit.contains(&format!("admin:{admin_id}")),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn seasons_show_the_running_season_and_grant_xp_once() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, _) = signed_in_admin(&server, "seasons@example.com").await;
    let t = now();
    root.rpc(
        "season_create",
        json!({"game_id": game, "season_id": "s1", "title": "Season of Frost",
               "starts_at": t - 60, "ends_at": t + 7 * 86_400, "max_tier": 10, "xp_per_tier": 100,
               "free_rewards": {"2": {"coins": 20}}, "premium_rewards": {"3": {"gems": 5}},
               "premium_price": {"coins": 25}}),
    )
    .await
    .unwrap();
    let alice = server.player("device-season-alice").await;
    let page = console.get(&format!("/seasons?game={game}")).await.unwrap();
    assert!(page.body.contains("Season of Frost"), "{}", page.body);
    assert!(page.body.contains("active"));
    assert!(page.body.contains("gems"), "the premium tier reward shows");
    let form = [
        ("user", "device-season-alice"),
        ("amount", "250"),
        ("key", "console-xp-1"),
    ];
    for _ in 0..2 {
        let to = post(
            &console,
            &page,
            &format!("/seasons/grant-xp?game={game}"),
            &form,
        )
        .await;
        assert!(decoded(&to).contains("ok="), "{to}");
    }
    let progress = alice
        .rpc("season_get_player_progress", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(progress["progress"]["xp"], 250, "granted once: {progress}");
    assert_eq!(progress["progress"]["tier"], 2);
    let audit = audit_actions(&console, "season_grant_xp").await;
    assert!(audit.contains(&alice.user_id().to_string()), "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_list_what_runs_and_end_one_now() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, _) = signed_in_admin(&server, "events@example.com").await;
    let t = now();
    root.rpc(
        "event_create",
        json!({"game_id": game, "event_id": "harvest", "title": "Harvest Festival",
               "starts_at": t - 10, "ends_at": t + 86_400, "xp_multiplier": 2.0,
               "goals": [{"goal_id": "crops", "title": "Crops", "contribution_by": "player",
                          "max_player_contribution": 5,
                          "thresholds": [{"at": 3, "rewards": {"coins": 5}}]}]}),
    )
    .await
    .unwrap();
    let farmer = server.new_player().await;
    farmer
        .rpc(
            "event_contribute",
            json!({"game_id": game, "event_id": "harvest", "goal_id": "crops", "amount": 4}),
        )
        .await
        .unwrap();
    let page = console.get(&format!("/events?game={game}")).await.unwrap();
    assert!(page.body.contains("Harvest Festival"), "{}", page.body);
    assert!(page.body.contains("XP ×2"), "{}", page.body);
    assert!(
        page.body.contains(&farmer.user_id().to_string()),
        "the goal's top contributor"
    );
    let to = post(
        &console,
        &page,
        &format!("/events/harvest/end?game={game}"),
        &[],
    )
    .await;
    assert!(decoded(&to).contains("ended and settled"), "{to}");
    let wallet = farmer
        .rpc("wallet_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(
        wallet["wallet"]["coins"], 5,
        "the reached threshold was paid: {wallet}"
    );
    let after = console.get(&format!("/events?game={game}")).await.unwrap();
    assert!(!after.body.contains("Harvest Festival"));
    assert!(audit_actions(&console, "event_end")
        .await
        .contains("harvest"));
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_show_waiting_tickets_per_mode_and_region() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let (console, _) = signed_in_admin(&server, "queues@example.com").await;
    let p = server.new_player().await;
    p.rpc(
        "matchmaking_find_match",
        json!({"game_id": game, "mode": "squad", "region": "eu"}),
    )
    .await
    .unwrap();
    let page = console.get(&format!("/queues?game={game}")).await.unwrap();
    assert_eq!(page.status, 200);
    let queues = &page.body[page.body.find("id=\"queues\"").expect("a queue table")..];
    let row = &queues[queues.find("<td>squad</td>").expect("the squad queue")..];
    assert!(
        row.starts_with("<td>squad</td><td>eu</td><td class=\"num\">1</td>"),
        "{row}"
    );
    assert!(page.body.contains("id=\"modes\""));
    assert!(
        page.body.contains("<td>duo</td>"),
        "the default modes are listed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_config_is_reviewed_as_a_diff_saved_and_rolled_back() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, _) = signed_in_admin(&server, "config@example.com").await;
    root.rpc(
        "update_remote_config",
        json!({"game_id": game, "default": {"coins_per_win": 10, "banner": "spring"},
               "audiences": [{"name": "ios", "priority": 1, "rule": {"platforms": ["ios"]},
                              "values": {"banner": "spring-ios"}}]}),
    )
    .await
    .unwrap();
    let page = console.get(&format!("/config?game={game}")).await.unwrap();
    assert!(page.body.contains("coins_per_win"), "{}", page.body);
    assert!(page.body.contains("spring-ios"));
    assert!(page.body.contains("id=\"config-history\""));

    // An edit is shown as a diff against version 1 before anything is saved.
    let edited = json!({"default": {"coins_per_win": 25, "banner": "spring"},
                        "audiences": [{"name": "ios", "priority": 1, "rule": {"platforms": ["ios"]},
                                       "values": {"banner": "spring-ios"}}]})
    .to_string();
    let csrf = page.csrf().unwrap();
    let review = console
        .post(
            &format!("/config/preview?game={game}"),
            &[
                ("csrf", &csrf),
                ("config", &edited),
                ("note", "double rewards"),
                ("expected_version", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(review.status, 200, "{}", review.body);
    // (maud writes `"` as `&quot;`.)
    let changed = |line: &str, tag: &str| {
        review.body.contains(&format!("{line}</{tag}>"))
            || review.body.contains(&format!("{line},</{tag}>"))
    };
    assert!(
        changed("&quot;coins_per_win&quot;: 10", "del"),
        "{}",
        review.body
    );
    assert!(changed("&quot;coins_per_win&quot;: 25", "ins"));
    assert!(
        !review
            .body
            .contains("&quot;banner&quot;: &quot;spring&quot;,</del>"),
        "unchanged lines are kept"
    );
    let fetched = |p: outpost::client::Player| {
        let game = game.clone();
        async move {
            p.rpc("fetch_remote_config", json!({"game_id": game}))
                .await
                .unwrap()
        }
    };
    let player = server.new_player().await;
    assert_eq!(
        fetched(player).await["config"]["coins_per_win"],
        10,
        "nothing saved by a review"
    );

    // Bad JSON is named and nothing is saved.
    let bad = console
        .post(
            &format!("/config/preview?game={game}"),
            &[("csrf", &csrf), ("config", "{\"default\": [1]}")],
        )
        .await
        .unwrap();
    assert!(
        bad.body.contains("`default` must be an object"),
        "{}",
        bad.body
    );

    // Save from the review's form.
    let save_value = |body: &str, name: &str| -> String {
        let form = &body[body.find("action=\"/config/save\"").expect("a save form")..];
        let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        let raw = &form[at..at + form[at..].find('"').unwrap()];
        raw.replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
    };
    let config = save_value(&review.body, "config");
    let to = post(
        &console,
        &review,
        &format!("/config/save?game={game}"),
        &[
            ("config", &config),
            ("note", "double rewards"),
            ("expected_version", "1"),
        ],
    )
    .await;
    assert!(decoded(&to).contains("Saved version 2"), "{to}");
    let player = server.new_player().await;
    assert_eq!(fetched(player).await["config"]["coins_per_win"], 25);
    // A stale review (expected version 1) is refused now that version 2 exists.
    let other = config.replace("25", "30");
    let stale = post(
        &console,
        &review,
        &format!("/config/save?game={game}"),
        &[("config", &other), ("expected_version", "1")],
    )
    .await;
    assert!(decoded(&stale).contains("err=expected_version"), "{stale}");

    let to = post(
        &console,
        &page,
        &format!("/config/rollback?game={game}"),
        &[("version", "1")],
    )
    .await;
    assert!(decoded(&to).contains("version 3 holds version 1"), "{to}");
    let player = server.new_player().await;
    assert_eq!(fetched(player).await["config"]["coins_per_win"], 10);
    let history = console.get(&format!("/config?game={game}")).await.unwrap();
    assert!(history.body.contains("double rewards"));
    assert!(
        history.body.contains("rollback to version 1"),
        "{}",
        history.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn experiments_show_results_with_intervals_and_p_values() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let (console, _) = signed_in_admin(&server, "experiments@example.com").await;
    root.rpc(
        "experiment_create",
        json!({"game_id": game, "experiment_id": "shop_layout", "name": "Shop layout",
               "variants": [{"name": "control", "weight": 1}, {"name": "grid", "weight": 1}],
               "goal_event": "purchase", "baseline_conversion": 0.1,
               "minimum_detectable_effect": 0.05}),
    )
    .await
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..16 {
        let p = server.new_player().await;
        let a = p
            .rpc(
                "get_experiment_assignment",
                json!({"game_id": game, "experiment_id": "shop_layout"}),
            )
            .await
            .unwrap();
        seen.insert(a["variant"].as_str().unwrap().to_string());
        if i % 2 == 0 {
            p.rpc(
                "analytics_collect_events",
                json!({"game_id": game, "events": [{"name": "purchase"}]}),
            )
            .await
            .unwrap();
        }
    }
    assert_eq!(seen.len(), 2, "both variants have players");
    let page = console
        .get(&format!("/experiments?game={game}"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Shop layout"), "{}", page.body);
    assert!(page.body.contains("95 % confidence interval"));
    assert!(page.body.contains("<td>grid</td>"), "{}", page.body);
    assert!(
        page.body.contains(" pp, "),
        "an interval in percentage points: {}",
        page.body
    );
    assert!(page.body.contains("p-value"));
    let results = root
        .rpc(
            "experiment_get_results",
            json!({"game_id": game, "experiment_id": "shop_layout"}),
        )
        .await
        .unwrap();
    let grid = &results["variants"][1];
    let p = grid["versus_control"]["p_value"].as_f64().unwrap();
    assert!(
        page.body.contains(&format!("{p:.4}")),
        "the page shows the RPC's p-value {p}"
    );
    let unknown = console
        .get(&format!("/experiments?game={game}&experiment_id=nope"))
        .await
        .unwrap();
    assert!(unknown.body.contains("results:"), "{}", unknown.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_count_events_per_day() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let (console, _) = signed_in_admin(&server, "analytics@example.com").await;
    for n in [3, 1] {
        let p = server.new_player().await;
        let events: Vec<Value> = (0..n).map(|_| json!({"name": "level_start"})).collect();
        p.rpc(
            "analytics_collect_events",
            json!({"game_id": game, "events": events}),
        )
        .await
        .unwrap();
    }
    let p = server.new_player().await;
    p.rpc(
        "analytics_collect_events",
        json!({"game_id": game, "events": [{"name": "purchase"}]}),
    )
    .await
    .unwrap();
    let today = outpost::time::rfc3339(now())[..10].to_string();
    let page = console
        .get(&format!("/analytics?game={game}&days=7"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let table = &page.body[page.body.find("id=\"events-per-day\"").expect("a table")..];
    assert!(
        table.contains("<th class=\"num\">level_start</th><th class=\"num\">purchase</th>"),
        "{table}"
    );
    let row = &table[table
        .find(&format!("<td>{today}</td>"))
        .expect("today's row")..];
    assert!(
        row.starts_with(&format!("<td>{today}</td><td class=\"num\">4</td><td class=\"num\">1</td><td class=\"num\">5</td>")),
        "{row}"
    );
    assert!(page.body.contains("3 distinct player(s)"), "{}", page.body);
    let only = console
        .get(&format!("/analytics?game={game}&days=30&names=purchase"))
        .await
        .unwrap();
    assert!(!only.body.contains(">level_start</th>"));
}
