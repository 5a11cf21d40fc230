//! `switchboard gateway` rides over a restart of the service: a real
//! client (the Python SDK) keeps its one stdio session while the service
//! is killed (SIGKILL) or stopped by a signal (SIGTERM); the command starts
//! the service again, the new service resumes the session without a new
//! `initialize`, tells the client `tools/list_changed`, and the same
//! session's next call succeeds. `switchboard shutdown` still ends it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{alive, poll, repo, Sandbox};
use serde_json::{json, Value};

fn service_pid(sb: &Sandbox) -> u64 {
    sb.json(&["doctor"])["service_pid"]
        .as_u64()
        .expect("a service answered")
}

/// Runs the resuming client; `between` restarts the service once the
/// client has its session; returns the client's report.
fn resume_with(signal: &str) -> Value {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let mut child = Command::new(repo().join("tests/peers/.venv/bin/python"))
        .arg(repo().join("tests/peers/gateway_resume.py"))
        .arg("sqlite__query")
        .arg(json!({"sql": "select 6 * 7 as n"}).to_string())
        .args(sb.gateway_argv())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("READY"),
        "the client failed before READY"
    );
    let old = service_pid(&sb);
    let killed = Command::new("kill")
        .args([signal, &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(poll(Duration::from_secs(30), || !alive(old)));
    let last = lines
        .next()
        .and_then(Result::ok)
        .expect("the client's report after the restart");
    assert!(child.wait().unwrap().success());
    let new = service_pid(&sb);
    assert_ne!(new, old, "the same service still runs");
    serde_json::from_str(&last).unwrap()
}

fn check(report: &Value) {
    assert_eq!(report["first"]["rows"], json!([[42]]), "{report}");
    assert_eq!(report["second"]["rows"], json!([[42]]), "{report}");
    let after: Vec<&str> = report["after"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(after.contains(&"sqlite__query"), "{report}");
}

#[test]
fn a_killed_service_is_started_again_and_the_client_session_goes_on() {
    check(&resume_with("-9"));
}

#[test]
fn a_service_stopped_by_sigterm_is_started_again_and_the_client_session_goes_on() {
    check(&resume_with("-15"));
}

#[test]
fn shutdown_still_ends_the_gateway_session() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let argv = sb.gateway_argv();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    use std::io::Write;
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"raw","version":"0"}}}}}}"#
    )
    .unwrap();
    assert!(stdout
        .next()
        .and_then(Result::ok)
        .unwrap()
        .contains("\"id\":1"));
    sb.ok(&["shutdown"]);
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the gateway should say the service stopped"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("the service stopped"), "{err}");
    // And it did not start another one.
    assert!(sb.json(&["doctor"])["service_pid"].is_null());
}
