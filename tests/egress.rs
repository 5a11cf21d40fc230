//! The allowed-host path, for real: a Python SDK server in bubblewrap
//! whose policy lists some hosts reaches them through the egress proxy
//! (urllib's `HTTP_PROXY`, a `CONNECT` tunnel, a listed port of this
//! machine forwarded as it is, and a listed name reached by a client that
//! knows no proxy), and every other host — by the proxy, or directly — is
//! refused, with the refusal and its remedy in its log. All hosts are
//! loopback addresses of this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;

use common::probes::{add_python_probe, http_server, machine_name};
use common::{repo, Sandbox};

fn call(sb: &Sandbox, tool: &str, arguments: serde_json::Value) -> String {
    sb.ok(&["call", "probe", tool, &arguments.to_string()])
}

#[test]
fn a_sandboxed_program_reaches_only_its_allowed_hosts() {
    let allowed = http_server("127.0.0.2:0", "the allowed host");
    let other = http_server("127.0.0.3:0", "another host");
    let db = TcpListener::bind("127.0.0.1:0").unwrap();
    let db_port = db.local_addr().unwrap().port();
    let unlisted = TcpListener::bind("127.0.0.1:0").unwrap();
    let unlisted_port = unlisted.local_addr().unwrap().port();
    let (name, name_ip) = machine_name();
    let named = TcpListener::bind((name_ip, 0)).unwrap();
    let named_port = named.local_addr().unwrap().port();

    let sb = Sandbox::new();
    add_python_probe(&sb);
    let hosts = format!("127.0.0.2:{allowed},localhost:{db_port},{name}:{named_port}");
    let shown = sb.ok(&["policy", "probe", "--network", &hosts]);
    assert!(
        shown.contains(&format!(
            "network: 127.0.0.2:{allowed}, localhost:{db_port}, {name}:{named_port} only"
        )),
        "{shown}"
    );
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");

    // The allowed host by urllib through the proxy; another refused with
    // its remedy, in the answer and in its log.
    common::probes::assert_fetches_only_the_allowed_host(&sb, allowed, other);
    // The same through a tunnel.
    let tunnelled = call(
        &sb,
        "tunnel",
        serde_json::json!({"host": "127.0.0.2", "port": allowed}),
    );
    assert_eq!(tunnelled.trim(), "status 200: the allowed host");

    let refused = call(
        &sb,
        "tunnel",
        serde_json::json!({"host": "127.0.0.3", "port": other}),
    );
    assert!(refused.starts_with("refused"), "{refused}");
    assert!(!refused.contains("another host"), "{refused}");

    // A listed port of this machine is there as it is, for clients that
    // know no proxy; an unlisted one is not there at all.
    let reached = call(&sb, "connect", serde_json::json!({ "port": db_port }));
    assert_eq!(reached.trim(), "connected");
    let blocked = call(&sb, "connect", serde_json::json!({ "port": unlisted_port }));
    assert!(blocked.starts_with("refused"), "{blocked}");
    // A listed name, by a client that knows no proxy: the namespace's
    // /etc/hosts gives it an address where the forwarder tunnels to it.
    let reached = call(
        &sb,
        "connect",
        serde_json::json!({"host": name, "port": named_port}),
    );
    assert_eq!(reached.trim(), "connected");
    let blocked = call(
        &sb,
        "connect",
        serde_json::json!({"host": name_ip.to_string(), "port": named_port}),
    );
    assert!(blocked.starts_with("refused"), "{blocked}");

    // The forwarder may listen below 1024, which the program keeps at
    // most (as root: the bounding set's one capability, good only inside
    // its own network namespace), and nothing else.
    let caps = call(&sb, "capabilities", serde_json::json!({}));
    assert!(
        ["CapEff 0000000000000000", "CapEff 0000000000000400"].contains(&caps.trim()),
        "{caps}"
    );

    // Its log names the hosts it may reach in the remedy.
    let logs = sb.ok(&["logs", "probe"]);
    assert!(logs.contains("--network 127.0.0.2"), "{logs}");
}

#[test]
fn host_lists_are_checked_and_need_the_sandbox() {
    let sb = Sandbox::new();
    let python = repo().join("tests/peers/.venv/bin/python");
    sb.ok(&["add", "plain", "--command", python.to_str().unwrap(), "-V"]);
    let out = sb.run(&["policy", "plain", "--network", "api.github.com:https"]);
    assert_eq!(common::code(&out), 5, "{out:?}");
    assert!(
        common::stderr(&out).contains("is not a host to allow"),
        "{out:?}"
    );
    let out = sb.run(&[
        "policy",
        "plain",
        "--no-sandbox",
        "--network",
        "api.github.com",
    ]);
    assert_eq!(common::code(&out), 5, "{out:?}");
    assert!(common::stderr(&out).contains("--sandbox on"), "{out:?}");
    let shown = sb.ok(&[
        "policy",
        "plain",
        "--network",
        "*.github.com,api.example.org",
    ]);
    assert!(
        shown.contains("network: *.github.com, api.example.org only"),
        "{shown}"
    );
}
