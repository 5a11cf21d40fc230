//! A hostile server in a container, for real (Podman, the probe image of
//! tests/support/build-test-image.sh): it reaches only the hosts its
//! policy lists, through the egress proxy; a fork bomb stops at the
//! process limit and the server still answers; past its memory it is
//! killed, and the connector's error says "out of memory" with the limit.
//! All hosts are loopback addresses of this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::probes::{assert_stopped_below_the_process_limit, http_server, machine_name};
use common::Sandbox;

const PROBE_IMAGE: &str = "localhost/switchboard-test/probe";

fn require_probe_image() {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", PROBE_IMAGE])
        .output()
        .expect("docker");
    assert!(
        !String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "the test image {PROBE_IMAGE} is missing: run `bash .ci/install-peers.sh`"
    );
}

/// The probe image added as `probe`, never restarted after a death.
fn probe(sb: &Sandbox) {
    require_probe_image();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0 } }"#,
    )
    .unwrap();
    sb.ok(&["add", "probe", "--image", PROBE_IMAGE]);
}

fn call(sb: &Sandbox, tool: &str, arguments: serde_json::Value) -> String {
    sb.ok(&["call", "probe", tool, &arguments.to_string()])
}

#[test]
fn a_container_reaches_only_its_allowed_hosts() {
    let allowed = http_server("127.0.0.2:0", "the allowed host");
    let other = http_server("127.0.0.3:0", "another host");
    // This machine's name, which resolves to loopback here: a listed name
    // the container's client reaches without knowing any proxy.
    let (name, name_ip) = machine_name();
    let named = TcpListener::bind((name_ip, 0)).unwrap();
    let named_port = named.local_addr().unwrap().port();
    let sb = Sandbox::new();
    probe(&sb);
    let hosts = format!("127.0.0.2:{allowed},{name}:{named_port}");
    sb.ok(&["policy", "probe", "--network", &hosts]);
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");
    let reached = call(
        &sb,
        "connect",
        serde_json::json!({"host": name, "port": named_port}),
    );
    assert_eq!(reached.trim(), "connected");

    common::probes::assert_fetches_only_the_allowed_host(&sb, allowed, other);
    // Straight to the host, past the proxy: no way out.
    let direct = call(
        &sb,
        "connect",
        serde_json::json!({"host": "127.0.0.3", "port": other}),
    );
    assert!(direct.starts_with("refused"), "{direct}");
}

#[test]
fn a_container_fork_bomb_stops_at_its_process_limit() {
    let sb = Sandbox::new();
    probe(&sb);
    sb.ok(&["policy", "probe", "--memory", "1g"]);
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");
    let spawned = call(&sb, "spawn", serde_json::json!({"count": 400}));
    assert_stopped_below_the_process_limit(&spawned);
    // The server lives on.
    let again = call(&sb, "spawn", serde_json::json!({"count": 2}));
    assert_eq!(again.trim(), "spawned 2");
}

#[test]
fn a_container_past_its_memory_is_reported_out_of_memory() {
    let sb = Sandbox::new();
    probe(&sb);
    sb.ok(&["policy", "probe", "--memory", "128m"]);
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");
    let _ = sb.run(&["call", "probe", "allocate", r#"{"mb": 600}"#]);
    let status = sb.wait_status("probe", Duration::from_secs(30), |s| s["status"] == "error");
    let reason = status["error"].as_str().unwrap();
    assert!(reason.contains("out of memory (limit 128 MB)"), "{status}");
    assert!(reason.contains("--memory 1g"), "{status}");
}

/// The catalog's PostgreSQL connector may reach its database only (its
/// policy: the host in POSTGRES_URL). `mcp/postgres` here is the probe
/// image: from its container it reaches this machine's PostgreSQL at
/// 127.0.0.1:5432 — forwarded to the host's loopback, which a container
/// could not reach before — and not this machine's MariaDB beside it.
#[test]
fn the_catalog_postgres_server_reaches_its_database_only() {
    require_probe_image();
    let sb = Sandbox::new();
    let shown = sb.ok(&["policy", "postgres"]);
    assert!(
        shown.contains("network: the host in POSTGRES_URL only"),
        "{shown}"
    );
    let out = sb.run_env(
        &["connect", "postgres"],
        &[("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")],
    );
    assert!(out.status.success(), "{out:?}");
    let call = |arguments: serde_json::Value| {
        sb.ok(&["call", "postgres", "connect", &arguments.to_string()])
    };
    let database = call(serde_json::json!({"host": "127.0.0.1", "port": 5432}));
    assert_eq!(database.trim(), "connected");
    let beside = call(serde_json::json!({"host": "127.0.0.1", "port": 3306}));
    assert!(beside.starts_with("refused"), "{beside}");
}

/// The catalog's GitHub connector may reach api.github.com only: its
/// container joins the forwarder's namespace, where that name is given
/// an address of the forwarder's (`docker inspect` shows both).
#[test]
fn the_catalog_github_server_reaches_the_github_api_only() {
    require_probe_image();
    let sb = Sandbox::new();
    let shown = sb.ok(&["policy", "github"]);
    assert!(shown.contains("network: api.github.com only"), "{shown}");
    let out = sb.run_env(
        &["connect", "github"],
        &[("GITHUB_PERSONAL_ACCESS_TOKEN", "ghp_valid_token")],
    );
    assert!(out.status.success(), "{out:?}");
    let container = sb.json(&["status", "github"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    let text = Command::new("docker")
        .args(["inspect", &container])
        .output()
        .unwrap()
        .stdout;
    let host = serde_json::from_slice::<serde_json::Value>(&text).unwrap()[0]["HostConfig"].clone();
    assert!(
        host["NetworkMode"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ns:/proc/"),
        "{host}"
    );
    assert!(
        host["ExtraHosts"]
            .to_string()
            .contains("api.github.com:127.0.100.1"),
        "{host}"
    );
}
