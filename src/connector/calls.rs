//! Calling a connector's tool: the one path of every face (gateway, CLI,
//! API), checked against the connector's state, bounded, its failures put
//! in words, and recorded (`audit.rs`, and `telemetry.rs` when it is on).

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use tokio_util::sync::CancellationToken;

use super::{ConnectorService, CALL_TIMEOUT};
use crate::audit::{CallRecord, CallSource, Outcome};
use crate::error::{Error, Result};
use crate::mcp::{CallError, ProgressSender};

impl ConnectorService {
    /// Calls one tool of a connected connector. `arguments` must be a JSON
    /// object (or absent).
    pub async fn call(
        &self,
        name: &str,
        tool: &str,
        arguments: Option<serde_json::Value>,
        source: CallSource,
    ) -> Result<CallToolResult> {
        let arguments: Option<JsonObject> = match arguments {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(Error::InvalidInput(format!(
                    "tool arguments must be a JSON object such as '{{\"message\":\"hi\"}}', not {other}"
                )))
            }
        };
        let cancel = CancellationToken::new();
        self.call_routed(name, tool, arguments, None, cancel, None, source)
            .await
    }

    /// Calls one tool with what a proxy needs: progress from the backend
    /// goes to `progress`; cancelling `cancel` (or passing `timeout`,
    /// default [`CALL_TIMEOUT`]) cancels the call at the backend. Every
    /// call is recorded (`audit.rs`) as made by `source`.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_routed(
        &self,
        name: &str,
        tool: &str,
        arguments: Option<JsonObject>,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Option<Duration>,
        source: CallSource,
    ) -> Result<CallToolResult> {
        let started = std::time::Instant::now();
        let bytes_in = arguments.as_ref().map_or(0, crate::audit::json_len);
        let result = self
            .call_unrecorded(name, tool, arguments, progress, cancel, timeout)
            .await;
        let outcome = match &result {
            Ok(answer) if answer.is_error == Some(true) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
            Err(Error::Cancelled) => Outcome::Cancelled,
            Err(Error::CallTimeout { .. }) => Outcome::Timeout,
            Err(_) => Outcome::Error,
        };
        let bytes_out = result.as_ref().map_or(0, crate::audit::json_len);
        let record = CallRecord {
            time: chrono::Utc::now(),
            connector: name.to_string(),
            tool: tool.to_string(),
            caller: source,
            outcome,
            ms: started.elapsed().as_secs_f64() * 1000.0,
            bytes_in,
            bytes_out,
        };
        self.inner.telemetry.record(&record);
        self.inner.audit.record(record);
        result
    }

    /// The call record of the last `since` (all of it without), oldest
    /// first, counting every call that has returned.
    pub async fn call_records(&self, since: Option<Duration>) -> Result<Vec<CallRecord>> {
        self.inner.audit.flushed().await;
        let home = self.inner.paths.home.clone();
        tokio::task::spawn_blocking(move || crate::audit::read(&home, since))
            .await
            .map_err(|e| Error::Internal(format!("the call record reader failed: {e}")))
    }

    async fn call_unrecorded(
        &self,
        name: &str,
        tool: &str,
        arguments: Option<JsonObject>,
        progress: Option<ProgressSender>,
        cancel: CancellationToken,
        timeout: Option<Duration>,
    ) -> Result<CallToolResult> {
        let caller = self.with_entry(name, |entry| {
            let Some(running) = entry.state.running() else {
                return Err(Error::NotConnected {
                    name: name.to_string(),
                });
            };
            if !entry.state.tools().iter().any(|t| t.name == tool) {
                return Err(entry.unknown_tool(name, tool));
            }
            if entry.disabled_tools.contains(tool) {
                return Err(Error::ToolDisabled {
                    name: name.to_string(),
                    tool: tool.to_string(),
                });
            }
            Ok(running.caller())
        })??;
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = arguments;
        let timeout = timeout.unwrap_or(CALL_TIMEOUT);
        match caller.call(params, progress, cancel, timeout).await {
            Ok(result) => Ok(result),
            Err(CallError::Cancelled) => Err(Error::Cancelled),
            Err(CallError::Timeout { after }) => Err(Error::CallTimeout { after }),
            Err(CallError::Service(rmcp::ServiceError::McpError(error))) => {
                Err(Error::ToolRejected { error })
            }
            Err(other) => match crate::mcp::scope_challenge(&other) {
                // 403 `insufficient_scope`: say what to do, not rmcp's words.
                Some(challenge) => Err(self.scope_needed(name, tool, &challenge).await),
                None => Err(Error::ToolFailed {
                    message: other.to_string(),
                }),
            },
        }
    }
}
