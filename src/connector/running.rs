//! What a connected connector runs: an MCP server (local or remote) or a
//! built-in skill, both behind one [`Backend`] trait answering the same
//! tool interface with MCP's types, so callers never care which answered.
//!
//! A skill has no process to watch, so [`RunningSkill`] owns a small
//! health task that checks the connection on the ping interval and
//! reports a failure the way a dead server is reported.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;

use crate::mcp::{
    bounded, CallError, HealthPolicy, ProgressSender, RunningServer, ServerEvent, ToolCaller,
};
use crate::skills::Skill;

/// What a connected connector runs, whichever kind it is. The core holds
/// one as `Box<dyn Backend>` and never asks which: an MCP server adds only
/// what servers have (pid, stderr, the peer) through [`Backend::server`].
pub trait Backend: Send + Sync {
    /// A handle for tool calls, usable without holding the backend (so a
    /// stop never waits for the calls in flight).
    fn caller(&self) -> Caller;
    /// What the person should know about how it is connected (a skill's
    /// dangerous database role).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// A future that stops the backend and resolves when it is gone; it
    /// borrows nothing, so the owner can keep the state while it runs.
    fn stopping(&self) -> BoxFuture<'static, ()>;
    /// The MCP server, for what only servers have.
    fn server(&self) -> Option<&RunningServer> {
        None
    }
}

/// A connected backend, owned by the connector's state.
pub type Running = Box<dyn Backend>;

impl std::fmt::Debug for dyn Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.server() {
            Some(server) => f.debug_tuple("Mcp").field(server).finish(),
            None => f.write_str("Skill"),
        }
    }
}

/// Calls tools on a backend with progress, cancellation and a deadline.
pub trait ToolCall: Send + Sync {
    /// Calls one tool; cancelling `cancel` or passing `timeout` ends it.
    fn call(
        &self,
        params: CallToolRequestParams,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<CallToolResult, CallError>>;
}

/// A shared handle for tool calls.
pub type Caller = Arc<dyn ToolCall>;

impl Backend for RunningServer {
    fn caller(&self) -> Caller {
        Arc::new(RunningServer::caller(self))
    }

    fn stopping(&self) -> BoxFuture<'static, ()> {
        Box::pin(RunningServer::stopping(self))
    }

    fn server(&self) -> Option<&RunningServer> {
        Some(self)
    }
}

impl ToolCall for ToolCaller {
    fn call(
        &self,
        params: CallToolRequestParams,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<CallToolResult, CallError>> {
        Box::pin(self.call_tool(params, progress, cancel, timeout))
    }
}

/// Tool calls on a skill. Skills report no progress; dropping a skill's
/// future on cancellation or the deadline stops its work.
struct SkillCaller(Arc<dyn Skill>);

impl ToolCall for SkillCaller {
    fn call(
        &self,
        params: CallToolRequestParams,
        _progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<CallToolResult, CallError>> {
        let arguments = params.arguments.unwrap_or_default();
        Box::pin(async move {
            let call = self.0.call(&params.name, arguments);
            let called = async {
                call.await
                    .map_err(|err| CallError::Backend(err.to_string()))
            };
            bounded(called, &cancel, timeout).await
        })
    }
}

/// A connected skill and its health task.
pub struct RunningSkill {
    skill: Arc<dyn Skill>,
    /// Cancelled to stop the health task and close the connection.
    stop: CancellationToken,
    /// Becomes `true` once the connection is closed.
    done: watch::Receiver<bool>,
}

impl Drop for RunningSkill {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RunningSkill {
    /// Takes an opened skill and starts checking it on the ping interval;
    /// a failed check is reported as [`ServerEvent::Exited`].
    pub fn start(
        skill: Box<dyn Skill>,
        policy: HealthPolicy,
        (connector, generation): (String, u64),
        events: mpsc::UnboundedSender<ServerEvent>,
    ) -> RunningSkill {
        let skill: Arc<dyn Skill> = Arc::from(skill);
        let stop = CancellationToken::new();
        let (done_tx, done) = watch::channel(false);
        let watched = skill.clone();
        let token = stop.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(
                tokio::time::Instant::now() + policy.ping_interval,
                policy.ping_interval,
            );
            let reason = loop {
                tokio::select! {
                    _ = token.cancelled() => break None,
                    _ = ticker.tick() => {
                        match tokio::time::timeout(policy.ping_timeout, watched.check()).await {
                            Ok(Ok(())) => {}
                            Ok(Err(err)) => break Some(format!("the connection failed its health check: {err}")),
                            Err(_) => break Some(format!(
                                "the connection did not answer its health check within {} ms",
                                policy.ping_timeout.as_millis()
                            )),
                        }
                    }
                }
            };
            watched.close().await;
            let _ = done_tx.send(true);
            if let Some(reason) = reason {
                let _ = events.send(ServerEvent::Exited {
                    connector,
                    generation,
                    reason,
                });
            }
        });
        RunningSkill { skill, stop, done }
    }

    /// The skill's tools.
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.skill.tools()
    }
}

impl Backend for RunningSkill {
    fn caller(&self) -> Caller {
        Arc::new(SkillCaller(self.skill.clone()))
    }

    fn warnings(&self) -> Vec<String> {
        self.skill.warnings()
    }

    fn stopping(&self) -> BoxFuture<'static, ()> {
        let stop = self.stop.clone();
        let mut done = self.done.clone();
        Box::pin(async move {
            stop.cancel();
            let _ = done.wait_for(|finished| *finished).await;
        })
    }
}
