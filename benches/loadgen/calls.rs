//! `tools/call` latency and throughput against one contender, and the
//! start-up time of a stdio server on its own.

use std::cell::Cell;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::client::{connect, Session, Target};
use crate::stats::{median, summary};

/// A phase stops after this many failed calls: the contender is broken,
/// and waiting out every timeout would only hold up the run.
const MAX_ERRORS: usize = 10;

/// What to measure.
pub struct Plan {
    pub tool: String,
    pub arguments: Value,
    pub warmup: usize,
    pub calls: usize,
    pub concurrency: Vec<usize>,
    pub throughput_calls: usize,
    pub phase: Duration,
    pub call_timeout: Duration,
    /// How long to wait for the tool to be listed (an aggregator may list
    /// its servers' tools only once they have started).
    pub wait_tool: Duration,
}

/// Connects, finds the tool, warms up, then times sequential calls and
/// the throughput runs. The report is one JSON object.
pub async fn run(label: &str, target: &Target, plan: &Plan) -> anyhow::Result<Value> {
    let started = Instant::now();
    let session = connect(target).await?;
    let connect_ms = ms(started.elapsed());
    let listed_by = Instant::now() + plan.wait_tool;
    let tool = loop {
        let tools = session.tool_names().await?;
        match pick_tool(&tools, &plan.tool) {
            Ok(tool) => break tool,
            Err(err) if Instant::now() > listed_by => return Err(err),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let call = || session.call(&tool, &plan.arguments, plan.call_timeout);

    // The first answer is checked, so a contender that "answers" with an
    // error is not timed as fast.
    if call().await? {
        bail!("{tool} answered with an error");
    }
    let mut errors = 0usize;
    let deadline = Instant::now() + plan.phase;
    for _ in 0..plan.warmup {
        if call().await.is_err() {
            errors += 1;
        }
        if errors >= MAX_ERRORS || Instant::now() > deadline {
            break;
        }
    }

    let mut samples = Vec::with_capacity(plan.calls);
    let deadline = Instant::now() + plan.phase;
    for _ in 0..plan.calls {
        let sent = Instant::now();
        match call().await {
            Ok(_) => samples.push(sent.elapsed().as_nanos() as u64),
            Err(_) => errors += 1,
        }
        if errors >= MAX_ERRORS || Instant::now() > deadline {
            break;
        }
    }
    let latency = summary(&mut samples);

    let mut throughput = Vec::new();
    for &callers in plan.concurrency.iter().filter(|&&c| c > 0) {
        throughput.push(throughput_run(&session, &tool, callers, plan).await);
    }
    session.close().await;
    Ok(json!({
        "label": label,
        "transport": target.transport(),
        "tool": tool,
        "connect_ms": connect_ms,
        "latency": latency,
        "planned_calls": plan.calls,
        "throughput": throughput,
        "errors": errors,
    }))
}

/// `callers` loops sharing one budget of calls on one session, until the
/// budget or the phase's time runs out. Over HTTP the session's pool
/// opens a connection per concurrent caller and keeps it.
async fn throughput_run(session: &Session, tool: &str, callers: usize, plan: &Plan) -> Value {
    let next = Cell::new(0usize);
    let done = Cell::new(0usize);
    let errors = Cell::new(0usize);
    let deadline = Instant::now() + plan.phase;
    let started = Instant::now();
    let caller = || async {
        loop {
            let i = next.get();
            if i >= plan.throughput_calls || errors.get() >= MAX_ERRORS || Instant::now() > deadline
            {
                break;
            }
            next.set(i + 1);
            match session.call(tool, &plan.arguments, plan.call_timeout).await {
                Ok(_) => done.set(done.get() + 1),
                Err(_) => errors.set(errors.get() + 1),
            }
        }
    };
    join_all((0..callers).map(|_| caller())).await;
    let seconds = started.elapsed().as_secs_f64();
    json!({
        "concurrency": callers,
        "calls": done.get(),
        "errors": errors.get(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "calls_per_s": (done.get() as f64 / seconds).round(),
    })
}

/// The tool named `wanted`, or the only one that ends with it after a
/// separator (`ev__echo`, `ev_echo`, `ev-echo`, `ev.echo`).
pub fn pick_tool(tools: &[String], wanted: &str) -> anyhow::Result<String> {
    if let Some(tool) = tools.iter().find(|t| *t == wanted) {
        return Ok(tool.clone());
    }
    let matches: Vec<&str> = tools
        .iter()
        .map(String::as_str)
        .filter(|name| {
            ["__", "_", "-", "."]
                .iter()
                .any(|sep| name.ends_with(&format!("{sep}{wanted}")))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => bail!("no tool named {wanted}; the server offers: {:?}", tools),
        many => bail!("several tools end with {wanted}: {many:?}"),
    }
}

/// Spawn, `initialize` and `tools/list` of `n` servers: one at a time
/// (each alone on the machine), then all at once.
pub async fn backend_start(command: &[String], n: usize) -> anyhow::Result<Value> {
    let target = Target::Stdio(command.to_vec());
    let start_one = || async {
        let started = Instant::now();
        let session = connect(&target).await?;
        session.tool_names().await?;
        anyhow::Ok((ms(started.elapsed()), session))
    };
    let mut solo = Vec::with_capacity(n);
    for _ in 0..n {
        let (took, session) = start_one().await?;
        solo.push(took);
        session.close().await;
    }
    let started = Instant::now();
    let sessions = join_all((0..n).map(|_| start_one())).await;
    let parallel_ms = ms(started.elapsed());
    let mut failed = 0;
    for session in sessions {
        match session {
            Ok((_, session)) => session.close().await,
            Err(_) => failed += 1,
        }
    }
    let sum: f64 = solo.iter().sum();
    let max = solo.iter().copied().fold(0.0, f64::max);
    Ok(json!({
        "n": n,
        "solo_sum_ms": round(sum),
        "solo_max_ms": round(max),
        "solo_median_ms": round(median(&mut solo)),
        "parallel_ms": parallel_ms,
        "parallel_failed": failed,
    }))
}

pub fn ms(duration: Duration) -> f64 {
    round(duration.as_secs_f64() * 1000.0)
}

fn round(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}
