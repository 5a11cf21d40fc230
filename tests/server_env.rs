//! What a native server inherits, against the real `server-everything`
//! (npm) and its `get-env` tool: only the minimal set the MCP SDKs pass
//! (PATH, HOME, the locale, TMPDIR, USER, …) plus what its connector names;
//! never a variable exported in the shell that happened to start the
//! service. The service runs in its data dir and a server in the directory
//! its connector was added from. A later command whose environment the
//! service would ignore (its container engine) is refused, and `doctor`
//! reports what the service itself uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{code, server_everything, stderr, Sandbox};
use serde_json::Value;

const LEAK: &str = "sb-leak-aws-3f9a0c7e";

/// Runs the CLI in `dir` with extra environment.
fn run_in(sb: &Sandbox, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = sb.command();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.current_dir(dir).args(args).output().unwrap()
}

/// The server's environment, as its `get-env` tool reports it.
fn server_env(sb: &Sandbox, name: &str) -> BTreeMap<String, String> {
    let text = sb.ok(&["call", name, "get-env", "{}"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("get-env: {e}: {text}"))
}

fn cwd_of(pid: u64) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap()
}

#[test]
fn a_native_server_gets_a_minimal_environment_and_a_defined_directory() {
    let mut sb = Sandbox::new();
    // Exported in the shell of every command, hence in the service's own
    // environment: none of it may reach a server.
    for (k, v) in [
        ("AWS_SECRET_ACCESS_KEY", LEAK),
        ("SB_SHELL_ONLY", "shell-only"),
        ("NODE_OPTIONS", "--max-old-space-size=64"),
        ("LANG", "C.UTF-8"),
        ("LC_TIME", "C"),
    ] {
        sb.extra_env.push((k.into(), v.into()));
    }
    let started_in = tempfile::tempdir().unwrap();
    let added_in = tempfile::tempdir().unwrap();
    // The service starts from one directory …
    let out = run_in(&sb, started_in.path(), &["list"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // … the connector is added from another, with a fixed variable and a
    // pass-through one.
    let everything = server_everything();
    let out = run_in(
        &sb,
        added_in.path(),
        &[
            "add",
            "everything",
            "--env",
            "MODE=fast",
            "--env",
            "API_TOKEN",
            "--command",
            "node",
            &everything,
            "stdio",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The pass-through value comes from the `connect` that asks.
    let out = sb.run_env(&["connect", "everything"], &[("API_TOKEN", "from-connect")]);
    assert!(out.status.success(), "{}", stderr(&out));

    let env = server_env(&sb, "everything");
    assert_eq!(env.get("MODE").map(String::as_str), Some("fast"));
    assert_eq!(
        env.get("API_TOKEN").map(String::as_str),
        Some("from-connect")
    );
    assert_eq!(env.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(env.get("LC_TIME").map(String::as_str), Some("C"));
    assert!(
        env.contains_key("PATH") && env.contains_key("HOME"),
        "{env:?}"
    );
    for leaked in ["AWS_SECRET_ACCESS_KEY", "SB_SHELL_ONLY", "NODE_OPTIONS"] {
        assert!(!env.contains_key(leaked), "{leaked} reached the server");
    }
    // Nothing else at all: the SDKs' set, the locale, TMPDIR, the
    // connector's own, and the mark that names the service's processes.
    let allowed = [
        "HOME",
        "LOGNAME",
        "PATH",
        "SHELL",
        "TERM",
        "USER",
        "LANG",
        "TMPDIR",
        "MODE",
        "API_TOKEN",
        "SWITCHBOARD_OWNER",
        // bubblewrap names the working directory it starts the program
        // in, which the program can read from getcwd() anyway.
        "PWD",
    ];
    let extra: Vec<&String> = env
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()) && !k.starts_with("LC_"))
        .collect();
    assert!(extra.is_empty(), "unexpected variables: {extra:?}");
    assert!(!serde_json::to_string(&env).unwrap().contains(LEAK));

    // The server runs where the connector was added; the service in its
    // data dir, not in the directory of the shell that started it.
    let status = sb.json(&["status", "everything"]);
    let pid = status["pid"].as_u64().unwrap();
    assert_eq!(cwd_of(pid), added_in.path().canonicalize().unwrap());
    let doctor = sb.json(&["doctor"]);
    let service = doctor["service_pid"].as_u64().expect("a service answered");
    assert_eq!(cwd_of(service), sb.home().canonicalize().unwrap());
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.custom"]["everything"]["cwd"],
        added_in.path().display().to_string()
    );
}

#[test]
fn field_values_come_from_the_command_that_connects_not_the_service() {
    let mut sb = Sandbox::new();
    // The shell that starts the service has the variable …
    sb.extra_env
        .push(("API_TOKEN".into(), "from-service-shell".into()));
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
    // … a later `connect` without it does not get the service's copy.
    sb.extra_env.clear();
    let mut cmd = sb.command();
    let out = cmd
        .env_remove("API_TOKEN")
        .args(["connect", "everything"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    assert!(stderr(&out).contains("API_TOKEN"), "{}", stderr(&out));
    // With it, the server gets exactly this command's value.
    let out = sb.run_env(&["connect", "everything"], &[("API_TOKEN", "from-connect")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server_env(&sb, "everything")
            .get("API_TOKEN")
            .map(String::as_str),
        Some("from-connect")
    );
}

#[test]
fn another_container_engine_in_a_later_command_is_refused_and_doctor_tells() {
    const ENGINE: &str = "SWITCHBOARD_CONTAINER_ENGINE";
    let sb = Sandbox::new();
    // The service starts without the variable (the sandbox removes it).
    sb.ok(&["list"]);
    let before = std::fs::read(sb.settings()).unwrap_or_default();

    let out = sb.run_env(&["connect", "github"], &[(ENGINE, "/opt/no-such-engine")]);
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    let message = stderr(&out);
    for part in [
        "SWITCHBOARD_CONTAINER_ENGINE=/opt/no-such-engine",
        "started with SWITCHBOARD_CONTAINER_ENGINE unset",
        "switchboard shutdown",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
    assert_eq!(std::fs::read(sb.settings()).unwrap_or_default(), before);

    // `doctor` asks the service, and says where this command differs.
    let out = sb.run_env(&["doctor", "--json"], &[(ENGINE, "/opt/no-such-engine")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked_by"], "service");
    assert!(report["environment"].get(ENGINE).is_none(), "{report}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("/opt/no-such-engine"), "{problems}");

    // The fix it names works: a service started by the next command uses
    // that command's engine, and `doctor` shows that one.
    let out = sb.run_env(&["shutdown"], &[(ENGINE, "/opt/no-such-engine")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sb.run_env(&["list"], &[(ENGINE, "/opt/no-such-engine")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sb.run_env(&["doctor", "--json"], &[(ENGINE, "/opt/no-such-engine")]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked_by"], "service");
    assert_eq!(report["environment"][ENGINE], "/opt/no-such-engine");
    assert!(report["container_engine"].is_null(), "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));
    // A command without the variable uses the service as it is.
    sb.ok(&["list"]);
}
