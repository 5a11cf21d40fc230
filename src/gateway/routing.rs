//! Routing a client's `tools/call` to the connector that serves it: the
//! tool's target by its qualified name (within the session's profile),
//! progress forwarded under the client's own token, cancellation and the
//! per-call deadline, a 2026-07-28 client's call parked in rounds
//! (`gateway/rounds.rs`), and the outcome as the gateway answers it.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ProgressNotificationParam,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use tokio::sync::mpsc;

use super::{callers, names, rounds, search, Gateway};
use crate::error::Error;

/// How long a finished call waits for its progress to be passed on.
const PROGRESS_DRAIN: Duration = Duration::from_secs(2);

impl Gateway {
    /// How long a routed call may take (`callTimeoutSeconds`).
    pub(super) fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.options.call_timeout_seconds.max(1))
    }

    /// The connector and its own name of the tool a client calls `name`,
    /// within this session's profile.
    pub(super) fn target(&self, name: &str) -> Result<(String, String), McpError> {
        let separator = &self.options.separator;
        let target = match self.options.prefix {
            // The hot path: checks names without building the list.
            names::Prefix::Always => self.service.find_gateway_tool(|connector, tool| {
                names::is_qualified(name, connector, tool, separator)
            }),
            // A name's form depends on the other connectors' tools.
            _ => self
                .tools()
                .into_iter()
                .find(|q| q.name == name)
                .map(|q| (q.connector, q.raw_name)),
        };
        let profile = self.profile();
        let target = target.filter(|(connector, raw_name)| {
            profile
                .as_ref()
                .is_none_or(|p| p.allows(connector, raw_name))
        });
        target.ok_or_else(|| {
            McpError::invalid_params(
                format!(
                    "unknown tool `{name}`: list the tools again, its connector may have disconnected"
                ),
                None,
            )
        })
    }

    /// Routes a `tools/call` to the backend that serves the tool.
    pub(super) async fn route_call(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // In search mode `call_tool` becomes the call it names, below.
        if self.mode == search::ToolsMode::Search {
            if let Some(answer) = search::meta_call(|| self.tools(), &mut request) {
                return answer;
            }
        }
        let timeout = self.call_timeout();
        // A 2026-07-28 client's retry answers a call waiting for it.
        if let Some(state) = request.request_state.as_deref() {
            if rounds::Rounds::owns(state) {
                let answers = request.input_responses.clone().unwrap_or_default();
                return self.rounds.resume(state, answers, &context, timeout).await;
            }
        }
        let (connector, raw_name) = self.target(&request.name)?;
        if rounds::is_stateless(&context) {
            let work = self.stateless_call(connector, raw_name, request, &context, timeout);
            return self.rounds.start(work, &context, timeout).await;
        }
        // The backend's requests of its client during this call come here.
        let caller = callers::Caller::Session(context.peer.clone());
        let _in_flight = self.callers.enter(&connector, caller);
        let Some(token) = context.meta.get_progress_token() else {
            let result = self
                .service
                .call_routed(
                    &connector,
                    &raw_name,
                    request.arguments,
                    None,
                    context.ct.clone(),
                    Some(timeout),
                    call_source(&context),
                )
                .await;
            return gateway_result(result);
        };
        // Progress from the backend goes back under the client's own token,
        // in order, forwarded by this task while the call runs (no task of
        // its own: most calls report none).
        let (tx, mut rx) = mpsc::unbounded_channel::<ProgressNotificationParam>();
        let peer = context.peer.clone();
        let forward = async move {
            while let Some(mut params) = rx.recv().await {
                params.progress_token = token.clone();
                let _ = peer.notify_progress(params).await;
            }
        };
        let call = self.service.call_routed(
            &connector,
            &raw_name,
            request.arguments,
            Some(tx),
            context.ct.clone(),
            Some(timeout),
            call_source(&context),
        );
        let mut forward = std::pin::pin!(forward);
        let result = match futures::future::select(std::pin::pin!(call), forward.as_mut()).await {
            futures::future::Either::Left((result, forward)) => {
                // Every sender is gone once the call returns: let the
                // forwarding finish, so the client sees the last progress
                // before the result. No timer is armed when it is done at
                // once (the usual case).
                let _ = tokio::time::timeout(PROGRESS_DRAIN, forward).await;
                result
            }
            // Only ends once every sender is gone, i.e. with the call.
            futures::future::Either::Right(((), call)) => call.await,
        };
        gateway_result(result)
    }
}

impl Gateway {
    /// The backend call of a 2026-07-28 client, to run as a parked call:
    /// its backend's requests of the client come back as asks.
    fn stateless_call(
        &self,
        connector: String,
        raw_name: String,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        timeout: Duration,
    ) -> rounds::Work {
        let service = self.service.clone();
        let callers = self.callers.clone();
        let capabilities = context.meta.client_capabilities().unwrap_or_default();
        let source = call_source(context);
        Box::new(move |asks, progress, cancel| {
            Box::pin(async move {
                let caller = callers::Caller::Rounds { asks, capabilities };
                let _in_flight = callers.enter(&connector, caller);
                let result = service
                    .call_routed(
                        &connector,
                        &raw_name,
                        request.arguments,
                        Some(progress),
                        cancel,
                        Some(timeout),
                        source,
                    )
                    .await;
                gateway_result(result)
            })
        })
    }
}

/// Who calls, for the record: the gateway, and the client's own name.
fn call_source(context: &RequestContext<RoleServer>) -> crate::audit::CallSource {
    crate::audit::CallSource::Gateway {
        client: context.client_info().map(|info| info.name),
    }
}

/// A routed call's outcome as the gateway answers it.
fn gateway_result(
    result: crate::error::Result<CallToolResult>,
) -> Result<CallToolResponse, McpError> {
    match result {
        Ok(result) => Ok(result.into()),
        Err(
            err @ (Error::NotConnected { .. }
            | Error::UnknownTool { .. }
            | Error::ToolDisabled { .. }),
        ) => Err(McpError::invalid_params(err.to_string(), None)),
        // The backend's own error, as the client would get it directly.
        Err(Error::ToolRejected { error }) => Err(error),
        Err(err) => Err(McpError::internal_error(err.to_string(), None)),
    }
}
