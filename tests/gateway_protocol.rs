//! The MCP requests besides tools, through the gateway against the same
//! client talking to the server directly (issue "A transparent gateway"):
//! `logging/setLevel`, `completion/complete` on a prompt and on a resource
//! template, `resources/templates/list` and a read through a template,
//! `resources/subscribe` with the updates the server sends, and
//! `resources/unsubscribe`. The client is the official Python SDK's; the
//! server is server-everything; both fronts (stdio and `/mcp`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{repo, server_everything, stderr, Sandbox};
use serde_json::Value;

fn run(prefix: &str, command: &[String]) -> Value {
    let out = Command::new(repo().join("tests/peers/.venv/bin/python"))
        .arg(repo().join("tests/peers/protocol_check.py"))
        .arg(prefix)
        .args(command)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "client failed: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn completion_logging_templates_and_subscriptions_work_as_directly() {
    let direct = run("-", &["node".into(), server_everything(), "stdio".into()]);
    let sb = Sandbox::with_everything();
    let gateway = sb.gateway_argv();
    let through = run("ev__", &gateway);
    // A sandbox of its own: server-everything's update switch is per
    // session, and the gateway is one session to it.
    let sb = Sandbox::with_everything();
    let (url, token) = sb.http_endpoint();
    let over_http = run("ev__", &["--http".into(), url, token]);

    assert_eq!(direct["set_level"], "ok");
    assert_eq!(through, direct, "through the stdio gateway != direct");
    assert_eq!(over_http, direct, "through /mcp != direct");
    // What the comparison covers, so an empty answer on both sides fails.
    assert_eq!(
        direct["prompt_completion"],
        serde_json::json!(["Sales", "Support"])
    );
    assert!(
        direct["templates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "demo://resource/dynamic/text/{resourceId}"),
        "{direct}"
    );
    assert_eq!(
        direct["updated"],
        serde_json::json!(["demo://resource/dynamic/text/2"])
    );
    assert!(!direct["read"].as_array().unwrap().is_empty());
}
