//! The record of every call (issue "Many connectors, one agent"): a call
//! from the CLI, one from an MCP client through the gateway (the
//! TypeScript SDK's, named in the record) and one from the HTTP API each
//! leave a line in `audit/calls.jsonl` — face, connector, tool, outcome,
//! duration and sizes, never the arguments or the answer — and `switchboard
//! stats` sums them up, as JSON and for people.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{code, poll, stderr, Sandbox};
use serde_json::Value;

/// Stands for something private in an argument: it must not be recorded.
const PRIVATE: &str = "private-value-7f3a";

#[test]
fn every_face_is_recorded_without_values_and_stats_sum_it_up() {
    let sb = Sandbox::with_everything();
    let args = format!(r#"{{"message": "{PRIVATE}"}}"#);
    // Three calls that answer and one that fails.
    sb.echo_from_every_face(&args);
    let (mcp_url, token) = sb.http_endpoint();
    let api = mcp_url.trim_end_matches("/mcp");

    let file = sb.home().join("audit/calls.jsonl");
    let mut records: Vec<Value> = Vec::new();
    let all_four = poll(Duration::from_secs(10), || {
        records = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        records.len() >= 4
    });
    assert!(all_four, "{records:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(PRIVATE),
        "an argument value was recorded: {text}"
    );
    let faces: Vec<&str> = records
        .iter()
        .map(|r| r["caller"]["face"].as_str().unwrap())
        .collect();
    assert!(
        faces.contains(&"cli") && faces.contains(&"gateway") && faces.contains(&"api"),
        "{faces:?}"
    );
    let gateway = records
        .iter()
        .find(|r| r["caller"]["face"] == "gateway")
        .unwrap();
    assert!(
        gateway["caller"]["client"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{gateway}"
    );
    assert!(records
        .iter()
        .all(|r| r["connector"] == "ev" && r["tool"] == "echo"));
    assert!(records
        .iter()
        .all(|r| r["bytes_in"].as_u64().is_some() && r["ms"].as_f64().is_some()));
    assert!(records
        .iter()
        .any(|r| r["outcome"] == "ok" && r["bytes_out"].as_u64().unwrap() > 0));
    assert!(records.iter().any(|r| r["outcome"] != "ok"), "{records:?}");

    // The same figures from the HTTP API (the dashboard's cards), per
    // connector and per tool; a bad window is refused.
    let api_stats = |query: &str| {
        Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .arg(format!("{api}/api/v1/stats{query}"))
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .output()
            .unwrap()
    };
    let out = String::from_utf8(api_stats("?since=1h&connector=ev").stdout).unwrap();
    let (body, status) = out.rsplit_once('\n').unwrap();
    assert_eq!(status, "200", "{body}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["connectors"][0]["connector"], "ev", "{body}");
    assert_eq!(body["connectors"][0]["calls"], 4, "{body}");
    assert_eq!(body["connectors"][0]["errors"], 1, "{body}");
    assert_eq!(body["tools"][0]["tool"], "echo", "{body}");
    let out = String::from_utf8(api_stats("?since=soon").stdout).unwrap();
    assert!(
        out.ends_with("422") && out.contains("30m, 1h or 2d"),
        "{out}"
    );

    let stats = sb.json(&["stats", "ev", "--since", "1h"]);
    assert_eq!(stats[0]["tool"], "echo", "{stats}");
    assert_eq!(stats[0]["calls"], 4, "{stats}");
    assert_eq!(stats[0]["errors"], 1, "{stats}");
    assert!(stats[0]["p99_ms"].as_f64().unwrap() >= stats[0]["p50_ms"].as_f64().unwrap());
    assert!(sb.ok(&["stats"]).contains("P99 MS"));
    assert_eq!(sb.json(&["stats", "nothing-here"]), serde_json::json!([]));
    let out = sb.run(&["stats", "--since", "soon"]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("30m, 1h or 2d"), "{}", stderr(&out));
}
