//! The benchmarks' backend: the smallest MCP server we can write with
//! rmcp, over stdio, with one tool, `echo`, that answers
//! `{"message": M}` with the text `Echo: M` (as server-everything's `echo`
//! does, so the same call works on both). It does nothing else, so what a
//! proxy in front of it adds is what a benchmark sees.
//!
//! Built by `bench/run.sh` with `cargo build --release --example
//! echo_server`; `switchboard add bN --command target/release/examples/echo_server`
//! runs it as a connector. One thread: it is one of up to 50 at once on a
//! small machine, and a thread pool per backend would only add start-up
//! time and memory.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};

/// The server: stateless; the tool list is built once.
#[derive(Clone)]
struct Echo {
    /// `[echo]`, shared by every `tools/list`.
    tools: Arc<Vec<Tool>>,
}

impl Echo {
    fn new() -> Echo {
        let schema: Map<String, Value> = match json!({
            "type": "object",
            "properties": {"message": {"type": "string", "description": "what to echo"}},
            "required": ["message"],
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Echo {
            tools: Arc::new(vec![Tool::new(
                "echo",
                "Echoes the message back",
                Arc::new(schema),
            )]),
        }
    }
}

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("bench-echo", env!("CARGO_PKG_VERSION")))
    }

    fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> impl std::future::Future<Output = Result<ListToolsResult, McpError>> + Send + '_ {
        std::future::ready(Ok(ListToolsResult::with_all_items(
            self.tools.as_ref().clone(),
        )))
    }

    fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> impl std::future::Future<Output = Result<CallToolResponse, McpError>> + Send + '_ {
        let result = if request.name == "echo" {
            let message = request
                .arguments
                .as_ref()
                .and_then(|args| args.get("message"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(
                CallToolResult::success(vec![ContentBlock::text(format!("Echo: {message}"))])
                    .into(),
            )
        } else {
            Err(McpError::invalid_params(
                format!("unknown tool `{}`", request.name),
                None,
            ))
        };
        std::future::ready(result)
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let session = Echo::new()
            .serve((tokio::io::stdin(), tokio::io::stdout()))
            .await?;
        session.waiting().await?;
        Ok(())
    })
}
