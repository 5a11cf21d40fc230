//! The gateway under bad input, over stdio (`switchboard gateway`, raw
//! lines as a hostile client sends them) and Streamable HTTP (`/mcp`):
//! each bad message gets its JSON-RPC error at once — `-32700` for text
//! that is not JSON, `-32600` for JSON that is not a request, `-32602` for
//! `tools/call` arguments that are not an object, and an error naming
//! `maxMessageBytes` (HTTP 413) for a 20 MB message — and the same session
//! goes on serving calls. Against the real SQLite skill.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::Sandbox;
use serde_json::{json, Value};

const WITHIN: Duration = Duration::from_secs(30);
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    sb
}

fn query(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
        "params":{"name":"sqlite__query","arguments":{"sql":"select 6 * 7 as n"}}})
    .to_string()
}

/// The next line that is an answer (not a notification), within the deadline.
fn answer(lines: &Receiver<String>) -> Value {
    loop {
        let line = lines.recv_timeout(WITHIN).expect("an answer in time");
        let value: Value = serde_json::from_str(&line).unwrap();
        if value.get("id").is_some() {
            return value;
        }
    }
}

fn assert_error(answer: &Value, id: Value, code: i64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(answer["error"]["code"], code, "{answer}");
}

fn assert_query_answered(answer: &Value, id: u64) {
    assert_eq!(answer["id"], id, "{answer}");
    assert!(answer["result"].to_string().contains("42"), "{answer}");
}

#[test]
fn every_bad_line_on_stdio_gets_its_error_and_the_session_goes_on() {
    let sb = sandbox();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--home")
        .arg(sb.home())
        .arg("--settings")
        .arg(sb.settings())
        .arg("gateway")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{INITIALIZE}").unwrap();
    assert_eq!(answer(&lines)["id"], 1);
    writeln!(stdin, "{INITIALIZED}").unwrap();

    writeln!(stdin, "this is not json").unwrap();
    assert_error(&answer(&lines), Value::Null, -32700);

    let bad_args = json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
        "params":{"name":"sqlite__query","arguments":[1, 2]}});
    writeln!(stdin, "{bad_args}").unwrap();
    assert_error(&answer(&lines), json!(2), -32602);

    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":3}}"#).unwrap();
    assert_error(&answer(&lines), json!(3), -32600);

    // 20 MB in one message: refused by its id, and not buffered whole.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"name":"sqlite__query","arguments":{{"sql":"select '{}'"}}}}}}"#,
        "x".repeat(20 * 1024 * 1024)
    );
    let writer = std::thread::spawn(move || {
        stdin.write_all(big.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin
    });
    let refused = loop {
        let a = answer(&lines);
        if a["id"] == 4 {
            break a;
        }
    };
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maxMessageBytes"),
        "{refused}"
    );
    let mut stdin = writer.join().unwrap();

    // The same session still serves calls.
    writeln!(stdin, "{}", query(5)).unwrap();
    let next = loop {
        let a = answer(&lines);
        if a["id"] == 5 {
            break a;
        }
    };
    assert_query_answered(&next, 5);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_post_to_mcp_gets_its_error_and_the_session_goes_on() {
    let sb = sandbox();
    let (url, token) = sb.http_endpoint();
    let client = reqwest::Client::new();
    let post = |body: String, session: Option<String>| {
        let mut request = client
            .post(&url)
            .bearer_auth(&token)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("MCP-Protocol-Version", "2025-06-18")
            .body(body);
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send()
    };
    let response = post(INITIALIZE.to_string(), None).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let _ = response.bytes().await;
    let _ = post(INITIALIZED.to_string(), session.clone())
        .await
        .unwrap();

    let response = post("this is not json".into(), session.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_error(&body, Value::Null, -32700);

    let bad_args = json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
        "params":{"name":"sqlite__query","arguments":"select 1"}});
    let response = post(bad_args.to_string(), session.clone()).await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_error(&body, json!(2), -32602);

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"sqlite__query","arguments":{{"sql":"select '{}'"}}}}}}"#,
        "x".repeat(20 * 1024 * 1024)
    );
    let response = post(big, session.clone()).await.unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_error(&body, json!(3), -32600);

    let response = post(query(4), session.clone()).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let text = response.text().await.unwrap();
    assert!(text.contains("\"id\":4") && text.contains("42"), "{text}");
}

#[test]
fn the_limit_is_read_from_settings() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.gateway": { "maxMessageBytes": 2048 } }"#,
    )
    .unwrap();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--home")
        .arg(sb.home())
        .arg("--settings")
        .arg(sb.settings())
        .arg("gateway")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    writeln!(stdin, "{INITIALIZE}").unwrap();
    assert_eq!(answer(&lines)["id"], 1);
    writeln!(stdin, "{INITIALIZED}").unwrap();
    let sized = |id: u64, pad: usize| {
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":"sqlite__query","arguments":{"sql":format!("select 42 as n -- {}", "x".repeat(pad))}}})
        .to_string()
    };
    writeln!(stdin, "{}", sized(2, 4000)).unwrap();
    let refused = answer(&lines);
    assert_error(&refused, json!(2), -32600);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2048"));
    writeln!(stdin, "{}", sized(3, 1000)).unwrap();
    assert_query_answered(&answer(&lines), 3);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
