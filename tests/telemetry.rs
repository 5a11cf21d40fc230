//! The call record as OpenTelemetry (issue "Many connectors, one agent"):
//! a service started with `OTEL_EXPORTER_OTLP_ENDPOINT` sends a span and
//! metric points for each routed call — from the CLI, the gateway (the
//! TypeScript SDK's client) and the HTTP API — to a real OTLP receiver
//! (`tests/peers/otlp_receiver.py`, the OpenTelemetry project's protobuf
//! classes), and neither an argument value nor the connector's secret is
//! anywhere in the bytes it sent. Without the variable nothing is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{poll, repo, Sandbox};
use serde_json::Value;

/// Stands for something private in an argument.
const PRIVATE: &str = "private-value-0c9d";
/// The connector's secret.
const SECRET: &str = "tok-otel-51be7a";

/// The receiver, with the lines it printed so far.
struct Receiver {
    child: Child,
    url: String,
    lines: Arc<Mutex<Vec<Value>>>,
    raw: std::path::PathBuf,
}

impl Receiver {
    fn start(dir: &std::path::Path) -> Receiver {
        let raw = dir.join("otlp-raw.bin");
        let mut child = Command::new(repo().join("tests/peers/.venv/bin/python"))
            .arg(repo().join("tests/peers/otlp_receiver.py"))
            .arg("--raw")
            .arg(&raw)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the OTLP receiver (run .ci/install-peers.sh)");
        let mut first = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the receiver said: {first}"))
            .to_string();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Receiver {
            child,
            url,
            lines,
            raw,
        }
    }

    fn received(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_face_sends_a_span_and_metrics_without_values_or_secrets() {
    let mut sb = Sandbox::new();
    let receiver = Receiver::start(sb.dir.path());
    for (k, v) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ] {
        sb.extra_env.push((k.into(), v.into()));
    }
    sb.ok(&[
        "add",
        "ev",
        "--env",
        "EV_TOKEN",
        "--command",
        "node",
        &common::server_everything(),
        "stdio",
    ]);
    sb.set_secret("ev", "EV_TOKEN", SECRET);
    sb.ok(&["connect", "ev"]);

    // Three calls that answer, and one that fails (echo without its
    // message): a span with an error.
    sb.echo_from_every_face(&format!(r#"{{"message": "{PRIVATE}"}}"#));

    let spans = || -> Vec<Value> {
        receiver
            .received()
            .into_iter()
            .filter(|l| l["signal"] == "span")
            .collect()
    };
    let durations = || -> u64 {
        receiver
            .received()
            .iter()
            .filter(|l| l["name"] == "mcp.client.operation.duration")
            .map(|l| l["count"].as_u64().unwrap_or(0))
            .max_by_key(|c| *c)
            .unwrap_or(0)
    };
    // Histograms are cumulative: some point counts the calls of one kind.
    let arrived = poll(Duration::from_secs(20), || {
        spans().len() >= 4 && durations() >= 1
    });
    assert!(arrived, "{:?}", receiver.received());

    let spans = spans();
    for span in &spans {
        let a = &span["attributes"];
        assert_eq!(span["name"], "tools/call echo", "{span}");
        assert_eq!(span["service"], "switchboard", "{span}");
        assert_eq!(a["switchboard.connector"], "ev", "{span}");
        assert_eq!(a["gen_ai.tool.name"], "echo", "{span}");
        assert_eq!(a["mcp.method.name"], "tools/call", "{span}");
        assert!(a["switchboard.request.bytes"].as_i64().is_some(), "{span}");
        assert!(span["duration_ns"].as_i64().unwrap() > 0, "{span}");
    }
    let callers: Vec<&str> = spans
        .iter()
        .map(|s| s["attributes"]["switchboard.caller"].as_str().unwrap())
        .collect();
    for face in ["cli", "gateway", "api"] {
        assert!(callers.contains(&face), "no {face} span: {callers:?}");
    }
    let gateway = spans
        .iter()
        .find(|s| s["attributes"]["switchboard.caller"] == "gateway")
        .unwrap();
    assert!(
        gateway["attributes"]["switchboard.client.name"].is_string(),
        "{gateway}"
    );
    // Status code 2 is ERROR in OTLP.
    assert!(
        spans
            .iter()
            .any(|s| s["status"] == 2 && s["attributes"]["error.type"].is_string()),
        "{spans:?}"
    );

    let raw = std::fs::read(&receiver.raw).unwrap();
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(PRIVATE), "an argument value was exported");
    assert!(!contains(SECRET), "the connector's secret was exported");
}

#[test]
fn nothing_is_sent_without_an_endpoint() {
    let sb = Sandbox::new();
    let receiver = Receiver::start(sb.dir.path());
    // The receiver is running but nobody told the service where it is.
    sb.add_everything("ev");
    sb.ok(&["connect", "ev"]);
    sb.ok(&["call", "ev", "echo", r#"{"message": "hi"}"#]);
    // The record on disk proves the call was done and recorded.
    let file = sb.home().join("audit/calls.jsonl");
    assert!(poll(Duration::from_secs(10), || file.exists()));
    sb.ok(&["shutdown"]);
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    assert!(!receiver.raw.exists());
}
