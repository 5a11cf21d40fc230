//! The gateway's entry in each client's config: which keys, in what order, and which keys of
//! an existing entry an install may replace. The shapes are those of the table in the parent
//! module's documentation.

use super::{GatewayEndpoint, McpClient};

impl McpClient {
    /// The top-level key holding the servers in the JSON clients' files.
    pub(super) fn servers_key(self) -> &'static str {
        match self {
            McpClient::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// Keys of an entry that say how to reach the server: replaced (or removed) on install,
    /// while any other key the user added is kept.
    pub(super) fn transport_keys(self) -> &'static [&'static str] {
        match self {
            McpClient::Codex => &[
                "command",
                "args",
                "env",
                "env_vars",
                "cwd",
                "url",
                "bearer_token",
                "bearer_token_env_var",
                "http_headers",
                "env_http_headers",
            ],
            _ => &[
                "type", "command", "args", "env", "envFile", "cwd", "url", "headers",
            ],
        }
    }

    /// The gateway's entry for this client, keys in the order the client's docs show them.
    pub(super) fn entry(self, endpoint: &GatewayEndpoint) -> Vec<(String, Node)> {
        let mut fields: Vec<(&str, Node)> = Vec::new();
        match endpoint {
            GatewayEndpoint::Stdio { command, args } => {
                if matches!(self, McpClient::ClaudeCode | McpClient::Vscode) {
                    fields.push(("type", Node::text("stdio")));
                }
                fields.push(("command", Node::text(command)));
                fields.push(("args", Node::List(args.clone())));
            }
            GatewayEndpoint::Http {
                url,
                bearer_token_env_var,
            } => match self {
                McpClient::Codex => {
                    fields.push(("url", Node::text(url)));
                    if let Some(var) = bearer_token_env_var {
                        fields.push(("bearer_token_env_var", Node::text(var)));
                    }
                }
                McpClient::ClaudeDesktop => {
                    // Its config file only starts programs: bridge with mcp-remote, which
                    // expands `${VAR}` in its arguments from its own environment.
                    let mut args = vec!["-y".to_string(), "mcp-remote".to_string(), url.clone()];
                    if let Some(var) = bearer_token_env_var {
                        args.push("--header".into());
                        args.push(format!("Authorization:Bearer ${{{var}}}"));
                    }
                    fields.push(("command", Node::text("npx")));
                    fields.push(("args", Node::List(args)));
                }
                _ => {
                    if self != McpClient::Cursor {
                        fields.push(("type", Node::text("http")));
                    }
                    fields.push(("url", Node::text(url)));
                    if let Some(var) = bearer_token_env_var {
                        // Claude Code expands `${VAR}`; VS Code and Cursor `${env:VAR}`.
                        let reference = if self == McpClient::ClaudeCode {
                            format!("${{{var}}}")
                        } else {
                            format!("${{env:{var}}}")
                        };
                        fields.push((
                            "headers",
                            Node::Object(vec![(
                                "Authorization".into(),
                                Node::text(format!("Bearer {reference}")),
                            )]),
                        ));
                    }
                }
            },
        }
        fields
            .into_iter()
            .map(|(key, node)| (key.to_string(), node))
            .collect()
    }
}

/// A value written into a client's config, with object keys kept in the order given (the
/// JSON and TOML libraries' own maps would sort them).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Text(String),
    List(Vec<String>),
    Object(Vec<(String, Node)>),
}

impl Node {
    pub(super) fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    /// The same value as plain JSON, for comparing with what a file holds.
    pub(super) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(text) => Value::String(text.clone()),
            Node::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, node)| (key.clone(), node.to_json()))
                    .collect(),
            ),
        }
    }
}

impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Node::Text(text) => serializer.serialize_str(text),
            Node::List(items) => items.serialize(serializer),
            Node::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, node) in fields {
                    map.serialize_entry(key, node)?;
                }
                map.end()
            }
        }
    }
}
