//! A test peer: an MCP server over stdio that speaks only the protocol
//! revisions it is given (`--versions 2026-07-28`, `--versions
//! 2025-06-18`, or both), as a server written for one revision does.
//!
//! - Only 2026-07-28: `initialize` is refused with "Method not found", as
//!   a server with no handshake answers it; `server/discover` works.
//! - Only revisions with a handshake: `server/discover` is "Method not
//!   found" (the method did not exist then) and an `initialize` proposing
//!   a revision without a handshake is refused, as strict servers check it.
//!
//! Tools: `echo {message}` → `Echo: M`; `grow` adds the tool `grown` and
//! says the list changed (on the session, or on a 2026-07-28 client's
//! `subscriptions/listen` stream); `revision` → the revision this
//! request was served in; `ask {question}` → asks the client's user for an
//! `answer` (elicitation) and answers `You said: A`. In 2026-07-28 the ask
//! is an `input_required` result and the answer comes back with the retry;
//! before it, an `elicitation/create` request in the middle of the call.
//! `--http 127.0.0.1:PORT` serves Streamable HTTP at `/mcp` instead of
//! stdio. `tests/gateway_revisions.rs` runs it behind Switchboard.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult,
    ElicitRequestParams, ElicitResult, Implementation, InitializeRequestParams, InitializeResult,
    InputRequest, InputRequests, InputRequiredResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerConfig, ServerNotification, SubscriptionFilter,
    Tool, ToolListChangedNotification,
};
use rmcp::service::{RequestContext, SubscriptionContext, SubscriptionSink};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};

/// The server: the revisions it speaks and its tools.
#[derive(Clone)]
struct Peer {
    versions: Arc<Vec<ProtocolVersion>>,
    tools: Arc<Mutex<Vec<Tool>>>,
    /// The clients' listen streams (2026-07-28), told of list changes.
    listeners: Arc<Mutex<Vec<SubscriptionSink>>>,
}

fn schema(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

impl Peer {
    fn new(versions: Vec<ProtocolVersion>) -> Peer {
        let string = |name: &str| {
            schema(json!({
                "type": "object",
                "properties": {name: {"type": "string"}},
                "required": [name],
            }))
        };
        Peer {
            versions: Arc::new(versions),
            listeners: Arc::default(),
            tools: Arc::new(Mutex::new(vec![
                Tool::new("echo", "Echoes the message back", string("message")),
                Tool::new(
                    "grow",
                    "Adds the tool `grown` and tells the client its tools changed",
                    schema(json!({"type": "object"})),
                ),
                Tool::new(
                    "revision",
                    "The protocol revision this call was served in",
                    schema(json!({"type": "object"})),
                ),
                Tool::new("ask", "Asks the user a question", string("question")),
            ])),
        }
    }

    fn modern_only(&self) -> bool {
        !self.versions.iter().any(ProtocolVersion::has_initialize)
    }
}

/// The elicitation `ask` sends.
fn ask_params(question: &str) -> Result<ElicitRequestParams, McpError> {
    serde_json::from_value(json!({
        "mode": "form",
        "message": question,
        "requestedSchema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        },
    }))
    .map_err(|e| McpError::internal_error(format!("elicitation params: {e}"), None))
}

/// The answer in an elicitation result, or why there is none.
fn answer_of(result: &ElicitResult) -> String {
    result
        .content
        .as_ref()
        .and_then(|c| c.get("answer"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("no answer ({:?})", result.action))
}

fn text(s: String) -> CallToolResponse {
    CallToolResult::success(vec![ContentBlock::text(s)]).into()
}

impl Peer {
    async fn ask(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let question = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("question"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let modern = context
            .protocol_version()
            .is_some_and(|v| !v.has_initialize());
        if !modern {
            let result = context
                .peer
                .create_elicitation(ask_params(&question)?)
                .await
                .map_err(|e| McpError::internal_error(format!("elicitation: {e}"), None))?;
            return Ok(text(format!("You said: {}", answer_of(&result))));
        }
        if let Some(response) = request
            .input_responses
            .as_ref()
            .and_then(|r| r.get("answer"))
        {
            let result: ElicitResult = serde_json::from_value(response.clone())
                .map_err(|e| McpError::invalid_params(format!("inputResponses: {e}"), None))?;
            return Ok(text(format!("You said: {}", answer_of(&result))));
        }
        let ask: InputRequest = serde_json::from_value(json!({
            "method": "elicitation/create",
            "params": ask_params(&question)?,
        }))
        .map_err(|e| McpError::internal_error(format!("input request: {e}"), None))?;
        let mut requests = InputRequests::new();
        requests.insert("answer".into(), ask);
        Ok(InputRequiredResult::new(Some(requests), Some("asked".into())).into())
    }
}

impl ServerHandler for Peer {
    fn get_info(&self) -> ServerConfig {
        let newest = self
            .versions
            .iter()
            .max_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut config = ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(
            "revision-peer",
            env!("CARGO_PKG_VERSION"),
        ));
        if let Some(newest) = newest {
            config.protocol_version = newest.clone();
        }
        config
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Owned(self.versions.as_ref().clone())
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        if self.modern_only() {
            return Err(McpError::method_not_found::<
                rmcp::model::InitializeResultMethod,
            >());
        }
        if !request.protocol_version.has_initialize() {
            return Err(McpError::invalid_params(
                format!(
                    "unsupported protocol version {} in initialize",
                    request.protocol_version
                ),
                None,
            ));
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, McpError> {
        if !self.versions.iter().any(|v| !v.has_initialize()) {
            return Err(McpError::method_not_found::<
                rmcp::model::DiscoverRequestMethod,
            >());
        }
        Ok(DiscoverResult::from_server_info(
            self.versions.as_ref().clone(),
            self.get_info(),
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = self.tools.lock().map(|t| t.clone()).unwrap_or_default();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        if let Ok(mut listeners) = self.listeners.lock() {
            listeners.push(context.sink().clone());
        }
        context.cancelled().await;
        Ok(())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        match request.name.as_ref() {
            "echo" => {
                let message = request
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Ok(text(format!("Echo: {message}")))
            }
            "revision" => Ok(text(
                context
                    .protocol_version()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unknown".into()),
            )),
            "ask" => self.ask(request, context).await,
            "grow" => {
                if let Ok(mut tools) = self.tools.lock() {
                    if !tools.iter().any(|t| t.name == "grown") {
                        let grown =
                            Tool::new("grown", "Added by grow", schema(json!({"type": "object"})));
                        tools.push(grown);
                    }
                }
                // A session hears it on the session; a 2026-07-28 client
                // only on its listen stream.
                let modern = context
                    .protocol_version()
                    .is_some_and(|v| !v.has_initialize());
                if !modern {
                    let _ = context.peer.notify_tool_list_changed().await;
                }
                let sinks = self.listeners.lock().map(|l| l.clone()).unwrap_or_default();
                for sink in sinks {
                    let changed = ToolListChangedNotification::default();
                    let _ = sink
                        .send(ServerNotification::ToolListChangedNotification(changed))
                        .await;
                }
                Ok(text("grown".into()))
            }
            other => Err(McpError::invalid_params(
                format!("unknown tool `{other}`"),
                None,
            )),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let usage = "usage: revision_server --versions V[,V…] [--http 127.0.0.1:PORT]";
    let mut args = std::env::args().skip(1);
    let mut versions = Vec::new();
    let mut http: Option<String> = None;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--versions", Some(list)) => {
                versions = list
                    .split(',')
                    .map(|v| serde_json::from_value(Value::String(v.trim().to_string())))
                    .collect::<Result<_, _>>()?;
            }
            ("--http", Some(addr)) => http = Some(addr),
            _ => anyhow::bail!(usage),
        }
    }
    if versions.is_empty() {
        anyhow::bail!(usage);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let peer = Peer::new(versions);
    runtime.block_on(async {
        match http {
            Some(addr) => serve_http(peer, &addr).await,
            None => {
                let session = peer
                    .serve((tokio::io::stdin(), tokio::io::stdout()))
                    .await?;
                session.waiting().await?;
                Ok(())
            }
        }
    })
}

/// Serves Streamable HTTP at `http://ADDR/mcp` until killed; prints
/// `listening on URL` once the port is open (port 0 picks one).
async fn serve_http(peer: Peer, addr: &str) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let service = StreamableHttpService::new(
        move || Ok(peer.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
