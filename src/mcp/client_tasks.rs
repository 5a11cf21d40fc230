//! Tasks a server asks of its client — the 2025-11-25 revision's
//! task-augmented `sampling/createMessage` and `elicitation/create`, and
//! the `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` that
//! follow them — answered by the service beneath rmcp, on a stdio
//! connection (a program's or a container's). rmcp's client has no such
//! tasks: its capabilities cannot declare them, and it would read these
//! requests without their `task`.
//!
//! [`tap`] puts itself between the server's pipes and rmcp:
//!
//! - what rmcp writes goes to the server as it comes, except its
//!   `initialize`, which is given `capabilities.tasks` (so servers offer
//!   the tools that need them, such as server-everything's
//!   `trigger-sampling-request-async`); answers of ours are written
//!   between two of rmcp's messages;
//! - what the server writes goes to rmcp, except the requests above, which
//!   [`Tasks`] answers: the question itself goes up to the calling client
//!   through the `Upstream` as an ordinary request, in a task of its own,
//!   and the server polls for its answer.
//!
//! The server's tool lists pass to rmcp, which keeps no tool's
//! `execution` (`taskSupport`); [`Executions`] notes them on the way for
//! the gateway to offer.
//!
//! A line is looked at only when it holds `"task` (or, for a tool list,
//! `"inputSchema"`); the rest pass with one copy.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::task::{ready, Context, Poll};

use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::PollSender;

use super::tasks::RELATED_TASK;
use super::upstream::{no_client, SharedUpstream};
use crate::line_read::{LineRead, Lines};

/// A line longer than this is not one of ours: it passes unread.
const LOOK_BYTES: usize = 4 * 1024 * 1024;
/// rmcp's messages waiting for the server to read them.
const WRITES_HELD: usize = 16;
/// How often a server is told to poll a task of ours.
const POLL_MS: u64 = 250;
/// The most tasks kept per server; past it, ended ones are forgotten.
const MAX_TASKS: usize = 1024;

/// A server's tools' `execution`, by tool name.
pub type Executions = Arc<SyncMutex<HashMap<String, Value>>>;

/// What rmcp reads and writes instead of the server's pipes.
pub fn tap<R, W>(
    read: R,
    write: W,
    connector: &str,
    upstream: SharedUpstream,
    executions: Executions,
) -> (TapRead<R>, TapWrite)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (lines, pending) = mpsc::unbounded_channel::<String>();
    // Bounded: a server that stops reading holds rmcp's writes back, as
    // its pipe would.
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(WRITES_HELD);
    tokio::spawn(write_all(write, out_rx, pending));
    let tasks = Arc::new(Tasks {
        connector: connector.to_string(),
        upstream,
        answers: lines,
        next: AtomicU64::new(1),
        tasks: SyncMutex::new(BTreeMap::new()),
    });
    let tap = Tap {
        line: Vec::new(),
        passing: false,
        tasks,
        executions,
    };
    let reader = LineRead::new(read, tap, Vec::new());
    let writer = TapWrite {
        out: PollSender::new(out_tx),
        message: Vec::new(),
        first: true,
    };
    (reader, writer)
}

/// One writer for the server's stdin: rmcp's messages whole, in order,
/// and our answers between them.
async fn write_all<W: AsyncWrite + Unpin>(
    mut out: W,
    mut rmcp: mpsc::Receiver<Vec<u8>>,
    mut ours: mpsc::UnboundedReceiver<String>,
) {
    loop {
        let bytes = tokio::select! {
            biased;
            message = rmcp.recv() => match message {
                Some(message) => message,
                None => break,
            },
            Some(line) = ours.recv() => format!("{line}\n").into_bytes(),
        };
        if out.write_all(&bytes).await.is_err() || out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.shutdown().await;
}

/// The server's output as rmcp sees it: without the requests of ours.
pub type TapRead<R> = LineRead<R, Tap>;

/// What is kept of the server's output, line by line.
pub struct Tap {
    /// The line being gathered.
    line: Vec<u8>,
    /// Passing the rest of a long line straight to rmcp.
    passing: bool,
    tasks: Arc<Tasks>,
    executions: Executions,
}

impl Lines for Tap {
    fn take(&mut self, mut bytes: &[u8], ready: &mut Vec<u8>) {
        while !bytes.is_empty() {
            let newline = memchr::memchr(b'\n', bytes);
            let (part, rest) = match newline {
                Some(at) => (&bytes[..=at], &bytes[at + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if self.passing {
                ready.extend_from_slice(part);
                self.passing = newline.is_none();
                continue;
            }
            if newline.is_none() {
                self.line.extend_from_slice(part);
                if self.line.len() > LOOK_BYTES {
                    ready.append(&mut self.line);
                    self.passing = true;
                }
                continue;
            }
            if self.line.is_empty() {
                self.route(part, ready);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(part);
                self.route(&line, ready);
                line.clear();
                self.line = line;
            }
        }
    }

    /// What is left of a last line without its newline is rmcp's.
    fn end(&mut self, ready: &mut Vec<u8>) {
        ready.append(&mut self.line);
    }
}

impl Tap {
    /// A whole line (with its newline): ours, or rmcp's.
    fn route(&mut self, line: &[u8], ready: &mut Vec<u8>) {
        if memchr::memmem::find(line, b"\"task").is_some() {
            if let Some(request) = ours(line) {
                self.tasks.clone().answer(request);
                return;
            }
        }
        if memchr::memmem::find(line, b"\"inputSchema\"").is_some() {
            note_executions(line, &self.executions);
        }
        ready.extend_from_slice(line);
    }
}

/// What rmcp writes: whole messages to the writer task; the first one, its
/// `initialize`, declaring the tasks it can run.
pub struct TapWrite {
    out: PollSender<Vec<u8>>,
    /// The message being written, up to its newline.
    message: Vec<u8>,
    first: bool,
}

impl AsyncWrite for TapWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let Some(at) = memchr::memchr(b'\n', buf) else {
            this.message.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        };
        // A message ends here: it goes once the writer has room for it.
        let broken = |_| io::Error::from(io::ErrorKind::BrokenPipe);
        ready!(this.out.poll_reserve(cx)).map_err(broken)?;
        this.message.extend_from_slice(&buf[..=at]);
        let mut message = std::mem::take(&mut this.message);
        if std::mem::take(&mut this.first) {
            message = declare_tasks(message);
        }
        this.out.send_item(message).map_err(broken)?;
        Poll::Ready(Ok(at + 1))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Notes the `execution` of each tool of a tool list answer (a page: its
/// tools only); any other line is left alone.
fn note_executions(line: &[u8], executions: &Executions) {
    #[derive(Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        result: Option<Page<'a>>,
    }
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        tools: Option<Vec<Entry<'a>>>,
    }
    #[derive(Deserialize)]
    struct Entry<'a> {
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
        execution: Option<Value>,
    }
    let Ok(Answer {
        result: Some(Page { tools: Some(tools) }),
    }) = serde_json::from_slice::<Answer>(line)
    else {
        return;
    };
    let Ok(mut known) = executions.lock() else {
        return;
    };
    for tool in tools {
        match tool.execution {
            Some(execution) if execution.is_object() => {
                known.insert(tool.name.into_owned(), execution);
            }
            _ => {
                known.remove(tool.name.as_ref());
            }
        }
    }
}

/// rmcp's `initialize` with `capabilities.tasks` added; anything else as
/// it was.
fn declare_tasks(message: Vec<u8>) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(&message) else {
        return message;
    };
    if value["method"] != "initialize" {
        return message;
    }
    let Some(capabilities) = value["params"]["capabilities"].as_object_mut() else {
        return message;
    };
    capabilities.insert(
        "tasks".into(),
        json!({
            "list": {},
            "cancel": {},
            "requests": {
                "sampling": {"createMessage": {}},
                "elicitation": {"create": {}},
            },
        }),
    );
    match serde_json::to_vec(&value) {
        Ok(mut text) => {
            text.push(b'\n');
            text
        }
        Err(_) => message,
    }
}

/// A request of ours, read from a line.
#[derive(Debug)]
struct Request {
    id: Value,
    method: String,
    params: serde_json::Map<String, Value>,
}

/// The request on `line` when it is one of ours.
fn ours(line: &[u8]) -> Option<Request> {
    // Borrowed: a long answer that merely mentions a task is skimmed, not
    // built.
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        params: Option<&'a RawValue>,
    }
    let probe: Probe = serde_json::from_slice(line).ok()?;
    let (id, method) = (probe.id?, probe.method?);
    if !matches!(
        method.as_ref(),
        "sampling/createMessage"
            | "elicitation/create"
            | "tasks/get"
            | "tasks/result"
            | "tasks/list"
            | "tasks/cancel"
    ) {
        return None;
    }
    let id: Value = serde_json::from_str(id.get()).ok()?;
    let params: serde_json::Map<String, Value> = match probe.params {
        Some(raw) => serde_json::from_str(raw.get()).ok()?,
        None => serde_json::Map::new(),
    };
    let method = method.into_owned();
    let asked = match method.as_str() {
        "sampling/createMessage" | "elicitation/create" => {
            params.get("task").is_some_and(|t| !t.is_null())
        }
        "tasks/get" | "tasks/result" | "tasks/list" | "tasks/cancel" => true,
        _ => false,
    };
    asked.then_some(Request { id, method, params })
}

/// The tasks a server asked the service for, and their answers.
struct Tasks {
    connector: String,
    upstream: SharedUpstream,
    /// Lines to the server.
    answers: mpsc::UnboundedSender<String>,
    next: AtomicU64,
    tasks: SyncMutex<BTreeMap<String, Task>>,
}

/// One task: its state as `tasks/get` shows it, and its outcome.
struct Task {
    state: Value,
    /// `Some` once it ended: the result or the JSON-RPC error.
    outcome: watch::Receiver<Option<Result<Value, Value>>>,
    work: tokio::task::AbortHandle,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Tasks {
    fn send(&self, line: Value) {
        let _ = self.answers.send(line.to_string());
    }

    fn reply(&self, id: &Value, result: Result<Value, Value>) {
        let line = match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        self.send(line);
    }

    fn unknown(&self, id: &Value, task_id: &str) {
        let error = json!({"code": -32602, "message": format!("unknown task `{task_id}`")});
        self.reply(id, Err(error));
    }

    /// Answers one request of ours.
    fn answer(self: Arc<Self>, request: Request) {
        let task_id = request
            .params
            .get("taskId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match request.method.as_str() {
            "sampling/createMessage" | "elicitation/create" => self.start(request),
            "tasks/get" => match self.state(&task_id) {
                Some(state) => self.reply(&request.id, Ok(state)),
                None => self.unknown(&request.id, &task_id),
            },
            "tasks/list" => {
                let tasks: Vec<Value> = self.lock().values().map(|t| t.state.clone()).collect();
                self.reply(&request.id, Ok(json!({ "tasks": tasks })));
            }
            "tasks/cancel" => self.cancel(&request.id, &task_id),
            _ => {
                tokio::spawn(async move { self.result(request.id, task_id).await });
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Task>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self, task_id: &str) -> Option<Value> {
        self.lock().get(task_id).map(|t| t.state.clone())
    }

    /// A task-augmented question: a task of ours now, the question sent
    /// up as an ordinary request, the task's state kept as it goes.
    fn start(self: Arc<Self>, request: Request) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let task_id = format!("switchboard-task-{n}");
        let ttl = request
            .params
            .get("task")
            .and_then(|t| t.get("ttl"))
            .cloned()
            .unwrap_or(Value::Null);
        let at = now();
        let state = json!({
            "taskId": task_id, "status": "working", "createdAt": at,
            "lastUpdatedAt": at, "ttl": ttl, "pollInterval": POLL_MS,
        });
        let (done, outcome) = watch::channel(None);
        let mut params = request.params;
        params.remove("task");
        let asked = self.clone().ask(request.method, params);
        let tasks = self.clone();
        let id = task_id.clone();
        let work = tokio::spawn(async move {
            let answer = asked.await;
            tasks.finish(&id, answer, &done);
        });
        {
            let mut tasks = self.lock();
            if tasks.len() >= MAX_TASKS {
                let ended = tasks
                    .iter()
                    .find(|(_, t)| t.outcome.borrow().is_some())
                    .map(|(k, _)| k.clone());
                if let Some(ended) = ended {
                    tasks.remove(&ended);
                }
            }
            tasks.insert(
                task_id,
                Task {
                    state: state.clone(),
                    outcome,
                    work: work.abort_handle(),
                },
            );
        }
        self.reply(&request.id, Ok(json!({ "task": state })));
    }

    /// The question, to the calling client through the upstream.
    fn ask(
        self: Arc<Self>,
        method: String,
        params: serde_json::Map<String, Value>,
    ) -> impl std::future::Future<Output = Result<Value, Value>> + Send + 'static {
        let as_error = |e: rmcp::ErrorData| serde_json::to_value(e).unwrap_or(Value::Null);
        async move {
            let Some(upstream) = self.upstream.get().cloned() else {
                return Err(as_error(no_client(&method)));
            };
            let params = Value::Object(params);
            let bad =
                |e: serde_json::Error| json!({"code": -32602, "message": format!("{method}: {e}")});
            let answer = if method == "sampling/createMessage" {
                let params = serde_json::from_value(params).map_err(bad)?;
                upstream
                    .create_message(&self.connector, params)
                    .await
                    .map(serde_json::to_value)
            } else {
                let params = serde_json::from_value(params).map_err(bad)?;
                upstream
                    .create_elicitation(&self.connector, params)
                    .await
                    .map(serde_json::to_value)
            };
            match answer {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(json!({"code": -32603, "message": e.to_string()})),
                Err(e) => Err(as_error(e)),
            }
        }
    }

    /// Records how a task ended and tells the server.
    fn finish(
        &self,
        task_id: &str,
        answer: Result<Value, Value>,
        done: &watch::Sender<Option<Result<Value, Value>>>,
    ) {
        let status = if answer.is_ok() {
            "completed"
        } else {
            "failed"
        };
        let state = {
            let mut tasks = self.lock();
            let Some(task) = tasks.get_mut(task_id) else {
                return;
            };
            task.state["status"] = json!(status);
            task.state["lastUpdatedAt"] = json!(now());
            task.state.clone()
        };
        let _ = done.send(Some(answer));
        self.send(
            json!({"jsonrpc": "2.0", "method": "notifications/tasks/status", "params": state}),
        );
    }

    fn cancel(&self, id: &Value, task_id: &str) {
        let state = {
            let mut tasks = self.lock();
            let Some(task) = tasks.get_mut(task_id) else {
                drop(tasks);
                return self.unknown(id, task_id);
            };
            if task.outcome.borrow().is_some() {
                let status = task.state["status"].clone();
                drop(tasks);
                let error = json!({"code": -32602, "message": format!("task `{task_id}` already ended ({status})")});
                return self.reply(id, Err(error));
            }
            task.work.abort();
            task.state["status"] = json!("cancelled");
            task.state["lastUpdatedAt"] = json!(now());
            task.state.clone()
        };
        self.reply(id, Ok(state));
    }

    /// `tasks/result`: waits for the task to end, then its answer.
    async fn result(&self, id: Value, task_id: String) {
        let outcome = self.lock().get(&task_id).map(|t| t.outcome.clone());
        let Some(mut outcome) = outcome else {
            return self.unknown(&id, &task_id);
        };
        let ended = outcome.wait_for(Option::is_some).await.map(|o| o.clone());
        match ended {
            Ok(Some(Ok(mut result))) => {
                if let Some(map) = result.as_object_mut() {
                    let meta = map.entry("_meta").or_insert_with(|| json!({}));
                    meta[RELATED_TASK] = json!({ "taskId": task_id });
                }
                self.reply(&id, Ok(result));
            }
            Ok(Some(Err(error))) => self.reply(&id, Err(error)),
            // Cancelled: its work (and the sender) is gone.
            _ => {
                let error =
                    json!({"code": -32603, "message": format!("task `{task_id}` was cancelled")});
                self.reply(&id, Err(error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_task_requests_are_ours() {
        let ours_of = |text: &str| ours(text.as_bytes()).map(|r| r.method);
        assert_eq!(
            ours_of(
                r#"{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{"task":{"ttl":5},"messages":[]}}"#
            ),
            Some("sampling/createMessage".into())
        );
        assert_eq!(
            ours_of(
                r#"{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{"messages":[]}}"#
            ),
            None
        );
        assert_eq!(
            ours_of(r#"{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"x"}}"#),
            Some("tasks/get".into())
        );
        // A notification or an answer is rmcp's.
        assert_eq!(
            ours_of(
                r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"x"}}"#
            ),
            None
        );
        assert_eq!(
            ours_of(r#"{"jsonrpc":"2.0","id":3,"result":{"task":{"taskId":"x"}}}"#),
            None
        );
    }

    #[test]
    fn a_tool_lists_executions_are_noted() {
        let executions = Executions::default();
        let page = br#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","inputSchema":{},"execution":{"taskSupport":"required"}},{"name":"b","inputSchema":{}}]}}"#;
        executions
            .lock()
            .unwrap()
            .insert("b".into(), json!({"taskSupport": "optional"}));
        note_executions(page, &executions);
        let known = executions.lock().unwrap().clone();
        assert_eq!(known.get("a"), Some(&json!({"taskSupport": "required"})));
        // `b` lost its `execution`: it is forgotten.
        assert_eq!(known.get("b"), None);
    }

    #[test]
    fn initialize_declares_the_tasks_the_service_runs() {
        let message = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"x","version":"1"}}}
"#.to_vec();
        let declared: Value = serde_json::from_slice(&declare_tasks(message)).unwrap();
        let tasks = &declared["params"]["capabilities"]["tasks"];
        assert!(
            tasks["requests"]["sampling"]["createMessage"].is_object(),
            "{declared}"
        );
        assert!(declared["params"]["capabilities"]["sampling"].is_object());
        let other = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}
"#
        .to_vec();
        assert_eq!(declare_tasks(other.clone()), other);
    }
}
