//! The connector core end to end through the CLI, against real MCP servers
//! from npm (`server-everything`) and PyPI (`mcp-server-time`), with the
//! settings file checked after each step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{alive, code, mcp_server_time, server_everything, stderr, Sandbox};
use serde_json::{json, Value};

const START: Duration = Duration::from_secs(60);

fn add_everything(sb: &Sandbox, name: &str) {
    sb.ok(&[
        "add",
        name,
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
}

#[test]
fn server_everything_connect_tools_call_status_disconnect() {
    let sb = Sandbox::new();
    add_everything(&sb, "everything");
    let settings = sb.settings_json();
    // It runs in the directory it was added from (this test's).
    let here = std::env::current_dir().unwrap().display().to_string();
    assert_eq!(
        settings["codebuddy.connectors.custom"]["everything"],
        json!({"command": "node", "args": [server_everything(), "stdio"], "cwd": here})
    );

    assert_eq!(sb.ok(&["connect", "everything"]).trim(), "connected");
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"]["everything"],
        json!({"type": "stdio", "command": "node", "args": [server_everything(), "stdio"], "cwd": here})
    );
    assert_eq!(
        settings["codebuddy.connectors.states"]["everything"],
        "connected"
    );

    let tools = sb.ok(&["tools", "everything"]);
    let echo = tools
        .lines()
        .find(|l| l.starts_with("echo "))
        .expect("echo tool listed");
    assert!(echo.contains("Echoes back"), "{echo}");

    let result = sb.ok(&["call", "everything", "echo", r#"{"message":"hi"}"#]);
    assert_eq!(result.trim(), "Echo: hi");

    let status = sb.json(&["status", "everything"]);
    assert_eq!(status["status"], "connected");
    assert_eq!(status["type"], "mcp");
    let pid = status["pid"].as_u64().expect("pid");
    assert!(alive(pid));
    let json_tools: Vec<Value> = serde_json::from_value(sb.json(&["tools", "everything"])).unwrap();
    assert_eq!(status["tools"].as_u64(), Some(json_tools.len() as u64));
    assert!(status["since"].as_str().is_some());

    assert_eq!(sb.ok(&["disconnect", "everything"]).trim(), "disconnected");
    assert!(!alive(pid), "server {pid} outlived its disconnect");
    let settings = sb.settings_json();
    assert_eq!(settings["codebuddy.mcp.servers"], json!({}));
    assert_eq!(
        settings["codebuddy.connectors.states"]["everything"],
        "disconnected"
    );

    sb.ok(&["remove", "everything"]);
    let settings = sb.settings_json();
    assert_eq!(settings["codebuddy.connectors.custom"], json!({}));
    assert_eq!(settings["codebuddy.connectors.states"], json!({}));
}

#[test]
fn mcp_server_time_from_pypi() {
    let sb = Sandbox::new();
    sb.ok(&["add", "time", "--command", &mcp_server_time()]);
    assert_eq!(sb.ok(&["connect", "time"]).trim(), "connected");
    let tools: Vec<Value> = serde_json::from_value(sb.json(&["tools", "time"])).unwrap();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"get_current_time"), "{names:?}");
    let result = sb.json(&["call", "time", "get_current_time", r#"{"timezone":"UTC"}"#]);
    let text = result["content"][0]["text"].as_str().expect("text result");
    let parsed: Value = serde_json::from_str(text).expect("the time server answers JSON");
    assert_eq!(parsed["timezone"], "UTC");
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.states"]["time"],
        "connected"
    );
    assert_eq!(sb.ok(&["disconnect", "time"]).trim(), "disconnected");
    assert!(sb.settings_json()["codebuddy.mcp.servers"]
        .get("time")
        .is_none());
}

#[test]
fn list_shows_the_catalog_and_custom_connectors() {
    let sb = Sandbox::new();
    let list = sb.json(&["list"]);
    let rows = list.as_array().expect("array");
    // The product page's 15, plus SQLite (a built-in skill).
    assert_eq!(rows.len(), 16);
    assert_eq!(rows[15]["name"], "sqlite");
    assert_eq!(rows[15]["type"], "skill");
    assert_eq!(rows[1]["name"], "github");
    assert_eq!(rows[1]["type"], "mcp");
    assert_eq!(rows[1]["backend"], "docker mcp/github");
    assert!(rows.iter().all(|r| r["status"] == "disconnected"));
    add_everything(&sb, "everything");
    let list = sb.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 17);
    assert_eq!(list[16]["name"], "everything");
    let human = sb.ok(&["list"]);
    assert!(human.lines().next().unwrap().starts_with("NAME"));
    assert!(human.contains("everything"));
}

#[test]
fn restarting_the_service_restores_connected_connectors() {
    let sb = Sandbox::new();
    add_everything(&sb, "a");
    add_everything(&sb, "b");
    sb.ok(&["connect", "a"]);
    let old_pid = sb.json(&["status", "a"])["pid"].as_u64().unwrap();
    assert_eq!(sb.ok(&["shutdown"]).trim(), "stopped");
    assert!(!alive(old_pid), "server outlived the service");
    // The persisted status survives the service.
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.states"]["a"],
        "connected"
    );

    let status = sb.wait_status("a", START, |s| s["status"] == "connected");
    let new_pid = status["pid"].as_u64().unwrap();
    assert_ne!(new_pid, old_pid);
    assert!(alive(new_pid));
    assert_eq!(sb.json(&["status", "b"])["status"], "disconnected");
    assert_eq!(
        sb.ok(&["call", "a", "echo", r#"{"message":"back"}"#])
            .trim(),
        "Echo: back"
    );
}

#[test]
fn a_server_killed_from_outside_goes_to_error_with_the_reason() {
    let sb = Sandbox::new();
    // No automatic restart here, so the `error` stays put to be seen.
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0 } }"#,
    )
    .unwrap();
    add_everything(&sb, "victim");
    sb.ok(&["connect", "victim"]);
    let pid = sb.json(&["status", "victim"])["pid"].as_u64().unwrap();
    // SAFETY-free: plain kill(1) of a process we started.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = sb.wait_status("victim", Duration::from_secs(10), |s| {
        s["status"] == "error"
    });
    let reason = status["error"].as_str().unwrap();
    assert!(reason.contains("signal 9"), "{reason}");
    assert!(reason.contains("gave up after 0 restarts"), "{reason}");
    // The settings file follows the state change: the write is
    // group-committed after it, so it is polled, not read once.
    let persisted = common::poll(Duration::from_secs(10), || {
        let settings = sb.settings_json();
        settings["codebuddy.connectors.states"]["victim"] == "error"
            && settings["codebuddy.mcp.servers"].get("victim").is_none()
    });
    assert!(persisted, "{}", sb.settings_json());
    let list = sb.json(&["list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "victim")
        .unwrap();
    assert_eq!(row["status"], "error");
    assert!(row["error"].as_str().unwrap().contains("signal 9"));
}

#[test]
fn bad_input_gets_one_clear_line_and_its_own_exit_code() {
    let sb = Sandbox::new();
    let before = || std::fs::read(sb.settings()).unwrap_or_default();

    let out = sb.run(&["connect", "nope"]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("unknown connector `nope`"));
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
    // A typo of a real name gets the name.
    let out = sb.run(&["status", "githb"]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("did you mean `github`?"),
        "{}",
        stderr(&out)
    );

    add_everything(&sb, "everything");
    let snapshot = before();
    let out = sb.run(&["add", "everything", "--command", "node"]);
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("already exists"));
    let out = sb.run(&["add", "github", "--command", "node"]);
    assert_eq!(code(&out), 4);
    let out = sb.run(&["add", "Bad Name", "--command", "node"]);
    assert_eq!(code(&out), 5);
    let out = sb.run(&[
        "add",
        "leaky",
        "--env",
        "API_TOKEN=abc",
        "--command",
        "node",
    ]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("--env API_TOKEN"));
    assert_eq!(before(), snapshot, "a refused add changed the settings");

    sb.ok(&["add", "ghost", "--command", "/no/such/program-xyz"]);
    let out = sb.run(&["connect", "ghost"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("was not found"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let status = sb.json(&["status", "ghost"]);
    assert_eq!(status["status"], "error");
    assert!(sb.settings_json()["codebuddy.mcp.servers"]
        .get("ghost")
        .is_none());

    let out = sb.run(&["call", "everything", "echo", "{}"]);
    assert_eq!(code(&out), 11, "not connected");
    sb.ok(&["connect", "everything"]);
    let out = sb.run(&["call", "everything", "echo", "{bad json"]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("not valid JSON"));
    let out = sb.run(&["call", "everything", "echo", "[1,2]"]);
    assert_eq!(code(&out), 5);
    let out = sb.run(&["call", "everything", "no_such_tool", "{}"]);
    assert_eq!(code(&out), 12);
    assert!(stderr(&out).contains("no tool `no_such_tool`"));

    // A server that exits at once: `error` with its exit code, nothing left running.
    sb.ok(&[
        "add",
        "quitter",
        "--command",
        "sh",
        "-c",
        "echo boom >&2; exit 3",
    ]);
    let out = sb.run(&["connect", "quitter"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("code 3"), "{}", stderr(&out));
    assert!(stderr(&out).contains("boom"), "{}", stderr(&out));

    // A server that never answers initialize: `error` naming the deadline.
    sb.ok(&["add", "mute", "--command", "sleep", "600"]);
    let out = sb.run(&["connect", "mute", "--timeout", "1"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("within 1s"), "{}", stderr(&out));
    let out = std::process::Command::new("pgrep")
        .args(["-f", "^sleep 600$"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "the mute server was left running");
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    let out = sb.run(&["add", "x"]);
    assert_eq!(code(&out), 2, "add without --command or --image");
    let out = sb.run(&["frobnicate"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn malformed_settings_are_reported_and_never_overwritten() {
    let sb = Sandbox::new();
    let broken = "{\n  \"editor.fontSize\": 14,\n  \"oops\" 1\n}\n";
    std::fs::write(sb.settings(), broken).unwrap();
    let out = sb.run(&["list"]);
    assert_eq!(code(&out), 8);
    let message = stderr(&out);
    assert!(message.contains("line 3"), "{message}");
    assert!(
        message.contains(&sb.settings().display().to_string()),
        "{message}"
    );
    let out = sb.run(&["add", "x", "--command", "node"]);
    assert_eq!(code(&out), 8);
    assert_eq!(std::fs::read_to_string(sb.settings()).unwrap(), broken);
}

#[test]
fn the_rest_of_the_settings_file_is_kept_byte_for_byte() {
    let sb = Sandbox::new();
    let original = "// my settings\n{\n    \"editor.fontSize\": 14, // big\n    /* keep */ \"files.exclude\": { \"**/.git\": true, },\n    \"codebuddy.mcp.servers\": {\n        \"mine\": { \"command\": \"my-server\" }, // not a connector\n    },\n}\n";
    std::fs::write(sb.settings(), original).unwrap();
    add_everything(&sb, "everything");
    sb.ok(&["connect", "everything"]);
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(text.starts_with("// my settings\n{\n    \"editor.fontSize\": 14, // big\n    /* keep */ \"files.exclude\": { \"**/.git\": true, },\n    \"codebuddy.mcp.servers\": {\n        \"mine\": { \"command\": \"my-server\" }, // not a connector\n"), "{text}");
    sb.ok(&["disconnect", "everything"]);
    sb.ok(&["remove", "everything"]);
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"],
        json!({"mine": {"command": "my-server"}})
    );
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        text.contains("\"mine\": { \"command\": \"my-server\" }, // not a connector"),
        "{text}"
    );
    assert!(text.starts_with("// my settings\n{\n    \"editor.fontSize\": 14, // big\n    /* keep */ \"files.exclude\": { \"**/.git\": true, },\n"), "{text}");
}

#[test]
fn doctor_names_launchers_and_paths() {
    let sb = Sandbox::new();
    let report = sb.json(&["doctor"]);
    let names: Vec<&str> = report["launchers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["docker", "podman", "node", "npx", "uvx", "bwrap"]);
    assert_eq!(report["settings"], sb.settings().display().to_string());
    assert_eq!(report["data_dir"], sb.home().display().to_string());
    let node = &report["launchers"][2];
    assert_eq!(node["ok"], true, "node is needed by the tests themselves");
    // The tests run as root, which may make control groups: a program's
    // limits are kept, and doctor says where.
    let limits = report["program_limits"].as_str().unwrap();
    assert!(limits.starts_with("kept: "), "{report}");
}

#[test]
fn logs_show_stderr_and_lifecycle_and_follow_new_lines() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    add_everything(&sb, "everything");
    sb.ok(&["connect", "everything"]);
    let logs = sb.ok(&["logs", "everything"]);
    assert!(logs.contains("Starting default (STDIO) server"), "{logs}");
    let lifecycle: Vec<&str> = logs
        .lines()
        .filter(|l| l.starts_with("[switchboard "))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        lifecycle,
        [
            "disconnected -> configuring (starting)",
            "configuring -> connected (running)"
        ]
    );
    assert_eq!(sb.ok(&["logs", "everything", "-n", "1"]).lines().count(), 1);
    assert_eq!(code(&sb.run(&["logs", "nope"])), 3);

    let mut follower = sb
        .command()
        .args(["logs", "everything", "-f", "-n", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    sb.ok(&["disconnect", "everything"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("connected -> disconnected"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("follow did not show the disconnect; saw {seen:?}"),
        }
    }
    follower.kill().unwrap();
    let _ = follower.wait();
}

#[test]
fn edits_of_the_settings_file_by_hand_are_followed() {
    let sb = Sandbox::new();
    sb.ok(&["list"]); // the service runs and watches the file
                      // An editor's save: write a temp file, rename it over the original.
    let save = |text: &str| {
        let tmp = sb.dir.path().join(".settings.json.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, sb.settings()).unwrap();
    };
    let custom = json!({"hand": {"command": "node", "args": [server_everything(), "stdio"]}});
    let text = format!(
        "// edited by hand\n{{\n  \"editor.tabSize\": 2,\n  \"codebuddy.connectors.custom\": {custom},\n  \"codebuddy.connectors.states\": {{ \"hand\": \"connected\" }}\n}}\n"
    );
    save(&text);
    if !common::poll(Duration::from_secs(20), || {
        sb.run(&["status", "hand"]).status.success()
    }) {
        let log = std::fs::read_to_string(sb.home().join("logs/service.log")).unwrap_or_default();
        panic!("the hand-added connector never appeared; service log:\n{log}");
    }
    let status = sb.wait_status("hand", START, |s| s["status"] == "connected");
    assert!(alive(status["pid"].as_u64().unwrap()));
    let now = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        now.starts_with("// edited by hand\n{\n  \"editor.tabSize\": 2,"),
        "{now}"
    );

    let text = std::fs::read_to_string(sb.settings())
        .unwrap()
        .replace("\"hand\": \"connected\"", "\"hand\": \"disconnected\"");
    save(&text);
    sb.wait_status("hand", START, |s| s["status"] == "disconnected");
    // The running config goes in a settings write after the state change.
    let removed = common::poll(Duration::from_secs(10), || {
        sb.settings_json()["codebuddy.mcp.servers"]
            .get("hand")
            .is_none()
    });
    assert!(removed, "{}", sb.settings_json());
}

#[test]
fn ls_and_rm_are_list_and_remove() {
    let sb = Sandbox::new();
    add_everything(&sb, "everything");
    let listed = sb.json(&["ls"]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "everything"));
    sb.ok(&["rm", "everything"]);
    assert!(!sb
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "everything"));
}
