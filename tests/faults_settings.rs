//! The settings file changed by someone else while the service runs: a
//! process rewriting it in place, an editor saving with temp + rename, a
//! hand edit of the keys Switchboard owns, and a file broken by hand. The
//! service must never lose the user's edit when it next writes (it re-reads
//! under the lock on every edit), must follow edits of its own keys (the
//! file watch), and must leave a broken file alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::path::Path;
use std::time::Duration;

use common::{alive, code, poll, stderr};
use faults_support::{add_bad, assert_consistent, bad_server, parse_settings, python, Guarded};
use serde_json::{json, Value};

/// How long the watch may take to act on a saved file.
const PICKUP: Duration = Duration::from_secs(10);

/// Saves like an editor: the whole new text to a temp file, then a rename.
fn save_like_an_editor(path: &Path, text: &str) {
    let temp = path.with_file_name(".settings.json.editor-swp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// Rewrites the file in place (same inode), as `echo > file` or a script does.
fn rewrite_in_place(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The file's text with `edit` applied to its parsed value, pretty-printed,
/// and a comment of the user's on top.
fn edited(path: &Path, comment: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value = parse_settings(path);
    edit(&mut value);
    format!(
        "// {comment}\n{}\n",
        serde_json::to_string_pretty(&value).unwrap()
    )
}

fn listed(sb: &common::Sandbox, name: &str) -> bool {
    sb.json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == name)
}

#[test]
fn edits_by_other_processes_survive_the_next_write() {
    let sb = Guarded::new();
    add_bad(&sb, "calm", "tiny.py", &[]);
    sb.ok(&["list"]);

    // Another process rewrites the file in place while the service runs.
    let text = edited(&sb.settings(), "edited in place", |v| {
        v["user.inPlace"] = json!(1);
    });
    rewrite_in_place(&sb.settings(), &text);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let after = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(after.starts_with("// edited in place\n"), "{after}");
    let settings = parse_settings(&sb.settings());
    assert_eq!(settings["user.inPlace"], 1);
    assert_eq!(settings["codebuddy.connectors.states"]["calm"], "connected");

    // An editor saves with temp + rename (a new inode) between two of our writes.
    let text = edited(&sb.settings(), "saved by an editor", |v| {
        v["user.renamed"] = json!({"nested": [1, 2, 3]});
    });
    save_like_an_editor(&sb.settings(), &text);
    assert_eq!(sb.ok(&["disconnect", "calm"]).trim(), "disconnected");
    let after = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(after.starts_with("// saved by an editor\n"), "{after}");
    let settings = parse_settings(&sb.settings());
    assert_eq!(settings["user.inPlace"], 1);
    assert_eq!(settings["user.renamed"], json!({"nested": [1, 2, 3]}));
    assert_eq!(
        settings["codebuddy.connectors.states"]["calm"],
        "disconnected"
    );
    assert!(settings["codebuddy.connectors.custom"]
        .get("calm")
        .is_some());
    assert_consistent(&sb, &["calm"]);
}

#[test]
fn hand_edits_of_our_keys_are_picked_up_while_running() {
    let sb = Guarded::new();
    std::fs::write(sb.settings(), "{\n  \"editor.fontSize\": 14\n}\n").unwrap();
    sb.ok(&["list"]);
    let (python, tiny) = (python(), bad_server("tiny.py"));

    // A custom connector added by hand.
    let text = edited(&sb.settings(), "by hand", |v| {
        v["codebuddy.connectors.custom"] = json!({"byhand": {"command": python, "args": [tiny]}});
    });
    save_like_an_editor(&sb.settings(), &text);
    assert!(
        poll(PICKUP, || listed(&sb, "byhand")),
        "a connector added by hand never showed up"
    );

    // Its status set to connected by hand: the service connects it.
    let text = edited(&sb.settings(), "by hand", |v| {
        v["codebuddy.connectors.states"] = json!({"byhand": "connected"});
    });
    rewrite_in_place(&sb.settings(), &text);
    let status = sb.wait_status("byhand", PICKUP, |s| s["status"] == "connected");
    let pid = status["pid"].as_u64().unwrap();
    assert!(alive(pid));
    assert_eq!(
        sb.ok(&["call", "byhand", "echo", r#"{"message":"hand"}"#])
            .trim(),
        "Echo: hand"
    );
    let settings = parse_settings(&sb.settings());
    assert!(settings["codebuddy.mcp.servers"].get("byhand").is_some());
    assert_eq!(settings["editor.fontSize"], 14);

    // Set back to disconnected by hand: the service stops it.
    let text = edited(&sb.settings(), "by hand", |v| {
        v["codebuddy.connectors.states"]["byhand"] = json!("disconnected");
    });
    save_like_an_editor(&sb.settings(), &text);
    sb.wait_status("byhand", PICKUP, |s| s["status"] == "disconnected");
    assert!(
        poll(Duration::from_secs(5), || !alive(pid)),
        "server outlived the hand edit"
    );
    assert_consistent(&sb, &["byhand"]);

    // Removed by hand: gone from the list.
    let text = edited(&sb.settings(), "by hand", |v| {
        v["codebuddy.connectors.custom"] = json!({});
    });
    save_like_an_editor(&sb.settings(), &text);
    assert!(
        poll(PICKUP, || !listed(&sb, "byhand")),
        "a connector removed by hand is still listed"
    );
    assert_eq!(code(&sb.run(&["status", "byhand"])), 3);
}

#[test]
fn a_file_broken_by_hand_is_reported_and_left_alone_while_running() {
    let sb = Guarded::new();
    add_bad(&sb, "calm", "tiny.py", &[]);
    add_bad(&sb, "other", "tiny.py", &[]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let pid = sb.json(&["status", "calm"])["pid"].as_u64().unwrap();
    let good = std::fs::read_to_string(sb.settings()).unwrap();

    let broken = format!("{}\n  \"oops\" 1\n", good.trim_end().trim_end_matches('}'));
    save_like_an_editor(&sb.settings(), &broken);
    let out = sb.run(&["connect", "other"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not valid JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(sb.settings()).unwrap(), broken);
    // Every command but shutdown and doctor refuses a broken file (the CLI
    // checks it first), reads included; the service keeps what runs.
    let out = sb.run(&["status", "calm"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(alive(pid));
    // The server, and the sandbox's processes it runs in.
    assert!(faults_support::owned_processes(&sb.home())
        .iter()
        .all(|(p, _)| faults_support::descends_from(*p, pid as i32)));

    // Fixed by hand: everything works again, the running state untouched.
    save_like_an_editor(&sb.settings(), &good);
    assert_eq!(sb.json(&["status", "other"])["status"], "disconnected");
    assert_eq!(sb.json(&["status", "calm"])["pid"].as_u64(), Some(pid));
    assert_eq!(sb.ok(&["connect", "other"]).trim(), "connected");
    assert_consistent(&sb, &["calm", "other"]);
}
