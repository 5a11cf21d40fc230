//! Codex's `config.toml`: `[mcp_servers.NAME]` tables, read and written through toml_edit,
//! which keeps comments, key order and the layout of every table we do not touch.
//!
//! A new entry becomes a standard `[mcp_servers.NAME]` table, which toml_edit places right
//! after the other `mcp_servers` tables (or at the end); `mcp_servers` written as an inline
//! table or with dotted keys is edited in that same style.

use std::path::Path;

use serde_json::Value as Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::{line_column, ClientConfigError, Node};

/// The table holding the servers.
const SERVERS_KEY: &str = "mcp_servers";

/// The snippet: a `[mcp_servers.<name>]` table.
pub(super) fn snippet(name: &str, entry: &[(String, Node)]) -> String {
    let mut doc = DocumentMut::new();
    let mut servers = Table::new();
    // Implicit, so that only `[mcp_servers.<name>]` is printed, not an empty `[mcp_servers]`.
    servers.set_implicit(true);
    servers.insert(name, Item::Table(new_table(entry)));
    doc.insert(SERVERS_KEY, Item::Table(servers));
    doc.to_string()
}

/// The new text of the file with `[mcp_servers.<name>]` set to `entry`; in an existing entry
/// only the keys in `managed` are replaced or removed.
pub(super) fn install(
    path: &Path,
    text: Option<&str>,
    name: &str,
    entry: &[(String, Node)],
    managed: &[&str],
) -> Result<String, ClientConfigError> {
    let mut doc = parse(path, text.unwrap_or(""))?;
    let wrong_shape = |message: String| ClientConfigError::WrongShape {
        path: path.to_path_buf(),
        message,
    };
    let servers = doc.entry(SERVERS_KEY).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    // `mcp_servers = { ... }`: a new entry must go inside the braces.
    let inline = servers.is_inline_table();
    let Some(servers) = servers.as_table_like_mut() else {
        return Err(wrong_shape(format!("`{SERVERS_KEY}` must be a table")));
    };
    match servers.get_mut(name).and_then(Item::as_table_like_mut) {
        Some(existing) => {
            for (key, node) in entry {
                if existing.get(key).and_then(item_to_json) != Some(node.to_json()) {
                    existing.insert(key, Item::Value(to_value(node)));
                }
            }
            for key in managed {
                if !entry.iter().any(|(set, _)| set == key) {
                    existing.remove(key);
                }
            }
        }
        None => {
            let table = new_table(entry);
            let item = if inline {
                Item::Value(Value::InlineTable(table.into_inline_table()))
            } else {
                Item::Table(table)
            };
            servers.insert(name, item);
        }
    }
    Ok(doc.to_string())
}

/// The entries of `[mcp_servers]` in file order, as JSON values for the shared interpreter.
pub(super) fn servers(path: &Path, text: &str) -> Result<Vec<(String, Json)>, ClientConfigError> {
    let doc = parse(path, text)?;
    let Some(servers) = doc.get(SERVERS_KEY) else {
        return Ok(Vec::new());
    };
    let Some(servers) = servers.as_table_like() else {
        return Err(ClientConfigError::WrongShape {
            path: path.to_path_buf(),
            message: format!("`{SERVERS_KEY}` must be a table"),
        });
    };
    Ok(servers
        .iter()
        .map(|(name, item)| (name.to_string(), item_to_json(item).unwrap_or(Json::Null)))
        .collect())
}

fn parse(path: &Path, text: &str) -> Result<DocumentMut, ClientConfigError> {
    text.parse::<DocumentMut>().map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        ClientConfigError::Malformed {
            path: path.to_path_buf(),
            format: "TOML",
            line,
            column,
            // The first line is the summary; the rest repeats the file around the error.
            message: err
                .message()
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
        }
    })
}

fn new_table(entry: &[(String, Node)]) -> Table {
    let mut table = Table::new();
    for (key, node) in entry {
        table.insert(key, Item::Value(to_value(node)));
    }
    table
}

fn to_value(node: &Node) -> Value {
    match node {
        Node::Text(text) => Value::from(text.as_str()),
        Node::List(items) => Value::Array(items.iter().map(String::as_str).collect::<Array>()),
        Node::Object(fields) => {
            let mut table = InlineTable::new();
            for (key, node) in fields {
                table.insert(key, to_value(node));
            }
            Value::InlineTable(table)
        }
    }
}

/// A TOML item as JSON (dates as their text); `None` for an empty item.
fn item_to_json(item: &Item) -> Option<Json> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(value_to_json(value)),
        Item::Table(table) => Some(Json::Object(
            table
                .iter()
                .filter_map(|(key, item)| Some((key.to_string(), item_to_json(item)?)))
                .collect(),
        )),
        Item::ArrayOfTables(tables) => Some(Json::Array(
            tables
                .iter()
                .filter_map(|table| item_to_json(&Item::Table(table.clone())))
                .collect(),
        )),
    }
}

fn value_to_json(value: &Value) -> Json {
    match value {
        Value::String(text) => Json::String(text.value().clone()),
        Value::Integer(n) => Json::from(*n.value()),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f.value()).map_or(Json::Null, Json::Number)
        }
        Value::Boolean(b) => Json::Bool(*b.value()),
        Value::Datetime(d) => Json::String(d.value().to_string()),
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::InlineTable(table) => Json::Object(
            table
                .iter()
                .map(|(key, value)| (key.to_string(), value_to_json(value)))
                .collect(),
        ),
    }
}
