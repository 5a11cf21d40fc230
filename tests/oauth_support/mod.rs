//! The OAuth peer for sign-in tests: `tests/peers/oauth-peer.mjs` (a real
//! `oidc-provider` authorization server in front of the TypeScript SDK's MCP
//! server with bearer auth), and the "browser" that follows its pages
//! (`tests/peers/browser-follow.mjs`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{repo, Sandbox};

/// A running OAuth peer; killed on drop.
pub struct OAuthPeer {
    child: Child,
    /// The authorization server's issuer.
    pub issuer: String,
    /// The MCP server's Streamable HTTP URL.
    pub mcp: String,
    /// Its HTTP+SSE URL.
    pub sse: String,
    control: String,
}

impl OAuthPeer {
    /// Starts the peer; `access_ttl` is the access tokens' lifetime in
    /// seconds, `bad` one of its misbehaviours (or "").
    pub fn start(access_ttl: u64, bad: &str) -> OAuthPeer {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("node")
            .arg(repo().join("tests/peers/oauth-peer.mjs"))
            .env("ACCESS_TTL", access_ttl.to_string())
            .env("BAD", bad)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Its own errors show in the test's output.
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("node oauth-peer.mjs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("oauth peer did not start ({e}): {line:?}"));
        OAuthPeer {
            child,
            issuer: info["issuer"].as_str().unwrap().to_string(),
            mcp: info["mcp"].as_str().unwrap().to_string(),
            sse: info["sse"].as_str().unwrap().to_string(),
            control: info["control"].as_str().unwrap().to_string(),
        }
    }

    /// The peer's counters: registrations, authorizations, refreshes,
    /// revocations, and every token the MCP server was shown.
    pub fn stats(&self) -> Value {
        reqwest_get(&format!("{}/stats", self.control))
    }

    /// Revokes every grant at the server.
    pub fn revoke_all(&self) {
        let out = Command::new("curl")
            .args(["-sf", "-X", "POST", &format!("{}/revoke-all", self.control)])
            .output()
            .unwrap();
        assert!(out.status.success(), "revoke-all failed");
    }

    /// Every refresh token the authorization server issued.
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.stats()["refresh_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    /// Every token a leak check looks for: the access tokens the MCP
    /// server was shown and the refresh tokens issued.
    pub fn all_tokens(&self) -> Vec<String> {
        let mut tokens = self.tokens_seen();
        tokens.extend(self.refresh_tokens());
        tokens
    }

    /// Every access token the MCP server saw.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.stats()["tokens_seen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for OAuthPeer {
    fn drop(&mut self) {
        // SAFETY: signals the process group this peer leads.
        unsafe { libc::killpg(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn reqwest_get(url: &str) -> Value {
    let out = Command::new("curl").args(["-sf", url]).output().unwrap();
    assert!(out.status.success(), "GET {url} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `BROWSER` command that follows the authorization pages.
pub fn browser() -> String {
    format!(
        "node {}",
        repo().join("tests/peers/browser-follow.mjs").display()
    )
}

/// A sandbox whose service and CLI open sign-in pages with the follower.
pub fn signing_sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.extra_env.push(("BROWSER".into(), browser()));
    sb
}

/// Follows an authorization URL as a browser would (for `--no-browser`).
pub fn follow(url: &str) {
    let out = Command::new("node")
        .arg(repo().join("tests/peers/browser-follow.mjs"))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser-follow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir`, read as (lossy) text, for leak checks.
pub fn all_text_under(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}
