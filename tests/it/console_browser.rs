//! The console in a real headless Chromium, driven over WebDriver (chromedriver +
//! fantoccini): sign in, find a player, ban them (their live connection closes), see the
//! ban in the bans list, see the overview's chart draw. It saves the screenshots in
//! `docs/console/` (overview.png, player.png).
//!
//! Debian's `chromium` and `chromium-driver` are needed. Without them the test says so and
//! passes, unless `REQUIRE_BROWSER_TESTS=1` (CI sets it) makes their absence a failure.
//! `OUTPOST_CHROMIUM` and `OUTPOST_CHROMEDRIVER` name other paths.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use outpost::client::quic::Code;
use serde_json::json;

use crate::common::TestServer;

const WAIT: Duration = Duration::from_secs(15);

fn tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// The browser and its driver, or `None` (with the reason printed) when the test is to be
/// skipped. Panics when they are missing and `REQUIRE_BROWSER_TESTS=1`.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = tool("OUTPOST_CHROMIUM", "/usr/bin/chromium");
    let driver = tool("OUTPOST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &driver]
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some((chromium, driver));
    }
    let why = format!(
        "console browser test: {} not found (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    if std::env::var("REQUIRE_BROWSER_TESTS").as_deref() == Ok("1") {
        panic!("{why}; REQUIRE_BROWSER_TESTS=1 requires them");
    }
    eprintln!("SKIPPED {why}; set REQUIRE_BROWSER_TESTS=1 to make this a failure");
    None
}

/// chromedriver on a free local port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_driver(path: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A headless Chromium session with a fresh profile, trusting the test's self-signed
/// certificate.
async fn open_browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("acceptInsecureCerts".into(), json!(true));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium.display().to_string(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--ignore-certificate-errors",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let deadline = Instant::now() + WAIT;
    loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(c) => return c,
            // chromedriver takes a moment to listen.
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

async fn find(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => panic!("no `{css}` on {:?}: {e}", b.current_url().await),
    }
}

async fn save_screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
    std::fs::create_dir_all(&dir).expect("docs/console");
    std::fs::write(dir.join(name), png).expect("screenshot saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_signs_in_bans_a_player_and_sees_the_charts_in_chromium() {
    let Some((chromium, driver_path)) = browser_tools() else {
        return;
    };
    let server = TestServer::start().await;
    let game = server.game("arena");
    let base = server.local.console.clone().expect("console address");

    // An admin account, and a player online in a match with something in their wallet.
    let email = "browser-admin@example.com";
    let password = "correct horse battery";
    let admin = server
        .client
        .authenticate_email(email, password, true, None)
        .await
        .unwrap();
    let (ok, out, err) = server
        .cli(&["user", "promote", &admin.user_id.to_string()])
        .await;
    assert!(ok, "promote: {out}{err}");
    let alice = server.player("device-browser-alice").await;
    server
        .server_rpc(
            "wallet_update",
            json!({"game_id": game, "user_id": alice.user_id(), "changeset": {"coins": 1200, "gems": 35}, "reason": "starter pack"}),
        )
        .await
        .unwrap();
    let mut conn = server.quic(&alice, &game).await;
    conn.create_match("arena", "browser-test", json!({}))
        .await
        .unwrap();
    for _ in 0..5 {
        alice
            .rpc("wallet_get", json!({"game_id": game}))
            .await
            .unwrap();
    }

    let driver = start_driver(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let b = open_browser(&driver, &chromium, profile.path()).await;

    // Sign in.
    b.goto(&format!("{base}/login")).await.unwrap();
    find(&b, "#email").await.send_keys(email).await.unwrap();
    find(&b, "#password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    find(&b, "form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let h1 = find(&b, "main h1").await.text().await.unwrap();
    assert_eq!(h1, "Overview", "signed in, on the overview");

    // The overview's charts draw: uPlot's canvas with a real size. The sampler takes one
    // sample at start and one every 10 s: wait for the second, so the charts show a line.
    let deadline = Instant::now() + WAIT;
    loop {
        b.goto(&format!("{base}/?game={game}")).await.unwrap();
        find(&b, "figure[data-drawn] .uplot canvas").await;
        let samples = find(&b, "figure[data-series=\"ccu\"]")
            .await
            .attr("data-drawn")
            .await
            .unwrap()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        if samples >= 2 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let size = b
        .execute(
            "const c = document.querySelector('figure[data-series=\"ccu\"] canvas'); \
             return c ? [c.width, c.height] : null;",
            vec![],
        )
        .await
        .unwrap();
    let (w, h) = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
    assert!(w > 100 && h > 50, "the players chart has a size: {size}");
    assert_eq!(find(&b, "#ccu").await.text().await.unwrap(), "1");
    save_screenshot(&b, "overview.png").await;

    // Find the player by device id: one match goes straight to their page.
    find(&b, "nav a[href^='/players']")
        .await
        .click()
        .await
        .unwrap();
    find(&b, "#q")
        .await
        .send_keys("device-browser-alice")
        .await
        .unwrap();
    find(&b, "form[role=search] button")
        .await
        .click()
        .await
        .unwrap();
    let title = find(&b, "main h1").await.text().await.unwrap();
    assert!(title.starts_with("Player "), "{title}");
    assert!(b
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with(&alice.user_id().to_string()));
    let page = b.source().await.unwrap();
    assert!(page.contains("1200"), "the wallet shows");

    // Ban for 7 days: the player is kicked at once.
    find(&b, "#ban-for")
        .await
        .select_by_value("7d")
        .await
        .unwrap();
    find(&b, "#ban-reason")
        .await
        .send_keys("browser test: speedhack")
        .await
        .unwrap();
    find(&b, "button.danger").await.click().await.unwrap();
    let banner = find(&b, "p.banner.ok").await.text().await.unwrap();
    assert!(banner.contains("Banned"), "{banner}");
    let (code, reason) = conn.closed(WAIT).await.unwrap();
    assert_eq!(code, Some(Code::Banned.as_u16()));
    assert!(reason.contains("speedhack"), "{reason}");
    find(&b, "form[action$='/unban']").await;
    save_screenshot(&b, "player.png").await;

    // The ban is in the bans list.
    find(&b, "nav a[href^='/moderation']")
        .await
        .click()
        .await
        .unwrap();
    let bans = find(&b, "table#bans").await.text().await.unwrap();
    assert!(bans.contains("browser test: speedhack"), "{bans}");

    b.close().await.unwrap();
}
