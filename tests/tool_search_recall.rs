//! The tool search's quality on real tool lists (issue "Many connectors,
//! one agent"): 48 tasks written in words against the tool lists of 14
//! real MCP servers and skills (`bench/fixtures/`, captured by
//! `bench/capture-tool-lists.py`), each with the tool that does it. Not a
//! timing: the ranking is deterministic, so recall is asserted; the
//! figures themselves are in BENCHMARKS.md (`cargo bench --bench
//! tool_search`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use rmcp::model::Tool;
use serde::Deserialize;
use switchboard::gateway::names::{name_tools, Prefix};
use switchboard::gateway::search::{find, FindArgs};

#[derive(Deserialize)]
struct Task {
    task: String,
    tool: String,
}

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn recall_at_5_is_at_least_90_percent_and_each_miss_is_named() {
    let lists: BTreeMap<String, Vec<Tool>> = fixture("tool-lists.json");
    let pairs = lists
        .into_iter()
        .flat_map(|(connector, tools)| tools.into_iter().map(move |t| (connector.clone(), t)))
        .collect();
    let (tools, _) = name_tools(pairs, "__", Prefix::Always);
    assert!(tools.len() > 150, "{} tools", tools.len());
    let tasks: Vec<Task> = fixture("search-tasks.json");
    assert!(tasks.len() >= 40);
    let mut misses = Vec::new();
    for task in &tasks {
        let args = FindArgs {
            query: task.task.clone(),
            connector: None,
            limit: Some(5),
        };
        let found: Vec<String> = find(&tools, &args).into_iter().map(|f| f.name).collect();
        if !found.contains(&task.tool) {
            misses.push(format!("{:?} → {found:?}, wanted {}", task.task, task.tool));
        }
    }
    let recall = (tasks.len() - misses.len()) as f64 / tasks.len() as f64;
    assert!(
        recall >= 0.9,
        "recall@5 {recall:.2}; misses:\n{}",
        misses.join("\n")
    );
}
