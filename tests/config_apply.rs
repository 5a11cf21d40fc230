//! A change to a connected connector takes effect: a new field value, a
//! new secret, a custom definition edited by hand — each restarts what
//! runs (and says so) instead of leaving a server that runs the old one
//! while `config` shows the new. `restart` does the same on request. The
//! newest value wins over one an earlier `connect` gave from its
//! environment. Against the real SQLite skill and `server-everything`'s
//! `get-env` tool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{code, poll, server_everything, stderr, Sandbox};

fn server_env(sb: &Sandbox, name: &str) -> BTreeMap<String, String> {
    let text = sb.ok(&["call", name, "get-env", "{}"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("get-env: {e}: {text}"))
}

fn secret_set(sb: &Sandbox, name: &str, field: &str, value: &str) -> Output {
    let mut child = sb
        .command()
        .args(["secret", "set", name, field])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{value}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn pid(sb: &Sandbox, name: &str) -> u64 {
    sb.json(&["status", name])["pid"].as_u64().expect("a pid")
}

#[test]
fn a_changed_value_on_a_connected_skill_restarts_it_and_takes_effect() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db").display().to_string();
    let path = format!("path={db}");
    sb.ok(&[
        "connect",
        "sqlite",
        "--set",
        &path,
        "--set",
        "allow_writes=true",
    ]);
    let create = r#"{"sql":"CREATE TABLE t (x INTEGER)"}"#;
    sb.ok(&["call", "sqlite", "execute", create]);

    // Writes turned off while connected: said, and in force at once.
    let out = sb.run(&["connect", "sqlite", "--set", "allow_writes=false"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "connected");
    assert!(
        stderr(&out).contains("restarted sqlite"),
        "the restart is not said: {}",
        stderr(&out)
    );
    let insert = r#"{"sql":"INSERT INTO t VALUES (1)"}"#;
    let out = sb.run(&["call", "sqlite", "execute", insert]);
    assert!(
        !out.status.success(),
        "a write succeeded after allow_writes=false"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("allow_writes")
            || stderr(&out).contains("allow_writes"),
        "{}",
        stderr(&out)
    );

    // The same value again changes nothing: no restart, no note.
    let out = sb.run(&["connect", "sqlite", "--set", "allow_writes=false"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("restarted"), "{}", stderr(&out));
}

#[test]
fn a_new_secret_restarts_a_connected_server_and_wins_over_an_earlier_session_value() {
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "everything",
        "--env",
        "API_TOKEN",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    let out = sb.run_env(&["connect", "everything"], &[("API_TOKEN", "old-token")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server_env(&sb, "everything")["API_TOKEN"], "old-token");
    let before = pid(&sb, "everything");

    // Replaced while connected: the running server gets it now.
    let out = secret_set(&sb, "everything", "API_TOKEN", "new-token");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restarted everything"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server_env(&sb, "everything")["API_TOKEN"], "new-token");
    assert_ne!(
        pid(&sb, "everything"),
        before,
        "the same process still runs"
    );

    // And again after a disconnect: the value the first connect gave from
    // its environment (kept in memory) no longer shadows the stored one.
    sb.ok(&["disconnect", "everything"]);
    let mut cmd = sb.command();
    let out = cmd
        .env_remove("API_TOKEN")
        .args(["connect", "everything"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server_env(&sb, "everything")["API_TOKEN"], "new-token");
}

#[test]
fn a_custom_definition_edited_by_hand_restarts_the_connected_server() {
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "everything",
        "--env",
        "MODE=first",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    sb.ok(&["connect", "everything"]);
    assert_eq!(server_env(&sb, "everything")["MODE"], "first");

    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(text.contains("\"first\""), "{text}");
    std::fs::write(sb.settings(), text.replace("\"first\"", "\"second\"")).unwrap();
    let applied = poll(Duration::from_secs(20), || {
        let out = sb.run(&["call", "everything", "get-env", "{}"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("\"second\"")
    });
    assert!(applied, "the edited definition never reached the server");
    sb.wait_status("everything", Duration::from_secs(20), |s| {
        s["status"] == "connected"
    });
}

#[test]
fn restart_restarts_a_connected_connector_and_refuses_a_disconnected_one() {
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "everything",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    let out = sb.run(&["restart", "everything"]);
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("not connected"), "{}", stderr(&out));
    assert_eq!(
        sb.json(&["status", "everything"])["status"],
        "disconnected",
        "restart connected what the user left disconnected"
    );

    sb.ok(&["connect", "everything"]);
    let before = pid(&sb, "everything");
    let info = sb.json(&["restart", "everything"]);
    assert_eq!(info["status"], "connected");
    assert!(
        info["restarted"]
            .as_str()
            .is_some_and(|n| n.contains("restarted")),
        "{info}"
    );
    let after = pid(&sb, "everything");
    assert_ne!(before, after);
    assert!(
        !common::alive(before),
        "the old server outlived its restart"
    );
    assert_eq!(sb.json(&["status", "everything"])["restarts"], 0);
    let _ = server_env(&sb, "everything");
}

#[test]
fn secret_ls_names_what_is_stored_and_never_the_value() {
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "everything",
        "--env",
        "API_TOKEN",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    assert_eq!(sb.json(&["secret", "ls"]), serde_json::json!([]));
    let out = secret_set(&sb, "everything", "API_TOKEN", "sb-ls-secret-7f3a");
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = sb.json(&["secret", "ls", "everything"]);
    assert_eq!(
        listed,
        serde_json::json!([{"connector": "everything", "field": "API_TOKEN"}])
    );
    let text = sb.ok(&["secret", "ls"]);
    assert!(
        text.contains("everything") && text.contains("API_TOKEN"),
        "{text}"
    );
    assert!(!text.contains("sb-ls-secret-7f3a"));
    let out = sb.run(&["secret", "ls", "nosuch"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}
