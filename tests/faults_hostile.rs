//! Hostile backends (hand-written, `tests/peers/bad_servers/`): a server
//! that floods stdout, one that writes invalid JSON-RPC, one that answers
//! with a 50 MB message, one that never reads its stdin, one that floods
//! stderr without newlines. In every case the service stays responsive
//! (another connector answers within a deadline), its memory stays bounded
//! (its RSS read from /proc before and after), the hostile connector ends
//! in a stated state, and the well-behaved connector beside it is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{alive, code, poll, stderr};
use faults_support::{add_bad, assert_consistent, rss_kib, service_pid, timed, Guarded};

/// How long a command to the service may take while a backend misbehaves.
const RESPONSIVE: Duration = Duration::from_secs(3);
/// How much the service's RSS may grow because of one hostile backend.
const RSS_BUDGET_KIB: u64 = 64 * 1024;

/// A sandbox with fast pings, no automatic restarts, and a well-behaved
/// connector `calm` connected; returns it with calm's pid.
fn setup() -> (Guarded, u64) {
    let sb = Guarded::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0, "pingIntervalMs": 500, "pingTimeoutMs": 2000 } }"#,
    )
    .unwrap();
    add_bad(&sb, "calm", "tiny.py", &[]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let pid = sb.json(&["status", "calm"])["pid"].as_u64().unwrap();
    (sb, pid)
}

/// Asserts that `calm` answers a status and a call within the deadline,
/// from the same server as before.
fn calm_answers(sb: &common::Sandbox, pid: u64) {
    let (took, status) = timed(|| sb.json(&["status", "calm"]));
    assert!(took < RESPONSIVE, "status took {took:?}");
    assert_eq!(status["status"], "connected");
    assert_eq!(status["pid"].as_u64(), Some(pid), "calm was restarted");
    let (took, answer) = timed(|| sb.ok(&["call", "calm", "echo", r#"{"message":"ok"}"#]));
    assert!(took < RESPONSIVE, "a call took {took:?}");
    assert_eq!(answer.trim(), "Echo: ok");
}

/// The service's RSS now, in KiB.
fn service_rss(sb: &common::Sandbox) -> u64 {
    rss_kib(service_pid(sb).unwrap())
}

fn assert_rss_bounded(before: u64, peak: u64, what: &str) {
    eprintln!("{what}: service RSS {before} KiB before, {peak} KiB at peak");
    assert!(
        peak.saturating_sub(before) < RSS_BUDGET_KIB,
        "{what}: the service grew from {before} KiB to {peak} KiB"
    );
}

#[test]
fn a_server_flooding_stdout_leaves_the_service_responsive_and_bounded() {
    let (sb, calm) = setup();
    add_bad(&sb, "flood", "flood_stdout.py", &[]);
    let before = service_rss(&sb);
    assert_eq!(sb.ok(&["connect", "flood"]).trim(), "connected");
    let flood_pid = sb.json(&["status", "flood"])["pid"].as_u64().unwrap();
    // Three seconds of flood (six pings due), the service probed throughout.
    let end = Instant::now() + Duration::from_secs(3);
    let mut peak = before;
    // Probed until the three seconds are over, however quick each probe:
    // a cap on the probes ended the flood early when they were fast.
    while Instant::now() < end {
        calm_answers(&sb, calm);
        peak = peak.max(service_rss(&sb));
    }
    assert_rss_bounded(before, peak, "stdout flood");
    // It did flood: the server wrote (and we read) tens of megabytes.
    // The server may run under bubblewrap (the reported pid): count what
    // every process of its tree wrote.
    let written = tree_written(flood_pid);
    eprintln!("the flood wrote {written} bytes");
    assert!(written > 20 * 1024 * 1024, "only {written} bytes flooded");
    // The flood is read and dropped: it still answers pings and calls, so
    // it stays connected.
    let status = sb.json(&["status", "flood"]);
    assert_eq!(status["status"], "connected", "{status}");
    assert!(status["last_ping_ms"].as_f64().is_some(), "{status}");
    let (took, answer) = timed(|| sb.ok(&["call", "flood", "echo", r#"{"message":"through"}"#]));
    assert!(took < RESPONSIVE, "a call through the flood took {took:?}");
    assert_eq!(answer.trim(), "Echo: through");
    let (took, _) = timed(|| sb.ok(&["disconnect", "flood"]));
    assert!(took < Duration::from_secs(10), "disconnect took {took:?}");
    assert!(!alive(flood_pid));
    calm_answers(&sb, calm);
    assert_consistent(&sb, &["calm", "flood"]);
}

#[test]
fn invalid_json_rpc_is_skipped_and_a_junk_handshake_is_an_error() {
    let (sb, calm) = setup();
    add_bad(&sb, "junk", "invalid_jsonrpc.py", &[]);
    assert_eq!(sb.ok(&["connect", "junk"]).trim(), "connected");
    // Each call is preceded by nine kinds of junk; the real answer gets through.
    for i in 0..3 {
        let args = format!(r#"{{"message":"m{i}"}}"#);
        assert_eq!(
            sb.ok(&["call", "junk", "echo", &args]).trim(),
            format!("Echo: m{i}")
        );
    }
    assert_eq!(sb.json(&["status", "junk"])["status"], "connected");
    calm_answers(&sb, calm);

    // Nothing but junk, even for initialize: the handshake fails at once
    // (the client gives up on the first non-answer and closes the pipes),
    // an `error` with exit 6, and nothing left running.
    add_bad(&sb, "junkstart", "invalid_jsonrpc.py", &["handshake"]);
    let (took, out) = timed(|| sb.run(&["connect", "junkstart", "--timeout", "20"]));
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let status = sb.json(&["status", "junkstart"]);
    assert_eq!(status["status"], "error");
    assert!(status["pid"].is_null());
    calm_answers(&sb, calm);
    assert_consistent(&sb, &["calm", "junk", "junkstart"]);
}

#[test]
fn a_50_mb_message_is_dropped_without_growing_memory() {
    let (sb, calm) = setup();
    let sent = sb.dir.path().join("huge-sent");
    add_bad(&sb, "huge", "huge_message.py", &[sent.to_str().unwrap()]);
    assert_eq!(sb.ok(&["connect", "huge"]).trim(), "connected");
    let before = service_rss(&sb);
    let mut call = sb
        .command()
        .args(["call", "huge", "huge", "{}"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = before;
    assert!(
        poll(Duration::from_secs(30), || {
            peak = peak.max(service_rss(&sb));
            sent.exists()
        }),
        "the 50 MB message was never read off the pipe"
    );
    peak = peak.max(service_rss(&sb));
    assert_rss_bounded(before, peak, "50 MB message");
    calm_answers(&sb, calm);
    // The session survives the oversized line: the same server answers.
    let status = sb.json(&["status", "huge"]);
    assert_eq!(status["status"], "connected", "{status}");
    assert_eq!(
        sb.ok(&["call", "huge", "echo", r#"{"message":"after"}"#])
            .trim(),
        "Echo: after"
    );
    // The oversized answer itself was discarded (rmcp's 16 MiB line cap),
    // so the call that asked for it is still waiting; a disconnect ends it
    // with an error at once instead of after the 300 s call deadline.
    assert!(call.try_wait().unwrap().is_none(), "the huge call returned");
    sb.ok(&["disconnect", "huge"]);
    let mut status = None;
    assert!(poll(Duration::from_secs(10), || {
        status = call.try_wait().unwrap();
        status.is_some()
    }));
    assert!(!status.unwrap().success());
    calm_answers(&sb, calm);
    assert_consistent(&sb, &["calm", "huge"]);
}

#[test]
fn a_server_that_never_reads_stdin_goes_to_error_after_a_missed_ping() {
    let (sb, calm) = setup();
    add_bad(&sb, "deaf", "no_read.py", &[]);
    assert_eq!(sb.ok(&["connect", "deaf"]).trim(), "connected");
    let pid = sb.json(&["status", "deaf"])["pid"].as_u64().unwrap();
    // A call whose request (100 KB) does not fit the pipe: our write blocks.
    let big = format!(r#"{{"message":"{}"}}"#, "b".repeat(100 * 1024));
    let mut call = sb
        .command()
        .args(["call", "deaf", "echo", &big])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    calm_answers(&sb, calm);
    // The next ping cannot be written or answered: `error` within the
    // interval plus the timeout (0.5 s + 2 s), with the reason.
    let status = sb.wait_status("deaf", Duration::from_secs(10), |s| s["status"] == "error");
    let reason = status["error"].as_str().unwrap();
    assert!(
        reason.contains("did not answer a ping within 2000 ms"),
        "{reason}"
    );
    assert!(
        poll(Duration::from_secs(5), || !alive(pid)),
        "the deaf server was not stopped"
    );
    // The blocked call ends too, with an error.
    let mut ended = None;
    assert!(poll(Duration::from_secs(10), || {
        ended = call.try_wait().unwrap();
        ended.is_some()
    }));
    assert!(!ended.unwrap().success());
    calm_answers(&sb, calm);
    assert_consistent(&sb, &["calm", "deaf"]);
}

/// Connects `name` to the stderr flooder in `mode`, waits until the
/// service has read all of it, and checks `calm` still answers; returns the
/// service's RSS before and at its peak.
fn drain_stderr_flood(sb: &common::Sandbox, calm: u64, name: &str, mode: &str) -> (u64, u64) {
    let done = sb.dir.path().join(format!("{name}-done"));
    add_bad(sb, name, "stderr_flood.py", &[mode, done.to_str().unwrap()]);
    let before = service_rss(sb);
    assert_eq!(sb.ok(&["connect", name]).trim(), "connected");
    let mut peak = before;
    assert!(
        poll(Duration::from_secs(60), || {
            peak = peak.max(service_rss(sb));
            done.exists()
        }),
        "the stderr flood was never drained"
    );
    peak = peak.max(service_rss(sb));
    calm_answers(sb, calm);
    (before, peak)
}

#[test]
fn stderr_without_newlines_leaves_memory_bounded() {
    let (sb, calm) = setup();
    // 200 MB of stderr without a newline, read to the end by the service.
    let (before, peak) = drain_stderr_flood(&sb, calm, "noisy", "one-line");
    assert_eq!(sb.json(&["status", "noisy"])["status"], "connected");
    assert_rss_bounded(before, peak, "stderr flood");
    sb.ok(&["disconnect", "noisy"]);
    assert_consistent(&sb, &["calm", "noisy"]);
}

#[test]
fn a_chatty_stderr_does_not_grow_the_log_without_bound() {
    let (sb, calm) = setup();
    // 64 MB of 100-byte lines.
    let (before, peak) = drain_stderr_flood(&sb, calm, "chatty", "lines");
    assert_rss_bounded(before, peak, "stderr lines");
    // The last lines are kept for `status` and errors, all of them bounded.
    let logs = sb.ok(&["logs", "chatty", "-n", "3"]);
    assert!(logs.lines().all(|l| l.len() <= 4096), "{}", logs.len());
    let log_dir = sb.home().join("logs");
    let total: u64 = std::fs::read_dir(&log_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("chatty.log"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    eprintln!("chatty's logs hold {total} bytes");
    // The cap is 5 MiB per file, one rotation kept.
    assert!(
        total <= 12 * 1024 * 1024,
        "64 MB of stderr grew the logs to {total} bytes"
    );
    sb.ok(&["disconnect", "chatty"]);
    assert_consistent(&sb, &["calm", "chatty"]);
}

/// Bytes written (`wchar`) by `pid` and all its descendants.
fn tree_written(pid: u64) -> u64 {
    let own = std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar: "))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    own + children
        .split_whitespace()
        .filter_map(|c| c.parse::<u64>().ok())
        .map(tree_written)
        .sum::<u64>()
}
