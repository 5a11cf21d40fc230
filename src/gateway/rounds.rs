//! A server's requests of its client in the middle of a call, for a client
//! of the 2026-07-28 revision, which takes no requests from its server:
//! the call's answer is `input_required` with the requests, the backend's
//! call waits here (parked), and the client's retry — the same
//! `tools/call` with `inputResponses` and our `requestState` — answers
//! them, and the call goes on where it waited. This is how a backend of an
//! older revision (`elicitation/create` sent mid-call) and one of
//! 2026-07-28 (its own `input_required`, answered by the call loop in
//! `mcp/call.rs`) both reach such a client.
//!
//! The backend call runs in a task of its own, so it outlives the request
//! that started it. A parked call that no retry resumes within the call
//! deadline is cancelled, and so is one whose client cancels a round.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolResponse, InputRequest, InputRequests, InputRequiredResult, InputResponses,
    ProgressNotificationParam, ProgressToken,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::mcp::ProgressSender;

/// What a parked call's task reports.
pub(super) enum Event {
    /// The backend asks the client something; the answer goes to the sender.
    Ask(InputRequest, oneshot::Sender<Result<Value, McpError>>),
    /// The call ended.
    Done(Result<CallToolResponse, McpError>),
}

/// Where the upstream sends a call's asks.
pub(super) type Asks = mpsc::UnboundedSender<Event>;

/// The work of one call: given where to send asks and progress, and what
/// cancels it, its result.
pub(super) type Work = Box<
    dyn FnOnce(
            Asks,
            ProgressSender,
            CancellationToken,
        ) -> BoxFuture<'static, Result<CallToolResponse, McpError>>
        + Send,
>;

/// The client request progress goes to now: the latest round's.
type ProgressTarget = Arc<Mutex<Option<(Peer<RoleServer>, ProgressToken)>>>;

/// A call waiting for its client's answers.
struct Parked {
    events: mpsc::UnboundedReceiver<Event>,
    /// The asks sent, by the key the client answers under.
    waiting: BTreeMap<String, oneshot::Sender<Result<Value, McpError>>>,
    /// Rounds so far: the keys of each round are new.
    asked: u64,
    cancel: CancellationToken,
    progress: ProgressTarget,
}

impl Drop for Parked {
    /// A call no one waits for any more is cancelled (harmless once done).
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The parked calls of every session (an HTTP client may retry on another).
#[derive(Clone, Default)]
pub struct Rounds {
    parked: Arc<Mutex<HashMap<String, Parked>>>,
    next: Arc<AtomicU64>,
}

/// The `requestState` prefix of our parked calls.
const STATE_PREFIX: &str = "switchboard-call-";

/// Whether a request comes from a client of a revision without sessions,
/// which cannot be sent requests of its own.
pub fn is_stateless(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| !version.has_initialize())
}

impl Rounds {
    /// Whether `state` is a `requestState` of ours.
    pub fn owns(state: &str) -> bool {
        state.starts_with(STATE_PREFIX)
    }

    /// Starts `work` and answers with its result, or its first asks.
    pub async fn start(
        &self,
        work: Work,
        context: &RequestContext<RoleServer>,
        timeout: Duration,
    ) -> Result<CallToolResponse, McpError> {
        let (tx, events) = mpsc::unbounded_channel();
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<ProgressNotificationParam>();
        let cancel = CancellationToken::new();
        let progress: ProgressTarget = Arc::default();
        let target = progress.clone();
        // Progress goes to whichever round is waiting, under its token.
        tokio::spawn(async move {
            while let Some(mut params) = progress_rx.recv().await {
                let sink = target.lock().ok().and_then(|t| t.clone());
                if let Some((peer, token)) = sink {
                    params.progress_token = token;
                    let _ = peer.notify_progress(params).await;
                }
            }
        });
        let call = work(tx.clone(), progress_tx, cancel.clone());
        tokio::spawn(async move {
            let result = call.await;
            let _ = tx.send(Event::Done(result));
        });
        let parked = Parked {
            events,
            waiting: BTreeMap::new(),
            asked: 0,
            cancel,
            progress,
        };
        self.wait(parked, context, timeout).await
    }

    /// Continues the call `state` names with the client's `answers`.
    pub async fn resume(
        &self,
        state: &str,
        mut answers: InputResponses,
        context: &RequestContext<RoleServer>,
        timeout: Duration,
    ) -> Result<CallToolResponse, McpError> {
        let parked = self.parked.lock().ok().and_then(|mut p| p.remove(state));
        let Some(mut parked) = parked else {
            return Err(McpError::invalid_params(
                format!(
                    "requestState `{state}` names no call waiting for input: it finished, \
                     was cancelled, or waited longer than {}s; call the tool again",
                    timeout.as_secs()
                ),
                None,
            ));
        };
        for (key, reply) in std::mem::take(&mut parked.waiting) {
            let answer = answers.remove(&key).ok_or_else(|| {
                McpError::invalid_params(
                    format!("the retry has no inputResponses entry for `{key}`"),
                    None,
                )
            });
            let _ = reply.send(answer);
        }
        self.wait(parked, context, timeout).await
    }

    /// Waits for the call's next asks or its end; parks it on asks.
    async fn wait(
        &self,
        mut parked: Parked,
        context: &RequestContext<RoleServer>,
        timeout: Duration,
    ) -> Result<CallToolResponse, McpError> {
        if let Ok(mut target) = parked.progress.lock() {
            *target = context
                .meta
                .get_progress_token()
                .map(|token| (context.peer.clone(), token));
        }
        let event = tokio::select! {
            event = parked.events.recv() => event,
            () = context.ct.cancelled() => {
                return Err(McpError::invalid_request("the call was cancelled", None));
            }
        };
        let mut requests = InputRequests::new();
        let mut next = event;
        loop {
            match next {
                None => {
                    return Err(McpError::internal_error(
                        "the call ended without an answer",
                        None,
                    ))
                }
                Some(Event::Done(result)) => return result,
                Some(Event::Ask(request, reply)) => {
                    parked.asked += 1;
                    let key = format!("r{}", parked.asked);
                    requests.insert(key.clone(), request);
                    parked.waiting.insert(key, reply);
                }
            }
            // Asks sent together go out together.
            match parked.events.try_recv() {
                Ok(event) => next = Some(event),
                Err(_) => break,
            }
        }
        let state = format!(
            "{STATE_PREFIX}{}",
            self.next.fetch_add(1, Ordering::Relaxed) + 1
        );
        if let Ok(mut all) = self.parked.lock() {
            all.insert(state.clone(), parked);
        }
        let expired = self.parked.clone();
        let key = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let gone = expired.lock().ok().and_then(|mut p| p.remove(&key));
            if gone.is_some() {
                tracing::debug!("a call waiting for its client's input expired");
            }
        });
        Ok(InputRequiredResult::new(Some(requests), Some(state)).into())
    }
}

/// Sends `request` to the client of the call `asks` belongs to and waits
/// for its answer (from the retry that resumes the call).
pub(super) async fn ask(asks: &Asks, request: InputRequest) -> Result<Value, McpError> {
    let (reply, answer) = oneshot::channel();
    if asks.send(Event::Ask(request, reply)).is_err() {
        return Err(McpError::internal_error("the call has ended", None));
    }
    answer.await.unwrap_or_else(|_| {
        Err(McpError::invalid_request(
            "the client never answered: the call waiting for it was cancelled or expired",
            None,
        ))
    })
}
