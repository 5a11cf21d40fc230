//! Where a running HTTP server can be found: `http.json` in the data dir
//! (written when it listens, removed when it stops) with its URL, read by
//! `switchboard open` and `client-config`; and opening the dashboard in
//! the user's browser.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::security::TOKEN_FILE;
use crate::error::{Error, Result};
use crate::paths::Paths;

/// The endpoint file's name in the data dir.
pub const ENDPOINT_FILE: &str = "http.json";
/// How long a browser launcher (`xdg-open`) gets to fail before we take
/// its silence for success; the browser itself may run for hours.
const LAUNCHER_GRACE: Duration = Duration::from_secs(3);

/// What `http.json` holds. The token is not in it: it stays in its own
/// 0600 file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFile {
    /// The server's base URL, ending in `/` (`http://127.0.0.1:PORT/`).
    pub url: String,
    /// The gateway's Streamable HTTP URL (`…/mcp`).
    pub mcp_url: String,
    /// The port it listens on.
    pub port: u16,
    /// The service's process id.
    pub pid: u32,
}

pub(crate) fn write_endpoint(home: &Path, endpoint: &EndpointFile) -> Result<()> {
    let path = home.join(ENDPOINT_FILE);
    let mut bytes = serde_json::to_vec_pretty(endpoint)
        .map_err(|e| Error::Internal(format!("cannot encode {ENDPOINT_FILE}: {e}")))?;
    bytes.push(b'\n');
    crate::atomic_file::replace(&path, &bytes, Some(0o600))
        .map_err(|e| Error::file("write", path.clone(), e))
}

/// Removes `http.json` if it is still ours (a newer service may have
/// replaced it).
pub(crate) fn remove_endpoint(home: &Path) {
    let path = home.join(ENDPOINT_FILE);
    if read_file(&path).is_some_and(|e| e.pid == std::process::id()) {
        let _ = std::fs::remove_file(path);
    }
}

fn read_file(path: &PathBuf) -> Option<EndpointFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The running server's base URL and its token, from the data dir; `None`
/// when no server has written them (the service is not running, or is
/// older than the HTTP server).
pub fn read_endpoint(paths: &Paths) -> Option<(String, String)> {
    let endpoint = read_file(&paths.home.join(ENDPOINT_FILE))?;
    let token = std::fs::read_to_string(paths.home.join(TOKEN_FILE)).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| (endpoint.url, token.to_string()))
}

/// The full endpoint record (URL, gateway URL, port, pid).
pub fn read_endpoint_file(paths: &Paths) -> Option<EndpointFile> {
    read_file(&paths.home.join(ENDPOINT_FILE))
}

/// The link that opens the dashboard with its token: `URL?token=…`. The
/// page trades the token for a cookie and drops it from the address.
pub fn dashboard_url(url: &str, token: &str) -> String {
    format!("{url}?token={token}")
}

/// Opens `url` in the user's browser: each command in `$BROWSER` (a
/// `:`-separated list, `%s` standing for the URL), then `xdg-open`,
/// `sensible-browser`, `x-www-browser`. Fails with a message saying what
/// to install or set when none works.
pub fn open_in_browser(url: &str) -> Result<()> {
    let browser = std::env::var("BROWSER").ok();
    open_with(
        url,
        browser.as_deref(),
        &["xdg-open", "sensible-browser", "x-www-browser"],
    )
}

fn open_with(url: &str, browser: Option<&str>, fallbacks: &[&str]) -> Result<()> {
    let mut candidates: Vec<Vec<String>> = browser
        .unwrap_or("")
        .split(':')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let mut words: Vec<String> = c.split_whitespace().map(str::to_string).collect();
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_string());
            }
            words
        })
        .collect();
    candidates.extend(
        fallbacks
            .iter()
            .map(|c| vec![c.to_string(), url.to_string()]),
    );
    let mut tried = Vec::new();
    for words in candidates {
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        match launch(program, args) {
            Ok(()) => return Ok(()),
            Err(reason) => tried.push(format!("{program} ({reason})")),
        }
    }
    Err(Error::Internal(format!(
        "no browser could be opened (tried {}): set $BROWSER to your browser's command, \
         or install xdg-utils; or open this address yourself: {url}",
        if tried.is_empty() {
            "nothing".to_string()
        } else {
            tried.join(", ")
        }
    )))
}

/// Starts one launcher; it failed if it cannot start or exits non-zero at
/// once. One still running after the grace period is the browser itself.
fn launch(program: &str, args: &[String]) -> std::result::Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "not installed".to_string(),
            _ => e.to_string(),
        })?;
    let deadline = Instant::now() + LAUNCHER_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("exited {status}")),
            Ok(None) if Instant::now() >= deadline => {
                // Reap it whenever it ends, so it leaves no zombie behind.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_commands_are_tried_in_order_with_the_url() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("temp dir")
        };
        let out = dir.path().join("opened");
        let script = dir.path().join("fake-browser");
        let body = format!("#!/bin/sh\necho \"$@\" > {}\n", out.display());
        assert!(std::fs::write(&script, body).is_ok());
        assert!(std::fs::set_permissions(
            &script,
            std::os::unix::fs::PermissionsExt::from_mode(0o755)
        )
        .is_ok());
        let browser = format!("/nonexistent/browser:{} --new-tab %s", script.display());
        let result = open_with("http://127.0.0.1:1/?token=t", Some(&browser), &[]);
        assert!(result.is_ok(), "{result:?}");
        let opened = std::fs::read_to_string(&out).unwrap_or_default();
        assert_eq!(opened.trim(), "--new-tab http://127.0.0.1:1/?token=t");
    }

    #[test]
    fn no_browser_is_a_clear_error() {
        let result = open_with(
            "http://127.0.0.1:1/",
            None,
            &["/nonexistent/xdg-open", "false"],
        );
        let message = result.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("set $BROWSER"), "{message}");
        assert!(
            message.contains("/nonexistent/xdg-open (not installed)"),
            "{message}"
        );
        assert!(message.contains("false (exited"), "{message}");
        assert!(message.contains("http://127.0.0.1:1/"), "{message}");
    }
}
