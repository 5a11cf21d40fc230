//! Issue 21's table with the other official client: the TypeScript SDK's
//! (sampling, elicitation and roots handlers declared) calls
//! server-everything's tools that ask their client, then
//! `logging/setLevel`, `completion/complete`, `resources/templates/list`,
//! a read through a template and `resources/subscribe`/`unsubscribe`,
//! directly and through both fronts of the gateway (`switchboard gateway`
//! over stdio, and `/mcp`), and sees the same each time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{repo, server_everything, stderr, Sandbox};
use serde_json::{json, Value};

fn run(prefix: &str, transport: &[String]) -> Value {
    let out = Command::new("node")
        .arg(repo().join("tests/peers/protocol-check.mjs"))
        .arg(prefix)
        .args(transport)
        .current_dir(repo().join("tests/peers"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "client failed: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut report: Value = serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    // The sampling tool prints the client's answer as JSON, keys in the
    // order each side wrote them; compared as JSON.
    let sampled = &mut report["trigger-sampling-request"]["text"];
    if let Some((head, answer)) = sampled.as_str().unwrap_or("").split_once('\n') {
        let answer: Value = serde_json::from_str(answer).unwrap_or(json!(answer));
        *sampled = json!([head, answer]);
    }
    report
}

#[test]
fn the_typescript_client_sees_the_same_through_both_fronts() {
    let direct = run(
        "-",
        &[
            "stdio".into(),
            "node".into(),
            server_everything(),
            "stdio".into(),
        ],
    );
    assert_eq!(direct["offered"].as_array().unwrap().len(), 3, "{direct}");
    assert_eq!(
        direct["trigger-sampling-request"]["error"], false,
        "{direct}"
    );

    let sb = Sandbox::with_everything();
    let through = run(
        "ev__",
        &[vec!["stdio".to_string()], sb.gateway_argv()].concat(),
    );
    assert_eq!(through, direct, "through the stdio gateway != direct");

    // A sandbox of its own: server-everything's update switch is per
    // session, and the gateway is one session to it.
    let sb = Sandbox::with_everything();
    let (url, token) = sb.http_endpoint();
    let over_http = run("ev__", &["http".into(), url, token]);
    assert_eq!(over_http, direct, "through /mcp != direct");
}
