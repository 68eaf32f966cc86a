//! Backups and restores driven through the CLI, as an admin would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use outpost::store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::common::TestServer;

/// Accounts, with the username and device indexes written in the same transaction.
struct Accounts {
    accounts: BTreeSet<Uuid>,
    by_username: BTreeSet<Uuid>,
    by_device: BTreeSet<Uuid>,
}

fn accounts_in(data_dir: &Path) -> Accounts {
    let store = Store::open(data_dir, 0).expect("open the restored database");
    let ids = |name: &str| -> BTreeSet<Uuid> {
        store
            .global(name)
            .unwrap()
            .iter::<Uuid>()
            .map(|e| e.unwrap().1)
            .collect()
    };
    let accounts = store
        .global("accounts.userid")
        .unwrap()
        .iter_raw()
        .map(|e| Uuid::from_slice(&e.unwrap().0).unwrap())
        .collect();
    Accounts {
        accounts,
        by_username: ids("username_userid"),
        by_device: ids("device_userid"),
    }
}

fn aside_dirs(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("before-restore-") || n.starts_with(".restore-")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_backup_restores_to_one_point_in_time() {
    let mut server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_RATE_LIMIT_AUTH_PER_SEC", "100000"),
            ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
        ],
    )
    .await;
    // Writers create accounts without pause: each one is a transaction over three trees
    // (account, username index, device index) that must never be seen half-applied.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = server.client.clone();
        let stop = stop.clone();
        let created = created.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                client
                    .authenticate_device(
                        &format!("device-writer-{w}-{n:08}"),
                        true,
                        None,
                        &BTreeMap::new(),
                    )
                    .await
                    .expect("account created while the backup runs");
                n += 1;
                created.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while created.load(Ordering::Relaxed) < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup = server.local.dir.join("live.bak");
    let reply = server
        .cli_json(&["backup", "create", "--out", backup.to_str().unwrap()])
        .await;
    let at_backup = created.load(Ordering::Relaxed);
    assert!(reply["write_pause_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(reply["path"], backup.to_str().unwrap());
    // Writes go on after the backup.
    while created.load(Ordering::Relaxed) < at_backup + 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let verified = server
        .cli_json(&["backup", "verify", backup.to_str().unwrap()])
        .await;
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["sha256"], reply["sha256"]);

    server.stop().await;
    let data = server.local.data_dir();
    let before = accounts_in(&data);
    let (ok, out, err) = server
        .cli(&["restore", "--force", backup.to_str().unwrap()])
        .await;
    assert!(ok, "restore: {out}{err}");
    assert!(out.contains("previous data kept in"), "{out}");

    let restored = accounts_in(&data);
    let n = restored.accounts.len();
    assert!(
        n >= 100,
        "the backup holds the accounts made before it ({n})"
    );
    assert!(
        n < before.accounts.len(),
        "accounts made after the backup are not in it ({n} vs {})",
        before.accounts.len()
    );
    assert_eq!(restored.accounts, restored.by_username, "usernames agree");
    assert_eq!(restored.accounts, restored.by_device, "devices agree");
    assert!(restored.accounts.is_subset(&before.accounts));

    // The server comes back on the restored data, and an account from the backup logs in.
    server.start_again().await;
    let (ok, out, _) = server.cli(&["status"]).await;
    assert!(ok);
    assert!(out.contains(&format!("accounts      {n}")), "{out}");
    assert_eq!(
        server.cli_json(&["audit", "--limit", "1"]).await["entries"][0]["action"],
        "restore"
    );
}

/// Alice (device `device-alice-0001`) names herself `display_name` in `arena`; then a backup
/// goes to `<server dir>/<file>`.
async fn alice_then_backup(
    server: &TestServer,
    display_name: &str,
    file: &str,
) -> (outpost::client::Player, String, PathBuf) {
    let alice = server.player("device-alice-0001").await;
    let game = server.game("arena");
    alice
        .rpc(
            "profile_update",
            json!({"game_id": game, "display_name": display_name}),
        )
        .await
        .unwrap();
    let path = server.local.dir.join(file);
    server
        .cli_json(&["backup", "create", "--out", path.to_str().unwrap()])
        .await;
    (alice, game, path)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_backup_is_refused_and_changes_nothing() {
    let mut server = TestServer::start().await;
    let (alice, game, good) = alice_then_backup(&server, "Alice", "good.bak").await;
    alice
        .rpc(
            "profile_update",
            json!({"game_id": game, "display_name": "Alice II"}),
        )
        .await
        .unwrap();

    let bytes = std::fs::read(&good).unwrap();
    let truncated = server.local.dir.join("truncated.bak");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x20;
    let corrupted = server.local.dir.join("corrupted.bak");
    std::fs::write(&corrupted, &flipped).unwrap();

    for (file, word) in [(&truncated, "truncated"), (&corrupted, "corrupted")] {
        let (ok, _, err) = server
            .cli(&["backup", "verify", file.to_str().unwrap()])
            .await;
        assert!(!ok);
        assert!(err.contains(word), "verify {word}: {err}");
    }

    server.stop().await;
    let data = server.local.data_dir();
    let before = accounts_in(&data);
    for (file, word) in [(&truncated, "truncated"), (&corrupted, "corrupted")] {
        let (ok, out, err) = server
            .cli(&["restore", "--force", file.to_str().unwrap()])
            .await;
        assert!(!ok, "a {word} file was restored: {out}");
        assert!(err.contains(word), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(aside_dirs(&data).is_empty(), "{:?}", aside_dirs(&data));
    }
    assert_eq!(accounts_in(&data).accounts, before.accounts);

    // Still the newest data: the profile written after the backup.
    server.start_again().await;
    let alice = server.player("device-alice-0001").await;
    let p = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["display_name"], "Alice II");
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_while_the_server_runs() {
    let server = TestServer::start().await;
    let file = server.local.dir.join("b.bak");
    server
        .cli_json(&["backup", "create", "--out", file.to_str().unwrap()])
        .await;
    let (ok, _, err) = server
        .cli(&["restore", "--force", file.to_str().unwrap()])
        .await;
    assert!(!ok);
    assert!(err.contains("server is running"), "{err}");
    assert!(aside_dirs(&server.local.data_dir()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_backups_are_taken_and_pruned() {
    let server = TestServer::start_with(
        &["arena"],
        &[
            ("OUTPOST_BACKUP_INTERVAL", "1s"),
            ("OUTPOST_BACKUP_KEEP", "2"),
        ],
    )
    .await;
    let dir = server.local.data_dir().join("backups");
    let mut listed = serde_json::Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let audit = server.cli_json(&["audit", "--limit", "100"]).await;
        let taken = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "backup_create" && e["actor"] == "schedule")
            .count();
        if taken >= 3 {
            // Pruning follows each scheduled backup's audit entry: give it its moment.
            for _ in 0..50 {
                listed = server.cli_json(&["backup", "list"]).await;
                if listed["backups"].as_array().is_some_and(|b| b.len() <= 2) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            break;
        }
    }
    let backups = listed["backups"]
        .as_array()
        .expect("three scheduled backups");
    assert_eq!(backups.len(), 2, "keep = 2: {listed}");
    for b in backups {
        let path = b["path"].as_str().unwrap();
        assert!(Path::new(path).starts_with(&dir), "{path}");
        server.cli_json(&["backup", "verify", path]).await;
    }
    let status = server.cli_json(&["status"]).await;
    assert!(status["last_backup"]["path"].as_str().is_some(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_moves_to_a_new_machine_with_its_keys() {
    let server = TestServer::start().await;
    let (alice, game, file) = alice_then_backup(&server, "Alice", "move.bak").await;

    let fresh = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["--data-dir", "data", "restore", file.to_str().unwrap()])
        .current_dir(fresh.path())
        .env_remove("OUTPOST_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("no previous database"), "{text}");

    let path = fresh.path().to_path_buf();
    let moved = tokio::task::spawn_blocking(move || {
        outpost::client::LocalServer::start(std::path::Path::new(crate::common::BIN), &path, &[])
    })
    .await
    .unwrap()
    .unwrap();
    // The session token issued by the old machine still works: the keys came along.
    let alice = outpost::client::Player {
        client: moved.client(),
        session: alice.session,
    };
    let p = alice
        .rpc("profile_get", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(p["profile"]["display_name"], "Alice");
}
