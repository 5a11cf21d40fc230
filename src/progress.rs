//! Feedback while `connect` waits for a server (a first `npx -y`, an image
//! build, a slow start can take a minute). On a terminal: a spinner on
//! stderr saying what is happening and for how long (indicatif). Without
//! one: a plain line on stderr once the wait passes a couple of seconds,
//! and one more whenever what it waits for changes. With `--json`: nothing.
//!
//! What is happening comes from the service: the connector's `phase`,
//! asked for a few times a second on a connection of its own.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use switchboard::{Client, ConnectorInfo};

/// How often the phase is asked for.
const POLL: Duration = Duration::from_millis(250);
/// Without a terminal, waits shorter than this print nothing.
const QUIET_FOR: Duration = Duration::from_secs(2);

/// Runs `work` (the connect request), showing what it waits for.
pub async fn connecting<T>(
    client: &Client,
    name: &str,
    quiet: bool,
    work: impl Future<Output = T>,
) -> T {
    if quiet {
        return work.await;
    }
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| spinner(name));
    let mut said = String::new();
    // The first look after one interval: a quick connect asks nothing more.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + POLL, POLL);
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => {
                if let Some(spinner) = spinner {
                    spinner.finish_and_clear();
                }
                return out;
            }
            _ = tick.tick() => {
                let Some(what) = what_happens(client, name).await else { continue };
                match &spinner {
                    Some(spinner) => spinner.set_message(what),
                    None if started.elapsed() >= QUIET_FOR && what != said => {
                        switchboard::errln!("{what} ({} s)", started.elapsed().as_secs());
                        said = what;
                    }
                    None => {}
                }
            }
        }
    }
}

fn spinner(name: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(format!("{name}: connecting"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// "github: starting its container (docker mcp/github)", from the
/// connector's phase; `None` when the service does not answer quickly.
async fn what_happens(client: &Client, name: &str) -> Option<String> {
    let info: ConnectorInfo = tokio::time::timeout(POLL * 4, client.status(name))
        .await
        .ok()?
        .ok()?;
    Some(format!("{name}: {}", describe(&info)))
}

fn describe(info: &ConnectorInfo) -> String {
    let backend = &info.backend;
    let container = backend.starts_with("docker") || backend.starts_with("podman");
    match info.phase.as_str() {
        "starting" if container => format!("starting its container ({backend})"),
        "starting" if info.kind == switchboard::ConnectorType::Skill => {
            "opening the built-in skill".to_string()
        }
        "starting" => format!("starting the server ({backend})"),
        "initializing" if backend.starts_with("remote") => {
            format!("reaching the server and waiting for initialize ({backend})")
        }
        "initializing" => format!("waiting for initialize ({backend})"),
        "needs-sign-in" => "waiting for the sign-in to finish in the browser".to_string(),
        "needs-config" if !info.missing.is_empty() => {
            format!("needs a value: missing {}", info.missing.join(", "))
        }
        "restarting" => match &info.error {
            Some(reason) => format!("restarting after: {reason}"),
            None => "restarting".to_string(),
        },
        "running" => "connected".to_string(),
        phase => phase.to_string(),
    }
}
