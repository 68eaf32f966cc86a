//! SIGHUP reloads the TLS certificate from disk (certbot renewals) without dropping
//! connections; a bad new certificate is logged and the old one kept.

use std::time::Duration;

use outpost::client::{Client, Trust};

use crate::common::TestServer;

fn hup(server: &TestServer) {
    let pid = server.local.pid().expect("server pid") as i32;
    unsafe {
        libc::kill(pid, libc::SIGHUP);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_swaps_the_certificate_and_keeps_it_when_the_new_one_is_bad() {
    let server = TestServer::start().await;
    let old_pem = server.local.cert_pem.clone();
    // A keep-alive connection made with the old certificate.
    let kept = Client::new(&server.local.https, "k", Trust::Pem(&old_pem), true).unwrap();
    kept.healthcheck().await.unwrap();

    let (ok, _, err) = server
        .cli(&[
            "cert",
            "generate",
            "--out",
            "renewed",
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
        ])
        .await;
    assert!(ok, "{err}");
    let dir = &server.local.dir;
    std::fs::copy(dir.join("renewed/key.pem"), dir.join("certs/key.pem")).unwrap();
    std::fs::copy(dir.join("renewed/cert.pem"), dir.join("certs/cert.pem")).unwrap();
    let new_pem = std::fs::read(dir.join("renewed/cert.pem")).unwrap();
    hup(&server);

    let fresh = Client::new(&server.local.https, "k", Trust::Pem(&new_pem), false).unwrap();
    let mut served = false;
    for _ in 0..50 {
        if fresh.healthcheck().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "the renewed certificate is served after SIGHUP");
    let stale = Client::new(&server.local.https, "k", Trust::Pem(&old_pem), false).unwrap();
    assert!(
        stale.healthcheck().await.is_err(),
        "new connections get the new certificate"
    );
    kept.healthcheck()
        .await
        .expect("the open connection survives the reload");

    // A broken renewal: logged, and the good certificate stays.
    std::fs::write(
        dir.join("certs/cert.pem"),
        b"-----BEGIN CERTIFICATE-----\nbroken\n",
    )
    .unwrap();
    hup(&server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = Client::new(&server.local.https, "k", Trust::Pem(&new_pem), false).unwrap();
    again
        .healthcheck()
        .await
        .expect("still serving the last good certificate");
    assert!(
        server.local.output().contains("reload failed"),
        "{}",
        server.local.output()
    );
}
