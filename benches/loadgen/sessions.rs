//! Sustained load from many clients at once: `sessions` separate MCP
//! client connections (each its own `switchboard gateway` process, or its
//! own HTTP session), each making one call after another for a fixed time.
//! Reports every call's latency together, the rate, and the failures
//! (issue 10's bar is none).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::calls::{ms, pick_tool};
use crate::client::{connect, Target};
use crate::stats::summary;

/// What to run.
pub struct Plan {
    pub tool: String,
    pub arguments: Value,
    pub sessions: usize,
    pub duration: Duration,
    pub call_timeout: Duration,
}

/// Connects every session (all must succeed), then lets each call in a
/// loop until the time is up.
pub async fn run(label: &str, target: &Target, plan: &Plan) -> anyhow::Result<Value> {
    let started = Instant::now();
    let sessions = join_all((0..plan.sessions).map(|_| connect(target))).await;
    let sessions = sessions
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()
        .context("a session failed to connect")?;
    let connect_ms = ms(started.elapsed());
    let tool = pick_tool(&sessions[0].tool_names().await?, &plan.tool)?;

    let samples = RefCell::new(Vec::new());
    let errors = RefCell::new(0usize);
    let started = Instant::now();
    let deadline = started + plan.duration;
    join_all(sessions.iter().map(|session| {
        let (tool, samples, errors) = (&tool, &samples, &errors);
        async move {
            while Instant::now() < deadline {
                let sent = Instant::now();
                match session.call(tool, &plan.arguments, plan.call_timeout).await {
                    Ok(false) => {
                        samples.borrow_mut().push(sent.elapsed().as_nanos() as u64);
                    }
                    _ => *errors.borrow_mut() += 1,
                }
            }
        }
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    for session in sessions {
        session.close().await;
    }
    let mut samples = samples.into_inner();
    let calls = samples.len();
    Ok(json!({
        "label": label,
        "transport": target.transport(),
        "sessions": plan.sessions,
        "connect_ms": connect_ms,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "calls": calls,
        "calls_per_s": (calls as f64 / seconds).round(),
        "errors": errors.into_inner(),
        "latency": summary(&mut samples),
    }))
}
