//! Content and metadata pass through the gateway unchanged: for every tool
//! server-everything offers a client without sampling, elicitation, roots or
//! tasks, a raw JSON-RPC client over stdio calls it directly and through
//! `switchboard gateway`, with arguments made from the tool's own input
//! schema, and the two answers are the same JSON (images, audio, embedded
//! resources, resource links, `structuredContent`, `_meta`, errors). The
//! tool list's entries are compared too: title, description, annotations,
//! icons, input and output schemas and `_meta`, everything but the name.
//! JSON values are compared, so key order does not count, and numbers by
//! value: the gateway re-encodes what it forwards through rmcp's types,
//! which write an annotation's `priority` of `1` as `1.0`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::{server_everything, Sandbox};
use serde_json::{json, Map, Value};

/// How long any one answer may take.
const WITHIN: Duration = Duration::from_secs(30);

/// A raw line-delimited JSON-RPC client of one MCP server over stdio.
struct Raw {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next_id: u64,
}

impl Raw {
    fn start(argv: &[String]) -> Raw {
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut raw = Raw {
            child,
            stdin,
            lines,
            next_id: 0,
        };
        raw.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "equivalence", "version": "1"}
            }),
        )
        .expect("initialize");
        raw.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        raw
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The answer to one request (`result` or `error`), skipping the
    /// notifications and requests that come meanwhile; `None` when none
    /// comes within the deadline.
    fn request(&mut self, method: &str, params: Value) -> Option<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("the server closed stdout"),
            };
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id && message.get("method").is_none() {
                let mut answer = message.as_object().unwrap().clone();
                answer.remove("id");
                answer.remove("jsonrpc");
                return Some(Value::Object(answer));
            }
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A value that satisfies `schema` (its first enum value, its minimum, or
/// a plain value of its type).
fn sample(schema: &Value) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    match schema["type"].as_str() {
        Some("string") => json!("abc"),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("number") => json!(schema["minimum"].as_f64().unwrap_or(1.0).max(1.0)),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(&schema["items"])]),
        Some("object") => arguments(schema),
        _ => json!("abc"),
    }
}

/// Arguments with every required property of `schema`.
fn arguments(schema: &Value) -> Value {
    let mut args = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        args.insert(name.to_string(), sample(&schema["properties"][name]));
    }
    Value::Object(args)
}

/// Arguments that keep a call on this machine and quick.
fn arguments_for(tool: &str, schema: &Value) -> Value {
    match tool {
        // Its default fetches a file from GitHub; a data: URI stays local.
        "gzip-file-as-resource" => json!({
            "name": "hello.txt.gz",
            "data": "data:text/plain;base64,aGVsbG8gZ2F0ZXdheQ==",
            "outputType": "resource",
        }),
        "trigger-long-running-operation" => json!({"duration": 1, "steps": 2}),
        "get-annotated-message" => json!({"messageType": "error", "includeImage": true}),
        _ => arguments(schema),
    }
}

/// `value` with every number as a float, so `1` and `1.0` compare equal.
fn numbers_by_value(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_by_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_by_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What differs by design: the environment each server sees.
const DIFFERENT_BY_DESIGN: &[&str] = &["get-env"];

#[test]
fn every_tool_answers_the_same_through_the_gateway() {
    let sb = Sandbox::new();
    let everything = server_everything();
    sb.ok(&["add", "ev", "--command", "node", &everything, "stdio"]);
    sb.ok(&["connect", "ev"]);
    let mut direct = Raw::start(&["node".to_string(), everything, "stdio".to_string()]);
    let mut gateway = Raw::start(&sb.gateway_argv());

    let listed = direct.request("tools/list", json!({})).unwrap();
    let tools = listed["result"]["tools"].as_array().unwrap().clone();
    let through = gateway.request("tools/list", json!({})).unwrap();
    let through = through["result"]["tools"].as_array().unwrap().clone();
    assert!(tools.len() >= 10, "{listed}");

    let mut compared = Vec::new();
    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        // The listing: the same entry under the qualified name.
        let mut offered = through
            .iter()
            .find(|t| t["name"] == format!("ev__{name}"))
            .unwrap_or_else(|| panic!("ev__{name} is not offered"))
            .clone();
        offered["name"] = json!(name);
        // `execution.taskSupport` too, which rmcp's `Tool` has no field
        // for (the service notes it beneath rmcp).
        let expected = tool.clone();
        assert_eq!(
            numbers_by_value(&offered),
            numbers_by_value(&expected),
            "the listing of {name} changed"
        );

        if DIFFERENT_BY_DESIGN.contains(&name) {
            continue;
        }
        let args = arguments_for(name, &tool["inputSchema"]);
        let want = if tool["execution"]["taskSupport"] == "required" {
            // Directly, only as a task; its result is what the gateway's
            // plain call answers, without the task it never showed.
            let created = direct
                .request(
                    "tools/call",
                    json!({"name": name, "arguments": args, "task": {"ttl": 60000}}),
                )
                .unwrap();
            let id = created["result"]["task"]["taskId"].clone();
            assert!(id.is_string(), "{created}");
            let mut result = direct
                .request("tasks/result", json!({"taskId": id}))
                .unwrap();
            result["result"].as_object_mut().unwrap().remove("_meta");
            result
        } else {
            let Some(want) = direct.request("tools/call", json!({"name": name, "arguments": args}))
            else {
                panic!("{name} did not answer directly");
            };
            want
        };
        let got = gateway
            .request(
                "tools/call",
                json!({"name": format!("ev__{name}"), "arguments": args}),
            )
            .unwrap_or_else(|| panic!("{name} did not answer through the gateway"));
        assert_eq!(
            numbers_by_value(&got),
            numbers_by_value(&want),
            "{name} answered differently through the gateway"
        );
        compared.push(name.to_string());
    }
    // The content kinds the issue names were among them.
    for kind in [
        "get-tiny-image",
        "get-resource-reference",
        "get-resource-links",
        "get-structured-content",
        "get-annotated-message",
    ] {
        assert!(
            compared.iter().any(|c| c == kind),
            "{kind} was not compared: {compared:?}"
        );
    }
    eprintln!("compared {} tools: {compared:?}", compared.len());
}
