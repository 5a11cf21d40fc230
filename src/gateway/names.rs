//! Tool namespacing for the gateway: one pure function that turns the tools
//! of many connectors into one list of unique, client-safe names
//! (`<connector><separator><tool>`), keeping the raw names for the call.
//!
//! Clients accept names matching `^[a-zA-Z0-9_-]{1,64}$` (the strictest
//! common rule, e.g. Claude's API), so other characters become `_`, and a
//! name past 64 characters is cut and given a stable hash suffix so two
//! long names never collide. A name that still collides is skipped and
//! logged rather than shadowing another tool.

use std::collections::BTreeSet;

use rmcp::model::Tool;
use sha2::{Digest, Sha256};

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

/// Qualifies `(connector, tool)` pairs in the order given.
pub fn qualify_tools(tools: Vec<(String, Tool)>, separator: &str) -> Vec<QualifiedTool> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(tools.len());
    for (connector, tool) in tools {
        let raw_name = tool.name.to_string();
        let name = qualify(&connector, &raw_name, separator);
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

/// The qualified name of one tool.
pub fn qualify(connector: &str, tool: &str, separator: &str) -> String {
    let full = format!(
        "{}{}{}",
        sanitize(connector),
        sanitize(separator),
        sanitize(tool)
    );
    if full.len() <= MAX_TOOL_NAME {
        return full;
    }
    // Hash the unsanitized parts, so names that only differ in characters
    // we replaced still get different suffixes.
    let digest = Sha256::digest(format!("{connector}\u{0}{separator}\u{0}{tool}").as_bytes());
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
}
