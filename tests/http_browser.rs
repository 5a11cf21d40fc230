//! The dashboard in a real browser: `tests/browser/dashboard.mjs` drives
//! Debian's Chromium (through playwright-core) against a live service with
//! server-everything: the token link, adding connectors, connecting with a
//! click and the badge turning `connected` without a reload, a tool call
//! from the page, disconnecting, connectors in `error` showing their
//! reason and log, search, a secret field never shown back, a remote
//! server behind the OAuth peer signed in to with "Sign in" in a new tab
//! (the authorization pages followed in the browser) and signed out, and
//! the postgres skill (connected as the test database's superuser) showing
//! its warning on the card.
//!
//! Screenshots (light and dark) go to a temp dir, or to
//! `$SWITCHBOARD_SCREENSHOTS` when set (`docs/screenshots` refreshes the
//! committed one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod http_support;
mod oauth_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use http_support::{server_everything, Server};

/// The whole browser run's limit.
const RUN_DEADLINE: Duration = Duration::from_secs(180);
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_browser() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `bash .ci/install-peers.sh` first (it installs Debian's chromium)"
    );
    let playwright = repo.join("tests/peers/node_modules/playwright-core/package.json");
    assert!(
        playwright.exists(),
        "playwright-core is missing: run `bash .ci/install-peers.sh` first"
    );
    // No automatic restarts: a server killed from outside stays in `error`
    // for the page to show.
    let peer = oauth_support::OAuthPeer::start(3600, "");
    let server = Server::start_with_settings(serde_json::json!({
        "codebuddy.connectors.supervision": {"maxRestarts": 0},
        "codebuddy.connectors.backend": {"postgres": "skill"}
    }))
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let shots: PathBuf = match std::env::var_os("SWITCHBOARD_SCREENSHOTS") {
        Some(dir) => repo.join(dir),
        None => scratch.path().to_path_buf(),
    };
    std::fs::create_dir_all(&shots).unwrap();

    let mut child = tokio::process::Command::new("node")
        .arg(repo.join("tests/browser/dashboard.mjs"))
        .env("SB_URL", server.handle.url())
        .env("SB_TOKEN", server.handle.token())
        .env("SB_EVERYTHING", server_everything())
        .env("SB_SHOTS", &shots)
        .env("SB_OAUTH_MCP", &peer.mcp)
        .env("SB_OAUTH_ISSUER", &peer.issuer)
        .env("SB_CHROMIUM", CHROMIUM)
        .env(
            "SB_POSTGRES_URL",
            std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut pipe: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
            text
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = tokio::time::timeout(RUN_DEADLINE, child.wait()).await;
    let finished = status.is_ok();
    if !finished {
        let _ = child.kill().await;
    }
    let report = format!("{}{}", out.await.unwrap(), err.await.unwrap());
    assert!(
        finished,
        "the browser run passed {RUN_DEADLINE:?}:\n{report}"
    );
    assert!(
        status.unwrap().unwrap().success(),
        "the browser run failed:\n{report}"
    );
    assert!(report.contains("dashboard: all steps passed"), "{report}");
    for name in ["dashboard.png", "dashboard-dark.png"] {
        let bytes = std::fs::read(shots.join(name)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{name} is not a PNG");
    }

    // What the page did is what the service now holds.
    let everything = server.service.info("everything").unwrap();
    assert_eq!(everything.status, switchboard::ConnectorStatus::Error);
    assert!(everything.error.unwrap().contains("signal 9"));
    let broken = server.service.info("broken").unwrap();
    assert!(broken.error.unwrap().contains("kaput"));
    // The sign-in ran against the real authorization server, and the
    // sign-out revoked what it gave.
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 1, "{stats}");
    assert!(stats["revocations"].as_u64().unwrap() >= 1, "{stats}");
    let tracker = server.service.info("tracker").unwrap();
    assert_eq!(tracker.status, switchboard::ConnectorStatus::Configuring);
    assert_eq!(tracker.auth.map(|a| a.signed_in), Some(false));
    server.close().await;
}
