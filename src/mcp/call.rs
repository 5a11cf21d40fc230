//! Calling a tool on a running server with what a proxy needs: progress
//! notifications routed back to the caller, cancellation passed on to the
//! server (`notifications/cancelled`), and a deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest,
    ProgressNotificationParam, ProgressToken, ServerResult,
};
use rmcp::service::{Peer, PeerRequestOptions};
use rmcp::RoleClient;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where progress for one in-flight call goes.
pub type ProgressSender = mpsc::UnboundedSender<ProgressNotificationParam>;

/// In-flight calls of one server by progress token, shared between the
/// caller (who registers) and the client handler (who forwards).
#[derive(Debug, Clone, Default)]
pub struct ProgressRoutes {
    routes: Arc<Mutex<HashMap<ProgressToken, ProgressSender>>>,
}

impl ProgressRoutes {
    fn insert(&self, token: ProgressToken, tx: ProgressSender) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(token, tx);
        }
    }

    fn remove(&self, token: &ProgressToken) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.remove(token);
        }
    }

    /// Forwards a progress notification to the call it belongs to.
    pub fn route(&self, params: ProgressNotificationParam) {
        let tx = self
            .routes
            .lock()
            .ok()
            .and_then(|routes| routes.get(&params.progress_token).cloned());
        if let Some(tx) = tx {
            let _ = tx.send(params);
        }
    }
}

/// How a routed call ended when it produced no result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The caller cancelled; the server was told.
    #[error("the call was cancelled")]
    Cancelled,
    /// The deadline passed; the server was told to cancel.
    #[error("the tool did not answer within {}s and was cancelled", after.as_secs())]
    Timeout { after: Duration },
    /// The server answered with an error, or the connection failed.
    #[error("{0}")]
    Service(#[from] rmcp::ServiceError),
    /// The server answered with something that is not a tool result.
    #[error("the server answered tools/call with an unexpected result")]
    Unexpected,
    /// A built-in skill lost its connection or failed outside the tool.
    #[error("{0}")]
    Backend(String),
}

/// Runs `work` until it ends, `cancel` is cancelled or `timeout` passes:
/// the one bound every backend's tool call runs under.
pub async fn bounded<T>(
    work: impl std::future::Future<Output = Result<T, CallError>>,
    cancel: &CancellationToken,
    timeout: Duration,
) -> Result<T, CallError> {
    tokio::select! {
        done = work => done,
        _ = cancel.cancelled() => Err(CallError::Cancelled),
        _ = tokio::time::sleep(timeout) => Err(CallError::Timeout { after: timeout }),
    }
}

/// Calls a tool. Progress the server reports is sent to `progress` with
/// the server's token (the caller maps it back to its own); cancelling
/// `cancel` or passing `timeout` sends `notifications/cancelled`.
pub async fn call_tool(
    peer: &Peer<RoleClient>,
    routes: &ProgressRoutes,
    params: CallToolRequestParams,
    progress: Option<ProgressSender>,
    cancel: CancellationToken,
    timeout: Duration,
) -> Result<CallToolResult, CallError> {
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
    let mut handle = peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await?;
    let token = handle.progress_token.clone();
    if let Some(tx) = progress {
        routes.insert(token.clone(), tx);
    }
    let outcome = bounded(async { Ok((&mut handle.rx).await) }, &cancel, timeout).await;
    routes.remove(&token);
    match outcome {
        Ok(Ok(Ok(ServerResult::CallToolResult(result)))) => Ok(result),
        Ok(Ok(Ok(_))) => Err(CallError::Unexpected),
        Ok(Ok(Err(err))) => Err(CallError::Service(err)),
        Ok(Err(_closed)) => Err(CallError::Service(rmcp::ServiceError::TransportClosed)),
        Err(err) => {
            let _ = handle.cancel(Some(err.to_string())).await;
            Err(err)
        }
    }
}
