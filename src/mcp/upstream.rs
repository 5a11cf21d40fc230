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
    ElicitResult, ListRootsResult,
};

/// The notification a server sends when a URL-mode elicitation finished
/// out of band (the user completed the page it pointed to).
pub const ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
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
