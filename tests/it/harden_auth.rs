//! Sign-ins under attack and sessions that end: password hashing is bounded (the excess
//! gets 429 and `Retry-After`), wrong passwords are limited per account and per address,
//! new accounts per address, a logout closes the session's live QUIC connections, and
//! operators' commands never mistake a username for someone's email.

use std::time::Duration;

use outpost::client::quic::QuicClient;
use outpost::client::Credentials;
use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_password_sign_ins_is_bounded_and_the_excess_told_to_retry() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_AUTH_MAX_CONCURRENT_HASHES", "1"),
            ("OUTPOST_AUTH_MAX_QUEUED_HASHES", "1"),
        ],
    )
    .await;
    let mut sign_ins = Vec::new();
    for n in 0..12 {
        let client = server.client.clone();
        sign_ins.push(tokio::spawn(async move {
            client
                .authenticate_email(
                    &format!("flood{n}@example.com"),
                    "correct horse battery",
                    true,
                    None,
                )
                .await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for s in sign_ins {
        match s.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.status(), 429, "{e:?}");
                assert!(e.retry_after.is_some_and(|s| s >= 1), "{e:?}");
                refused += 1;
            }
        }
    }
    assert!(ok >= 1, "some sign-ins are served");
    assert!(
        refused >= 1,
        "the excess is refused, not queued without bound"
    );
    // Once the flood is over, sign-ins are served again.
    server
        .client
        .authenticate_email("after@example.com", "correct horse battery", true, None)
        .await
        .expect("served after the flood");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_are_limited_per_account_and_per_address() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_AUTH_FAILED_LOGINS_PER_ACCOUNT", "2"),
            ("OUTPOST_AUTH_FAILED_LOGINS_PER_IP", "3"),
        ],
    )
    .await;
    let c = &server.client;
    for email in ["victim@example.com", "other@example.com"] {
        c.authenticate_email(email, "the right password", true, None)
            .await
            .unwrap();
    }
    for _ in 0..2 {
        let e = c
            .authenticate_email("victim@example.com", "a wrong password", false, None)
            .await
            .unwrap_err();
        assert_eq!(e.status(), 401);
    }
    // The account has used up its failures: even the right password waits.
    let e = c
        .authenticate_email("victim@example.com", "the right password", false, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429, "{e:?}");
    assert!(e.retry_after.is_some_and(|s| s >= 1), "{e:?}");
    // Another account is not locked by it…
    let e = c
        .authenticate_email("other@example.com", "a wrong password", false, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 401);
    // …but this address has now failed three times, whatever the account.
    let e = c
        .authenticate_email("other@example.com", "the right password", false, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429, "{e:?}");
    // Device sign-ins (no password) are not affected.
    server.new_player().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn new_accounts_per_address_are_limited() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_RATE_LIMIT_ACCOUNTS_PER_IP_BURST", "3")],
    )
    .await;
    let c = &server.client;
    for n in 0..3 {
        c.authenticate_device(
            &format!("device-farm-{n:06}"),
            true,
            None,
            &Default::default(),
        )
        .await
        .unwrap();
    }
    let e = c
        .authenticate_device("device-farm-000099", true, None, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429, "{e:?}");
    assert!(e.retry_after.is_some_and(|s| s >= 1), "{e:?}");
    // Signing in to an account that exists is not a creation.
    c.authenticate_device("device-farm-000001", true, None, &Default::default())
        .await
        .expect("an existing account signs in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logout_closes_that_sessions_live_connections_only() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let phone = server.player("device-logout-phone1").await;
    let laptop = server.player("device-logout-phone1").await; // same account, second session
    assert_eq!(phone.user_id(), laptop.user_id());
    let on_phone = server.quic(&phone, &game).await;
    let mut on_laptop = server.quic(&laptop, &game).await;
    // A logout with no body: the Bearer token alone names the session.
    let reply = server
        .client
        .request(
            reqwest::Method::POST,
            "/v2/session/logout",
            Credentials::Bearer(&phone.session.token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (code, reason) = on_phone
        .closed(Duration::from_secs(5))
        .await
        .expect("the logged-out session's connection is closed");
    assert_eq!(code, Some(5), "{reason}");
    // The other session's connection lives on.
    on_laptop
        .ping()
        .await
        .expect("the other session is still connected");
    // The logged-out session cannot come back, by token or by refresh.
    let e = server
        .client
        .refresh(&phone.session.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 401);
    let err = QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &phone.session.token,
        &game,
    )
    .await;
    assert!(err.is_err(), "a revoked token cannot open a connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_username_cannot_pass_for_an_email_and_operators_say_which_they_mean() {
    let mut server = TestServer::start().await;
    let owner = server
        .client
        .authenticate_email("owner@studio.com", "correct horse battery", true, None)
        .await
        .unwrap();
    let player = server.new_player().await;
    // `@` is refused in usernames, at rename and at creation.
    let e = server
        .client
        .update_account(&player.session, json!({"username": "owner@studio.com"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains('@'), "{}", e.message);
    let e = server
        .client
        .authenticate_device(
            "device-at-sign-0001",
            true,
            Some("x@y.z"),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);

    // An operator names the account by email, id or username explicitly.
    let shown = server
        .cli_json(&["user", "promote", "--email", "owner@studio.com"])
        .await;
    assert_eq!(shown["user"]["user_id"], owner.user_id.to_string());
    assert_eq!(shown["user"]["role"], "admin");
    let name = server.client.account(&player.session).await.unwrap()["user"]["username"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = server
        .cli_json(&["user", "show", "--username", &name])
        .await;
    assert_eq!(shown["user"]["user_id"], player.user_id().to_string());
    let (ok, _, err) = server.cli(&["user", "show", "--id", &name]).await;
    assert!(!ok && err.contains("not a user id"), "{err}");
    // A username given as an email finds no one.
    let (ok, _, err) = server
        .cli(&["ban", "--email", &name, "--reason", "test"])
        .await;
    assert!(!ok && err.contains("no user with email"), "{err}");
    let banned = server
        .cli_json(&["ban", "--id", &player.user_id().to_string(), "--for", "1h"])
        .await;
    assert_eq!(banned["ban"]["user_id"], player.user_id().to_string());
    let lifted = server.cli_json(&["unban", "--username", &name]).await;
    assert_eq!(lifted["unbanned"], true);
    // Two ways of naming at once are refused by the command line itself.
    let (ok, _, _) = server
        .cli(&["ban", &name, "--email", "owner@studio.com"])
        .await;
    assert!(!ok);
    // The admin RPC takes the same `by`.
    let admin = server.admin().await;
    let e = admin
        .rpc(
            "moderation_ban",
            json!({"user": name, "by": "email", "duration": "1h"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_longer_than_the_clock_can_hold_is_refused_clearly() {
    let server = TestServer::start().await;
    let player = server.new_player().await;
    let id = player.user_id().to_string();
    for huge in ["9223372036854775807s", "1000000000w"] {
        let (ok, _, err) = server.cli(&["ban", &id, "--for", huge]).await;
        assert!(!ok, "{huge}");
        assert!(err.contains("duration"), "{huge}: {err}");
    }
    // Nothing was banned, and the server is still up.
    server.client.account(&player.session).await.unwrap();
}
