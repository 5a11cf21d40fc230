//! Tool namespacing for the gateway: one pure function that turns the tools
//! of many connectors into one list of unique, client-safe names
//! (`<connector><separator><tool>`), keeping the raw names for the call.
//! `codebuddy.gateway.prefix` chooses when the connector is put in front:
//! `always` (the default), `on-collision` (only for a name two connectors
//! share), or `never` (a name two connectors share is offered by the first
//! only, and the other is refused with a warning naming both, as Docker's
//! MCP gateway does).
//!
//! Clients accept names matching `^[a-zA-Z0-9_-]{1,64}$` (the strictest
//! common rule, e.g. Claude's API), so other characters become `_`, and a
//! name past 64 characters is cut and given a stable hash suffix so two
//! long names never collide. A name that still collides is skipped and
//! logged rather than shadowing another tool.

use std::collections::{BTreeMap, BTreeSet};

use rmcp::model::Tool;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// When a tool's name gets its connector in front (`codebuddy.gateway.prefix`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prefix {
    /// Every tool is `<connector><separator><tool>`.
    #[default]
    Always,
    /// Tools keep their own names unless two connectors offer the same one.
    OnCollision,
    /// Tools keep their own names; a second connector's tool of a taken
    /// name is not offered.
    Never,
}

/// The longest tool name clients accept.
pub const MAX_TOOL_NAME: usize = 64;
/// Hex digits of the hash suffix on shortened names.
const HASH_DIGITS: usize = 8;

/// One tool as the gateway offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct QualifiedTool {
    /// The name clients see and call.
    pub name: String,
    /// The connector that serves it.
    pub connector: String,
    /// The backend's own name, used for the actual call.
    pub raw_name: String,
    /// The backend's tool description, unchanged.
    pub tool: Tool,
}

/// A tool `never` leaves out: its name is taken by another connector's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refused {
    /// The tool's name, as it would be offered.
    pub name: String,
    /// The connector whose tool is left out.
    pub connector: String,
    /// The connector that offers the name.
    pub taken_by: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the gateway does not offer `{}` of `{}`: `{}` offers a tool of the same name and \
             codebuddy.gateway.prefix is \"never\"; set it to \"on-collision\" or \"always\" to \
             offer both",
            self.name, self.connector, self.taken_by
        )
    }
}

/// Names `(connector, tool)` pairs in the order given, as `prefix` says;
/// with the tools `never` leaves out.
pub fn name_tools(
    tools: Vec<(String, Tool)>,
    separator: &str,
    prefix: Prefix,
) -> (Vec<QualifiedTool>, Vec<Refused>) {
    if prefix == Prefix::Always {
        return (qualify_tools(tools, separator), Vec::new());
    }
    let mut refused = Vec::new();
    // Which connectors offer each bare name.
    let mut owners: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (connector, tool) in &tools {
        let entry = owners.entry(bare(&tool.name)).or_default();
        if !entry.contains(&connector.as_str()) {
            entry.push(connector);
        }
    }
    let named: Vec<(String, String, Tool)> = tools
        .iter()
        .filter_map(|(connector, tool)| {
            let name = bare(&tool.name);
            let shared = &owners[&name];
            match prefix {
                _ if shared.len() == 1 => Some((name, connector.clone(), tool.clone())),
                Prefix::OnCollision => Some((
                    qualify(connector, &tool.name, separator),
                    connector.clone(),
                    tool.clone(),
                )),
                _ if shared[0] == connector => Some((name, connector.clone(), tool.clone())),
                _ => {
                    refused.push(Refused {
                        name,
                        connector: connector.clone(),
                        taken_by: shared[0].to_string(),
                    });
                    None
                }
            }
        })
        .collect();
    (unique(named), refused)
}

/// Qualifies `(connector, tool)` pairs in the order given.
pub fn qualify_tools(tools: Vec<(String, Tool)>, separator: &str) -> Vec<QualifiedTool> {
    unique(
        tools
            .into_iter()
            .map(|(connector, tool)| {
                let name = qualify(&connector, &tool.name, separator);
                (name, connector, tool)
            })
            .collect(),
    )
}

/// The named tools, a name that is already taken skipped (and logged).
fn unique(named: Vec<(String, String, Tool)>) -> Vec<QualifiedTool> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(named.len());
    for (name, connector, tool) in named {
        let raw_name = tool.name.to_string();
        if !seen.insert(name.clone()) {
            tracing::warn!(
                connector = %connector,
                tool = %raw_name,
                qualified = %name,
                "tool name collides with another after qualification; skipped"
            );
            continue;
        }
        out.push(QualifiedTool {
            name,
            connector,
            raw_name,
            tool,
        });
    }
    out
}

/// Names a server's task id by its connector (`CONNECTOR:ID`), in place,
/// so two servers' ids never collide (`gateway/tasks.rs`).
pub fn qualify_task(task: &mut serde_json::Value, connector: &str) {
    if let Some(id) = task.get_mut("taskId") {
        if let Some(raw) = id.as_str() {
            *id = serde_json::Value::String(format!("{connector}:{raw}"));
        }
    }
}

/// The qualified name of one tool.
pub fn qualify(connector: &str, tool: &str, separator: &str) -> String {
    let full = format!(
        "{}{}{}",
        sanitize(connector),
        sanitize(separator),
        sanitize(tool)
    );
    fit(full, &format!("{connector}\u{0}{separator}\u{0}{tool}"))
}

/// A tool's own name, made client-safe the same way.
fn bare(tool: &str) -> String {
    fit(sanitize(tool), tool)
}

/// `name` when short enough, else cut with a hash of `original` (the
/// unsanitized parts, so names that only differ in characters we replaced
/// still get different suffixes).
fn fit(full: String, original: &str) -> String {
    if full.len() <= MAX_TOOL_NAME {
        return full;
    }
    let digest = Sha256::digest(original.as_bytes());
    let hex: String = digest
        .iter()
        .take(HASH_DIGITS / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let keep = MAX_TOOL_NAME - HASH_DIGITS - 1;
    format!("{}_{hex}", &full[..keep])
}

/// Whether `name` is what [`qualify`] makes of these parts, without
/// building it (the gateway checks this for every tool on every call).
pub fn is_qualified(name: &str, connector: &str, tool: &str, separator: &str) -> bool {
    let parts = || {
        connector
            .chars()
            .chain(separator.chars())
            .chain(tool.chars())
    };
    if parts().count() > MAX_TOOL_NAME {
        return name.len() == MAX_TOOL_NAME && qualify(connector, tool, separator) == name;
    }
    name.bytes().map(char::from).eq(parts().map(sanitize_char))
}

fn sanitize(part: &str) -> String {
    part.chars().map(sanitize_char).collect()
}

fn sanitize_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
        c
    } else {
        '_'
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tool(name: &str) -> Tool {
        Tool::new(name.to_string(), "d", Arc::new(Default::default()))
    }

    #[test]
    fn names_are_connector_separator_tool() {
        assert_eq!(
            qualify("github", "create_issue", "__"),
            "github__create_issue"
        );
        assert_eq!(
            qualify("my.server", "get/thing", "__"),
            "my_server__get_thing"
        );
        assert_eq!(qualify("a", "b", "."), "a_b");
    }

    #[test]
    fn long_names_are_cut_with_a_stable_distinct_suffix() {
        let long = "x".repeat(80);
        let a = qualify("conn", &format!("{long}a"), "__");
        let b = qualify("conn", &format!("{long}b"), "__");
        assert_eq!(a.len(), MAX_TOOL_NAME);
        assert_eq!(b.len(), MAX_TOOL_NAME);
        assert_ne!(a, b);
        assert_eq!(a, qualify("conn", &format!("{long}a"), "__"), "stable");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    }

    #[test]
    fn is_qualified_agrees_with_qualify() {
        let long = "x".repeat(80);
        let cases = [
            ("github", "create_issue", "__"),
            ("my.server", "get/thing", "__"),
            ("a", "b", "."),
            ("conn", long.as_str(), "__"),
            ("é", "ü", "__"),
        ];
        for (connector, tool, separator) in cases {
            let name = qualify(connector, tool, separator);
            assert!(is_qualified(&name, connector, tool, separator), "{name}");
            assert!(!is_qualified(
                &format!("{name}x"),
                connector,
                tool,
                separator
            ));
            assert!(!is_qualified(&name[1..], connector, tool, separator));
        }
        assert!(!is_qualified(
            "github_create_issue",
            "github",
            "create_issue",
            "__"
        ));
        assert!(!is_qualified("a__c", "a", "b", "__"));
    }

    #[test]
    fn collisions_are_skipped_and_raw_names_kept() {
        let out = qualify_tools(
            vec![
                ("a".into(), tool("get.x")),
                ("a".into(), tool("get_x")),
                ("b".into(), tool("get.x")),
            ],
            "__",
        );
        let names: Vec<(&str, &str, &str)> = out
            .iter()
            .map(|q| (q.name.as_str(), q.connector.as_str(), q.raw_name.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![("a__get_x", "a", "get.x"), ("b__get_x", "b", "get.x")]
        );
    }

    #[test]
    fn prefixes_only_where_the_mode_says() {
        let tools = || {
            vec![
                ("a".to_string(), tool("echo")),
                ("a".to_string(), tool("only_a")),
                ("b".to_string(), tool("echo")),
                ("b".to_string(), tool("only.b")),
            ]
        };
        let names = |prefix| {
            name_tools(tools(), "__", prefix)
                .0
                .into_iter()
                .map(|q| (q.name, q.connector, q.raw_name))
                .collect::<Vec<_>>()
        };
        let row = |n: &str, c: &str, r: &str| (n.to_string(), c.to_string(), r.to_string());
        assert_eq!(
            names(Prefix::OnCollision),
            vec![
                row("a__echo", "a", "echo"),
                row("only_a", "a", "only_a"),
                row("b__echo", "b", "echo"),
                row("only_b", "b", "only.b"),
            ]
        );
        assert_eq!(
            names(Prefix::Never),
            vec![
                row("echo", "a", "echo"),
                row("only_a", "a", "only_a"),
                row("only_b", "b", "only.b"),
            ]
        );
        assert_eq!(names(Prefix::Always).len(), 4);
        let (_, refused) = name_tools(tools(), "__", Prefix::Never);
        assert_eq!(
            refused,
            vec![Refused {
                name: "echo".into(),
                connector: "b".into(),
                taken_by: "a".into()
            }]
        );
    }
}
