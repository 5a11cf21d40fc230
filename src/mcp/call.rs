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

use super::upstream::{fulfil, SharedUpstream};

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
    /// The server kept asking for input (`input_required`) past the limit.
    #[error("the server asked for input {rounds} times without finishing the call")]
    TooManyRounds { rounds: usize },
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

/// The most `input_required` rounds one call may take (as rmcp's own
/// client allows), so a server cannot keep a call going forever.
pub const MAX_INPUT_ROUNDS: usize = 10;

/// Where a 2026-07-28 server's `input_required` requests are answered:
/// the upstream, as the connector's requests of its client.
#[derive(Clone, Copy)]
pub struct InputSource<'a> {
    pub connector: &'a str,
    pub upstream: &'a SharedUpstream,
}

/// Calls a tool. Progress the server reports is sent to `progress` with
/// the server's token (the caller maps it back to its own); cancelling
/// `cancel` or passing `timeout` sends `notifications/cancelled`. A server
/// of the 2026-07-28 revision that answers `input_required` gets its
/// requests answered by the calling client (`inputs`) and the call again
/// with the answers and its `requestState`, within the same deadline.
/// `params` is lent, not given: a caller may send the call again another
/// way (`mcp/tasks.rs`); the rounds' answers are left in it.
pub async fn call_tool(
    peer: &Peer<RoleClient>,
    routes: &ProgressRoutes,
    params: &mut CallToolRequestParams,
    progress: Option<ProgressSender>,
    cancel: CancellationToken,
    timeout: Duration,
    inputs: InputSource<'_>,
) -> Result<CallToolResult, CallError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..MAX_INPUT_ROUNDS {
        let round = call_once(
            peer,
            routes,
            params.clone(),
            progress.clone(),
            &cancel,
            deadline,
        );
        let asked = match round.await {
            Ok(ServerResult::CallToolResult(result)) => return Ok(result),
            Ok(ServerResult::InputRequiredResult(asked)) => asked,
            Ok(_) => return Err(CallError::Unexpected),
            Err(CallError::Timeout { .. }) => return Err(CallError::Timeout { after: timeout }),
            Err(err) => return Err(err),
        };
        params.input_responses = match asked.input_requests {
            Some(requests) => {
                let answers = fulfil(inputs.upstream, inputs.connector, requests);
                let answered = bounded(
                    async {
                        answers
                            .await
                            .map_err(|e| CallError::Service(rmcp::ServiceError::McpError(e)))
                    },
                    &cancel,
                    deadline.saturating_duration_since(tokio::time::Instant::now()),
                );
                match answered.await {
                    Ok(answers) => Some(answers),
                    Err(CallError::Timeout { .. }) => {
                        return Err(CallError::Timeout { after: timeout })
                    }
                    Err(err) => return Err(err),
                }
            }
            None => None,
        };
        params.request_state = asked.request_state;
    }
    Err(CallError::TooManyRounds {
        rounds: MAX_INPUT_ROUNDS,
    })
}

/// One `tools/call` request, its answer whatever kind it is.
async fn call_once(
    peer: &Peer<RoleClient>,
    routes: &ProgressRoutes,
    params: CallToolRequestParams,
    progress: Option<ProgressSender>,
    cancel: &CancellationToken,
    deadline: tokio::time::Instant,
) -> Result<ServerResult, CallError> {
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
    let progress = progress.map(|tx| (routes, tx));
    send(peer, request, progress, cancel, deadline).await
}

/// One request of any kind, its progress (when asked for) routed to the
/// sender, cancelled at the server when `cancel` fires or `deadline`
/// passes.
pub(super) async fn send(
    peer: &Peer<RoleClient>,
    request: ClientRequest,
    progress: Option<(&ProgressRoutes, ProgressSender)>,
    cancel: &CancellationToken,
    deadline: tokio::time::Instant,
) -> Result<ServerResult, CallError> {
    let mut handle = peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await?;
    let token = handle.progress_token.clone();
    let routes = progress.map(|(routes, tx)| {
        routes.insert(token.clone(), tx);
        routes
    });
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let outcome = bounded(async { Ok((&mut handle.rx).await) }, cancel, left).await;
    if let Some(routes) = routes {
        // rmcp hands a notification to the handler in a task of its own,
        // so the last progress, sent just before the result, may still be
        // on its way: let those tasks run before the route goes.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        routes.remove(&token);
    }
    match outcome {
        Ok(Ok(Ok(result))) => Ok(result),
        Ok(Ok(Err(err))) => Err(CallError::Service(err)),
        Ok(Err(_closed)) => Err(CallError::Service(rmcp::ServiceError::TransportClosed)),
        Err(err) => {
            let _ = handle.cancel(Some(err.to_string())).await;
            Err(err)
        }
    }
}
