//! Both protocol generations through one gateway (issue 21): a client of
//! 2026-07-28 (rmcp's: `server/discover`, per-request `_meta`, no
//! session) and one of 2025-11-25 (the Python SDK's: `initialize`), at
//! once, each calling a backend that speaks only 2026-07-28 and one that
//! speaks only 2025-06-18 (`examples/revision_server.rs`), including the
//! `ask` tool whose backend asks the client's user in the middle of the
//! call: an `elicitation/create` request from the older backend, an
//! `input_required` result from the newer one. Each client gets the
//! question in its own revision's form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::Sandbox;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, Implementation, InputRequest, ProtocolVersion,
    ServerNotification, SubscriptionFilter,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient};
use serde_json::{json, Value};

/// The test peer, built by `cargo test` with the other examples.
fn revision_server() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_switchboard"));
    let peer = bin.parent().unwrap().join("examples/revision_server");
    assert!(
        peer.exists(),
        "{} is not built: run `cargo build --examples`",
        peer.display()
    );
    peer
}

/// A sandbox with `new` (2026-07-28 only) and `old` (2025-06-18 only).
fn two_revisions() -> Sandbox {
    let sb = Sandbox::new();
    let peer = revision_server().display().to_string();
    for (name, versions) in [("new", "2026-07-28"), ("old", "2025-06-18")] {
        sb.ok(&[
            "add",
            name,
            "--command",
            &peer,
            "--",
            "--versions",
            versions,
        ]);
        sb.ok(&["connect", name]);
    }
    sb
}

/// rmcp's client, answering its user's questions with `blue`.
struct Answers;

impl ClientHandler for Answers {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation = Some(Default::default());
        ClientConfig::new(capabilities, Implementation::new("revision-test", "1"))
    }

    async fn create_elicitation(
        &self,
        _params: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(json!({"answer": "blue"}));
        Ok(result)
    }
}

/// A 2026-07-28 session through `switchboard gateway`.
async fn modern_client(sb: &Sandbox) -> RunningService<RoleClient, Answers> {
    let argv = sb.gateway_argv();
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let transport = TokioChildProcess::new(cmd).unwrap();
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    Answers
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap()
}

/// A 2026-07-28 client of the service's `/mcp`.
async fn modern_http_client(sb: &Sandbox) -> RunningService<RoleClient, Answers> {
    let (url, token) = sb.http_endpoint();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    config.auth_header = Some(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    Answers
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap()
}

fn call(tool: &str) -> CallToolRequestParams {
    let args = json!({"question": "favourite colour?", "message": "hi"});
    let Value::Object(args) = args else {
        unreachable!()
    };
    CallToolRequestParams::new(tool.to_string()).with_arguments(args)
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Python SDK client through the gateway: its report.
fn python_client(sb: &Sandbox, tools: &[&str]) -> Value {
    let mut args = vec![tools.join(",")];
    args.extend(sb.gateway_argv());
    common::python_report("revision_client.py", args)
}

/// Both backends' `ask` answered by the client's handler (rmcp drives the
/// rounds), and an echo.
async fn both_asks_answered(modern: &RunningService<RoleClient, Answers>, echo: &str) {
    for tool in ["old__ask", "new__ask"] {
        let result = modern.call_tool(call(tool)).await.unwrap();
        assert_eq!(text(&result), "You said: blue", "{tool}");
    }
    let result = modern.call_tool(call(echo)).await.unwrap();
    assert_eq!(text(&result), "Echo: hi");
}

#[test]
fn connect_speaks_each_backends_own_revision() {
    let sb = two_revisions();
    // Before: "Method not found: initialize" for the first, and the
    // second refused an `initialize` that proposed 2026-07-28.
    assert_eq!(
        sb.ok(&["call", "new", "revision", "{}"]).trim(),
        "2026-07-28"
    );
    assert_eq!(
        sb.ok(&["call", "old", "revision", "{}"]).trim(),
        "2025-06-18"
    );
    assert_eq!(
        sb.ok(&["call", "new", "echo", r#"{"message":"hi"}"#])
            .trim(),
        "Echo: hi"
    );
}

#[test]
fn a_backends_tool_list_change_reaches_the_service_in_either_revision() {
    let sb = two_revisions();
    let has_grown = |name: &str| {
        sb.ok(&["tools", name])
            .lines()
            .any(|line| line.starts_with("grown "))
    };
    for name in ["new", "old"] {
        assert!(!has_grown(name));
        assert_eq!(sb.ok(&["call", name, "grow", "{}"]).trim(), "grown");
        // The 2026-07-28 server says so on the listen stream the service
        // keeps open; the older one on its session.
        let grew = common::poll(Duration::from_secs(20), || has_grown(name));
        assert!(grew, "{name}: the service never saw the new tool");
    }
}

/// The test peer serving Streamable HTTP; killed on drop.
struct HttpRevisionPeer {
    child: std::process::Child,
    url: String,
}

impl HttpRevisionPeer {
    fn start(versions: &str) -> HttpRevisionPeer {
        let mut child = Command::new(revision_server())
            .args(["--versions", versions, "--http", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_string();
        HttpRevisionPeer { child, url }
    }
}

impl Drop for HttpRevisionPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_remote_server_is_spoken_to_in_its_own_revision_too() {
    let new = HttpRevisionPeer::start("2026-07-28");
    let old = HttpRevisionPeer::start("2025-06-18");
    let sb = Sandbox::new();
    for (name, peer) in [("rnew", &new), ("rold", &old)] {
        sb.ok(&["add", name, "--url", &peer.url]);
        sb.ok(&["connect", name]);
    }
    assert_eq!(
        sb.ok(&["call", "rnew", "revision", "{}"]).trim(),
        "2026-07-28"
    );
    assert_eq!(
        sb.ok(&["call", "rold", "revision", "{}"]).trim(),
        "2025-06-18"
    );
    sb.ok(&["call", "rnew", "grow", "{}"]);
    let grew = common::poll(Duration::from_secs(20), || {
        sb.ok(&["tools", "rnew"])
            .lines()
            .any(|line| line.starts_with("grown "))
    });
    assert!(grew, "the service never saw the remote server's new tool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_generations_of_client_call_both_generations_of_server_at_once() {
    let sb = two_revisions();
    let modern = modern_client(&sb).await;
    let tools = modern.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for name in ["new__ask", "old__ask", "new__echo", "old__echo"] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }

    // The older backend's mid-call `elicitation/create` reaches the
    // 2026-07-28 client as `input_required`, and its retry resumes the call.
    let first = modern.call_tool_once(call("old__ask")).await.unwrap();
    let CallToolResponse::InputRequired(asked) = first else {
        panic!("expected input_required, got {first:?}");
    };
    let requests = asked.input_requests.clone().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (key, request) = requests.into_iter().next().unwrap();
    assert!(
        matches!(request, InputRequest::Elicitation(_)),
        "{request:?}"
    );
    let state = asked.request_state.clone().expect("a requestState");
    let mut retry = call("old__ask");
    retry.input_responses = Some(
        [(
            key,
            json!({"action": "accept", "content": {"answer": "red"}}),
        )]
        .into(),
    );
    retry.request_state = Some(state.clone());
    let CallToolResponse::Complete(done) = modern.call_tool_once(retry).await.unwrap() else {
        panic!("the retry did not complete the call");
    };
    assert_eq!(text(&done), "You said: red");

    // The same state again names nothing: the call is over.
    let mut again = call("old__ask");
    again.request_state = Some(state);
    let err = modern.call_tool_once(again).await.unwrap_err().to_string();
    assert!(err.contains("names no call waiting"), "{err}");

    // rmcp's own loop drives the rounds, for both backends.
    both_asks_answered(&modern, "new__echo").await;

    // Meanwhile, an older client (Python SDK, `initialize`) through the
    // same service: the newer backend's `input_required` reaches it as an
    // ordinary `elicitation/create`.
    let report = python_client(&sb, &["new__ask", "old__ask", "new__echo"]);
    assert_eq!(report["protocolVersion"], "2025-11-25", "{report}");
    assert_eq!(report["new__ask"], "You said: green", "{report}");
    assert_eq!(report["old__ask"], "You said: green", "{report}");
    assert_eq!(report["new__echo"], "Echo: hi", "{report}");

    // And the 2026-07-28 session is still there.
    let result = modern.call_tool(call("old__echo")).await.unwrap();
    assert_eq!(text(&result), "Echo: hi");
    modern.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_client_of_the_http_front_answers_both_backends() {
    let sb = two_revisions();
    let modern = modern_http_client(&sb).await;
    let first = modern.call_tool_once(call("old__ask")).await.unwrap();
    assert!(
        matches!(first, CallToolResponse::InputRequired(_)),
        "expected input_required, got {first:?}"
    );
    both_asks_answered(&modern, "new__echo").await;
    modern.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_client_hears_list_changes_on_its_listen_stream() {
    let sb = two_revisions();
    let modern = modern_client(&sb).await;
    let filter = SubscriptionFilter::builder()
        .tools_list_changed()
        .prompts_list_changed()
        .build();
    let mut listening = modern.peer().listen(filter).await.unwrap();
    assert_eq!(listening.acknowledged().tools_list_changed, Some(true));
    sb.ok(&["disconnect", "old"]);
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let next = tokio::time::timeout(Duration::from_secs(20), listening.next()).await;
        match next.expect("no list change within 20 s").unwrap() {
            Some(ServerNotification::ToolListChangedNotification(_)) => heard.push("tools"),
            Some(ServerNotification::PromptListChangedNotification(_)) => heard.push("prompts"),
            Some(other) => panic!("not asked for: {other:?}"),
            None => panic!("the stream ended"),
        }
    }
    assert_eq!(heard, ["tools", "prompts"]);
    let tools = modern.list_all_tools().await.unwrap();
    assert!(!tools.iter().any(|t| t.name.starts_with("old__")));
    listening.cancel().await.unwrap();
    modern.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_client_hears_updates_of_the_resources_it_names() {
    let sb = Sandbox::with_everything();
    let modern = modern_client(&sb).await;
    let uri = "demo://resource/static/document/architecture.md";
    let filter = SubscriptionFilter::builder()
        .resource_subscription(uri)
        .build();
    let mut listening = modern.peer().listen(filter).await.unwrap();
    assert_eq!(
        listening.acknowledged().resource_subscriptions,
        Some(vec![uri.to_string()])
    );
    // server-everything sends its subscribers updates once this is on.
    modern
        .call_tool(call("ev__toggle-subscriber-updates"))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(20), listening.next()).await;
    match next.expect("no update within 20 s").unwrap() {
        Some(ServerNotification::ResourceUpdatedNotification(update)) => {
            assert_eq!(update.params.uri, uri)
        }
        other => panic!("not asked for: {other:?}"),
    }
    listening.cancel().await.unwrap();
    modern.cancel().await.unwrap();
}

/// Sends one request to a new stdio gateway and reads its answer.
fn one_request(sb: &Sandbox, request: &Value) -> Value {
    let argv = sb.gateway_argv();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, Write};
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(stdin);
    let _ = child.wait();
    serde_json::from_str(&line).unwrap()
}

/// A stateless `tools/list` in `version`.
fn list_in(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        }},
    })
}

#[test]
fn a_modern_clients_lists_say_how_long_they_keep() {
    let sb = two_revisions();
    let answer = one_request(&sb, &list_in("2026-07-28"));
    assert_eq!(answer["result"]["ttlMs"], 0, "{answer}");
    assert_eq!(answer["result"]["cacheScope"], "private", "{answer}");
    assert!(
        answer["result"]["tools"].as_array().unwrap().len() >= 4,
        "{answer}"
    );
}

#[test]
fn an_unknown_revision_gets_the_specs_error() {
    let sb = two_revisions();
    let answer = one_request(&sb, &list_in("2099-01-01"));
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(answer["error"]["code"], -32022, "{answer}");
    let supported = answer["error"]["data"]["supported"].as_array().unwrap();
    assert!(supported.contains(&json!("2026-07-28")), "{answer}");
    assert!(supported.contains(&json!("2025-11-25")), "{answer}");
}
