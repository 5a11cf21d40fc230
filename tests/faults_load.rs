//! Load: 8 CLI processes at once, each running 10 rounds of connect or
//! disconnect over 15 connectors (cheap hand-written native servers, and
//! two `server-everything`s), against one service. Every command must
//! succeed, and afterwards every status must agree with the file and with
//! what runs, the file must parse, and no key — ours or the user's — may be
//! lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::time::{Duration, Instant};

use common::{code, poll, server_everything, stderr};
use faults_support::{add_bad, assert_consistent, owned_processes, parse_settings, Guarded};
use serde_json::json;

const WORKERS: usize = 8;
const ROUNDS: usize = 10;
const CONNECTORS: usize = 15;

#[test]
fn eight_processes_connecting_and_disconnecting_fifteen_connectors() {
    let sb = Guarded::new();
    let user = "// keep me\n{\n  \"editor.fontSize\": 14, // and me\n  \"workbench.colorTheme\": \"Default Dark+\",\n}\n";
    std::fs::write(sb.settings(), user).unwrap();
    let names: Vec<String> = (0..CONNECTORS).map(|i| format!("c{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        if i < 2 {
            sb.ok(&[
                "add",
                name,
                "--command",
                "node",
                &server_everything(),
                "stdio",
            ]);
        } else {
            add_bad(&sb, name, "tiny.py", &[]);
        }
    }

    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let sb = &sb;
                let names = &names;
                scope.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(0x5b + w as u64);
                    let mut failures = Vec::new();
                    for round in 0..ROUNDS {
                        let name = &names[rng.usize(..names.len())];
                        let op = if rng.bool() { "connect" } else { "disconnect" };
                        let out = sb.run(&[op, name]);
                        if !out.status.success() {
                            failures.push(format!(
                                "worker {w} round {round}: {op} {name} exited {}: {}",
                                code(&out),
                                stderr(&out)
                            ));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    eprintln!("{} commands in {:?}", WORKERS * ROUNDS, started.elapsed());
    assert!(failures.is_empty(), "{failures:#?}");

    // Every command has returned; statuses are settled (no start under way).
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    assert!(
        poll(Duration::from_secs(10), || {
            sb.json(&["list"])
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| refs.contains(&r["name"].as_str().unwrap()))
                .all(|r| r["status"] == "connected" || r["status"] == "disconnected")
        }),
        "a connector is stuck: {}",
        sb.ok(&["list"])
    );
    let seen = assert_consistent(&sb, &refs);
    let connected = seen.values().filter(|s| s.live == "connected").count();
    eprintln!("{connected} of {CONNECTORS} connected at the end");

    // No key lost: the user's, every custom definition, every status.
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        text.starts_with("// keep me\n{\n  \"editor.fontSize\": 14, // and me\n  \"workbench.colorTheme\": \"Default Dark+\",\n"),
        "{text}"
    );
    let settings = parse_settings(&sb.settings());
    for name in &names {
        assert!(
            settings["codebuddy.connectors.custom"].get(name).is_some(),
            "{name} lost"
        );
    }
    assert_eq!(settings["workbench.colorTheme"], json!("Default Dark+"));

    // And everything still works: each connected one answers; then all stop.
    for (name, s) in &seen {
        if s.live == "connected" {
            assert_eq!(
                sb.ok(&["call", name, "echo", r#"{"message":"x"}"#]).trim(),
                "Echo: x"
            );
        }
    }
    for name in &names {
        sb.ok(&["disconnect", name]);
    }
    assert!(
        poll(Duration::from_secs(10), || owned_processes(&sb.home())
            .is_empty()),
        "servers outlived their disconnect: {:?}",
        owned_processes(&sb.home())
    );
    assert_eq!(
        parse_settings(&sb.settings())["codebuddy.mcp.servers"],
        json!({})
    );
}
