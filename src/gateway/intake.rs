//! The gateway's front door for what clients send: every message is
//! checked before rmcp sees it, and a bad one is answered at once with the
//! JSON-RPC error it deserves instead of being dropped (rmcp ignores
//! unparsable lines and oversized ones, so the client waits forever):
//!
//! - not JSON → `-32700` (id `null`);
//! - JSON that is not a JSON-RPC 2.0 message → `-32600`;
//! - `tools/call` whose `arguments` is not an object → `-32602`;
//! - longer than `codebuddy.gateway.maxMessageBytes` → `-32600` naming the
//!   limit, read past without buffering it (the id is taken from the
//!   message's start where clients put it), and over HTTP a 413.
//!
//! On a stream (stdio, the gateway socket) `gateway/checked_stream.rs`
//! applies these checks line by line on the way in; other callers are not
//! affected by a bad line.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The default largest message, in bytes (`codebuddy.gateway.maxMessageBytes`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// How far into an oversized message its id is looked for.
pub(super) const ID_SCAN_BYTES: usize = 4096;

/// Why a message was refused, as the JSON-RPC error the client gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The request's id when it could be read, else `null`.
    pub id: Value,
    pub code: i64,
    pub message: String,
}

impl Refusal {
    fn new(id: Value, code: i64, message: impl Into<String>) -> Refusal {
        Refusal {
            id,
            code,
            message: message.into(),
        }
    }

    /// The error response, one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        })
        .to_string()
    }

    /// A message over the limit.
    pub fn too_large(id: Value, limit: usize) -> Refusal {
        Refusal::new(
            id,
            -32600,
            format!(
                "message too large: over the gateway's limit of {limit} bytes \
                 (codebuddy.gateway.maxMessageBytes)"
            ),
        )
    }
}

/// The parts of a message the checks need, borrowed from its text.
#[derive(Deserialize)]
struct Probe<'a> {
    jsonrpc: Option<&'a str>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow)]
    task: Option<&'a RawValue>,
}

/// What rmcp is given for a good message.
#[derive(Debug, PartialEq)]
pub enum Pass {
    /// The message as it came.
    AsIs,
    /// The message under another method name, `method`: a task request,
    /// which rmcp would misread (see `gateway/tasks.rs`), goes to the
    /// gateway as a custom request.
    Renamed {
        message: Vec<u8>,
        method: &'static str,
    },
}

/// Checks one message. `Ok` means rmcp may have it; a refusal for a
/// notification (no id) is `Err(None)`: there is nobody to answer.
pub fn check(text: &[u8]) -> Result<Pass, Option<Refusal>> {
    let trimmed = text.trim_ascii_start();
    // A batch (allowed by older revisions) is rmcp's to judge.
    if trimmed.first() == Some(&b'[') {
        return Ok(Pass::AsIs);
    }
    let probe: Probe = match serde_json::from_slice(text) {
        Ok(probe) => probe,
        Err(err) if err.is_syntax() || err.is_eof() => {
            return Err(Some(Refusal::new(
                Value::Null,
                -32700,
                format!("parse error: not JSON ({err})"),
            )))
        }
        Err(err) => {
            return Err(Some(Refusal::new(
                Value::Null,
                -32600,
                format!("invalid request: not a JSON-RPC message ({err})"),
            )))
        }
    };
    let id = probe
        .id
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
    let answerable = |code: i64, message: String| match &id {
        Some(id) => Err(Some(Refusal::new(id.clone(), code, message))),
        None if probe.method.is_some() => Err(None),
        None => Err(Some(Refusal::new(Value::Null, code, message))),
    };
    if probe.jsonrpc != Some("2.0") {
        return answerable(-32600, "invalid request: `jsonrpc` must be \"2.0\"".into());
    }
    if let Some(id) = &id {
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            let id = Value::Null;
            return Err(Some(Refusal::new(
                id,
                -32600,
                "invalid request: `id` must be a string or an integer",
            )));
        }
    }
    let Some(method) = probe.method else {
        // A response to one of our requests (sampling, roots, …).
        if id.is_some() && (probe.result.is_some() || probe.error.is_some()) {
            return Ok(Pass::AsIs);
        }
        return answerable(
            -32600,
            "invalid request: neither a request (`method`) nor a response (`result`/`error`)"
                .into(),
        );
    };
    let raw_method = method;
    let Ok(method) = serde_json::from_str::<&str>(method.get()) else {
        return answerable(-32600, "invalid request: `method` must be a string".into());
    };
    let renamed = |to: &'static str| Pass::Renamed {
        message: rename(text, raw_method, to),
        method: to,
    };
    if method == "tools/call" {
        return match check_call(probe.params) {
            Ok(false) => Ok(Pass::AsIs),
            Ok(true) if id.is_some() => Ok(renamed(crate::gateway::tasks::CALL_AS_TASK)),
            Ok(true) => Ok(Pass::AsIs),
            Err(message) => answerable(-32602, message),
        };
    }
    if id.is_some() {
        if let Some(ours) = crate::gateway::tasks::our_method(method) {
            return Ok(renamed(ours));
        }
    }
    Ok(Pass::AsIs)
}

/// `text` with the method (`raw`, borrowed from it) replaced by `to`.
fn rename(text: &[u8], raw: &RawValue, to: &str) -> Vec<u8> {
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let end = start + raw.get().len();
    let mut out = Vec::with_capacity(text.len() + to.len());
    out.extend_from_slice(&text[..start]);
    out.push(b'"');
    out.extend_from_slice(to.as_bytes());
    out.push(b'"');
    out.extend_from_slice(&text[end..]);
    out
}

/// `tools/call` params: an object whose `arguments`, when given, is one.
/// `Ok(true)` when the call asks to run as a task.
fn check_call(params: Option<&RawValue>) -> Result<bool, String> {
    let Some(params) = params else {
        return Err("invalid params: tools/call needs `params` with `name`".into());
    };
    let params: CallParams = serde_json::from_str(params.get())
        .map_err(|e| format!("invalid params: tools/call `params` must be an object ({e})"))?;
    let as_task = params
        .task
        .is_some_and(|raw| raw.get().trim_start() != "null");
    match params.arguments.map(|raw| raw.get().trim_start()) {
        None => Ok(as_task),
        Some(text) if text.starts_with('{') || text == "null" => Ok(as_task),
        Some(text) => Err(format!(
            "invalid params: `arguments` must be an object, not `{}`",
            text.chars().take(40).collect::<String>()
        )),
    }
}

/// The id at the start of an oversized message (`{"jsonrpc":"2.0","id":7,…`),
/// where the SDKs write it; `null` when it is not there.
pub fn leading_id(head: &[u8]) -> Value {
    let head = &head[..head.len().min(ID_SCAN_BYTES)];
    let Ok(text) =
        std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
    else {
        return Value::Null;
    };
    let Some(at) = text.find("\"id\"") else {
        return Value::Null;
    };
    let rest = text[at + 4..].trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return Value::Null;
    };
    let mut stream = serde_json::Deserializer::from_str(rest.trim_start()).into_iter::<Value>();
    match stream.next() {
        Some(Ok(id @ (Value::Number(_) | Value::String(_)))) => id,
        _ => Value::Null,
    }
}

/// The id of the `initialize` replayed for a resumed session.
pub(super) const RESUME_ID: &str = "switchboard-resume";

/// The lines a resumed session's rmcp is handed first: the client's
/// `initialize` (under [`RESUME_ID`]) and `initialized`.
pub(super) fn replay(params: Value) -> Vec<u8> {
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": RESUME_ID, "method": "initialize", "params": params,
    });
    let initialized = serde_json::json!({
        "jsonrpc": "2.0", "method": "notifications/initialized",
    });
    format!("{initialize}\n{initialized}\n").into_bytes()
}

/// Whether an outgoing line is the answer to the replayed `initialize`.
pub(super) fn answers_replay(line: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Id>(line)
        .ok()
        .and_then(|probe| probe.id)
        .is_some_and(|id| id.get() == format!("\"{RESUME_ID}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<i64> {
        match check(text.as_bytes()) {
            Ok(_) => None,
            Err(Some(refusal)) => Some(refusal.code),
            Err(None) => Some(0),
        }
    }

    #[test]
    fn each_kind_of_bad_message_gets_its_code() {
        assert_eq!(code("not json"), Some(-32700));
        assert_eq!(code("{\"jsonrpc\":\"2.0\",\"id\":1"), Some(-32700));
        assert_eq!(code("42"), Some(-32600));
        assert_eq!(code("{\"id\":1,\"method\":\"ping\"}"), Some(-32600));
        assert_eq!(code("{\"jsonrpc\":\"2.0\",\"id\":1}"), Some(-32600));
        assert_eq!(
            code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":[1]}}"),
            Some(-32602)
        );
        assert_eq!(
            code("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":\"s\"}}"),
            Some(-32602)
        );
        // A malformed notification has nobody to answer.
        assert_eq!(code("{\"method\":\"notifications/initialized\"}"), Some(0));
    }

    #[test]
    fn good_messages_pass() {
        for text in [
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":{\"a\":1}}}",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}",
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
        ] {
            assert_eq!(code(text), None, "{text}");
        }
    }

    #[test]
    fn task_requests_are_renamed_for_the_gateway_and_nothing_else_is() {
        let renamed = |text: &str| match check(text.as_bytes()) {
            Ok(Pass::Renamed { message, .. }) => Some(String::from_utf8(message).unwrap()),
            _ => None,
        };
        assert_eq!(
            renamed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\" : \"tasks/get\",\"params\":{\"taskId\":\"a:1\"}}")
                .as_deref(),
            Some("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\" : \"switchboard/tasks/get\",\"params\":{\"taskId\":\"a:1\"}}")
        );
        let call = renamed(
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"task\":{\"ttl\":5}}}",
        )
        .unwrap();
        let call: Value = serde_json::from_str(&call).unwrap();
        assert_eq!(call["method"], crate::gateway::tasks::CALL_AS_TASK);
        assert_eq!(call["params"]["task"]["ttl"], 5);
        // A plain call, a notification and an unknown tasks/ method pass as
        // they came.
        for text in [
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"task\":null}}",
            "{\"jsonrpc\":\"2.0\",\"method\":\"tasks/get\",\"params\":{}}",
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/update\",\"params\":{}}",
        ] {
            assert_eq!(check(text.as_bytes()), Ok(Pass::AsIs), "{text}");
        }
    }

    #[test]
    fn the_id_of_an_oversized_message_is_found_at_its_start() {
        assert_eq!(
            leading_id(
                b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"x\":\"aaaa"
            ),
            serde_json::json!(7)
        );
        assert_eq!(
            leading_id(b"{\"id\": \"abc\", \"params\""),
            serde_json::json!("abc")
        );
        assert_eq!(leading_id(b"{\"params\":{\"x\":\"aaaa"), Value::Null);
    }
}
