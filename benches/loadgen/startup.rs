//! `switchboard serve` start-up: from spawn to its gateway socket
//! answering (the start-up sync is done by then), and to every restored
//! connector `connected`, read from the connectors' own `since` stamps so
//! the polling interval does not blur the figure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Value};

use crate::calls::ms;
use crate::stats::median;

/// How often the gateway socket is tried while the service starts.
const READY_POLL: Duration = Duration::from_millis(1);
/// How often `list --json` is asked while connectors start.
const LIST_POLL: Duration = Duration::from_millis(20);

#[derive(Args)]
pub struct StartupArgs {
    /// The `switchboard` binary.
    #[arg(long)]
    switchboard: PathBuf,
    /// The sandbox's data dir (`SWITCHBOARD_HOME`).
    #[arg(long)]
    home: PathBuf,
    /// The sandbox's settings file (`SWITCHBOARD_SETTINGS`).
    #[arg(long)]
    settings: PathBuf,
    /// Connectors whose names start with this are the ones counted.
    #[arg(long, default_value = "b")]
    prefix: String,
    /// How many of them must come up `connected` (0: only the service).
    #[arg(long)]
    expect: usize,
    /// How many cold starts to time.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Upper bound on one start, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_seconds: u64,
}

pub async fn run(args: &StartupArgs) -> anyhow::Result<Value> {
    let mut ready = Vec::new();
    let mut connected = Vec::new();
    for _ in 0..args.runs {
        let (ready_ms, connected_ms) = one_start(args).await?;
        ready.push(ready_ms);
        if let Some(connected_ms) = connected_ms {
            connected.push(connected_ms);
        }
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(json!({
        "n": args.expect,
        "runs": args.runs,
        "ready_ms": median(&mut ready.clone()),
        "ready_min_ms": min(&ready),
        "all_connected_ms": if connected.is_empty() { Value::Null } else { json!(median(&mut connected.clone())) },
        "all_connected_min_ms": if connected.is_empty() { Value::Null } else { json!(min(&connected)) },
    }))
}

/// One cold start; the service is shut down before returning.
async fn one_start(args: &StartupArgs) -> anyhow::Result<(f64, Option<f64>)> {
    let socket = args.home.join("gateway.sock");
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let mut child = sandboxed(args, &["serve"])
        .process_group(0)
        .spawn()
        .context("cannot start switchboard serve")?;
    let deadline = started + Duration::from_secs(args.timeout_seconds);
    let result = async {
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if Instant::now() > deadline {
                bail!("the service's gateway socket never answered");
            }
            if let Some(status) = child.try_wait()? {
                bail!("switchboard serve exited early: {status}");
            }
            tokio::time::sleep(READY_POLL).await;
        }
        let ready_ms = ms(started.elapsed());
        if args.expect == 0 {
            return Ok((ready_ms, None));
        }
        loop {
            let list = list(args).await?;
            let ours: Vec<&Value> = list
                .iter()
                .filter(|c| {
                    c["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(&args.prefix))
                })
                .collect();
            let up: Vec<&Value> = ours
                .iter()
                .copied()
                .filter(|c| c["status"] == "connected")
                .collect();
            if up.len() >= args.expect {
                let last = up
                    .iter()
                    .filter_map(|c| c["since"].as_str())
                    .filter_map(|s| s.parse::<DateTime<Utc>>().ok())
                    .max()
                    .context("no `since` in list --json")?;
                let started_at: DateTime<Utc> = started_wall.into();
                let took = (last - started_at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                return Ok((ready_ms, Some((took * 100.0).round() / 100.0)));
            }
            if let Some(bad) = ours.iter().find(|c| c["status"] == "error") {
                bail!("connector {} is in error: {}", bad["name"], bad["error"]);
            }
            if Instant::now() > deadline {
                bail!(
                    "only {} of {} connectors connected in time",
                    up.len(),
                    args.expect
                );
            }
            tokio::time::sleep(LIST_POLL).await;
        }
    }
    .await;
    let _ = sandboxed(args, &["shutdown"]).status().await;
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        if let Some(pid) = child.id() {
            // SAFETY: signals the process group this child leads.
            unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
        }
        let _ = child.wait().await;
    }
    wait_gone(&socket).await;
    result
}

async fn list(args: &StartupArgs) -> anyhow::Result<Vec<Value>> {
    let out = sandboxed(args, &["list", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "switchboard list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn sandboxed(args: &StartupArgs, argv: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(&args.switchboard);
    command
        .args(argv)
        .env("SWITCHBOARD_HOME", &args.home)
        .env("SWITCHBOARD_SETTINGS", &args.settings)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Waits (briefly) until a stopped service's socket file is gone, so the
/// next start does not take the old one for the new one.
async fn wait_gone(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while socket.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = std::fs::remove_file(socket);
}
