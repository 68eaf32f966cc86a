//! The admin console through HTTP, as a browser without JavaScript uses it: sign-in, CSRF,
//! non-admins refused, and its actions landing where the API shows them.

use std::collections::BTreeMap;
use std::time::Duration;

use outpost::client::console::ConsoleClient;
use outpost::client::quic::Code;
use outpost::client::Trust;
use serde_json::json;

use crate::common::TestServer;

/// An email account promoted to admin, and a console client signed in as it.
pub(crate) async fn signed_in_admin(server: &TestServer, email: &str) -> (ConsoleClient, String) {
    let session = server
        .client
        .authenticate_email(email, "correct horse battery", true, None)
        .await
        .expect("email account");
    let id = session.user_id.to_string();
    let (ok, out, err) = server.cli(&["user", "promote", &id]).await;
    assert!(ok, "promote: {out}{err}");
    let console = console_client(server);
    let page = console
        .sign_in(email, "correct horse battery")
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/"));
    (console, id)
}

fn console_client(server: &TestServer) -> ConsoleClient {
    let base = server
        .local
        .console
        .clone()
        .expect("the server printed its console address");
    ConsoleClient::new(&base, Trust::Pem(&server.local.cert_pem)).expect("console client")
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_sign_in_and_every_page_needs_a_session() {
    let server = TestServer::start().await;
    let anonymous = console_client(&server);
    for path in [
        "/",
        "/players",
        "/moderation",
        "/backups",
        "/audit",
        "/api/series",
    ] {
        let page = anonymous.get(path).await.unwrap();
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location.as_deref(), Some("/login"), "{path}");
    }
    let login = anonymous.get("/login").await.unwrap();
    assert_eq!(login.status, 200);
    assert!(login.body.contains("name=\"password\""));

    // A player who is not an admin gets no session.
    server
        .client
        .authenticate_email("player@example.com", "correct horse battery", true, None)
        .await
        .unwrap();
    let refused = anonymous
        .sign_in("player@example.com", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("not an administrator"),
        "{}",
        refused.body
    );
    assert_eq!(anonymous.get("/").await.unwrap().status, 303);

    let (admin, _) = signed_in_admin(&server, "ops@example.com").await;
    let wrong = console_client(&server)
        .sign_in("ops@example.com", "wrong password!!")
        .await
        .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong email or password"));

    let overview = admin.get("/").await.unwrap();
    assert_eq!(overview.status, 200);
    assert!(
        overview.body.contains("Players online"),
        "{}",
        overview.body
    );
    let series = admin.get("/api/series").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&series.body).unwrap();
    assert!(v["samples"].is_array());

    // Signing out revokes the session: the old cookie no longer opens a page.
    let csrf = overview.csrf().unwrap();
    let out = admin.post("/logout", &[("csrf", &csrf)]).await.unwrap();
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert_eq!(admin.get("/").await.unwrap().status, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_need_the_csrf_token_and_the_same_origin() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let (admin, _) = signed_in_admin(&server, "csrf@example.com").await;
    let alice = server.new_player().await;
    let target = format!("/players/{}/grant?game={game}", alice.user_id());
    let grant = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("game", "x"),
            ("currency", "coins"),
            ("amount", "50"),
            ("reason", "test"),
            ("key", "k1"),
        ]
    };
    let no_token = admin.post(&target, &grant("")).await.unwrap();
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("CSRF"));
    let page = admin.get("/").await.unwrap();
    let csrf: &'static str = Box::leak(page.csrf().unwrap().into_boxed_str());
    let foreign = admin
        .post_from(&target, &grant(csrf), Some("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(foreign.status, 403);
    let wallet = server
        .server_rpc(
            "wallet_get",
            json!({"game_id": game, "user_id": alice.user_id()}),
        )
        .await
        .unwrap();
    assert_eq!(
        wallet["wallet"]["coins"].as_i64().unwrap_or(0),
        0,
        "nothing moved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_ban_kicks_a_live_player_and_shows_in_the_lists() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let (admin, admin_id) = signed_in_admin(&server, "bans@example.com").await;
    let alice = server.player("device-console-ban-01").await;
    let conn = server.quic(&alice, &game).await;

    // Found by device id, straight to the player's page.
    let found = admin
        .get(&format!("/players?game={game}&q=device-console-ban-01"))
        .await
        .unwrap();
    assert_eq!(found.status, 303);
    let page_path = found.location.unwrap();
    assert!(
        page_path.contains(&alice.user_id().to_string()),
        "{page_path}"
    );
    let page = admin.get(&page_path).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Not banned."));
    let csrf = page.csrf().unwrap();
    let done = admin
        .post(
            &format!("/players/{}/ban?game={game}", alice.user_id()),
            &[
                ("csrf", &csrf),
                ("duration", "24h"),
                ("reason", "speedhack"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.unwrap().contains("ok="));

    let (code, reason) = conn.closed(Duration::from_secs(5)).await.unwrap();
    assert_eq!(code, Some(Code::Banned.as_u16()));
    assert!(reason.contains("speedhack"), "{reason}");

    let moderation = admin
        .get(&format!("/moderation?game={game}"))
        .await
        .unwrap();
    assert!(moderation.body.contains("speedhack"), "{}", moderation.body);
    let audit = admin.get("/audit?action=ban").await.unwrap();
    assert!(
        audit.body.contains(&format!("admin:{admin_id}")),
        "{}",
        audit.body
    );
    assert!(audit.body.contains(&alice.user_id().to_string()));

    // Unban from the moderation page's form.
    let csrf = moderation.csrf().unwrap();
    admin
        .post(
            &format!("/players/{}/unban", alice.user_id()),
            &[("csrf", &csrf)],
        )
        .await
        .unwrap();
    let again = server
        .client
        .authenticate_device("device-console-ban-01", false, None, &BTreeMap::new())
        .await;
    assert!(again.is_ok(), "unbanned players sign in again");
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_land_in_the_ledger_once_and_in_the_audit_log() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let (admin, admin_id) = signed_in_admin(&server, "grants@example.com").await;
    let alice = server.new_player().await;
    let path = format!("/players/{}?game={game}", alice.user_id());
    let page = admin.get(&path).await.unwrap();
    let csrf = page.csrf().unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("game", game.as_str()),
        ("currency", "gems"),
        ("amount", "75"),
        ("reason", "refund for ticket 4411"),
        ("key", "console-test-key-1"),
    ];
    let target = format!("/players/{}/grant?game={game}", alice.user_id());
    for _ in 0..2 {
        // A double submit of the same form pays once.
        let r = admin.post(&target, &form).await.unwrap();
        assert!(r.location.unwrap().contains("ok="));
    }
    let bad = admin
        .post(
            &target,
            &[
                ("csrf", &csrf),
                ("currency", "gems"),
                ("amount", "lots"),
                ("reason", "x"),
                ("key", "k2"),
            ],
        )
        .await
        .unwrap();
    assert!(bad.location.unwrap().contains("err=amount"));
    let ledger = alice
        .rpc("wallet_ledger_list", json!({"game_id": game}))
        .await
        .unwrap();
    let entries = ledger["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{ledger}");
    assert_eq!(entries[0]["reason"], "refund for ticket 4411");
    assert_eq!(entries[0]["changeset"]["gems"], 75);

    let item = admin
        .post(
            &format!("/players/{}/grant-item?game={game}", alice.user_id()),
            &[
                ("csrf", &csrf),
                ("item", "sword"),
                ("quantity", "2"),
                ("reason", "event prize"),
                ("key", "k3"),
            ],
        )
        .await
        .unwrap();
    assert!(item.location.unwrap().contains("ok="));
    let inv = alice
        .rpc("inventory_list", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(inv["items"][0]["id"], "sword");
    assert_eq!(inv["items"][0]["quantity"], 2);

    let page = admin.get(&path).await.unwrap();
    assert!(
        page.body.contains("refund for ticket 4411"),
        "the ledger shows on the page"
    );
    let audit = server.cli_json(&["audit"]).await;
    let mine: Vec<_> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == format!("admin:{admin_id}"))
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine, ["inventory_grant", "wallet_update"], "{audit}");
    let _ = server.admin().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_are_taken_listed_and_verified_from_the_console() {
    let server = TestServer::start().await;
    let (admin, _) = signed_in_admin(&server, "backups@example.com").await;
    let page = admin.get("/backups").await.unwrap();
    let csrf = page.csrf().unwrap();
    let taken = admin
        .post("/backups/create", &[("csrf", &csrf)])
        .await
        .unwrap();
    assert!(
        taken.location.as_deref().unwrap_or("").contains("ok="),
        "{taken:?}"
    );
    let listed = admin.get("/backups").await.unwrap();
    let at = listed
        .body
        .find("outpost-")
        .expect("a backup file is listed");
    let file: String = listed.body[at..]
        .chars()
        .take_while(|c| *c != '<' && *c != '"')
        .collect();
    let verified = admin
        .post("/backups/verify", &[("csrf", &csrf), ("file", &file)])
        .await
        .unwrap();
    let to = verified.location.unwrap();
    assert!(to.contains("ok=") && to.contains("good"), "{to}");
    let sneaky = admin
        .post(
            "/backups/verify",
            &[("csrf", &csrf), ("file", "../secrets.toml")],
        )
        .await
        .unwrap();
    assert!(sneaky.location.unwrap().contains("err=file"));
}

#[tokio::test(flavor = "multi_thread")]
async fn todays_daily_claim_can_be_taken_back() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let tycoon = server.admin().await;
    tycoon
        .rpc(
            "daily_rewards_set_config",
            json!({"game_id": game, "days": (1..=7).map(|d| json!({"currencies": {"coins": d}})).collect::<Vec<_>>()}),
        )
        .await
        .unwrap();
    let (admin, _) = signed_in_admin(&server, "daily@example.com").await;
    let alice = server.new_player().await;
    alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap();
    let page = admin
        .get(&format!("/players/{}?game={game}", alice.user_id()))
        .await
        .unwrap();
    assert!(page.body.contains("Take back today"), "{}", page.body);
    let csrf = page.csrf().unwrap();
    let r = admin
        .post(
            &format!("/players/{}/reset-daily?game={game}", alice.user_id()),
            &[("csrf", &csrf)],
        )
        .await
        .unwrap();
    assert!(r.location.unwrap().contains("ok="));
    let again = alice
        .rpc("daily_rewards_claim", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(again["day"], 1, "the same day's reward again: {again}");
    // Nothing to take back for a player who has not claimed.
    let bob = server.new_player().await;
    let err = tycoon
        .rpc(
            "daily_rewards_reset",
            json!({"game_id": game, "user_id": bob.user_id()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("user_id"), "{}", err.message);
}
