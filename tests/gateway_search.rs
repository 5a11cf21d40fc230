//! The gateway's tool search (issue "Many connectors, one agent"): a
//! client in `search` mode sees three tools, finds one by what it wants to
//! do, and calls it — the Python SDK's client through the stdio gateway
//! (`--tools search`) and through `/mcp?tools=search`, and the TypeScript
//! SDK's through stdio; the default and `tools=all` still list every tool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Sandbox;
use serde_json::Value;

/// The Python SDK client's report (see `tests/peers/search_client.py`).
fn python_search(query: &str, args: &str, target: &[String]) -> Value {
    let mut all = vec![query.to_string(), args.to_string()];
    all.extend_from_slice(target);
    common::python_report("search_client.py", all)
}

const META: [&str; 3] = ["call_tool", "find_tools", "list_connectors"];

fn assert_found_and_called(report: &Value) {
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tools, META, "{report}");
    assert_eq!(report["found"][0], "ev__echo", "{report}");
    assert_eq!(report["schema"]["required"][0], "message", "{report}");
    assert_eq!(report["call"], "Echo: found by query", "{report}");
    let connectors = report["connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 1, "{report}");
    assert_eq!(connectors[0]["name"], "ev");
    assert!(connectors[0]["tools"].as_u64().unwrap() > 5, "{report}");
}

#[test]
fn a_search_mode_client_finds_a_tool_by_query_and_calls_it() {
    let sb = Sandbox::with_everything();
    let mut argv = sb.gateway_argv();
    argv.extend(["--tools".to_string(), "search".to_string()]);
    let args = r#"{"message": "found by query"}"#;
    let report = python_search("echo a message back to me", args, &argv);
    assert_found_and_called(&report);

    let (url, token) = sb.http_endpoint();
    let target = [
        "--http".to_string(),
        format!("{url}?tools=search"),
        token.clone(),
    ];
    let report = python_search("echo a message back to me", args, &target);
    assert_found_and_called(&report);

    // `tools=all` (and no choice, by default) lists every tool as before.
    let mut args = vec!["stdio".to_string()];
    args.extend(sb.gateway_argv());
    let listed = common::typescript_report(args);
    let names = listed["tools"].to_string();
    assert!(
        names.contains("ev__echo") && !names.contains("find_tools"),
        "{names}"
    );
}

#[test]
fn the_typescript_client_calls_through_call_tool_and_search_follows_new_tools() {
    let sb = Sandbox::with_everything();
    let mut argv = sb.gateway_argv();
    argv.extend(["--tools".to_string(), "search".to_string()]);
    let call = r#"{"name": "ev__echo", "arguments": {"message": "from TypeScript"}}"#;
    let mut args: Vec<String> = ["--call", "call_tool", call, "stdio"]
        .map(String::from)
        .to_vec();
    args.extend(argv.iter().cloned());
    let report = common::typescript_report(args);
    assert_eq!(
        report["tools"],
        serde_json::json!(["find_tools", "call_tool", "list_connectors"]),
        "{report}"
    );
    assert!(
        report["call"].to_string().contains("Echo: from TypeScript"),
        "{report}"
    );

    // A connector that comes later is found at once: mcp-server-time.
    sb.ok(&["add", "time", "--command", &common::mcp_server_time()]);
    sb.ok(&["connect", "time"]);
    let args = r#"{"timezone": "UTC"}"#;
    let report = python_search("the current time in a timezone", args, &argv);
    assert_eq!(report["found"][0], "time__get_current_time", "{report}");
    assert!(report["call"].as_str().unwrap().contains("UTC"), "{report}");
    assert_eq!(
        report["connectors"].as_array().unwrap().len(),
        2,
        "{report}"
    );
}
