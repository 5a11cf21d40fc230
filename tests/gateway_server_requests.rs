//! A server's requests of its client — sampling, elicitation, roots —
//! through the gateway to the client whose call they serve, against the
//! same client (the official Python SDK, with all three handlers) talking
//! to server-everything directly, over stdio and `/mcp`. And a client
//! without the capability: the server gets a clear error, not a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{repo, server_everything, stderr, Sandbox};
use serde_json::{json, Value};

fn run(script: &str, prefix: &str, command: &[String]) -> Value {
    let out = Command::new(repo().join("tests/peers/.venv/bin/python"))
        .arg(repo().join("tests/peers").join(script))
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

fn http(sb: &Sandbox) -> Vec<String> {
    let (url, token) = sb.http_endpoint();
    vec!["--http".into(), url, token]
}

#[test]
fn sampling_elicitation_and_roots_reach_the_calling_client_as_directly() {
    let direct = run(
        "server_requests.py",
        "-",
        &["node".into(), server_everything(), "stdio".into()],
    );
    let sb = Sandbox::with_everything();
    let through = run("server_requests.py", "ev__", &sb.gateway_argv());
    let sb = Sandbox::with_everything();
    let over_http = run("server_requests.py", "ev__", &http(&sb));

    // What the comparison covers.
    assert_eq!(
        direct["offered"],
        json!([
            "get-roots-list",
            "trigger-elicitation-request",
            "trigger-sampling-request"
        ])
    );
    let sampled = direct["trigger-sampling-request"]["text"].as_str().unwrap();
    assert!(sampled.contains("sampled: "), "{direct}");
    let elicited = direct["trigger-elicitation-request"]["text"]
        .as_str()
        .unwrap();
    assert!(elicited.contains("Ada Lovelace"), "{direct}");
    let roots = direct["get-roots-list"]["text"].as_str().unwrap();
    assert!(roots.contains("file:///work/project"), "{direct}");

    assert_eq!(through, direct, "through the stdio gateway != direct");
    assert_eq!(over_http, direct, "through /mcp != direct");
}

#[test]
fn a_client_without_sampling_gets_the_server_a_clear_error_not_a_hang() {
    use std::io::{BufRead, BufReader, Write};
    let sb = Sandbox::with_everything();
    let argv = sb.gateway_argv();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answer = |id: u64| loop {
        let line = lines.next().unwrap().unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["id"] == id {
            return value;
        }
    };
    // No capabilities at all.
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"plain","version":"0"}}}}}}"#
    )
    .unwrap();
    answer(1);
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"ev__trigger-sampling-request","arguments":{{"prompt":"hi","maxTokens":5}}}}}}"#
    )
    .unwrap();
    let reply = answer(2);
    let text = reply.to_string();
    assert!(
        text.contains("does not offer it"),
        "the server was not told why: {reply}"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// URL-mode elicitation (the Python SDK on both sides): the client is sent
/// to the URL, and the server's `notifications/elicitation/complete`
/// reaches the same client with the same `elicitationId`, through the
/// gateway as directly.
#[test]
fn a_url_elicitation_and_its_completion_reach_the_calling_client() {
    let python = repo()
        .join("tests/peers/.venv/bin/python")
        .display()
        .to_string();
    let script = repo()
        .join("tests/peers/url_elicitation.py")
        .display()
        .to_string();
    let server = vec![python.clone(), script.clone(), "server".to_string()];
    let direct = run(
        "url_elicitation.py",
        "client",
        &[vec!["sign_in".to_string()], server].concat(),
    );

    let sb = Sandbox::new();
    sb.ok(&["add", "ue", "--command", &python, &script, "server"]);
    sb.ok(&["connect", "ue"]);
    let through = run(
        "url_elicitation.py",
        "client",
        &[vec!["ue__sign_in".to_string()], sb.gateway_argv()].concat(),
    );
    assert_eq!(direct["completed"], json!(["signin-7f3a"]), "{direct}");
    assert_eq!(through, direct, "through the gateway");
}

/// A backend's JSON-RPC error reaches the client whole: the URL
/// elicitation required error (-32042) with its data, through the gateway
/// as directly, and `switchboard call` names the code.
#[test]
fn a_backends_jsonrpc_error_keeps_its_code_and_data() {
    let python = repo()
        .join("tests/peers/.venv/bin/python")
        .display()
        .to_string();
    let script = repo()
        .join("tests/peers/url_elicitation.py")
        .display()
        .to_string();
    let server = vec![python.clone(), script.clone(), "server".to_string()];
    let direct = run(
        "url_elicitation.py",
        "error",
        &[vec!["needs_sign_in".to_string()], server].concat(),
    );
    assert_eq!(direct["code"], json!(-32042), "{direct}");

    let sb = Sandbox::new();
    sb.ok(&["add", "ue", "--command", &python, &script, "server"]);
    sb.ok(&["connect", "ue"]);
    let through = run(
        "url_elicitation.py",
        "error",
        &[vec!["ue__needs_sign_in".to_string()], sb.gateway_argv()].concat(),
    );
    assert_eq!(through, direct, "through the gateway");

    let out = sb.run(&["call", "ue", "needs_sign_in"]);
    assert_eq!(out.status.code(), Some(10), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("URL elicitation required") && stderr.contains("-32042"),
        "{stderr}"
    );
}
