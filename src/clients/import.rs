//! Turning a client's server entries into [`ImportedServer`]s: which transport, which values
//! may be stored as they are, which are secrets or references that must never reach our
//! settings in clear, and which entries cannot be imported at all (and why).
//!
//! References are recognised in every client's syntax: `${env:NAME}` and `${input:ID}` (VS
//! Code, Cursor), `${NAME}` and `${NAME:-default}` (Claude Code). In VS Code and Cursor a bare
//! `${name}` is one of their predefined variables (`${workspaceFolder}`, `${userHome}`), which
//! only they can fill in. Claude Desktop and Codex expand nothing, but a `${NAME}` written there
//! can only mean that variable, and reading it so at worst passes a variable through.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{ImportedServer, McpClient, SecretSource, DEFAULT_SERVER_NAME};
use crate::catalog::RemoteTransport;
use crate::credentials::{looks_secret_name, looks_secret_value, split_url};
use crate::secrets::Secret;

/// Longest connector name, matching the catalog's limit.
const MAX_NAME_LEN: usize = 64;

/// A connector name made from a client's server name: lowercased, every character outside
/// `[a-z0-9_-]` turned into `-`, runs of `-` collapsed, leading and trailing `-`/`_` dropped,
/// cut to 64 characters; `server` if nothing is left. `@scope/GitHub Server` → `scope-github-server`.
pub fn sanitize_name(original: &str) -> String {
    let mut name = String::with_capacity(original.len());
    for c in original.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let mut name = name.trim_matches(['-', '_']).to_string();
    name.truncate(MAX_NAME_LEN);
    let name = name.trim_end_matches(['-', '_']);
    if name.is_empty() {
        "server".to_string()
    } else {
        name.to_string()
    }
}

/// Interprets every entry; a name already taken by an earlier entry makes the later one
/// skipped rather than silently renamed.
pub(super) fn interpret_all(client: McpClient, raw: Vec<(String, Value)>) -> Vec<ImportedServer> {
    let mut servers: Vec<ImportedServer> = Vec::with_capacity(raw.len());
    for (original, entry) in raw {
        let mut server = interpret(client, &original, &entry);
        if server.skipped.is_none() {
            if let Some(first) = servers
                .iter()
                .find(|s| s.skipped.is_none() && s.name == server.name)
            {
                server.skipped = Some(format!(
                    "its name becomes `{}`, like `{}` before it; rename one of them in the client's config and import again",
                    server.name, first.original_name
                ));
            }
        }
        servers.push(server);
    }
    servers
}

fn interpret(client: McpClient, original: &str, entry: &Value) -> ImportedServer {
    let mut server = ImportedServer {
        name: sanitize_name(original),
        original_name: original.to_string(),
        ..ImportedServer::default()
    };
    if let Err(reason) = fill(client, &mut server, entry) {
        server.skipped = Some(reason);
    }
    // Also for a skipped entry, so the names always match their sources.
    server.secret_env = server.secret_env_sources.keys().cloned().collect();
    server.secret_headers = server.secret_header_sources.keys().cloned().collect();
    server.secret_query = server.secret_query_sources.keys().cloned().collect();
    server
}

/// Fills `server` from `entry`; `Err` is the reason it cannot be imported.
fn fill(client: McpClient, server: &mut ImportedServer, entry: &Value) -> Result<(), String> {
    let Value::Object(entry) = entry else {
        return Err("its entry is not an object".into());
    };
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    server.command = text("command");
    server.url = text("url");
    let kind = text("type").map(|kind| kind.to_ascii_lowercase());
    if client == McpClient::Codex {
        // Codex has no `type`: a `command` is stdio, a `url` Streamable HTTP.
        if server.command.is_none() && server.url.is_some() {
            server.transport = Some(RemoteTransport::StreamableHttp);
        }
    } else {
        match kind.as_deref() {
            None | Some("stdio") => {}
            Some("http" | "streamable-http" | "streamable_http" | "streamablehttp") => {
                server.transport = Some(RemoteTransport::StreamableHttp)
            }
            Some("sse") => server.transport = Some(RemoteTransport::Sse),
            Some(other) => return Err(format!("its type `{other}` is not supported")),
        }
    }
    server.args = strings(entry.get("args")).ok_or("its `args` is not a list of strings")?;
    if is_gateway(server) {
        return Err(
            "it is Switchboard's own gateway; importing it would make the gateway call itself"
                .into(),
        );
    }
    let remote = server.transport.is_some() || kind.is_none() && server.command.is_none();
    if remote {
        fill_remote(client, server)?;
    } else {
        fill_command(client, server)?;
    }
    check_one_authorization(server, entry, client)?;
    for key in ["cwd", "envFile"] {
        if let Some(value) = entry.get(key) {
            return Err(format!(
                "it sets `{key}` ({value}), which a connector cannot: add the server by hand with `switchboard add`"
            ));
        }
    }
    let env = string_map(entry.get("env")).ok_or("its `env` is not a map of strings")?;
    for (key, value) in env {
        classify(
            client,
            &key,
            value,
            false,
            &mut server.env,
            &mut server.secret_env_sources,
        )?;
    }
    let header_key = if client == McpClient::Codex {
        "http_headers"
    } else {
        "headers"
    };
    let headers =
        string_map(entry.get(header_key)).ok_or("its headers are not a map of strings")?;
    for (key, value) in headers {
        classify(
            client,
            &key,
            value,
            true,
            &mut server.headers,
            &mut server.secret_header_sources,
        )?;
    }
    if client == McpClient::Codex {
        codex_references(entry, server)?;
    }
    Ok(())
}

/// A remote entry: its URL checked, and any credential in it (user info,
/// query parameters) moved out to secret sources.
fn fill_remote(client: McpClient, server: &mut ImportedServer) -> Result<(), String> {
    server.command = None;
    server.args.clear();
    let url = server
        .url
        .clone()
        .ok_or("it has neither a `command` nor a `url`")?;
    check_plain(client, "its URL", &url)?;
    // The credential must not travel on, not even in a skipped entry.
    server.url = None;
    let split = split_url(&url).map_err(|reason| format!("its URL cannot be used: {reason}"))?;
    server.url = Some(split.url);
    if let Some(authorization) = split.authorization {
        server.secret_header_sources.insert(
            "Authorization".into(),
            SecretSource::Literal(Secret::new(authorization)),
        );
    }
    for (param, value) in split.query {
        server
            .secret_query_sources
            .insert(param, SecretSource::Literal(Secret::new(value)));
    }
    Ok(())
}

/// A stdio entry: its command and arguments checked.
fn fill_command(client: McpClient, server: &mut ImportedServer) -> Result<(), String> {
    let command = server.command.clone().ok_or("it has no `command` to run")?;
    server.url = None;
    check_plain(client, "its command", &command)?;
    for arg in &server.args {
        check_plain(client, "its arguments", arg)?;
    }
    if let Err(reason) = check_args(&server.args) {
        server.args.clear();
        return Err(reason);
    }
    Ok(())
}

/// A URL's user info becomes the `Authorization` header; one given besides
/// it would be ambiguous.
fn check_one_authorization(
    server: &ImportedServer,
    entry: &Map<String, Value>,
    client: McpClient,
) -> Result<(), String> {
    let header_key = if client == McpClient::Codex {
        "http_headers"
    } else {
        "headers"
    };
    let named = entry
        .get(header_key)
        .and_then(Value::as_object)
        .is_some_and(|headers| {
            headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("authorization"))
        });
    let codex = ["bearer_token", "bearer_token_env_var"]
        .iter()
        .any(|key| entry.contains_key(*key));
    let from_url = server.secret_header_sources.contains_key("Authorization");
    if from_url && (named || codex) {
        return Err(
            "its URL carries a user name or password and it also sets an Authorization header; keep one of them and import again"
                .into(),
        );
    }
    Ok(())
}

/// Codex names environment variables instead of writing values: `env_vars` (passed through),
/// `env_http_headers` (header ← variable) and `bearer_token_env_var`; an inline `bearer_token`
/// is a secret in clear.
fn codex_references(entry: &Map<String, Value>, server: &mut ImportedServer) -> Result<(), String> {
    let reference = |var: &str, template: String| SecretSource::Reference {
        template,
        env_vars: vec![var.to_string()],
        inputs: Vec::new(),
    };
    if let Some(Value::Array(vars)) = entry.get("env_vars") {
        for var in vars {
            // Plain names, or `{ name = "X", source = ... }` in newer versions.
            let name = var.as_str().or_else(|| var.get("name")?.as_str());
            let name = name.ok_or("its `env_vars` holds something other than variable names")?;
            if !server.env.contains_key(name) {
                server.secret_env_sources.insert(
                    name.to_string(),
                    reference(name, format!("${{env:{name}}}")),
                );
            }
        }
    }
    let header_vars = string_map(entry.get("env_http_headers"))
        .ok_or("its `env_http_headers` is not a map of strings")?;
    for (header, var) in header_vars {
        if let Some(var) = var {
            server.headers.remove(&header);
            server
                .secret_header_sources
                .insert(header, reference(&var, format!("${{env:{var}}}")));
        }
    }
    let auth = "Authorization".to_string();
    if let Some(var) = entry.get("bearer_token_env_var").and_then(Value::as_str) {
        server.headers.remove(&auth);
        let source = reference(var, format!("Bearer ${{env:{var}}}"));
        server.secret_header_sources.insert(auth, source);
    } else if let Some(token) = entry.get("bearer_token").and_then(Value::as_str) {
        server.headers.remove(&auth);
        let source = SecretSource::Literal(Secret::new(format!("Bearer {token}")));
        server.secret_header_sources.insert(auth, source);
    }
    Ok(())
}

/// Sorts one env variable or header into `plain` or `secrets`.
fn classify(
    client: McpClient,
    key: &str,
    value: Option<String>,
    header: bool,
    plain: &mut BTreeMap<String, String>,
    secrets: &mut BTreeMap<String, SecretSource>,
) -> Result<(), String> {
    // `null` unsets a variable in VS Code: nothing to carry over.
    let Some(value) = value else {
        return Ok(());
    };
    let refs = references(client, &value);
    if let Some(other) = refs.iter().find_map(|r| match r {
        Reference::Predefined(name) => Some(name),
        _ => None,
    }) {
        let what = if header { "header" } else { "variable" };
        return Err(format!(
            "its {what} `{key}` uses `${{{other}}}`, which only {} can fill in",
            client.display_name()
        ));
    }
    if !refs.is_empty() {
        let mut env_vars = Vec::new();
        let mut inputs = Vec::new();
        for r in refs {
            match r {
                Reference::Env(name) if !env_vars.contains(&name) => env_vars.push(name),
                Reference::Input(id) if !inputs.contains(&id) => inputs.push(id),
                _ => {}
            }
        }
        let template = value;
        secrets.insert(
            key.to_string(),
            SecretSource::Reference {
                template,
                env_vars,
                inputs,
            },
        );
    } else if looks_secret_name(key, header) || looks_secret_value(&value) {
        secrets.insert(key.to_string(), SecretSource::Literal(Secret::new(value)));
    } else {
        plain.insert(key.to_string(), value);
    }
    Ok(())
}

/// Whether the entry is the gateway itself: our name, or the switchboard program run as
/// `gateway`.
fn is_gateway(server: &ImportedServer) -> bool {
    if server
        .original_name
        .eq_ignore_ascii_case(DEFAULT_SERVER_NAME)
    {
        return true;
    }
    let program = server
        .command
        .as_deref()
        .and_then(|command| Path::new(command).file_stem())
        .and_then(|stem| stem.to_str());
    program == Some("switchboard") && server.args.iter().any(|arg| arg == "gateway")
}

/// `${...}` in a command, argument or URL: nothing would fill it in once imported.
fn check_plain(client: McpClient, what: &str, text: &str) -> Result<(), String> {
    match references(client, text).first() {
        None => Ok(()),
        Some(r) => Err(format!(
            "{what} use{} `{}`, which only {} fills in; replace it in the client's config (or add the server by hand with `switchboard add`) and import again",
            if what.ends_with('s') { "" } else { "s" },
            r.text(),
            client.display_name()
        )),
    }
}

/// A credential in the arguments (`--api-key sk-…`, `--token=…`, a bare `ghp_…`) would be
/// stored in clear.
fn check_args(args: &[String]) -> Result<(), String> {
    for (i, arg) in args.iter().enumerate() {
        let flag = arg.trim_start_matches('-');
        let is_flag = flag.len() < arg.len();
        let (flag_name, inline_value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        let secret_flag = is_flag && looks_secret_name(flag_name, false);
        let value = inline_value.or_else(|| {
            args.get(i + 1)
                .filter(|next| secret_flag && !next.starts_with('-'))
                .map(String::as_str)
        });
        if looks_secret_value(arg) || secret_flag && value.is_some_and(|v| !v.is_empty()) {
            return Err(format!(
                "argument {} looks like a credential (`{}`); pass it through an environment variable instead and import again",
                i + 1,
                if secret_flag { flag_name } else { "…" }
            ));
        }
    }
    Ok(())
}

/// One `${...}` in a value.
#[derive(Debug, Clone, PartialEq)]
enum Reference {
    /// An environment variable (`${env:X}`, or Claude Code's `${X}` / `${X:-default}`).
    Env(String),
    /// A VS Code input prompt (`${input:X}`).
    Input(String),
    /// Anything else only the client can fill in (`${workspaceFolder}`, `${userHome}`).
    Predefined(String),
}

impl Reference {
    fn text(&self) -> String {
        match self {
            Reference::Env(name) => format!("${{env:{name}}}"),
            Reference::Input(id) => format!("${{input:{id}}}"),
            Reference::Predefined(name) => format!("${{{name}}}"),
        }
    }
}

/// The `${...}` references in `text`, in order.
fn references(client: McpClient, text: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        let reference = if let Some(name) = inner.strip_prefix("env:") {
            Reference::Env(name.to_string())
        } else if let Some(id) = inner.strip_prefix("input:") {
            Reference::Input(id.to_string())
        } else {
            let name = inner.split_once(":-").map_or(inner, |(name, _)| name);
            let bare_env = matches!(client, McpClient::ClaudeCode | McpClient::ClaudeDesktop)
                && is_env_name(name);
            if bare_env {
                Reference::Env(name.to_string())
            } else {
                Reference::Predefined(inner.to_string())
            }
        };
        found.push(reference);
        rest = &after[end + 1..];
    }
    found
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A list of strings (numbers and booleans written as text); absent is empty.
fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(scalar).collect(),
        Some(_) => None,
    }
}

/// A map of strings; `null` values stay `None` (VS Code's way to unset a variable).
fn string_map(value: Option<&Value>) -> Option<Vec<(String, Option<String>)>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| match value {
                Value::Null => Some((key.clone(), None)),
                other => Some((key.clone(), Some(scalar(other)?))),
            })
            .collect(),
        Some(_) => None,
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_into_the_connector_charset() {
        let cases = [
            ("github", "github"),
            ("My Server", "my-server"),
            (
                "@modelcontextprotocol/server-GitHub",
                "modelcontextprotocol-server-github",
            ),
            ("a..b__c", "a-b__c"),
            ("--x--", "x"),
            ("日本", "server"),
            ("", "server"),
        ];
        for (original, expected) in cases {
            assert_eq!(sanitize_name(original), expected, "{original:?}");
        }
        let long = sanitize_name(&"ab-".repeat(40));
        assert!(long.len() <= MAX_NAME_LEN && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn references_follow_each_clients_syntax() {
        let text = "${env:A} ${input:b} ${C:-x} ${workspaceFolder}";
        assert_eq!(
            references(McpClient::ClaudeCode, text),
            vec![
                Reference::Env("A".into()),
                Reference::Input("b".into()),
                Reference::Env("C".into()),
                Reference::Env("workspaceFolder".into()),
            ]
        );
        assert_eq!(
            references(McpClient::Vscode, text)[2..],
            [
                Reference::Predefined("C:-x".into()),
                Reference::Predefined("workspaceFolder".into()),
            ]
        );
        assert!(references(McpClient::Vscode, "$HOME and ${unclosed").is_empty());
    }

    #[test]
    fn credentials_in_args_are_refused() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_args(&args(&["-y", "pkg", "--api-key", "abc"])).is_err());
        assert!(check_args(&args(&["--token=abc"])).is_err());
        assert!(check_args(&args(&["ghp_abc"])).is_err());
        assert!(check_args(&args(&["-y", "pkg", "--port", "3000", "/tmp"])).is_ok());
    }
}
