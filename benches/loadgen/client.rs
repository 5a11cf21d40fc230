//! Connecting the one client to a contender: a stdio server we spawn, or
//! a Streamable HTTP endpoint.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};

/// A contender's address.
#[derive(Debug, Clone)]
pub enum Target {
    /// A command line whose stdin/stdout speak MCP.
    Stdio(Vec<String>),
    /// A Streamable HTTP endpoint, with an optional bearer token.
    Http { url: String, token: Option<String> },
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

/// A connected client session; dropping it closes the session (and kills
/// a stdio child).
pub type Session = RunningService<RoleClient, ()>;

/// Connects and completes `initialize`.
pub async fn connect(target: &Target) -> anyhow::Result<Session> {
    match target {
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
        Target::Http { url, token } => {
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            if let Some(token) = token {
                config = config.auth_header(token.clone());
            }
            ().serve(StreamableHttpClientTransport::from_config(config))
                .await
                .with_context(|| format!("MCP initialize with {url} failed"))
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
    }
}
