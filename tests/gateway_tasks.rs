//! Tasks through the gateway (issue "A transparent gateway"): the
//! TypeScript SDK's client runs server-everything's
//! `simulate-research-query` as a task — `tools/call` with `task`,
//! status polling with `tasks/get`, `tasks/result`, `tasks/list`,
//! `tasks/cancel`, `tasks/get` of an unknown id, and the status
//! notification of its completion — directly and through
//! the gateway (stdio and `/mcp`), and gets the same answers, task ids
//! named by connector. Through the gateway, a plain `tools/call` of that
//! tool (which its server runs only as a task) is answered too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{server_everything, Sandbox};
use serde_json::Value;

fn task_client(args: &[String]) -> Value {
    common::node_report("task-client.mjs", args)
}

/// The report with the task id taken out, and that id.
fn without_id(mut report: Value) -> (Value, String) {
    let id = report["taskId"].as_str().unwrap().to_string();
    assert_eq!(report["got"]["taskId"], id.as_str(), "{report}");
    report["taskId"] = Value::Null;
    report["got"]["taskId"] = Value::Null;
    if let Some(plain) = report.as_object_mut().unwrap().remove("plain") {
        assert_eq!(plain, "# Research Report: plain", "{report}");
    }
    (report, id)
}

#[test]
fn tasks_pass_through_both_fronts_as_they_do_directly() {
    let direct = task_client(&[
        "stdio".into(),
        "node".into(),
        server_everything(),
        "stdio".into(),
    ]);
    let (direct, direct_id) = without_id(direct);
    assert_eq!(direct["result"], "# Research Report: rust", "{direct}");
    assert_eq!(
        direct["statuses"].as_array().unwrap().last().unwrap(),
        "completed"
    );
    assert_eq!(direct["listed"], true, "{direct}");
    assert_eq!(direct["cancelled"]["status"], "cancelled", "{direct}");
    assert_eq!(direct["unknown"], -32602, "{direct}");
    assert_eq!(direct["notifiedCompleted"], true, "{direct}");
    assert!(direct["got"]["ttl"].is_u64(), "{direct}");
    assert_eq!(direct["execution"]["taskSupport"], "required", "{direct}");
    assert!(direct["got"]["pollInterval"].is_u64(), "{direct}");
    assert!(!direct_id.contains(':'), "{direct_id}");

    let sb = Sandbox::with_everything();
    let mut stdio: Vec<String> = vec!["--prefix".into(), "ev__".into(), "--plain".into()];
    stdio.push("stdio".into());
    stdio.extend(sb.gateway_argv());
    let (through, id) = without_id(task_client(&stdio));
    assert_eq!(through, direct, "through the stdio gateway");
    assert!(
        id.starts_with("ev:"),
        "the task id is not named by connector: {id}"
    );

    let (url, token) = sb.http_endpoint();
    let http: Vec<String> = ["--prefix", "ev__", "--plain", "http", &url, &token]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (through, id) = without_id(task_client(&http));
    assert_eq!(through, direct, "through /mcp");
    assert!(id.starts_with("ev:"), "{id}");
}

#[test]
fn a_tool_that_runs_only_as_a_task_is_called_through_search_mode() {
    let sb = Sandbox::with_everything();
    let call = serde_json::json!({
        "name": "ev__simulate-research-query",
        "arguments": {"topic": "search"}
    });
    let mut args: Vec<String> = vec![
        "--timeout-ms".into(),
        "40000".into(),
        "--call".into(),
        "call_tool".into(),
        call.to_string(),
        "stdio".into(),
    ];
    args.extend(sb.gateway_argv());
    args.extend(["--tools".to_string(), "search".to_string()]);
    let report = common::typescript_report(args);
    let text = report["call"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("# Research Report: search"), "{report}");

    // `call_tool` itself as a task: the task of the call it names.
    let mut args: Vec<String> = vec!["--prefix".into(), "ev__".into(), "--search".into()];
    args.push("stdio".into());
    args.extend(sb.gateway_argv());
    args.extend(["--tools".to_string(), "search".to_string()]);
    let report = task_client(&args);
    assert!(
        report["taskId"].as_str().unwrap().starts_with("ev:"),
        "{report}"
    );
    assert_eq!(
        report["result"], "# Research Report: via search",
        "{report}"
    );
}

#[test]
fn a_servers_questions_asked_as_tasks_are_run_by_the_service() {
    // server-everything offers its async tools only to a client that runs
    // sampling and elicitation as tasks; the service declares that it
    // does, runs each question as a task of its own (asking the calling
    // client the ordinary way) and answers the server's polling.
    let sb = Sandbox::with_everything();
    let tools = sb.ok(&["tools", "ev"]);
    assert!(tools.contains("trigger-sampling-request-async"), "{tools}");
    let mut args: Vec<String> = vec!["--prefix".into(), "ev__".into(), "--async".into()];
    args.push("stdio".into());
    args.extend(sb.gateway_argv());
    let report = task_client(&args);
    assert_eq!(
        report["sampling"]["first"], "[COMPLETED] Async sampling completed!",
        "{report}"
    );
    assert_eq!(report["sampling"]["answered"], true, "{report}");
    assert_eq!(
        report["elicitation"]["first"], "[COMPLETED] User provided the requested information!",
        "{report}"
    );
    assert_eq!(report["elicitation"]["answered"], true, "{report}");
}
