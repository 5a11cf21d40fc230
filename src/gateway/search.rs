//! Tool search (lazy discovery): in `search` mode the gateway offers three
//! tools instead of every connector's — `find_tools` (ranked matches for a
//! query, with their input schemas), `call_tool` (calls one by name, routed
//! like a direct call) and `list_connectors` — so a client with fifteen
//! connectors does not carry hundreds of tool definitions in every request.
//!
//! Ranking is BM25 (the `bm25` crate: English stemming and stop words) over
//! each tool's name (split at `_`, `-`, `.` and case changes, and counted
//! twice), title, description and argument names, with a boost for a query
//! that names the tool exactly, a lift for the tools of a connector the
//! query names ("… in Notion"), and a short list of verb synonyms ("open an
//! issue" also looks for "create"). Ties are broken by name, so the same
//! query over the same tools always gives the same list.

use std::sync::Arc;

use bm25::{Document, Language, SearchEngineBuilder};
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Tool};
use rmcp::ErrorData as McpError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::names::QualifiedTool;

/// What the gateway offers as tools (`codebuddy.gateway.tools`,
/// `switchboard gateway --tools`, `/mcp?tools=`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ToolsMode {
    /// Every connected connector's tools (the default).
    #[default]
    All,
    /// `find_tools`, `call_tool` and `list_connectors` only.
    Search,
}

impl std::str::FromStr for ToolsMode {
    type Err = String;

    fn from_str(text: &str) -> Result<ToolsMode, String> {
        match text {
            "all" => Ok(ToolsMode::All),
            "search" => Ok(ToolsMode::Search),
            other => Err(format!("tools mode `{other}`: use `all` or `search`")),
        }
    }
}

/// The meta-tools' names.
pub const FIND_TOOLS: &str = "find_tools";
pub const CALL_TOOL: &str = "call_tool";
pub const LIST_CONNECTORS: &str = "list_connectors";

/// How many matches `find_tools` gives when not asked, and at most.
const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 25;

/// Added to the score of a tool the query names exactly.
const EXACT_BOOST: f32 = 1000.0;
/// Added when the query holds the tool's own name among its words.
const NAMED_BOOST: f32 = 100.0;
/// The factor for tools of a connector the query names ("… in Notion").
const CONNECTOR_FACTOR: f32 = 1.5;

fn object(value: Value) -> Arc<Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

/// The three tools a client sees in search mode.
pub fn meta_tools() -> Vec<Tool> {
    let find = Tool::new(
        FIND_TOOLS,
        "Search the tools of every connected connector (GitHub, Slack, databases, …) by what \
         you want to do. Returns the best matches with their names, one-line descriptions and \
         input schemas; call one with call_tool.",
        object(json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What you want to do, in words (or a tool's name)"},
                "connector": {"type": "string", "description": "Only this connector's tools"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "How many matches (default 5)"},
            },
            "required": ["query"],
        })),
    );
    let call = Tool::new(
        CALL_TOOL,
        "Call a tool found with find_tools, by its name, with arguments that match its input \
         schema.",
        object(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The tool's name as find_tools gave it"},
                "arguments": {"type": "object", "description": "The tool's arguments"},
            },
            "required": ["name"],
        })),
    );
    let list = Tool::new(
        LIST_CONNECTORS,
        "List the connected connectors and how many tools each offers.",
        object(json!({"type": "object", "properties": {}})),
    );
    vec![find, call, list]
}

/// `find_tools`' arguments.
#[derive(Debug, Deserialize)]
pub struct FindArgs {
    pub query: String,
    #[serde(default)]
    pub connector: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `call_tool`'s arguments.
#[derive(Debug, Deserialize)]
pub struct CallArgs {
    pub name: String,
    #[serde(default)]
    pub arguments: Option<Map<String, Value>>,
}

/// Words of a name: `create_issue`, `createIssue`, `github__create-issue`
/// → `create issue`, and `github create issue`.
fn words(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' || c == '/' {
            out.push(' ');
            previous_lower = false;
        } else {
            if c.is_uppercase() && previous_lower {
                out.push(' ');
            }
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Verbs people and agents use for the same action; a query's word brings
/// the rest of its group ("open an issue" also looks for "create").
const SYNONYMS: &[&[&str]] = &[
    &["create", "open", "new", "add", "make", "start"],
    &["send", "post", "write", "notify"],
    &["search", "find", "lookup", "look"],
    &["delete", "remove", "erase", "trash"],
    &["update", "edit", "change", "modify", "rename", "set"],
    &[
        "get", "fetch", "read", "show", "view", "retrieve", "current",
    ],
    &["list", "enumerate", "browse"],
    &["run", "execute", "exec"],
];

/// The query with each word's synonyms added (once each).
fn expand(query: &str) -> String {
    let lower = words(query);
    let mut expanded = lower.clone();
    let mut added: Vec<&str> = Vec::new();
    for word in lower.split_whitespace() {
        for group in SYNONYMS.iter().filter(|g| g.contains(&word)) {
            for synonym in group.iter().copied() {
                if synonym == word || added.contains(&synonym) {
                    continue;
                }
                added.push(synonym);
                expanded.push(' ');
                expanded.push_str(synonym);
            }
        }
    }
    expanded
}

/// What a tool is searched by.
fn document_text(tool: &QualifiedTool) -> String {
    let name = words(&tool.raw_name);
    let mut text = format!("{name} {name} {}", words(&tool.connector));
    if let Some(title) = &tool.tool.title {
        text.push(' ');
        text.push_str(title);
    }
    if let Some(description) = &tool.tool.description {
        text.push(' ');
        text.push_str(description);
    }
    if let Some(Value::Object(properties)) = tool.tool.input_schema.get("properties") {
        for argument in properties.keys() {
            text.push(' ');
            text.push_str(&words(argument));
        }
    }
    text
}

/// One match, as `find_tools` answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub name: String,
    pub connector: String,
    pub description: String,
    pub input_schema: Value,
}

/// The first line of a description, as a one-line summary.
fn one_line(description: Option<&str>) -> String {
    description
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("")
        .to_string()
}

/// The tools that best match `query`, best first (ties by name).
pub fn find(tools: &[QualifiedTool], args: &FindArgs) -> Vec<Found> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let candidates: Vec<&QualifiedTool> = tools
        .iter()
        .filter(|t| args.connector.as_ref().is_none_or(|c| &t.connector == c))
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let documents = candidates
        .iter()
        .enumerate()
        .map(|(i, tool)| Document::new(i, document_text(tool)));
    let engine = SearchEngineBuilder::<usize>::with_documents(Language::English, documents).build();
    let mut scores = vec![0.0f32; candidates.len()];
    for result in engine.search(&expand(&args.query), None) {
        if let Some(score) = scores.get_mut(result.document.id) {
            *score = result.score;
        }
    }
    let query = args.query.trim().to_lowercase();
    let query_words = format!(" {} ", words(&query));
    for (score, tool) in scores.iter_mut().zip(&candidates) {
        if query_words.contains(&format!(" {} ", words(&tool.connector))) {
            *score *= CONNECTOR_FACTOR;
        }
        if query == tool.name.to_lowercase() || query == tool.raw_name.to_lowercase() {
            *score += EXACT_BOOST;
        } else if query_words.contains(&format!(" {} ", words(&tool.raw_name))) {
            *score += NAMED_BOOST;
        }
    }
    let mut ranked: Vec<(f32, &QualifiedTool)> = scores
        .into_iter()
        .zip(candidates)
        .filter(|(score, _)| *score > 0.0)
        .collect();
    ranked.sort_by(|(a, ta), (b, tb)| b.total_cmp(a).then_with(|| ta.name.cmp(&tb.name)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, tool)| Found {
            name: tool.name.clone(),
            connector: tool.connector.clone(),
            description: one_line(tool.tool.description.as_deref()),
            input_schema: Value::Object(tool.tool.input_schema.as_ref().clone()),
        })
        .collect()
}

/// A search-mode meta-tool call: `find_tools` and `list_connectors`
/// answered here, over the session's `tools`; `call_tool` turned into
/// the call it names (`None`), as is any other name.
pub fn meta_call(
    tools: impl FnOnce() -> Vec<QualifiedTool>,
    request: &mut CallToolRequestParams,
) -> Option<Result<CallToolResponse, McpError>> {
    fn parse<T: serde::de::DeserializeOwned>(
        tool: &str,
        arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<T, McpError> {
        let value = serde_json::Value::Object(arguments.cloned().unwrap_or_default());
        serde_json::from_value(value).map_err(|e| {
            McpError::invalid_params(format!("{tool}: {e}; see its input schema"), None)
        })
    }
    match request.name.as_ref() {
        FIND_TOOLS => Some(
            parse::<FindArgs>(FIND_TOOLS, request.arguments.as_ref()).map(|args| {
                let found = find(&tools(), &args);
                json_result(serde_json::json!({ "tools": found })).into()
            }),
        ),
        LIST_CONNECTORS => {
            let mut counts = std::collections::BTreeMap::<String, usize>::new();
            for tool in tools() {
                *counts.entry(tool.connector).or_default() += 1;
            }
            let connectors: Vec<serde_json::Value> = counts
                .into_iter()
                .map(|(name, tools)| serde_json::json!({"name": name, "tools": tools}))
                .collect();
            let answer = serde_json::json!({ "connectors": connectors });
            Some(Ok(json_result(answer).into()))
        }
        CALL_TOOL => match parse::<CallArgs>(CALL_TOOL, request.arguments.as_ref()) {
            Ok(call) => {
                request.name = call.name.into();
                request.arguments = call.arguments;
                None
            }
            Err(err) => Some(Err(err)),
        },
        _ => None,
    }
}

/// A JSON answer as a tool result: the text for any client, and the same
/// as structured content for those that read it.
pub fn json_result(value: Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(connector: &str, name: &str, description: &str, args: &[&str]) -> QualifiedTool {
        let properties: Map<String, Value> = args
            .iter()
            .map(|a| (a.to_string(), json!({"type": "string"})))
            .collect();
        let schema = object(json!({"type": "object", "properties": properties}));
        QualifiedTool {
            name: format!("{connector}__{name}"),
            connector: connector.into(),
            raw_name: name.into(),
            tool: Tool::new(name.to_string(), description.to_string(), schema),
        }
    }

    fn tools() -> Vec<QualifiedTool> {
        vec![
            tool(
                "github",
                "create_issue",
                "Create a new issue in a GitHub repository",
                &["owner", "repo", "title", "body"],
            ),
            tool(
                "github",
                "list_issues",
                "List issues in a GitHub repository",
                &["owner", "repo", "state"],
            ),
            tool(
                "github",
                "create_pull_request",
                "Create a new pull request",
                &["owner", "repo", "head", "base"],
            ),
            tool(
                "slack",
                "post_message",
                "Post a message to a Slack channel",
                &["channel", "text"],
            ),
            tool("postgres", "query", "Run a read-only SQL query", &["sql"]),
        ]
    }

    fn names(found: &[Found]) -> Vec<&str> {
        found.iter().map(|f| f.name.as_str()).collect()
    }

    fn ask(query: &str) -> Vec<Found> {
        let args = FindArgs {
            query: query.into(),
            connector: None,
            limit: Some(3),
        };
        find(&tools(), &args)
    }

    #[test]
    fn words_of_names() {
        assert_eq!(words("create_issue"), "create issue");
        assert_eq!(words("createPullRequest"), "create pull request");
        assert_eq!(words("github__list-issues"), "github  list issues");
    }

    #[test]
    fn a_task_in_words_finds_its_tool_first() {
        assert_eq!(
            ask("open an issue in a repository")[0].name,
            "github__create_issue"
        );
        assert_eq!(
            ask("send a message to the team channel")[0].name,
            "slack__post_message"
        );
        assert_eq!(
            ask("run SQL against the database")[0].name,
            "postgres__query"
        );
        assert_eq!(ask("pull requests")[0].name, "github__create_pull_request");
    }

    #[test]
    fn an_exact_name_wins_and_results_are_stable() {
        assert_eq!(ask("list_issues")[0].name, "github__list_issues");
        assert_eq!(ask("github__create_issue")[0].name, "github__create_issue");
        let first = names(&ask("issue")).join(",");
        for _ in 0..5 {
            assert_eq!(names(&ask("issue")).join(","), first);
        }
    }

    #[test]
    fn a_connector_narrows_and_nothing_matching_is_empty() {
        let args = FindArgs {
            query: "create".into(),
            connector: Some("slack".into()),
            limit: None,
        };
        assert!(find(&tools(), &args).is_empty());
        let args = FindArgs {
            query: "message".into(),
            connector: Some("slack".into()),
            limit: None,
        };
        assert_eq!(names(&find(&tools(), &args)), ["slack__post_message"]);
        assert!(ask("zebra giraffe").is_empty());
    }
}
