//! Connecting the one client to a contender: a stdio server we spawn, or
//! a Streamable HTTP endpoint.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use crate::http_client::HttpSession;

/// A contender's address.
#[derive(Debug, Clone)]
pub enum Target {
    /// A command line whose stdin/stdout speak MCP.
    Stdio(Vec<String>),
    /// A Streamable HTTP endpoint, with an optional bearer token; with
    /// `fresh_connection` every call opens a new TCP connection, otherwise
    /// each caller keeps one (see `http_client`).
    Http {
        url: String,
        token: Option<String>,
        fresh_connection: bool,
    },
    /// A legacy HTTP+SSE endpoint (protocol 2024-11-05), through
    /// Switchboard's own SSE client transport (rmcp no longer has one).
    Sse { url: String },
    /// A Unix socket that speaks MCP (Switchboard's `gateway.sock`, without
    /// the `switchboard gateway` stdio bridge: what the bridge costs).
    Unix(std::path::PathBuf),
}

impl Target {
    /// `stdio` or `http`, for reports.
    pub fn transport(&self) -> &'static str {
        match self {
            Target::Stdio(_) => "stdio",
            Target::Http { .. } => "http",
            Target::Sse { .. } => "sse",
            Target::Unix(_) => "unix",
        }
    }
}

/// A connected client session: rmcp's client, or the keep-alive HTTP
/// client. Dropping it closes the session (and kills a stdio child).
pub enum Session {
    Rmcp(RunningService<RoleClient, ()>),
    Http(HttpSession),
}

impl Session {
    /// Every tool's name.
    pub async fn tool_names(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Session::Rmcp(session) => Ok(session
                .peer()
                .list_all_tools()
                .await
                .context("tools/list failed")?
                .into_iter()
                .map(|tool| tool.name.to_string())
                .collect()),
            Session::Http(session) => session.tool_names().await,
        }
    }

    /// One `tools/call` within `timeout`; `Ok(true)` when the tool
    /// answered with `isError`.
    pub async fn call(
        &self,
        tool: &str,
        arguments: &Value,
        timeout: Duration,
    ) -> anyhow::Result<bool> {
        let answer = async {
            match self {
                Session::Rmcp(session) => {
                    let mut params = CallToolRequestParams::new(tool.to_string());
                    params.arguments = arguments.as_object().cloned();
                    let result = session.peer().call_tool(params).await?;
                    anyhow::Ok(result.is_error == Some(true))
                }
                Session::Http(session) => session.call_tool(tool, arguments).await,
            }
        };
        match tokio::time::timeout(timeout, answer).await {
            Ok(result) => result,
            Err(_) => bail!("no answer within {timeout:?}"),
        }
    }

    /// Ends the session.
    pub async fn close(self) {
        match self {
            Session::Rmcp(session) => {
                let _ = session.cancel().await;
            }
            Session::Http(session) => session.close().await,
        }
    }
}

/// Connects and completes `initialize`.
pub async fn connect(target: &Target) -> anyhow::Result<Session> {
    let session = match target {
        Target::Stdio(argv) => {
            let (program, args) = argv.split_first().context("empty command line")?;
            let mut command = tokio::process::Command::new(program);
            command.args(args);
            let (transport, _) = TokioChildProcess::builder(command)
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {program}"))?;
            ().serve(transport)
                .await
                .with_context(|| format!("MCP initialize with {program} failed"))
        }
        Target::Http {
            url,
            token,
            fresh_connection,
        } => {
            return Ok(Session::Http(
                HttpSession::connect(url, token.as_deref(), *fresh_connection).await?,
            ))
        }
        Target::Sse { url } => switchboard::mcp::connect_remote(
            url,
            switchboard::mcp::RemoteTransport::Sse,
            &Default::default(),
            (),
            Duration::from_secs(30),
        )
        .await
        .with_context(|| format!("MCP initialize with {url} (SSE) failed")),
        Target::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .with_context(|| format!("cannot connect to {}", path.display()))?;
            ().serve(stream)
                .await
                .with_context(|| format!("MCP initialize on {} failed", path.display()))
        }
    };
    Ok(Session::Rmcp(session?))
}
