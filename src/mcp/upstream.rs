//! Requests a server makes of its client while it works — sampling (the
//! client's LLM), elicitation (the client's user) and roots (the client's
//! folders). The service's connection to a server is a client with none of
//! these, so it passes them up to whoever calls that server: the gateway,
//! which knows the client session whose call is in flight. Until a gateway
//! fills the cell, they are refused with a clear error.

// Sampling and roots are deprecated by the 2026 revision (SEP-2577); the
// clients and servers of the revisions before it, most today, use them.
#![allow(deprecated)]

use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, CustomNotification, ElicitRequestParams,
    ElicitResult, InputRequest, InputRequests, InputResponses, ListRootsResult,
};

/// The notification a server sends when a URL-mode elicitation finished
/// out of band (the user completed the page it pointed to).
pub const ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
/// The notification a server of the 2025-11-25 revision sends when one of
/// its tasks changes status (rmcp reads it as a custom notification).
pub const TASK_STATUS: &str = "notifications/tasks/status";
use rmcp::ErrorData as McpError;

/// Where a server's requests of its client go.
pub trait Upstream: Send + Sync {
    /// `sampling/createMessage` from `connector`'s server.
    fn create_message(
        &self,
        connector: &str,
        params: CreateMessageRequestParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, McpError>>;

    /// `elicitation/create` from `connector`'s server.
    fn create_elicitation(
        &self,
        connector: &str,
        params: ElicitRequestParams,
    ) -> BoxFuture<'static, Result<ElicitResult, McpError>>;

    /// `roots/list` from `connector`'s server.
    fn list_roots(&self, connector: &str) -> BoxFuture<'static, Result<ListRootsResult, McpError>>;

    /// `notifications/elicitation/complete` from `connector`'s server: to
    /// the client its URL elicitation went to.
    fn elicitation_complete(&self, connector: &str, notification: CustomNotification);

    /// `notifications/tasks/status` from `connector`'s server: to the
    /// client that created the task.
    fn task_status(&self, connector: &str, notification: CustomNotification);
}

impl std::fmt::Debug for dyn Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upstream")
    }
}

/// The cell every server connection reads its upstream from; set once,
/// by the gateway, after the service started.
pub type SharedUpstream = Arc<OnceLock<Arc<dyn Upstream>>>;

/// The error for a request no client can answer.
pub fn no_client(what: &str) -> McpError {
    McpError::invalid_request(
        format!("{what}: no MCP client is calling this server through Switchboard right now"),
        None,
    )
}

/// Answers a 2026-07-28 server's `input_required` requests (sampling,
/// elicitation, roots) through the upstream, as if the server had sent
/// each as a request of its own: the calling client answers them, in the
/// revision it speaks. The answers are keyed like the requests.
pub async fn fulfil(
    upstream: &SharedUpstream,
    connector: &str,
    requests: InputRequests,
) -> Result<InputResponses, McpError> {
    let Some(upstream) = upstream.get() else {
        return Err(no_client("input requests"));
    };
    let answers = requests.into_iter().map(|(key, request)| {
        let answer: BoxFuture<'static, Result<serde_json::Value, McpError>> = match request {
            InputRequest::CreateMessage(r) => {
                let asked = upstream.create_message(connector, r.params);
                Box::pin(async move { asked.await.and_then(to_value) })
            }
            InputRequest::Elicitation(r) => {
                let asked = upstream.create_elicitation(connector, r.params);
                Box::pin(async move { asked.await.and_then(to_value) })
            }
            InputRequest::ListRoots(_) => {
                let asked = upstream.list_roots(connector);
                Box::pin(async move { asked.await.and_then(to_value) })
            }
            // A kind of request this build does not know.
            #[allow(unreachable_patterns)]
            _ => Box::pin(std::future::ready(Err(McpError::invalid_request(
                "an input request of a kind Switchboard cannot pass on",
                None,
            )))),
        };
        async move { answer.await.map(|value| (key, value)) }
    });
    let answered = futures::future::try_join_all(answers).await?;
    Ok(answered.into_iter().collect())
}

fn to_value<T: serde::Serialize>(answer: T) -> Result<serde_json::Value, McpError> {
    serde_json::to_value(answer)
        .map_err(|e| McpError::internal_error(format!("encoding an answer: {e}"), None))
}
