//! Tasks (the 2025-11-25 revision's long-running calls) through the
//! gateway: a client's task-augmented `tools/call`, `tasks/get`,
//! `tasks/result`, `tasks/list` and `tasks/cancel` go to the backends that
//! own the tasks, with task ids qualified by connector (`CONNECTOR:ID`) so
//! two backends' ids never collide.
//!
//! rmcp reads these requests in the 2026 tasks extension's shapes (and
//! drops `tools/call`'s `task`), so the intake (`gateway/intake.rs`) hands
//! them to rmcp under names of ours ([`our_method`], [`CALL_AS_TASK`]),
//! which reach [`handle`] as custom requests; the answers go back as JSON,
//! written as the backend wrote them (`mcp/tasks.rs`). `tools/list` comes
//! the same way, so each tool's `execution` (`taskSupport`), which rmcp's
//! `Tool` has no field for, is offered as its server gave it.
//!
//! A backend's `notifications/tasks/status` goes to the client that
//! created the task (`gateway/callers.rs` remembers it, with the `ttl` and
//! `pollInterval` of its creation, which are put back in `tasks/get` and
//! `tasks/cancel` answers that rmcp read without them). A client that calls a tool its server runs only as a task without
//! asking for one is served all the same: the call becomes a task at the
//! backend and the client gets its result (`mcp/server.rs`).
//! `tasks/list` lists the tasks of every server the session may reach;
//! without an authorization context, every client of the service sees them.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CustomRequest, CustomResult};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData as McpError, RoleClient, RoleServer};
use serde_json::{json, Map, Value};

use super::callers::{Caller, TaskRecord};
use super::names::qualify_task;
use super::Gateway;
use crate::mcp::{task_request, CallError, RELATED_TASK};

/// The name a task-augmented `tools/call` reaches the gateway under.
pub const CALL_AS_TASK: &str = "switchboard/tools/call-as-task";
/// The name `tools/list` reaches the gateway under.
pub const TOOLS_LIST: &str = "switchboard/tools/list";
/// How long one backend may take over `tasks/list`.
const LIST_WAIT: Duration = Duration::from_secs(10);

/// The name of ours that a client's task request reaches rmcp under.
/// `tools/list` is one: the tools' `execution`, which rmcp's `Tool` does
/// not have, is added to its answer here.
pub fn our_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "tools/list" => TOOLS_LIST,
        "tasks/get" => "switchboard/tasks/get",
        "tasks/result" => "switchboard/tasks/result",
        "tasks/list" => "switchboard/tasks/list",
        "tasks/cancel" => "switchboard/tasks/cancel",
        _ => return None,
    })
}

/// Answers one of our task requests; `None` when `request` is not one.
pub async fn handle(
    gateway: &Gateway,
    request: &CustomRequest,
    context: &RequestContext<RoleServer>,
) -> Option<Result<CustomResult, McpError>> {
    let params = match &request.params {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let timeout = gateway.call_timeout();
    let answer = match request.method.as_str() {
        CALL_AS_TASK => call_as_task(gateway, params, context, timeout).await,
        "switchboard/tasks/get" => by_id(gateway, "tasks/get", params, context, timeout).await,
        "switchboard/tasks/cancel" => {
            by_id(gateway, "tasks/cancel", params, context, timeout).await
        }
        "switchboard/tasks/result" => {
            by_id(gateway, "tasks/result", params, context, timeout).await
        }
        "switchboard/tasks/list" => Ok(list(gateway, context).await),
        TOOLS_LIST => tools_list(gateway, context),
        _ => return None,
    };
    Some(answer.map(CustomResult))
}

/// `tools/list` as the gateway answers it, with each tool's `execution`
/// as its server gave it.
fn tools_list(gateway: &Gateway, context: &RequestContext<RoleServer>) -> Result<Value, McpError> {
    let (list, targets) = gateway.tool_list(context);
    let mut answer = serde_json::to_value(&list)
        .map_err(|e| McpError::internal_error(format!("tools/list: {e}"), None))?;
    if !super::rounds::is_stateless(context) {
        // Not a field of the revisions with `initialize`.
        answer.as_object_mut().map(|a| a.remove("resultType"));
    }
    let executions = match targets.is_empty() {
        true => Default::default(),
        false => gateway.service.gateway_tool_executions(),
    };
    if let Some(Value::Array(tools)) = answer.get_mut("tools") {
        for (tool, target) in tools.iter_mut().zip(&targets) {
            if let Some(execution) = executions.get(target) {
                tool["execution"] = execution.clone();
            }
        }
    }
    Ok(answer)
}

/// A `tools/call` with `task`: sent as one to the tool's backend, the
/// task it creates named by connector.
async fn call_as_task(
    gateway: &Gateway,
    mut params: Map<String, Value>,
    context: &RequestContext<RoleServer>,
    timeout: Duration,
) -> Result<Value, McpError> {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err(McpError::invalid_params(
            "tools/call needs `name`, the tool to call",
            None,
        ));
    };
    let mut name = name.to_string();
    // In search mode, `call_tool` as a task is the call it names as one.
    if gateway.mode == super::search::ToolsMode::Search {
        let mut call = CallToolRequestParams::new(name.clone());
        call.arguments = match params.get("arguments") {
            Some(Value::Object(arguments)) => Some(arguments.clone()),
            _ => None,
        };
        match super::search::meta_call(Vec::new, &mut call) {
            Some(Err(err)) => return Err(err),
            Some(Ok(_)) => {
                return Err(McpError::invalid_params(
                    format!("`{name}` answers at once: call it without `task`"),
                    None,
                ))
            }
            None => {}
        }
        name = call.name.to_string();
        match call.arguments {
            Some(arguments) => params.insert("arguments".into(), Value::Object(arguments)),
            None => params.remove("arguments"),
        };
    }
    let (connector, raw_name) = gateway.target(&name)?;
    params.insert("name".into(), Value::String(raw_name));
    // A progress token is the client's; the backend's progress for it
    // would have nowhere to go.
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        meta.remove("progressToken");
    }
    let peer = peer_of(gateway, &connector)?;
    let mut answer = forward(&peer, "tools/call", params, context, timeout).await?;
    if let Some(task) = answer.get_mut("task") {
        if let Some(id) = task["taskId"].as_str() {
            let record = TaskRecord {
                owner: context.peer.clone(),
                ttl: task.get("ttl").cloned().unwrap_or(Value::Null),
                poll_interval: task.get("pollInterval").cloned(),
            };
            gateway.callers.record_task(&connector, id, record);
        }
        qualify_task(task, &connector);
    }
    Ok(answer)
}

/// `tasks/get`, `tasks/result` or `tasks/cancel` of a qualified task id,
/// at the backend that owns it.
async fn by_id(
    gateway: &Gateway,
    method: &str,
    mut params: Map<String, Value>,
    context: &RequestContext<RoleServer>,
    timeout: Duration,
) -> Result<Value, McpError> {
    let qualified = params
        .get("taskId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some((connector, task_id)) = qualified.split_once(':') else {
        return Err(unknown_task(&qualified));
    };
    let peer = peer_of(gateway, connector).map_err(|_| unknown_task(&qualified))?;
    params.insert("taskId".into(), Value::String(task_id.to_string()));
    // While the result is awaited, the backend's questions for the task
    // (elicitation, sampling) go to this client.
    let _in_flight = (method == "tasks/result").then(|| {
        gateway
            .callers
            .enter(connector, Caller::Session(context.peer.clone()))
    });
    let mut answer = forward(&peer, method, params, context, timeout).await?;
    match method {
        "tasks/result" => {
            if let Some(related) = answer
                .get_mut("_meta")
                .and_then(|meta| meta.get_mut(RELATED_TASK))
            {
                qualify_task(related, connector);
            }
        }
        _ => {
            restore(&mut answer, gateway.callers.task(connector, task_id));
            qualify_task(&mut answer, connector);
        }
    }
    Ok(answer)
}

/// Every reachable backend's tasks, ids qualified; a backend without
/// tasks (or that fails) adds none.
async fn list(gateway: &Gateway, context: &RequestContext<RoleServer>) -> Value {
    let peers = gateway.peers();
    let lists = peers.iter().map(|(connector, peer)| async move {
        let answer = forward(peer, "tasks/list", Map::new(), context, LIST_WAIT).await;
        let mut tasks = match answer {
            Ok(mut answer) => match answer.get_mut("tasks").map(Value::take) {
                Some(Value::Array(tasks)) => tasks,
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        for task in &mut tasks {
            qualify_task(task, connector);
        }
        tasks
    });
    let tasks: Vec<Value> = futures::future::join_all(lists)
        .await
        .into_iter()
        .flatten()
        .collect();
    json!({ "tasks": tasks })
}

/// One task request at a backend, cancelled with the client's request.
async fn forward(
    peer: &Peer<RoleClient>,
    method: &str,
    params: Map<String, Value>,
    context: &RequestContext<RoleServer>,
    timeout: Duration,
) -> Result<Value, McpError> {
    match task_request(peer, method, Value::Object(params), &context.ct, timeout).await {
        Ok(answer) => Ok(answer),
        Err(CallError::Service(rmcp::ServiceError::McpError(error))) => Err(error),
        Err(CallError::Cancelled) => Err(McpError::internal_error(
            format!("{method} was cancelled"),
            None,
        )),
        Err(other) => Err(McpError::internal_error(format!("{method}: {other}"), None)),
    }
}

fn peer_of(gateway: &Gateway, connector: &str) -> Result<Peer<RoleClient>, McpError> {
    gateway
        .peers()
        .into_iter()
        .find(|(name, _)| name == connector)
        .map(|(_, peer)| peer)
        .ok_or_else(|| {
            McpError::invalid_params(
                format!("`{connector}` is not connected (or not in this session's profile)"),
                None,
            )
        })
}

/// Puts back in a `tasks/get` or `tasks/cancel` answer what rmcp's 2026
/// reading dropped (`mcp/tasks.rs`): the `ttl` and `pollInterval` the
/// server gave when it created the task.
fn restore(answer: &mut Value, created: Option<TaskRecord>) {
    let (Some(created), Some(answer)) = (created, answer.as_object_mut()) else {
        return;
    };
    if answer.get("ttl").is_none_or(Value::is_null) {
        answer.insert("ttl".into(), created.ttl);
    }
    if let Some(poll) = created.poll_interval {
        answer.entry("pollInterval").or_insert(poll);
    }
}

fn unknown_task(id: &str) -> McpError {
    McpError::invalid_params(
        format!("unknown task `{id}`: list the tasks with tasks/list"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_named_by_connector() {
        let mut task = json!({"taskId": "abc", "status": "working"});
        qualify_task(&mut task, "ev");
        assert_eq!(task["taskId"], "ev:abc");
        // The backend's own id keeps any colon it has.
        let (connector, raw) = "ev:a:b".split_once(':').unwrap();
        assert_eq!((connector, raw), ("ev", "a:b"));
    }

    #[test]
    fn only_task_requests_get_our_names() {
        assert_eq!(our_method("tasks/get"), Some("switchboard/tasks/get"));
        assert_eq!(our_method("tasks/update"), None);
        assert_eq!(our_method("tools/call"), None);
    }
}
