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
//! For a stream (stdio, the gateway socket) two small tasks sit between
//! the client's pipes and rmcp: one reads and checks lines, one copies
//! rmcp's answers out and puts the intake's own answers between them, at
//! line boundaries only. Other callers are not affected by a bad line.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The default largest message, in bytes (`codebuddy.gateway.maxMessageBytes`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// How far into an oversized message its id is looked for.
const ID_SCAN_BYTES: usize = 4096;
/// The in-process pipes between the intake and rmcp.
const PIPE_BYTES: usize = 64 * 1024;

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
}

/// Checks one message. `Ok` means rmcp may have it; a refusal for a
/// notification (no id) is `Err(None)`: there is nobody to answer.
pub fn check(text: &[u8]) -> Result<(), Option<Refusal>> {
    let trimmed = text.trim_ascii_start();
    // A batch (allowed by older revisions) is rmcp's to judge.
    if trimmed.first() == Some(&b'[') {
        return Ok(());
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
            return Ok(());
        }
        return answerable(
            -32600,
            "invalid request: neither a request (`method`) nor a response (`result`/`error`)"
                .into(),
        );
    };
    let Ok(method) = serde_json::from_str::<&str>(method.get()) else {
        return answerable(-32600, "invalid request: `method` must be a string".into());
    };
    if method == "tools/call" {
        return check_call(probe.params).or_else(|message| answerable(-32602, message));
    }
    Ok(())
}

/// `tools/call` params: an object whose `arguments`, when given, is one.
fn check_call(params: Option<&RawValue>) -> Result<(), String> {
    let Some(params) = params else {
        return Err("invalid params: tools/call needs `params` with `name`".into());
    };
    let params: CallParams = serde_json::from_str(params.get())
        .map_err(|e| format!("invalid params: tools/call `params` must be an object ({e})"))?;
    match params.arguments.map(|raw| raw.get().trim_start()) {
        None => Ok(()),
        Some(text) if text.starts_with('{') || text == "null" => Ok(()),
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

/// Puts the intake between a client's stream and rmcp: returns the ends
/// rmcp reads from and writes to. The reading side stops with `stop` (the
/// session's end), so it does not hold the client's input open after.
///
/// `resume` holds the `initialize` params of a client that initialized
/// with an earlier service: rmcp is handed that `initialize` and the
/// `initialized` notification first, and its answer to them is kept from
/// the client, which has had one.
pub fn guard<R, W>(
    read: R,
    write: W,
    limit: usize,
    stop: CancellationToken,
    resume: Option<Value>,
) -> (DuplexStream, DuplexStream)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (mut to_rmcp, rmcp_reads) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_writes, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (refusals, pending) = mpsc::unbounded_channel();
    let replay = resume.map(|params| {
        let initialize = serde_json::json!({
            "jsonrpc": "2.0", "id": RESUME_ID, "method": "initialize", "params": params,
        });
        let initialized = serde_json::json!({
            "jsonrpc": "2.0", "method": "notifications/initialized",
        });
        format!("{initialize}\n{initialized}\n")
    });
    let hide_answer = replay.is_some();
    tokio::spawn(async move {
        if let Some(replay) = replay {
            if to_rmcp.write_all(replay.as_bytes()).await.is_err() {
                return;
            }
        }
        tokio::select! {
            () = read_lines(read, to_rmcp, refusals, limit) => {}
            () = stop.cancelled() => {}
        }
    });
    tokio::spawn(write_lines(from_rmcp, write, pending, hide_answer));
    (rmcp_reads, rmcp_writes)
}

/// The id of the `initialize` replayed for a resumed session.
const RESUME_ID: &str = "switchboard-resume";

/// Whether an outgoing line is the answer to the replayed `initialize`.
fn answers_replay(line: &[u8]) -> bool {
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

/// Reads the client's lines, bounded by `limit`; good ones go to rmcp,
/// bad ones become refusals. Ends at the client's EOF (closing rmcp's
/// input, which ends the session).
async fn read_lines<R: AsyncRead + Unpin>(
    read: R,
    mut to_rmcp: DuplexStream,
    refusals: mpsc::UnboundedSender<Refusal>,
    limit: usize,
) {
    let mut read = BufReader::with_capacity(PIPE_BYTES, read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let (ended, oversized) = match read_bounded(&mut read, &mut line, limit).await {
            Ok(found) => found,
            Err(err) => {
                tracing::debug!("gateway input closed: {err}");
                return;
            }
        };
        if oversized {
            let _ = refusals.send(Refusal::too_large(leading_id(&line), limit));
        } else if !line.trim_ascii().is_empty() {
            match check(line.trim_ascii()) {
                Ok(()) => {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    if to_rmcp.write_all(&line).await.is_err() {
                        return;
                    }
                }
                Err(Some(refusal)) => {
                    let _ = refusals.send(refusal);
                }
                Err(None) => tracing::debug!("dropped a malformed notification"),
            }
        }
        if ended {
            return;
        }
    }
}

/// Reads one line into `line`, keeping at most `limit` bytes (plus enough
/// to find an id); returns (at EOF, over the limit). The rest of an
/// oversized line is read and dropped.
async fn read_bounded<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(bool, bool)> {
    let mut seen = 0usize;
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok((true, seen > limit));
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let room = (limit + 1).saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        seen += chunk.len();
        let used = chunk.len();
        read.consume(used);
        if done {
            // The newline itself does not count against the limit.
            return Ok((false, seen.saturating_sub(1) > limit));
        }
    }
}

/// Copies rmcp's output to the client line by line, and the intake's
/// refusals between lines.
async fn write_lines<W: AsyncWrite + Unpin>(
    from_rmcp: DuplexStream,
    mut write: W,
    mut pending: mpsc::UnboundedReceiver<Refusal>,
    mut hide_answer: bool,
) {
    let mut from_rmcp = BufReader::with_capacity(PIPE_BYTES, from_rmcp);
    let mut line = Vec::new();
    let mut refusals_open = true;
    loop {
        tokio::select! {
            biased;
            read = from_rmcp.read_until(b'\n', &mut line) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) if hide_answer && answers_replay(&line) => {
                        hide_answer = false;
                        line.clear();
                    }
                    Ok(_) => {
                        if write.write_all(&line).await.is_err() || write.flush().await.is_err() {
                            return;
                        }
                        line.clear();
                    }
                }
            }
            refusal = pending.recv(), if refusals_open && line.is_empty() => match refusal {
                Some(refusal) => {
                    let text = format!("{}\n", refusal.to_json());
                    if write.write_all(text.as_bytes()).await.is_err() || write.flush().await.is_err() {
                        return;
                    }
                }
                None => refusals_open = false,
            },
        }
    }
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<i64> {
        match check(text.as_bytes()) {
            Ok(()) => None,
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
