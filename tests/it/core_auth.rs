//! Authentication, sessions and accounts through the Nakama-compatible REST API.

use std::collections::BTreeMap;

use outpost::client::Credentials;
use reqwest::Method;
use serde_json::json;

use crate::common::TestServer;

fn no_vars() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_authenticates_and_calls_an_rpc() {
    let server = TestServer::start().await;
    let s = server
        .client
        .authenticate_device("device-alice-0001", true, Some("alice"), &no_vars())
        .await
        .unwrap();
    assert!(s.created);
    assert_eq!(s.username, "alice");
    let payload = s.token.split('.').nth(1).unwrap();
    assert!(!payload.contains('-') && !payload.contains('_'));
    let again = server
        .client
        .authenticate_device("device-alice-0001", true, None, &no_vars())
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.user_id, s.user_id);
    let reply = server
        .client
        .rpc(&s, "health_check", json!({}))
        .await
        .unwrap();
    assert_eq!(reply["success"], true);
    assert_eq!(reply["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread")]
async fn email_and_custom_ids_authenticate_and_passwords_are_checked() {
    let server = TestServer::start().await;
    let c = &server.client;
    let s = c
        .authenticate_email("ada@example.com", "correct horse", true, Some("ada"))
        .await
        .unwrap();
    assert!(s.created);
    let again = c
        .authenticate_email("ADA@example.com", "correct horse", false, None)
        .await
        .unwrap();
    assert_eq!(again.user_id, s.user_id, "emails are case-insensitive");
    let err = c
        .authenticate_email("ada@example.com", "wrong horse!", false, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    let err = c
        .authenticate_email("ada@example.com", "short", false, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("Password"), "{}", err.message);
    let err = c
        .authenticate_email("not-an-email", "correct horse", true, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);

    let custom = c
        .authenticate_custom("steam-123456", true, None)
        .await
        .unwrap();
    assert!(custom.created);
    assert_eq!(custom.username.len(), 10, "a generated username");
    let err = c.authenticate_custom("abc", true, None).await.unwrap_err();
    assert_eq!(err.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_accounts_bad_ids_and_taken_usernames_are_refused() {
    let server = TestServer::start().await;
    let c = &server.client;
    let err = c
        .authenticate_device("device-nobody-0001", false, None, &no_vars())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert_eq!(err.code, Some(5));
    let err = c
        .authenticate_device("short", true, None, &no_vars())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("10-128"), "{}", err.message);
    c.authenticate_device("device-first-0001", true, Some("taken"), &no_vars())
        .await
        .unwrap();
    let err = c
        .authenticate_device("device-second-001", true, Some("TAKEN"), &no_vars())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    // Nothing was created for the refused device.
    let err = c
        .authenticate_device("device-second-001", false, None, &no_vars())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_needs_the_server_key() {
    let server = TestServer::start().await;
    let wrong = outpost::client::Client::new(
        &server.local.https,
        "not-the-key",
        outpost::client::Trust::Pem(&server.local.cert_pem),
        false,
    )
    .unwrap();
    let err = wrong
        .authenticate_device("device-alice-0001", true, None, &no_vars())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    let r = server
        .client
        .request(
            Method::POST,
            "/v2/account/authenticate/device",
            Credentials::None,
            Some(br#"{"id":"device-alice-0001"}"#.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_and_expired_tokens_are_refused() {
    let server = TestServer::start().await;
    let s = server.player("device-alice-0001").await.session;
    // Tampered: change one character of the signature.
    let mut bad = s.token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let r = server
        .client
        .request(Method::GET, "/v2/account", Credentials::Bearer(&bad), None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    // Expired: signed with the server's real secret, but in the past.
    let text = std::fs::read_to_string(server.local.data_dir().join("secrets.toml")).unwrap();
    let secrets: outpost::auth::Secrets = toml::from_str(&text).unwrap();
    let claims = outpost::auth::Claims {
        tid: uuid::Uuid::new_v4().to_string(),
        uid: s.user_id.to_string(),
        usn: s.username.clone(),
        vrs: Default::default(),
        exp: outpost::time::now() - 10,
        iat: outpost::time::now() - 7210,
    };
    let expired = outpost::auth::token::sign(&claims, secrets.session_secret.as_bytes());
    let r = server
        .client
        .request(
            Method::GET,
            "/v2/account",
            Credentials::Bearer(&expired),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert!(
        r.body["message"].as_str().unwrap().contains("expired"),
        "{}",
        r.body
    );
    // The same claims, unexpired, work: the refusal above was the expiry alone.
    let fresh = outpost::auth::token::sign(
        &outpost::auth::Claims {
            exp: outpost::time::now() + 60,
            ..claims
        },
        secrets.session_secret.as_bytes(),
    );
    let r = server
        .client
        .request(
            Method::GET,
            "/v2/account",
            Credentials::Bearer(&fresh),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_gives_a_new_session_and_spends_the_old_refresh_token() {
    let server = TestServer::start().await;
    let mut vars = BTreeMap::new();
    vars.insert("game_id".to_string(), server.game("arena"));
    let s = server
        .client
        .authenticate_device("device-alice-0001", true, None, &vars)
        .await
        .unwrap();
    let fresh = server.client.refresh(&s.refresh_token).await.unwrap();
    assert_eq!(fresh.user_id, s.user_id);
    assert_ne!(fresh.token, s.token);
    server.client.account(&fresh).await.unwrap();
    // The session's game travels through the refresh: a profile call needs no game_id.
    let p = server
        .client
        .rpc(&fresh, "profile_get", json!({}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["game_id"], server.game("arena"));
    let err = server.client.refresh(&s.refresh_token).await.unwrap_err();
    assert_eq!(err.status(), 401, "a refresh token is single-use");
    let err = server.client.refresh("garbage").await.unwrap_err();
    assert_eq!(err.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_both_tokens_at_once() {
    let server = TestServer::start().await;
    let s = server.player("device-alice-0001").await.session;
    server.client.account(&s).await.unwrap();
    server.client.logout(&s).await.unwrap();
    let err = server.client.account(&s).await.unwrap_err();
    assert_eq!(err.status(), 401);
    assert!(err.message.contains("revoked"), "{}", err.message);
    let err = server.client.refresh(&s.refresh_token).await.unwrap_err();
    assert_eq!(err.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_update_in_nakama_shape_and_usernames_stay_unique() {
    let server = TestServer::start().await;
    let alice = server.player("device-alice-0001").await;
    let bob = server.player("device-bob-00001").await;
    server
        .client
        .update_account(
            &alice.session,
            json!({"username": "alice", "display_name": "Alice", "avatar_url": "https://x/a.png",
                   "lang_tag": "fr", "location": "Lyon", "timezone": "Europe/Paris",
                   "metadata": "{\"favourite\":\"rail\"}"}),
        )
        .await
        .unwrap();
    let a = server.client.account(&alice.session).await.unwrap();
    assert_eq!(a["user"]["username"], "alice");
    assert_eq!(a["user"]["display_name"], "Alice");
    assert_eq!(a["user"]["lang_tag"], "fr");
    assert_eq!(a["user"]["metadata"], "{\"favourite\":\"rail\"}");
    assert_eq!(a["devices"][0]["id"], "device-alice-0001");
    assert!(a["user"]["create_time"].as_str().unwrap().ends_with('Z'));
    let err = server
        .client
        .update_account(&bob.session, json!({"username": "Alice"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    let err = server
        .client
        .update_account(&bob.session, json!({"metadata": "[1,2]"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("metadata"), "{}", err.message);
    let err = server
        .client
        .update_account(&bob.session, json!({"display_name": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("display_name"), "{}", err.message);
    // The old name is free again after a rename.
    server
        .client
        .update_account(&alice.session, json!({"username": "alice2"}))
        .await
        .unwrap();
    server
        .client
        .update_account(&bob.session, json!({"username": "alice"}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_and_profiles_survive_a_restart() {
    let mut server = TestServer::start().await;
    let arena = server.game("arena");
    let alice = server.player("device-alice-0001").await;
    alice
        .rpc(
            "profile_update",
            json!({"game_id": arena, "display_name": "Alice"}),
        )
        .await
        .unwrap();
    server.restart().await;
    let again = server.player("device-alice-0001").await;
    assert!(!again.session.created);
    assert_eq!(again.user_id(), alice.user_id());
    // The old token still works: keys are kept in the data dir.
    let p = server
        .client
        .rpc(&alice.session, "profile_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["display_name"], "Alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_with_only_the_bearer_token_also_kills_the_refresh_token() {
    let server = TestServer::start().await;
    let s = server.player("device-alice-0001").await.session;
    let r = server
        .client
        .request(
            Method::POST,
            "/v2/session/logout",
            Credentials::Bearer(&s.token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let err = server.client.refresh(&s.refresh_token).await.unwrap_err();
    assert_eq!(err.status(), 401, "the pair is revoked together");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_refreshes_racing_with_one_token_exactly_one_wins() {
    let server = TestServer::start().await;
    let s = server.player("device-alice-0001").await.session;
    let mut racers = Vec::new();
    for _ in 0..8 {
        let c = server.client.clone();
        let t = s.refresh_token.clone();
        racers.push(tokio::spawn(async move { c.refresh(&t).await }));
    }
    let mut won = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.status(), 401),
        }
    }
    assert_eq!(won, 1);
    // Refreshing also retires the old session token.
    assert_eq!(server.client.account(&s).await.unwrap_err().status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rename_that_only_changes_case_is_allowed() {
    let server = TestServer::start().await;
    let p = server.player("device-emile-001").await;
    server
        .client
        .update_account(&p.session, json!({"username": "Émile"}))
        .await
        .unwrap();
    server
        .client
        .update_account(&p.session, json!({"username": "émile"}))
        .await
        .unwrap();
    let a = server.client.account(&p.session).await.unwrap();
    assert_eq!(a["user"]["username"], "émile");
}
