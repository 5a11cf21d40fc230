//! Tasks — the 2025-11-25 revision's long-running calls — at a connector's
//! server. rmcp 3.11 models the 2026 tasks extension instead: its `Tool`
//! has no `execution`, its `tools/call` no `task`, and it reads a
//! `tasks/get` answer in the 2026 shape. So task requests go to the server
//! as custom requests under their 2025-11-25 names and params, and answers
//! come back as JSON:
//!
//! - [`request`]: one task request (`tools/call` with `task`, `tasks/get`,
//!   `tasks/result`, `tasks/list`, `tasks/cancel`) and its answer as the
//!   server meant it. Where rmcp read it in the 2026 shape (a `tasks/get`
//!   answer), `ttlMs` and `pollIntervalMs` are put back as `ttl` and
//!   `pollInterval` — rmcp keeps neither of the 2025-11-25 answer, so
//!   `ttl` comes back null and `pollInterval` absent (the gateway puts
//!   back those of the task's creation, `gateway/tasks.rs`).
//! - [`call_through_task`]: a plain call of a tool its server runs only as
//!   a task (`execution.taskSupport: "required"`), for a client that did
//!   not ask for one: the task is created, its result awaited with
//!   `tasks/result`, and the task cancelled at the server when the caller
//!   cancels or the deadline passes. [`needs_task`] recognises the answer
//!   that says so, since rmcp does not keep `execution` for us to read.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, CustomRequest, CustomResult, ServerResult,
};
use rmcp::service::Peer;
use rmcp::RoleClient;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::call::{send, CallError};

/// `_meta` key that ties a message to its task.
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
/// How long the cancel of an abandoned task may take.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// Sends one task request and returns the answer's JSON.
pub async fn request(
    peer: &Peer<RoleClient>,
    method: &str,
    params: Value,
    cancel: &CancellationToken,
    timeout: Duration,
) -> Result<Value, CallError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let request = ClientRequest::CustomRequest(CustomRequest::new(method, Some(params)));
    let answer = send(peer, request, None, cancel, deadline).await;
    match answer {
        Ok(result) => Ok(wire(result)),
        Err(CallError::Timeout { .. }) => Err(CallError::Timeout { after: timeout }),
        Err(err) => Err(err),
    }
}

/// An answer as the 2025-11-25 revision writes it.
fn wire(result: ServerResult) -> Value {
    let mut value = match result {
        ServerResult::CustomResult(CustomResult(value)) => return value,
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    };
    if let Value::Object(map) = &mut value {
        map.remove("resultType");
        for (ours, theirs) in [("ttlMs", "ttl"), ("pollIntervalMs", "pollInterval")] {
            if let Some(v) = map.remove(ours) {
                map.insert(theirs.to_string(), v);
            }
        }
    }
    value
}

/// Whether a plain call's answer says the tool runs only as a task: the
/// TypeScript SDK's servers answer with a tool error (or a -32601) that
/// reads "requires task augmentation".
pub fn needs_task(answer: &Result<CallToolResult, CallError>) -> bool {
    const SAYS: &str = "requires task augmentation";
    match answer {
        Ok(result) if result.is_error == Some(true) => result.content.iter().any(|c| {
            c.as_text()
                .is_some_and(|t| t.text.contains(SAYS) && t.text.len() < 1024)
        }),
        Err(CallError::Service(rmcp::ServiceError::McpError(error))) => {
            error.code.0 == -32601 && error.message.contains(SAYS)
        }
        _ => false,
    }
}

/// Calls a tool as a task and waits for its result (see the module doc).
pub async fn call_through_task(
    peer: &Peer<RoleClient>,
    params: CallToolRequestParams,
    cancel: CancellationToken,
    timeout: Duration,
) -> Result<CallToolResult, CallError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut call = serde_json::to_value(&params).map_err(|_| CallError::Unexpected)?;
    call["task"] = json!({ "ttl": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX) });
    let created = request(peer, "tools/call", call, &cancel, timeout).await?;
    let Some(task_id) = created["task"]["taskId"].as_str().map(str::to_string) else {
        return Err(CallError::Unexpected);
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let result = request(
        peer,
        "tasks/result",
        json!({ "taskId": task_id }),
        &cancel,
        left,
    )
    .await;
    match result {
        Ok(mut value) => {
            // The caller asked for no task and was shown none.
            if let Some(Value::Object(meta)) = value.get_mut("_meta") {
                meta.remove(RELATED_TASK);
                if meta.is_empty() {
                    value.as_object_mut().map(|v| v.remove("_meta"));
                }
            }
            serde_json::from_value(value).map_err(|_| CallError::Unexpected)
        }
        Err(err @ (CallError::Cancelled | CallError::Timeout { .. })) => {
            let peer = peer.clone();
            tokio::spawn(async move {
                let never = CancellationToken::new();
                let params = json!({ "taskId": task_id });
                let _ = request(&peer, "tasks/cancel", params, &never, CANCEL_WAIT).await;
            });
            Err(match err {
                CallError::Timeout { .. } => CallError::Timeout { after: timeout },
                other => other,
            })
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_answer_read_in_the_2026_shape_is_written_back_in_2025_11_25s() {
        let answer = json!({
            "taskId": "t1", "status": "working", "createdAt": "2026-12-04T00:00:00Z",
            "lastUpdatedAt": "2026-12-04T00:00:01Z", "ttl": 300000, "pollInterval": 1000
        });
        let read: ServerResult = serde_json::from_value(answer).unwrap();
        let back = wire(read);
        assert_eq!(back["taskId"], "t1", "{back}");
        assert_eq!(back["status"], "working", "{back}");
        assert!(back.get("resultType").is_none(), "{back}");
        // rmcp's 2026 reading keeps no `ttl` or `pollInterval` of the
        // 2025-11-25 answer: `ttl` is there (the revision requires it) as
        // null, "no limit said".
        assert_eq!(back["ttl"], Value::Null, "{back}");
    }

    #[test]
    fn a_created_task_is_kept_whole() {
        let answer = json!({"task": {"taskId": "t1", "status": "working", "ttl": 5}});
        let read: ServerResult = serde_json::from_value(answer.clone()).unwrap();
        assert_eq!(wire(read), answer);
    }
}
