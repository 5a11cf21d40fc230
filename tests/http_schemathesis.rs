//! schemathesis (PyPI) fuzzes the API from its own OpenAPI document,
//! against `switchboard serve` in a sandbox: no 5xx, and every answer
//! matches the document (status, content type, headers, body schema);
//! invalid input is refused with a 4xx. The connect and call routes may
//! answer 502/503 when a backend cannot start or fails — that is their
//! documented meaning — so only there a 5xx is allowed, and it must still
//! be documented and well-formed. Bounded in examples and in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{poll, repo, Sandbox};
use serde_json::{json, Value};

/// The whole run's limit; schemathesis is killed past it.
const RUN_DEADLINE: Duration = Duration::from_secs(110);

/// Check settings. Positive data may still be refused with 409 or 422 where
/// the schema cannot say why (a field name this connector lacks, a taken
/// name).
const CONFIG: &str = r#"
[cache]
enabled = false

[checks.positive_data_acceptance]
expected-statuses = ["2XX", "401", "403", "404", "409", "422"]

[[operations]]
include-path-regex = "/(connect|call)$"
checks.not_a_server_error.enabled = false
checks.positive_data_acceptance.expected-statuses = ["2XX", "401", "403", "404", "409", "422", "502", "503"]
"#;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let schemathesis = repo().join("tests/peers/.venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run `bash .ci/install-peers.sh` first",
        schemathesis.display()
    );
    let sb = Sandbox::new();
    let mut serve = sb
        .command()
        .args(["serve", "--start-timeout", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = sb.home().join("http.json");
    let token_file = sb.home().join("http-token");
    assert!(
        poll(Duration::from_secs(30), || endpoint.exists()
            && token_file.exists()),
        "switchboard serve wrote no http.json"
    );
    let url = serde_json::from_str::<Value>(&std::fs::read_to_string(&endpoint).unwrap()).unwrap()
        ["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();

    // A connected connector, so tools and calls have something to answer.
    sb.add_everything("ev");
    sb.ok(&["connect", "ev"]);

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let started = Instant::now();
    let mut run = Command::new(&schemathesis)
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .arg("run")
        .arg(format!("{url}api/v1/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // An endless stream; tests/http_events.rs covers it.
        .args(["--exclude-path", "/api/v1/events"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "25", "--seed", "20261125"])
        .args(["--workers", "1", "--request-timeout", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let finished = poll(RUN_DEADLINE, || run.try_wait().unwrap().is_some());
    if !finished {
        let _ = run.kill();
    }
    let output = run.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        finished,
        "schemathesis ran past {RUN_DEADLINE:?}:\n{report}"
    );
    assert!(
        output.status.success(),
        "schemathesis found problems ({:?}):\n{report}",
        output.status.code()
    );
    // It really exercised the API (not an empty selection).
    assert!(report.contains("Tested: 18"), "{report}");
    eprintln!("schemathesis finished in {:?}", started.elapsed());

    // The service still answers and still has its connector.
    let list: Value = sb.json(&["list"]);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == json!("github")));

    // Shutting the service down removes its endpoint file.
    sb.ok(&["shutdown"]);
    assert!(poll(Duration::from_secs(30), || serve
        .try_wait()
        .unwrap()
        .is_some()));
    assert!(!endpoint.exists(), "http.json outlived the service");
}
