//! `codebuddy.gateway.prefix`: tool names with their connector in front
//! always (the default), only where two connectors offer the same name
//! (`on-collision`), or never (the second connector's tool of a taken name
//! is not offered, and the service log names both connectors). Two
//! server-everything instances (every tool name shared) and the PyPI
//! `mcp-server-time` (names of its own), through `switchboard gateway` with
//! an rmcp client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{mcp_server_time, poll, server_everything, Sandbox};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

/// Two server-everything instances told apart by `MARK`, and the time server.
/// `prefix: None` leaves the setting out.
fn sandbox(prefix: Option<&str>) -> Sandbox {
    let sb = Sandbox::new();
    if let Some(prefix) = prefix {
        std::fs::write(
            sb.settings(),
            format!(r#"{{ "codebuddy.gateway": {{ "prefix": "{prefix}" }} }}"#),
        )
        .unwrap();
    }
    for (name, mark) in [("ev1", "one"), ("ev2", "two")] {
        let definition = json!({
            "command": "node",
            "args": [server_everything(), "stdio"],
            "env": {"MARK": mark},
        })
        .to_string();
        sb.ok(&["add", name, "--json", &definition]);
        sb.ok(&["connect", name]);
    }
    sb.ok(&["add", "tm", "--command", &mcp_server_time()]);
    sb.ok(&["connect", "tm"]);
    sb
}

async fn client(sb: &Sandbox) -> RunningService<RoleClient, ()> {
    let argv = sb.gateway_argv();
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap()
}

async fn names(client: &RunningService<RoleClient, ()>) -> Vec<String> {
    client
        .peer()
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> Value {
    let mut params = CallToolRequestParams::new(name.to_string());
    params.arguments = args.as_object().cloned();
    let result = client.peer().call_tool(params).await.unwrap();
    assert_ne!(result.is_error, Some(true), "{name}: {result:?}");
    serde_json::to_value(result).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_collision_prefixes_only_shared_names() {
    let sb = sandbox(Some("on-collision"));
    let client = client(&sb).await;
    let names = names(&client).await;
    for wanted in ["ev1__echo", "ev2__echo", "get_current_time", "convert_time"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n == "echo" || n.starts_with("tm__")),
        "{names:?}"
    );
    let time = call(&client, "get_current_time", json!({"timezone": "UTC"})).await;
    assert!(time.to_string().contains("UTC"), "{time}");
    let env = call(&client, "ev2__get-env", json!({})).await;
    assert!(env.to_string().contains(r#"\"MARK\": \"two\""#), "{env}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_offers_the_first_and_names_both_in_the_log() {
    let sb = sandbox(Some("never"));
    let client = client(&sb).await;
    let names = names(&client).await;
    assert_eq!(
        names.iter().filter(|n| *n == "echo").count(),
        1,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("__")), "{names:?}");
    assert!(names.iter().any(|n| n == "get_current_time"), "{names:?}");
    let env = call(&client, "get-env", json!({})).await;
    assert!(env.to_string().contains(r#"\"MARK\": \"one\""#), "{env}");
    // Listed twice and called: each refusal is logged once.
    let _ = client.peer().list_all_tools().await.unwrap();
    let refusal = "does not offer `echo` of `ev2`: `ev1` offers a tool of the same name";
    let log = || std::fs::read_to_string(sb.home().join("logs/service.log")).unwrap_or_default();
    let logged = poll(Duration::from_secs(10), || log().contains(refusal));
    assert!(logged, "{}", log());
    assert_eq!(log().matches(refusal).count(), 1, "{}", log());
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_is_the_default() {
    let sb = sandbox(None);
    let client = client(&sb).await;
    let names = names(&client).await;
    assert!(names.iter().all(|n| n.contains("__")), "{names:?}");
    call(&client, "tm__get_current_time", json!({"timezone": "UTC"})).await;
    client.cancel().await.unwrap();
}
