//! The JSON clients' files (Claude Desktop, Claude Code, VS Code, Cursor): reading the servers
//! object and writing one entry through jsonc-parser's concrete syntax tree, which replaces
//! only the nodes we touch.
//!
//! This follows `settings.rs`'s editor (same parse options, same trailing-comma judgement) but
//! stands alone: that editor comes bundled with the settings store's sidecar lock file, and
//! unlike our settings a client's file must never have a wrong-typed value silently replaced.
//!
//! All four files are read with comments and trailing commas allowed. VS Code's `mcp.json` is
//! JSONC by design; the others are plain JSON to their clients, but refusing a comment there
//! would not help the user, and an edit never adds one.

use std::path::Path;

use crate::jsonc::{find_prop, node_to_value, parse_options, trailing_comma_mode, walk};
use jsonc_parser::cst::{CstContainerNode, CstInputValue, CstNode, CstRootNode, TrailingCommaMode};
use serde_json::Value;

use super::{ClientConfigError, Node};

const BOM: char = '\u{feff}';

/// The snippet: `{ "<key>": { "<name>": entry } }`, pretty-printed.
pub(super) fn snippet(key: &str, name: &str, entry: &[(String, Node)]) -> String {
    let doc = Node::Object(vec![(
        key.to_string(),
        Node::Object(vec![(name.to_string(), Node::Object(entry.to_vec()))]),
    )]);
    // Serialising strings and ordered maps cannot fail; an empty string would only surface as
    // a test failure, never as a panic.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The new text of the file with `<key>.<name>` set to `entry`: in an existing entry only the
/// keys in `managed` are replaced or removed; a missing file starts as `{}`.
pub(super) fn install(
    path: &Path,
    text: Option<&str>,
    key: &str,
    name: &str,
    entry: &[(String, Node)],
    managed: &[&str],
) -> Result<String, ClientConfigError> {
    let mut doc = Doc::parse(path, text.unwrap_or(""))?;
    match doc.get(&[key]) {
        None | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(ClientConfigError::WrongShape {
                path: path.to_path_buf(),
                message: format!("`{key}` must be an object of servers"),
            })
        }
    }
    if let Some(Value::Object(_)) = doc.get(&[key, name]) {
        for (field, node) in entry {
            doc.set(&[key, name, field], node);
        }
        for field in managed {
            if !entry.iter().any(|(set, _)| set == field) {
                doc.remove(&[key, name, field]);
            }
        }
    } else {
        doc.set(&[key, name], &Node::Object(entry.to_vec()));
    }
    Ok(doc.text())
}

/// The entries of the servers object under `key`, in file order (an absent key is no
/// servers). VS Code's user `settings.json` keeps them under `mcp.servers`, which is read too.
pub(super) fn servers(
    path: &Path,
    text: &str,
    key: &str,
) -> Result<Vec<(String, Value)>, ClientConfigError> {
    let doc = Doc::parse(path, text)?;
    let Some(root) = doc.root.object_value() else {
        return Ok(Vec::new());
    };
    let object = match find_prop(&root, key) {
        Some(prop) => prop.value(),
        None if key == "servers" => find_prop(&root, "mcp")
            .and_then(|mcp| mcp.object_value())
            .and_then(|mcp| find_prop(&mcp, "servers"))
            .and_then(|prop| prop.value()),
        None => None,
    };
    let Some(object) = object else {
        return Ok(Vec::new());
    };
    let CstNode::Container(CstContainerNode::Object(object)) = object else {
        return Err(ClientConfigError::WrongShape {
            path: path.to_path_buf(),
            message: format!("`{key}` must be an object of servers"),
        });
    };
    // Properties in order; a duplicated name keeps its last value, as JSON parsers do.
    let mut entries: Vec<(String, Value)> = Vec::new();
    for prop in object.properties() {
        let (Some(name), Some(value)) = (prop.decoded_name(), prop.value()) else {
            continue;
        };
        let Some(value) = node_to_value(&value) else {
            continue;
        };
        entries.retain(|(seen, _)| *seen != name);
        entries.push((name, value));
    }
    Ok(entries)
}

/// A parsed file: the tree, and what the tree cannot hold (a byte order mark).
struct Doc {
    bom: bool,
    root: CstRootNode,
    /// The file's own trailing-comma habit, applied to values we insert.
    commas: TrailingCommaMode,
}

impl Doc {
    fn parse(path: &Path, text: &str) -> Result<Self, ClientConfigError> {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(body) => (true, body),
            None => (false, text),
        };
        let root = CstRootNode::parse(body, &parse_options()).map_err(|err| {
            ClientConfigError::Malformed {
                path: path.to_path_buf(),
                format: "JSON",
                line: err.line_display(),
                column: err.column_display(),
                message: err.kind().to_string(),
            }
        })?;
        // A missing value (empty or comment-only file) is fine: it edits as `{}`.
        if root.value().is_some() && root.object_value().is_none() {
            return Err(ClientConfigError::WrongShape {
                path: path.to_path_buf(),
                message: "its top level must be a JSON object ({ ... })".into(),
            });
        }
        let commas = trailing_comma_mode(&root);
        Ok(Self { bom, root, commas })
    }

    fn text(&self) -> String {
        let body = self.root.to_string();
        if self.bom {
            format!("{BOM}{body}")
        } else {
            body
        }
    }

    /// Value at `path` of nested object keys.
    fn get(&self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let object = walk(self.root.object_value()?, parents)?;
        node_to_value(&find_prop(&object, last)?.value()?)
    }

    /// Sets the value at `path`, creating missing objects on the way. Only the addressed
    /// property is touched, and not even that when it already holds an equal value. Callers
    /// make sure no value on the way is a non-object.
    fn set(&mut self, path: &[&str], value: &Node) {
        if path.is_empty() || self.get(path) == Some(value.to_json()) {
            return;
        }
        crate::jsonc::set_path(&self.root, path, to_input(value), self.commas);
    }

    /// Removes every property named by the last key of `path`.
    fn remove(&mut self, path: &[&str]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let Some(object) = self.root.object_value().and_then(|r| walk(r, parents)) else {
            return;
        };
        for prop in object.properties() {
            if prop.decoded_name().as_deref() == Some(*last) {
                prop.remove();
            }
        }
    }
}

fn to_input(node: &Node) -> CstInputValue {
    match node {
        Node::Text(text) => CstInputValue::String(text.clone()),
        Node::List(items) => CstInputValue::Array(
            items
                .iter()
                .map(|item| CstInputValue::String(item.clone()))
                .collect(),
        ),
        Node::Object(fields) => CstInputValue::Object(
            fields
                .iter()
                .map(|(key, node)| (key.clone(), to_input(node)))
                .collect(),
        ),
    }
}
