//! The tool search against every tool at once (issue "Many connectors, one
//! agent"), on the real tool lists of `bench/fixtures/tool-lists.json` (14
//! MCP servers and skills, captured by `bench/capture-tool-lists.py`):
//!
//! - the size of `tools/list` with all of them connected, in bytes and in
//!   tokens (OpenAI's o200k_base, via `tiktoken-rs`), against the search
//!   mode's three tools;
//! - recall@1 and recall@5 of `find_tools` on the 48 tasks of
//!   `bench/fixtures/search-tasks.json`, with every miss printed;
//! - how long one `find_tools` ranking takes (median of the tasks, each
//!   run 20 times).
//!
//! `cargo bench --bench tool_search`; the figures go to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmcp::model::{ListToolsResult, Tool};
use serde::Deserialize;
use switchboard::gateway::names::{name_tools, Prefix};
use switchboard::gateway::search::{find, meta_tools, FindArgs};

#[derive(Deserialize)]
struct Task {
    task: String,
    tool: String,
}

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> anyhow::Result<T> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench/fixtures")
        .join(name);
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// `tools/list`'s result as the gateway sends it: (bytes, tokens).
fn size(tools: Vec<Tool>, bpe: &tiktoken_rs::CoreBPE) -> anyhow::Result<(usize, usize)> {
    let json = serde_json::to_string(&ListToolsResult::with_all_items(tools))?;
    Ok((json.len(), bpe.encode_ordinary(&json).len()))
}

fn main() -> anyhow::Result<()> {
    let lists: BTreeMap<String, Vec<Tool>> = fixture("tool-lists.json")?;
    let connectors = lists.len();
    let pairs = lists
        .into_iter()
        .flat_map(|(connector, tools)| tools.into_iter().map(move |t| (connector.clone(), t)))
        .collect();
    let (tools, _) = name_tools(pairs, "__", Prefix::Always);
    let tasks: Vec<Task> = fixture("search-tasks.json")?;
    let bpe = tiktoken_rs::o200k_base()?;

    let all: Vec<Tool> = tools
        .iter()
        .map(|q| {
            let mut tool = q.tool.clone();
            tool.name = q.name.clone().into();
            tool
        })
        .collect();
    let (all_bytes, all_tokens) = size(all, &bpe)?;
    let (search_bytes, search_tokens) = size(meta_tools(), &bpe)?;
    println!("{connectors} connectors, {} tools", tools.len());
    println!("tools/list, every tool : {all_bytes:>7} bytes {all_tokens:>6} tokens");
    println!("tools/list, search mode: {search_bytes:>7} bytes {search_tokens:>6} tokens");
    println!(
        "fewer tokens: {:.1} %",
        100.0 * (1.0 - search_tokens as f64 / all_tokens as f64)
    );

    let mut first = 0;
    let mut top5 = 0;
    let mut times: Vec<Duration> = Vec::new();
    for task in &tasks {
        let args = FindArgs {
            query: task.task.clone(),
            connector: None,
            limit: Some(5),
        };
        let mut found = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            found = find(&tools, &args);
            times.push(started.elapsed());
        }
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        match names.iter().position(|n| *n == task.tool) {
            Some(0) => {
                first += 1;
                top5 += 1;
            }
            Some(_) => top5 += 1,
            None => println!("miss: {:?} → {names:?} (wanted {})", task.task, task.tool),
        }
    }
    times.sort();
    let n = tasks.len() as f64;
    println!(
        "recall@1 {:.1} %, recall@5 {:.1} % ({} tasks)",
        100.0 * first as f64 / n,
        100.0 * top5 as f64 / n,
        tasks.len()
    );
    println!(
        "find_tools ranking over {} tools: median {:.2} ms, p99 {:.2} ms",
        tools.len(),
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() * 99 / 100].as_secs_f64() * 1000.0
    );
    Ok(())
}
