//! The MCP gateway with real clients: the official TypeScript and Python
//! SDK clients over `switchboard gateway` (stdio) see the tools of a server
//! and a skill at once, call both, and hear `tools/list_changed` when a
//! third connector connects; rmcp clients check isolation between
//! concurrent clients, progress order, cancellation reaching the backend,
//! the per-call timeout, and tool filtering; raw clients check how
//! `switchboard gateway` hands its stdio to the service and when it ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{mcp_server_time, poll, repo, server_everything, Sandbox};
use rmcp::model::{CallToolRequestParams, ClientRequest, ProgressNotificationParam, ServerResult};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{json, Value};

/// A sandbox with server-everything (`ev`) and the SQLite skill connected.
fn sandbox_with_two_connectors() -> Sandbox {
    let sb = Sandbox::new();
    sb.ok(&[
        "add",
        "ev",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    sb.ok(&["add", "tm", "--command", &mcp_server_time()]);
    sb.ok(&["connect", "ev"]);
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    sb
}

const CALLS: &str =
    r#"{"ev__echo":{"message":"through the gateway"},"sqlite__query":{"sql":"select 6 * 7 as n"}}"#;

/// Runs a client script until it prints READY, lets `between` change the
/// connectors, and returns the client's final JSON line.
fn run_client(mut cmd: Command, between: impl FnOnce()) -> Value {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok);
    assert_eq!(
        ready.as_deref(),
        Some("READY"),
        "the client failed before READY"
    );
    between();
    let last = lines
        .next()
        .and_then(Result::ok)
        .expect("the client's result line");
    assert!(child.wait().unwrap().success());
    serde_json::from_str(&last).unwrap()
}

fn check_client_report(report: &Value) {
    let before: Vec<&str> = report["before"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(before.contains(&"ev__echo"), "{before:?}");
    assert!(before.contains(&"sqlite__query"), "{before:?}");
    assert!(!before.iter().any(|t| t.starts_with("tm__")), "{before:?}");
    assert_eq!(report["results"]["ev__echo"], "Echo: through the gateway");
    assert_eq!(report["results"]["sqlite__query"]["rows"], json!([[42]]));
    let after: Vec<&str> = report["after"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(after.contains(&"tm__get_current_time"), "{after:?}");
}

#[test]
fn the_typescript_sdk_client_over_stdio() {
    let sb = sandbox_with_two_connectors();
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/peers/gateway-check.mjs"))
        .arg(CALLS)
        .arg("stdio")
        .args(sb.gateway_argv());
    let report = run_client(cmd, || {
        sb.ok(&["connect", "tm"]);
    });
    check_client_report(&report);
}

#[test]
fn the_python_sdk_client_over_stdio() {
    let sb = sandbox_with_two_connectors();
    let mut cmd = Command::new(repo().join("tests/peers/.venv/bin/python"));
    cmd.arg(repo().join("tests/peers/gateway_check.py"))
        .arg(CALLS)
        .args(sb.gateway_argv());
    let report = run_client(cmd, || {
        sb.ok(&["connect", "tm"]);
    });
    check_client_report(&report);
}

/// An rmcp client that records the progress it is sent.
#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<f64>>>,
    loggers: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Recorder {
    fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        self.progress.lock().unwrap().push(params.progress);
        std::future::ready(())
    }

    #[allow(deprecated)]
    fn on_logging_message(
        &self,
        params: switchboard::mcp::LogMessage,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        let logger = params.logger.unwrap_or_default();
        self.loggers.lock().unwrap().push(logger);
        std::future::ready(())
    }
}

async fn rmcp_client(sb: &Sandbox) -> RunningService<RoleClient, Recorder> {
    let argv = sb.gateway_argv();
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    Recorder::default()
        .serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap()
}

fn params(name: &str, args: Value) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new(name.to_string());
    p.arguments = args.as_object().cloned();
    p
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_get_only_their_own_results() {
    let sb = sandbox_with_two_connectors();
    let a = rmcp_client(&sb).await;
    let b = rmcp_client(&sb).await;
    let calls = |client: &RunningService<RoleClient, Recorder>, who: &'static str| {
        let peer = client.peer().clone();
        async move {
            let futures = (0..40).map(|i| {
                let peer = peer.clone();
                async move {
                    let message = format!("{who}-{i}");
                    let result = peer
                        .call_tool(params("ev__echo", json!({ "message": message })))
                        .await
                        .unwrap();
                    (message, text(&result))
                }
            });
            futures::future::join_all(futures).await
        }
    };
    let (ra, rb) = tokio::join!(calls(&a, "alpha"), calls(&b, "beta"));
    for (message, got) in ra.into_iter().chain(rb) {
        assert_eq!(got, format!("Echo: {message}"));
    }
}

/// Adds the Python SDK test server that records how each call ended.
fn add_slow_server(sb: &Sandbox) -> std::path::PathBuf {
    let log = sb.dir.path().join("slow.log");
    let python = repo().join("tests/peers/.venv/bin/python");
    let script = repo().join("tests/peers/slow_server.py");
    let env = format!("SLOW_SERVER_LOG={}", log.display());
    sb.ok(&[
        "add",
        "slow",
        "--env",
        &env,
        "--command",
        &python.display().to_string(),
        &script.display().to_string(),
    ]);
    // Its sandbox lets it write its log in the test's directory.
    let dir = sb.dir.path().display().to_string();
    sb.ok(&["policy", "slow", "--write", &dir]);
    sb.ok(&["connect", "slow"]);
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_arrives_in_order_and_a_cancel_reaches_the_backend() {
    let sb = sandbox_with_two_connectors();
    let log = add_slow_server(&sb);
    let client = rmcp_client(&sb).await;

    let result = client
        .peer()
        .send_request(ClientRequest::CallToolRequest(
            rmcp::model::CallToolRequest::new(params("slow__wait", json!({"seconds": 0.5}))),
        ))
        .await
        .unwrap();
    assert!(matches!(result, ServerResult::CallToolResult(_)));
    // The gateway sends the last progress before the result, but this
    // client (rmcp) hands notifications to a task of their own and the
    // result straight to the caller: the last one may be recorded just
    // after the call returns.
    let progress = client.service().progress.clone();
    let all_five = tokio::task::spawn_blocking(move || {
        poll(Duration::from_secs(10), || {
            progress.lock().unwrap().len() >= 5
        })
    })
    .await
    .unwrap();
    let seen = client.service().progress.lock().unwrap().clone();
    assert!(all_five, "progress lost: {seen:?}");
    assert_eq!(seen, vec![1.0, 2.0, 3.0, 4.0, 5.0], "progress in order");

    let handle = client
        .peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params(
                "slow__wait",
                json!({"seconds": 30}),
            ))),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    assert!(poll(Duration::from_secs(10), || std::fs::read_to_string(
        &log
    )
    .unwrap_or_default()
    .matches("started")
    .count()
        == 2));
    handle
        .cancel(Some("the test changed its mind".into()))
        .await
        .unwrap();
    assert!(
        poll(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("cancelled")),
        "the backend never saw the cancel: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_call_ends_at_the_deadline_and_is_cancelled_at_the_backend() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.gateway": { "callTimeoutSeconds": 1 } }"#,
    )
    .unwrap();
    let log = add_slow_server(&sb);
    let client = rmcp_client(&sb).await;
    let started = std::time::Instant::now();
    let err = client
        .peer()
        .call_tool(params("slow__wait", json!({"seconds": 30})))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did not answer within 1s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(poll(Duration::from_secs(10), || std::fs::read_to_string(
        &log
    )
    .unwrap_or_default()
    .contains("cancelled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tools_are_hidden_and_refused() {
    let sb = sandbox_with_two_connectors();
    let out = sb.ok(&["tools", "ev", "--disable", "get-env"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("get-env") && l.contains("(disabled)")),
        "{out}"
    );
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.disabledTools"]["ev"],
        json!(["get-env"])
    );
    let client = rmcp_client(&sb).await;
    let tools: Vec<String> = client
        .peer()
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(tools.contains(&"ev__echo".to_string()));
    assert!(!tools.contains(&"ev__get-env".to_string()), "{tools:?}");
    let err = client
        .peer()
        .call_tool(params("ev__get-env", json!({})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
    sb.ok(&["tools", "ev", "--enable", "get-env"]);
    assert!(sb.settings_json()["codebuddy.connectors.disabledTools"]
        .get("ev")
        .is_none());
}

#[test]
fn disabling_a_tool_the_server_does_not_offer_is_refused_and_stores_nothing() {
    let sb = sandbox_with_two_connectors();
    let before = std::fs::read(sb.settings()).unwrap();
    // A typo among good names: refused as a whole, with the closest name.
    let out = sb.run(&["tools", "ev", "--disable", "echo", "--disable", "get_env"]);
    assert_eq!(common::code(&out), 12, "{}", common::stderr(&out));
    let message = common::stderr(&out);
    assert!(message.contains("`get_env`"), "{message}");
    assert!(message.contains("did you mean `get-env`"), "{message}");
    assert_eq!(
        std::fs::read(sb.settings()).unwrap(),
        before,
        "a refused change wrote the settings file"
    );
    // Nothing close: refused all the same, without a guess.
    let out = sb.run(&["tools", "ev", "--disable", "zzzzqqqq"]);
    assert_eq!(common::code(&out), 12, "{}", common::stderr(&out));
    assert!(!common::stderr(&out).contains("did you mean"));
    assert_eq!(std::fs::read(sb.settings()).unwrap(), before);
    // A stale disabled name (the server dropped the tool) can be enabled.
    sb.ok(&["tools", "ev", "--disable", "echo"]);
    sb.ok(&["tools", "ev", "--enable", "echo"]);
    assert!(sb.settings_json()["codebuddy.connectors.disabledTools"]
        .get("ev")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_and_resources_of_servers_are_offered_too() {
    let sb = sandbox_with_two_connectors();
    let client = rmcp_client(&sb).await;
    let prompts = client.peer().list_all_prompts().await.unwrap();
    assert!(!prompts.is_empty(), "server-everything offers prompts");
    assert!(
        prompts.iter().all(|p| p.name.starts_with("ev__")),
        "{prompts:?}"
    );
    let simple = prompts
        .iter()
        .find(|p| {
            p.arguments
                .as_ref()
                .is_none_or(|a| a.iter().all(|x| x.required != Some(true)))
        })
        .expect("a prompt without required arguments");
    let got = client
        .peer()
        .get_prompt(rmcp::model::GetPromptRequestParams::new(
            simple.name.clone(),
        ))
        .await
        .unwrap();
    assert!(!got.messages.is_empty());

    let resources = client.peer().list_all_resources().await.unwrap();
    assert!(!resources.is_empty(), "server-everything offers resources");
    assert!(resources[0]
        .title
        .as_deref()
        .unwrap_or("")
        .starts_with("[ev] "));
    let read = client
        .peer()
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            resources[0].uri.clone(),
        ))
        .await
        .unwrap();
    assert!(!read.contents.is_empty());
    let err = client
        .peer()
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "nowhere://nothing",
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no connected server lists"),
        "{err}"
    );
}

#[test]
fn the_typescript_sdk_client_over_streamable_http() {
    let sb = sandbox_with_two_connectors();
    let (url, token) = sb.http_endpoint();
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/peers/gateway-check.mjs"))
        .args([CALLS, "http", &url, &token]);
    let report = run_client(cmd, || {
        sb.ok(&["connect", "tm"]);
    });
    check_client_report(&report);
}

#[test]
fn the_python_sdk_client_over_streamable_http() {
    let sb = sandbox_with_two_connectors();
    let (url, token) = sb.http_endpoint();
    let mut cmd = Command::new(repo().join("tests/peers/.venv/bin/python"));
    cmd.arg(repo().join("tests/peers/gateway_check.py"))
        .args([CALLS, "--http", &url, &token]);
    let report = run_client(cmd, || {
        sb.ok(&["connect", "tm"]);
    });
    check_client_report(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_log_messages_reach_gateway_clients() {
    let sb = sandbox_with_two_connectors();
    let client = rmcp_client(&sb).await;
    client
        .peer()
        .call_tool(params("ev__toggle-simulated-logging", json!({})))
        .await
        .unwrap();
    let loggers = client.service().loggers.clone();
    let heard = tokio::task::spawn_blocking(move || {
        poll(Duration::from_secs(30), || {
            loggers
                .lock()
                .unwrap()
                .iter()
                .any(|l| l == "ev" || l.starts_with("ev/"))
        })
    })
    .await
    .unwrap();
    assert!(heard, "no log message from `ev` reached the client");
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;

/// A sandbox with only the SQLite skill connected (no test peers needed).
fn sandbox_with_sqlite() -> Sandbox {
    let sb = Sandbox::new();
    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    sb
}

/// Starts `switchboard gateway` with `stdin`, its stdout piped; its lines
/// arrive on the channel, which disconnects at EOF.
fn spawn_gateway(
    sb: &Sandbox,
    stdin: Stdio,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let argv = sb.gateway_argv();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

const WITHIN: Duration = Duration::from_secs(30);

fn is_initialize_answer(line: &str) -> bool {
    let answer: Value = serde_json::from_str(line).unwrap();
    answer["id"] == 1 && answer["result"]["serverInfo"]["name"] == "switchboard"
}

#[test]
fn closing_stdin_ends_the_session_and_the_gateway_command() {
    use std::io::Write;
    let sb = sandbox_with_sqlite();
    let (mut child, lines) = spawn_gateway(&sb, Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INITIALIZE}").unwrap();
    assert!(is_initialize_answer(&lines.recv_timeout(WITHIN).unwrap()));
    drop(stdin);
    // The service closes the client's stdout, and the command exits 0.
    assert_eq!(
        lines.recv_timeout(WITHIN),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn killing_the_gateway_command_ends_its_session_at_the_service() {
    use std::io::Write;
    let sb = sandbox_with_sqlite();
    let (mut child, lines) = spawn_gateway(&sb, Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INITIALIZE}").unwrap();
    assert!(is_initialize_answer(&lines.recv_timeout(WITHIN).unwrap()));
    child.kill().unwrap();
    child.wait().unwrap();
    // The service held the client's stdout; it lets go once it sees the
    // command gone, though the client keeps its stdin open.
    assert_eq!(
        lines.recv_timeout(WITHIN),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
    drop(stdin);
}

#[test]
fn stdin_from_a_file_is_copied_through_the_socket() {
    let sb = sandbox_with_sqlite();
    let input = sb.dir.path().join("requests.jsonl");
    std::fs::write(&input, format!("{INITIALIZE}\n")).unwrap();
    let (mut child, lines) = spawn_gateway(&sb, Stdio::from(std::fs::File::open(&input).unwrap()));
    assert!(is_initialize_answer(&lines.recv_timeout(WITHIN).unwrap()));
    assert_eq!(
        lines.recv_timeout(WITHIN),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_socket_still_speaks_plain_mcp() {
    let sb = sandbox_with_sqlite();
    let stream = tokio::net::UnixStream::connect(sb.home().join("gateway.sock"))
        .await
        .unwrap();
    let client = ().serve(stream).await.unwrap();
    let tools = client.peer().list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "sqlite__query"), "{tools:?}");
    let result = client
        .peer()
        .call_tool(params("sqlite__query", json!({"sql": "select 1 as n"})))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true));
}
