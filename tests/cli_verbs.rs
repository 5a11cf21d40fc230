//! The CLI's verbs as scripts use them: `call` takes its arguments from
//! stdin (`-`) or a file (`--args-file`), so a 140 KB argument works where a
//! command line fails with "Argument list too long"; `logs --json` gives one
//! object per line; `tools NAME TOOL` shows one tool; `add NAME --json`
//! takes a whole definition; `info` shows one connector whole; every
//! connector has a `phase`. Against the real SQLite skill and
//! server-everything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{code, stderr, Sandbox};
use serde_json::{json, Value};

fn long_query() -> String {
    json!({"sql": format!("select length('{}') as n", "x".repeat(140_000))}).to_string()
}

#[test]
fn long_arguments_come_from_stdin_or_a_file() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);

    let mut child = sb
        .command()
        .args(["call", "sqlite", "query", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(long_query().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["structuredContent"]["rows"],
        json!([[140_000]]),
        "{result}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("args.json");
    std::fs::write(&file, long_query()).unwrap();
    let result = sb.json(&[
        "call",
        "sqlite",
        "query",
        "--args-file",
        &file.display().to_string(),
    ]);
    assert_eq!(
        result["structuredContent"]["rows"],
        json!([[140_000]]),
        "{result}"
    );

    let out = sb.run(&[
        "call",
        "sqlite",
        "query",
        "--args-file",
        "/nonexistent/args.json",
    ]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/args.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn logs_json_is_one_object_per_line() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let text = sb.ok(&["logs", "sqlite", "--json"]);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["source"] == "switchboard"
            && l["text"].as_str().unwrap().contains("-> connected")
            && l["time"].is_string()),
        "{text}"
    );
}

#[test]
fn one_tool_is_shown_with_its_hints_and_arguments() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let text = sb.ok(&["tools", "sqlite", "query"]);
    assert!(text.starts_with("query"), "{text}");
    assert!(text.contains("Hints: read-only"), "{text}");
    assert!(text.contains("  sql (string, required) — "), "{text}");
    let tool = sb.json(&["tools", "sqlite", "query"]);
    assert_eq!(tool["name"], "query");
    assert!(
        tool["inputSchema"]["properties"]["sql"].is_object(),
        "{tool}"
    );
    let out = sb.run(&["tools", "sqlite", "qury"]);
    assert_eq!(code(&out), 12, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean `query`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn add_takes_a_whole_definition_as_json_and_keeps_secrets_out_of_settings() {
    let sb = Sandbox::new();
    let definition = json!({
        "command": "node",
        "args": [common::server_everything(), "stdio"],
        "env": {"MODE": "fast", "API_TOKEN": "sb-addjson-secret-4c1d9e"},
    })
    .to_string();
    // The definition's `--json` also asks for JSON output.
    let text = sb.ok(&["add", "ev", "--json", &definition]);
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["name"], "ev");
    let settings = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(!settings.contains("sb-addjson-secret-4c1d9e"), "{settings}");
    sb.ok(&["connect", "ev"]);
    let env: Value = serde_json::from_str(&sb.ok(&["call", "ev", "get-env", "{}"])).unwrap();
    assert_eq!(env["MODE"], "fast");
    assert_eq!(env["API_TOKEN"], "sb-addjson-secret-4c1d9e");

    let out = sb.run(&["add", "bad", "--json", "not json"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let out = sb.run(&["add", "nothing"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--json"), "{}", stderr(&out));
}

#[test]
fn info_shows_one_connector_whole() {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let text = sb.ok(&["info", "sqlite"]);
    for part in [
        "backend: skill sqlite",
        "status: connected",
        "path  = :memory:",
        "tools (6):",
        "  query  Run one read-only",
        "log: ",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
    let info = sb.json(&["info", "sqlite"]);
    assert_eq!(info["status"], "connected");
    assert!(info["config"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "path"));
    assert_eq!(info["tool_list"].as_array().unwrap().len(), 6);
    assert!(info["log_file"].as_str().unwrap().ends_with("sqlite.log"));
    let out = sb.run(&["info", "sqlit"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("did you mean `sqlite`?"));
}

#[test]
fn every_connector_has_a_phase() {
    let sb = Sandbox::new();
    assert_eq!(sb.json(&["status", "sqlite"])["phase"], "stopped");
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    assert_eq!(sb.json(&["status", "sqlite"])["phase"], "running");
    // No token, no terminal: waits for a value.
    let out = sb.run(&["connect", "github"]);
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    assert_eq!(sb.json(&["status", "github"])["phase"], "needs-config");
    let listed = sb.json(&["list"]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["phase"].as_str().is_some_and(|p| !p.is_empty())));
    let log = sb.ok(&["logs", "sqlite"]);
    assert!(log.contains("configuring -> connected (running)"), "{log}");
}

/// server-everything's `get-tiny-image` answers a PNG (and text): on a
/// terminal the image goes to a file under `--out-dir`, never to stdout as
/// base64; without `--out-dir` one line says what it is and how to save it.
#[test]
fn call_saves_images_to_the_out_dir_instead_of_printing_base64() {
    let sb = Sandbox::new();
    let everything = common::server_everything();
    sb.ok(&["add", "ev", "--command", "node", &everything, "stdio"]);
    sb.ok(&["connect", "ev"]);
    let direct: Value = sb.json(&["call", "ev", "get-tiny-image", "{}"]);
    let data = direct["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "image")
        .and_then(|c| c["data"].as_str())
        .expect("get-tiny-image answers an image")
        .to_string();

    let text = sb.ok(&["call", "ev", "get-tiny-image", "{}"]);
    assert!(!text.contains(&data[..40]), "base64 printed: {text}");
    assert!(
        text.contains("image image/png") && text.contains("--out-dir"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let text = sb.ok(&["call", "ev", "get-tiny-image", "{}", "--out-dir", out_dir]);
    let saved = dir.path().join("get-tiny-image-1.png");
    assert!(text.contains(&saved.display().to_string()), "{text}");
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");

    let out = sb.run(&[
        "call",
        "ev",
        "get-tiny-image",
        "{}",
        "--out-dir",
        "/nonexistent/dir",
    ]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("--out-dir"), "{}", stderr(&out));
}

/// `list` cuts a long error reason to the terminal's width (`COLUMNS`
/// here, as no test has a terminal), `--wide` and pipes show it whole;
/// status words are coloured when asked (`CLICOLOR_FORCE`) unless
/// `NO_COLOR` says no.
#[test]
fn list_cuts_long_reasons_to_the_width_and_colours_status_words() {
    let sb = Sandbox::new();
    let long = format!("the server says: {}", "x".repeat(150));
    let script = format!("echo '{long}' >&2; exit 3");
    sb.ok(&["add", "broken", "--command", "sh", "-c", &script]);
    let out = sb.run(&["connect", "broken"]);
    assert_ne!(code(&out), 0, "a missing program cannot connect");
    let stdout = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let broken = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("broken"))
            .unwrap_or_else(|| panic!("no row for broken: {text}"))
            .to_string()
    };

    let line = broken(&stdout(sb.run_env(&["list"], &[("COLUMNS", "80")])));
    assert_eq!(line.chars().count(), 80, "{line}");
    assert!(line.ends_with("…)") && line.contains("error ("), "{line}");
    let wide = stdout(sb.run_env(&["list", "--wide"], &[("COLUMNS", "80")]));
    assert!(broken(&wide).contains(&long), "{wide}");
    assert!(
        broken(&sb.ok(&["list"])).contains(&long),
        "a pipe gets whole lines"
    );

    let coloured = stdout(sb.run_env(&["list"], &[("CLICOLOR_FORCE", "1")]));
    assert!(
        broken(&coloured).contains("\u{1b}[31merror"),
        "{coloured:?}"
    );
    assert!(
        !coloured.lines().next().unwrap().contains('\u{1b}'),
        "the header stays plain"
    );
    let plain = stdout(sb.run_env(&["list"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

/// A connect that takes a while says what it waits for (a plain line on
/// stderr, as there is no terminal); `--json` prints nothing extra.
#[test]
fn a_slow_connect_says_what_it_waits_for_and_json_stays_quiet() {
    let sb = Sandbox::new();
    let everything = common::server_everything();
    let script = format!("sleep 3; exec node {everything} stdio");
    sb.ok(&["add", "slow", "--command", "sh", "-c", &script]);
    // The phase while the server runs but has not answered `initialize`.
    let mut connecting = sb.command();
    connecting.args(["connect", "slow"]);
    let watcher = std::thread::spawn(move || connecting.output());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = sb.json(&["status", "slow"]);
        if status["phase"] == "initializing" {
            assert_eq!(status["status"], "configuring");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never initializing: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = watcher.join().unwrap().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("slow: waiting for initialize (command sh)"),
        "{}",
        stderr(&out)
    );
    sb.ok(&["disconnect", "slow"]);
    let out = sb.run(&["connect", "slow", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("waiting for"), "{}", stderr(&out));
}

/// A server that announces icons (the Python SDK's, serverInfo.icons): the
/// connector carries the inline one for the dashboard, never the link to
/// elsewhere; a built-in connector carries its brand icon and category.
#[test]
fn a_servers_inline_icon_and_a_brand_icon_reach_the_connector() {
    let sb = Sandbox::new();
    let repo = common::repo();
    let python = repo.join("tests/peers/.venv/bin/python");
    let script = repo.join("tests/peers/icon_server.py");
    sb.ok(&[
        "add",
        "iconic",
        "--command",
        python.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
    let before = sb.json(&["info", "iconic"]);
    assert!(before.get("server_icon").is_none(), "{before}");
    sb.ok(&["connect", "iconic"]);
    let info = sb.json(&["status", "iconic"]);
    let icon = info["server_icon"].as_str().expect("the inline icon");
    assert!(icon.starts_with("data:image/svg+xml;base64,"), "{icon}");
    assert!(
        !info.to_string().contains("icons.example.invalid"),
        "{info}"
    );
    assert_eq!(info["category"], "Custom");

    let github = sb.json(&["status", "github"]);
    assert_eq!(github["icon"], "github");
    assert_eq!(github["category"], "Code");
}

/// `--backend` takes `docker` (alias `mcp`), `remote` or `skill`; anything
/// else is a usage error that lists them.
#[test]
fn an_unknown_backend_is_a_usage_error_naming_the_choices() {
    let sb = Sandbox::new();
    let out = sb.run(&["connect", "sqlite", "--backend", "cloud"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    for choice in ["docker", "remote", "skill"] {
        assert!(stderr(&out).contains(choice), "{}", stderr(&out));
    }
    sb.ok(&[
        "connect",
        "sqlite",
        "--backend",
        "skill",
        "--set",
        "path=:memory:",
    ]);
    let out = sb.run(&["connect", "sqlite", "--backend", "mcp"]);
    assert_ne!(code(&out), 2, "mcp is docker's alias: {}", stderr(&out));
}

/// The start timeout's bound (1 to 600 s) holds for every face: the CLI's
/// `--timeout` is refused past it as the API's `timeout_secs` is.
#[test]
fn a_start_timeout_past_ten_minutes_is_refused_from_the_cli() {
    let sb = Sandbox::new();
    for timeout in ["0", "601"] {
        let out = sb.run(&[
            "connect",
            "sqlite",
            "--set",
            "path=:memory:",
            "--timeout",
            timeout,
        ]);
        assert_ne!(code(&out), 0, "{timeout}");
        assert!(
            stderr(&out).contains("between 1 and 600 seconds"),
            "{}",
            stderr(&out)
        );
    }
    let status = sb.json(&["status", "sqlite"]);
    assert_eq!(status["status"], "disconnected", "{status}");
}
