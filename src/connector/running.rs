//! What a connected connector runs: an MCP server (local or remote) or a
//! built-in skill. Both answer the same tool interface with MCP's types,
//! so callers never care which backend answered.
//!
//! A skill has no process to watch, so [`RunningSkill`] owns a small
//! health task that checks the connection on the ping interval and
//! reports a failure the way a dead server is reported.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::mcp::{CallError, HealthPolicy, ProgressSender, RunningServer, ServerEvent, ToolCaller};
use crate::skills::Skill;

/// A connected backend.
pub enum Running {
    /// An MCP server we started or connected to.
    Mcp(RunningServer),
    /// A built-in skill with its open connection.
    Skill(RunningSkill),
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Running::Mcp(server) => f.debug_tuple("Mcp").field(server).finish(),
            Running::Skill(_) => f.write_str("Skill"),
        }
    }
}

impl Running {
    /// The MCP server, for what only servers have (pid, stderr, peer).
    pub fn server(&self) -> Option<&RunningServer> {
        match self {
            Running::Mcp(server) => Some(server),
            Running::Skill(_) => None,
        }
    }

    /// What the person should know about how it is connected (a skill's
    /// dangerous database role); MCP servers say nothing here.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Running::Mcp(_) => Vec::new(),
            Running::Skill(skill) => skill.skill.warnings(),
        }
    }

    /// A handle for tool calls, usable without holding the backend.
    pub fn caller(&self) -> Caller {
        match self {
            Running::Mcp(server) => Caller::Mcp(server.caller()),
            Running::Skill(skill) => Caller::Skill(skill.skill.clone()),
        }
    }

    /// A future that stops the backend and resolves when it is gone; it
    /// borrows nothing, so the owner can keep the state while it runs.
    pub fn stopping(&self) -> futures::future::BoxFuture<'static, ()> {
        match self {
            Running::Mcp(server) => Box::pin(server.stopping()),
            Running::Skill(skill) => {
                let stop = skill.stop.clone();
                let mut done = skill.done.clone();
                Box::pin(async move {
                    stop.cancel();
                    let _ = done.wait_for(|finished| *finished).await;
                })
            }
        }
    }
}

/// Calls tools on a backend; clones share it.
#[derive(Clone)]
pub enum Caller {
    Mcp(ToolCaller),
    Skill(Arc<dyn Skill>),
}

impl Caller {
    /// Calls one tool. Skills report no progress; cancellation and the
    /// deadline end the call (dropping a skill's future stops its work).
    pub async fn call(
        &self,
        params: CallToolRequestParams,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Duration,
    ) -> Result<CallToolResult, CallError> {
        match self {
            Caller::Mcp(caller) => caller.call_tool(params, progress, cancel, timeout).await,
            Caller::Skill(skill) => {
                let arguments = params.arguments.unwrap_or_default();
                tokio::select! {
                    result = skill.call(&params.name, arguments) => result.map_err(|err| CallError::Backend(err.to_string())),
                    _ = cancel.cancelled() => Err(CallError::Cancelled),
                    _ = tokio::time::sleep(timeout) => Err(CallError::Timeout { after: timeout }),
                }
            }
        }
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
