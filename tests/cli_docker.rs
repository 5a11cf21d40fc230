//! The Docker launcher for real: Podman behind the `docker` command, on an
//! image built locally by `tests/support/build-test-image.sh` (it runs
//! `server-everything` over stdio and is tagged `mcp/github`, so the
//! catalog's GitHub connector starts it exactly as on a user's machine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{code, poll, stderr, Sandbox};
use serde_json::json;

const TOKEN: &str = "ghp_valid_test_token_4f9c2e7d1b";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn require_image() {
    let out = docker(&["image", "inspect", "--format", "{{.Id}}", "mcp/github"]);
    assert!(
        !out.trim().is_empty(),
        "the local test image mcp/github is missing: run `bash .ci/install-peers.sh`"
    );
}

fn container_exists(name: &str) -> bool {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .any(|l| l.trim() == name)
}

#[test]
fn catalog_github_runs_in_a_container_and_stops_with_it() {
    require_image();
    let sb = Sandbox::new();
    let out = sb.run_env(
        &["connect", "github"],
        &[("GITHUB_PERSONAL_ACCESS_TOKEN", TOKEN)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "connected");

    let status = sb.json(&["status", "github"]);
    assert_eq!(status["status"], "connected");
    assert_eq!(status["backend"], "docker mcp/github");
    let container = status["container"].as_str().expect("container").to_string();
    assert!(container_exists(&container));
    let labels = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"switchboard.connector\"}}",
        &container,
    ]);
    assert_eq!(labels.trim(), "github");

    // The generated config: VS Code's shape, `-e NAME` without a value, and
    // a reference where the token would be.
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"]["github"],
        json!({
            "type": "stdio",
            "command": "docker",
            "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "mcp/github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_PERSONAL_ACCESS_TOKEN}"}
        })
    );
    // The token reached the server, and nothing else shows it.
    let env_dump = sb.ok(&["call", "github", "get-env", "{}"]);
    assert!(
        env_dump.contains(TOKEN),
        "the container did not get the token"
    );
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains(TOKEN),
        "token visible in ps"
    );
    assert!(!std::fs::read_to_string(sb.settings())
        .unwrap()
        .contains(TOKEN));
    for entry in std::fs::read_dir(sb.home().join("logs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(TOKEN), "token in a log file");
    }

    assert_eq!(
        sb.ok(&[
            "call",
            "github",
            "echo",
            r#"{"message":"from a container"}"#
        ])
        .trim(),
        "Echo: from a container"
    );
    assert_eq!(sb.ok(&["disconnect", "github"]).trim(), "disconnected");
    assert!(
        !container_exists(&container),
        "container outlived disconnect"
    );
    assert!(sb.settings_json()["codebuddy.mcp.servers"]
        .get("github")
        .is_none());
}

#[test]
fn custom_image_connector_and_outside_kill_and_shutdown() {
    require_image();
    let sb = Sandbox::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0 } }"#,
    )
    .unwrap();
    sb.ok(&[
        "add",
        "boxed",
        "--image",
        "localhost/switchboard-test/everything",
        "stdio",
    ]);
    assert_eq!(sb.ok(&["connect", "boxed"]).trim(), "connected");
    let container = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();

    docker(&["kill", &container]);
    let status = sb.wait_status("boxed", Duration::from_secs(5), |s| s["status"] == "error");
    // Whichever is first: the engine's `die` event or the client's exit.
    let reason = status["error"].as_str().unwrap();
    assert!(
        reason.contains("was stopped from outside with code 137") || reason.contains("exited"),
        "{status}"
    );
    assert_eq!(status["restarts"], 0);
    assert!(poll(Duration::from_secs(20), || !container_exists(
        &container
    )));

    assert_eq!(sb.ok(&["connect", "boxed"]).trim(), "connected");
    let container = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sb.ok(&["shutdown"]).trim(), "stopped");
    assert!(
        !container_exists(&container),
        "container outlived the service"
    );
}

#[test]
fn a_missing_image_and_a_missing_engine_are_clear_errors() {
    require_image();
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "ghost",
        "--image",
        "localhost/switchboard-test/no-such-image",
    ]);
    let out = sb.run(&["connect", "ghost"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-image"), "{}", stderr(&out));
    assert!(stderr(&out).contains("could not start"), "{}", stderr(&out));

    let sb = Sandbox::new();
    let out = sb.run_env(
        &["connect", "github"],
        &[
            ("GITHUB_PERSONAL_ACCESS_TOKEN", TOKEN),
            ("SWITCHBOARD_CONTAINER_ENGINE", "/nonexistent/docker"),
        ],
    );
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no container engine"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(TOKEN));
    assert_eq!(sb.json(&["status", "github"])["status"], "error");
}

fn pgrep(pattern: &str) -> Vec<u64> {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn a_killed_service_leaves_nothing_behind_after_the_next_start() {
    require_image();
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "box-one",
        "--image",
        "localhost/switchboard-test/everything",
        "stdio",
    ]);
    sb.ok(&[
        "add",
        "box-two",
        "--image",
        "localhost/switchboard-test/everything",
        "stdio",
    ]);
    // A native server with a grandchild that no parent-death signal reaches.
    let script = format!(
        "sleep 31337 & exec node {} stdio",
        common::server_everything()
    );
    sb.ok(&["add", "family", "--command", "sh", "-c", &script]);
    for name in ["box-one", "box-two", "family"] {
        assert_eq!(sb.ok(&["connect", name]).trim(), "connected");
    }
    let old: Vec<String> = ["box-one", "box-two"]
        .iter()
        .map(|n| {
            sb.json(&["status", n])["container"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(old.iter().all(|c| container_exists(c)));
    assert_eq!(pgrep("^sleep 31337$").len(), 1);

    let service = pgrep(&format!("{} serve", sb.settings().display()));
    assert_eq!(service.len(), 1, "one service runs: {service:?}");
    Command::new("kill")
        .args(["-9", &service[0].to_string()])
        .status()
        .unwrap();

    // The next command starts a new service, which cleans up and restores.
    for name in ["box-one", "box-two", "family"] {
        sb.wait_status(name, Duration::from_secs(60), |s| {
            s["status"] == "connected"
        });
    }
    assert!(
        poll(Duration::from_secs(30), || old
            .iter()
            .all(|c| !container_exists(c))),
        "stale containers remain: {old:?}"
    );
    assert!(
        poll(Duration::from_secs(10), || pgrep("^sleep 31337$").len()
            == 1),
        "the orphaned grandchild was not reaped (or not restarted)"
    );
    let new: Vec<String> = ["box-one", "box-two"]
        .iter()
        .map(|n| {
            sb.json(&["status", n])["container"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(new.iter().all(|c| container_exists(c) && !old.contains(c)));
    assert_eq!(sb.ok(&["shutdown"]).trim(), "stopped");
    assert!(poll(Duration::from_secs(10), || pgrep("^sleep 31337$")
        .is_empty()));
    assert!(new.iter().all(|c| !container_exists(c)));
}

/// Runs the CLI with `input` on stdin.
fn run_with_stdin(sb: &Sandbox, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = sb
        .command()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_token_missing_refused_and_right_configuring_error_connected() {
    require_image();
    let sb = Sandbox::new();
    // Missing: `configuring`, saying which field and how to set it.
    let out = sb.run(&["connect", "github"]);
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GITHUB_PERSONAL_ACCESS_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("secret set github"),
        "{}",
        stderr(&out)
    );
    let status = sb.json(&["status", "github"]);
    assert_eq!(status["status"], "configuring");
    assert_eq!(status["missing"], json!(["GITHUB_PERSONAL_ACCESS_TOKEN"]));
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.states"]["github"],
        "configuring"
    );

    // Wrong: the server refuses it, like the real one: `error` that says so.
    let wrong = "ghp_wrong_5d1e";
    let out = run_with_stdin(
        &sb,
        &["secret", "set", "github", "GITHUB_PERSONAL_ACCESS_TOKEN"],
        &format!("{wrong}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sb.run(&["connect", "github"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("Bad credentials"), "{message}");
    assert!(
        message.contains("switchboard secret set github GITHUB_PERSONAL_ACCESS_TOKEN"),
        "{message}"
    );
    assert!(!message.contains(wrong), "the secret leaked into the error");
    assert_eq!(sb.json(&["status", "github"])["status"], "error");

    // Right, from the secret store: `connected`, and the config names it by reference.
    let out = run_with_stdin(
        &sb,
        &["secret", "set", "github", "GITHUB_PERSONAL_ACCESS_TOKEN"],
        &format!("{TOKEN}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sb.ok(&["connect", "github"]).trim(), "connected");
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"]["github"]["env"],
        json!({"GITHUB_PERSONAL_ACCESS_TOKEN": "${secret:github/GITHUB_PERSONAL_ACCESS_TOKEN}"})
    );
    let config = sb.json(&["config", "github"]);
    assert_eq!(config[0]["name"], "GITHUB_PERSONAL_ACCESS_TOKEN");
    assert_eq!(config[0]["set"], true);
    assert!(config[0].get("value").is_none());
    assert!(!sb.ok(&["config", "github"]).contains(TOKEN));

    // No trace of either value anywhere we write or show.
    let mut places = vec![std::fs::read_to_string(sb.settings()).unwrap()];
    for entry in std::fs::read_dir(sb.home().join("logs")).unwrap() {
        places.push(std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    places.push(sb.ok(&["list", "--json"]));
    places.push(sb.ok(&["status", "github", "--json"]));
    places.push(
        String::from_utf8_lossy(
            &Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned(),
    );
    for text in &places {
        assert!(
            !text.contains(TOKEN) && !text.contains(wrong),
            "a secret leaked: {text}"
        );
    }
    let key = std::fs::metadata(sb.home().join("secret.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);

    let out = sb.run(&["secret", "rm", "github", "GITHUB_PERSONAL_ACCESS_TOKEN"]);
    assert!(out.status.success());
    assert_eq!(sb.json(&["config", "github"])[0]["set"], false);
}

#[test]
fn catalog_google_calendar_mounts_its_credentials_file_and_token_volume() {
    // The test image is tagged mcp/google-calendar too: the catalog entry
    // starts for real, with its mounts.
    require_image();
    let sb = Sandbox::new();
    let creds = sb.dir.path().join("gcp-oauth.keys.json");
    std::fs::write(&creds, r#"{"installed":{}}"#).unwrap();
    let set = format!("GOOGLE_OAUTH_CREDENTIALS={}", creds.display());

    // A file that is not there is refused before anything starts.
    let out = sb.run(&[
        "connect",
        "google-calendar",
        "--set",
        "GOOGLE_OAUTH_CREDENTIALS=/no/such/gcp-oauth.keys.json",
    ]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an existing file"),
        "{}",
        stderr(&out)
    );

    let out = sb.run(&["connect", "google-calendar", "--set", &set]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = sb.json(&["status", "google-calendar"]);
    assert_eq!(status["status"], "connected");
    let container = status["container"].as_str().expect("container").to_string();
    let mounts: serde_json::Value = serde_json::from_str(&docker(&[
        "inspect",
        "--format",
        "{{json .Mounts}}",
        &container,
    ]))
    .unwrap();
    let mounts = mounts.as_array().unwrap();
    let at = |dst: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == dst)
            .unwrap_or_else(|| panic!("nothing mounted at {dst}: {mounts:?}"))
    };
    let file = at("/config/gcp-oauth.keys.json");
    assert_eq!(file["Type"], "bind");
    assert_eq!(file["Source"], creds.display().to_string());
    assert_eq!(file["RW"], false, "{file}");
    let tokens = at("/tokens");
    assert_eq!(tokens["Type"], "volume");
    assert_eq!(tokens["Name"], "mcp-google-calendar");
    let env = docker(&["inspect", "--format", "{{json .Config.Env}}", &container]);
    assert!(
        env.contains("GOOGLE_OAUTH_CREDENTIALS=/config/gcp-oauth.keys.json"),
        "{env}"
    );
    assert!(
        env.contains("GOOGLE_CALENDAR_MCP_TOKEN_PATH=/tokens/tokens.json"),
        "{env}"
    );
    // The written config can be run as it is by another client.
    let settings = sb.settings_json();
    let args = settings["codebuddy.mcp.servers"]["google-calendar"]["args"].to_string();
    assert!(
        args.contains(&format!(
            "type=bind,src={},dst=/config/gcp-oauth.keys.json,readonly",
            creds.display()
        )),
        "{args}"
    );

    sb.ok(&["disconnect", "google-calendar"]);
    assert!(poll(Duration::from_secs(20), || !container_exists(
        &container
    )));
}

#[test]
fn a_container_gets_only_the_variables_its_connector_names() {
    require_image();
    const LEAK: &str = "sb-leak-aws-container-61d0";
    let mut sb = Sandbox::new();
    // In the environment of the service (and of the engine it runs).
    sb.extra_env
        .push(("AWS_SECRET_ACCESS_KEY".into(), LEAK.into()));
    sb.ok(&[
        "add",
        "boxed",
        "--env",
        "MODE=fast",
        "--env",
        "API_TOKEN",
        "--image",
        "localhost/switchboard-test/everything",
        "stdio",
    ]);
    let out = sb.run_env(&["connect", "boxed"], &[("API_TOKEN", "from-connect")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = sb.ok(&["call", "boxed", "get-env", "{}"]);
    let env: std::collections::BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    assert_eq!(env.get("MODE").map(String::as_str), Some("fast"));
    assert_eq!(
        env.get("API_TOKEN").map(String::as_str),
        Some("from-connect")
    );
    assert!(
        !text.contains(LEAK),
        "the service's environment reached the container"
    );
    assert!(!env.contains_key("SWITCHBOARD_OWNER"), "{env:?}");
}

/// A container runs under its policy: no capabilities, a read-only root,
/// process, memory and CPU limits; `switchboard policy` changes them, the
/// connected connector restarts with them, and `--network none` leaves it
/// no network. Checked with the engine's own `inspect`.
#[test]
fn a_container_runs_under_its_policy_and_a_change_restarts_it() {
    require_image();
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "boxed",
        "--image",
        "localhost/switchboard-test/everything",
        "stdio",
    ]);
    let shown = sb.ok(&["policy", "boxed"]);
    assert!(shown.contains("memory 512 MB, 1 CPU"), "{shown}");
    assert_eq!(sb.ok(&["connect", "boxed"]).trim(), "connected");
    let inspect = |container: &str| -> serde_json::Value {
        let text = docker(&["inspect", container]);
        serde_json::from_str::<serde_json::Value>(&text).unwrap()[0]["HostConfig"].clone()
    };
    let first = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    let host = inspect(&first);
    assert_eq!(host["Memory"], json!(512 * 1024 * 1024), "{host}");
    assert_eq!(host["NanoCpus"], json!(1_000_000_000u64), "{host}");
    assert_eq!(host["PidsLimit"], json!(256), "{host}");
    assert_eq!(host["ReadonlyRootfs"], json!(true), "{host}");
    // Podman lists what `--cap-drop ALL` took from its default set.
    let dropped = host["CapDrop"].to_string();
    for cap in ["NET_RAW", "SETUID", "SYS_CHROOT", "DAC_OVERRIDE"] {
        assert!(dropped.contains(cap), "{cap} kept: {host}");
    }

    let out = sb.run(&[
        "policy",
        "boxed",
        "--memory",
        "256m",
        "--cpus",
        "0.5",
        "--network",
        "none",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("restarted boxed"), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["policy"]["memory"], "256m", "{info}");
    let second = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first, "a new container runs the new policy");
    let host = inspect(&second);
    assert_eq!(host["Memory"], json!(256 * 1024 * 1024), "{host}");
    assert_eq!(host["NanoCpus"], json!(500_000_000u64), "{host}");
    assert_eq!(host["NetworkMode"], "none", "{host}");
    // The tools still answer inside the limits.
    let echo = sb.ok(&["call", "boxed", "echo", r#"{"message":"limited"}"#]);
    assert!(echo.contains("limited"), "{echo}");

    // A list of hosts: the network namespace of a forwarder to the
    // egress proxy (tests/container_limits.rs tries it).
    sb.ok(&["policy", "boxed", "--network", "api.github.com"]);
    let third = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    let host = inspect(&third);
    let mode = host["NetworkMode"].as_str().unwrap_or_default();
    assert!(mode.starts_with("ns:/proc/"), "{host}");
}
