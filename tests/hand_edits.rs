//! Settings edited by hand into something the service cannot use: a file
//! that does not parse, a custom connector that fails the checks `add`
//! runs. Each problem is logged once per change, not on every read; an
//! invalid connector stays visible as `error` with the reason and the
//! line to fix, refuses to connect (exit 8), and comes back when repaired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{alive, code, poll, server_everything, stderr, Sandbox};
use serde_json::Value;

fn service_log(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.home().join("logs/service.log")).unwrap_or_default()
}

fn count(sb: &Sandbox, needle: &str) -> usize {
    service_log(sb).matches(needle).count()
}

/// Adds `text` as the last top-level key of the settings file.
fn append_key(sb: &Sandbox, text: &str) {
    let current = std::fs::read_to_string(sb.settings()).unwrap();
    let body = current.trim_end().strip_suffix('}').unwrap().trim_end();
    std::fs::write(sb.settings(), format!("{body},\n{text}\n}}\n")).unwrap();
}

fn connector(sb: &Sandbox, name: &str) -> Value {
    let list = sb.json(&["list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_broken_file_and_an_invalid_connector_are_each_logged_once_per_change() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);

    // A custom connector that fails validation, while the service keeps
    // writing the file (connects and disconnects change its statuses).
    append_key(
        &sb,
        r#""codebuddy.connectors.custom": { "bad": { "command": "" } }"#,
    );
    assert!(poll(Duration::from_secs(10), || count(&sb, "`bad`") >= 1));
    for _ in 0..3 {
        sb.ok(&["disconnect", "sqlite"]);
        sb.ok(&["connect", "sqlite"]);
    }
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        count(&sb, "the definition of `bad`"),
        1,
        "logged again without a change of the problem:\n{}",
        service_log(&sb)
    );

    // A file that does not parse: reported once, not for as long as it stays so.
    let good = std::fs::read_to_string(sb.settings()).unwrap();
    std::fs::write(sb.settings(), format!("{good}\n{{ broken")).unwrap();
    assert!(poll(Duration::from_secs(10), || count(
        &sb,
        "does not parse"
    ) >= 1));
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(count(&sb, "does not parse"), 1, "{}", service_log(&sb));
    // The next change is a new report.
    std::fs::write(sb.settings(), format!("{good}\n{{ still broken")).unwrap();
    assert!(poll(Duration::from_secs(10), || count(
        &sb,
        "does not parse"
    ) == 2));
    std::fs::write(sb.settings(), good).unwrap();
}

#[test]
fn an_invalid_hand_added_connector_shows_as_error_and_refuses_to_connect() {
    let sb = Sandbox::new();
    std::fs::write(sb.settings(), "{\n  \"editor.fontSize\": 14\n}\n").unwrap();
    sb.ok(&["list"]);
    append_key(
        &sb,
        r#""codebuddy.connectors.custom": {
  "bad": { "command": "" }
}"#,
    );
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    let line = text.lines().position(|l| l.contains("\"bad\"")).unwrap() + 1;
    assert!(poll(Duration::from_secs(10), || connector(&sb, "bad")
        ["status"]
        == "error"));
    let shown = connector(&sb, "bad");
    let reason = shown["error"].as_str().unwrap();
    assert!(reason.contains(&format!("line {line}")), "{reason}");
    assert!(reason.contains("`command` is empty"), "{reason}");
    assert!(reason.contains("settings.json"), "{reason}");

    let out = sb.run(&["connect", "bad"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`command` is empty"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("unknown connector"));

    // Repaired by hand: usable at once.
    let everything = server_everything();
    let repaired = text.replace(
        r#""bad": { "command": "" }"#,
        &format!(r#""bad": {{ "command": "node", "args": ["{everything}", "stdio"] }}"#),
    );
    std::fs::write(sb.settings(), &repaired).unwrap();
    assert!(poll(Duration::from_secs(10), || connector(&sb, "bad")
        ["status"]
        == "disconnected"));
    sb.ok(&["connect", "bad"]);
    let pid = sb.json(&["status", "bad"])["pid"].as_u64().unwrap();

    // Broken again while it runs: its server stops and it shows why.
    let current = std::fs::read_to_string(sb.settings()).unwrap();
    std::fs::write(
        sb.settings(),
        current.replace(r#""command": "node""#, r#""command": """#),
    )
    .unwrap();
    let status = sb.wait_status("bad", Duration::from_secs(10), |s| s["status"] == "error");
    assert!(
        status["error"].as_str().unwrap().contains("is invalid"),
        "{status}"
    );
    assert!(poll(Duration::from_secs(10), || !alive(pid)));
}
