//! One running MCP server: spawn it, complete the MCP handshake within a
//! deadline, then supervise it until it is stopped or dies.
//!
//! A [`RunningServer`] is the only handle to its supervisor task; dropping
//! it (or calling [`RunningServer::stop`]) stops the server. A server that
//! dies on its own is reported as [`ServerEvent::Exited`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rmcp::service::ClientServiceExt;
use rmcp::service::Peer;
use rmcp::RoleClient;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::call::{call_tool, CallError, InputSource, ProgressRoutes, ProgressSender};
use super::client_tasks::Executions;
use super::config::{LaunchKind, LaunchPlan};
use super::engine::ContainerEngine;
use super::handler::{Handler, ServerEvent};
use super::launcher::LaunchContext;
use super::log::ServerLog;
use super::process::{describe_exit, ServerProcess};
use super::remote::{connect_remote_signed, RemoteTransport};
use super::revision::{self, Revision};
use super::supervisor::{supervise, Health, HealthPolicy, Supervised};
use super::upstream::SharedUpstream;
use crate::error::{stderr_suffix, Error, Result};

/// Stderr lines quoted in an error message.
const QUOTED_LINES: usize = 3;
/// How long a server that failed its handshake gets to report its exit.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long we wait for a dead server's last stderr lines.
const STDERR_DRAIN: Duration = Duration::from_millis(500);
/// Docker's exit code when the engine itself failed (image missing, bad flag).
const ENGINE_FAILURE_EXIT: i32 = 125;

/// Everything [`start_server`] needs besides the plan.
pub struct StartOptions<'a> {
    /// The connector's name.
    pub connector: &'a str,
    /// Unique per start; stale events from an older start are ignored.
    pub generation: u64,
    /// The data dir of this service, used to label containers.
    pub home: &'a Path,
    /// Where the server's stderr is appended.
    pub log_file: Option<PathBuf>,
    /// The container engine, for container-backed plans.
    pub engine: Option<&'a ContainerEngine>,
    /// Deadline for spawn + MCP initialize.
    pub timeout: Duration,
    /// How often, and how patiently, the server is pinged once connected.
    pub health: HealthPolicy,
    /// Where supervision events go.
    pub events: mpsc::UnboundedSender<ServerEvent>,
    /// The connector's sign-in, for a remote server that uses one.
    pub auth: Option<Arc<super::auth::ConnectorAuth>>,
    /// Where the server's requests of its client (sampling, elicitation,
    /// roots) go.
    pub upstream: super::upstream::SharedUpstream,
    /// Marked once the server runs (its process spawned, or the remote
    /// request sent) and the start waits for its `initialize` answer.
    pub spawned: Spawned,
}

/// Whether a start got past spawning its server, shared between the start
/// and whoever shows its progress (`phase`: `starting` → `initializing`).
#[derive(Debug, Clone, Default)]
pub struct Spawned(Arc<std::sync::atomic::AtomicBool>);

impl Spawned {
    fn mark(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the server runs and the start waits for `initialize`.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A connected MCP server.
#[derive(Debug)]
pub struct RunningServer {
    peer: Peer<RoleClient>,
    pid: Option<u32>,
    container: Option<String>,
    log: ServerLog,
    /// Cancelled to ask the supervisor to stop the server.
    stop: CancellationToken,
    /// Ping statistics, written by the supervisor.
    health: Arc<Health>,
    /// In-flight calls' progress routes, shared with the client handler.
    progress: ProgressRoutes,
    /// The connector, and where its server's requests of its client go.
    connector: Arc<str>,
    upstream: SharedUpstream,
    /// Tools its server runs only as tasks, shared by its callers.
    task_only: TaskOnly,
    /// Its tools' `execution`, as its tool lists gave them (stdio only).
    executions: Executions,
    /// Becomes `true` when the supervisor, which owns the process and the
    /// MCP session, has finished and the server is gone.
    done: watch::Receiver<bool>,
    /// Whether it died of its memory limit, once it died.
    memory: super::process::MemoryWatch,
}

impl RunningServer {
    /// The MCP peer, for `tools/list`, `tools/call` and the rest.
    pub fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    /// The server's process id (for containers: the `docker run` client's).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The container name, for container-backed servers.
    pub fn container(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// The server's recent stderr.
    pub fn log(&self) -> &ServerLog {
        &self.log
    }

    /// After its death with `code`: the memory limit it died of, if so
    /// ("512 MB").
    pub fn out_of_memory(&self, code: Option<i32>) -> Option<String> {
        self.memory.out_of_memory(code)
    }

    /// Its ping statistics.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Stops the server and waits until its process and container are gone.
    pub async fn stop(self) {
        self.stopping().await
    }

    /// A future that stops the server and resolves once it is gone. It does
    /// not borrow `self`, so the owner can keep the server in place (still
    /// showing as connected) while it stops.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let stop = self.stop.clone();
        let mut done = self.done.clone();
        async move {
            stop.cancel();
            let _ = done.wait_for(|finished| *finished).await;
        }
    }

    /// Its tools' `execution` (`taskSupport`), by tool name, as its tool
    /// lists gave them: rmcp keeps none. Known for servers over stdio.
    pub fn executions(&self) -> std::collections::HashMap<String, serde_json::Value> {
        self.executions
            .lock()
            .map(|known| known.clone())
            .unwrap_or_default()
    }

    /// A cheap handle for tool calls, usable without holding the server.
    pub fn caller(&self) -> ToolCaller {
        ToolCaller {
            peer: self.peer.clone(),
            progress: self.progress.clone(),
            connector: self.connector.clone(),
            upstream: self.upstream.clone(),
            task_only: self.task_only.clone(),
        }
    }
}

/// Calls tools on one server; clones share the session.
#[derive(Debug, Clone)]
pub struct ToolCaller {
    peer: Peer<RoleClient>,
    progress: ProgressRoutes,
    /// Whose requests a 2026-07-28 server's `input_required` are.
    connector: Arc<str>,
    upstream: SharedUpstream,
    /// Tools this server runs only as tasks (`tasks.rs`), learnt from
    /// its answers.
    task_only: TaskOnly,
}

/// The names of a server's tools that run only as tasks.
pub(crate) type TaskOnly = Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

impl ToolCaller {
    fn runs_only_as_task(&self, tool: &str) -> bool {
        self.task_only
            .lock()
            .is_ok_and(|names| names.contains(tool))
    }

    /// Calls a tool with progress routing, cancellation and a deadline.
    pub async fn call_tool(
        &self,
        mut params: rmcp::model::CallToolRequestParams,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Duration,
    ) -> std::result::Result<rmcp::model::CallToolResult, CallError> {
        if self.runs_only_as_task(&params.name) {
            return super::tasks::call_through_task(&self.peer, params, cancel, timeout).await;
        }
        let started = tokio::time::Instant::now();
        let answer = call_tool(
            &self.peer,
            &self.progress,
            &mut params,
            progress,
            cancel.clone(),
            timeout,
            InputSource {
                connector: &self.connector,
                upstream: &self.upstream,
            },
        )
        .await;
        if !super::tasks::needs_task(&answer) {
            return answer;
        }
        // Its server runs it only as a task: from now on it is called as
        // one, for clients that never asked for a task.
        if let Ok(mut names) = self.task_only.lock() {
            names.insert(params.name.to_string());
        }
        let left = timeout.saturating_sub(started.elapsed());
        super::tasks::call_through_task(&self.peer, params, cancel, left).await
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The supervisor sees this and stops the server; if the runtime is
        // going away instead, dropping the task drops the process, whose own
        // Drop kills the group.
        self.stop.cancel();
    }
}

/// Starts the server of `plan` (or connects to it, for a remote one) and
/// completes the MCP handshake, all within `opts.timeout`. On failure the
/// process is gone before this returns.
pub async fn start_server(plan: &LaunchPlan, opts: StartOptions<'_>) -> Result<RunningServer> {
    if let LaunchKind::Remote {
        url,
        transport,
        headers,
    } = &plan.kind
    {
        return start_remote(url, *transport, headers, opts).await;
    }
    start_local(plan, opts).await
}

/// The connection's `Handler`, reporting as this start of the connector.
fn handler_for(opts: &StartOptions<'_>, progress: &ProgressRoutes) -> Handler {
    Handler::new(
        opts.connector,
        opts.generation,
        opts.events.clone(),
        progress.clone(),
        opts.upstream.clone(),
    )
}

async fn start_remote(
    url: &str,
    transport: RemoteTransport,
    headers: &std::collections::BTreeMap<String, String>,
    opts: StartOptions<'_>,
) -> Result<RunningServer> {
    let progress = ProgressRoutes::default();
    let handler = handler_for(&opts, &progress);
    opts.spawned.mark();
    let service = connect_remote_signed(
        url,
        transport,
        headers,
        handler,
        opts.timeout,
        opts.auth.clone(),
    )
    .await?;
    Ok(supervised(
        service,
        None,
        None,
        ServerLog::default(),
        progress,
        Executions::default(),
        opts,
    ))
}

async fn start_local(plan: &LaunchPlan, opts: StartOptions<'_>) -> Result<RunningServer> {
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut revision = Revision::Handshake;
    loop {
        match start_local_as(plan, &opts, revision, deadline).await? {
            Started::Up(up) => {
                return Ok(supervised(
                    up.service,
                    Some(up.process),
                    Some(up.stderr_task),
                    up.log,
                    up.progress,
                    up.executions,
                    opts,
                ))
            }
            Started::Retry(next) => revision = next,
        }
    }
}

/// How one start in one revision ended, when it did not fail outright.
enum Started {
    Up(Box<Up>),
    /// The server refused this revision's start; it is stopped, and may be
    /// started again in the next.
    Retry(Revision),
}

/// A started server and what follows it.
struct Up {
    service: rmcp::service::RunningService<RoleClient, Handler>,
    process: ServerProcess,
    stderr_task: tokio::task::JoinHandle<()>,
    log: ServerLog,
    progress: ProgressRoutes,
    executions: Executions,
}

/// Spawns the server and starts its session in `revision`, by `deadline`.
async fn start_local_as(
    plan: &LaunchPlan,
    opts: &StartOptions<'_>,
    revision: Revision,
    deadline: tokio::time::Instant,
) -> Result<Started> {
    let log = ServerLog::default();
    let notes: crate::egress::Notes = {
        let log = log.clone();
        let file = opts.log_file.clone();
        std::sync::Arc::new(move |line: &str| {
            log.note(line);
            if let Some(file) = &file {
                super::log::append_line(file, line);
            }
        })
    };
    let ctx = LaunchContext {
        connector: opts.connector,
        generation: opts.generation,
        home: opts.home,
        engine: opts.engine,
        notes,
    };
    let (mut process, pipes) = ServerProcess::spawn(plan, &ctx).await?;
    opts.spawned.mark();
    let stderr_task = tokio::spawn(log.clone().follow(
        pipes.stderr,
        opts.log_file.clone(),
        plan.secrets.clone(),
    ));
    let progress = ProgressRoutes::default();
    let handler = handler_for(opts, &progress);
    // Tasks the server asks of its client are answered beneath rmcp,
    // which also leaves us to note its tools' `execution`.
    let executions = Executions::default();
    let pipes_tapped = super::client_tasks::tap(
        pipes.stdout,
        pipes.stdin,
        opts.connector,
        opts.upstream.clone(),
        executions.clone(),
    );
    let handshake = handler.serve_with_lifecycle(pipes_tapped, revision.lifecycle());
    let service = match tokio::time::timeout_at(deadline, handshake).await {
        Ok(Ok(service)) => service,
        Ok(Err(err)) => {
            if let Some(next) = revision.next_after(&err) {
                process.stop(Duration::ZERO).await;
                tracing::debug!(
                    connector = opts.connector,
                    "the server refused initialize ({err}); trying protocol 2026-07-28"
                );
                return Ok(Started::Retry(next));
            }
            // The usual cause is a server that exited; give it a moment so
            // the message can carry its exit status and last words.
            let exit = tokio::time::timeout(EXIT_GRACE, process.wait()).await;
            let _ = tokio::time::timeout(STDERR_DRAIN, stderr_task).await;
            let stderr = stderr_suffix(&log.tail(QUOTED_LINES));
            process.stop(Duration::ZERO).await;
            return Err(match exit {
                Ok(Ok(status)) => match (&plan.kind, status.code()) {
                    (LaunchKind::Container { image, .. }, Some(ENGINE_FAILURE_EXIT)) => {
                        Error::ImageUnavailable {
                            image: image.clone(),
                            code: ENGINE_FAILURE_EXIT,
                            stderr,
                        }
                    }
                    _ => Error::ExitedDuringStart {
                        status: describe_exit(status),
                        stderr,
                    },
                },
                _ => Error::Handshake {
                    message: err.to_string(),
                    stderr,
                },
            });
        }
        Err(_) => {
            let stderr = stderr_suffix(&log.tail(QUOTED_LINES));
            process.stop(Duration::ZERO).await;
            return Err(Error::StartTimeout {
                after: opts.timeout,
                stderr,
            });
        }
    };
    Ok(Started::Up(Box::new(Up {
        service,
        process,
        stderr_task,
        log,
        progress,
        executions,
    })))
}

/// Hands a connected session (and its process, if local) to a supervisor.
fn supervised(
    service: rmcp::service::RunningService<RoleClient, Handler>,
    process: Option<ServerProcess>,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    log: ServerLog,
    progress: ProgressRoutes,
    executions: Executions,
    opts: StartOptions<'_>,
) -> RunningServer {
    let peer = service.peer().clone();
    let connector: Arc<str> = Arc::from(opts.connector);
    let upstream = opts.upstream.clone();
    let pid = process.as_ref().and_then(ServerProcess::pid);
    let container = process
        .as_ref()
        .and_then(|p| p.container().map(str::to_string));
    let memory = process
        .as_ref()
        .map(ServerProcess::memory_watch)
        .unwrap_or_default();
    let stop = CancellationToken::new();
    let (done_tx, done) = watch::channel(false);
    let health = Arc::new(Health::default());
    let stateless = peer
        .peer_info()
        .is_some_and(|info| !info.protocol_version.has_initialize());
    if stateless {
        revision::follow_changes(
            peer.clone(),
            (opts.connector.to_string(), opts.generation),
            opts.events.clone(),
            stop.clone(),
        );
    }
    let supervisor = supervise(
        Supervised {
            service,
            process,
            stderr_task,
            log: log.clone(),
        },
        opts.health,
        health.clone(),
        stop.clone(),
        (opts.connector.to_string(), opts.generation),
        opts.events,
    );
    tokio::spawn(async move {
        supervisor.await;
        let _ = done_tx.send(true);
    });
    RunningServer {
        peer,
        pid,
        container,
        log,
        stop,
        health,
        progress,
        connector,
        upstream,
        task_only: TaskOnly::default(),
        executions,
        done,
        memory,
    }
}
