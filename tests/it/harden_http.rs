//! What one HTTPS client may hold of the server: requests are authenticated and
//! rate-limited from their head before the body is read, bodies and idle connections time
//! out, connections and HTTP/2 streams are capped, every route is under a rate-limit class,
//! and wrong keys from one address are refused after a few.

use std::sync::Arc;
use std::time::Duration;

use outpost::client::Trust;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::common::TestServer;

fn https_addr(server: &TestServer) -> String {
    server
        .local
        .https
        .trim_start_matches("https://")
        .to_string()
}

/// A raw TLS connection to the server's API, speaking `alpn`.
async fn tls_with(server: &TestServer, alpn: &[u8]) -> std::io::Result<TlsStream<TcpStream>> {
    tls_to(server, &https_addr(server), alpn).await
}

/// A raw TLS connection to one of the server's listeners (`host:port`), speaking `alpn`.
async fn tls_to(
    server: &TestServer,
    addr: &str,
    alpn: &[u8],
) -> std::io::Result<TlsStream<TcpStream>> {
    let cfg = outpost::client::tls_client_config(Trust::Pem(&server.local.cert_pem), &[alpn])
        .expect("TLS config");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    connector.connect(name, tcp).await
}

async fn tls(server: &TestServer) -> TlsStream<TcpStream> {
    tls_with(server, b"http/1.1").await.expect("TLS connection")
}

/// Reads a response head (status line and headers) within `within`; `None` on timeout.
async fn read_head(s: &mut TlsStream<TcpStream>, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            got.extend_from_slice(&buf[..n]);
            if got.windows(4).any(|w| w == b"\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    read.ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// Whether the server closes the connection within `within`.
async fn closed_within(s: &mut TlsStream<TcpStream>, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_refused_before_the_body_is_read() {
    let server = TestServer::start().await;
    let mut s = tls(&server).await;
    // Headers announce 100 kB; only one byte follows. The answer must not wait for more.
    s.write_all(
        b"POST /v2/rpc/wallet_get?http_key=wrong-key-000 HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    )
    .await
    .unwrap();
    let head = read_head(&mut s, Duration::from_secs(5))
        .await
        .expect("an answer without the body");
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");

    // The same for an unknown RPC with a valid key, and a session route without a token.
    let key = server.local.http_key.clone();
    for (request, status) in [
        (
            format!("POST /v2/rpc/no_such_rpc?http_key={key} HTTP/1.1\r\n"),
            "404",
        ),
        ("PUT /v2/account HTTP/1.1\r\n".to_string(), "401"),
        ("PUT /v2/storage HTTP/1.1\r\n".to_string(), "401"),
    ] {
        let mut s = tls(&server).await;
        let text = format!(
            "{request}Host: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        );
        s.write_all(text.as_bytes()).await.unwrap();
        let head = read_head(&mut s, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{request}: an answer without the body"));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}")),
            "{request}: {head}"
        );
    }

    // A body declared larger than the cap is refused at once.
    let player = server.new_player().await;
    let mut s = tls(&server).await;
    let text = format!(
        "POST /v2/rpc/wallet_get HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Length: 100000000\r\n\r\n{{",
        player.session.token
    );
    s.write_all(text.as_bytes()).await.unwrap();
    let head = read_head(&mut s, Duration::from_secs(5)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_HTTP_BODY_READ_TIMEOUT_SECS", "1")]).await;
    let player = server.new_player().await;
    let mut s = tls(&server).await;
    let text = format!(
        "POST /v2/rpc/profile_get HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{{\"ga",
        player.session.token
    );
    s.write_all(text.as_bytes()).await.unwrap();
    let head = read_head(&mut s, Duration::from_secs(6))
        .await
        .expect("the server gives up on the body");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_connection_is_closed_but_a_busy_one_is_not() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_HTTP_IDLE_TIMEOUT_SECS", "1")]).await;
    // A connection that never sends a request.
    let mut silent = tls(&server).await;
    // A keep-alive connection after one request.
    let mut used = tls(&server).await;
    used.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut used, Duration::from_secs(5)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(closed_within(&mut used, Duration::from_secs(5)).await);
    // A connection kept busy for longer than the idle timeout is not cut.
    let mut busy = tls(&server).await;
    for _ in 0..5 {
        busy.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let head = read_head(&mut busy, Duration::from_secs(5))
            .await
            .expect("still served");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_per_address_cap_are_closed() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_HTTP_MAX_CONNECTIONS_PER_IP", "2")]).await;
    let first = tls(&server).await;
    let _second = tls(&server).await;
    // The third is closed before its TLS handshake completes.
    assert!(
        tls_with(&server, b"http/1.1").await.is_err(),
        "a third connection"
    );
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(s) = tls_with(&server, b"http/1.1").await {
            again = Some(s);
            break;
        }
    }
    let mut again = again.expect("a slot frees when a connection closes");
    again
        .write_all(b"GET /healthcheck HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut again, Duration::from_secs(5)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_streams_per_connection_are_capped() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_HTTP_H2_MAX_CONCURRENT_STREAMS", "7")],
    )
    .await;
    let io = tls_with(&server, b"h2").await.expect("h2 connection");
    let (mut send, mut conn) = h2::client::handshake(io).await.expect("h2 handshake");
    let request = http::Request::get(format!("{}/healthcheck", server.local.https))
        .body(())
        .unwrap();
    send = send.ready().await.unwrap();
    let (response, _) = send.send_request(request, true).unwrap();
    // Drive the connection until the answer is in: the server's SETTINGS came before it.
    let response = tokio::select! {
        r = response => r.unwrap(),
        e = &mut conn => panic!("connection ended: {e:?}"),
    };
    assert_eq!(response.status(), 200);
    assert_eq!(conn.max_concurrent_send_streams(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn account_routes_and_logout_are_rate_limited() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_READ_BURST", "3"),
            ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "1"),
            ("OUTPOST_RATE_LIMIT_WRITE_BURST", "3"),
        ],
    )
    .await;
    let player = server.new_player().await;
    let mut refused = None;
    for _ in 0..6 {
        if let Err(e) = server.client.account(&player.session).await {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("GET /v2/account is limited");
    assert_eq!(e.status(), 429);
    assert!(e.retry_after.is_some_and(|s| s >= 1), "{e:?}");
    let mut refused = None;
    for n in 0..6 {
        if let Err(e) = server
            .client
            .update_account(&player.session, json!({"display_name": format!("n{n}")}))
            .await
        {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("PUT /v2/account is limited");
    assert_eq!(e.status(), 429);
    // Storage REST is limited as the storage RPCs are.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = server
            .client
            .request(
                reqwest::Method::GET,
                "/v2/storage/saves",
                outpost::client::Credentials::Bearer(&player.session.token),
                None,
            )
            .await
            .unwrap();
        statuses.push(reply.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_keys_from_one_address_are_refused_after_a_few() {
    let server =
        TestServer::start_with(&["arena"], &[("OUTPOST_RATE_LIMIT_BAD_KEYS_PER_IP", "3")]).await;
    let game = server.game("arena");
    for _ in 0..3 {
        let e = server
            .client
            .rpc_as_server("wrong-key-0000", "game_list", json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 401);
    }
    // Now even the right key is not heard from this address for a while.
    let e = server
        .server_rpc("game_list", json!({"game_id": game}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429, "{e:?}");
    assert!(e.retry_after.is_some_and(|s| s >= 1), "{e:?}");
    // Wrong server keys at authentication count the same way.
    let wrong = outpost::client::Client::new(
        &server.local.https,
        "wrong-server-key",
        Trust::Pem(&server.local.cert_pem),
        false,
    )
    .unwrap();
    let e = wrong
        .authenticate_device("device-wrongkey-0001", true, None, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), 429);
}

/// The console's listener caps bodies as the API does, declared or not: a chunked sign-in
/// form (no length given) larger than the console's 64 KiB is refused with 413 before any
/// sign-in, not buffered to its end.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_refuses_a_chunked_body_over_its_cap_before_sign_in() {
    let server = TestServer::start().await;
    let console = server.local.console.clone().expect("console address");
    let mut s = tls_to(&server, console.trim_start_matches("https://"), b"http/1.1")
        .await
        .expect("TLS connection to the console");
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\n\
          Transfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    // 128 KiB in 16 KiB chunks, and no last chunk: the body never ends on its own.
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..8 {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let head = read_head(&mut s, Duration::from_secs(10))
        .await
        .expect("an answer before the body ends");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}
