//! Connecting over QUIC: authentication, version negotiation, clock sync, and what happens
//! to peers that send bad frames.

use std::time::Duration;

use outpost::auth::{token, Claims};
use outpost::client::quic::{ClientMsg, Code, QuicClient, QuicError};

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(10);

fn hello(token: &str, game: &str, version: u32) -> ClientMsg {
    ClientMsg::Hello {
        token: token.into(),
        game_id: game.into(),
        client_version: version,
    }
}

async fn refused(server: &TestServer, msg: ClientMsg) -> QuicError {
    match QuicClient::connect_with(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &msg,
    )
    .await
    {
        Ok(_) => panic!("connection was accepted"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_player_connects_authenticates_and_syncs_the_clock() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut c = server.quic(&alice, &game).await;
    assert_eq!(c.welcome.user_id, alice.user_id().to_string());
    assert!(!c.welcome.session_id.is_empty());
    assert_eq!(c.welcome.max_frame_bytes, 65536);
    let (rtt, server_time) = c.ping().await.unwrap();
    assert!(rtt < Duration::from_secs(5));
    let now = outpost::time::now_ms();
    assert!((server_time - now).abs() < 5000, "{server_time} vs {now}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_expired_or_revoked_token_is_refused() {
    let server = TestServer::start().await;
    let game = server.game("arena");

    let e = refused(&server, hello("not-a-token", &game, 1)).await;
    assert_eq!(e.code(), Some(Code::Unauthenticated.as_u16()), "{e}");

    // A token signed with the server's own secret that expired a minute ago.
    let alice = server.new_player().await;
    let secrets: toml::Table =
        std::fs::read_to_string(server.local.data_dir().join("secrets.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let secret = secrets["session_secret"].as_str().unwrap();
    let now = outpost::time::now();
    let expired = token::sign(
        &Claims {
            tid: uuid::Uuid::new_v4().to_string(),
            uid: alice.user_id().to_string(),
            usn: alice.session.username.clone(),
            vrs: Default::default(),
            exp: now - 60,
            iat: now - 3600,
        },
        secret.as_bytes(),
    );
    let e = refused(&server, hello(&expired, &game, 1)).await;
    assert_eq!(e.code(), Some(Code::Unauthenticated.as_u16()), "{e}");
    assert!(e.to_string().contains("expired"), "{e}");

    // A logged-out session.
    let bob = server.new_player().await;
    bob.client.logout(&bob.session).await.unwrap();
    let e = refused(&server, hello(&bob.session.token, &game, 1)).await;
    assert_eq!(e.code(), Some(Code::Unauthenticated.as_u16()), "{e}");

    // An unknown game.
    let carol = server.new_player().await;
    let e = refused(
        &server,
        hello(&carol.session.token, &uuid::Uuid::new_v4().to_string(), 1),
    )
    .await;
    assert_eq!(e.code(), Some(Code::NotFound.as_u16()), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_client_version_gets_a_clear_error() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let e = refused(&server, hello(&alice.session.token, &game, 7)).await;
    assert_eq!(e.code(), Some(Code::UnsupportedVersion.as_u16()), "{e}");
    assert!(e.to_string().contains("speaks 1"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_malformed_and_unknown_frames_close_with_their_codes() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;

    // Oversized: the length alone condemns it.
    let c = &mut server.quic(&alice, &game).await;
    let mut frame = (65_537u32).to_be_bytes().to_vec();
    frame.extend(vec![0u8; 1024]);
    let _ = c.send_raw(&frame).await;
    let (code, reason) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::FrameTooLarge.as_u16()), "{reason}");
    assert!(reason.contains("65537"), "{reason}");

    // Not MessagePack of any message.
    let c = &mut server.quic(&alice, &game).await;
    let _ = c.send_raw(&[0, 0, 0, 3, 0xc1, 0xff, 0x00]).await;
    let (code, _) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::BadFrame.as_u16()));

    // A well-formed map naming no message.
    let c = &mut server.quic(&alice, &game).await;
    let body = rmp_serde::to_vec_named(&serde_json::json!({"t": "teleport", "x": 1})).unwrap();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    let _ = c.send_raw(&frame).await;
    let (code, _) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::UnknownMessage.as_u16()));

    // A second hello is out of order.
    let c = &mut server.quic(&alice, &game).await;
    let _ = c.send(&hello(&alice.session.token, &game, 1)).await;
    let (code, _) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::Protocol.as_u16()));

    // The server is still fine.
    let mut c = server.quic(&alice, &game).await;
    c.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_frame_must_be_hello() {
    let server = TestServer::start().await;
    let e = refused(
        &server,
        ClientMsg::Ping {
            id: 1,
            client_time: 0,
        },
    )
    .await;
    assert_eq!(e.code(), Some(Code::Protocol.as_u16()), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_cap_are_closed_with_server_full() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_REALTIME_MAX_CONNECTIONS", "1")]).await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let bob = server.new_player().await;
    let mut a = server.quic(&alice, &game).await;
    let e = match QuicClient::connect(
        &server.quic_endpoint(),
        server.quic_addr(),
        "localhost",
        &bob.session.token,
        &game,
    )
    .await
    {
        Ok(_) => panic!("a second connection was accepted"),
        Err(e) => e,
    };
    assert_eq!(e.code(), Some(Code::ServerFull.as_u16()), "{e}");
    a.ping().await.unwrap();
    // When the first leaves, there is room again.
    a.close();
    drop(a);
    let mut last = None;
    for _ in 0..50 {
        match QuicClient::connect(
            &server.quic_endpoint(),
            server.quic_addr(),
            "localhost",
            &bob.session.token,
            &game,
        )
        .await
        {
            Ok(c) => {
                assert_eq!(c.welcome.user_id, bob.user_id().to_string());
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.is_none(), "{last:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_client_is_limited_then_closed() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_REALTIME_MESSAGES_PER_SEC", "1"),
            ("OUTPOST_REALTIME_MESSAGES_BURST", "2"),
        ],
    )
    .await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let mut c = server.quic(&alice, &game).await;
    for id in 0..3 {
        let _ = c.send(&ClientMsg::Ping { id, client_time: 0 }).await;
    }
    // Over the limit: dropped with an error frame...
    let e = c
        .wait_for(WAIT, |m| {
            matches!(m, outpost::client::quic::ServerMsg::Error { .. })
        })
        .await
        .unwrap();
    assert!(
        matches!(e, outpost::client::quic::ServerMsg::Error { code: 10, .. }),
        "{e:?}"
    );
    // ...and 50 in a row close the connection.
    for id in 0..60 {
        let _ = c.send(&ClientMsg::Ping { id, client_time: 0 }).await;
    }
    let (code, reason) = c.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::RateLimited.as_u16()), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn quic_serves_the_https_certificate_and_its_sighup_reload() {
    use outpost::client::Trust;
    let server = TestServer::start().await;
    let game = server.game("arena");
    let alice = server.new_player().await;
    let old_pem = server.local.cert_pem.clone();
    // The certificate HTTPS presents is the one QUIC presents.
    server.quic(&alice, &game).await.ping().await.unwrap();

    let certs = server.local.dir.join("certs");
    outpost::tls::generate_self_signed(&certs, &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let new_pem = std::fs::read(certs.join("cert.pem")).unwrap();
    assert_ne!(new_pem, old_pem);
    unsafe {
        libc::kill(server.local.pid().unwrap() as i32, libc::SIGHUP);
    }
    let connect = |pem: Vec<u8>| {
        let token = alice.session.token.clone();
        let game = game.clone();
        let addr = server.quic_addr();
        async move {
            let ep = outpost::client::quic::endpoint(Trust::Pem(&pem)).unwrap();
            QuicClient::connect(&ep, addr, "localhost", &token, &game).await
        }
    };
    let mut reloaded = false;
    for _ in 0..50 {
        if connect(new_pem.clone()).await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reloaded, "QUIC never presented the renewed certificate");
    let e = connect(old_pem)
        .await
        .err()
        .expect("the old certificate is gone");
    assert!(matches!(e, QuicError::Connect(_)), "{e}");
}
