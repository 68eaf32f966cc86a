//! The RPC gateway: body shapes, callers, errors, limits; and the first RPCs.

use outpost::client::Credentials;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_speaks_string_object_unwrap_and_get() {
    let server = TestServer::start().await;
    let p = server.player("device-alice-0001").await;
    let t = Credentials::Bearer(&p.session.token);
    let c = &server.client;

    // A JSON-encoded string (what Nakama SDKs send) → {"id", "payload": "<JSON text>"}.
    let r = c
        .request(
            Method::POST,
            "/v2/rpc/health_check",
            t,
            Some(br#""{}""#.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], "health_check");
    let inner: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(inner["status"], "healthy");

    // A JSON object → the object.
    let r = c
        .request(
            Method::POST,
            "/v2/rpc/HEALTH_CHECK",
            t,
            Some(b"{}".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "ids are case-insensitive");
    assert_eq!(r.body["status"], "healthy");
    assert_eq!(r.body["success"], true);

    // ?unwrap → raw in, raw out.
    let r = c
        .request(
            Method::POST,
            "/v2/rpc/health_check?unwrap",
            t,
            Some(b"{}".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.body["status"], "healthy");

    // GET with ?payload= (and a trailing & tolerated).
    let r = c
        .request(Method::GET, "/v2/rpc/health_check?payload=%7B%7D&", t, None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body["payload"].as_str().unwrap().contains("healthy"));
    let r = c
        .request(
            Method::GET,
            "/v2/rpc/health_check?payload=%7B%7D&unwrap",
            t,
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.body["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_callers_use_the_http_key() {
    let server = TestServer::start().await;
    let reply = server.server_rpc("game_list", json!({})).await.unwrap();
    let games = reply["games"].as_array().unwrap();
    assert_eq!(games.len(), 2);
    assert!(games
        .iter()
        .any(|g| g["name"] == "arena" && g["game_id"] == server.game("arena")));
    let err = server
        .client
        .rpc_as_server("wrong-key", "game_list", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    let detailed = server
        .server_rpc("detailed_health_check", json!({}))
        .await
        .unwrap();
    assert_eq!(detailed["status"], "healthy");
    assert_eq!(detailed["games"], 2);
    assert!(detailed["storage"]["db_size_bytes"].as_u64().unwrap() > 0);
    // No credentials at all.
    let r = server
        .client
        .request(
            Method::POST,
            "/v2/rpc/health_check",
            Credentials::None,
            Some(b"{}".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["code"], 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_errors_that_name_the_problem() {
    let server = TestServer::start().await;
    let p = server.player("device-alice-0001").await;
    let t = Credentials::Bearer(&p.session.token);
    let c = &server.client;

    let r = c
        .request(
            Method::POST,
            "/v2/rpc/health_check",
            t,
            Some(b"{not json".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["code"], 3);
    assert!(
        r.body["error"].as_str().unwrap().contains("not valid JSON"),
        "{}",
        r.body
    );
    assert_eq!(r.body["error"], r.body["message"]);

    let r = c
        .request(
            Method::POST,
            "/v2/rpc/health_check",
            t,
            Some(b"[1,2]".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);

    let r = c
        .request(Method::POST, "/v2/rpc/no_such_rpc", t, Some(b"{}".to_vec()))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    assert!(r.body["message"].as_str().unwrap().contains("no_such_rpc"));

    // A field of the wrong type is named.
    let err = p
        .rpc(
            "profile_update",
            json!({"game_id": server.game("arena"), "display_name": 42}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("display_name"), "{}", err.message);
    // A missing field is named.
    let err = p.rpc("profile_get", json!({})).await.unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("game_id"), "{}", err.message);
    // An unknown game.
    let err = p
        .rpc(
            "profile_get",
            json!({"game_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let err = p
        .rpc("profile_get", json!({"game_id": "arena"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("not a UUID"), "{}", err.message);

    // Oversized body → 413, nothing read.
    let big = format!("{{\"display_name\": \"{}\"}}", "x".repeat(300 * 1024));
    let r = c
        .request(
            Method::POST,
            "/v2/rpc/profile_update",
            t,
            Some(big.into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.body["success"], false);

    // Unknown route.
    let r = c
        .request(Method::GET, "/v2/nothing", t, None)
        .await
        .unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_quota_is_429_with_retry_after() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "5"),
        ],
    )
    .await;
    let p = server.player("device-alice-0001").await;
    for _ in 0..5 {
        p.rpc("health_check", json!({})).await.unwrap();
    }
    let err = p.rpc("health_check", json!({})).await.unwrap_err();
    assert_eq!(err.status(), 429);
    assert_eq!(err.code, Some(8));
    assert!(err.retry_after.unwrap() >= 1);
    assert!(err.body["retry_after"].as_u64().unwrap() >= 1);
    // Another player has their own quota.
    let q = server.player("device-bob-00001").await;
    q.rpc("health_check", json!({})).await.unwrap();
    // Rejections are counted.
    let metrics = server.client.metrics().await.unwrap();
    assert!(
        metrics.contains("outpost_rate_limited_total{class=\"read\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_is_limited_per_ip() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_AUTH_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "3"),
        ],
    )
    .await;
    for i in 0..3 {
        server.player(&format!("device-burst-{i:04}")).await;
    }
    let err = server
        .client
        .authenticate_device("device-burst-9999", true, None, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 429);
    assert!(err.retry_after.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_are_isolated_by_game_and_by_player() {
    let server = TestServer::start().await;
    let (arena, other) = (server.game("arena"), server.game("other"));
    let alice = server.player("device-alice-0001").await;
    let bob = server.player("device-bob-00001").await;
    alice
        .rpc(
            "profile_update",
            json!({"game_id": arena, "display_name": "Alice of Arena"}),
        )
        .await
        .unwrap();
    let in_other = alice
        .rpc("profile_get", json!({"game_id": other}))
        .await
        .unwrap();
    assert_eq!(
        in_other["profile"]["display_name"], "",
        "another game sees nothing"
    );
    let bobs = bob
        .rpc("profile_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(
        bobs["profile"]["display_name"], "",
        "another player sees nothing of alice's"
    );
    assert_eq!(bobs["profile"]["user_id"], bob.user_id().to_string());
    // A player cannot read or write another player's profile.
    let err = bob
        .rpc(
            "profile_get",
            json!({"game_id": arena, "user_id": alice.user_id().to_string()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let err = bob
        .rpc(
            "profile_update",
            json!({"game_id": arena, "user_id": alice.user_id().to_string(), "display_name": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let mine = alice
        .rpc("profile_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(mine["profile"]["display_name"], "Alice of Arena");
}

#[tokio::test(flavor = "multi_thread")]
async fn progression_is_server_authoritative() {
    let server = TestServer::start().await;
    let arena = server.game("arena");
    let alice = server.player("device-alice-0001").await;
    let err = alice
        .rpc("profile_update", json!({"game_id": arena, "add_xp": 1000}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(err.message.contains("add_xp"), "{}", err.message);
    let p = alice
        .rpc("profile_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["xp"], 0, "nothing changed");

    let uid = alice.user_id().to_string();
    let r = server
        .server_rpc(
            "profile_update",
            json!({"game_id": arena, "user_id": uid, "add_xp": 350, "stats_increment": {"kills": 3},
                   "add_badges": ["first_blood"], "add_titles": ["Rookie"]}),
        )
        .await
        .unwrap();
    assert_eq!(r["profile"]["xp"], 350);
    assert_eq!(r["profile"]["level"], 3);
    assert_eq!(r["profile"]["stats"]["kills"], 3);
    assert_eq!(r["profile"]["badges"], json!(["first_blood"]));
    let err = server
        .server_rpc("profile_update", json!({"game_id": arena, "add_xp": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "a server must name the user");
    assert!(err.message.contains("user_id"));
    let err = server
        .server_rpc(
            "profile_update",
            json!({"game_id": arena, "user_id": uid, "add_badges": [""]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    let mine = alice
        .rpc("profile_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(mine["profile"]["level"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_and_metrics_need_no_session() {
    let server = TestServer::start().await;
    let h = server.client.healthcheck().await.unwrap();
    assert_eq!(h["status"], "ok");
    let p = server.player("device-alice-0001").await;
    p.rpc("health_check", json!({})).await.unwrap();
    let m = server.client.metrics().await.unwrap();
    assert!(
        m.contains("outpost_rpc_calls_total{rpc=\"health_check\",status=\"ok\"} 1"),
        "{m}"
    );
    assert!(m.contains("outpost_rpc_duration_seconds_count{rpc=\"health_check\"} 1"));
    assert!(m.contains("outpost_http_requests_total{route=\"authenticate\",status=\"200\"} 1"));
    assert!(m.contains("outpost_db_size_bytes "));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_naming_a_user_with_no_account_changes_nothing() {
    let server = TestServer::start().await;
    let arena = server.game("arena");
    let nobody = uuid::Uuid::new_v4().to_string();
    let err = server
        .server_rpc(
            "profile_update",
            json!({"game_id": arena, "user_id": nobody, "add_xp": 10}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert!(err.message.contains("user_id"), "{}", err.message);
    let err = server
        .server_rpc(
            "wallet_update",
            json!({"game_id": arena, "user_id": nobody, "changeset": {"coins": 10}, "reason": "typo"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let p = server.new_player().await;
    let err = server
        .server_rpc(
            "batch_wallet_operations",
            json!({"game_id": arena, "operations": [
                {"user_id": p.user_id().to_string(), "changeset": {"coins": 5}, "reason": "ok"},
                {"user_id": nobody, "changeset": {"coins": 5}, "reason": "typo"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert!(err.message.contains("operations[1]"), "{}", err.message);
    let w = p
        .rpc("wallet_get", json!({"game_id": arena}))
        .await
        .unwrap();
    assert_eq!(w["wallet"], json!({}), "nothing applied: {w}");
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_sign_ins_are_limited_per_client() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_AUTH_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "2"),
            ("OUTPOST_SERVER_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let tls = outpost::client::tls_client_config(
        outpost::client::Trust::Pem(&server.local.cert_pem),
        &[b"http/1.1"],
    )
    .unwrap();
    let raw = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let sign_in = |client_ip: &'static str, n: u32| {
        let raw = raw.clone();
        let url = format!("{}/v2/account/authenticate/device", server.local.https);
        let key = server.local.server_key.clone();
        async move {
            raw.post(url)
                .basic_auth(key, Some(""))
                .header("x-forwarded-for", client_ip)
                .body(format!("{{\"id\": \"device-proxy-{n:06}\"}}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(sign_in("203.0.113.1", 1).await, 200);
    assert_eq!(sign_in("203.0.113.1", 2).await, 200);
    assert_eq!(
        sign_in("203.0.113.1", 3).await,
        429,
        "this client is over its quota"
    );
    assert_eq!(
        sign_in("203.0.113.2", 4).await,
        200,
        "another client behind the same proxy is not"
    );
}
