//! The command line and the server process: config check, games, shutdown, certificates,
//! the plain-HTTP listener.

use std::process::Command;

use serde_json::json;

use crate::common::{TestServer, BIN};

fn outpost(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env_remove("OUTPOST_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run outpost");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_masks_secrets_and_reports_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = outpost(
        dir.path(),
        &["config", "check"],
        &[("OUTPOST_HTTP_KEY", "my-secret-http-key")],
    );
    assert!(ok);
    assert!(out.contains("listen = \"0.0.0.0:7350\""), "{out}");
    assert!(
        !out.contains("my-secret-http-key"),
        "secrets are masked: {out}"
    );
    assert!(out.contains("http_key = \"********\""));

    std::fs::write(
        dir.path().join("outpost.toml"),
        "[server]\nlisen = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let (ok, _, err) = outpost(
        dir.path(),
        &["config", "check"],
        &[("OUTPOST_SERVR_LISTEN", "x")],
    );
    assert!(!ok);
    assert!(err.contains("server.lisen"), "{err}");
    assert!(err.contains("OUTPOST_SERVR_LISTEN"), "{err}");

    let (ok, _, err) = outpost(
        dir.path(),
        &["--config", "nope.toml", "config", "check"],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("nope.toml"), "{err}");
    std::fs::write(
        dir.path().join("bad.toml"),
        "[server]\nlisten = \"not an address\"\n",
    )
    .unwrap();
    let (ok, _, err) = outpost(
        dir.path(),
        &["--config", "bad.toml", "config", "check"],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("server.listen"), "{err}");
}

#[test]
fn games_are_registered_and_listed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, id, _) = outpost(dir.path(), &["game", "create", "Space Arena"], &[]);
    assert!(ok);
    assert!(uuid::Uuid::parse_str(id.trim()).is_ok(), "{id}");
    let (ok, _, err) = outpost(dir.path(), &["game", "create", "space arena"], &[]);
    assert!(!ok, "names are unique");
    assert!(err.contains("already exists"), "{err}");
    let (ok, out, _) = outpost(dir.path(), &["game", "list", "--json"], &[]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["games"][0]["game_id"], id.trim());
    assert_eq!(v["games"][0]["name"], "Space Arena");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_game_created_while_serving_is_live_at_once_and_the_server_stops_cleanly() {
    let mut server = TestServer::start().await;
    // Through the admin socket: the running server registers it.
    let (ok, id, err) = server
        .local
        .cli(&["--data-dir", "data", "game", "create", "third"]);
    assert!(ok, "{err}");
    let alice = server.new_player().await;
    alice
        .rpc(
            "profile_update",
            json!({"game_id": id.trim(), "display_name": "A"}),
        )
        .await
        .unwrap();
    let status = tokio::task::block_in_place(|| server.local.stop()).unwrap();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    let (ok, out, _) = server.local.cli(&["--data-dir", "data", "game", "list"]);
    assert!(ok, "the database is free once the server has stopped");
    assert!(out.contains("third"));
    assert!(out.contains("arena"));
}

#[test]
fn first_run_prints_the_keys_once_into_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let text = banner(dir.path());
    assert!(text.contains("server key "), "{text}");
    assert!(text.contains("http key "), "{text}");
    let mode = std::fs::metadata(dir.path().join("data/secrets.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let key_mode = std::fs::metadata(dir.path().join("certs/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert!(
        !banner(dir.path()).contains("server key "),
        "printed only once"
    );
}

/// What `serve` prints up to its ready line, with no fixed keys (so it generates them).
fn banner(dir: &std::path::Path) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("OUTPOST_CONFIG")
        .env_remove("OUTPOST_SERVER_KEY")
        .env_remove("OUTPOST_HTTP_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    use std::io::BufRead;
    let mut text = String::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("ready ") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    text
}

#[test]
fn a_missing_certificate_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = outpost(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("OUTPOST_TLS_CERT", "/nowhere/cert.pem"),
            ("OUTPOST_TLS_KEY", "/nowhere/key.pem"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("/nowhere/cert.pem") && err.contains("does not exist"),
        "{err}"
    );
    std::fs::write(dir.path().join("c.pem"), "not pem").unwrap();
    std::fs::write(dir.path().join("k.pem"), "not pem").unwrap();
    let (ok, _, err) = outpost(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[("OUTPOST_TLS_CERT", "c.pem"), ("OUTPOST_TLS_KEY", "k.pem")],
    );
    assert!(!ok);
    assert!(err.contains("c.pem holds no PEM certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plain_http_listener_serves_the_same_api() {
    let server = TestServer::start_with(
        &["arena"],
        &[("OUTPOST_SERVER_PLAIN_HTTP_LISTEN", "127.0.0.1:0")],
    )
    .await;
    let out = server.local.output();
    let addr = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("http       http://"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the banner names the plain listener")
        .to_string();
    let plain = reqwest::Client::builder().http1_only().build().unwrap();
    let r = plain
        .get(format!("http://{addr}/healthcheck"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = plain
        .post(format!("http://{addr}/v2/account/authenticate/device"))
        .basic_auth(&server.local.server_key, Some(""))
        .body(r#"{"id":"device-plain-0001"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
