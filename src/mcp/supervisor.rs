//! Supervision of one connected server: a task that owns the MCP session
//! and the process, pings the server on an interval with a deadline, and
//! reports a death or a missed ping as [`ServerEvent::Exited`] — or, when
//! asked to stop, stops it politely and then firmly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{ClientRequest, PingRequest};
use rmcp::service::RunningService;
use rmcp::RoleClient;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::handler::{Handler, ServerEvent};
use super::log::ServerLog;
use super::process::describe_exit;
use super::process::ServerProcess;
use crate::error::stderr_suffix;

/// How long a stopping server gets at each step (stdin closed, SIGTERM).
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long we wait for a dead server's last stderr lines.
const STDERR_DRAIN: Duration = Duration::from_millis(500);
/// Stderr lines quoted in an error message.
const QUOTED_LINES: usize = 3;

/// How a connected server is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Time between two pings.
    pub ping_interval: Duration,
    /// How long a ping may take before the server counts as hung.
    pub ping_timeout: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(5),
        }
    }
}

/// Ping statistics of one server, shared with whoever shows its status.
#[derive(Debug, Default)]
pub struct Health {
    /// The last ping's round trip in microseconds; 0 before the first.
    last_ping_us: AtomicU64,
    /// Pings answered so far.
    pings: AtomicU64,
}

impl Health {
    /// The last ping's round trip, once there has been one.
    pub fn last_ping(&self) -> Option<Duration> {
        match self.last_ping_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// How many pings the server answered.
    pub fn pings(&self) -> u64 {
        self.pings.load(Ordering::Relaxed)
    }
}

/// What the supervisor owns.
pub(super) struct Supervised {
    pub service: RunningService<RoleClient, Handler>,
    /// The local process, for stdio servers; remote servers have none.
    pub process: Option<ServerProcess>,
    pub stderr_task: Option<JoinHandle<()>>,
    pub log: ServerLog,
}

/// Runs until `stop` is cancelled (then stops the server) or the server
/// dies or misses a ping (then kills it and reports why).
pub(super) async fn supervise(
    mut owned: Supervised,
    policy: HealthPolicy,
    health: Arc<Health>,
    stop: CancellationToken,
    (connector, generation): (String, u64),
    events: mpsc::UnboundedSender<ServerEvent>,
) {
    let peer = owned.service.peer().clone();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + policy.ping_interval,
        policy.ping_interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reason = loop {
        tokio::select! {
            _ = stop.cancelled() => {
                // Closing the session closes the server's stdin: the polite
                // way to ask a stdio server to leave.
                let _ = owned.service.close_with_timeout(STOP_GRACE).await;
                if let Some(process) = owned.process.as_mut() {
                    process.stop(STOP_GRACE).await;
                }
                return;
            }
            status = wait_process(&mut owned.process) => {
                let _ = owned.service.close_with_timeout(STOP_GRACE).await;
                if let Some(task) = owned.stderr_task.take() {
                    let _ = tokio::time::timeout(STDERR_DRAIN, task).await;
                }
                let code = status.as_ref().ok().and_then(|s| s.code());
                let how = match status {
                    Ok(status) => describe_exit(status),
                    Err(err) => format!("could not be waited for ({err})"),
                };
                let stderr = stderr_suffix(&owned.log.tail(QUOTED_LINES));
                let watch = owned.process.as_ref().map(ServerProcess::memory_watch).unwrap_or_default();
                if let Some(limit) = watch.out_of_memory(code) {
                    break out_of_memory(&connector, &limit, &stderr);
                }
                break format!("the server exited {how}{stderr}");
            }
            _ = ticker.tick() => {
                let started = Instant::now();
                let ping = peer.send_request(ClientRequest::PingRequest(PingRequest {
                    method: Default::default(),
                    extensions: Default::default(),
                }));
                match tokio::time::timeout(policy.ping_timeout, ping).await {
                    Ok(Ok(_)) => {
                        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                        health.last_ping_us.store(us, Ordering::Relaxed);
                        if health.pings.fetch_add(1, Ordering::Relaxed) == 0 {
                            let _ = events.send(ServerEvent::Healthy { connector: connector.clone(), generation });
                        }
                    }
                    Ok(Err(err)) => break format!("the server stopped answering: ping failed ({err})"),
                    Err(_) => break format!(
                        "the server did not answer a ping within {} ms and was stopped",
                        policy.ping_timeout.as_millis()
                    ),
                }
            }
        }
    };
    let _ = owned.service.close_with_timeout(Duration::ZERO).await;
    if let Some(process) = owned.process.as_mut() {
        process.stop(Duration::ZERO).await;
    }
    let _ = events.send(ServerEvent::Exited {
        connector,
        generation,
        reason,
    });
}

async fn wait_process(
    process: &mut Option<ServerProcess>,
) -> std::io::Result<std::process::ExitStatus> {
    match process {
        Some(process) => process.wait().await,
        None => std::future::pending().await,
    }
}

/// The reason for a server the kernel killed at its memory limit.
pub fn out_of_memory(connector: &str, limit: &str, stderr: &str) -> String {
    format!(
        "the server ran out of memory (limit {limit}) and was killed: give it more with \
         `switchboard policy {connector} --memory 1g`{stderr}"
    )
}
